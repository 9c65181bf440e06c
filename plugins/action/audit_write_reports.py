# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the audit's report files on the controller, in-process (see the module for the docs).

One call writes every file of every host: a copy task per file costs a forked module run each,
which dominated the audit's wall time on fleets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.aihost.hardening.plugins.module_utils.atomic_file import atomic_write
from ansible_collections.aihost.hardening.plugins.plugin_utils.audit_html import to_html


def _previous_fleet(path):
    """The previous fleet report at PATH, or None (missing, unreadable or not a fleet report)."""
    try:
        with open(path, "rb") as handle:
            report = json.loads(to_text(handle.read()))
    except (IOError, OSError, ValueError):
        return None
    return report if isinstance(report, dict) and report.get("kind") == "fleet" else None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dest", "files", "mode", "fleet_html", "previous"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dest = self._task.args.get("dest")
        files = self._task.args.get("files")
        mode = self._task.args.get("mode", "0600")
        if not dest or not isinstance(files, dict):
            raise AnsibleActionFail("audit_write_reports: dest (a directory) and files (name: content) are required")
        try:
            mode = int(to_text(mode), 8)
        except ValueError:
            raise AnsibleActionFail("audit_write_reports: mode %r is not an octal mode" % mode)
        dest = os.path.abspath(os.path.expanduser(to_text(dest)))
        files = dict(files)
        if boolean(self._task.args.get("fleet_html", False), strict=True):
            # fleet.html: the fleet.json being written, against the one it replaces (read first).
            if "fleet.json" not in files:
                raise AnsibleActionFail("audit_write_reports: fleet_html needs fleet.json in files")
            try:
                fleet = json.loads(to_text(files["fleet.json"]))
            except ValueError as exc:
                raise AnsibleActionFail("audit_write_reports: fleet.json is not JSON: %s" % to_text(exc))
            previous = self._task.args.get("previous")
            if previous is None:
                previous = os.path.join(dest, "fleet.json")
            previous = _previous_fleet(os.path.expanduser(to_text(previous))) if previous else None
            files["fleet.html"] = to_html(fleet, previous)
            result["previous_report"] = bool(previous)
        written = []
        try:
            if not os.path.isdir(dest):
                os.makedirs(dest, 0o700)
            for name in sorted(files):
                name = to_text(name)
                if os.path.basename(name) != name or name in ("", ".", ".."):
                    raise AnsibleActionFail("audit_write_reports: %r is not a plain file name" % name)
                path = os.path.join(dest, name)
                content = to_text(files[name])
                # Text files end with a newline (Jinja cannot reliably append one in YAML scalars).
                atomic_write(path, to_bytes(content if content.endswith("\n") else content + "\n"), mode)
                written.append(path)
        except (IOError, OSError) as exc:
            raise AnsibleActionFail("audit_write_reports: cannot write under %s: %s" % (dest, to_text(exc)))
        # Reports live on the controller: writing them is not a change to any audited host.
        result.update(changed=False, dest=dest, written=written)
        return result
