# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the audit's report files on the controller, in-process (see the module for the docs).

One call writes every file of every host: a copy task per file costs a forked module run each,
which dominated the audit's wall time on fleets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible_collections.aihost.hardening.plugins.module_utils.atomic_file import atomic_write


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dest", "files", "mode"))

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
