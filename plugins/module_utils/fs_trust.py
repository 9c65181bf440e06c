# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""May root run this file? The collection runs as root, so it never executes a file that a
non-root user can change (issue #16).

``untrusted_reason(path)`` walks the path one component at a time with ``lstat``, following every
symlink itself, and requires each entry it passes - ``/``, every directory of the path as given,
every symlink, every directory of each symlink's target and the final file - to be owned by uid 0
and not writable by group or others (POSIX ACLs show in the group bits, so a write ACL counts).
A world-writable sticky directory such as ``/tmp`` fails too: another user can plant the name first.
The final entry must be a regular file. Anything it cannot verify (a missing or unreadable entry, a
symlink loop, a relative path, a FUSE mount, a ``(deleted)`` exe name) is untrusted.

Standard library only (it runs on targets). ``aihost-updater`` imports it from the library that
``host_library`` installs on the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

MAX_SYMLINKS = 40
_DELETED = " (deleted)"


def fuse_devices(mountinfo_path="/proc/self/mountinfo"):
    """st_dev numbers of FUSE mounts (a user may mount one and make it claim uid 0), or None when
    the mount table cannot be read."""
    devices = set()
    try:
        with open(mountinfo_path) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return None
    for line in lines:
        fields = line.split()
        try:
            fstype = fields[fields.index("-") + 1]
            major, minor = fields[2].split(":")
        except (ValueError, IndexError):
            continue
        if fstype == "fuse" or fstype.startswith("fuse."):
            devices.add(os.makedev(int(major), int(minor)))
    return devices


def show(path):
    """The path for a message: as is when printable, else escaped (a name may carry newlines or
    terminal escapes, and it ends up in warnings and reports)."""
    return path if path.isprintable() else ascii(path)


def _entry_problem(path, info, fuse):
    if fuse is not None and info.st_dev in fuse:
        return "%s is on a FUSE file system" % show(path)
    if info.st_uid != 0:
        return "%s is owned by uid %d" % (show(path), info.st_uid)
    if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o022:
        return "%s is writable by %s (mode %04o)" % (
            show(path), "group and others" if info.st_mode & 0o022 == 0o022 else
            ("group" if info.st_mode & 0o020 else "others"), stat.S_IMODE(info.st_mode))
    return None


def untrusted_reason(path, lstat=os.lstat, readlink=os.readlink, fuse=None, want_dir=False):
    """None when only root can change what ``path`` runs, else why not (one sentence that names the
    offending path, for warnings: ``/home/bob/bin/ollama is owned by uid 1000``).

    The path must end at a regular file, or at a directory with ``want_dir`` (a directory root will
    import code from or write into). ``lstat``, ``readlink`` and ``fuse`` (a set of st_dev numbers,
    default: read from /proc/self/mountinfo) are parameters for tests."""
    if not isinstance(path, str) or not path:
        return "%r is not a path" % (path,)
    if "\0" in path:
        return "%s contains a NUL byte" % ascii(path)
    if path.endswith(_DELETED):
        return "%s was deleted after it started" % show(path[:-len(_DELETED)])
    if not path.startswith("/"):
        return "%s is not an absolute path" % show(path)
    if fuse is None:
        fuse = fuse_devices()
        if fuse is None:
            return "cannot read the mount table to check %s" % show(path)
    pending = [part for part in path.split("/") if part]
    current = "/"
    hops = 0
    try:
        info = lstat(current)
    except OSError as exc:
        return "cannot check /: %s" % exc.strerror
    problem = _entry_problem(current, info, fuse)
    if problem:
        return problem
    while pending:
        name = pending.pop(0)
        if name == ".":
            continue
        if name == "..":
            # current holds no symlink (each was replaced by its target), so its parent is real
            # and was checked on the way down.
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, name)
        try:
            info = lstat(candidate)
        except OSError as exc:
            return "cannot check %s: %s" % (show(candidate), exc.strerror)
        problem = _entry_problem(candidate, info, fuse)
        if problem:
            return problem
        if stat.S_ISLNK(info.st_mode):
            hops += 1
            if hops > MAX_SYMLINKS:
                return "%s: too many levels of symbolic links" % show(path)
            try:
                target = readlink(candidate)
            except OSError as exc:
                return "cannot read the link %s: %s" % (show(candidate), exc.strerror)
            if target.startswith("/"):
                current = "/"
            pending = [part for part in target.split("/") if part] + pending
            continue
        if pending or want_dir:
            if not stat.S_ISDIR(info.st_mode):
                return "%s is not a directory" % show(candidate)
        elif not stat.S_ISREG(info.st_mode):
            return "%s is not a regular file" % show(candidate)
        current = candidate
    if current == "/" and not want_dir:
        return "%s is not a regular file" % show(path)
    return None
