#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_audit_facts
short_description: Everything the aihost audit reads from one host, in one module run
version_added: "0.2.0"
description:
  - Reads, in one run on the target, all that the C(aihost.hardening.audit) role needs from a host,
    so a fleet audit costs one remote round trip per host.
  - The AI runtime and listener facts (C(ansible_facts.aihost_runtime)), from the same code as
    M(aihost.hardening.ai_runtime_facts), with the same options.
  - The GPU facts (C(ansible_facts.aihost_gpu)), from the same code as M(aihost.hardening.gpu_facts),
    with the same options.
  - The host-configuration checks (RV(host_checks)) - whether a firewall filters input (the nftables
    ruleset, firewalld, ufw), which runtime users an nftables output chain restricts (C(nft -j list
    ruleset)), whether automatic security updates are configured (unattended-upgrades
    with C(APT::Periodic), dnf-automatic timers), the modes and owners of the runtimes' data paths, and
    the installed versions of O(packages), whether the sandboxes the service_users role wrote are still in
    place, and the model_integrity role's latest scan or verify results (files that can run code when
    loaded, stores that no longer match their manifests).
  - The report header (RV(host)) - host name, FQDN, OS name and version (from C(/etc/os-release), and
    C(/etc/debian_version) for the Debian point release), kernel and architecture (C(uname)), with the
    names M(ansible.builtin.setup) uses for the common distributions.
  - Read-only. Commands it may run, each as an argument list under the C locale and only when the tool
    exists - C(nft list ruleset), C(nft -j list ruleset), C(systemctl is-active firewalld) and
    C(systemctl is-enabled) for dnf-automatic timers (only when their unit files exist), C(ufw status), C(apt-config dump),
    C(dpkg-query -W) or C(rpm -q) for O(packages), plus what the two facts modules run (see their
    O(version_commands), O(nvidia_smi) and O(nvidia_ctk) options).
author:
  - aihost.hardening maintainers (@aihost)
options:
  packages:
    description:
      - OS packages whose installed versions go into RV(host_checks.packages). Packages that are not
        installed are left out. With an empty list no package is recorded.
    type: list
    elements: str
    default: []
  data_paths:
    description:
      - Paths whose mode, owner and group go into RV(host_checks.data_path_modes), after the data
        paths of every runtime found (duplicates once). Paths that do not exist are left out.
    type: list
    elements: path
    default: []
  service_users_state_file:
    description:
      - The state file of the C(service_users) role (its C(aihost_service_users_state_file)). Each unit it
        records is checked against its drop-in as it is now, in RV(host_checks.service_users).
    type: path
    default: /var/lib/aihost/service_users.json
  model_integrity_state_dir:
    description:
      - Where the M(aihost.hardening.model_scan) results of the C(model_integrity) role live
        (C(findings.json) from each role run, C(last-verify.json) from each run of its verify timer).
        What they say together goes into RV(host_checks.model_integrity).
    type: path
    default: /var/lib/aihost/model_integrity
  catalog_extra:
    description:
      - Extra or overriding runtime catalog entries, as for M(aihost.hardening.ai_runtime_facts).
    type: raw
  catalog_errors:
    description:
      - What to do with an invalid O(catalog_extra) entry - V(fail) stops the module with every problem,
        V(warn) skips the entry with a warning.
    type: str
    choices: [fail, warn]
    default: fail
  include_udp:
    description: Also list bound, unconnected UDP sockets.
    type: bool
    default: true
  collect_versions:
    description: Read runtime versions from local metadata (pip, dpkg, version files, image tags).
    type: bool
    default: true
  version_commands:
    description:
      - When no version was found in local metadata, run the runtime's own version command under
        C(timeout 5). Off by default, because it starts processes.
      - Only a file that no other user can change is run. The file, every directory above it and
        every symbolic link on the way must be owned by root and writable by root only, and the
        path must still be the file the process runs. Otherwise nothing runs and a warning says
        why (C(plugins/module_utils/fs_trust.py)).
    type: bool
    default: false
  docker_socket:
    description: Docker Engine API socket; a missing socket means no Docker containers.
    type: path
    default: /var/run/docker.sock
  podman_socket:
    description: Podman's Docker-compatible API socket, used the same way.
    type: path
    default: /run/podman/podman.sock
  container_api_timeout:
    description: Seconds to wait for each container API request.
    type: float
    default: 1.0
  nvidia_smi:
    description:
      - How to ask C(nvidia-smi) for GPU names and UUIDs, as for M(aihost.hardening.gpu_facts) - it runs
        only when the NVIDIA kernel module is loaded and C(/dev/nvidiactl) exists; V(never) never runs it.
    type: str
    choices: [query, xml, never]
    default: query
  nvidia_smi_timeout:
    description: Seconds C(nvidia-smi) may run (at least 1).
    type: int
    default: 20
  nvidia_ctk:
    description: Ask C(nvidia-ctk --version) for the NVIDIA Container Toolkit version when it is installed.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode returns the same facts.
  diff_mode:
    support: none
    details: Nothing changes, so there is nothing to diff.
  facts:
    support: full
  platform:
    platforms: linux
    details: Needs C(/proc) and C(/sys); sockets are those of the network namespace the module runs in.
