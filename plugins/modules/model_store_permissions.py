#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Give model stores to root (or a named owner) and the runtime's group, read-only to the service, and
undo it from the record of original owners and modes; every change goes through a descriptor."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: model_store_permissions
short_description: Set or restore the owner, group and modes of model stores through directory handles
description:
  - Used by the C(aihost.hardening.model_integrity) role (C(tasks/permissions.yml) and C(tasks/restore.yml)).
  - With O(state=present), every directory and regular file of each store gets the store's owner (default
    C(root)) and group (when given), directories mode C(0750) and files C(0640), or C(0550) and C(0440)
    for a store with C(lock). Only entries whose owner, group or mode differ are touched (a chown or
    chmod bumps the ctime that the integrity scan uses).
  - Before the first change of an entry, its original uid, gid, owner, group, mode and type are added to
    the JSON record O(record) (mode C(0600)). A path already recorded keeps its first record, so the record
    always holds what the host had before the role first touched each entry. The record changes only when
    a path is added.
  - With O(state=restored), every entry of O(record) gets back its recorded uid, gid and mode. Entries that
    are gone, are no longer the recorded kind, or are reached only through a symbolic link are reported and
    skipped. The record stays.
  - Walks through directory handles (C(module_utils/fs.py)) - each entry is opened relative to its parent's
    descriptor with C(O_NOFOLLOW) and changed only with C(fchown)/C(fchmod) on that descriptor - so a
    directory swapped for a symbolic link mid-walk is never followed. Symbolic links, sockets, FIFOs and
    device nodes are left alone, and so are regular files with more than one hard link whose owner, group
    or mode would change (a hard link may be the name of a file outside the store, such as C(/etc/shadow)).
    All are reported in RV(skipped).
