# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit policy evaluation: facts + host checks + allowed exposures + advisories -> findings.

Pure functions, standard library only: the audit role calls them on the controller through the
``aihost.hardening.audit_*`` filters, and unit tests call them with fixture dictionaries.
Nothing here reads or changes a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.aihost.hardening.plugins.module_utils import host_config
# One comparator for PEP 440, SemVer and Debian versions (issue #18): 0.8.5.post1 is above 0.8.5.
from ansible_collections.aihost.hardening.plugins.module_utils.versions import compare as compare_versions

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = dict((name, len(SEVERITIES) - index) for index, name in enumerate(SEVERITIES))
SCOPE_RANK = {"loopback": 0, "specific": 1, "all": 2}
REPORT_SCHEMA_VERSION = 2

# The rule catalogue. IDs are stable: never renumber, retire an ID instead of reusing it.
RULES = {
    "AIH-EXP-001": {
        "severity": "medium",
        "title": "Listener beyond loopback without a policy entry",
        "remediation": "Bind the service to 127.0.0.1/::1, stop it, or add an entry with a reason to "
                       "aihost_audit_allowed_exposures (and open it only to the listed sources).",
    },
    "AIH-EXP-002": {
        "severity": "high",
        "title": "AI runtime listening beyond loopback",
        "remediation": "Bind the runtime to loopback (the aihost.hardening.loopback role sets its bind knob) "
                       "and publish it through an authenticating reverse proxy, or justify it in "
                       "aihost_audit_allowed_exposures.",
    },
    "AIH-EXP-003": {
        "severity": "critical",
        "title": "AI runtime with authentication off reachable beyond loopback",
        "remediation": "Turn authentication on (API key, token, password) or bind the runtime to loopback. "
                       "A policy entry does not waive this finding: a reason does not add authentication.",
    },
    "AIH-EXP-004": {
        "severity": "high",
        "title": "Container port published on all addresses",
        "remediation": "Publish the port on 127.0.0.1 (-p 127.0.0.1:PORT:PORT); Docker and Podman insert "
                       "their own NAT rules ahead of host firewalls, so a 0.0.0.0 publish bypasses them.",
    },
    "AIH-ADV-001": {
        "severity": "high",
        "title": "AI runtime version affected by a known advisory",
        "remediation": "Upgrade the runtime to at least the fixed version (the aihost.hardening.updates role "
                       "can do it with a health check and rollback).",
    },
    "AIH-ADV-002": {
        "severity": "high",
        "title": "NVIDIA Container Toolkit older than a security fix",
        "remediation": "Upgrade nvidia-container-toolkit (and libnvidia-container) to at least the fixed version.",
    },
    "AIH-ADV-003": {
        "severity": "high",
        "title": "NVIDIA GPU driver older than the latest security fix of its branch",
        "remediation": "Upgrade the driver to at least the fixed release of its branch, or move to a branch "
                       "that still receives security fixes.",
    },
    "AIH-CFG-001": {
        "severity": "medium",
        "title": "NVIDIA device nodes writable by every user",
        "remediation": "Load nvidia with NVreg_DeviceFileMode=0660 and NVreg_DeviceFileGID=<gpu group> and "
                       "add only the service users to that group.",
    },
    "AIH-CFG-002": {
        "severity": "medium",
        "title": "AI runtime running as root",
        "remediation": "Run the runtime as a dedicated unprivileged user (the aihost.hardening.service_users "
                       "role creates one with a sandboxed unit).",
    },
    "AIH-CFG-003": {
        "severity": "high",
        "title": "Risky flag on an AI runtime",
        "remediation": "Remove the flag or variable from the runtime's command line, unit or environment.",
    },
    "AIH-CFG-004": {
        "severity": "high",
        "title": "No active host firewall",
        "remediation": "Enable a deny-by-default inbound firewall (the aihost.hardening.firewall role).",
    },
    "AIH-CFG-005": {
        "severity": "medium",
        "title": "No automatic security updates",
        "remediation": "Install and enable unattended-upgrades (Debian/Ubuntu) or dnf-automatic "
                       "(RHEL family) for security updates.",
    },
    "AIH-CFG-006": {
        "severity": "high",
        "title": "Model or data directory writable by other users",
        "remediation": "Remove write permission for others (chmod o-w); the aihost.hardening.model_integrity "
                       "role makes model stores read-only to the service.",
    },
    "AIH-CFG-007": {
        "severity": "high",
        "title": "Sandbox of a managed AI service removed or edited",
        "remediation": "Run the aihost.hardening.service_users role again to restore the drop-in. Put local "
                       "changes in a later drop-in (for example zz-local.conf), which the role leaves alone.",
    },
    "AIH-CFG-008": {
        "severity": "medium",
        "title": "AI runtime data directory the service_users role refused to hand over",
        "remediation": "Find out why the runtime names that directory: a runtime that points at system state "
                       "(high severity) may be compromised or misconfigured. If it really keeps its data there, give "
                       "it a directory of its own, list it in the variable the finding names "
                       "(aihost_service_users_data_dirs.<runtime>) and run the service_users role again.",
    },
    "AIH-CFG-009": {
        "severity": "medium",
        "title": "AI runtime with unrestricted outbound traffic",
        "remediation": "Let the aihost.hardening.firewall role restrict the runtime's service user "
                       "(aihost_firewall_egress_mode: enforce; log only counts) and list what it must reach in "
                       "aihost_firewall_egress_allowed. A runtime that runs as root or as a login account is never "
                       "restricted: give it a service user with the aihost.hardening.service_users role first.",
    },
    "AIH-MOD-001": {
        "severity": "critical",
        "title": "Model file that can run code when it is loaded",
        "remediation": "Quarantine the file and get the model in a format that cannot run code (safetensors, "
                       "GGUF). Pickle-based files (.pt, .pkl, .bin) execute their imports on load. A suspicious "
                       "file whose imports you have checked can be allowed with aihost_model_integrity_allow_globals.",
    },
    "AIH-MOD-002": {
        "severity": "high",
        "title": "Model store no longer matches its pinned manifest",
        "remediation": "Find out what changed the store (journalctl -u aihost-model-verify.service names each "
                       "file). If the change is wanted, run the aihost.hardening.model_integrity role to pin the "
                       "store again; otherwise restore the files from a trusted copy.",
    },
}

