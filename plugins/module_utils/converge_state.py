# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converge stamp: what a host looked like when site.yml last converged it. Standard library only.

site.yml records a stamp at the end of a full run that converged a host, and compares the host
with it at the start of the next run. A host whose state and inputs still match the stamp has
nothing for the roles to do, so the run can skip it: one module run instead of ~275 tasks.

The state is everything the roles read or write, as components:

- ``content:<tree>``: every entry under a tree (``/etc``, the role's own trees): type, mode,
  owner and, for regular files, the SHA-256 of the content (size and times for files over
  CONTENT_LIMIT); symlinks by target.
- ``metadata:<tree>``: runtime data paths and model stores: type, mode, owner, size, mtime,
  ctime and inode of every entry - what the model scanner itself uses to decide a file is unchanged
  (ctime cannot be set from user space).
- ``nft_ruleset``: the kernel's ruleset (not in any file).
- ``units``: load and active state of the units the roles manage or start.
- ``runtimes`` and ``listeners``: the runtime detection's facts without the fields that change
  while nothing changes (pids, inodes, command lines of workers).
- ``devices``: GPU device nodes (mode, owner, numbers), the loaded GPU kernel modules, the NVIDIA
  driver version and the display/accelerator PCI devices.

The run's inputs are one more component, ``inputs``: a digest of each ``aihost_*`` variable, of the
collection's code and of the ansible-core version. Any difference, a missing stamp or one older
than the maximum age means a full run. The comparison names what differs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import json
import os
import stat

SCHEMA_VERSION = 1
# Larger files are compared by size and times: the trees we read in full are configuration.
CONTENT_LIMIT = 8 * 1024 * 1024
# Past this many entries a tree is kept as one digest: the reason then names the tree only.
MAX_LISTED_ENTRIES = 20000
MAX_REASON_PATHS = 8
GPU_DEVICE_GLOBS = ("/dev/nvidia*", "/dev/nvidia-caps/*", "/dev/dri/*", "/dev/kfd", "/dev/accel/*")
GPU_KERNEL_MODULES = ("nvidia", "nvidia_uvm", "nvidia_drm", "amdgpu", "i915", "xe")
# Runtime fact fields that change while the host does not (a restarted worker, a new socket inode).
VOLATILE_KEYS = frozenset(("processes", "pid", "pids", "ppid", "inode", "cmdline", "warnings"))


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _file_digest(path, st):
    if st.st_size > CONTENT_LIMIT:
        return "size=%d mtime=%d ctime=%d" % (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (IOError, OSError) as exc:
        return "unreadable:%s" % (exc.errno,)
    return digest.hexdigest()


def describe_entry(path, st, content):
    """One line for one file-system entry. ``content`` selects the content digest (True) or the
    full metadata a model scanner compares (False)."""
    owner = "%o %d:%d" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if stat.S_ISLNK(st.st_mode):
        try:
            return "l %s" % os.readlink(path)
        except OSError as exc:
            return "l unreadable:%s" % exc.errno
    if stat.S_ISDIR(st.st_mode):
        return "d %s" % owner
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
        return "%s %s %d:%d" % (kind, owner, os.major(st.st_rdev), os.minor(st.st_rdev))
    if stat.S_ISREG(st.st_mode):
        if content:
            return "f %s %s" % (owner, _file_digest(path, st))
        return "f %s size=%d mtime=%d ctime=%d ino=%d" % (owner, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                                          st.st_ino)
    return "o %s" % owner


def walk_tree(root, content, exclude=()):
    """Map each path under ROOT (ROOT included, symlinks not followed) to its description.
    A missing root maps to {}; paths under an EXCLUDE prefix are left out."""
    entries = {}
    exclude = tuple(os.path.normpath(item) for item in exclude)

    def excluded(path):
        return any(path == item or path.startswith(item + os.sep) for item in exclude)

    try:
        st = os.lstat(root)
    except OSError:
        return entries
    entries[root] = describe_entry(root, st, content)
    if not stat.S_ISDIR(st.st_mode):
        return entries
    for directory, dirnames, filenames in os.walk(root, onerror=None, followlinks=False):
        dirnames[:] = [name for name in dirnames if not excluded(os.path.join(directory, name))]
        for name in dirnames + filenames:
            path = os.path.join(directory, name)
            if excluded(path):
                continue
            try:
                entries[path] = describe_entry(path, os.lstat(path), content)
            except OSError:
                continue  # gone between listing and lstat
    return entries


def digest_of(value):
    return _sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8"))


def component(entries):
    """A component from a mapping of names to descriptions: its digest, and the entries themselves
    (hashed short) when they are few enough to name what changed."""
    hashed = dict((name, _sha256(str(value).encode("utf-8"))[:16]) for name, value in entries.items())
    listed = hashed if len(hashed) <= MAX_LISTED_ENTRIES else None
    return {"digest": digest_of(hashed), "count": len(hashed), "entries": listed}


def strip_volatile(value):
    """The runtime facts without VOLATILE_KEYS, at any depth."""
    if isinstance(value, dict):
        return dict((key, strip_volatile(item)) for key, item in value.items() if key not in VOLATILE_KEYS)
    if isinstance(value, list):
        return [strip_volatile(item) for item in value]
    return value


def runtime_components(runtime_facts):
    """The ``runtimes`` and ``listeners`` components from ai_runtime_facts' output."""
    runtimes = {}
    for runtime in runtime_facts.get("runtimes") or []:
        units = ",".join(sorted(unit.get("name") or "" for unit in runtime.get("units") or []))
        containers = ",".join(sorted(str(c.get("id")) for c in runtime.get("containers") or []))
        runtimes["%s [%s] [%s]" % (runtime.get("name"), units, containers)] = digest_of(strip_volatile(runtime))
    listeners = {}
    for listener in runtime_facts.get("listeners") or []:
        key = "%s %s:%s" % (listener.get("protocol"), listener.get("address"), listener.get("port"))
        listeners.setdefault(key, []).append(digest_of(strip_volatile(listener)))
    listeners = dict((key, ",".join(sorted(values))) for key, values in listeners.items())
    return {"runtimes": component(runtimes), "listeners": component(listeners)}


def parse_list_units(text):
    """``systemctl list-units --all --plain --no-legend`` lines -> {unit: "load/active"}."""
    units = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and not fields[0].startswith("\u25cf"):
            units[fields[0]] = "%s/%s" % (fields[1], fields[2])
        elif len(fields) >= 4:  # "● unit not-found inactive dead"
            units[fields[1]] = "%s/%s" % (fields[2], fields[3])
    return units


def device_entries(root="/"):
    """GPU device nodes, loaded GPU kernel modules, NVIDIA driver version, display/accelerator PCI devices."""
    entries = {}
    for pattern in GPU_DEVICE_GLOBS:
        for path in glob.glob(os.path.join(root, pattern.lstrip("/"))):
            try:
                entries[path] = describe_entry(path, os.lstat(path), content=True)
            except OSError:
                continue
    for name in GPU_KERNEL_MODULES:
        entries["module:" + name] = str(os.path.isdir(os.path.join(root, "sys/module", name)))
    try:
        with open(os.path.join(root, "proc/driver/nvidia/version"), "rb") as handle:
            entries["nvidia_driver"] = _sha256(handle.read())
    except (IOError, OSError):
        entries["nvidia_driver"] = "absent"
    for device in glob.glob(os.path.join(root, "sys/bus/pci/devices/*")):
        try:
            with open(os.path.join(device, "class")) as handle:
                pci_class = handle.read().strip()
            if not pci_class.startswith(("0x03", "0x12")):
                continue
            with open(os.path.join(device, "vendor")) as handle:
                vendor = handle.read().strip()
            with open(os.path.join(device, "device")) as handle:
                product = handle.read().strip()
        except (IOError, OSError):
            continue
        entries["pci:" + os.path.basename(device)] = "%s %s:%s" % (pci_class, vendor, product)
    return entries


def inputs_component(inputs):
    """The run's inputs ({name: digest}: each variable, the collection's code, ansible-core) as the
    ``inputs`` component, so a difference names the variable."""
    return component(inputs)


def compare(stamp, current, now, max_age_seconds):
    """Reasons the host needs a full run (empty: it matches the stamp). STAMP is the recorded dict
    (or None), CURRENT the components read now, the ``inputs`` component among them."""
    if not stamp:
        return ["no converge stamp: the host has not completed a full run of site.yml since the stamp was introduced"]
    if stamp.get("schema_version") != SCHEMA_VERSION:
        return ["the stamp has schema %s, this collection writes %s" % (stamp.get("schema_version"), SCHEMA_VERSION)]
    reasons = []
    age = now - float(stamp.get("recorded_epoch") or 0)
    if age > max_age_seconds or age < 0:
        reasons.append("the stamp is %.1f h old (recorded %s); the maximum age is %.1f h"
                       % (age / 3600.0, stamp.get("recorded_at"), max_age_seconds / 3600.0))
    recorded = stamp.get("components") or {}
    for name in sorted(set(recorded) | set(current)):
        before, after = recorded.get(name), current.get(name)
        if before is None:
            reasons.append("%s: not in the stamp" % name)
        elif after is None:
            reasons.append("%s: in the stamp, not on the host now" % name)
        elif before.get("digest") != after.get("digest"):
            reasons.append("%s: %s" % (name, _difference(before, after)))
    return reasons


def _difference(before, after):
    old, new = before.get("entries"), after.get("entries")
    if old is None or new is None:
        return "differs (%d entries then, %d now)" % (before.get("count", 0), after.get("count", 0))
    changed = [("changed", key) for key in sorted(old) if key in new and old[key] != new[key]]
    added = [("new", key) for key in sorted(new) if key not in old]
    removed = [("gone", key) for key in sorted(old) if key not in new]
    every = changed + added + removed
    shown = ", ".join("%s (%s)" % (key, how) for how, key in every[:MAX_REASON_PATHS])
    more = len(every) - MAX_REASON_PATHS
    return "%d differ: %s%s" % (len(every), shown, " and %d more" % more if more > 0 else "")
