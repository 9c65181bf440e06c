"""The model_scan action plugin's progress line, from the module's progress file."""
from ansible_collections.aihost.hardening.plugins.action.model_scan import progress_line


def test_a_progress_state_becomes_one_line_of_counts():
    state = {"files_read": 3, "files_to_read": 10, "bytes_read": 2.5e9, "bytes_to_read": 1e10, "mb_per_s": 812.4,
             "current": "blobs/\x1b[31mevil\nname"}
    assert progress_line(state) == "3/10 files, 2.5/10.0 GB read (25%), 812 MB/s"


def test_nothing_but_numbers_is_taken_from_the_file():
    assert progress_line({"files_read": "3; rm -rf /", "files_to_read": 1, "bytes_read": 0, "bytes_to_read": 0,
                          "mb_per_s": 0}) is None
    assert progress_line({"files_read": True, "files_to_read": 1, "bytes_read": 0, "bytes_to_read": 0,
                          "mb_per_s": 0}) is None
    assert progress_line(["not", "a", "dict"]) is None
    assert progress_line({"files_read": 0, "files_to_read": 0, "bytes_read": 0, "bytes_to_read": 0,
                          "mb_per_s": 0}) == "0/0 files, 0.0/0.0 GB read (100%), 0 MB/s"
