# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit report formats: Markdown, SARIF 2.1.0, GitLab SAST and JUnit XML, per host and for the fleet.

Pure functions over the JSON report (a dictionary), standard library only; the audit role calls
them on the controller through filters, unit tests call them directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.aihost.hardening.plugins.module_utils.audit_policy import (
    RULES, SEVERITIES, runtime_egress, severity_at_or_above, severity_counts)

TOOL_NAME = "aihost.hardening.audit"
TOOL_URI = "https://example.invalid/aihost/hardening/roles/audit"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# The conventional base of repository-relative SARIF locations; GitHub code scanning resolves it to the
# checkout the workflow runs in.
SARIF_SRCROOT = "%SRCROOT%"
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning reads properties.security-severity (CVSS-like, 0.0-10.0).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def plural(count, word, words=None):
    """'1 host', '2 hosts', '0 findings': a count and the noun that agrees with it."""
    return "%d %s" % (count, word if count == 1 else (words or word + "s"))


def gate_text(fail_on):
    """How the gate reads in every report: 'fail on high and above', or 'off (fail_on: none)'."""
    if fail_on in (None, "", "none"):
        return "off (fail_on: none)"
    return "fail on %s and above" % fail_on


def gate_verdict(report):
    """One line that ends an audit run for one host: failed (with the failing findings), passed, or off.

    ``report`` is a host report (audit_evaluate), with ``fail_on``, ``summary`` and ``findings``.
    """
    host = report["host"]["name"]
    fail_on = report.get("fail_on")
    findings = report.get("findings") or []
    if fail_on in (None, "", "none"):
        return "%s: audit gate off (fail_on: none): %s reported, none fails the run" % (
            host, plural(len(findings), "finding"))
    failing = severity_at_or_above(findings, fail_on)
    if not failing:
        return "%s: audit gate passed: no finding at or above %s (%s in all)" % (
            host, fail_on, plural(len(findings), "finding"))
    names = []
    for item in failing:
        name = "%s %s" % (item["id"], item["title"])
        if name not in names:
            names.append(name)
    return "%s: audit gate FAILED: %s at or above %s: %s" % (
        host, plural(len(failing), "finding"), fail_on, "; ".join(names))


def host_stats(report):
    """A host's summary for ansible.builtin.set_stats (AWX/AAP job artifacts, ansible-runner's events):
    counts by severity, the total, the gate's result (failed, passed or off) and its verdict line."""
    fail_on = report.get("fail_on")
    summary = report.get("summary") or {}
    counts = summary.get("counts") or {}
    if fail_on in (None, "", "none"):
        gate = "off"
    else:
        gate = "failed" if int(summary.get("failing") or 0) > 0 else "passed"
    stats = dict((name, int(counts.get(name, 0))) for name in SEVERITIES)
    stats.update({"total": int(summary.get("total", sum(stats.values()))), "failing": int(summary.get("failing") or 0),
                  "fail_on": fail_on or "none", "gate": gate, "verdict": gate_verdict(report)})
    return stats


def _hosts(report_or_fleet):
    """A host report, or a fleet report with ``hosts`` (list of host reports) -> list of host reports."""
    if "hosts" in report_or_fleet:
        return list(report_or_fleet["hosts"])
    return [report_or_fleet]


def fleet_report(host_reports, fail_on, timestamp):
    """Combine host reports into the fleet report (same schema version)."""
    hosts = sorted(host_reports or [], key=lambda item: item["host"]["name"])
    findings = [item for report in hosts for item in report.get("findings") or []]
    return {
        "schema_version": hosts[0]["schema_version"] if hosts else 2,
        "generator": TOOL_NAME,
        "kind": "fleet",
        "timestamp": timestamp,
        "fail_on": fail_on,
        "summary": {
            "hosts": len(hosts),
            "hosts_failing": sum(1 for report in hosts if report["summary"]["failing"] > 0),
            "counts": severity_counts(findings),
            "failing": len(severity_at_or_above(findings, fail_on)),
        },
        "hosts": hosts,
    }


# ---------------------------------------------------------------------------------------------
# Markdown

def _md(text):
    return str("" if text is None else text).replace("|", "\\|").replace("\n", " ")


def _counts_line(counts):
    return ", ".join("%s %d" % (name, counts.get(name, 0)) for name in SEVERITIES)