# Verdict of a model file (model_scan) -> severity of its AIH-MOD-001 finding.
MODEL_VERDICT_SEVERITY = {"malicious": "critical", "suspicious": "medium"}


# ---------------------------------------------------------------------------------------------
# Versions

def version_in_range(version, affected=None, fixed=None, introduced=None):
    """True when VERSION is affected.

    ``fixed``: first version without the flaw (affected when version < fixed).
    ``introduced``: first affected version (default: every version before ``fixed``).
    ``affected``: an explicit upper bound string ``"<=X"`` or ``"<X"`` used when no fix is known.
    """
    if version is None or str(version).strip() == "":
        return False
    if introduced is not None and compare_versions(version, introduced) < 0:
        return False
    if fixed is not None:
        return compare_versions(version, fixed) < 0
    if affected:
        text = str(affected).strip()
        if text.startswith("<="):
            return compare_versions(version, text[2:].strip()) <= 0
        if text.startswith("<"):
            return compare_versions(version, text[1:].strip()) < 0
        return compare_versions(version, text) == 0
    return False


# ---------------------------------------------------------------------------------------------
# Host checks: read on the target by aihost.hardening.host_audit_facts, parsed by host_config.py.

def parse_host_checks(checks):
    """The ``host_checks`` dictionary from what the host returned.

    ``checks`` is either that dictionary already (host_audit_facts parses on the target) or the
    sectioned ``@@name`` text form, parsed here by the same code (module_utils/host_config.py).
    """
    if isinstance(checks, dict):
        return checks
    return host_config.summarize(host_config.split_sections(checks))


# ---------------------------------------------------------------------------------------------
# Policy matching

def _entry_matches(entry, proto, port, scope, process, runtime):
    if int(entry.get("port")) != int(port) or str(entry.get("proto") or "tcp").lower() != proto:
        return False
    if entry.get("runtime") and entry.get("runtime") != runtime:
        return False
    if entry.get("process") and entry.get("process") != process:
        return False
    return True


