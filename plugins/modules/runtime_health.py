#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exercise a runtime's real work with the cheap call its catalog entry names (plugins/module_utils/runtime_health.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: runtime_health
short_description: Check that a restarted AI runtime still does its work, not just listens
description:
  - Used by the C(aihost.hardening.service_users) role after it restarted a runtime under a new
    sandbox. A port that accepts connections is not a runtime that works - a read-only database
    still lets MLflow answer C(GET /) while every write fails.
  - Makes the calls of the runtime's C(health) entry in the runtime catalog
    (C(plugins/module_utils/runtime_catalog.py)) against each address in O(targets) that a process
    of O(units) listens on, and judges each answer by its status and JSON keys. Built in - MLflow
    creates an experiment named C(aihost-health-<random>) and deletes it; Jupyter saves a text file
    C(aihost-health-<random>.txt) through its contents API and deletes it; Ollama lists its models
    (C(GET /api/tags)); llama.cpp's C(llama-server) completes one token (C(POST /completion)).
    Runtimes without a C(health) entry are not called (RV(skip_reason) says so).
  - Whatever a step created is deleted again, in reverse order, even when a later step failed.
  - Retries refused connections, and answers the catalog marks as "not ready yet" (llama-server's 503
    while it loads its model), until O(timeout); each call waits at most O(request_timeout) seconds
    (or the step's own C(timeout)).
  - Credentials - a runtime whose authentication is on (by the catalog's auth rules) is called only
    with the credential the catalog says where to find, read by this module on the host from the
    main process's own records (its JSON runtime files owned by its user, its command line, its
    environment in C(/proc/<pid>/environ)). The secret is sent only in a request header, only to a
    port that a process of O(units) holds, and is never returned; answer excerpts have it replaced.
    Without a usable credential the check is skipped with a warning, not failed.
  - Fails with a message naming the runtime, the call, the address and the status it answered (and
    a short excerpt of the runtime's error message, with secrets and URL passwords redacted).
version_added: "0.1.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  runtime:
    description: Catalog name of the runtime (for example V(mlflow)).
    type: str
    required: true
  units:
    description: The runtime's running systemd units; their main process is the one whose settings are read.
    type: list
    elements: str
    required: true
  targets:
    description: Addresses the runtime listens on, each C(host) and C(port) (the service_users plan's C(health)).
    type: list
    elements: dict
    required: true
  catalog_extra:
    description: Extra or overriding catalog entries, as for M(aihost.hardening.ai_runtime_facts); C(health) may be given or set to null.
    type: dict
    default: {}
  timeout:
    description: Seconds the calls may take in all, retries included.
    type: int
    default: 120
  request_timeout:
    description: Seconds one call may take, unless the catalog step sets its own C(timeout).
    type: int
    default: 10
notes:
  - MLflow deletes experiments softly; the deleted C(aihost-health-*) experiment stays in its store until C(mlflow gc).
  - Jupyter keeps deleted files in its user's trash while C(FileContentsManager.delete_to_trash) is on (its default).
attributes:
  check_mode:
    support: none
    description: Sends requests that create and delete objects; Ansible skips it in check mode.
  diff_mode:
    support: none
    description: Changes nothing it does not undo, so there is nothing to compare.
  platform:
    support: full
    platforms: [posix]
    description: Reads C(/proc) and runs C(systemctl show).
"""

EXAMPLES = r"""
- name: Check that MLflow still writes its store
  aihost.hardening.runtime_health:
    runtime: mlflow
    units: [mlflow.service]
    targets: [{host: 127.0.0.1, port: 5000}]
    timeout: 120
"""

RETURN = r"""
runtime:
  description: The runtime checked.
  returned: always
  type: str
  sample: mlflow
checked:
  description: True when the calls were made and passed at every address called (a failure fails the module).
  returned: always
  type: bool
skip_reason:
  description: Why no call was made (no C(health) entry, authentication without a credential, no address the unit holds), or null.
  returned: always
  type: str
  sample: null
calls:
  description: Each call made, with C(call) (method and path), C(target), C(status) (null without an answer), C(ok) and C(cleanup).
  returned: always
  type: list
  elements: dict
  sample: [{call: POST /api/2.0/mlflow/experiments/create, target: "127.0.0.1:5000", status: 200, ok: true, cleanup: false}]
credential:
  description: Where the credential was found (a file, flag or variable name), or why none was needed; never its value.
  returned: always
  type: str
  sample: token in /var/lib/jupyter/.local/share/jupyter/runtime/jpserver-812.json
notes:
  description: Sentences about what was not checked or not undone.
  returned: always
  type: list
  elements: str
"""

import pwd
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils import procfs
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_health as rh
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import CatalogError, load_catalog


def main_pids(module, units):
    systemctl = module.get_bin_path("systemctl", required=True)
    pids = []
    for unit in units:
        rc, out, _err = module.run_command([systemctl, "show", "--property=MainPID", "--value", unit],
                                           environ_update={"LC_ALL": "C"})
        value = out.strip()
        if rc == 0 and value.isdigit() and int(value) > 0:
            pids.append(int(value))
    return pids


def read_main_process(pid):
    process = procfs.read_process(pid, socket_inodes=False, details=True)
    if process is None:
        return None
    environ = procfs.read_environ(pid) or {}
    home = environ.get("HOME")
    if not home and process.get("uid") is not None:
        try:
            home = pwd.getpwuid(process["uid"]).pw_dir
        except KeyError:
            home = None
    process["environ"] = environ
    process["home"] = home
    return process


def held_ports(units, main_pid):
    """Ports with a listening TCP socket held by a process of ``units`` (in the main process's
    network namespace)."""
    inodes = set()
    for process in procfs.scan_processes(details=True).values():
        if process.get("unit") in units:
            inodes |= process["sockets"]
    return set(listener["port"] for listener in procfs.read_listeners(include_udp=False, pid=main_pid)
               if listener["inode"] in inodes)


def run(module):
    params = module.params
    result = {"runtime": params["runtime"], "checked": False, "skip_reason": None, "calls": [], "credential": None,
              "notes": [], "changed": False}
    try:
        catalog, _warnings = load_catalog(params["catalog_extra"] or None)
    except CatalogError as exc:
        module.fail_json(msg=str(exc), **result)
    entry = catalog.get(params["runtime"])
    if entry is None:
        module.fail_json(msg="unknown runtime %r (not in the catalog)" % params["runtime"], **result)
    display = entry.get("display_name") or params["runtime"]
    health = entry.get("health")
    if not health:
        result["skip_reason"] = "the catalog knows no functional check for %s: ports only" % display
        return result

    def skip(reason, warn=True):
        result["skip_reason"] = reason
        if warn:
            module.warn(reason)
        return result

    process = None
    seen = []
    for pid in main_pids(module, params["units"]):
        candidate = read_main_process(pid)
        if candidate is None:
            continue
        seen.append(candidate)
        if rh.process_applies(health, candidate):
            process = candidate
            break
    if process is None:
        if not seen:
            return skip("%s: %s has no main process to read: functional check skipped, ports only"
                        % (display, ", ".join(params["units"])))
        return skip("%s: the functional check applies to other programs than %s: ports only"
                    % (display, ", ".join(sorted(set(c.get("name") or "?" for c in seen)))), warn=False)

    deadline = time.monotonic() + params["timeout"]

    def lookup(source):
        # The runtime records some settings (Jupyter's token) in a file it writes just after it
        # starts listening: give it a few seconds.
        settle = min(deadline, time.monotonic() + 10)
        while True:
            found = rh.find_value(source, process, rh.read_owned_json)
            if found[0] or not source.get("files") or time.monotonic() >= settle:
                return found
            time.sleep(1)

    auth = rh.resolve_auth(entry, process, lookup)
    result["credential"] = auth["where"]
    if auth["skip"]:
        return skip(auth["skip"])
    _found, base_url, _where = lookup(health["base_url"]) if health.get("base_url") else (False, "", None)

    held = held_ports(params["units"], process["pid"])
    targets = []
    for target in params["targets"]:
        try:
            target = {"host": str(target["host"]), "port": int(target["port"])}
        except (KeyError, TypeError, ValueError):
            module.fail_json(msg="targets: each needs host and port, got %r" % (target,), **result)
        if target["port"] in held:
            targets.append(target)
        else:
            result["notes"].append("%s: port %s is not held by a process of %s (or its sockets cannot be read): "
                                   "not called" % (display, target["port"], ", ".join(params["units"])))
    if not targets:
        return skip("%s: none of its ports is held by a process of %s: functional check skipped, ports only"
                    % (display, ", ".join(params["units"])))

    failures = []
    for target in targets:
        # New names for each address: MLflow keeps a deleted experiment's name reserved.
        outcome = rh.run_check(display, health, target, rh.http_send, rh.new_variables(), base_url or "", auth,
                               timeout=max(1.0, deadline - time.monotonic()),
                               request_timeout=float(params["request_timeout"]))
        result["calls"].extend(outcome["calls"])
        result["notes"].extend(outcome["notes"])
        if outcome["failure"]:
            failures.append(outcome["failure"])
    if failures:
        module.fail_json(msg="; ".join(failures), **result)
    result["checked"] = True
    if health.get("note"):
        result["notes"].append(health["note"])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runtime=dict(type="str", required=True),
            units=dict(type="list", elements="str", required=True),
            targets=dict(type="list", elements="dict", required=True),
            catalog_extra=dict(type="dict", default={}),
            timeout=dict(type="int", default=120),
            request_timeout=dict(type="int", default=10),
        ),
        supports_check_mode=False,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