def _gate_line(fail_on, failing):
    if fail_on in (None, "", "none"):
        return "- Gate: %s" % gate_text(fail_on)
    return "- Gate: fail on `%s` and above: %s" % (fail_on, failing)


def _host_markdown(report, level="#"):
    host = report["host"]
    summary = report["summary"]
    lines = [
        "%s Audit of %s" % (level, host["name"]),
        "",
        "- Generated: %s by %s (report schema %s)" % (report["timestamp"], TOOL_NAME, report["schema_version"]),
        "- Host: %s, %s, kernel %s" % (
            host.get("hostname") or host["name"], host.get("os") or "unknown OS", host.get("kernel") or "unknown"),
        "- Findings: %s" % _counts_line(summary["counts"]),
        _gate_line(report["fail_on"], plural(summary["failing"], "finding") + " at or above it"),
        "",
    ]
    findings = report.get("findings") or []
    lines += ["%s# Findings" % level, ""]
    if findings:
        lines += ["| ID | Severity | Subject | Title | Evidence | Remediation |",
                  "|---|---|---|---|---|---|"]
        for item in findings:
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                item["id"], item["severity"], _md(item["subject"]), _md(item["title"]), _md(item["evidence"]),
                _md(item["remediation"])))
    else:
        lines.append("No findings.")
    checkpoint = report.get("checkpoint") or {}
    lines += ["", "%s# Listeners observed" % level, ""]
    listeners = checkpoint.get("listeners") or []
    if listeners:
        lines += ["| Proto | Address | Port | Scope | Process | User | Runtime | Allowed by |", "|---|---|---|---|---|---|---|---|"]
        for item in listeners:
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % tuple(_md(value) for value in (
                item.get("protocol"), item.get("address"), item.get("port"), item.get("scope"),
                item.get("process") or "-", item.get("user") or "-", item.get("runtime") or "-",
                item.get("allowed_by") or "-")))
    else:
        lines.append("None.")
    lines += ["", "%s# Runtimes" % level, ""]
    runtimes = checkpoint.get("runtimes") or []
    if runtimes:
        lines += ["| Runtime | Version | Exposure | Auth | Run as | Data paths |", "|---|---|---|---|---|---|"]
        for item in runtimes:
            auth = item.get("auth_enabled")
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                _md(item.get("name")), _md(item.get("version") or "unknown"), _md(item.get("exposure")),
                "on" if auth else ("off" if auth is False else "unknown"), _md(", ".join(item.get("run_as") or [])),
                _md(", ".join(item.get("data_paths") or []) or "-")))
    else:
        lines.append("None.")
    lines += _egress_markdown(report, level)
    packages = checkpoint.get("packages") or []
    lines += ["", "%s# Package versions" % level, ""]
    if packages:
        lines += ["| Manager | Package | Version |", "|---|---|---|"]
        for item in packages:
            lines.append("| %s | %s | %s |" % (_md(item.get("manager")), _md(item.get("name")), _md(item.get("version"))))
    else:
        lines.append("None recorded.")
    return lines


def report_egress(report):
    """Per-runtime egress of a host report (AIH-CFG-009): the list host_audit_facts recorded, else the same
    worked out from the report's runtimes; None for a report from before the egress check."""
    egress = ((report.get("host_checks") or {}).get("firewall") or {}).get("egress")
    if egress is None:
        return None
    if egress.get("runtimes") is not None:
        return egress["runtimes"]
    return runtime_egress((report.get("aihost_runtime") or {}).get("runtimes") or [], egress)


def _count(value):
    return "-" if value is None else str(value)


def _egress_markdown(report, level):
    entries = report_egress(report)
    if entries is None:
        return []
    lines = ["", "%s# Egress of AI runtimes" % level, ""]
    if not entries:
        return lines + ["None."]
    lines += ["| Runtime | Runs as | Mode | Chain | Dropped | Logged | Enforced |", "|---|---|---|---|---|---|---|"]
    for item in entries:
        users = ", ".join("%s (%s)" % (user.get("user") or "?", user.get("uid")) for user in item.get("uids") or [])
        if item.get("reason") == "not_running":
            enforced = "- (not running)"
        else:
            enforced = "yes" if item.get("enforced") else "no (%s)" % (item.get("reason") or "unknown")
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            _md(item.get("instance") or item.get("runtime")), _md(users or "-"), _md(item.get("mode") or "-"),
            _md(item.get("chain") or "-"), _count(item.get("dropped")), _count(item.get("logged")), _md(enforced)))
    return lines


