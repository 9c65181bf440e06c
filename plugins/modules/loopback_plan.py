#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work out, read-only, how to bind exposed AI runtimes to loopback and where the proxies go (the loopback role's plan)."""

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
  - First it sorts the runtimes - those that O(allowed_exposures) covers are left alone and noted - and completes each
    O(remote_access) proxy with its upstream port on this host, listing why one cannot be set up (RV(proxy_errors)).
  - The plan holds unit text (RV(plan.originals), and RV(plan.dropins) that repeat a command line), which may carry
    API keys; run the task with C(no_log). An internal error is reported by its type and line only, never a message
    that could quote a unit.
version_added: "0.3.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  runtimes:
    description:
      - C(ansible_facts.aihost_runtime.runtimes) from M(aihost.hardening.ai_runtime_facts). Those whose exposure is
        wider than loopback, and that no entry of O(allowed_exposures) covers, are planned; each has C(name),
        C(bind_knob), C(listen), C(processes), C(units) and C(containers).
    type: list
    elements: dict
    required: true
  listeners:
    description: C(ansible_facts.aihost_runtime.listeners), to find a proxy port that is already in use.
    type: list
    elements: dict
    default: []
  allowed_exposures:
    description: C(aihost_loopback_allowed_exposures) - runtimes and ports left listening beyond loopback.
    type: list
    elements: dict
    default: []
  remote_access:
    description: C(aihost_loopback_remote_access) - the proxies, completed here with their upstream port.
    type: list
    elements: dict
    default: []
  secrets_dir:
    description: Where a proxy without its own certificate gets a self-signed one (C(<port>.crt), C(<port>.key)).
    type: str
    default: /etc/aihost/loopback
  dropin_name:
    description: File name of the role's drop-in in C(<unit>.d/).
    type: str
    required: true
  loopback_address:
    description: The address the runtimes are bound to.
    type: str
    default: 127.0.0.1
  fix_auth:
    description:
      - "Also plan the C(auth_fixes) of each runtime's bind knob (settings that open its API to anyone who reaches it:
        an empty Jupyter token, C(OLLAMA_ORIGINS=*)), for every runtime run by a systemd service, on loopback or not."
      - A unit that needs both gets one drop-in with both.
    type: bool
    default: false
  auth_values:
    description: The values that C(value_from) of an auth fix names (C(ollama_origins) - a list, comma-joined).
    type: dict
    default: {}
  token_dir:
    description: Where the token files of auth fixes with C(token_env) go (C(<unit>.token)); the role creates them.
    type: str
    default: /etc/aihost/tokens
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
    runtimes: "{{ ansible_facts.aihost_runtime.runtimes }}"
    allowed_exposures: [{port: 8888, runtime: jupyter, sources: [10.0.0.0/24], reason: lab notebooks}]
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
      description:
        - One entry per unit to change (unit, runtime, knob_kind - C(auth) for a unit that gets only auth fixes -, bind,
          exposed - it listens beyond loopback now -, env_file_edits, changes, auth_changes, token_files,
          copies_command_line).
        - C(bind) is true when the drop-in holds the bind fix - for an exposed unit, and for one on loopback whose
          drop-in from an earlier run held it (the plan is made from the unit as written).
        - C(token_files) lists the token files the drop-in points at (env, path, group); the role creates them.
      type: list
      elements: dict
    dropins:
      description: The drop-in text per unit name.
      type: dict
    originals:
      description: The unit's text as it was, per unit name (kept as the backup).
      type: dict
    secrets:
      description:
        - Per unit name, the text of the root-only environment file (C(<token_dir>/<unit>.env)) that holds the secrets
          an auth fix moved off its command line (vLLM's C(--api-key) as C(VLLM_API_KEY)). Never print it.
      type: dict
    findings:
      description: What could not be done safely (runtime, kind, message).
      type: list
      elements: dict
    managed:
      description: The runtimes the plan rebinds.
      type: list
      elements: str
notes:
  description: Exposed runtimes left as they are, and why (runtime, kind, message) - allowed, or not movable by their knob.
  returned: success
  type: list
  elements: dict
proxies:
  description: Each O(remote_access) entry with its defaults and C(upstream_port), the runtime's port on this host.
  returned: success
  type: list
  elements: dict
proxy_errors:
  description: Why a proxy cannot be set up here (no upstream, the runtime's own port, a port in use); the role stops.
  returned: success
  type: list
  elements: str
published:
  description: The proxy ports in the allowed-exposures shape, for the firewall.
  returned: success
  type: list
  elements: dict
"""

import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils import loopback_plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runtimes=dict(type="list", elements="dict", required=True),
            listeners=dict(type="list", elements="dict", default=[]),
            allowed_exposures=dict(type="list", elements="dict", default=[]),
            remote_access=dict(type="list", elements="dict", default=[]),
            # A directory path, not a secret (validate-modules asks because of the name).
            secrets_dir=dict(type="str", default="/etc/aihost/loopback", no_log=False),
            dropin_name=dict(type="str", required=True),
            loopback_address=dict(type="str", default="127.0.0.1"),
            fix_auth=dict(type="bool", default=False),
            auth_values=dict(type="dict", default={}),
            # A directory path, not a secret.
            token_dir=dict(type="str", default="/etc/aihost/tokens", no_log=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        rebind, notes = loopback_plan.sort_exposed(params["runtimes"], params["allowed_exposures"])
        proxies = loopback_plan.proxies(params["remote_access"], params["runtimes"], params["secrets_dir"])
        proxy_errors = loopback_plan.proxy_errors(proxies, params["listeners"])
        auth_runtimes = loopback_plan.auth_candidates(params["runtimes"]) if params["fix_auth"] else []
        plan = loopback_plan.plan(dict(params, runtimes=rebind, auth_runtimes=auth_runtimes))
    except Exception as exc:  # pylint: disable=broad-except
        # No message and no traceback: both could quote a unit's text. Where it broke is enough.
        trace = sys.exc_info()[2]
        while trace.tb_next is not None:
            trace = trace.tb_next
        module.fail_json(msg="loopback_plan: internal error: %s at %s line %d" % (
            type(exc).__name__, trace.tb_frame.f_code.co_filename.rsplit("/", 1)[-1], trace.tb_lineno))
    module.exit_json(changed=False, plan=plan, notes=notes, proxies=proxies, proxy_errors=proxy_errors,
                     published=loopback_plan.published(proxies))


if __name__ == "__main__":
    main()
