#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the updates role's inputs and resolve its runtime entries, read-only (the role's plan)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: updates_plan
short_description: Check the updates role's inputs and resolve each managed runtime, read-only
description:
  - Used by the C(aihost.hardening.updates) role (C(tasks/validate.yml)) before its first change. The logic is
    C(module_utils/updates_plan.py).
  - Checks what an argument spec cannot express (HH-MM reboot windows, unique runtime names, SHA-256 digests, free text
    that goes into unit and APT files), then has C(systemd-analyze) check the OnCalendar expressions and time spans
    (one call per kind, one per value only to name a bad one).
  - Then completes each C(aihost_updates_runtimes) entry from the runtime facts (unit, venv, package, container,
    health port) and the role's defaults, looks for a venv's C(pyvenv.cfg) and C(bin/python) (an lstat; nothing on
    the host is run or followed), and lists what still stops an update.
  - It never fails on bad input; it returns RV(errors), so that the role can print them while this task stays
    C(no_log) (RV(resolved) can hold an index URL's credentials).
version_added: "0.4.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  settings:
    description:
      - The role's scalar inputs by short name (C(reboot_window_start), C(os_enabled), C(runtime_on_calendar), and so
        on), plus C(text_checks), a list of C(var), C(value) or C(values), and C(rule) (see the
        P(aihost.hardening.text_errors#filter) filter).
    type: dict
    required: true
  runtimes:
    description: C(aihost_updates_runtimes), as given.
    type: list
    elements: dict
    default: []
  detected:
    description: C(ansible_facts.aihost_runtime.runtimes) from M(aihost.hardening.ai_runtime_facts); empty to use none.
    type: list
    elements: dict
    default: []
  defaults:
    description: The per-runtime defaults - C(policy), C(on_calendar), C(randomized_delay), C(health_timeout).
    type: dict
    required: true
  binary_sources:
    description: Download sources of install-script runtimes by runtime name (the role's C(vars/main.yml)).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Reads only; the same answer in check mode.
  diff_mode:
    support: none
    description: It changes nothing.
  platform:
    support: full
    platforms: [posix]
    description: Needs C(systemd-analyze) on the target.
"""

EXAMPLES = r"""
- name: Check the inputs and resolve the runtimes
  aihost.hardening.updates_plan:
    settings: {reboot_window_start: "03:00", reboot_window_end: "05:00", reboot_max_defer_days: 7}
    runtimes: "{{ aihost_updates_runtimes }}"
    detected: "{{ ansible_facts.aihost_runtime.runtimes }}"
    defaults: {policy: notify, on_calendar: daily, randomized_delay: 1h, health_timeout: 120}
  no_log: true
  register: plan_run
"""

RETURN = r"""
errors:
  description: Every reason the role must stop before any change; empty when it may go on.
  returned: always
  type: list
  elements: str
resolved:
  description: One complete updater configuration per runtime entry (empty while there are RV(errors)).
  returned: always
  type: list
  elements: dict
names:
  description: The runtime names, in the entries' order.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils import updates_plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            settings=dict(type="dict", required=True),
            runtimes=dict(type="list", elements="dict", default=[]),
            detected=dict(type="list", elements="dict", default=[]),
            defaults=dict(type="dict", required=True),
            binary_sources=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    params = module.params
    names = [entry.get("name") for entry in params["runtimes"]]
    errors = updates_plan.input_errors(params["settings"], params["runtimes"])
    if not errors:
        calendars, timespans = updates_plan.systemd_checks(params["settings"], params["runtimes"])

        def analyze(kind, values):
            return module.run_command(["systemd-analyze", kind] + values)

        errors = updates_plan.systemd_errors({"calendar": calendars, "timespan": timespans}, analyze)
    resolved = []
    if not errors:
        resolved = updates_plan.resolve(params["runtimes"], params["detected"], params["defaults"],
                                        params["binary_sources"], os.path.lexists)
        errors = updates_plan.runtime_errors(resolved, os.path.lexists)
    module.exit_json(changed=False, errors=errors, resolved=[] if errors else resolved, names=names)


if __name__ == "__main__":
    main()