def to_markdown(report_or_fleet):
    """Markdown for one host report or a fleet report."""
    if "hosts" not in report_or_fleet:
        return "\n".join(_host_markdown(report_or_fleet)) + "\n"
    fleet = report_or_fleet
    lines = [
        "# Fleet audit (%s)" % plural(fleet["summary"]["hosts"], "host"),
        "",
        "- Generated: %s by %s (report schema %s)" % (fleet["timestamp"], TOOL_NAME, fleet["schema_version"]),
        "- Findings: %s" % _counts_line(fleet["summary"]["counts"]),
        _gate_line(fleet["fail_on"], plural(fleet["summary"]["hosts_failing"], "host") + " failing"),
        "",
        "| Host | %s | Failing |" % " | ".join(SEVERITIES),
        "|---|%s---|" % ("---|" * len(SEVERITIES)),
    ]
    for report in fleet["hosts"]:
        counts = report["summary"]["counts"]
        cells = " | ".join(str(counts.get(name, 0)) for name in SEVERITIES)
        lines.append("| %s | %s | %d |" % (_md(report["host"]["name"]), cells, report["summary"]["failing"]))
    for report in fleet["hosts"]:
        lines += [""] + _host_markdown(report, level="##")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# SARIF 2.1.0

def _fingerprint(host, finding):
    """The finding's identity: host, rule, subject (which names a runtime by its service, container or
    executable, never a PID) and the bound address of an exposure (0.0.0.0 and :: are two problems)."""
    text = "%s|%s|%s" % (host, finding["id"], finding["subject"])
    if finding.get("address") is not None:
        text += "|%s" % finding["address"]
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _logical_locations(host, finding):
    """The subject as a logical location; one in a container is named inside it (host/container/name/...)."""
    subject = str(finding["subject"])
    container = finding.get("container")
    where = "%s/container/%s" % (host, container) if container else host
    return [{"name": subject, "fullyQualifiedName": "%s/%s" % (where, subject), "kind": "resource"}]


def inventory_location(host, inventory_file=None, inventory_dir=None, source_root=None):
    """Where the inventory defines ``host``, for code-scanning locations: ``{"file", "line"}``.

    The file is ``<inventory_dir>/host_vars/<host>.yml`` (or ``.yaml``, or no extension) when one
    exists, else ``inventory_file`` (the source that defined the host) with the first line that
    names the host. It is relative to ``source_root`` (default: the current directory, which is the
    checkout when CI runs ansible-playbook from it) when it lies below it, else absolute. A host the
    inventory does not name (implicit localhost) gives ``{"file": None, "line": None}``.
    """
    root = os.path.realpath(source_root or os.getcwd())
    found, line = None, None
    if inventory_dir:
        for name in ("%s.yml" % host, "%s.yaml" % host, str(host)):
            candidate = os.path.join(str(inventory_dir), "host_vars", name)
            if os.path.isfile(candidate):
                found = candidate
                break
    if found is None and inventory_file and os.path.isfile(str(inventory_file)):
        found = str(inventory_file)
        line = _host_line(found, host)
    if found is None:
        return {"file": None, "line": None}
    path = os.path.realpath(found)
    if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
        path = os.path.relpath(path, root)
    return {"file": path, "line": line}


def _host_line(path, host):
    """The 1-based number of the first line that names ``host`` as a YAML key or an INI host line, or None."""
    pattern = re.compile(r"""^\s*(?:-\s*)?(["']?)%s\1\s*(?::|\s|$)""" % re.escape(str(host)))
    try:
        with open(path, "r", errors="replace") as handle:
            for number, text in enumerate(handle, 1):
                if number > 100000:
                    break
                if pattern.match(text):
                    return number
    except (IOError, OSError):
        return None
    return None


def _physical_location(host_entry):
    """A SARIF physicalLocation: the host's inventory file relative to %SRCROOT% (absolute when it is
    outside the checkout), or, for a report without one, the host's JSON report."""
    where = host_entry.get("inventory") or {}
    path = where.get("file")
    if not path:
        return {"artifactLocation": {"uri": "%s.json" % host_entry["name"], "uriBaseId": "REPORTDIR"}}
    if os.path.isabs(path):
        location = {"artifactLocation": {"uri": "file://" + _uri_path(path)}}
    else:
        location = {"artifactLocation": {"uri": _uri_path(path), "uriBaseId": SARIF_SRCROOT}}
    if where.get("line"):
        location["region"] = {"startLine": int(where["line"])}
    return location


