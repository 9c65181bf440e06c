"""Unit tests of the audit report formats (plugins/module_utils/audit_reports.py and the
aihost.hardening.audit_* filters): JSON against the published schema, SARIF against a SARIF 2.1.0
schema subset, JUnit XML through a real consumer (junitparser), Markdown structure."""
import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml
from junitparser import JUnitXml

from ansible_collections.aihost.hardening.plugins.filter import audit as audit_filter
from ansible_collections.aihost.hardening.plugins.module_utils import audit_policy, audit_reports

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "audit")
with open(os.path.join(ROOT, "roles", "audit", "files", "advisories.yml")) as _handle:
    ADVISORIES = yaml.safe_load(_handle)
with open(os.path.join(ROOT, "roles", "audit", "files", "report.schema.json")) as _handle:
    REPORT_SCHEMA = json.load(_handle)
with open(os.path.join(FIXTURES, "sarif-2.1.0-subset.schema.json")) as _handle:
    SARIF_SCHEMA = json.load(_handle)

CHECKS = "\n".join(["@@nft_ruleset", "@@firewalld", "inactive", "@@ufw", "@@apt_periodic", "@@unattended_upgrades",
                    "@@dnf_timers", "@@data_paths", "777|root|root|/root/.ollama/models", "@@packages",
                    "dpkg|nftables|1.0.6-2"])


def base_report(name, exposed=True):
    listen_address = "0.0.0.0" if exposed else "127.0.0.1"
    scope = "all" if exposed else "loopback"
    listeners = [{"protocol": "tcp", "family": "ipv4", "address": listen_address, "port": 11434, "scope": scope,
                  "pid": 10, "process": "ollama", "user": "root", "unit": "ollama.service", "container": None,
                  "runtime": "ollama"}]
    runtime = {"name": "ollama", "display_name": "Ollama", "version": "0.12.3" if exposed else "0.17.1",
               "version_source": "command", "exposure": scope, "auth": {"enabled": False, "evidence": "none"},
               "run_as": ["root" if exposed else "ollama"], "processes": [{"pid": 10}], "units": [{"name": "ollama.service"}],
               "containers": [], "listen": [dict(listeners[0])], "data_paths": ["/root/.ollama/models"],
               "risky_flags": [], "packages": []}
    return {"schema_version": 1, "generator": "aihost.hardening.audit", "timestamp": "2026-11-26T09:00:00Z",
            "host": {"name": name, "address": name, "hostname": name, "fqdn": None, "os": "Debian 12",
                     "kernel": "6.1", "architecture": "x86_64"},
            "aihost_runtime": {"schema_version": 1, "listeners": listeners, "runtimes": [runtime], "warnings": []},
            "aihost_gpu": {"schema_version": 1, "present": False, "gpus": [], "accelerators": [], "device_nodes": [],
                           "summary": "CPU-only host"}}


@pytest.fixture(scope="module")
def exposed():
    return audit_filter.audit_evaluate(base_report("exposed"), CHECKS, [], ADVISORIES, "high")


@pytest.fixture(scope="module")
def justified():
    good = CHECKS.replace("@@firewalld\ninactive", "@@firewalld\nactive").replace("777|", "755|").replace(
        "@@unattended_upgrades", 'APT::Periodic::Unattended-Upgrade "1";\n@@unattended_upgrades\npresent')
    return audit_filter.audit_evaluate(base_report("justified", exposed=False), good, [], ADVISORIES, "high")


@pytest.fixture(scope="module")
def fleet(exposed, justified):
    return audit_filter.audit_fleet([justified, exposed], "high", "2026-11-26T09:00:01Z")


def test_host_and_fleet_json_validate_against_the_published_schema(exposed, justified, fleet):
    for report in (exposed, justified, fleet):
        jsonschema.validate(json.loads(json.dumps(report)), REPORT_SCHEMA)
    assert exposed["schema_version"] == 2 and fleet["kind"] == "fleet"
    assert [host["host"]["name"] for host in fleet["hosts"]] == ["exposed", "justified"]


def test_schema_rejects_a_report_without_findings(exposed):
    broken = json.loads(json.dumps(exposed))
    del broken["findings"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, REPORT_SCHEMA)


