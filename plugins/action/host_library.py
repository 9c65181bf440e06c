# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of aihost.hardening.host_library: send the collection's module_utils to the module.

Reads every ``*.py`` file of this collection's ``plugins/module_utils`` (the code the modules run) on
the controller and passes their text and digest to the module, which installs them on the host as
one version directory. One task, one module run, whatever the number of files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.aihost.hardening.plugins.module_utils import host_library

MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")


def library_files(directory=MODULE_UTILS):
    """{name: text} of the library's module files (no __init__.py: the module writes empty ones)."""
    files = {}
    for name in sorted(os.listdir(directory)):
        if host_library.FILE_NAME.match(name) and name != "__init__.py":
            with open(os.path.join(directory, name), "rb") as handle:
                files[name] = to_text(handle.read(), errors="surrogate_or_strict")
    return files


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        unknown = sorted(set(args) - {"path"})
        if unknown:
            raise AnsibleActionFail("host_library takes only 'path' (the action plugin sends the files); got %s"
                                    % ", ".join(unknown))
        files = library_files()
        if not files:
            raise AnsibleActionFail("no module files found in %s" % MODULE_UTILS)
        args.update(files=files, version=host_library.version_of(files))
        result.update(self._execute_module(module_name="aihost.hardening.host_library", module_args=args,
                                           task_vars=task_vars))
        return result
