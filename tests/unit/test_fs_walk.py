"""plugins/module_utils/fs.py and plugins/modules/service_data_tree.py: the tree walk goes through
directory handles, so a directory swapped for a symbolic link mid-walk is never followed (at any
depth), hard links to files outside the tree are left alone, and entries that vanish mid-walk are
reported instead of crashing the walk.

The tests run as root (os.chown to other uids works). A temporary directory stands in for /etc: it
holds a root-owned "shadow" file whose owner and mode must come out of every walk untouched.
"""
import json
import os
import stat

import pytest

from ansible.module_utils.common import warnings as common_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.aihost.hardening.plugins.module_utils import fs
from ansible_collections.aihost.hardening.plugins.modules import service_data_tree

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changes owners: needs root")

SERVICE_UID = 4242
SERVICE_GID = 4242


@pytest.fixture
def layout(tmp_path):
    """<tmp>/etc/shadow (root:root 0640) and a data tree <tmp>/data/{a/{one,deep/two},b.db}."""
    etc = tmp_path / "etc"
    etc.mkdir()
    shadow = etc / "shadow"
    shadow.write_text("root:$y$secret:19000:0:99999:7:::\n")
    os.chown(str(etc), 0, 0)
    os.chown(str(shadow), 0, 0)
    os.chmod(str(shadow), 0o640)
    data = tmp_path / "data"
    (data / "a" / "deep").mkdir(parents=True)
    (data / "a" / "one").write_text("1")
    (data / "a" / "deep" / "two").write_text("2")
    (data / "b.db").write_text("db")
    for path in (data / "a" / "one", data / "a" / "deep" / "two", data / "b.db"):
        os.chmod(str(path), 0o666)
    return {"etc": etc, "shadow": shadow, "data": data}


def owner_mode(path):
    info = os.lstat(str(path))
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def swap_for_link(directory, target):
    """Replace ``directory`` by a symbolic link to ``target`` (the real one moves aside)."""
    os.rename(str(directory), str(directory) + ".moved")
    os.symlink(str(target), str(directory))


# --- module_utils/fs.walk ------------------------------------------------------------------------
def collect(root, **kwargs):
    seen, skipped = [], []

    def visit(fd, st, path):
        seen.append(path)
        os.fchown(fd, SERVICE_UID, SERVICE_GID)
        return True

    fs.walk(str(root), visit, lambda path, reason: skipped.append((path, reason)), **kwargs)
    return seen, skipped


def test_walk_visits_directories_and_files_in_order_through_descriptors(layout):
    seen, skipped = collect(layout["data"])
    data = str(layout["data"])
    assert seen == [data, data + "/a", data + "/a/deep", data + "/a/deep/two", data + "/a/one", data + "/b.db"]
    assert skipped == []
    assert all(owner_mode(path)[:2] == (SERVICE_UID, SERVICE_GID) for path in seen)


def test_walk_never_follows_a_directory_swapped_for_a_link_between_listing_and_opening(layout):
    """The hook swaps data/a for a link to the stand-in /etc after `a` was listed and looked at and
    before it is opened: the walk reports it and never reaches etc/shadow."""
    shadow_before = owner_mode(layout["shadow"])

    def between(directory, name):
        if name == "a":
            swap_for_link(layout["data"] / "a", layout["etc"])

    seen, skipped = collect(layout["data"], between=between)
    assert owner_mode(layout["shadow"]) == shadow_before
    assert not any("shadow" in path for path in seen)
    assert (str(layout["data"] / "a"), "became a symbolic link while walking") in skipped


def test_walk_reports_an_entry_that_vanishes_mid_walk(layout):
    def between(directory, name):
        if name == "one":
            os.unlink(str(layout["data"] / "a" / "one"))

    seen, skipped = collect(layout["data"], between=between)
    assert (str(layout["data"] / "a" / "one"), "vanished while walking") in skipped
    assert str(layout["data"] / "b.db") in seen, "the walk went on after the vanished entry"


def test_walk_reports_a_file_replaced_by_another_inode(layout):
    def between(directory, name):
        if name == "b.db":
            (layout["data"] / "b.db.new").write_text("new")
            os.rename(str(layout["data"] / "b.db.new"), str(layout["data"] / "b.db"))

    _seen, skipped = collect(layout["data"], between=between)
    assert (str(layout["data"] / "b.db"), "changed while walking") in skipped


def test_walk_leaves_links_and_special_files_alone(layout):
    os.symlink(str(layout["etc"]), str(layout["data"] / "etc-link"))
    os.symlink(str(layout["shadow"]), str(layout["data"] / "shadow-link"))
    os.mkfifo(str(layout["data"] / "fifo"))
    seen, skipped = collect(layout["data"])
    reasons = dict((os.path.basename(path), reason) for path, reason in skipped)
    assert reasons == {"etc-link": "symbolic link", "shadow-link": "symbolic link",
                       "fifo": "not a directory or regular file"}
    assert owner_mode(layout["shadow"])[:2] == (0, 0)


def test_open_path_refuses_a_link_at_any_depth(layout, tmp_path):
    os.symlink(str(layout["etc"]), str(tmp_path / "etc-link"))
    with pytest.raises(OSError) as caught:
        fs.open_path(str(tmp_path / "etc-link" / "shadow"), directory=False)
    assert caught.value.errno == fs.errno.ELOOP
    with pytest.raises(OSError):
        fs.walk(str(tmp_path / "etc-link"), lambda *a: True, lambda *a: None)