def test_checkpoint_records_packages_runtimes_data_paths_and_listeners(exposed):
    checkpoint = exposed["checkpoint"]
    assert {"manager": "dpkg", "name": "nftables", "version": "1.0.6-2", "runtime": None} in checkpoint["packages"]
    assert checkpoint["runtimes"][0]["version"] == "0.12.3"
    assert checkpoint["data_paths"] == [{"mode": "0777", "owner": "root", "group": "root", "path": "/root/.ollama/models"}]
    assert checkpoint["listeners"][0]["port"] == 11434 and checkpoint["listeners"][0]["allowed_by"] is None


def test_exposed_report_counts_and_gate(exposed, justified, fleet):
    assert sorted(item["id"] for item in exposed["findings"]) == sorted(
        ["AIH-EXP-002", "AIH-EXP-003", "AIH-ADV-001", "AIH-CFG-002", "AIH-CFG-004", "AIH-CFG-005", "AIH-CFG-006"])
    assert exposed["summary"]["failing"] == 5    # critical x2 (EXP-003, ADV-001) + high x3 (EXP-002, CFG-004, CFG-006)
    assert justified["findings"] == [] and justified["summary"]["failing"] == 0
    assert fleet["summary"]["hosts_failing"] == 1 and fleet["summary"]["failing"] == 5


def test_bad_fail_on_is_refused():
    with pytest.raises(Exception, match="aihost_audit_fail_on"):
        audit_filter.audit_evaluate(base_report("x"), CHECKS, [], ADVISORIES, "severe")


def test_sarif_validates_and_has_one_result_per_finding(exposed, fleet):
    for report in (exposed, fleet):
        sarif = json.loads(json.dumps(audit_filter.audit_sarif(report)))
        jsonschema.validate(sarif, SARIF_SCHEMA)
        run = sarif["runs"][0]
        rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
        assert rules == sorted(audit_policy.RULES)
        findings = report["findings"] if "findings" in report else [f for h in report["hosts"] for f in h["findings"]]
        assert len(run["results"]) == len(findings)
        for result in run["results"]:
            assert rules[result["ruleIndex"]] == result["ruleId"]
            assert result["level"] in ("error", "warning", "note")
    critical = [r for r in audit_reports.to_sarif(exposed)["runs"][0]["results"] if r["ruleId"] == "AIH-EXP-003"][0]
    assert critical["level"] == "error" and critical["properties"]["security-severity"] == "9.5"


def test_sarif_schema_subset_catches_a_wrong_level(exposed):
    sarif = json.loads(json.dumps(audit_reports.to_sarif(exposed)))
    sarif["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sarif, SARIF_SCHEMA)


def test_sarif_fingerprints_are_stable_across_runs(exposed):
    first = audit_reports.to_sarif(exposed)["runs"][0]["results"]
    again = audit_reports.to_sarif(json.loads(json.dumps(exposed)))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in first] == [r["partialFingerprints"] for r in again]


def test_junit_is_read_by_junitparser_with_one_failing_case_per_rule_with_findings(tmp_path, exposed, fleet):
    path = tmp_path / "fleet.junit.xml"
    path.write_text(audit_filter.audit_junit(fleet))
    xml = JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert sorted(suites) == ["aihost audit exposed", "aihost audit justified"]
    rules_hit = sorted(set(item["id"] for item in exposed["findings"]))
    for name, suite in suites.items():
        assert suite.tests == len(audit_policy.RULES)
        failed = sorted(case.name.split()[0] for case in suite if not case.is_passed)
        assert failed == (rules_hit if name.endswith("exposed") else [])
        assert suite.failures == len(failed)
    case = [c for c in suites["aihost audit exposed"] if c.name.startswith("AIH-EXP-003")][0]
    assert case.result[0].type == "critical" and "Remediation" in case.result[0].text


def test_junit_escapes_markup_in_evidence(exposed):
    nasty = json.loads(json.dumps(exposed))
    nasty["findings"][0]["evidence"] = '<script>&"quotes"</script>'
    ET.fromstring(audit_reports.to_junit(nasty).encode("utf-8"))