def match_policy(policy, proto, port, scope, process=None, runtime=None):
    """Return (entry, problem): the covering entry, or None and why none covers it."""
    candidates = [entry for entry in policy or [] if _entry_matches(entry, proto, port, scope, process, runtime)]
    for entry in candidates:
        if SCOPE_RANK.get(scope, 2) <= SCOPE_RANK.get(entry.get("scope") or "all", 2):
            return entry, None
    if candidates:
        return None, "the policy allows scope %s only" % candidates[0].get("scope")
    return None, "no entry in aihost_audit_allowed_exposures"


# ---------------------------------------------------------------------------------------------
# Findings

def _finding(rule_id, subject, evidence, severity=None, title=None, remediation=None, **extra):
    rule = RULES[rule_id]
    finding = {
        "id": rule_id,
        "severity": severity or rule["severity"],
        "title": title or rule["title"],
        "subject": subject,
        "evidence": evidence,
        "remediation": remediation or rule["remediation"],
    }
    finding.update(extra)
    return finding


def container_label(container):
    """A container's name, else its short id (12 hex digits, as docker ps prints it)."""
    container = container or {}
    return container.get("name") or (str(container.get("id"))[:12] if container.get("id") else None)


def _listen_text(runtime):
    return ", ".join("%s %s:%s" % (item.get("protocol") or "tcp", item.get("address"), item.get("port"))
                     for item in runtime.get("listen") or [])


def _instance(runtime):
    """Name one runtime instance by what survives restarts, reboots and re-ordering, never a PID:
    its systemd service, else its container (name, else short id), else its executable and sockets.

    Scopes (docker-<id>.scope, session-N.scope) are transient, so a service unit comes first and a
    container before any other unit."""
    name = runtime.get("name")
    units = [unit.get("name") for unit in runtime.get("units") or [] if unit.get("name")]
    for unit in units:
        if not unit.endswith(".scope"):
            return "%s (%s)" % (name, unit)
    for container in runtime.get("containers") or []:
        if container_label(container):
            return "%s (container %s)" % (name, container_label(container))
    if units:
        return "%s (%s)" % (name, units[0])
    exe = next((process.get("exe") for process in runtime.get("processes") or [] if process.get("exe")), None)
    parts = [part for part in (exe, _listen_text(runtime)) if part]
    return "%s (%s)" % (name, ", ".join(parts)) if parts else name


def _instances(runtimes):
    """_instance for each runtime, made unique within the host without order or PIDs: a name two
    instances share gets their sockets, else their users, else a digest of their command line."""
    names = [_instance(runtime) for runtime in runtimes]
    for extra in (_listen_text, lambda rt: "as " + ",".join(rt.get("run_as") or []) if rt.get("run_as") else "",
                  _cmdline_digest):
        counts = {}
        for item in names:
            counts[item] = counts.get(item, 0) + 1
        for index, runtime in enumerate(runtimes):
            if counts[names[index]] > 1:
                detail = extra(runtime)
                if detail and detail not in names[index]:
                    names[index] = "%s [%s]" % (names[index], detail)
    return names


def _cmdline_digest(runtime):
    process = next(iter(runtime.get("processes") or []), {})
    argv = process.get("cmdline") or (runtime.get("units") or [{}])[0].get("exec_start") or []
    if not argv:
        return ""
    return "cmdline %s" % hashlib.sha256("\0".join(str(arg) for arg in argv).encode("utf-8")).hexdigest()[:8]


def _is_all_addresses(host_ip):
    return str(host_ip or "") in ("", "0.0.0.0", "::", "[::]", "*")