notes:
  - Run it as root (C(become)) so that sockets of other users' processes get their owners.
  - The standalone M(aihost.hardening.ai_runtime_facts) and M(aihost.hardening.gpu_facts) return the
    same fact trees; use them when a role needs only one of them.
seealso:
  - module: aihost.hardening.ai_runtime_facts
  - module: aihost.hardening.gpu_facts
"""

EXAMPLES = r"""
- name: Read everything the audit needs from the host, in one module run
  aihost.hardening.host_audit_facts:
    packages: [openssh-server, nftables, unattended-upgrades]
    version_commands: true
  become: true
  register: audit_facts

- name: Say whether a firewall filters input
  ansible.builtin.debug:
    msg: >-
      {{ audit_facts.host.hostname }} ({{ audit_facts.host.os }}):
      {{ audit_facts.host_checks.firewall.evidence }}; runtimes:
      {{ ansible_facts.aihost_runtime.runtimes | map(attribute='name') | join(', ') or 'none' }}
"""

RETURN = r"""
ansible_facts:
  description: The two fact trees of the aihost facts contract.
  returned: success
  type: complex
  contains:
    aihost_runtime:
      description:
        - AI runtimes and every listening socket with its owner, exactly as
          M(aihost.hardening.ai_runtime_facts) returns them (see its RETURN block for every field).
      returned: always
      type: dict
    aihost_gpu:
      description:
        - GPUs, drivers, device nodes and the container toolkit, exactly as
          M(aihost.hardening.gpu_facts) returns them (see its RETURN block for every field).
      returned: always
      type: dict
host:
  description: The report header - who the host says it is.
  returned: success
  type: complex
  contains:
    hostname:
      description: Short host name (the node name up to the first dot, like C(ansible_facts.hostname)).
      type: str
      sample: gpu-node-01
    fqdn:
      description: Fully qualified name as the host resolves it.
      type: str
      sample: gpu-node-01.example.org
    os:
      description:
        - Distribution and version, or null - the distribution name M(ansible.builtin.setup) uses for the
          common distributions (else os-release C(NAME)) and os-release C(VERSION_ID); on Debian the
          point release from C(/etc/debian_version).
      type: str
      sample: Debian 12.12
    kernel:
      description: Kernel release.
      type: str
      sample: 6.1.0-40-amd64
    architecture:
      description: Machine architecture (uname; C(i386) for every C(i?86)).
      type: str
      sample: x86_64
