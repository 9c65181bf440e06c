#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan of the service_users role: which units to manage, as which user, with which data
directories and which sandbox directives. Read-only; every input problem is collected and
reported at once, before the role changes anything."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: service_users_plan
short_description: Validate the inputs of the service_users role and plan its changes (read-only)
description:
  - Used by the C(aihost.hardening.service_users) role; usable on its own to preview its plan.
  - Picks the managed runtimes (detected runtimes with a systemd unit), chooses each one's service
    user, resolves its data directories on the target (C(realpath)), checks every input against
    C(/etc/passwd), C(/etc/group) and C(/etc/login.defs), and builds the text of the sandbox
    drop-in of each unit. Each service user and group name is also looked up through NSS (on the live
    host, O(root=/)), so an LDAP, sssd or NIS account of that name counts as existing. It is
    refused or adopted by the same rules, never shadowed by a new local account.
  - Fails, listing every problem, when a service user name collides with a human or shared
    account, a declared data directory (O(data_dirs)) lies outside the allowed roots, is an allowed
    root itself, a system directory, a system tree such as C(/var/lib/dpkg), C(/var/lib/docker),
    C(/var/lib/aihost), C(/var/cache/apt) or C(/var/log), or another account's home, or an input names an
    unknown runtime.
  - Data directories a runtime reports about itself (argv, environment, working directory) are attacker
    input. They are taken only at the first adoption, and only when every one of them is acceptable;
    otherwise the runtime is left as it is (listed in RV(skipped), one warning). After that the
    directories pinned then (the state file's C(data_dirs) and the role's own drop-in's
    C(ReadWritePaths=)) are used; a newly reported directory is accepted only when the runtime's service
    user already owns it. Every directory that is not handed over is a warning and an entry of
    RV(refused). A pinned directory is never dropped unless O(data_dirs) declares the runtime's list.
  - Changes nothing.