# --- plugins/modules/service_data_tree -------------------------------------------------------------
@pytest.fixture
def service_account(monkeypatch):
    """The module looks the owner up by name: answer for `svc` without touching /etc/passwd."""
    monkeypatch.setattr(common_warnings, "_global_warnings", {})

    class Account(object):
        pw_uid = SERVICE_UID
        gr_gid = SERVICE_GID

    monkeypatch.setattr(service_data_tree.pwd, "getpwnam", lambda name: Account)
    monkeypatch.setattr(service_data_tree.grp, "getgrnam", lambda name: Account)


def run_module(capsys, args, check=False):
    params = dict(args, owner="svc", group="svc", _ansible_check_mode=check)
    with patch_module_args(params):
        with pytest.raises(SystemExit):
            service_data_tree.main()
    return json.loads(capsys.readouterr().out)


def test_module_never_hands_over_a_file_behind_a_directory_swapped_mid_walk(
        layout, service_account, capsys, monkeypatch, tmp_path):
    """The attack that handed /etc/shadow to a service user: data/a holds a file of the attacker's
    named `shadow` and a subdirectory `deep`. Right after `deep` is opened, `a` is swapped for a link
    to the stand-in /etc. The walk by path then resolved data/a/shadow to etc/shadow and chowned it;
    through directory handles the attacker's own file is the one handed over, and etc/shadow keeps its
    owner and mode."""
    (layout["data"] / "a" / "shadow").write_text("attacker's file")
    shadow_before = owner_mode(layout["shadow"])
    real_open = os.open
    swapped = []

    def open_then_swap(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        if not swapped and (path == "deep" or str(path).endswith("/a/deep")):
            swapped.append(path)
            swap_for_link(layout["data"] / "a", layout["etc"])
        return fd

    monkeypatch.setattr(os, "open", open_then_swap)
    result = run_module(capsys, {"path": str(layout["data"]), "backup": str(tmp_path / "backup.json")})
    monkeypatch.setattr(os, "open", real_open)
    assert swapped, "the swap did not happen"
    assert result.get("failed") is not True, result
    assert owner_mode(layout["shadow"]) == shadow_before
    # The attacker's file (moved aside with its directory) is the one that changed.
    assert owner_mode(layout["data"] / "a.moved" / "shadow")[:2] == (SERVICE_UID, SERVICE_GID)
    recorded = json.loads((tmp_path / "backup.json").read_text())["entries"]
    assert all(entry["uid"] == 0 for entry in recorded.values())


def test_module_skips_a_hard_link_to_a_file_outside_the_tree(layout, service_account, capsys, tmp_path):
    os.link(str(layout["shadow"]), str(layout["data"] / "a" / "shadow"))
    before = owner_mode(layout["shadow"])
    result = run_module(capsys, {"path": str(layout["data"]), "backup": str(tmp_path / "backup.json")})
    assert owner_mode(layout["shadow"]) == before
    assert {"path": str(layout["data"] / "a" / "shadow"), "reason": "2 hard links"} in result["skipped"]
    # The rest of the tree was handed over, with capped modes.
    assert owner_mode(layout["data"] / "a" / "one") == (SERVICE_UID, SERVICE_GID, 0o640)
    assert owner_mode(layout["data"] / "b.db") == (SERVICE_UID, SERVICE_GID, 0o600)


def test_module_reports_a_file_vanishing_mid_walk_instead_of_crashing(layout, service_account, capsys,
                                                                      monkeypatch, tmp_path):
    """A file removed between the listing and its turn is reported in `skipped` and the run succeeds."""
    real_stat = os.stat

    def stat_after_unlink(path, *args, **kwargs):
        if path == "two" or str(path).endswith("/a/deep/two"):
            try:
                os.unlink(str(layout["data"] / "a" / "deep" / "two"))
            except FileNotFoundError:
                pass
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_after_unlink)
    monkeypatch.setattr(os, "lstat", stat_after_unlink)
    result = run_module(capsys, {"path": str(layout["data"]), "backup": str(tmp_path / "backup.json")})
    monkeypatch.undo()
    assert result.get("failed") is not True, result
    assert any(item["path"].endswith("/a/deep/two") and "vanished" in item["reason"] for item in result["skipped"])
    assert owner_mode(layout["data"] / "b.db")[:2] == (SERVICE_UID, SERVICE_GID)


def test_module_check_mode_changes_nothing_and_a_second_run_changes_nothing(layout, service_account, capsys, tmp_path):
    before = owner_mode(layout["data"] / "a" / "one")
    check = run_module(capsys, {"path": str(layout["data"]), "backup": str(tmp_path / "backup.json")}, check=True)
    assert check["changed"] is True and owner_mode(layout["data"] / "a" / "one") == before
    assert not (tmp_path / "backup.json").exists()
    first = run_module(capsys, {"path": str(layout["data"]), "backup": str(tmp_path / "backup.json")})
    assert first["changed"] is True and first["changed_entries"] == check["changed_entries"]
    recorded = json.loads((tmp_path / "backup.json").read_text())["entries"]
    assert recorded[str(layout["data"] / "a" / "one")] == {"uid": 0, "gid": 0, "mode": "0666"}
    second = run_module(capsys, {"path": str(layout["data"]), "backup": str(tmp_path / "backup.json")})
    assert second["changed"] is False and second["changed_entries"] == 0


def test_module_leaves_a_root_with_a_link_on_its_path_alone(layout, service_account, capsys, tmp_path):
    os.symlink(str(layout["data"]), str(tmp_path / "data-link"))
    result = run_module(capsys, {"path": str(tmp_path / "data-link" / "a")})
    assert result.get("failed") is not True and result["changed"] is False
    assert "symbolic link" in result["skipped"][0]["reason"]
    assert owner_mode(layout["data"] / "a" / "one")[:2] == (0, 0)
