#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the firewall role's per-runtime egress chains, read-only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: egress_plan
short_description: Plan which AI runtime users the firewall restricts outbound, and what each may reach, read-only
description:
  - Used by the C(aihost.hardening.firewall) role (C(tasks/validate.yml)) before its first change. The logic is
    C(module_utils/egress.py).
  - Checks O(allowed) (each runtime a catalog or detected runtime; each entry a C(to) that is an address, a CIDR or a
    host name, a C(port), a C(proto) and a C(reason)) and fails naming the variable, the runtime and the entry
    before anything is planned.
  - Finds the users each runtime instance of O(runtimes) runs as (its processes' uids, its units' C(User=)) through
    NSS, so directory-service accounts count. Only system accounts (C(SYS_UID_MIN)..C(SYS_UID_MAX) of
    C(/etc/login.defs)) are restricted; root, human and shared accounts, the accounts of O(exempt_users) and
    runtimes in containers keep their egress and are listed in RV(unrestricted) with the reason.
  - Reads the host's resolvers from C(/etc/resolv.conf) (loopback ones need no rule). Host names are not resolved
    here; the role's C(aihost-firewall-egress) command resolves them into named sets when the rules load and on
    its timer.
version_added: "0.5.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  runtimes:
    description: C(ansible_facts.aihost_runtime.runtimes) from M(aihost.hardening.ai_runtime_facts).
    type: list
    elements: dict
    default: []
  allowed:
    description: The allowed destinations by runtime name (the role's C(aihost_firewall_egress_allowed)).
    type: dict
    default: {}
  mode:
    description: V(enforce) drops what is not allowed, V(log) only counts and logs it, V(off) plans no chain.
    type: str
    choices: [enforce, log, "off"]
    default: enforce
  exempt_users:
    description: Accounts never restricted, whatever their uid (the account Ansible connects as).
    type: list
    elements: str
    default: []
  var_name:
    description: The variable named in error messages.
    type: str
    default: aihost_firewall_egress_allowed
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
    description: Reads C(/etc/login.defs), C(/etc/resolv.conf) and the account database through NSS.
"""

EXAMPLES = r"""
- name: Plan the egress chains
  aihost.hardening.egress_plan:
    runtimes: "{{ ansible_facts.aihost_runtime.runtimes }}"
    allowed:
      ollama:
        - {to: registry.ollama.ai, port: 443, reason: Model pulls.}
    mode: enforce
  register: egress
"""

RETURN = r"""
mode:
  description: O(mode).
  returned: always
  type: str
  sample: enforce
chains:
  description:
    - One per set of runtimes sharing users, named C(egress-) and the runtime names joined by C(-), with C(runtimes),
      C(uids), C(users), C(log_prefix) and C(rules) (each C(family), C(daddr) (an address, a CIDR or C(@) and a set
      name), C(proto), C(port), C(runtime), C(to) and C(reason)). Empty when O(mode) is V(off).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "egress-ollama", "runtimes": ["ollama"], "uids": [998], "users": ["ollama"],
            "log_prefix": "aihost-egress-ollama: ",
            "rules": [{"family": "ipv4", "daddr": "@egress-ollama-1-v4", "proto": "tcp", "port": 443,
                       "runtime": "ollama", "to": "registry.ollama.ai", "reason": "Model pulls."}]}]
sets:
  description: The named sets the host names fill, each C(name), C(family), C(host) and C(runtime).
  returned: always
  type: list
  elements: dict
names:
  description:
    - Each host name to resolve, with C(host), C(sets) (the set name by family) and C(line), its line in the file
      C(aihost-firewall-egress) reads.
  returned: always
  type: list
  elements: dict
  sample: [{"host": "registry.ollama.ai", "sets": {"ipv4": "egress-ollama-1-v4", "ipv6": "egress-ollama-1-v6"},
            "line": "egress-ollama-1-v4 egress-ollama-1-v6 registry.ollama.ai"}]
resolvers:
  description: The host's non-loopback name servers by family (C(ipv4), C(ipv6)); DNS to them is allowed.
  returned: always
  type: dict
  sample: {"ipv4": ["10.0.0.2"], "ipv6": []}
unrestricted:
  description: Runtime users whose egress stays open, each C(runtime), C(user), C(uid) and C(reason).
  returned: always
  type: list
  elements: dict
  sample: [{"runtime": "mlflow", "user": "root", "uid": 0, "reason": "runs as root, ..."}]
not_on_host:
  description: Runtimes of O(allowed) with no instance on this host (their entries wait for one).
  returned: always
  type: list
  elements: str
"""

import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aihost.hardening.plugins.module_utils import egress
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import CATALOG
from ansible_collections.aihost.hardening.plugins.module_utils.accounts import parse_login_defs


def _read(path):
    try:
        with open(path, "r", errors="replace") as handle:
            return handle.read(1 << 20)
    except (IOError, OSError):
        return ""


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runtimes=dict(type="list", elements="dict", default=[]),
            allowed=dict(type="dict", default={}),
            mode=dict(type="str", choices=list(egress.MODES), default="enforce"),
            exempt_users=dict(type="list", elements="str", default=[]),
            var_name=dict(type="str", default="aihost_firewall_egress_allowed"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    known = set(CATALOG) | set(runtime.get("name") for runtime in params["runtimes"] if runtime.get("name"))
    errors = egress.allowed_errors(params["allowed"], known, params["var_name"])
    if errors:
        module.fail_json(msg="Invalid firewall settings, nothing was changed: %s" % "; ".join(errors), errors=errors)
    accounts = egress.Accounts(lambda uid: pwd.getpwuid(uid).pw_name, lambda name: pwd.getpwnam(name).pw_uid)
    result = egress.plan(params["runtimes"], params["allowed"], params["mode"],
                         parse_login_defs(_read("/etc/login.defs")), accounts, _read("/etc/resolv.conf"),
                         params["exempt_users"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
