# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which aihost_* variables the collection knows, and the closest known name of one it does not.

Controller only (aihost.hardening.variable_check). A name is known when a role's argument spec
declares it (roles/*/meta/argument_specs.yml, every entry point), when the collection's own
playbooks or roles (tasks, defaults, vars, handlers, templates) mention it, which covers the playbook
variables (aihost_privileges_required, aihost_site_*) and the facts the roles set themselves
(set_fact, register, task vars), or when a module returns it as a fact (FACTS: with
INJECT_FACTS_AS_VARS, ansible_facts.aihost_runtime is also the variable aihost_runtime). Plugins
are not scanned: their docs quote misspelt names on purpose.
Names with a double underscore after the role prefix (aihost_firewall__os_vars) are private to a
role by convention, and names that start with aihost_test_ belong to test playbooks (Molecule's
registered results); neither is reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import os
import re

import yaml

PREFIX = "aihost_"
NAME = re.compile(r"\baihost_[a-z0-9_]*[a-z0-9]\b")
SCANNED_DIRS = ("roles", "playbooks")
SCANNED_SUFFIXES = (".yml", ".yaml", ".j2")
# ansible_facts keys the facts modules return (ai_runtime_facts, gpu_facts, host_audit_facts).
FACTS = frozenset(("aihost_runtime", "aihost_gpu"))


def spec_names(collection_root):
    """Every option of every entry point of every role's meta/argument_specs.yml."""
    names = set()
    roles = os.path.join(collection_root, "roles")
    for role in sorted(os.listdir(roles)) if os.path.isdir(roles) else []:
        path = os.path.join(roles, role, "meta", "argument_specs.yml")
        if not os.path.isfile(path):
            continue
        with open(path) as handle:
            specs = (yaml.safe_load(handle) or {}).get("argument_specs") or {}
        for entry in specs.values():
            names.update((entry or {}).get("options") or {})
    return names


def mentioned_names(collection_root):
    """Every aihost_* name the collection's own roles and playbooks mention (role unit tests excluded)."""
    names = set()
    for top in SCANNED_DIRS:
        for folder, dirs, files in os.walk(os.path.join(collection_root, top)):
            dirs[:] = [item for item in dirs if item not in ("tests", "__pycache__")]
            for name in files:
                if name.endswith(SCANNED_SUFFIXES):
                    with open(os.path.join(folder, name), errors="replace") as handle:
                        names.update(NAME.findall(handle.read()))
    return names


def known_names(collection_root):
    return spec_names(collection_root) | mentioned_names(collection_root) | FACTS


def is_private(name):
    """aihost_<role>__<name> (a role's own variable) or aihost_test_* (a test playbook's), by naming rule."""
    return "__" in name[len(PREFIX):] or name.startswith(PREFIX + "test_")


def unknown_variables(names, known):
    """[(name, closest known name or None)] for every aihost_* name in NAMES that KNOWN lacks, sorted."""
    known = set(known)
    public = sorted(name for name in known if not is_private(name))
    found = []
    for name in sorted(set(str(item) for item in names)):
        if not name.startswith(PREFIX) or name in known or is_private(name):
            continue
        close = difflib.get_close_matches(name, public, n=1, cutoff=0.6)
        found.append((name, close[0] if close else None))
    return found


def warning_text(name, suggestion):
    text = "%s is not a variable of aihost.hardening: no role's argument spec or playbook knows it, so it is ignored" % name
    if suggestion:
        text += "; did you mean %s?" % suggestion
    return text
