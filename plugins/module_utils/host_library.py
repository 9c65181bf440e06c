# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install the collection's target library on a host, once, as a versioned package.

The host timers (aihost-metrics, aihost-model-verify, aihost-updater) are thin command lines over
the same ``module_utils`` code the modules run. The code goes onto the host as the package
``ansible_collections.aihost.hardening.plugins.module_utils`` under one directory per version:

    <root>/<version>/ansible_collections/aihost/hardening/plugins/module_utils/*.py
    <root>/current -> <version>

``<version>`` is a digest of the file names and contents, so the same code is one directory on every
host and a changed file is a new directory. A new version is written beside the old one and
``current`` is switched with one rename: a timer starting meanwhile imports the old code or the new,
never half of each. The version ``current`` pointed at before stays (a timer may still be importing
it); older ones are removed.

Everything here runs as root, so the root and every directory above it must be owned by root and
writable by root only (``fs_trust``); the tree is written with ``O_NOFOLLOW`` beneath a root the
module created or checked. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import shutil
import stat
import tempfile

PACKAGE = ("ansible_collections", "aihost", "hardening", "plugins", "module_utils")
CURRENT = "current"
VERSION_NAME = re.compile(r"^[0-9a-f]{16}$")
FILE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")


def version_of(files):
    """The version of a {name: text} library: 16 hex digits of SHA-256 over names and contents."""
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name].encode("utf-8")
        digest.update(name.encode("utf-8") + b"\0" + str(len(data)).encode("ascii") + b"\0" + data)
    return digest.hexdigest()[:16]


def bad_input(files, version):
    """Why the files or version cannot be installed, or None."""
    if not isinstance(files, dict) or not files:
        return "files must be a non-empty mapping of module file names to their text"
    for name, text in files.items():
        if not isinstance(name, str) or not FILE_NAME.match(name) or name == "__init__.py":
            return "%r is not a module file name (a Python identifier ending in .py)" % (name,)
        if not isinstance(text, str):
            return "the content of %s is not text" % name
    if version != version_of(files):
        return "version %r is not the digest of the files (%s): the transfer was altered" % (version, version_of(files))
    return None


def expected_tree(files):
    """{relative path: bytes} of the version directory: the package's __init__.py files and the modules."""
    tree = {}
    for depth in range(1, len(PACKAGE) + 1):
        tree[os.path.join(*(PACKAGE[:depth] + ("__init__.py",)))] = b""
    for name, text in files.items():
        tree[os.path.join(*(PACKAGE + (name,)))] = text.encode("utf-8")
    return tree


def read_tree(directory):
    """{relative path: bytes} of the regular files under DIRECTORY, or None when anything there is
    not a plain root-owned directory or file (a link, another owner, group/other-writable)."""
    tree = {}
    for parent, dirnames, filenames in os.walk(directory, followlinks=False):
        # Python's byte-code caches, written by root when a command imports the library: only root
        # can write here, and they are not part of what was installed.
        dirnames[:] = [name for name in dirnames if name != "__pycache__"]
        for name in dirnames + filenames:
            info = os.lstat(os.path.join(parent, name))
            if info.st_uid != 0 or info.st_mode & 0o022 or not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
                return None
        for name in filenames:
            path = os.path.join(parent, name)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                tree[os.path.relpath(path, directory)] = handle.read()
    return tree


def current_version(root):
    """The version ``<root>/current`` names, or None (no link, or not a version name)."""
    try:
        target = os.readlink(os.path.join(root, CURRENT))
    except OSError:
        return None
    return target if VERSION_NAME.match(target) else None


def plan(root, files, version):
    """What installing VERSION under ROOT would do: {'write': bool, 'switch': bool, 'remove': [names],
    'previous': version or None}. ROOT may not exist yet."""
    previous = current_version(root)
    version_dir = os.path.join(root, version)
    write = True
    if os.path.isdir(version_dir) and not os.path.islink(version_dir):
        write = read_tree(version_dir) != expected_tree(files)
    remove = []
    if os.path.isdir(root):
        keep = {version, previous}
        remove = sorted(name for name in os.listdir(root) if VERSION_NAME.match(name) and name not in keep)
    return {"write": write, "switch": previous != version, "remove": remove, "previous": previous}


def _write_tree(directory, tree):
    for relative, data in sorted(tree.items()):
        path = os.path.join(directory, relative)
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(path, 0o644)
    for parent, _subdirs, _files in os.walk(directory):
        os.chmod(parent, 0o755)


def apply(root, files, version, steps):
    """Carry out PLAN's STEPS under ROOT (created 0755 when missing)."""
    if not os.path.isdir(root):
        os.makedirs(root, 0o755)
        os.chmod(root, 0o755)
    version_dir = os.path.join(root, version)
    if steps["write"]:
        staging = tempfile.mkdtemp(prefix=".%s." % version, dir=root)
        try:
            _write_tree(staging, expected_tree(files))
            if os.path.lexists(version_dir):
                # A version directory that does not hold what it should (edited, half-written):
                # move it aside in one rename, then put the right one in its place.
                stale = tempfile.mkdtemp(prefix=".stale.", dir=root)
                os.rename(version_dir, os.path.join(stale, version))
                shutil.rmtree(stale)
            os.rename(staging, version_dir)
        except BaseException:
            if os.path.isdir(staging):
                shutil.rmtree(staging)
            raise
    if steps["switch"] or steps["write"]:
        link = os.path.join(root, ".%s.%d" % (CURRENT, os.getpid()))
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(version, link)
        os.replace(link, os.path.join(root, CURRENT))
    for name in steps["remove"]:
        shutil.rmtree(os.path.join(root, name))