def evaluate(runtime_facts, gpu_facts, host_checks, policy, advisories):
    """Return the sorted list of findings for one host.

    ``policy``: allowed exposures, already validated and normalised (normalize_exposures).
    ``advisories``: the parsed advisories data file (see roles/audit/files/advisories.yml).
    """
    runtime_facts = runtime_facts or {}
    gpu_facts = gpu_facts or {}
    host_checks = host_checks or {}
    advisories = advisories or {}
    findings = []
    runtimes = runtime_facts.get("runtimes") or []
    names = dict((rt.get("name"), rt.get("display_name") or rt.get("name")) for rt in runtimes)

    # Exposure: every host socket beyond loopback, once per (proto, port, address).
    seen = set()
    for listener in runtime_facts.get("listeners") or []:
        scope = listener.get("scope")
        if scope == "loopback" or scope is None:
            continue
        proto = listener.get("protocol") or "tcp"
        port = listener.get("port")
        key = (proto, port, listener.get("address"))
        if key in seen:
            continue
        seen.add(key)
        runtime = listener.get("runtime")
        process = listener.get("process")
        entry, problem = match_policy(policy, proto, port, scope, process, runtime)
        if entry is not None:
            continue
        who = names.get(runtime) or process or "unknown process"
        evidence = "%s %s:%s (scope %s) owned by %s: %s" % (
            proto, listener.get("address"), port, scope, who, problem)
        container = container_label(listener.get("container"))
        if container:
            evidence += " (container %s)" % container
        rule = "AIH-EXP-002" if runtime else "AIH-EXP-001"
        findings.append(_finding(rule, "%s/%s" % (port, proto), evidence, port=port, protocol=proto,
                                 address=listener.get("address"), runtime=runtime, process=process,
                                 container=container))

    # Container ports published on every address: they bypass the host firewall.
    published_seen = set()
    for runtime in runtimes:
        for container in runtime.get("containers") or []:
            for pub in container.get("published") or []:
                if not _is_all_addresses(pub.get("host_ip")):
                    continue
                proto = pub.get("protocol") or "tcp"
                port = pub.get("host_port")
                key = (proto, port)
                if key in published_seen:
                    continue
                published_seen.add(key)
                entry, problem = match_policy(policy, proto, port, "all", None, runtime.get("name"))
                if entry is not None:
                    continue
                findings.append(_finding(
                    "AIH-EXP-004", "%s/%s" % (port, proto),
                    "%s container %s publishes %s:%s -> %s: %s" % (
                        container.get("engine") or "container", container.get("name") or container.get("id"),
                        pub.get("host_ip") or "0.0.0.0", port, pub.get("container_port"), problem),
                    port=port, protocol=proto, runtime=runtime.get("name")))
    for listener in runtime_facts.get("listeners") or []:
        if listener.get("container") and listener.get("scope") == "all" and not listener.get("runtime"):
            proto = listener.get("protocol") or "tcp"
            key = (proto, listener.get("port"))
            if key in published_seen or (listener.get("process") or "") not in (
                    "docker-proxy", "rootlessport", "conmon", "pasta", "slirp4netns"):
                continue
            published_seen.add(key)
            entry, problem = match_policy(policy, proto, listener.get("port"), "all", listener.get("process"), None)
            if entry is None:
                findings.append(_finding(
                    "AIH-EXP-004", "%s/%s" % (listener.get("port"), proto),
                    "%s publishes container %s on %s:%s: %s" % (
                        listener.get("process"), listener["container"].get("name") or listener["container"].get("id"),
                        listener.get("address"), listener.get("port"), problem),
                    port=listener.get("port"), protocol=proto))

    # Runtime-level findings.
    runtime_advisories = advisories.get("runtimes") or {}
    for runtime, instance in zip(runtimes, _instances(runtimes)):
        name = runtime.get("name")
        display = (runtime.get("display_name") or name) + instance[len(name or ""):]
        container = next((container_label(item) for item in runtime.get("containers") or [] if container_label(item)), None)
        exposure = runtime.get("exposure")
        auth = runtime.get("auth") or {}
        if exposure in ("all", "specific") and auth.get("enabled") is False:
            wide = [item for item in runtime.get("listen") or [] if item.get("scope") in ("all", "specific")]
            where = ", ".join("%s:%s" % (item.get("address"), item.get("port")) for item in wide) or "published ports"
            findings.append(_finding(
                "AIH-EXP-003", instance, "%s reachable on %s with authentication off (%s)" % (
                    display, where, auth.get("evidence") or "no evidence"), runtime=name, container=container))
        for advisory in runtime_advisories.get(name) or []:
            if version_in_range(runtime.get("version"), advisory.get("affected"), advisory.get("fixed"),
                                advisory.get("introduced")):
                fix = ("fixed in %s" % advisory["fixed"]) if advisory.get("fixed") else "no fixed version listed"
                findings.append(_finding(
                    "AIH-ADV-001", "%s %s" % (instance, advisory.get("id")),
                    "%s %s (from %s) is affected by %s: %s; %s" % (
                        display, runtime.get("version"), runtime.get("version_source") or "unknown source",
                        advisory.get("id"), advisory.get("summary") or "", fix),
                    severity=advisory.get("severity"), runtime=name, container=container, advisory=advisory.get("id"),
                    version=runtime.get("version"), fixed=advisory.get("fixed")))
        root_users = [user for user in runtime.get("run_as") or [] if user == "root"]
        if root_users and (runtime.get("processes") or runtime.get("units") or runtime.get("containers")):
            findings.append(_finding("AIH-CFG-002", instance, "%s runs as root" % display, runtime=name, container=container))
        for flag in runtime.get("risky_flags") or []:
            findings.append(_finding(
                "AIH-CFG-003", "%s %s" % (instance, flag.get("flag")),
                "%s: %s%s (%s): %s" % (display, flag.get("flag"),
                                       "=%s" % flag["value"] if flag.get("value") not in (None, "") else "",
                                       flag.get("source") or "cmdline", flag.get("reason") or ""),
                runtime=name, container=container, flag=flag.get("flag")))

    # World-writable data paths (modes stat'ed by the host checks).
    runtime_paths = {}
    for runtime in runtimes:
        for path in runtime.get("data_paths") or []:
            runtime_paths.setdefault(path, runtime.get("name"))
    for item in host_checks.get("data_path_modes") or []:
        mode = int(item.get("mode") or "0", 8)
        sticky = bool(mode & 0o1000)
        if mode & 0o002 and not sticky:
            findings.append(_finding(
                "AIH-CFG-006", item.get("path"),
                "%s is mode %s (owner %s, group %s): every local user can write or replace models" % (
                    item.get("path"), item.get("mode"), item.get("owner"), item.get("group")),
                runtime=runtime_paths.get(item.get("path"))))

    # GPU stack.
    nvidia = gpu_facts.get("nvidia") or {}
    toolkit = gpu_facts.get("container_toolkit") or {}
    if toolkit.get("version"):
        for advisory in advisories.get("nvidia_container_toolkit") or []:
            if version_in_range(toolkit["version"], advisory.get("affected"), advisory.get("fixed"),
                                advisory.get("introduced")):
                findings.append(_finding(
                    "AIH-ADV-002", "nvidia-container-toolkit %s" % advisory.get("id"),
                    "NVIDIA Container Toolkit %s is affected by %s (%s); fixed in %s" % (
                        toolkit["version"], advisory.get("id"), advisory.get("summary") or "", advisory.get("fixed")),
                    severity=advisory.get("severity"), advisory=advisory.get("id"),
                    version=toolkit["version"], fixed=advisory.get("fixed")))
    driver = nvidia.get("driver_version")
    if driver:
        finding = _driver_finding(driver, nvidia.get("driver_branch"), advisories.get("nvidia_driver") or {})
        if finding:
            findings.append(finding)
    world = [node for node in gpu_facts.get("device_nodes") or []
             if str(node.get("path", "")).startswith("/dev/nvidia") and _world_writable(node.get("mode"))]
    if world:
        findings.append(_finding(
            "AIH-CFG-001", "/dev/nvidia*",
            "world-writable: %s" % ", ".join("%s (%s)" % (node.get("path"), node.get("mode")) for node in world)))

    # Host configuration.
    firewall = host_checks.get("firewall")
    if firewall is not None and not firewall.get("active"):
        findings.append(_finding("AIH-CFG-004", "firewall", firewall.get("evidence")))
    updates = host_checks.get("automatic_updates")
    if updates is not None and not updates.get("configured"):
        findings.append(_finding("AIH-CFG-005", "updates", updates.get("evidence")))

    egress = (host_checks.get("firewall") or {}).get("egress")
    if egress is not None:  # None: facts from before the egress check; nothing to judge
        findings.extend(_egress_findings(runtime_egress(runtimes, egress)))
    findings.extend(_service_users_findings(host_checks.get("service_users")))
    findings.extend(_model_integrity_findings(host_checks.get("model_integrity")))

    findings.sort(key=lambda item: (-SEVERITY_RANK.get(item["severity"], 0), item["id"], str(item["subject"])))
    return findings