host_checks:
  description: Host-configuration checks; the audit report keeps all but C(packages) under C(host_checks).
  returned: success
  type: complex
  contains:
    firewall:
      description: Whether anything filters input.
      type: complex
      contains:
        active:
          description: An nftables input chain drops or rejects, or firewalld or ufw is active.
          type: bool
        evidence:
          description: What decided it, in words.
          type: str
        nftables_tables: {description: The C(table ...) lines of the ruleset., type: list, elements: str, sample: ["table inet filter"]}
        firewalld_active: {description: C(systemctl is-active firewalld) said active., type: bool}
        ufw_active: {description: C(ufw status) said active., type: bool}
        egress:
          description:
            - Per-runtime egress control (AIH-CFG-009), read from C(nft -j list ruleset) - which uids a rule of an
              output-hook chain (C(meta skuid), one uid or a set) sends to a chain whose last rule drops, and the
              counters of that rule. The aihost.hardening.firewall role writes such chains in C(table inet aihost).
            - Null only in host checks given as sectioned text without an C(@@nft_ruleset_json) section.
          type: complex
          contains:
            read: {description: The ruleset was read as JSON (false when nft is missing or gave no JSON)., type: bool}
            output_chains: {description: "Base chains on the output hook, as C(family table chain).", type: list, elements: str, sample: ["inet aihost output"]}
            uids:
              description:
                - One entry per uid a rule names (ranges of up to 4096 uids expanded). Rules are walked in order; a
                  drop in any output chain is final, so the strictest chain wins.
              type: list
              elements: dict
              contains:
                uid: {description: The uid., type: int, sample: 998}
                family: {description: "The table's family (V(inet) filters both IPv4 and IPv6).", type: str, sample: inet}
                table: {description: The table., type: str, sample: aihost}
                chain: {description: The chain whose last rule decides (the jump or goto target)., type: str, sample: egress-llama_cpp}
                mode:
                  description:
                    - V(enforce) (the last rule drops or rejects), V(log) (it only counts or logs - the firewall role's
                      log mode) or V(none) (it does neither, or the uid is accepted).
                  type: str
                  sample: enforce
                packets:
                  description: Packets counted by that last rule (refused, or in log mode logged, attempts); null without a counter.
                  type: int
                  sample: 3
                bytes: {description: Bytes counted by that last rule., type: int, sample: 180}
            runtimes:
              description:
                - One entry per AI runtime instance of C(ansible_facts.aihost_runtime.runtimes), in the same order - the
                  uids its processes run as and what the ruleset does with them.
              type: list
              elements: dict
              contains:
                instance:
                  description: The instance as findings name it (service, container or executable, never a PID).
                  type: str
                  sample: llama_cpp (llama-server.service)
                runtime: {description: The catalog name., type: str, sample: llama_cpp}
                container: {description: Its container (name or short id) or null., type: str}
                uids:
                  description: "Per process uid - C(uid), C(user), C(mode), C(chain), C(table) (C(family name)) and C(packets)."
                  type: list
                  elements: dict
                  sample: [{"uid": 998, "user": "_llama-server", "mode": "enforce", "chain": "egress-llama_cpp", "table": "inet aihost", "packets": 3}]
                mode:
                  description: The weakest of its uids' modes (V(enforce), V(log), V(none)); null for root, a container or no process.
                  type: str
                  sample: enforce
                chain: {description: The chain of that uid., type: str, sample: egress-llama_cpp}
                dropped: {description: Packets refused by the last rule of its chains (enforce mode); null when none counts., type: int, sample: 3}
                logged: {description: Packets counted and let through by the last rule of its chains (log mode)., type: int}
                enforced: {description: Every uid it runs as goes to a chain that drops - in both address families., type: bool}
                reason:
                  description:
                    - Why it is not enforced - V(container), V(root), V(no_ruleset), V(no_rule), V(log), V(no_drop),
                      V(one_family), V(uid_unknown); V(not_running) (no process, nothing checked, no finding); null when enforced.
                  type: str
    automatic_updates:
      description: Whether automatic security updates are configured.
      type: complex
      contains:
        configured:
          description: unattended-upgrades installed and enabled, or a dnf-automatic timer enabled.
          type: bool
        evidence:
          description: What decided it, in words.
          type: str
        apt_periodic:
          description: The C(APT::Periodic) settings, name to value.
          type: dict
          sample: {"Unattended-Upgrade": "1"}
        dnf_timers: {description: Enabled dnf-automatic timers., type: list, elements: str}
    data_path_modes:
      description: Mode, owner and group of each existing data path (the path itself, not a link's target).
      type: list
      elements: dict
      contains:
        path: {description: The path., type: str, sample: /var/lib/ollama}
        mode: {description: Octal mode with four digits., type: str, sample: "0755"}
        owner: {description: Owner name (C(UNKNOWN) for a uid without a name)., type: str}
        group: {description: Group name (C(UNKNOWN) for a gid without a name)., type: str}
    packages:
      description: Installed versions of O(packages).
      type: list
      elements: dict
      contains:
        manager: {description: V(dpkg) or V(rpm)., type: str}
        name: {description: Package name., type: str, sample: nftables}
        version: {description: Installed version., type: str, sample: "1.0.6-2+deb12u2"}
    service_users:
      description:
        - The units the service_users role sandboxed, each checked against its drop-in now, and the data
          directories it refused. Null when the role never ran on the host.
      type: complex
      contains:
        errors: {description: Why the state file could not be used., type: list, elements: str}
        units:
          description: One entry per managed unit.
          type: list
          elements: dict
          contains:
            unit: {description: The unit., type: str, sample: ollama.service}
            runtime: {description: The runtime's catalog name., type: str}
            user: {description: The service user the role set., type: str}
            dropin: {description: The role's drop-in., type: str}
            unit_present: {description: The unit file still exists., type: bool}
            dropin_present: {description: The drop-in still exists., type: bool}
            missing_directives: {description: The role's directives (C(Key=Value)) no longer in the drop-in., type: list, elements: str}
            score_after: {description: The C(systemd-analyze security) score the role measured., type: float}
            meets_target: {description: Whether that score met the role's target., type: bool}
        refused:
          description:
            - Data directories the role did not hand over, and runtimes it left as they are (C(adopted) false),
              as recorded in its state file (AIH-CFG-008). Strings are capped in length.
          type: list
          elements: dict
          contains:
            runtime: {description: The runtime's catalog name., type: str, sample: ollama}
            units: {description: Its units., type: list, elements: str}
            path: {description: The directory the runtime reported (or that was pinned)., type: str, sample: /var/lib/dpkg}
            kind: {description: "V(allowed_root), V(outside), V(system), V(program), V(not_pinned), V(overlap) or V(unknown).", type: str}
            reason: {description: Why it was refused., type: str}
            variable: {description: The variable that resolves it., type: str, sample: aihost_service_users_data_dirs.ollama}
            adopted: {description: False when the runtime was left as it is because of it., type: bool}
    model_integrity:
      description:
        - The model_integrity role's latest results. Files that can run code come from C(findings.json) (every
          file that was not clean when a role run pinned the stores) updated by C(last-verify.json) (the verify
          timer - files removed or changed since the pin, the verdicts of files added or changed). A verify older
          than the last role run is left out, as that run pinned the stores again. Null when neither file exists.
      type: complex
      contains:
        pinned_at: {description: When the role last pinned the stores (C(findings.json) written; UTC ISO 8601)., type: str}
        verified_at: {description: "When the verify timer last ran, if after the last pin (UTC ISO 8601).", type: str, sample: "2026-12-06T03:30:12Z"}
        errors: {description: Files that exist but could not be read or parsed., type: list, elements: str}
        stores:
          description: One entry per model store.
          type: list
          elements: dict
          contains:
            path: {description: The store., type: str, sample: /srv/models}
            files:
              description: Files whose verdict is not clean (at most 50, most severe first) - C(path) (relative
                to the store), C(verdict), C(format), C(severity), C(sha256) and C(detail) (the first finding).
              type: list
              elements: dict
            files_not_listed: {description: Further files that are not clean., type: int}
            ok: {description: From a verify only - the store matched its manifest and signature., type: bool}
            error: {description: From a verify only - why the store could not be verified., type: str}
            drift: {description: "From a verify only - how many files were added, removed, changed and links changed.", type: dict}
            signature_valid: {description: From a verify only - the manifest's HMAC (null when not checked)., type: bool}
            signature_detail: {description: From a verify only - what the signature check found., type: str}
elapsed:
  description: Seconds the module spent reading the host.
  returned: success
  type: float
  sample: 0.21
"""

import copy
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils import audit_policy
from ansible_collections.aihost.hardening.plugins.module_utils import gpu
from ansible_collections.aihost.hardening.plugins.module_utils import host_config
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_facts

# The filesystem root the module reads; unit tests point it at a fixture tree.
HOST_ROOT = "/"


def argument_spec():
    spec = copy.deepcopy(runtime_facts.ARGUMENT_SPEC)
    spec.update(copy.deepcopy(gpu.ARGUMENT_SPEC))
    spec.update(
        packages=dict(type="list", elements="str", default=[]),
        data_paths=dict(type="list", elements="path", default=[]),
        service_users_state_file=dict(type="path", default="/var/lib/aihost/service_users.json"),
        model_integrity_state_dir=dict(type="path", default="/var/lib/aihost/model_integrity"),
    )
    return spec


def data_paths_of(runtime, extra=()):
    """Every runtime's data paths, then ``extra``, each once, in order."""
    paths = []
    for entry in runtime.get("runtimes") or []:
        for path in entry.get("data_paths") or []:
            if path not in paths:
                paths.append(path)
    for path in extra or ():
        if path not in paths:
            paths.append(path)
    return paths


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.run_command_environ_update = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C")
    errors = gpu.option_errors(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    started = time.time()
    try:
        runtime = runtime_facts.collect(module, "host_audit_facts", root=HOST_ROOT)
    except runtime_facts.RuntimeFactsError as exc:
        module.fail_json(msg=str(exc))
    gpu_facts = gpu.collect_for_module(module, gpu.HostTree(HOST_ROOT))
    checks = host_config.collect(module, data_paths_of(runtime, module.params["data_paths"]),
                                 module.params["packages"], root=HOST_ROOT)
    # Per runtime instance, so the reports show each one's dropped or logged attempts (AIH-CFG-009).
    egress = checks["firewall"].get("egress")
    if egress is not None:
        egress["runtimes"] = audit_policy.runtime_egress(runtime["runtimes"], egress)
    checks["service_users"] = host_config.read_service_users(module.params["service_users_state_file"], HOST_ROOT)
    checks["model_integrity"] = host_config.read_model_integrity(module.params["model_integrity_state_dir"], HOST_ROOT)
    for warning in runtime["warnings"] + gpu_facts["warnings"]:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts={"aihost_runtime": runtime, "aihost_gpu": gpu_facts},
                     host=host_config.read_header(HOST_ROOT), host_checks=checks, elapsed=round(time.time() - started, 4))


if __name__ == "__main__":
    main()
