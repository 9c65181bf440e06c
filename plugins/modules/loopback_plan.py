#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work out, read-only, how to bind exposed AI runtimes to loopback (the loopback role's plan)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: loopback_plan
short_description: Plan, read-only, the drop-ins and environment edits that bind AI runtimes to loopback
description:
  - Used by the C(aihost.hardening.loopback) role (C(tasks/present.yml)); the role applies the plan with ordinary,
    check-mode-aware modules.
  - Reads each runtime's systemd units (fragment and drop-ins, in systemd's order) and the environment files they
    load, and works out a drop-in per unit, driven only by the runtime's C(bind_knob) from the catalog. Anything it
    cannot do safely becomes a finding that says what to do by hand. The logic is C(module_utils/loopback_plan.py).
  - The plan holds unit text (RV(plan.originals), and RV(plan.dropins) that repeat a command line), which may carry
    API keys; run the task with C(no_log). An internal error is reported by its type and line only, never a message
    that could quote a unit.
version_added: "0.3.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  runtimes:
    description:
      - Entries of C(ansible_facts.aihost_runtime.runtimes) (M(aihost.hardening.ai_runtime_facts)) whose exposure is
        wider than loopback, each with C(name), C(bind_knob), C(listen), C(processes), C(units) (names) and
        C(containers).
    type: list
    elements: dict
    required: true
  dropin_name:
    description: File name of the role's drop-in in C(<unit>.d/).
    type: str
    required: true
  loopback_address:
    description: The address the runtimes are bound to.
    type: str
    default: 127.0.0.1
attributes:
  check_mode:
    support: full
    description: Reads only; the same plan in check mode.
  diff_mode:
    support: none
    description: It changes nothing; the role's tasks that apply the plan report the diffs.
  platform:
    support: full
    platforms: [posix]
    description: Needs systemd (C(systemctl show)) for units.
"""

EXAMPLES = r"""
- name: Plan the rebinding
  aihost.hardening.loopback_plan:
    dropin_name: 50-aihost-loopback.conf
    runtimes: "{{ ansible_facts.aihost_runtime.runtimes | selectattr('exposure', 'ne', 'loopback') | list }}"
  no_log: true
  register: plan_run
"""

RETURN = r"""
plan:
  description: The plan.
  returned: success
  type: dict
  contains:
    units:
      description: One entry per unit to rebind (unit, runtime, knob_kind, env_file_edits, changes, copies_command_line).
      type: list
      elements: dict
    dropins:
      description: The drop-in text per unit name.
      type: dict
    originals:
      description: The unit's text as it was, per unit name (kept as the backup).
      type: dict
    findings:
      description: What could not be done safely (runtime, kind, message).
      type: list
      elements: dict
    managed:
      description: The runtimes the plan rebinds.
      type: list
      elements: str
"""

import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils import loopback_plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runtimes=dict(type="list", elements="dict", required=True),
            dropin_name=dict(type="str", required=True),
            loopback_address=dict(type="str", default="127.0.0.1"),
        ),
        supports_check_mode=True,
    )
    try:
        plan = loopback_plan.plan(module.params)
    except Exception as exc:  # pylint: disable=broad-except
        # No message and no traceback: both could quote a unit's text. Where it broke is enough.
        trace = sys.exc_info()[2]
        while trace.tb_next is not None:
            trace = trace.tb_next
        module.fail_json(msg="loopback_plan: internal error: %s at %s line %d" % (
            type(exc).__name__, trace.tb_frame.f_code.co_filename.rsplit("/", 1)[-1], trace.tb_lineno))
    module.exit_json(changed=False, plan=plan)


if __name__ == "__main__":
    main()
