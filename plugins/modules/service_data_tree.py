#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hand a data directory tree to a service user: owner and group, and modes capped at a maximum.
File contents are never opened for writing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: service_data_tree
short_description: Give a data directory tree to a service user, with capped modes
description:
  - Used by the C(aihost.hardening.service_users) role to hand data directories to service users.
  - Walks O(path) through directory handles (the walker of C(module_utils/fs.py)) - O(path) is opened one component at a time from C(/) and every entry
    relative to its parent's descriptor, all with C(O_NOFOLLOW), and the owner and mode are changed
    only with C(fchown)/C(fchmod) on that descriptor - so a directory swapped for a symbolic link
    mid-walk is never followed, at any depth. Does not cross into other file systems.
  - Sets the owner and group of every directory and regular file to O(owner) and O(group).
  - Caps modes instead of setting them; a mode is never widened. Directories keep at most
    O(dir_mode) (and always C(rwx) for the owner), files at most O(file_mode) (and always C(rw)
    for the owner). Files whose name matches O(private_patterns) (databases, chat histories) keep
    at most O(private_mode).
  - Leaves alone symbolic links, sockets, FIFOs, device nodes and regular files with more than one
    hard link (a hard link could point at a file outside the tree) unless already owned by O(owner)
    and O(group), and reports them. Entries that vanish or change while walking are reported in
    RV(skipped), never an error. When O(path) has a symbolic link on it (swapped after the role's plan),
    the tree is left alone with a warning.
  - Before the first change of an entry, records its original owner, group and mode in the JSON
    manifest O(backup), so every change can be undone. Entries already recorded keep their first
    record.
  - Never opens a file for writing; contents are untouched.
version_added: "0.1.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  path:
    description: Root of the tree. Must be an existing directory.
    type: path
    required: true
  owner:
    description: User name that will own the tree.
    type: str
    required: true
  group:
    description: Group name of the tree.
    type: str
    required: true
  dir_mode:
    description: Highest mode a directory keeps, in octal.
    type: str
    default: "0750"
  file_mode:
    description: Highest mode a regular file keeps, in octal.
    type: str
    default: "0640"
  private_mode:
    description: Highest mode of files that match O(private_patterns), in octal.
    type: str
    default: "0600"
  private_patterns:
    description: Shell patterns matched against file names (not paths).
    type: list
    elements: str
    default: ["*.db", "*.sqlite", "*.sqlite3", "*.db-wal", "*.db-shm", "*.db-journal"]
  one_file_system:
    description: Do not descend into directories on another file system (a mounted model store).
    type: bool
    default: true
  backup:
    description: Path of the JSON manifest of original owners and modes; empty for none.
    type: path
  max_report:
    description: How many changed paths to list in the result and the diff.
    type: int
    default: 20
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing, manifest included.
  diff_mode:
    support: full
    description: Lists the changed paths (up to O(max_report)) with their owner and mode before and after.
  platform:
    support: full
    platforms: [posix]
    description: Uses C(os.fchown) and C(os.fchmod) on descriptors opened with C(O_NOFOLLOW).
"""

EXAMPLES = r"""
- name: Give /var/lib/ollama to the ollama user
  aihost.hardening.service_data_tree:
    path: /var/lib/ollama
    owner: ollama
    group: ollama
    backup: /var/lib/aihost/backup/service_users/ollama.json
"""

RETURN = r"""
entries:
  description: Directories and regular files examined.
  returned: always
  type: int
  sample: 42
changed_entries:
  description: Entries whose owner, group or mode changed (or would change in check mode).
  returned: always
  type: int
  sample: 42
owner_changed:
  description: Entries whose owner or group changed (or would change in check mode).
  returned: always
  type: int
  sample: 42
mode_changed:
  description: Entries whose mode was capped.
  returned: always
  type: int
  sample: 40
private_files:
  description: Files matched by O(private_patterns), whatever their state.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/mlflow/mlflow.db]
skipped:
  description: Entries left alone, each C(path) and C(reason).
  returned: always
  type: list
  elements: dict
