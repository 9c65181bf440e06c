#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ai_runtime_facts
short_description: Find local-AI runtimes and every listening socket on a Linux host
version_added: "0.1.0"
description:
  - Reads every listening TCP socket and bound UDP socket from C(/proc/net/{tcp,tcp6,udp,udp6}) and
    attributes each to its process, user, systemd unit and container.
  - Finds local-AI runtimes (Ollama, vLLM, llama.cpp server, LocalAI, text-generation-webui, ComfyUI,
    Open WebUI, LM Studio, Jan, KoboldCpp, TGI, SGLang, Triton, TorchServe, Ray, Jupyter,
    AUTOMATIC1111, InvokeAI, Gradio, MLflow, Qdrant, Chroma, Milvus, Weaviate) from one data catalog,
    using process command lines, systemd units and drop-ins, listening sockets, containers (Docker
    or Podman API over their UNIX socket), installed packages and binaries.
  - For each runtime reports its version where it can be read locally, its exact listen addresses
    with a scope, whether its authentication is on where flags or environment reveal it, risky
    flags, data paths and the bind knob (env var, flag or config key) that moves it to loopback.
  - Reads C(/proc), unit files, C(/var/lib/dpkg/status) and site-packages directories only; it runs
    no command unless O(version_commands=true) and changes nothing.
  - Run it as root (C(become)) to attribute sockets of other users' processes; without root those
    sockets are still listed, with empty owner fields and a warning.
  - Secrets are redacted where they are read. In every command line, C(ExecStart) argv, flag or
    variable value and auth evidence it returns, the value of a flag or variable whose name means a
    secret (C(--api-key), C(HF_TOKEN), C(*_PASSWORD), ...) and the password of a C(scheme://user:password@)
    URL become V(<redacted>); the name stays. Empty values stay empty (C(--ServerApp.token=) still
    shows that Jupyter has no auth). Auth, data paths and risky flags are worked out from the raw
    values first. The rules are in C(plugins/module_utils/redact.py).
author:
  - aihost.hardening maintainers (@aihost)
options:
  catalog_extra:
    description:
      - Extra or overriding catalog entries, either a dictionary keyed by runtime name or a list of
        entries that carry a C(name) key.
      - A new name needs at least C(display_name) and C(match); an existing name overrides the fields
        given (C(bind_knob) and C(auth) are merged key by key).
      - The fields are described in C(plugins/module_utils/runtime_catalog.py); unknown fields and
        malformed values are rejected (see O(catalog_errors)).
    type: raw
  catalog_errors:
    description:
      - What to do with an invalid O(catalog_extra) entry.
      - V(fail) stops with a message that lists every problem; V(warn) skips the bad entries and
        reports each problem as a warning.
    type: str
    choices: [fail, warn]
    default: fail
  include_udp:
    description:
      - Also list bound, unconnected UDP sockets.
    type: bool
    default: true
  collect_versions:
    description:
      - Read runtime versions from local metadata (pip C(*.dist-info) next to the process's
        interpreter, C(/var/lib/dpkg/status), version files, container image tags).
    type: bool
    default: true
  version_commands:
    description:
      - When no version was found in local metadata, run the runtime's own version command (for
        example C(ollama --version)) under C(timeout 5). Off by default, because it starts
        processes. Never used for processes inside containers.
      - Only a file that no other user can change is run. The file, every directory above it and
        every symbolic link on the way must be owned by root and writable by root only, and the
        path must still be the file the process runs. Otherwise nothing runs and a warning says
        why (C(plugins/module_utils/fs_trust.py)).
    type: bool
    default: false
  docker_socket:
    description:
      - Docker Engine API socket. Containers are listed when it exists; a missing socket means no
        Docker containers, not an error.
    type: path
    default: /var/run/docker.sock
  podman_socket:
    description:
      - Podman's Docker-compatible API socket, used the same way when it exists.
    type: path
    default: /run/podman/podman.sock
  container_api_timeout:
    description:
      - Seconds to wait for each container API request.
    type: float
    default: 1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode returns the same facts.
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: linux
    details: Needs C(/proc); sockets are those of the network namespace the module runs in.
notes:
  - Sockets of processes inside containers with their own network namespace are not in the host's
    C(/proc/net) tables; their published ports are reported from the container API instead.
  - The catalog is data in C(plugins/module_utils/runtime_catalog.py); adding a runtime means adding
    an entry there or through O(catalog_extra).
