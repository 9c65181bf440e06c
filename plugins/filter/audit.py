# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side filters of the audit role: evaluate a host, combine a fleet, render formats.

The logic lives in module_utils/audit_policy.py and module_utils/audit_reports.py (pure Python,
unit-tested); these wrappers only adapt it to Jinja.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.aihost.hardening.plugins.module_utils.audit_policy import (
    REPORT_SCHEMA_VERSION, SEVERITIES, evaluate, match_policy, parse_host_checks,
    severity_at_or_above, severity_counts)
from ansible_collections.aihost.hardening.plugins.module_utils import audit_reports


def _plain(value):
    """Ansible hands filters lazy/tagged containers; a JSON round trip gives plain dicts and lists."""
    return json.loads(json.dumps(value, default=str))


def audit_evaluate(base_report, host_checks, policy, advisories, fail_on="high"):
    """Complete a host report (schema 2): host checks, findings, summary and the checkpoint.

    ``host_checks`` is the ``host_checks`` dictionary that aihost.hardening.host_audit_facts returns,
    or the same checks in their ``@@section`` text form.
    """
    if fail_on not in SEVERITIES + ("none",):
        raise AnsibleFilterError("aihost_audit_fail_on: %r is not one of %s" % (fail_on, ", ".join(SEVERITIES + ("none",))))
    report = _plain(base_report)
    policy = _plain(policy or [])
    advisories = _plain(advisories or {})
    runtime = report.get("aihost_runtime") or {}
    gpu = report.get("aihost_gpu") or {}
    checks = parse_host_checks(_plain(host_checks) if isinstance(host_checks, dict) else host_checks)
    findings = evaluate(runtime, gpu, checks, policy, advisories)

    listeners = []
    for item in runtime.get("listeners") or []:
        entry = None
        if item.get("scope") not in (None, "loopback"):
            entry, _problem = match_policy(policy, item.get("protocol") or "tcp", item.get("port"),
                                           item.get("scope"), item.get("process"), item.get("runtime"))
        listeners.append({
            "protocol": item.get("protocol"), "family": item.get("family"), "address": item.get("address"),
            "port": item.get("port"), "scope": item.get("scope"), "process": item.get("process"),
            "user": item.get("user"), "unit": item.get("unit"), "runtime": item.get("runtime"),
            "container": (item.get("container") or {}).get("name") if item.get("container") else None,
            "allowed_by": entry.get("reason") if entry else None,
        })
    packages = []
    for rt in runtime.get("runtimes") or []:
        for pkg in rt.get("packages") or []:
            packages.append({"manager": pkg.get("manager"), "name": pkg.get("name"), "version": pkg.get("version"),
                             "runtime": rt.get("name")})
    for pkg in checks.get("packages") or []:
        packages.append({"manager": pkg.get("manager"), "name": pkg.get("name"), "version": pkg.get("version"),
                         "runtime": None})
    nvidia = gpu.get("nvidia") or {}
    toolkit = gpu.get("container_toolkit") or {}
    if nvidia.get("driver_version"):
        packages.append({"manager": "kernel", "name": "nvidia-driver", "version": nvidia["driver_version"], "runtime": None})
    if toolkit.get("version"):
        packages.append({"manager": toolkit.get("version_source") or "nvidia-ctk", "name": "nvidia-container-toolkit",
                         "version": toolkit["version"], "runtime": None})

    report["schema_version"] = REPORT_SCHEMA_VERSION
    report["fail_on"] = fail_on
    report["policy"] = policy
    report["host_checks"] = {key: value for key, value in checks.items() if key != "packages"}
    report["findings"] = findings
    report["summary"] = {"counts": severity_counts(findings), "total": len(findings),
                         "failing": len(severity_at_or_above(findings, fail_on))}
    report["checkpoint"] = {
        "packages": packages,
        "runtimes": [{"name": rt.get("name"), "version": rt.get("version"), "version_source": rt.get("version_source"),
                      "exposure": rt.get("exposure"), "auth_enabled": (rt.get("auth") or {}).get("enabled"),
                      "run_as": rt.get("run_as") or [], "data_paths": rt.get("data_paths") or [],
                      "units": [unit.get("name") for unit in rt.get("units") or []]}
                     for rt in runtime.get("runtimes") or []],
        "data_paths": checks.get("data_path_modes") or [],
        "listeners": listeners,
    }
    return report


def audit_fleet(host_reports, fail_on="high", timestamp=None):
    return audit_reports.fleet_report(_plain([item for item in host_reports or [] if item]), fail_on, timestamp)


def audit_markdown(report):
    return audit_reports.to_markdown(_plain(report))


def audit_sarif(report):
    return audit_reports.to_sarif(_plain(report))


def audit_gitlab_sast(report):
    return audit_reports.to_gitlab_sast(_plain(report))


def audit_inventory_location(host, inventory_file=None, inventory_dir=None, source_root=None):
    return audit_reports.inventory_location(str(host), inventory_file, inventory_dir, source_root)


def audit_junit(report):
    return audit_reports.to_junit(_plain(report))


def audit_stats(report):
    return audit_reports.host_stats(_plain(report))


def audit_verdict(report):
    return audit_reports.gate_verdict(_plain(report))


class FilterModule(object):
    def filters(self):
        return {
            "audit_evaluate": audit_evaluate,
            "audit_fleet": audit_fleet,
            "audit_markdown": audit_markdown,
            "audit_sarif": audit_sarif,
            "audit_junit": audit_junit,
            "audit_gitlab_sast": audit_gitlab_sast,
            "audit_inventory_location": audit_inventory_location,
            "audit_verdict": audit_verdict,
            "audit_stats": audit_stats,
        }