# The firewall role restricts system accounts only; from here on, uids are login accounts (UID_MIN of
# login.defs on Debian and the RHEL family). Used for the evidence only: such a uid is never exempt.
LOGIN_UID_MIN = 1000


def runtime_egress(runtimes, egress):
    """The egress of each runtime instance (same order as ``runtimes``), from the per-uid egress of
    host_config.nft_json_egress (``host_checks.firewall.egress``).

    ``enforced`` is true only when every uid its processes run as is sent to a chain that drops
    (``mode`` enforce in both address families). ``reason`` says why not: ``container`` (container
    egress is not limited by user), ``root``, ``no_ruleset``, ``no_rule``, ``log``, ``no_drop``,
    ``one_family``, ``uid_unknown``; ``not_running`` (no process, nothing to check) is not a finding.
    ``dropped``/``logged``: packets counted by the last rule of its chains (refused or logged attempts).
    """
    egress = egress or {}
    by_uid = dict((item.get("uid"), item) for item in egress.get("uids") or [] if isinstance(item, dict))
    result = []
    for runtime, instance in zip(runtimes or [], _instances(runtimes or [])):
        container = next((container_label(item) for item in runtime.get("containers") or [] if container_label(item)), None)
        entry = {"instance": instance, "runtime": runtime.get("name"), "container": container, "uids": [],
                 "mode": None, "chain": None, "dropped": None, "logged": None, "enforced": False, "reason": None}
        result.append(entry)
        processes = runtime.get("processes") or []
        users = {}
        for process in processes:
            if isinstance(process.get("uid"), int) and not isinstance(process.get("uid"), bool):
                users.setdefault(process["uid"], process.get("user"))
        for uid in sorted(users):
            found = by_uid.get(uid) or {}
            entry["uids"].append({"uid": uid, "user": users[uid], "mode": found.get("mode"), "chain": found.get("chain"),
                                  "table": "%s %s" % (found["family"], found["table"]) if found else None,
                                  "packets": found.get("packets")})
        if container:
            entry["reason"] = "container"
        elif not processes:
            entry["reason"] = "not_running"
        elif not users:
            entry["reason"] = "uid_unknown"
        elif 0 in users:
            entry["reason"] = "root"
        elif not egress.get("read"):
            entry["reason"] = "no_ruleset"
        modes = [item["mode"] for item in entry["uids"]]
        if entry["uids"] and entry["reason"] not in ("container", "root"):
            # The weakest uid decides: one open uid is an open runtime.
            weakest = min(entry["uids"], key=lambda item: {"enforce": 2, "log": 1, "none": 0}.get(item["mode"], -1))
            entry["mode"] = weakest["mode"] or "none"
            entry["chain"] = weakest["chain"]
        chains = {}
        for item in entry["uids"]:
            if item["chain"] and item["packets"] is not None:
                chains[(item["table"], item["chain"], item["mode"])] = item["packets"]
        for (_table, _chain, mode), packets in chains.items():
            key = {"enforce": "dropped", "log": "logged"}.get(mode)
            if key:
                entry[key] = (entry[key] or 0) + packets
        if entry["reason"] is None:
            if None in modes:
                entry["reason"] = "no_rule"
            elif "none" in modes:
                entry["reason"] = "no_drop"
            elif "log" in modes:
                entry["reason"] = "log"
            elif any(by_uid[item["uid"]].get("family") != "inet" for item in entry["uids"]):
                entry["reason"] = "one_family"
            else:
                entry["enforced"] = True
    return result