summary:
  description: C(path), C(entries), C(changed_entries), C(owner_changed), C(mode_changed), C(private_files) and C(skipped) (a count).
  returned: always
  type: dict
changes:
  description: The first O(max_report) changes, each C(path), C(before) and C(after) (C(user:group mode)).
  returned: always
  type: list
  elements: dict
"""

import errno
import grp
import json
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.aihost.hardening.plugins.module_utils.atomic_file import atomic_write
from ansible_collections.aihost.hardening.plugins.module_utils.fs import reason_of, walk
from ansible_collections.aihost.hardening.plugins.module_utils.service_users import capped_mode, file_cap


def _describe(uid, gid, mode):
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return "%s:%s %04o" % (user, group, mode)


class Tree(object):
    """The owner and mode rules of a data tree, applied through the descriptors of module_utils.fs."""

    def __init__(self, module, between=None):
        self.module = module
        p = module.params
        self.uid = pwd.getpwnam(p["owner"]).pw_uid
        self.gid = grp.getgrnam(p["group"]).gr_gid
        self.dir_mode = int(p["dir_mode"], 8)
        self.file_mode = int(p["file_mode"], 8)
        self.private_mode = int(p["private_mode"], 8)
        self.patterns = p["private_patterns"]
        self.between = between
        self.result = {"entries": 0, "changed_entries": 0, "owner_changed": 0, "mode_changed": 0, "private_files": [], "skipped": [],
                       "changes": []}
        self.originals = {}
        self.recorded = None

    def skip(self, path, reason):
        self.result["skipped"].append({"path": path, "reason": reason})

    def visit(self, fd, before, path):
        """Called by fs.walk with a descriptor on the entry itself: act only through it."""
        is_dir = stat.S_ISDIR(before.st_mode)
        if not is_dir and before.st_nlink > 1 and (before.st_uid, before.st_gid) != (self.uid, self.gid):
            # A hard link may be the name of a file outside the tree (/etc/shadow).
            self.skip(path, "%d hard links" % before.st_nlink)
            return False
        self.result["entries"] += 1
        if is_dir:
            target = capped_mode(before.st_mode, self.dir_mode, 0o700)
        else:
            cap, private = file_cap(os.path.basename(path), self.file_mode, self.private_mode, self.patterns)
            if private:
                self.result["private_files"].append(path)
            target = capped_mode(before.st_mode, cap, 0o600)
        owner_change = (before.st_uid, before.st_gid) != (self.uid, self.gid)
        mode_change = stat.S_IMODE(before.st_mode) != target
        if not (owner_change or mode_change):
            return is_dir
        self.result["changed_entries"] += 1
        self.result["owner_changed"] += int(owner_change)
        self.result["mode_changed"] += int(mode_change)
        if len(self.result["changes"]) < self.module.params["max_report"]:
            self.result["changes"].append({
                "path": path,
                "before": _describe(before.st_uid, before.st_gid, stat.S_IMODE(before.st_mode)),
                "after": _describe(self.uid, self.gid, target)})
        self.originals.setdefault(path, {"uid": before.st_uid, "gid": before.st_gid,
                                         "mode": "%04o" % stat.S_IMODE(before.st_mode)})
        if self.module.check_mode:
            return is_dir
        self.save_backup()
        if owner_change:
            os.fchown(fd, self.uid, self.gid)
        # chown clears set-id bits; apply the mode after it.
        os.fchmod(fd, target)
        return is_dir

    def save_backup(self):
        path = self.module.params["backup"]
        if not path or not self.originals or self.module.check_mode:
            return
        if self.recorded is None:
            try:
                with open(path) as handle:
                    self.recorded = json.load(handle).get("entries", {})
            except (IOError, OSError, ValueError, AttributeError):
                self.recorded = {}
        added = False
        for entry, original in self.originals.items():
            if entry not in self.recorded:
                self.recorded[entry] = original
                added = True
        self.originals = {}
        if not added:
            return
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        document = {"generator": "aihost.hardening.service_users", "tree": self.module.params["path"],
                    "note": "original uid, gid and mode of every entry the role changed, first record kept",
                    "entries": self.recorded}
        atomic_write(path, json.dumps(document, indent=1, sort_keys=True).encode("utf-8"), 0o600)

    def run(self):
        root = self.module.params["path"]
        try:
            walk(root, self.visit, self.skip, one_file_system=self.module.params["one_file_system"],
                 between=self.between)
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                self.module.fail_json(msg="%s is not a directory" % root, **self.result)
            # The root itself: gone, or a symbolic link somewhere on its path (swapped since the plan).
            self.skip(root, reason_of(exc) if exc.errno != errno.ELOOP else
                      "a symbolic link is on its path; give the real directory")
            self.module.warn("%s was left alone: %s" % (root, self.result["skipped"][-1]["reason"]))
        self.save_backup()
        return self.result


def summary(path, result):
    """Short per-tree record for the role's report."""
    return {"path": path, "entries": result["entries"], "changed_entries": result["changed_entries"],
            "owner_changed": result["owner_changed"], "mode_changed": result["mode_changed"],
            "private_files": result["private_files"], "skipped": len(result["skipped"])}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            owner=dict(type="str", required=True),
            group=dict(type="str", required=True),
            dir_mode=dict(type="str", default="0750"),
            file_mode=dict(type="str", default="0640"),
            private_mode=dict(type="str", default="0600"),
            private_patterns=dict(type="list", elements="str",
                                  default=["*.db", "*.sqlite", "*.sqlite3", "*.db-wal", "*.db-shm", "*.db-journal"]),
            one_file_system=dict(type="bool", default=True),
            backup=dict(type="path"),
            max_report=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for key in ("dir_mode", "file_mode", "private_mode"):
        try:
            value = int(p[key], 8)
            if not 0 <= value <= 0o777:
                raise ValueError
        except ValueError:
            module.fail_json(msg="%s: %r is not an octal permission mode such as 0750" % (key, p[key]))
    if not os.path.isabs(p["path"]):
        module.fail_json(msg="path must be absolute, got %r" % p["path"])
    if not os.path.lexists(p["path"]):
        if module.check_mode:
            empty = dict(entries=0, changed_entries=0, owner_changed=0, mode_changed=0, private_files=[], skipped=[],
                         changes=[])
            module.exit_json(changed=True, summary=summary(p["path"], empty),
                             msg="%s does not exist yet (created by the role)" % p["path"], **empty)
        module.fail_json(msg="%s does not exist" % p["path"])
    try:
        tree = Tree(module)
    except KeyError as exc:
        if module.check_mode:
            # The service user is created by an earlier task that check mode only simulated.
            empty = dict(entries=0, changed_entries=0, owner_changed=0, mode_changed=0, private_files=[], skipped=[],
                         changes=[])
            module.exit_json(changed=True, summary=summary(p["path"], empty),
                             msg="user or group %s does not exist yet: the whole tree would change owner"
                             % to_native(exc), **empty)
        module.fail_json(msg="unknown user or group: %s" % to_native(exc))
    result = tree.run()
    changed = bool(result["owner_changed"] or result["mode_changed"])
    diff = {"before_header": p["path"], "after_header": p["path"], "before": "", "after": ""}
    if changed:
        lines_before = ["%s %s" % (c["before"], c["path"]) for c in result["changes"]]
        lines_after = ["%s %s" % (c["after"], c["path"]) for c in result["changes"]]
        more = result["changed_entries"] - len(result["changes"])
        if more > 0:
            lines_before.append("... and %d more entries" % more)
            lines_after.append("... and %d more entries" % more)
        diff["before"] = "\n".join(lines_before) + "\n"
        diff["after"] = "\n".join(lines_after) + "\n"
    result["summary"] = summary(p["path"], result)
    module.exit_json(changed=changed, diff=diff, **result)


if __name__ == "__main__":
    main()
