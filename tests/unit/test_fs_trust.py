"""plugins/module_utils/fs_trust.py: root runs a file only when no other user can change it - the
file, every directory above it and every symlink on the way (and the symlink's target) are root's
and writable by root only; anything that cannot be checked is untrusted (issue #16).

The trees are real: files and directories chowned to other uids under a root-owned directory (the
tests need root to chown; they are skipped without it)."""
import os
import shutil
import stat
import tempfile

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import fs_trust

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown to other uids)")


def _trusted_dir(path):
    parts = os.path.abspath(path).split("/")
    for index in range(1, len(parts) + 1):
        info = os.lstat("/" + "/".join(part for part in parts[1:index] if part))
        if info.st_uid != 0 or info.st_mode & 0o022 or not stat.S_ISDIR(info.st_mode):
            return False
    return True


@pytest.fixture
def root_tree():
    """A fresh directory whose every ancestor is root's and not group/other writable (pytest's
    tmp_path lives under the world-writable /tmp, which is itself untrusted)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (chown to other uids)")
    for base in ("/root", "/var/lib", "/var/cache", "/opt"):
        if os.path.isdir(base) and os.access(base, os.W_OK) and _trusted_dir(base):
            path = tempfile.mkdtemp(prefix="aihost-fs-trust-", dir=base)
            os.chmod(path, 0o755)
            yield path
            shutil.rmtree(path, ignore_errors=True)
            return
    pytest.skip("no root-owned, root-only-writable directory to build trees in")


def make_file(path, uid=0, mode=0o755):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\necho 1.2.3\n")
    os.chown(path, uid, uid)
    os.chmod(path, mode)
    return path


def make_dir(path, uid=0, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chown(path, uid, uid)
    os.chmod(path, mode)
    return path


def test_a_root_owned_file_in_root_only_directories_is_trusted(root_tree):
    path = make_file(os.path.join(root_tree, "usr", "bin", "ollama"))
    assert fs_trust.untrusted_reason(path) is None


def test_a_user_owned_file_is_not_trusted(root_tree):
    path = make_file(os.path.join(root_tree, "bin", "ollama"), uid=1000)
    assert fs_trust.untrusted_reason(path) == "%s is owned by uid 1000" % path


def test_a_root_owned_file_in_a_user_owned_directory_is_not_trusted(root_tree):
    make_dir(os.path.join(root_tree, "home", "bob"), uid=1000)
    path = make_file(os.path.join(root_tree, "home", "bob", "ollama"))
    assert fs_trust.untrusted_reason(path) == "%s is owned by uid 1000" % os.path.join(root_tree, "home", "bob")


def test_a_root_owned_file_in_a_group_or_world_writable_directory_is_not_trusted(root_tree):
    make_dir(os.path.join(root_tree, "shared"), mode=0o775)
    path = make_file(os.path.join(root_tree, "shared", "ollama"))
    assert fs_trust.untrusted_reason(path) == "%s is writable by group (mode 0775)" % os.path.dirname(path)
    make_dir(os.path.join(root_tree, "tmp"), mode=0o1777)  # sticky does not help: the name can be planted first
    path = make_file(os.path.join(root_tree, "tmp", "ollama"))
    assert fs_trust.untrusted_reason(path) == "%s is writable by group and others (mode 1777)" % os.path.dirname(path)


def test_a_group_or_world_writable_file_is_not_trusted(root_tree):
    path = make_file(os.path.join(root_tree, "bin", "ollama"), mode=0o775)
    assert fs_trust.untrusted_reason(path) == "%s is writable by group (mode 0775)" % path
    os.chmod(path, 0o757)
    assert fs_trust.untrusted_reason(path) == "%s is writable by others (mode 0757)" % path


def test_a_symlink_from_a_root_directory_into_a_user_directory_is_not_trusted(root_tree):
    make_dir(os.path.join(root_tree, "home", "bob"), uid=1000)
    make_file(os.path.join(root_tree, "home", "bob", "ollama"))
    link = os.path.join(make_dir(os.path.join(root_tree, "usr", "local", "bin")), "ollama")
    os.symlink(os.path.join(root_tree, "home", "bob", "ollama"), link)
    assert fs_trust.untrusted_reason(link) == "%s is owned by uid 1000" % os.path.join(root_tree, "home", "bob")
    relative = os.path.join(root_tree, "usr", "local", "bin", "ollama-rel")
    os.symlink("../../../home/bob/ollama", relative)
    assert fs_trust.untrusted_reason(relative) == "%s is owned by uid 1000" % os.path.join(root_tree, "home", "bob")


def test_a_symlink_chain_through_a_user_directory_is_not_trusted_even_when_it_ends_at_root(root_tree):
    # /usr/local/bin/ollama -> <bob's dir>/link -> /opt/ollama (root's): bob can re-point the middle link.
    target = make_file(os.path.join(root_tree, "opt", "ollama"))
    bob = make_dir(os.path.join(root_tree, "home", "bob"), uid=1000)
    os.symlink(target, os.path.join(bob, "link"))
    link = os.path.join(make_dir(os.path.join(root_tree, "usr", "bin")), "ollama")
    os.symlink(os.path.join(bob, "link"), link)
    assert fs_trust.untrusted_reason(link) == "%s is owned by uid 1000" % bob


def test_a_user_owned_symlink_and_a_symlink_to_a_user_file_are_not_trusted(root_tree):
    target = make_file(os.path.join(root_tree, "opt", "ollama"), uid=1000)
    link = os.path.join(make_dir(os.path.join(root_tree, "usr", "bin")), "ollama")
    os.symlink(target, link)
    assert fs_trust.untrusted_reason(link) == "%s is owned by uid 1000" % target
    root_target = make_file(os.path.join(root_tree, "opt", "ollama-root"))
    user_link = os.path.join(root_tree, "usr", "bin", "ollama-user-link")
    os.symlink(root_target, user_link)
    os.lchown(user_link, 1000, 1000)
    assert fs_trust.untrusted_reason(user_link) == "%s is owned by uid 1000" % user_link


def test_a_root_only_symlink_chain_is_trusted(root_tree):
    target = make_file(os.path.join(root_tree, "opt", "ollama", "bin", "ollama"))
    link = os.path.join(make_dir(os.path.join(root_tree, "usr", "local", "bin")), "ollama")
    os.symlink("../../../opt/ollama/bin/ollama", link)
    assert fs_trust.untrusted_reason(link) is None
    assert os.path.realpath(link) == target


def test_what_cannot_be_verified_is_not_trusted(root_tree):
    missing = os.path.join(root_tree, "bin", "ollama")
    assert fs_trust.untrusted_reason(missing) == "cannot check %s: No such file or directory" % os.path.dirname(missing)
    assert fs_trust.untrusted_reason(missing + " (deleted)") == "%s was deleted after it started" % missing
    assert fs_trust.untrusted_reason("bin/ollama") == "bin/ollama is not an absolute path"
    assert fs_trust.untrusted_reason(None) == "None is not a path"
    loop = os.path.join(root_tree, "loop")
    os.symlink(loop, loop)
    assert "too many levels of symbolic links" in fs_trust.untrusted_reason(loop)
    assert fs_trust.untrusted_reason(root_tree) == "%s is not a regular file" % root_tree
    fifo = os.path.join(root_tree, "fifo")
    os.mkfifo(fifo, 0o755)
    assert fs_trust.untrusted_reason(fifo) == "%s is not a regular file" % fifo


def test_a_file_on_a_fuse_mount_is_not_trusted(root_tree):
    # A user may mount a FUSE file system (fusermount) whose files claim to be root's.
    path = make_file(os.path.join(root_tree, "mnt", "ollama"))

    def lstat(name):
        info = os.lstat(name)
        if name != path:
            return info
        fields = list(info)
        fields[stat.ST_DEV] = 4242
        return os.stat_result(fields)
    assert fs_trust.untrusted_reason(path, lstat=lstat, fuse={4242}) == "%s is on a FUSE file system" % path
    assert fs_trust.untrusted_reason(path, lstat=lstat, fuse=set()) is None


def test_fuse_devices_reads_the_mount_table(tmp_path):
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        "40 22 0:45 / /home/bob/mnt rw,nosuid,nodev shared:20 - fuse.sshfs bob@peer:/ rw,user_id=1000\n")
    assert fs_trust.fuse_devices(str(mountinfo)) == {os.makedev(0, 45)}
    assert fs_trust.fuse_devices(str(tmp_path / "absent")) is None


def test_names_with_control_characters_are_escaped_in_the_reason(root_tree):
    path = make_file(os.path.join(root_tree, "bin", "oll\nama\x1b[2J"), uid=1000)
    reason = fs_trust.untrusted_reason(path)
    assert "\n" not in reason and "\x1b" not in reason and "owned by uid 1000" in reason


def test_want_dir_asks_for_a_trusted_directory(root_tree):
    lib = make_dir(os.path.join(root_tree, "usr", "local", "lib", "aihost"))
    assert fs_trust.untrusted_reason(lib, want_dir=True) is None
    assert fs_trust.untrusted_reason(lib) == "%s is not a regular file" % lib
    assert fs_trust.untrusted_reason("/", want_dir=True) is None
    path = make_file(os.path.join(root_tree, "bin", "ollama"))
    assert fs_trust.untrusted_reason(path, want_dir=True) == "%s is not a directory" % path
    os.chmod(lib, 0o775)
    assert fs_trust.untrusted_reason(lib, want_dir=True) == "%s is writable by group (mode 0775)" % lib
    os.chmod(lib, 0o755)
    os.symlink("/tmp", os.path.join(root_tree, "linked"))
    assert "/tmp is writable by group and others" in fs_trust.untrusted_reason(
        os.path.join(root_tree, "linked"), want_dir=True)