def _egress_evidence(entry):
    """Why one runtime's egress is open, in words that follow its name (AIH-CFG-009)."""
    reason = entry["reason"]
    if reason == "container":
        return ("runs in container %s: container egress is not limited by user (it leaves through the forward hook "
                "or the container's own network namespace) and the firewall role's per-runtime egress control does "
                "not cover it, so it is reported unchecked" % entry["container"])
    if reason == "uid_unknown":
        return "runs as uids the facts do not show (read without root?): its egress cannot be checked"
    who = ", ".join("%s (uid %d)" % (item["user"] or "?", item["uid"]) for item in entry["uids"])
    if reason == "root":
        return "runs as %s: the firewall role never restricts root's egress, so it can connect anywhere" % who
    if reason == "no_ruleset":
        return ("runs as %s: no nftables ruleset could be read as JSON (nft missing, or nft -j gave nothing), "
                "so no output chain restricts it" % who)
    parts = []
    for item in entry["uids"]:
        name = "%s (uid %d)" % (item["user"] or "?", item["uid"])
        if item["mode"] is None:
            text = "%s, which no output-hook rule sends to a chain that drops" % name
        elif item["mode"] == "none":
            text = "%s, which goes to chain %s (table %s), whose last rule does not drop or reject: what the " \
                   "chain does not allow still goes out" % (name, item["chain"], item["table"])
        elif item["mode"] == "log":
            text = "%s, whose egress is logged, not dropped (aihost_firewall_egress_mode: log; chain %s counted %s " \
                   "attempts)" % (name, item["chain"], item["packets"] if item["packets"] is not None else "no")
        elif not str(item["table"]).startswith("inet "):
            text = "%s, dropped only for %s by chain %s (table %s): the other address family is open" % (
                name, "IPv4" if str(item["table"]).startswith("ip ") else "IPv6", item["chain"], item["table"])
        else:
            continue
        if item["uid"] >= LOGIN_UID_MIN and item["mode"] in (None, "none"):
            text += " - uid %d is a login account, which the firewall role does not restrict" % item["uid"]
        parts.append(text)
    hint = ""
    if any(item["mode"] is None for item in entry["uids"]):
        hint = " (aihost_firewall_egress_mode off, or the firewall role not run since the runtime got this user)"
    return "runs as " + "; ".join(parts) + hint


