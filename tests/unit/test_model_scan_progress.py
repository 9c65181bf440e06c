"""Progress on long scans: a scan that is interrupted says how far it got (progress status
interrupted, the files and bytes read) and leaves a checkpoint; the next run reuses the checkpoint's
records of unchanged files instead of reading them again, and removes it when it completes."""
import json
import time
import os

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.aihost.hardening.plugins.module_utils import model_store
from ansible_collections.aihost.hardening.plugins.modules import model_scan


@pytest.fixture(name="store")
def store_fixture(tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    for index in range(5):
        # Distinct sizes: with one worker the biggest are read first, so the order is known.
        (root / ("shard-%d.bin" % index)).write_bytes(os.urandom((index + 1) << 16))
    return root


@pytest.fixture(name="interrupt_after")
def interrupt_after_fixture(monkeypatch):
    """process_file raises KeyboardInterrupt (as Ctrl-C or the module's SIGTERM handler do) from the
    (n+1)-th file on."""
    real = model_store.process_file

    def arm(count):
        calls = []

        def flaky(entry, *args, **kwargs):
            calls.append(entry["path"])
            if len(calls) > count:
                raise KeyboardInterrupt("signal 15")
            return real(entry, *args, **kwargs)
        monkeypatch.setattr(model_store, "process_file", flaky)
        return calls
    return arm


def run_module(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            model_scan.main()
    return json.loads(capsys.readouterr().out)


def test_an_interrupted_scan_reports_how_far_it_got_and_the_next_resumes(store, interrupt_after):
    states, checkpoints = [], []
    interrupt_after(2)
    with pytest.raises(KeyboardInterrupt):
        model_store.scan_store(str(store), workers=1, progress=states.append, progress_interval=3600,
                               checkpoint=checkpoints.append)
    assert states[-1]["status"] == "interrupted"
    assert states[-1]["files_read"] == 2 and states[-1]["files_to_read"] == 5
    assert states[-1]["bytes_read"] == (5 + 4) << 16
    saved = checkpoints[-1]
    assert sorted(record["path"] for record in saved["files"]) == ["shard-3.bin", "shard-4.bin"]

    interrupt_after(100)
    done = []
    result = model_store.scan_store(str(store), workers=1, progress=done.append, progress_interval=3600,
                                    resume=json.loads(json.dumps(saved)))
    assert result["stats"]["files_resumed"] == 2 and result["stats"]["files_read"] == 3
    assert done[-1]["status"] == "done" and done[-1]["files_resumed"] == 2
    assert len(result["records"]) == 5


def test_a_checkpoint_record_of_a_changed_file_is_not_reused(store, interrupt_after):
    checkpoints = []
    interrupt_after(2)
    with pytest.raises(KeyboardInterrupt):
        model_store.scan_store(str(store), workers=1, progress_interval=3600, checkpoint=checkpoints.append)
    (store / "shard-4.bin").write_bytes(b"replaced")
    interrupt_after(100)
    result = model_store.scan_store(str(store), workers=1, resume=checkpoints[-1])
    assert result["stats"]["files_resumed"] == 1
    record = [item for item in result["records"] if item["path"] == "shard-4.bin"][0]
    assert record["size"] == len(b"replaced")
    stale = dict(checkpoints[-1], scanner_version="0-older")
    assert model_store.scan_store(str(store), workers=1, resume=stale)["stats"]["files_resumed"] == 0


def test_the_module_fails_saying_how_far_it_got_then_resumes_and_cleans_up(store, tmp_path, capsys, interrupt_after):
    progress = tmp_path / "store.progress.json"
    resume = tmp_path / "store.resume.json"
    args = {"path": str(store), "mode": "manifest", "manifest": str(tmp_path / "store.json"), "workers": 1,
            "progress_file": str(progress), "progress_interval": 3600, "resume_file": str(resume)}
    interrupt_after(3)
    failed = run_module(capsys, args)
    assert failed["failed"] is True and failed["interrupted"] is True
    assert "interrupted (signal 15) after 3 of 5 files to read" in failed["msg"]
    assert json.loads(progress.read_text())["status"] == "interrupted"
    assert oct(os.stat(str(resume)).st_mode & 0o777) == "0o600"
    assert len(json.loads(resume.read_text())["files"]) == 3

    interrupt_after(100)
    result = run_module(capsys, args)
    assert result["stats"]["files_resumed"] == 3 and result["stats"]["files_read"] == 2
    assert result["manifest_written"] is True
    assert json.loads(progress.read_text())["status"] == "done"
    assert not resume.exists(), "a completed scan removes its checkpoint"


def test_check_mode_writes_no_checkpoint(store, tmp_path, capsys, interrupt_after):
    resume = tmp_path / "r.json"
    interrupt_after(2)
    run_module(capsys, {"path": str(store), "workers": 1, "resume_file": str(resume), "progress_interval": 0,
                        "_ansible_check_mode": True})
    assert not resume.exists()


def test_progress_is_reported_inside_one_big_file(tmp_path, monkeypatch):
    # One huge file used to report nothing until it was hashed whole.
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "huge.bin").write_bytes(b"\0" * 4096)
    real = model_store.hash_fd

    def slow_hash(fd, read_size=model_store.DEFAULT_READ_SIZE, on_read=None):
        for _chunk in range(5):
            time.sleep(0.05)
            on_read(512)
        return real(fd, read_size)
    monkeypatch.setattr(model_store, "hash_fd", slow_hash)
    states = []
    model_store.scan_store(str(tmp_path / "store"), workers=1, progress=states.append, progress_interval=0.02)
    inside = [s for s in states if s["status"] == "running" and s["files_read"] == 0]
    assert inside and 0 < inside[-1]["bytes_read"] < 4096
    assert states[-1]["status"] == "done" and states[-1]["files_read"] == 1


def test_a_second_interruption_keeps_what_the_first_run_read(store, interrupt_after):
    checkpoints = []
    interrupt_after(2)
    with pytest.raises(KeyboardInterrupt):
        model_store.scan_store(str(store), workers=1, progress_interval=3600, checkpoint=checkpoints.append)
    first = checkpoints[-1]
    assert len(first["files"]) == 2
    interrupt_after(1)
    with pytest.raises(KeyboardInterrupt):
        model_store.scan_store(str(store), workers=1, progress_interval=3600, checkpoint=checkpoints.append,
                               resume=json.loads(json.dumps(first)))
    assert len(checkpoints[-1]["files"]) == 3