def test_markdown_lists_every_finding_and_the_checkpoint(exposed, fleet):
    text = audit_filter.audit_markdown(exposed)
    assert text.startswith("# Audit of exposed")
    for item in exposed["findings"]:
        assert "| %s | %s |" % (item["id"], item["severity"]) in text
    for heading in ("## Findings", "## Listeners observed", "## Runtimes", "## Package versions"):
        assert heading in text
    fleet_text = audit_filter.audit_markdown(fleet)
    assert fleet_text.startswith("# Fleet audit (2 hosts)") and "## Audit of justified" in fleet_text
    assert "No findings." in fleet_text


def test_model_integrity_results_and_their_findings_fit_every_format():
    checks = audit_policy.parse_host_checks(CHECKS.replace("777|", "755|"))
    checks["model_integrity"] = {
        "pinned_at": "2026-12-05T10:00:00Z", "verified_at": "2026-12-06T03:30:12Z", "errors": [],
        "stores": [{"path": "/srv/models", "files_not_listed": 0, "ok": False, "error": None,
                    "drift": {"added": 0, "removed": 0, "changed": 1, "symlinks_changed": 0},
                    "signature_valid": True, "signature_detail": "HMAC-SHA256 matches",
                    "files": [{"path": "evil.pt", "verdict": "malicious", "format": "pickle", "severity": "critical",
                               "sha256": "ab" * 32, "detail": "imports posix.system"}]}]}
    report = audit_filter.audit_evaluate(base_report("models", exposed=False), checks, [], ADVISORIES, "high")
    jsonschema.validate(json.loads(json.dumps(report)), REPORT_SCHEMA)
    assert [(item["id"], item["subject"]) for item in report["findings"] if item["id"].startswith("AIH-MOD")] == [
        ("AIH-MOD-001", "/srv/models/evil.pt"), ("AIH-MOD-002", "/srv/models")]
    sarif = audit_filter.audit_sarif(report)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    assert {"AIH-MOD-001", "AIH-MOD-002"} <= set(result["ruleId"] for result in sarif["runs"][0]["results"])
    assert "AIH-MOD-001" in audit_filter.audit_markdown(report)


# ---------------------------------------------------------------------------------------------
# Stable identities: containers named, fingerprints without PIDs.

def _runtime_facts(pids, port=8000, reverse=False):
    """Two Ollama containers without a unit and a vLLM process without a unit, all root and open."""
    def container_runtime(container, pid, host_port):
        return {"name": "ollama", "display_name": "Ollama", "version": None, "exposure": "all",
                "auth": {"enabled": False, "evidence": "none"}, "run_as": ["root"],
                "processes": [{"pid": pid, "exe": "/bin/ollama", "cmdline": ["/bin/ollama", "serve"]}],
                "units": [], "containers": [{"id": container[1], "name": container[0], "engine": "docker",
                                             "published": [{"host_ip": "127.0.0.1", "host_port": host_port,
                                                            "container_port": 11434, "protocol": "tcp"}]}],
                "listen": [], "container_listen": [], "data_paths": [], "risky_flags": [], "packages": []}
    vllm_listen = {"protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": port, "scope": "all",
                   "pid": pids[2], "process": "python3", "user": "root", "unit": None, "container": None,
                   "runtime": "vllm"}
    vllm = {"name": "vllm", "display_name": "vLLM", "version": None, "exposure": "all",
            "auth": {"enabled": False, "evidence": "no --api-key"}, "run_as": ["root"],
            "processes": [{"pid": pids[2], "exe": "/opt/vllm/bin/python3", "cmdline": ["python3", "-m", "vllm"]}],
            "units": [], "containers": [], "listen": [dict(vllm_listen)], "container_listen": [],
            "data_paths": [], "risky_flags": [{"flag": "--trust-remote-code", "value": "", "reason": "runs model code"}],
            "packages": []}
    runtimes = [container_runtime(("ollama-a", "a" * 64), pids[0], 11434),
                container_runtime(("ollama-b", "b" * 64), pids[1], 11435), vllm]
    listeners = [vllm_listen, dict(vllm_listen, family="ipv6", address="::", inode=2)]
    if reverse:
        runtimes.reverse()
        listeners.reverse()
    report = base_report("gpu1")
    report["aihost_runtime"] = {"schema_version": 1, "listeners": listeners, "runtimes": runtimes, "warnings": []}
    return audit_filter.audit_evaluate(report, CHECKS, [], ADVISORIES, "high")


