# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compute the converge stamp's inputs on the controller, then run the module (see its docs).

The inputs of a site.yml run are what the roles are given - every ``aihost_*`` variable of the host,
templated - and the code that reads them: the collection's roles, plugins and playbooks, and the
ansible-core version. Role-private names (``aihost_<role>__*``) and facts are derived, not given, so
they are left out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ansible_version

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE_DIRS = ("roles", "plugins", "playbooks")
CODE_FILES = ("galaxy.yml", "MANIFEST.json")
INPUT_NAME = re.compile(r"^aihost_(?!site_fast_path)(?!.*__)")


def collection_digest(root=COLLECTION_ROOT):
    """SHA-256 over the path and content of every file of the collection's code, in path order."""
    digest = hashlib.sha256()
    paths = [os.path.join(root, name) for name in CODE_FILES]
    for directory in CODE_DIRS:
        for parent, dirnames, filenames in os.walk(os.path.join(root, directory)):
            dirnames[:] = sorted(name for name in dirnames if name != "__pycache__")
            paths.extend(os.path.join(parent, name) for name in filenames if not name.endswith((".pyc", ".pyo")))
    for path in sorted(paths):
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except (IOError, OSError):
            continue
        digest.update(to_bytes(os.path.relpath(path, root)) + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def inputs_of(variables, code_digest, version=ansible_version):
    """{name: digest} for each variable (templated values), the code digest and the ansible-core VERSION."""
    inputs = dict((name, hashlib.sha256(to_bytes(json.dumps(value, sort_keys=True, separators=(",", ":"),
                                                            default=to_text))).hexdigest())
                  for name, value in variables.items())
    inputs.update(collection=code_digest, ansible_core=to_text(version))
    return inputs


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def input_variables(self, task_vars):
        facts = task_vars.get("ansible_facts") or {}
        register = self._task.register
        variables = {}
        for name in sorted(task_vars):
            if not INPUT_NAME.match(name) or name in facts or name == register:
                continue
            try:
                variables[name] = self._templar.template(task_vars[name])
            except Exception as exc:  # pylint: disable=broad-except
                # A variable that cannot be templated yet (it needs facts): its text is the input.
                variables[name] = "untemplated %s: %s" % (to_text(task_vars[name]), type(exc).__name__)
        return variables

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        if not args.get("inputs"):
            args["inputs"] = inputs_of(self.input_variables(task_vars), collection_digest())
        if "model_stores" not in args:
            try:
                stores = self._templar.template(task_vars.get("aihost_model_integrity_stores") or [])
            except Exception:  # pylint: disable=broad-except
                stores = []  # invalid: the model_integrity role fails on it with its own message
            args["model_stores"] = [to_text(store["path"]) for store in stores
                                    if isinstance(store, dict) and store.get("path")]
        result.update(self._execute_module(module_name="aihost.hardening.converge_state", module_args=args,
                                           task_vars=task_vars))
        return result
