# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Warn about aihost_* variables that no argument spec knows (see the module for the docs).

Runs on the controller only and reads the names of the task's variables, never their values.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase
from ansible_collections.aihost.hardening.plugins.plugin_utils import variable_names

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()
    _supports_check_mode = True
    _known = None

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        if ActionModule._known is None:
            ActionModule._known = variable_names.known_names(COLLECTION_ROOT)
        unknown = variable_names.unknown_variables(list(task_vars or {}), ActionModule._known)
        result.update(changed=False, unknown=[{"name": name, "closest": closest} for name, closest in unknown])
        if unknown:
            result["warnings"] = [variable_names.warning_text(name, closest) for name, closest in unknown]
        return result
