#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: converge_state
short_description: Compare a host with the state site.yml last converged it to, or record that state
version_added: "0.3.0"
description:
  - The no-change path of C(playbooks/site.yml). At the end of a full run that converged a host,
    O(state=record) writes a stamp of the host's state and of the run's inputs to O(stamp_path).
    At the start of the next run, O(state=compare) reads the host again and lists every difference
    in RV(reasons). A host with no difference (RV(unchanged)) has nothing for the roles to do, and
    site.yml skips it - one module run instead of every role's tasks.
  - The state read is what the roles read or write, as components - C(content:<tree>) for each of
    O(content_trees) (every entry's type, mode, owner and, for regular files, content digest);
    C(metadata:<tree>) for the data paths of every detected runtime and O(metadata_trees) (type, mode,
    owner, size, mtime, ctime and inode of every entry, what the model scanner compares); C(nft_ruleset)
    (C(nft -s -t list ruleset), without counters and set elements); C(units) (load and active state of the units listed by
    O(unit_patterns) and of every detected runtime's units); C(runtimes) and C(listeners) (the facts of
    M(aihost.hardening.ai_runtime_facts) without pids, inodes and command lines); C(devices) (GPU device
    nodes, loaded GPU kernel modules, NVIDIA driver version, display and accelerator PCI devices).
  - The run's inputs are O(inputs), compared like a component (C(inputs)) so that a difference names
    the variable. The action plugin of the same name computes them on the controller unless the task
    gives them - a digest of each C(aihost_*) variable of the host, templated (role-private
    C(aihost_<role>__*) names, facts and C(aihost_site_fast_path*) left out), one of the files of the
    collection's roles, plugins and playbooks (C(collection)) and the ansible-core version (C(ansible_core)).
  - A missing or unreadable stamp, one written by another schema and one older than O(max_age_hours)
    are reasons too, so every host gets a full run at least every O(max_age_hours).
  - A host whose runtimes write to their data paths between runs (a chat database, notebooks) differs
    on every run and always gets the full run; that costs time, never a missed change.
author:
  - aihost.hardening maintainers (@aihost)
options:
  state:
    description:
      - V(compare) reads the host and the stamp and reports; it never writes.
      - V(record) reads the host and writes the stamp (atomically, mode C(0600)). Run it only after
        a full, successful, untagged run, as site.yml does.
    type: str
    choices: [compare, record]
    required: true
  inputs:
    description:
      - The run's inputs, a name and a digest each. Filled in by the action plugin when not given;
        site.yml's record task passes on those its compare task got, so variables set during the run do
        not count.
    type: dict
  stamp_path:
    description: Where the stamp lives. Its directory is left out of every component.
    type: path
    default: /var/lib/aihost/site/converge_state.json
  max_age_hours:
    description: A stamp older than this is a reason for a full run (greater than 0).
    type: float
    default: 24
  content_trees:
    description:
      - Trees read with the content of their files. Trees that do not exist are recorded as empty.
    type: list
    elements: path
    default: [/etc, /usr/local/sbin, /usr/local/lib/aihost, /var/lib/aihost, /var/lib/dpkg/status]
  metadata_trees:
    description:
      - Trees read by metadata only, after the data paths of every detected runtime and O(model_stores).
    type: list
    elements: path
    default: [/var/lib/rpm]
  model_stores:
    description:
      - Model stores configured outside the runtimes' data paths, read by metadata like them. The action
        plugin fills it from the paths of the host's C(aihost_model_integrity_stores) when not given.
    type: list
    elements: path
    default: []
  unit_patterns:
    description: C(systemctl list-units) patterns of the units whose state counts, after the runtimes' units.
    type: list
    elements: str
    default: ["aihost-*", nftables.service, firewalld.service, ufw.service, docker.service,
              unattended-upgrades.service, "apt-daily*.timer", "dnf-automatic*.timer"]
  catalog_extra:
    description: Extra or overriding runtime catalog entries, as for M(aihost.hardening.ai_runtime_facts).
    type: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  action:
    description: Part of the task runs on the controller.
    support: full
    details: The action plugin computes O(inputs) on the controller.
  check_mode:
    support: full
    details: O(state=compare) only reads. O(state=record) writes nothing in check mode.
  diff_mode:
    support: none
    details: The stamp is the playbook's bookkeeping, not host configuration.
  platform:
    platforms: linux
notes:
  - The stamp is bookkeeping, like a fact cache - O(state=record) reports C(changed=false) even when
    it writes, so a second run of site.yml still proves the roles change nothing.
  - Run it as root; unreadable entries count as such and differ when they become readable.
seealso:
  - module: aihost.hardening.ai_runtime_facts
"""

EXAMPLES = r"""
- name: Compare the host with its last converge
  aihost.hardening.converge_state:
    state: compare
  register: drift

- name: Show why the host needs a full run
  ansible.builtin.debug:
    var: drift.reasons
  when: not drift.unchanged

- name: Record the state after a full run (as the last task of site.yml)
  aihost.hardening.converge_state:
    state: record
    inputs: "{{ drift.inputs }}"
"""

RETURN = r"""
unchanged:
  description: The host and the inputs match the stamp (RV(reasons) is empty). Only for V(compare).
  returned: always
  type: bool
reasons:
  description:
    - What differs, one line each; a component's line names up to eight entries that differ.
  returned: always
  type: list
  elements: str
  sample: ["nft_ruleset: 1 differ: ruleset (changed)", "content:/etc: 1 differ: /etc/ssh/sshd_config (changed)",
           "inputs: 1 differ: aihost_firewall_admin_networks (changed)"]
inputs:
  description: The inputs compared or recorded.
  returned: always
  type: dict
recorded_at:
  description: When the stamp compared was recorded (UTC, ISO 8601), or null without one; for V(record), now.
  returned: always
  type: str
written:
  description: Whether V(record) wrote the stamp (false in check mode and for V(compare)).
  returned: always
  type: bool
components:
  description: Each component's name and digest as read now.
  returned: always
  type: dict
elapsed:
  description: Seconds the module spent reading the host.
  returned: always
  type: float
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.aihost.hardening.plugins.module_utils import converge_state
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_facts
from ansible_collections.aihost.hardening.plugins.module_utils.atomic_file import atomic_write

# ai_runtime_facts' defaults: the container API too (a container recreated on another port is state),
# no version commands (a runtime upgraded on disk changes what the other components read).
RUNTIME_OPTIONS = dict(include_udp=True, collect_versions=True, version_commands=False,
                       docker_socket="/var/run/docker.sock", podman_socket="/run/podman/podman.sock",
                       container_api_timeout=1.0, catalog_errors="fail")


def read_components(module, stamp_dir):
    params = module.params
    try:
        runtime = runtime_facts.collect(_Params(module, dict(RUNTIME_OPTIONS, catalog_extra=params["catalog_extra"])),
                                        "converge_state")
    except runtime_facts.RuntimeFactsError as exc:
        module.fail_json(msg=str(exc))
    components = converge_state.runtime_components(runtime)
    for tree in params["content_trees"]:
        components["content:" + tree] = converge_state.component(
            converge_state.walk_tree(tree, content=True, exclude=[stamp_dir]))
    metadata_trees = []
    for entry in runtime.get("runtimes") or []:
        metadata_trees.extend(entry.get("data_paths") or [])
    metadata_trees.extend(params["model_stores"] + params["metadata_trees"])
    for tree in sorted(set(os.path.normpath(path) for path in metadata_trees)):
        components["metadata:" + tree] = converge_state.component(
            converge_state.walk_tree(tree, content=False, exclude=[stamp_dir]))
    nft = module.get_bin_path("nft")
    if nft:
        # -s (stateless): without counters, which move with every dropped packet, not with the rules;
        # -t (terse): without set elements, which aihost-firewall-egress (and tools such as fail2ban)
        # change between runs.
        rc, out, err = module.run_command([nft, "-s", "-t", "list", "ruleset"], check_rc=False)
        components["nft_ruleset"] = converge_state.component({"ruleset": out if rc == 0 else "rc=%d %s" % (rc, err)})
    units = list(params["unit_patterns"])
    for entry in runtime.get("runtimes") or []:
        units.extend(unit.get("name") for unit in entry.get("units") or [] if unit.get("name"))
    systemctl = module.get_bin_path("systemctl")
    if systemctl:
        rc, out, err = module.run_command([systemctl, "list-units", "--all", "--plain", "--no-legend", "--no-pager",
                                           "--full"] + sorted(set(units)), check_rc=False)
        listed = converge_state.parse_list_units(out) if rc == 0 else {"systemctl": "rc=%d" % rc}
        components["units"] = converge_state.component(listed)
    components["devices"] = converge_state.component(converge_state.device_entries())
    return components


class _Params(object):
    """The module, seen by runtime_facts.collect with this module's runtime options."""

    def __init__(self, module, params):
        self._module = module
        self.params = params

    def __getattr__(self, name):
        return getattr(self._module, name)


def load_stamp(path):
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError, ValueError):
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["compare", "record"], required=True),
            inputs=dict(type="dict"),
            stamp_path=dict(type="path", default="/var/lib/aihost/site/converge_state.json"),
            max_age_hours=dict(type="float", default=24.0),
            content_trees=dict(type="list", elements="path",
                               default=["/etc", "/usr/local/sbin", "/usr/local/lib/aihost", "/var/lib/aihost",
                                        "/var/lib/dpkg/status"]),
            metadata_trees=dict(type="list", elements="path", default=["/var/lib/rpm"]),
            model_stores=dict(type="list", elements="path", default=[]),
            unit_patterns=dict(type="list", elements="str",
                               default=["aihost-*", "nftables.service", "firewalld.service", "ufw.service",
                                        "docker.service", "unattended-upgrades.service", "apt-daily*.timer",
                                        "dnf-automatic*.timer"]),
            catalog_extra=dict(type="raw"),
        ),
        supports_check_mode=True,
    )
    module.run_command_environ_update = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C")
    params = module.params
    inputs = params["inputs"]
    if not inputs or not all(isinstance(value, str) for value in inputs.values()):
        module.fail_json(msg="inputs must be a non-empty mapping of names to digests: call the module as "
                             "aihost.hardening.converge_state so its action plugin computes them, or give them")
    if params["max_age_hours"] <= 0:
        module.fail_json(msg="max_age_hours must be greater than 0, got %s" % params["max_age_hours"])
    stamp_path = params["stamp_path"]
    if not os.path.isabs(stamp_path):
        module.fail_json(msg="stamp_path must be absolute, got %s" % stamp_path)
    stamp_dir = os.path.dirname(stamp_path)
    started = time.time()
    components = read_components(module, stamp_dir)
    components["inputs"] = converge_state.inputs_component(inputs)
    elapsed = round(time.time() - started, 4)
    summary = dict((name, value["digest"]) for name, value in components.items())
    now = time.time()
    if params["state"] == "compare":
        stamp = load_stamp(stamp_path)
        reasons = converge_state.compare(stamp, components, now, params["max_age_hours"] * 3600.0)
        module.exit_json(changed=False, unchanged=not reasons, reasons=reasons, inputs=inputs,
                         recorded_at=(stamp or {}).get("recorded_at"), written=False, components=summary,
                         elapsed=elapsed)
    recorded_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    stamp = {"schema_version": converge_state.SCHEMA_VERSION, "recorded_at": recorded_at, "recorded_epoch": now,
             "components": components}
    written = False
    if not module.check_mode:
        try:
            if not os.path.isdir(stamp_dir):
                os.makedirs(stamp_dir, 0o700)
            atomic_write(stamp_path, to_bytes(json.dumps(stamp, sort_keys=True, separators=(",", ":"))), 0o600)
            written = True
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot write the stamp %s: %s" % (stamp_path, exc))
    # Bookkeeping, like a fact cache: never a change to report (see notes).
    module.exit_json(changed=False, unchanged=False, reasons=[], inputs=inputs,
                     recorded_at=recorded_at, written=written, components=summary, elapsed=elapsed)


if __name__ == "__main__":
    main()