seealso:
  - module: community.general.listen_ports_facts
"""

EXAMPLES = r"""
- name: Gather local-AI runtime facts
  aihost.hardening.ai_runtime_facts:
  become: true

- name: Show the runtimes exposed on every interface
  ansible.builtin.debug:
    msg: "{{ ansible_facts.aihost_runtime.runtimes | selectattr('exposure', 'equalto', 'all') | map(attribute='name') | list }}"

- name: Add an in-house model server to the catalog
  aihost.hardening.ai_runtime_facts:
    catalog_extra:
      acme_llm:
        display_name: ACME LLM gateway
        category: llm_server
        match:
          processes:
            - argv: [acme-llm]
          units: [acme-llm.service]
        default_ports: [9400]
        bind_knob:
          kind: flag
          name: --bind
          loopback_value: "127.0.0.1:{port}"
  become: true

- name: Skip malformed user entries with a warning instead of failing
  aihost.hardening.ai_runtime_facts:
    catalog_extra: "{{ site_ai_catalog | default({}) }}"
    catalog_errors: warn
    include_udp: false
"""

RETURN = r"""
elapsed:
  description: Seconds the detection took on the target.
  returned: always
  type: float
  sample: 0.042
ansible_facts:
  description: Facts set by the module.
  returned: always
  type: complex
  contains:
    aihost_runtime:
      description: Listening sockets and local-AI runtimes of the host.
      returned: always
      type: complex
      contains:
        schema_version:
          description: Version of this structure; changes only when a field changes meaning or goes away.
          type: int
          returned: always
          sample: 1
        listeners:
          description:
            - Every listening TCP socket and (with O(include_udp)) every bound, unconnected UDP socket
              of the module's network namespace, sorted by protocol, port, family and address.
          type: list
          elements: dict
          returned: always
          contains:
            protocol:
              description: V(tcp) or V(udp).
              type: str
              sample: tcp
            family:
              description: V(ipv4) or V(ipv6).
              type: str
              sample: ipv4
            address:
              description: Local address; IPv6 in compressed form, IPv4-mapped as C(::ffff:a.b.c.d).
              type: str
              sample: 0.0.0.0
            port:
              description: Local port.
              type: int
              sample: 11434
            scope:
              description:
                - V(loopback) (127.0.0.0/8, ::1, ::ffff:127.x), V(all) (0.0.0.0 or ::) or V(specific)
                  (any other address).
              type: str
              sample: all
            inode:
              description: Socket inode from C(/proc/net).
              type: int
              sample: 123456
            pid:
              description: Owning process (the one whose parent does not share the socket), or null if unknown.
              type: int
              sample: 4242
            pids:
              description: Every process holding the socket open (pre-fork servers share it).
              type: list
              elements: int
              sample: [4242, 4250]
            process:
              description: C(/proc/<pid>/comm) of the owner, or null.
              type: str
              sample: ollama
            cmdline:
              description: Command line of the owner (secret values V(<redacted>)), or null.
              type: list
              elements: str
              sample: [/usr/local/bin/ollama, serve]
            user:
              description: User name of the owner (or of the socket when no owner is visible).
              type: str
              sample: ollama
            uid:
              description: Effective uid of the owner (or the socket's uid from C(/proc/net)).
              type: int
              sample: 998
            unit:
              description: Innermost systemd C(.service) unit of the owner from its cgroup, or null.
              type: str
              sample: ollama.service
            container:
              description:
                - Container of the owner (from its cgroup), or the container whose published port a
                  C(docker-proxy) listener forwards to; null for host processes. C(name) and C(image)
                  are null when no container API answered.
              type: dict
              sample: {"id": "4f1c...", "name": "ollama", "image": "ollama/ollama:0.12.3"}
            runtime:
              description: Catalog name of the runtime this socket belongs to, or null.
              type: str
              sample: ollama
            attributed_by:
              description:
                - How the socket was tied to its runtime; V(process) (an owner pid is one of the
                  runtime's processes or their descendants), V(published_port) (a container engine's
                  proxy forwards it to a catalog container), V(uid) (the owner is not visible, for
                  example to root without CAP_SYS_PTRACE in a container, and the socket's uid runs
                  exactly one runtime instance), or null when C(runtime) is null.
              type: str
              sample: process
        runtimes:
          description:
            - Every local-AI runtime found, one entry per instance (per container, per systemd unit,
              or per process tree); also runtimes that are only installed (package or binary) or
              only configured (unit), with exposure V(none). Sorted by name.
          type: list
          elements: dict
          returned: always
          contains:
            name:
              description: Catalog key (lower_snake_case).
              type: str
              sample: ollama
            display_name:
              description: Human name from the catalog.
              type: str
              sample: Ollama
            category:
              description: Catalog category (llm_server, llm_ui, image_ui, inference_server, distributed, notebook, ml_platform, app_framework, vector_db).
              type: str
              sample: llm_server
            detected_by:
              description: Evidence kinds, in this order when present; process, unit, socket, container, package, binary.
              type: list
              elements: str
              sample: [process, unit, socket, binary]
            processes:
              description:
                - Processes of the instance (matched ones and their descendants), at most 64.
                - C(cmdline) has secret values V(<redacted>) (see the description).
              type: list
              elements: dict
              sample: [{"pid": 4242, "ppid": 1, "process": "ollama", "cmdline": ["/usr/local/bin/ollama", "serve"],
                        "user": "ollama", "uid": 998, "unit": "ollama.service", "exe": "/usr/local/bin/ollama"}]
            units:
              description:
                - systemd units of the instance with C(name), C(fragment_path), C(dropins) (paths, in
                  the order systemd applies them), C(user) (C(User=), null means root), C(exec_start)
                  (argv, secret values V(<redacted>)), C(working_directory) (C(WorkingDirectory=), null when unset),
                  C(working_directory_unsandboxed) (the same without the service_users role's own
                  C(aihost-sandbox.conf) drop-in) and C(masked).
              type: list
              elements: dict
              sample: [{"name": "ollama.service", "fragment_path": "/etc/systemd/system/ollama.service",
                        "dropins": ["/etc/systemd/system/ollama.service.d/override.conf"], "user": "ollama",
                        "exec_start": ["/usr/local/bin/ollama", "serve"], "working_directory": null,
                        "working_directory_unsandboxed": null, "masked": false}]
            containers:
              description:
                - Container of the instance with C(id), C(name), C(image), C(engine) (docker or podman)
                  and C(published), the published ports that lead to this runtime (C(host_ip),
                  C(host_port), C(container_port), C(protocol)); when several runtimes share a
                  container, a port goes to the one listening on its container port inside the
                  container, and a port whose listener cannot be seen goes to every runtime of the
                  container (or to the only one whose default ports include it).
                - C(networks) lists the container's networks with C(name), C(id), C(default_bridge) (true
                  for Docker's own C(bridge) network, where daemon.json's C("ip") is the default address
                  of ports published without one) and C(host_binding_ipv4) (the network's
                  C(com.docker.network.bridge.host_binding_ipv4) option, that default on a user-defined
                  or Compose network). Both are null when the network was not read (no published port,
                  or the API did not answer).
              type: list
              elements: dict
              sample: [{"id": "4f1c...", "name": "ollama", "image": "ollama/ollama", "engine": "docker",
                        "published": [{"host_ip": "0.0.0.0", "host_port": 11434, "container_port": 11434, "protocol": "tcp"}],
                        "networks": [{"name": "ai_default", "id": "c9ee...", "default_bridge": false, "host_binding_ipv4": null}]}]
            version:
              description: Version read locally, or null.
              type: str
              sample: 0.12.3
            version_source:
              description:
                - Where the version came from; C(pip:<dist>), C(dpkg:<package>), C(file:<path>),
                  C(image:<reference>) or C(command); null when unknown.
              type: str
              sample: pip:jupyter-server
            listen:
              description:
                - Listening sockets of the instance in the module's network namespace (the same
                  sockets as in the top-level C(listeners)) with C(protocol), C(family), C(address),
                  C(port), C(scope) and C(pid) (null when the owner was attributed by uid).
              type: list
              elements: dict
              sample: [{"protocol": "tcp", "family": "ipv4", "address": "127.0.0.1", "port": 11434, "scope": "loopback", "pid": 4242}]
            container_listen:
              description:
                - Sockets inside the instance's container's own network namespace (same fields as
                  C(listen)); reachable from outside the host only through C(containers[].published).
                  Empty for host processes and for containers whose processes are not visible.
              type: list
              elements: dict
              sample: [{"protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 8888, "scope": "all", "pid": 4603}]
            exposure:
              description:
                - Widest scope of its C(listen) sockets and published container ports; V(none) when it
                  does not listen or is reachable nowhere outside its container.
              type: str
              sample: loopback
            auth:
              description:
                - C(enabled) (true, false, or null when unknown) and C(evidence), a sentence naming the
                  flag, variable or file that decided it, or the documented default.
              type: dict
              sample: {"enabled": false, "evidence": "default: none: the local REST API has no authentication"}
            run_as:
              description: Users the instance runs as (processes, else the unit's User=, else the container's user).
              type: list
              elements: str
              sample: [ollama]
            data_paths:
              description:
                - Existing data and model paths; catalog paths expanded against the process user's
                  home, environment and working directory, plus paths given in data flags and the
                  host side of container mounts.
              type: list
              elements: str
              sample: [/usr/share/ollama/.ollama/models]
            bind_knob:
              description:
                - From the catalog; C(kind) (env, flag, config, none), C(name), C(loopback_value)
                  (C({port}) is the port), C(action) (V(set), or V(remove) when dropping the flag gives
                  loopback), C(alternatives) (other settings of where the API listens, rewritten by
                  the loopback role where in use), C(read_only) (settings that carry an address but
                  are not a listen address, such as Ray's C(--node-ip-address), never rewritten),
                  C(note) and C(ports).
              type: dict
              sample: {"kind": "env", "name": "OLLAMA_HOST", "loopback_value": "127.0.0.1:{port}", "action": "set",
                       "alternatives": [], "read_only": [], "note": null, "ports": null}
            risky_flags:
              description:
                - Risky flags or variables found, each with C(flag) (flag or variable name), C(value)
                  (V(<redacted>) when the name means a secret), C(source) (cmdline or env) and C(reason).
              type: list
              elements: dict
              sample: [{"flag": "--share", "value": null, "source": "cmdline", "reason": "opens a public Gradio share tunnel"}]
            default_ports:
              description: Default ports from the catalog.
              type: list
              elements: int
              sample: [11434]
            default_bind:
              description: What the runtime binds when not configured, from the catalog.
              type: str
              sample: 127.0.0.1
            sandbox_profile:
              description: V(default), or V(jit) when the runtime needs writable and executable memory (JIT, CUDA, JVM).
              type: str
              sample: jit
            packages:
              description: Installed packages of the runtime (C(manager) pip or dpkg, C(name), C(version), C(location)).
              type: list
              elements: dict
              sample: [{"manager": "pip", "name": "jupyter-server", "version": "2.21.1", "location": "/opt/jupyter/lib/python3.11/site-packages"}]
            binaries:
              description: Catalog binaries found in the usual bin directories.
              type: list
              elements: str
              sample: [/usr/local/bin/ollama]
        warnings:
          description: Things that could not be read or were skipped (also sent as module warnings).
          type: list
          elements: str
          returned: always
          sample: ["could not read the open files of 3 processes (not root?): their sockets stay unattributed"]
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils import runtime_facts


# The filesystem root the module reads; unit tests point it at a fixture tree.
HOST_ROOT = "/"

# The host read and the version-command runner live in module_utils/runtime_facts.py, shared with
# aihost.hardening.host_audit_facts; these names stay for callers of this module's functions.
gather = runtime_facts.gather
_version_runner = runtime_facts.version_runner
VERSION_COMMAND_TIMEOUT = runtime_facts.VERSION_COMMAND_TIMEOUT


def main():
    module = AnsibleModule(argument_spec=dict(runtime_facts.ARGUMENT_SPEC), supports_check_mode=True)
    module.run_command_environ_update = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C")
    started = time.time()
    try:
        facts = runtime_facts.collect(module, "ai_runtime_facts", root=HOST_ROOT)
    except runtime_facts.RuntimeFactsError as exc:
        module.fail_json(msg=str(exc))
    for warning in facts["warnings"]:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts={"aihost_runtime": facts},
                     elapsed=round(time.time() - started, 4))


if __name__ == "__main__":
    main()