def _egress_findings(entries):
    """AIH-CFG-009 per running runtime instance whose egress is not enforced."""
    findings = []
    for entry in entries:
        if entry["enforced"] or entry["reason"] == "not_running":
            continue
        evidence = "%s %s" % (entry["instance"], _egress_evidence(entry))
        findings.append(_finding("AIH-CFG-009", entry["instance"], evidence,
                                 runtime=entry["runtime"], container=entry["container"], egress_mode=entry["mode"],
                                 chain=entry["chain"], dropped=entry["dropped"], logged=entry["logged"]))
    return findings


def _world_writable(mode):
    try:
        return bool(int(str(mode), 8) & 0o002)
    except ValueError:
        return False


def _service_users_findings(state):
    """AIH-CFG-007 per unit whose sandbox drop-in (recorded by service_users) is gone or edited;
    AIH-CFG-008 per data directory the role refused (a runtime left as it is, or a directory not handed
    over), high when the directory is system state or another account's home."""
    findings = []
    for unit in (state or {}).get("units") or []:
        if not unit.get("unit_present"):
            continue
        if not unit.get("dropin_present"):
            evidence = "%s is gone: %s runs without the sandbox the role set" % (unit.get("dropin"), unit.get("unit"))
        elif unit.get("missing_directives"):
            missing = unit["missing_directives"]
            evidence = "%s no longer sets %d of the role's directives: %s%s" % (
                unit.get("dropin"), len(missing), ", ".join(missing[:8]), ", ..." if len(missing) > 8 else "")
        else:
            continue
        findings.append(_finding("AIH-CFG-007", unit.get("unit"), evidence, runtime=unit.get("runtime")))
    for item in (state or {}).get("refused") or []:
        runtime = item.get("runtime")
        units = ", ".join(item.get("units") or [])
        instance = "%s (%s)" % (runtime, units) if units else runtime
        if item.get("adopted") is False:
            evidence = "%s is left as it is (not adopted, no sandbox) because of its data directory %s: %s" % (
                instance, item.get("path"), item.get("reason"))
        else:
            evidence = "%s reports the data directory %s, which was not handed over: %s" % (
                instance, item.get("path"), item.get("reason"))
        findings.append(_finding(
            "AIH-CFG-008", "%s %s" % (runtime, item.get("path")), evidence,
            severity="high" if item.get("kind") == "system" else None,
            runtime=runtime, path=item.get("path"), variable=item.get("variable")))
    return findings