def _uri_path(path):
    """A file path as a URI reference (forward slashes, percent-encoded where URIs need it)."""
    return quote(path.replace(os.sep, "/"), safe="/-._~")


def _result_properties(host, finding):
    properties = {"host": host, "severity": finding["severity"],
                  "security-severity": SECURITY_SEVERITY.get(finding["severity"], "5.5"),
                  "remediation": finding["remediation"]}
    if finding.get("container"):
        properties["container"] = finding["container"]
    return properties


def to_sarif(report_or_fleet):
    """SARIF 2.1.0 log (a dictionary): one run, every rule, one result per finding per host."""
    rule_ids = sorted(RULES)
    rules = []
    for rule_id in rule_ids:
        rule = RULES[rule_id]
        rules.append({
            "id": rule_id,
            "name": "".join(word.capitalize() for word in rule["title"].replace("-", " ").split() if word.isalnum()),
            "shortDescription": {"text": rule["title"]},
            "fullDescription": {"text": rule["title"] + "."},
            "help": {"text": rule["remediation"], "markdown": rule["remediation"]},
            "helpUri": "%s/README.md#%s" % (TOOL_URI, rule_id.lower()),
            "defaultConfiguration": {"level": SARIF_LEVEL[rule["severity"]]},
            "properties": {"security-severity": SECURITY_SEVERITY[rule["severity"]],
                           "tags": ["security", rule_id.split("-")[1].lower()]},
        })
    results = []
    hosts = _hosts(report_or_fleet)
    for report in hosts:
        host = report["host"]["name"]
        for finding in report.get("findings") or []:
            results.append({
                "ruleId": finding["id"],
                "ruleIndex": rule_ids.index(finding["id"]),
                "level": SARIF_LEVEL.get(finding["severity"], "warning"),
                "message": {"text": "%s: %s. %s" % (host, finding["title"], finding["evidence"])},
                # The physical location is the inventory file that defines the host (its host_vars file
                # when there is one), in the repository; host/container/subject is the logical location.
                "locations": [{
                    "physicalLocation": _physical_location(report["host"]),
                    "logicalLocations": _logical_locations(host, finding),
                }],
                "partialFingerprints": {"aihostFinding/v1": _fingerprint(host, finding)},
                "properties": _result_properties(host, finding),
            })
    timestamp = report_or_fleet.get("timestamp")
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL_NAME, "informationUri": TOOL_URI,
                                "semanticVersion": "%s.0.0" % report_or_fleet.get("schema_version", 2),
                                "rules": rules}},
            "automationDetails": {"id": "aihost-audit/%s" % (
                "fleet" if "hosts" in report_or_fleet else report_or_fleet["host"]["name"])},
            "invocations": [{"executionSuccessful": True, "endTimeUtc": timestamp}],
            "results": results,
            "properties": {"hosts": [report["host"]["name"] for report in hosts]},
        }],
    }


# ---------------------------------------------------------------------------------------------
# GitLab SAST (gl-sast-report.json)
#
# GitLab's artifacts:reports:sast takes GitLab's own security report format, not SARIF (SARIF
# upload is an experiment behind a feature flag as of GitLab 18.11). Schema 15.0.6 is the newest that
# every supported GitLab release reads.

GITLAB_SAST_VERSION = "15.0.6"
GITLAB_SAST_SCHEMA = ("https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/v%s/dist/"
                      "sast-report-format.json" % GITLAB_SAST_VERSION)
GITLAB_SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info"}


def _gitlab_time(timestamp):
    """GitLab wants YYYY-MM-DDTHH:MM:SS (no zone); reports carry ...Z in UTC."""
    return str(timestamp or "1970-01-01T00:00:00Z").rstrip("Z")[:19]


def _gitlab_uuid(fingerprint):
    """A UUID-shaped id from the finding's fingerprint (stable across runs)."""
    text = fingerprint[:32]
    return "%s-%s-%s-%s-%s" % (text[:8], text[8:12], text[12:16], text[16:20], text[20:32])