version_added: "0.2.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  stores:
    description: The stores whose permissions are set (O(state=present)).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The store, a directory or a single model file. Symbolic links in its parent directories are resolved once.
        type: path
        required: true
      owner:
        description: Owner of every entry.
        type: str
        default: root
      group:
        description: Group of every entry (the runtime's group); null leaves groups as they are.
        type: str
      lock:
        description: Modes C(0550)/C(0440) instead of C(0750)/C(0640).
        type: bool
        default: false
  record:
    description: The JSON record of original owners and modes.
    type: path
    required: true
  restore_hint:
    description: The command that restores the originals, written to the record's C(restore) field.
    type: str
    default: ""
  state:
    description: V(present) sets the store permissions; V(restored) puts back the recorded originals.
    type: str
    choices: [present, restored]
    default: present
  max_report:
    description: How many changed paths to list in the result and the diff.
    type: int
    default: 20
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing, the record included.
  diff_mode:
    support: full
    description: Lists the changed paths (up to O(max_report)) with their owner and mode before and after.
  platform:
    support: full
    platforms: [posix]
    description: Uses C(os.fchown) and C(os.fchmod) on descriptors opened with C(O_NOFOLLOW).
"""

EXAMPLES = r"""
- name: Make /srv/models read-only to the ollama group
  aihost.hardening.model_store_permissions:
    stores:
      - {path: /srv/models, group: ollama}
    record: /var/lib/aihost/model_integrity/original_permissions.json

- name: Put back the original owners and modes
  aihost.hardening.model_store_permissions:
    state: restored
    record: /var/lib/aihost/model_integrity/original_permissions.json
"""

RETURN = r"""
changed_entries:
  description: Entries whose owner, group or mode changed (or would change in check mode).
  returned: always
  type: int
  sample: 12
recorded:
  description: Paths added to the record by this run (none in check mode).
  returned: always
  type: int
stores:
  description: Per store (O(state=present)) - C(path), C(entries) examined and C(changed_entries).
  returned: always
  type: list
  elements: dict
skipped:
  description: Entries left alone, each C(path) and C(reason).
  returned: always
  type: list
  elements: dict
changes:
  description: The first O(max_report) changes, each C(path), C(before) and C(after) (C(user:group mode)).
  returned: always
  type: list
  elements: dict
msg:
  description: What happened, in one line.
  returned: always
  type: str
"""

import grp
import json
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils.atomic_file import atomic_write
from ansible_collections.aihost.hardening.plugins.module_utils.fs import open_path, reason_of, walk

GENERATOR = "aihost.hardening.model_integrity"


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def describe(uid, gid, mode):
    return "%s:%s %04o" % (_name(pwd.getpwuid, uid), _name(grp.getgrgid, gid), mode)


def original(st, store):
    """A record entry, as the role's former find -printf '%U %G %u %g %m %y' gave it."""
    return {"uid": st.st_uid, "gid": st.st_gid, "owner": _name(pwd.getpwuid, st.st_uid),
            "group": _name(grp.getgrgid, st.st_gid), "mode": "%04o" % stat.S_IMODE(st.st_mode),
            "type": "directory" if stat.S_ISDIR(st.st_mode) else "file", "store": store}


class Stores(object):
    def __init__(self, module):
        self.module = module
        self.max_report = module.params["max_report"]
        self.result = {"changed_entries": 0, "recorded": 0, "stores": [], "skipped": [], "changes": []}
        self.record = None

    # --- the record -------------------------------------------------------------------------
    def load_record(self):
        path = self.module.params["record"]
        try:
            with open(path, "rb") as handle:
                document = json.loads(handle.read().decode("utf-8"))
        except (IOError, OSError) as exc:
            if not os.path.exists(path):
                return None
            self.module.fail_json(msg="%s: unreadable (%s)" % (path, exc))
        except ValueError as exc:
            self.module.fail_json(msg="%s: not valid JSON (%s); move it aside to start a new record" % (path, exc))
        if not isinstance(document, dict) or not isinstance(document.get("paths", {}), dict):
            self.module.fail_json(msg="%s: not a record of original permissions (no 'paths' object)" % path)
        document.setdefault("paths", {})
        return document

    def add_to_record(self, entries):
        """Add the entries not recorded yet and write the record before any of them changes."""
        if self.record is None:
            self.record = self.load_record() or {"paths": {}}
        new = dict((path, entry) for path, entry in entries.items() if path not in self.record["paths"])
        if not new or self.module.check_mode:
            return
        self.record["paths"].update(new)
        document = {"schema_version": 1, "generator": GENERATOR, "restore": self.module.params["restore_hint"],
                    "paths": self.record["paths"]}
        path = self.module.params["record"]
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o750)
        atomic_write(path, (json.dumps(document, indent=4, sort_keys=True) + "\n").encode("utf-8"), 0o600)
        self.result["recorded"] += len(new)

    def note_change(self, path, before, uid, gid, mode):
        self.result["changed_entries"] += 1
        if len(self.result["changes"]) < self.max_report:
            previous = describe(before.st_uid, before.st_gid, stat.S_IMODE(before.st_mode))
            self.result["changes"].append({"path": path, "before": previous, "after": describe(uid, gid, mode)})

    # --- state=present ---------------------------------------------------------------------
    def present(self):
        for spec in self.module.params["stores"]:
            try:
                uid = pwd.getpwnam(spec["owner"]).pw_uid
                gid = grp.getgrnam(spec["group"]).gr_gid if spec.get("group") else -1
            except KeyError as exc:
                self.module.fail_json(msg="aihost_model_integrity_stores: %s: unknown owner or group %s"
                                      % (spec["path"], exc))
            store = os.path.normpath(spec["path"])
            dir_mode, file_mode = (0o550, 0o440) if spec.get("lock") else (0o750, 0o640)
            counts = {"path": store, "entries": 0, "changed_entries": 0}
            # Pass 1 finds what will change and records the originals; pass 2 changes, through handles.
            planned = {}
            self._walk(store, uid, gid, dir_mode, file_mode, counts, planned, apply=False)
            self.add_to_record(planned)
            if planned and not self.module.check_mode:
                counts = {"path": store, "entries": 0, "changed_entries": 0}
                self._walk(store, uid, gid, dir_mode, file_mode, counts, {}, apply=True)
            self.result["stores"].append(counts)

    def _walk(self, store, uid, gid, dir_mode, file_mode, counts, planned, apply):
        real = os.path.realpath(store)
        skipped = []

        def display(path):
            return store if path == real else os.path.join(store, os.path.relpath(path, real))

        def visit(fd, st, path):
            path = display(path)
            counts["entries"] += 1
            is_dir = stat.S_ISDIR(st.st_mode)
            mode = dir_mode if is_dir else file_mode
            owner_change = st.st_uid != uid or (gid != -1 and st.st_gid != gid)
            mode_change = stat.S_IMODE(st.st_mode) != mode
            if not (owner_change or mode_change):
                return True
            if not is_dir and st.st_nlink > 1:
                skipped.append({"path": path, "reason": "%d hard links" % st.st_nlink})
                return True
            if not apply:
                planned[path] = original(st, store)
                counts["changed_entries"] += 1
                self.note_change(path, st, uid, st.st_gid if gid == -1 else gid, mode)
                return True
            self.add_to_record({path: original(st, store)})  # appeared since pass 1
            counts["changed_entries"] += 1
            if owner_change:
                os.fchown(fd, uid, gid)
            # chown clears set-id bits; the mode goes after it.
            os.fchmod(fd, mode)
            return True

        try:
            walk(real, visit, lambda path, reason: skipped.append({"path": display(path), "reason": reason}),
                 one_file_system=False, root_is_dir=False)
        except OSError as exc:
            skipped.append({"path": store, "reason": reason_of(exc)})
        if not apply:  # pass 2 meets the same entries
            self.result["skipped"].extend(skipped)

    # --- state=restored --------------------------------------------------------------------
    def restored(self):
        document = self.load_record()
        if document is None:
            return "%s does not exist: this role never changed permissions on this host" % self.module.params["record"]
        restored = 0
        for path in sorted(document["paths"]):
            entry = document["paths"][path]
            problem = self._restore_one(path, entry)
            if problem is None:
                continue
            if problem is True:
                restored += 1
            else:
                self.result["skipped"].append({"path": path, "reason": problem})
        return "%d recorded entries restored, %d skipped" % (restored, len(self.result["skipped"]))

    def _restore_one(self, path, entry):
        """True when restored (or would be), None when already as recorded, else why it was skipped."""
        try:
            uid, gid, mode = int(entry["uid"]), int(entry["gid"]), int(str(entry["mode"]), 8)
            kind = entry["type"]
            if not 0 <= mode <= 0o7777 or kind not in ("directory", "file") or not path.startswith("/"):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            return "bad record entry %r" % (entry,)
        try:
            fd = self._open_recorded(path, entry.get("store"))
        except OSError as exc:
            return "no longer exists" if reason_of(exc) == "vanished while walking" else reason_of(exc)
        try:
            st = os.fstat(fd)
            is_dir = stat.S_ISDIR(st.st_mode)
            if not (is_dir if kind == "directory" else stat.S_ISREG(st.st_mode)):
                return "is no longer a %s" % kind
            if (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (uid, gid, mode):
                return None
            if not is_dir and st.st_nlink > 1:
                return "%d hard links" % st.st_nlink
            self.note_change(path, st, uid, gid, mode)
            if not self.module.check_mode:
                if (st.st_uid, st.st_gid) != (uid, gid):
                    os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)
            return True
        finally:
            os.close(fd)

    @staticmethod
    def _open_recorded(path, store):
        """Open a recorded path without following links below its store (the store's own path, set
        by the administrator, is resolved once); a path outside its store is opened from /."""
        path = os.path.normpath(path)
        store = os.path.normpath(store) if isinstance(store, str) and store.startswith("/") else None
        if store and path == store:
            return open_path(os.path.realpath(store), directory=False)
        if store and path.startswith(store.rstrip("/") + "/"):
            base = open_path(os.path.realpath(store), directory=True)
            try:
                return open_path(os.path.relpath(path, store), directory=False, start_fd=base)
            finally:
                os.close(base)
        return open_path(path, directory=False)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            stores=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                owner=dict(type="str", default="root"),
                group=dict(type="str"),
                lock=dict(type="bool", default=False),
            )),
            record=dict(type="path", required=True),
            restore_hint=dict(type="str", default=""),
            state=dict(type="str", default="present", choices=["present", "restored"]),
            max_report=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    for spec in module.params["stores"]:
        if not spec["path"].startswith("/"):
            module.fail_json(msg="aihost_model_integrity_stores: %r is not an absolute path" % spec["path"])
    work = Stores(module)
    if module.params["state"] == "restored":
        msg = work.restored()
    else:
        work.present()
        msg = "%d entries %s" % (work.result["changed_entries"], "would change" if module.check_mode else "changed")
    result = work.result
    changed = result["changed_entries"] > 0
    diff = {"before_header": module.params["record"], "after_header": module.params["record"], "before": "", "after": ""}
    if changed:
        before = ["%s %s" % (c["before"], c["path"]) for c in result["changes"]]
        after = ["%s %s" % (c["after"], c["path"]) for c in result["changes"]]
        more = result["changed_entries"] - len(result["changes"])
        if more > 0:
            before.append("... and %d more entries" % more)
            after.append("... and %d more entries" % more)
        diff["before"], diff["after"] = "\n".join(before) + "\n", "\n".join(after) + "\n"
    module.exit_json(changed=changed, diff=diff, msg=msg, **result)


if __name__ == "__main__":
    main()
