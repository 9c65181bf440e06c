"""atomic_write: new content and mode land in one rename; a failed write leaves the old file and no debris."""
import os
import stat

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import atomic_file


def test_replaces_content_and_sets_mode(tmp_path):
    target = tmp_path / "state.json"
    target.write_bytes(b"old\n")
    os.chmod(target, 0o644)
    atomic_file.atomic_write(str(target), b"new\n", 0o600)
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["state.json"]


def test_creates_a_missing_file(tmp_path):
    target = tmp_path / "report.md"
    atomic_file.atomic_write(str(target), b"# report\n", 0o640)
    assert target.read_bytes() == b"# report\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


def test_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "findings.json"
    target.write_bytes(b"old\n")

    def refuse(source, destination):
        raise OSError("rename refused")

    monkeypatch.setattr(atomic_file.os, "replace", refuse)
    with pytest.raises(OSError):
        atomic_file.atomic_write(str(target), b"new\n", 0o600)
    assert target.read_bytes() == b"old\n"
    assert sorted(os.listdir(tmp_path)) == ["findings.json"]
