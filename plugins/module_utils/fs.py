# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Walk a file tree through directory handles, so that no path can be swapped under the walk.

The collection runs as root and changes owners and modes in trees other users can write to. A walk by
path (``lstat(path)`` then ``open(path, O_NOFOLLOW)``) follows a directory that was swapped for a
symbolic link between the two calls, because ``O_NOFOLLOW`` only covers the last component. Here:

- ``open_path`` opens an absolute path one component at a time from ``/`` (or from a directory
  handle), each with ``O_NOFOLLOW``: a symbolic link at any depth fails with ``ELOOP``.
- ``walk`` opens every entry relative to its parent's handle (``openat``), checks that the handle is
  the inode it listed (``fstatat`` then ``fstat``), and hands the callback that handle: callers act only
  through ``os.fchown`` / ``os.fchmod`` on it, never through a path.
- Entries that vanish or change kind mid-walk are reported through ``skip`` and the walk goes on.

Standard library only (runs on targets), Python >= 3.9.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | _CLOEXEC | os.O_NONBLOCK
# O_NONBLOCK: a FIFO swapped in for a file must not block the walk; O_NOCTTY: never acquire a terminal.
ENTRY_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
# A tree deeper than this is not walked further (each level holds one descriptor open).
MAX_DEPTH = 256
# Errors that mean "the entry is gone or is no longer what was listed".
_VANISHED = {errno.ENOENT: "vanished while walking",
             errno.ELOOP: "became a symbolic link while walking",
             errno.ENOTDIR: "is no longer a directory",
             errno.ENXIO: "changed kind while walking"}


def reason_of(exc):
    """Short reason for an OSError met while walking."""
    code = getattr(exc, "errno", None)
    if code in _VANISHED:
        return _VANISHED[code]
    return "could not open: %s" % (getattr(exc, "strerror", None) or exc)


def kind_of(mode):
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return "not a directory or regular file"


def components(path):
    """The names of an absolute path (normalised); ValueError for a relative one."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("%r is not an absolute path" % (path,))
    return [part for part in os.path.normpath(path).split("/") if part]


def open_path(path, directory=True, start_fd=None):
    """Open ``path`` one component at a time, never following a symbolic link.

    ``path`` is absolute, or relative to ``start_fd`` when that is given. Every component but the
    last is opened as a directory; the last one too when ``directory`` is true, else as any entry
    (a directory or a regular file). Raises OSError (``ELOOP`` for a link at any depth). The caller
    closes the returned descriptor.
    """
    if start_fd is None:
        names = components(path)
        fd = os.open("/", DIR_FLAGS)
    else:
        names = [part for part in os.path.normpath(path).split("/") if part and part != "."]
        fd = os.dup(start_fd)
    try:
        if ".." in names:
            raise OSError(errno.EINVAL, "'..' in path", path)
        for index, name in enumerate(names):
            last = index == len(names) - 1
            flags = DIR_FLAGS if (directory or not last) else ENTRY_FLAGS
            child = _open_at(name, flags, fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_at(name, flags, dir_fd):
    """os.open relative to ``dir_fd``; a symbolic link fails with ELOOP even where Linux says ENOTDIR
    (O_NOFOLLOW together with O_DIRECTORY)."""
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            try:
                is_link = stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
            except OSError:
                is_link = False
            if is_link:
                raise OSError(errno.ELOOP, "is a symbolic link", name)
        raise


def walk(root, visit, skip, one_file_system=True, between=None, root_is_dir=True):
    """Walk the tree at ``root`` through directory handles.

    ``visit(fd, st, path)`` is called for the root and for every directory and regular file below it,
    with a descriptor open on that very inode and its ``fstat``; for a directory it returns whether to
    descend. It may act on the entry only through ``fd`` (``os.fchown``, ``os.fchmod``). The
    descriptor is closed after the call (for a directory, after its subtree).
    ``skip(path, reason)`` is called for entries left alone: symbolic links (never followed, at any
    depth), sockets, FIFOs and device nodes, entries on another file system when
    ``one_file_system``, and entries that vanish or change while walking.
    ``between(directory_path, name)``, when given, is called after an entry was listed and looked at
    and before it is opened (tests use it to swap entries at the worst moment).
    ``root_is_dir``: the root must be a directory; otherwise it may also be a regular file.
    Raises OSError only when the root itself cannot be opened.
    """
    fd = open_path(root, directory=root_is_dir)
    # Depth-first, one open descriptor per level: [fd, path, names still to visit, depth].
    stack = []
    try:
        st = os.fstat(fd)
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            skip(root, kind_of(st.st_mode))
            return
        if not (visit(fd, st, root) and stat.S_ISDIR(st.st_mode)):
            return
        stack.append([fd, root, None, 0])
        fd = None
        while stack:
            top = stack[-1]
            if top[2] is None:
                try:
                    top[2] = sorted(os.listdir(top[0]), reverse=True)
                except OSError as exc:
                    skip(top[1], "could not list: %s" % (exc.strerror or exc))
                    top[2] = []
            if not top[2]:
                os.close(stack.pop()[0])
                continue
            name = top[2].pop()
            path = os.path.join(top[1], name)
            child = _open_child(top[0], top[1], name, path, st.st_dev, one_file_system, skip, between)
            if child is None:
                continue
            child_fd, child_st = child
            try:
                descend = visit(child_fd, child_st, path) and stat.S_ISDIR(child_st.st_mode)
                if descend and top[3] + 1 >= MAX_DEPTH:
                    skip(path, "more than %d levels deep: not walked further" % MAX_DEPTH)
                    descend = False
            except BaseException:
                os.close(child_fd)
                raise
            if descend:
                stack.append([child_fd, path, None, top[3] + 1])
            else:
                os.close(child_fd)
    finally:
        if fd is not None:
            os.close(fd)
        for entry in stack:
            os.close(entry[0])


def _open_child(dir_fd, dir_path, name, path, root_dev, one_file_system, skip, between):
    """(fd, fstat) of ``name`` in ``dir_fd``, or None after reporting why it is left alone."""
    try:
        listed = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        skip(path, reason_of(exc))
        return None
    if not (stat.S_ISDIR(listed.st_mode) or stat.S_ISREG(listed.st_mode)):
        skip(path, kind_of(listed.st_mode))
        return None
    if one_file_system and listed.st_dev != root_dev:
        skip(path, "on another file system")
        return None
    if between is not None:
        between(dir_path, name)
    is_dir = stat.S_ISDIR(listed.st_mode)
    try:
        fd = _open_at(name, DIR_FLAGS if is_dir else ENTRY_FLAGS, dir_fd)
    except OSError as exc:
        skip(path, reason_of(exc))
        return None
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        skip(path, reason_of(exc))
        return None
    if (st.st_dev, st.st_ino) != (listed.st_dev, listed.st_ino) or stat.S_IFMT(st.st_mode) != stat.S_IFMT(listed.st_mode):
        os.close(fd)
        skip(path, "changed while walking")
        return None
    return fd, st