version_added: "0.1.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  runtimes:
    description: C(ansible_facts.aihost_runtime.runtimes) from M(aihost.hardening.ai_runtime_facts).
    type: list
    elements: dict
    required: true
  listeners:
    description: C(ansible_facts.aihost_runtime.listeners), used to find each unit's ports.
    type: list
    elements: dict
    default: []
  gpu:
    description: C(ansible_facts.aihost_gpu) from M(aihost.hardening.gpu_facts).
    type: dict
    default: {}
  catalog_extra:
    description: Extra catalog entries, as given to M(aihost.hardening.ai_runtime_facts).
    type: raw
  select:
    description: Catalog names to manage; empty means every detected runtime with a unit.
    type: list
    elements: str
    default: []
  user_names:
    description: Runtime name to service user name.
    type: dict
    default: {}
  data_dirs:
    description: Runtime name to the list of its data directories (replaces the detected ones).
    type: dict
    default: {}
  health_ports:
    description: Runtime name to the list of TCP ports to check after a restart (replaces the detected ones).
    type: dict
    default: {}
  previous_state:
    description:
      - Content of the role's state file from an earlier run; the ports recorded there are probed when
        detection attributes none to a unit (sockets of other users' processes need CAP_SYS_PTRACE).
    type: dict
    default: {}
  nvidia_device_files:
    description: Whether the role writes the NVIDIA module options (only changes the warnings).
    type: bool
    default: true
  allowed_roots:
    description: Directories under which data directories may lie.
    type: list
    elements: path
    required: true
  protected_dirs:
    description: Directories that may never be a data directory themselves (their subdirectories may).
    type: list
    elements: path
    required: true
  forbidden_trees:
    description: Directories that no data directory and no allowed root may lie in (homes, /etc, /proc...).
    type: list
    elements: path
    required: true
  gpu_mode:
    description: V(auto) follows the GPU facts; V(always) and V(never) force the choice.
    type: str
    choices: [auto, always, never]
    default: auto
  gpu_groups:
    description: Groups the service users join on GPU hosts.
    type: list
    elements: str
    default: [video, render]
  gpu_device_patterns:
    description: Regular expressions of the device node paths a unit may open on GPU hosts.
    type: list
    elements: str
    default: []
  nvidia_group:
    description: Group that owns the NVIDIA device nodes after the change.
    type: str
    default: video
  nvidia_device_mode:
    description: Target mode of the NVIDIA device nodes.
    type: str
    default: "0660"
  profiles:
    description: Sandbox profile name to directive changes.
    type: dict
    default: {}
  overrides:
    description: Runtime name to directive changes.
    type: dict
    default: {}
  private_users:
    description: Add C(PrivateUsers=yes) on CPU-only hosts.
    type: bool
    default: false
  ip_address_allow:
    description: When not empty, C(IPAddressDeny=any) plus C(IPAddressAllow=) these.
    type: list
    elements: str
    default: []
  extra_address_families:
    description: Address families allowed in addition to AF_UNIX, AF_INET and AF_INET6.
    type: list
    elements: str
    default: []
  non_login_shells:
    description: Shells that mean "no login".
    type: list
    elements: path
    default: [/usr/sbin/nologin, /sbin/nologin, /usr/bin/nologin, /bin/false, /usr/bin/false, /bin/sync, /sbin/halt, /sbin/shutdown, ""]
  root:
    description: Prefix of the files read (for tests); C(/) on real hosts.
    type: path
    default: /
attributes:
  check_mode:
    support: full
    description: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: [linux]
    description: Reads C(/etc/passwd), C(/etc/group), C(/etc/login.defs), asks NSS for the service user and group names, and resolves paths on the target.
"""

EXAMPLES = r"""
- name: Plan the service users
  aihost.hardening.service_users_plan:
    runtimes: "{{ ansible_facts.aihost_runtime.runtimes }}"
    listeners: "{{ ansible_facts.aihost_runtime.listeners }}"
    gpu: "{{ ansible_facts.aihost_gpu }}"
    allowed_roots: [/var/lib, /srv, /opt, /data, /models]
    protected_dirs: [/, /usr, /var, /var/lib, /opt, /srv]
    forbidden_trees: [/home, /root, /etc, /proc, /sys, /dev, /boot, /run, /tmp]
  register: plan
"""

RETURN = r"""
services:
  description: One entry per managed runtime instance, in runtime name order.
  returned: success
  type: list
  elements: dict
  contains:
    runtime: {description: Catalog name., type: str, sample: ollama}
    display_name: {description: Human name., type: str, sample: Ollama}
    units: {description: systemd units that get the drop-in., type: list, elements: str, sample: [ollama.service]}
    user: {description: Service user., type: str, sample: ollama}
    group: {description: Primary group of the service user., type: str, sample: ollama}
    user_action: {description: V(create) a new system user or V(adopt) the existing one., type: str, sample: create}
    group_exists: {description: Whether the group already exists., type: bool}
    home: {description: "Home of a created user: its first data directory, or /nonexistent.", type: str}
    previous_run_as: {description: Users it ran as before., type: list, elements: str, sample: [root]}
    moves: {description: Whether it moves away from root or a human user., type: bool}
    data_dirs: {description: Resolved data directories (ReadWritePaths); the pinned set., type: list, elements: str}
    missing_data_dirs: {description: Declared or pinned data directories that do not exist (created)., type: list, elements: str}
    refused_data_dirs: {description: "The entries of RV(refused) for this runtime.", type: list, elements: dict}
    left_behind: {description: "Detected paths in the home of the previous (root or human) user; not migrated.", type: list, elements: str}
    remembered: {description: Whether the unit comes from the state of an earlier run because detection no longer sees it., type: bool}
    profile: {description: Sandbox profile from the catalog., type: str, sample: jit}
    directives: {description: "Ordered [directive, value] pairs of the drop-in.", type: list, elements: list}
    dropin: {description: Text of the drop-in file., type: str}
    health: {description: "Addresses to probe after a restart, each {host, port}.", type: list, elements: dict}
skipped:
  description: Detected runtimes that are not managed, each with C(runtime) and C(reason).
  returned: success
  type: list
  elements: dict
gpu:
  description: GPU decision and the NVIDIA device-node state.
  returned: success
  type: dict
  contains:
    host_has_gpu: {description: Whether GPU handling applies., type: bool}
    device_allow: {description: Device nodes every unit may open., type: list, elements: str}
    nvidia: {description: Whether the NVIDIA part applies (GPU or device nodes)., type: bool}
    nvidia_group_gid: {description: "Gid of the NVIDIA group; null when it does not exist yet.", type: int}
    pending_nodes: {description: NVIDIA nodes whose live mode or group differ from the target., type: list, elements: dict}
    users_losing_access: {description: Human users outside the NVIDIA group who can open the nodes today., type: list, elements: str}
    groups_missing: {description: GPU groups that do not exist yet (created)., type: list, elements: str}
refused:
  description:
    - Data directories not handed over, each C(runtime), C(units), C(path), C(kind) (V(allowed_root),
      V(outside), V(system), V(program), V(not_pinned) or V(overlap)), C(reason), C(variable) (the variable
      that resolves it) and C(adopted) (false when the runtime was left as it is because of it).
  returned: success
  type: list
  elements: dict
retained_units:
  description: Units of an earlier run's state that this run does not manage but that still exist; their records are kept.
  returned: success
  type: list
  elements: str
login_defs:
  description: UID_MIN, UID_MAX, GID_MIN, SYS_UID_MIN, SYS_GID_MIN used for the checks.
  returned: success
  type: dict
notes:
  description: Things the role reports but does not stop for (also sent as module warnings).
  returned: success
  type: list
  elements: str
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import CatalogError, load_catalog
from ansible_collections.aihost.hardening.plugins.module_utils.service_users import Planner, plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runtimes=dict(type="list", elements="dict", required=True),
            listeners=dict(type="list", elements="dict", default=[]),
            gpu=dict(type="dict", default={}),
            catalog_extra=dict(type="raw"),
            select=dict(type="list", elements="str", default=[]),
            user_names=dict(type="dict", default={}),
            data_dirs=dict(type="dict", default={}),
            health_ports=dict(type="dict", default={}),
            previous_state=dict(type="dict", default={}),
            nvidia_device_files=dict(type="bool", default=True),
            allowed_roots=dict(type="list", elements="path", required=True),
            protected_dirs=dict(type="list", elements="path", required=True),
            forbidden_trees=dict(type="list", elements="path", required=True),
            gpu_mode=dict(type="str", default="auto", choices=["auto", "always", "never"]),
            gpu_groups=dict(type="list", elements="str", default=["video", "render"]),
            gpu_device_patterns=dict(type="list", elements="str", default=[]),
            nvidia_group=dict(type="str", default="video"),
            nvidia_device_mode=dict(type="str", default="0660"),
            profiles=dict(type="dict", default={}),
            overrides=dict(type="dict", default={}),
            private_users=dict(type="bool", default=False),
            ip_address_allow=dict(type="list", elements="str", default=[]),
            extra_address_families=dict(type="list", elements="str", default=[]),
            non_login_shells=dict(type="list", elements="path",
                                  default=["/usr/sbin/nologin", "/sbin/nologin", "/usr/bin/nologin", "/bin/false",
                                           "/usr/bin/false", "/bin/sync", "/sbin/halt", "/sbin/shutdown", ""]),
            root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    try:
        catalog, catalog_warnings = load_catalog(module.params["catalog_extra"], strict=True)
    except CatalogError as exc:
        module.fail_json(msg="aihost_service_users_catalog_extra: %s" % exc)
    if not re.match(r"^0?[0-7]{3}$", module.params["nvidia_device_mode"]):
        module.fail_json(msg="aihost_service_users_nvidia_device_mode: %r is not an octal mode such as 0660"
                         % module.params["nvidia_device_mode"])
    module.params["nvidia_device_mode"] = module.params["nvidia_device_mode"].rjust(4, "0")
    result = plan(module.params, Planner(module.params["root"]), catalog)
    warnings = catalog_warnings + result["warnings"]
    if result["errors"]:
        module.fail_json(msg="service_users: %d problem(s), nothing was changed:\n- %s"
                         % (len(result["errors"]), "\n- ".join(result["errors"])),
                         errors=result["errors"], notes=warnings)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, services=result["services"], skipped=result["skipped"], gpu=result["gpu"],
                     login_defs=result["login_defs"], notes=warnings, refused=result["refused"],
                     retained_units=result["retained_units"])


if __name__ == "__main__":
    main()
