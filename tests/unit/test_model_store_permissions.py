"""plugins/modules/model_store_permissions.py (the model_integrity role's permissions.yml and
restore.yml): stores become root:<group> 0750/0640 (0550/0440 locked) through directory handles, the
originals are recorded before the first change in the record format restore reads, and neither the
walk nor the restore ever follows a symbolic link or changes a hard-linked file outside the store.

Runs as root. A temporary directory stands in for /etc, with a root-owned "shadow" file that must keep
its owner and mode.
"""
import json
import os
import stat

import pytest

from ansible.module_utils.common import warnings as common_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.aihost.hardening.plugins.modules import model_store_permissions as module

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changes owners: needs root")


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setattr(common_warnings, "_global_warnings", {})
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "shadow").write_text("root:$y$secret:19000::::::\n")
    os.chmod(str(etc / "shadow"), 0o640)
    store = tmp_path / "srv" / "models"
    (store / "weights").mkdir(parents=True)
    (store / "weights" / "model.gguf").write_text("GGUF")
    (store / "notes.txt").write_text("hi")
    os.chown(str(store / "weights" / "model.gguf"), 1000, 1000)
    os.chmod(str(store / "weights" / "model.gguf"), 0o666)
    os.chmod(str(store / "weights"), 0o777)
    return {"etc": etc, "shadow": etc / "shadow", "store": store, "record": tmp_path / "state" / "original_permissions.json"}


def owner_mode(path):
    info = os.lstat(str(path))
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def run(capsys, args, check=False):
    with patch_module_args(dict(args, _ansible_check_mode=check)):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def apply(capsys, host, check=False, lock=False):
    return run(capsys, {"stores": [{"path": str(host["store"]), "group": "root", "lock": lock}],
                        "record": str(host["record"]), "restore_hint": "ansible-playbook ..."}, check)


def test_store_is_read_only_to_the_group_and_the_originals_are_recorded_first(host, capsys):
    check = apply(capsys, host, check=True)
    assert check["changed"] is True and not host["record"].exists()
    assert owner_mode(host["store"] / "weights" / "model.gguf") == (1000, 1000, 0o666)
    result = apply(capsys, host)
    assert result["changed"] is True and result["changed_entries"] == check["changed_entries"]
    assert owner_mode(host["store"] / "weights" / "model.gguf") == (0, 0, 0o640)
    assert owner_mode(host["store"] / "weights") == (0, 0, 0o750)
    record = json.loads(host["record"].read_text())
    assert (record["schema_version"], record["generator"], record["restore"]) == (
        1, "aihost.hardening.model_integrity", "ansible-playbook ...")
    assert record["paths"][str(host["store"] / "weights" / "model.gguf")] == {
        "uid": 1000, "gid": 1000, "owner": module._name(module.pwd.getpwuid, 1000),
        "group": module._name(module.grp.getgrgid, 1000), "mode": "0666", "type": "file", "store": str(host["store"])}
    assert record["paths"][str(host["store"] / "weights")]["type"] == "directory"
    assert stat.S_IMODE(os.stat(str(host["record"])).st_mode) == 0o600
    second = apply(capsys, host)
    assert second["changed"] is False and second["recorded"] == 0


def test_locked_store_and_a_store_that_is_one_file(host, capsys, tmp_path):
    single = tmp_path / "srv" / "locked.gguf"
    single.write_text("GGUF")
    os.chmod(str(single), 0o666)
    result = run(capsys, {"stores": [{"path": str(single), "lock": True}], "record": str(host["record"])})
    assert result["changed"] is True and owner_mode(single) == (0, 0, 0o440)


def test_hard_link_to_a_file_outside_the_store_is_left_alone(host, capsys):
    os.link(str(host["shadow"]), str(host["store"] / "weights" / "shadow"))
    before = owner_mode(host["shadow"])
    result = apply(capsys, host, lock=True)
    assert owner_mode(host["shadow"]) == before
    assert {"path": str(host["store"] / "weights" / "shadow"), "reason": "2 hard links"} in result["skipped"]
    assert str(host["store"] / "weights" / "shadow") not in json.loads(host["record"].read_text())["paths"]


def test_directory_swapped_for_a_link_mid_walk_is_not_followed(host, capsys, monkeypatch):
    """weights/ holds a file named `shadow` and a subdirectory; right after the subdirectory is opened,
    weights is swapped for a link to the stand-in /etc. etc/shadow keeps its owner and mode."""
    (host["store"] / "weights" / "deep").mkdir()
    (host["store"] / "weights" / "shadow").write_text("mine")
    before = owner_mode(host["shadow"])
    real_open = os.open
    swapped = []

    def open_then_swap(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        if not swapped and path == "deep":
            swapped.append(path)
            os.rename(str(host["store"] / "weights"), str(host["store"] / "weights.moved"))
            os.symlink(str(host["etc"]), str(host["store"] / "weights"))
        return fd

    monkeypatch.setattr(os, "open", open_then_swap)
    apply(capsys, host, lock=True)
    monkeypatch.setattr(os, "open", real_open)
    assert swapped
    assert owner_mode(host["shadow"]) == before


def test_restore_puts_back_the_originals_and_a_second_restore_changes_nothing(host, capsys):
    apply(capsys, host)
    restored = run(capsys, {"state": "restored", "record": str(host["record"])})
    assert restored["changed"] is True and restored["skipped"] == []
    assert owner_mode(host["store"] / "weights" / "model.gguf") == (1000, 1000, 0o666)
    assert owner_mode(host["store"] / "weights") == (0, 0, 0o777)
    again = run(capsys, {"state": "restored", "record": str(host["record"])})
    assert again["changed"] is False


def test_restore_never_follows_a_directory_swapped_for_a_link(host, capsys):
    """The record names <store>/weights/shadow (a file of the store, 1000:1000 0666 originally). When
    weights has become a link to the stand-in /etc, restore by path chmodded etc/shadow 0666 and gave
    it to uid 1000; through handles it is skipped."""
    (host["store"] / "weights" / "shadow").write_text("store file")
    os.chown(str(host["store"] / "weights" / "shadow"), 1000, 1000)
    os.chmod(str(host["store"] / "weights" / "shadow"), 0o666)
    apply(capsys, host)
    os.rename(str(host["store"] / "weights"), str(host["store"] / "weights.moved"))
    os.symlink(str(host["etc"]), str(host["store"] / "weights"))
    before = owner_mode(host["shadow"])
    result = run(capsys, {"state": "restored", "record": str(host["record"])})
    assert owner_mode(host["shadow"]) == before
    reasons = dict((item["path"], item["reason"]) for item in result["skipped"])
    assert "symbolic link" in reasons[str(host["store"] / "weights" / "shadow")]


def test_restore_without_a_record_changes_nothing(host, capsys):
    result = run(capsys, {"state": "restored", "record": str(host["record"])})
    assert result["changed"] is False and "never changed permissions" in result["msg"]