def _fingerprints(report):
    return [result["partialFingerprints"]["aihostFinding/v1"] for result in audit_reports.to_sarif(report)["runs"][0]["results"]]


def test_runtimes_in_containers_are_named_by_their_container():
    """Two Ollama containers make two distinct findings per rule, each naming its container in the
    subject and in the SARIF location; none names a PID."""
    report = _runtime_facts(pids=(101, 102, 103))
    root = sorted(item["subject"] for item in report["findings"] if item["id"] == "AIH-CFG-002")
    assert root == ["ollama (container ollama-a)", "ollama (container ollama-b)", "vllm (/opt/vllm/bin/python3, tcp 0.0.0.0:8000)"]
    assert all("pid" not in str(item["subject"]) for item in report["findings"])
    results = audit_reports.to_sarif(report)["runs"][0]["results"]
    names = [result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for result in results
             if result["ruleId"] == "AIH-CFG-002"]
    assert "gpu1/container/ollama-a/ollama (container ollama-a)" in names
    assert any(result["properties"].get("container") == "ollama-b" for result in results)


def test_fingerprints_survive_restarts_and_reordering_and_differ_per_problem():
    """Two audits whose facts differ only in PIDs (a restart without a unit) and in order give the same
    fingerprint set; every finding has its own fingerprint; a different port is a different problem."""
    first = _fingerprints(_runtime_facts(pids=(101, 102, 103)))
    restarted = _fingerprints(_runtime_facts(pids=(9001, 9002, 9003), reverse=True))
    assert sorted(first) == sorted(restarted)
    assert len(set(first)) == len(first)     # unique per problem, IPv4 and IPv6 binds included
    moved = _fingerprints(_runtime_facts(pids=(101, 102, 103), port=8001))
    assert set(moved) != set(first)


def test_identical_instances_are_told_apart_without_pids():
    """Two vLLM processes of the same executable, without unit or container, on different ports."""
    report = _runtime_facts(pids=(1, 2, 3))
    vllm = [rt for rt in report["aihost_runtime"]["runtimes"] if rt["name"] == "vllm"][0]
    second = json.loads(json.dumps(vllm))
    second["processes"][0]["pid"] = 4
    vllm["listen"] = []
    names = audit_policy._instances([vllm, second])  # pylint: disable=protected-access
    assert len(set(names)) == 2 and all("pid" not in name for name in names)


def test_plurals_and_the_gate_read_as_english(exposed, justified):
    one = audit_filter.audit_fleet([exposed], "high", "2026-11-26T09:00:01Z")
    text = audit_reports.to_markdown(one)
    assert text.startswith("# Fleet audit (1 host)\n") and "1 host failing" in text
    off = audit_filter.audit_evaluate(base_report("quiet"), CHECKS, [], ADVISORIES, "none")
    assert "- Gate: off (fail_on: none)" in audit_reports.to_markdown(off)
    assert "none and above" not in audit_reports.to_markdown(off)
    assert audit_reports.plural(1, "finding") == "1 finding" and audit_reports.plural(0, "finding") == "0 findings"


def test_gate_verdict_names_the_failing_findings(exposed, justified):
    verdict = audit_filter.audit_verdict(exposed)
    assert verdict.startswith("exposed: audit gate FAILED: 5 findings at or above high: ")
    assert "AIH-CFG-004 No active host firewall" in verdict and "AIH-CFG-005" not in verdict  # medium
    assert audit_filter.audit_verdict(justified) == "justified: audit gate passed: no finding at or above high (0 findings in all)"
    off = audit_filter.audit_evaluate(base_report("quiet"), CHECKS, [], ADVISORIES, "none")
    assert audit_filter.audit_verdict(off).startswith("quiet: audit gate off (fail_on: none): 7 findings reported")