def _model_integrity_findings(state):
    """AIH-MOD-001 per model file that is not clean, AIH-MOD-002 per store that failed its last verify."""
    findings = []
    if not state:
        return findings
    where = "; ".join(part for part in (
        "pinned %s" % state["pinned_at"] if state.get("pinned_at") else "",
        "verified %s" % state["verified_at"] if state.get("verified_at") else "") if part) or "model_integrity"
    for store in state.get("stores") or []:
        store_path = str(store.get("path") or "")
        for item in store.get("files") or []:
            verdict = item.get("verdict")
            findings.append(_finding(
                "AIH-MOD-001", "%s/%s" % (store_path.rstrip("/"), item.get("path")),
                "%s %s file (sha256 %s): %s [model_integrity: %s]" % (
                    verdict, item.get("format") or "unknown-format", item.get("sha256") or "unknown",
                    item.get("detail") or "", where),
                severity=MODEL_VERDICT_SEVERITY.get(verdict, "medium"), verdict=verdict))
        if store.get("files_not_listed"):
            findings.append(_finding(
                "AIH-MOD-001", "%s (%d more files)" % (store_path, store["files_not_listed"]),
                "%d more files that are not clean; the full list is in the role's findings.json" % store["files_not_listed"],
                severity=MODEL_VERDICT_SEVERITY.get(store["files"][-1].get("verdict"), "medium")))
        if store.get("ok") is False:
            if store.get("error"):
                evidence = "not verified: %s" % store["error"]
            else:
                drift = store.get("drift") or {}
                evidence = "%d added, %d removed, %d changed, %d links changed, signature %s" % (
                    drift.get("added", 0), drift.get("removed", 0), drift.get("changed", 0),
                    drift.get("symlinks_changed", 0),
                    {True: "valid", False: "INVALID (%s)" % store.get("signature_detail"), None: "not checked"}.get(
                        store.get("signature_valid"), "not checked"))
            findings.append(_finding("AIH-MOD-002", store_path, "%s [model_integrity: %s]" % (evidence, where)))
    return findings


def _driver_finding(version, branch, driver_data):
    """AIH-ADV-003 for a driver older than the latest fixed release of its branch (or an unlisted old branch)."""
    branch = str(branch or str(version).split(".", 1)[0])
    fixed_by_branch = driver_data.get("branches") or {}
    bulletin = driver_data.get("latest_bulletin") or "the data file"
    fixed = fixed_by_branch.get(branch) or fixed_by_branch.get("R%s" % branch)
    if fixed:
        if compare_versions(version, fixed) < 0:
            return _finding("AIH-ADV-003", "nvidia-driver %s" % version,
                            "driver %s (branch R%s) is older than %s, the latest fixed release of that branch (%s)"
                            % (version, branch, fixed, bulletin), version=version, fixed=fixed)
        return None
    newest_listed = max((int(re.sub(r"\D", "", key) or 0) for key in fixed_by_branch), default=0)
    if fixed_by_branch and int(re.sub(r"\D", "", branch) or 0) < newest_listed:
        return _finding("AIH-ADV-003", "nvidia-driver %s" % version,
                        "driver %s is on branch R%s, which receives no fixes in %s (fixed branches: %s)" % (
                            version, branch, bulletin, ", ".join(sorted(str(key) for key in fixed_by_branch))),
                        version=version)
    return None


def severity_at_or_above(findings, threshold):
    """Findings whose severity is at or above THRESHOLD ('none' -> none)."""
    if threshold in (None, "", "none"):
        return []
    limit = SEVERITY_RANK[threshold]
    return [item for item in findings or [] if SEVERITY_RANK.get(item.get("severity"), 0) >= limit]


def severity_counts(findings):
    counts = dict((name, 0) for name in SEVERITIES)
    for item in findings or []:
        counts[item.get("severity")] = counts.get(item.get("severity"), 0) + 1
    return counts