def to_gitlab_sast(report_or_fleet):
    """GitLab SAST report (a dictionary): one vulnerability per finding per host.

    The location is the host's inventory file (as in SARIF); GitLab tells vulnerabilities apart by
    their primary identifier and location, so the primary identifier is the finding's fingerprint
    (one host file holds many findings) and the second is the rule.
    """
    analyzer = {"id": "aihost-audit", "name": TOOL_NAME, "version": "%s.0.0" % report_or_fleet.get("schema_version", 2),
                "vendor": {"name": "aihost.hardening"}}
    vulnerabilities = []
    for report in _hosts(report_or_fleet):
        host_entry = report["host"]
        host = host_entry["name"]
        where = host_entry.get("inventory") or {}
        location = {"file": where.get("file") or "%s.json" % host}
        if where.get("line"):
            location["start_line"] = int(where["line"])
        for finding in report.get("findings") or []:
            fingerprint = _fingerprint(host, finding)
            rule = RULES.get(finding["id"], {})
            vulnerabilities.append({
                "id": _gitlab_uuid(fingerprint),
                "name": ("%s: %s" % (finding["id"], finding["title"]))[:255],
                "description": "%s (%s): %s" % (host, finding["subject"], finding["evidence"]),
                "severity": GITLAB_SEVERITY.get(finding["severity"], "Unknown"),
                "solution": str(finding["remediation"])[:7000],
                "location": dict(location),
                "identifiers": [
                    {"type": "aihost_finding", "name": ("%s %s on %s" % (finding["id"], finding["subject"], host))[:255],
                     "value": fingerprint},
                    {"type": "aihost_rule", "name": "%s %s" % (finding["id"], rule.get("title", finding["title"])),
                     "value": finding["id"], "url": "%s/README.md#%s" % (TOOL_URI, finding["id"].lower())},
                ],
            })
    when = _gitlab_time(report_or_fleet.get("timestamp"))
    return {
        "schema": GITLAB_SAST_SCHEMA,
        "version": GITLAB_SAST_VERSION,
        "scan": {"analyzer": analyzer, "scanner": dict(analyzer), "type": "sast",
                 "start_time": when, "end_time": when, "status": "success"},
        "vulnerabilities": vulnerabilities,
    }


# ---------------------------------------------------------------------------------------------
# JUnit XML

def to_junit(report_or_fleet):
    """JUnit XML: one testsuite per host, one testcase per rule; a rule with findings fails."""
    suites = []
    total_tests = total_failures = 0
    for report in _hosts(report_or_fleet):
        host = report["host"]["name"]
        by_rule = {}
        for finding in report.get("findings") or []:
            by_rule.setdefault(finding["id"], []).append(finding)
        cases = []
        for rule_id in sorted(RULES):
            rule = RULES[rule_id]
            name = "%s %s" % (rule_id, rule["title"])
            found = by_rule.get(rule_id)
            if not found:
                cases.append('    <testcase classname=%s name=%s time="0"/>' % (
                    quoteattr("aihost.audit.%s" % host), quoteattr(name)))
                continue
            worst = min((SEVERITIES.index(item["severity"]) for item in found))
            body = "\n".join("[%s] %s: %s\nRemediation: %s" % (
                item["severity"], item["subject"], item["evidence"], item["remediation"]) for item in found)
            template = ('    <testcase classname=%s name=%s time="0">\n'
                        '      <failure message=%s type=%s>%s</failure>\n'
                        '    </testcase>')
            message = "%s: %s" % (plural(len(found), "finding"), "; ".join(str(item["subject"]) for item in found))
            cases.append(template % (quoteattr("aihost.audit.%s" % host), quoteattr(name), quoteattr(message),
                                     quoteattr(SEVERITIES[worst]), escape(body)))
        failures = len(by_rule)
        total_tests += len(RULES)
        total_failures += failures
        suites.append('  <testsuite name=%s tests="%d" failures="%d" errors="0" skipped="0" time="0" '
                      'timestamp=%s hostname=%s>\n%s\n  </testsuite>' % (
                          quoteattr("aihost audit %s" % host), len(RULES), failures,
                          quoteattr(str(report.get("timestamp") or "").rstrip("Z")), quoteattr(host),
                          "\n".join(cases)))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<testsuites name="aihost.hardening audit" tests="%d" failures="%d" errors="0" time="0">\n%s\n'
            '</testsuites>\n' % (total_tests, total_failures, "\n".join(suites)))
