#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure systemd units with `systemd-analyze security`: the overall exposure score and the
settings that still count against it. Read-only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: systemd_exposure
short_description: Read the systemd-analyze security exposure score of units (read-only)
description:
  - Used by the C(aihost.hardening.service_users) role to prove its sandbox; usable on its own.
  - Runs C(systemd-analyze security --no-pager UNIT) for each unit and parses the overall exposure
    level (0.0 best to 10.0 worst) and its rating (OK, MEDIUM, EXPOSED, UNSAFE), plus the checks
    that still add to the score.
  - Never reports a change, in or out of check mode.
version_added: "0.1.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  units:
    description: Unit names.
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
    description: The module only reads; it measures the units as they are now, in check mode too.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: [linux]
    description: Needs systemd and its C(systemd-analyze) (systemd 240 or later for C(security)).
"""

EXAMPLES = r"""
- name: Measure the units
  aihost.hardening.systemd_exposure:
    units: [ollama.service]
  register: exposure
"""

RETURN = r"""
units:
  description: Unit name to its measurement.
  returned: always
  type: dict
  sample:
    ollama.service:
      score: 1.4
      rating: OK
      failing:
        - {name: "PrivateNetwork=", description: "Service has access to the host's network", exposure: 0.5}
      error: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils.service_users import parse_security


def main():
    module = AnsibleModule(
        argument_spec=dict(units=dict(type="list", elements="str", required=True)),
        supports_check_mode=True,
    )
    module.run_command_environ_update = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C", SYSTEMD_COLORS="0")
    analyze = module.get_bin_path("systemd-analyze")
    results = {}
    for unit in module.params["units"]:
        if not analyze:
            results[unit] = {"score": None, "rating": None, "failing": [], "error": "systemd-analyze not found"}
            continue
        # Text, not --json=short: systemd 252's JSON lists the checks but not the overall score
        # (checked on Debian 12: 81 entries, no total), and the score is what the role compares.
        rc, out, err = module.run_command([analyze, "security", "--no-pager", unit], check_rc=False)
        parsed = parse_security(out or "")
        if parsed is None:
            results[unit] = {"score": None, "rating": None, "failing": [],
                             "error": (err or out or "no output").strip().splitlines()[-1:][0] if (err or out) else
                             "rc %d and no output" % rc}
            continue
        parsed["error"] = None
        results[unit] = parsed
    module.exit_json(changed=False, units=results)


if __name__ == "__main__":
    main()
