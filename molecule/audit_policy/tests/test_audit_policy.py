"""Verify the audit's policy, findings, reports and gate against two real hosts.

audit-policy-exposed is exposed on purpose and must yield EXACTLY the expected findings;
audit-policy-justified has a written reason for its one open port and must yield only AIH-CFG-009 (its
Ollama runs as a service user, but no output chain restricts it: the firewall role never ran). The audit
(check, converge and idempotence runs) must have left /etc, the unit files and the nftables ruleset
byte-identical. The gate and the policy validation are run here from the controller.
"""
import collections
import json
import os
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")

PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
SCENARIO = os.path.join(PROJECT, "molecule", "audit_policy")
FINGERPRINT = os.path.join(PROJECT, "molecule", "shared", "fingerprint.sh")
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
REPORT_DIR = os.path.join(EPHEMERAL, "reports")
SCHEMA = os.path.join(PROJECT, "roles", "audit", "files", "report.schema.json")

EXPECTED = {
    "audit-policy-exposed": collections.Counter({
        "AIH-EXP-001": 1,   # python3 http.server on 0.0.0.0:9000, no policy entry
        "AIH-EXP-002": 1,   # Ollama on 0.0.0.0:11434
        "AIH-EXP-003": 1,   # ... with no authentication
        "AIH-ADV-001": 1,   # stand-in version 0.12.3 < 0.17.1 (CVE-2026-7482)
        "AIH-CFG-001": 1,   # /dev/nvidia0, /dev/nvidiactl mode 0666
        "AIH-CFG-002": 1,   # Ollama as root
        "AIH-CFG-003": 1,   # OLLAMA_ORIGINS=*
        "AIH-CFG-004": 1,   # no firewall
        "AIH-CFG-005": 1,   # no automatic updates
        "AIH-CFG-006": 1,   # /root/.ollama/models mode 0777
        "AIH-CFG-009": 1,   # Ollama as root: its egress is never restricted
    }),
    # Ollama as user ollama, but the prepared ruleset has no output chain (medium: the gate still passes).
    "audit-policy-justified": collections.Counter({"AIH-CFG-009": 1}),
}


def load(name):
    with open(os.path.join(REPORT_DIR, name)) as handle:
        return handle.read()


def test_audit_left_etc_units_and_nftables_byte_identical(host):
    """The fingerprint taken at the end of prepare equals one taken now, after three audit runs."""
    with open(FINGERPRINT) as handle:
        script = handle.read()
    now = host.run("bash -c %s" % shlex.quote(script))
    assert now.rc == 0, now.stderr
    before = host.file("/var/tmp/aihost-audit-before.txt").content_string
    assert len(before.splitlines()) > 100, "the fingerprint covers /etc and the unit files"
    assert now.stdout == before


def test_justified_host_really_filters_and_updates(host):
    """Guard against a vacuous pass: the justified host has a live drop ruleset and unattended-upgrades."""
    if host.backend.host != "audit-policy-justified":
        pytest.skip("justified host only")
    assert "policy drop" in host.check_output("nft list ruleset")
    assert host.package("unattended-upgrades").is_installed


def test_findings_are_exactly_the_expected_ones(host):
    report = json.loads(load(host.backend.host + ".json"))
    jsonschema.validate(report, json.load(open(SCHEMA)))
    found = collections.Counter(item["id"] for item in report["findings"])
    assert found == EXPECTED[host.backend.host], json.dumps(report["findings"], indent=1)
    if host.backend.host == "audit-policy-exposed":
        adv = [item for item in report["findings"] if item["id"] == "AIH-ADV-001"][0]
        assert adv["advisory"] == "CVE-2026-7482" and adv["version"] == "0.12.3"
        assert report["summary"]["counts"]["critical"] == 2


def test_checkpoint_records_the_listeners_and_the_policy_reason(host):
    report = json.loads(load(host.backend.host + ".json"))
    listeners = dict(((item["port"], item["address"]), item) for item in report["checkpoint"]["listeners"])
    assert listeners[(9000, "0.0.0.0")]["process"] == "python3"
    reason = listeners[(9000, "0.0.0.0")]["allowed_by"]
    if host.backend.host == "audit-policy-justified":
        assert reason == "Build artefacts served to the CI runners' network."
        assert (11434, "127.0.0.1") in listeners
    else:
        assert reason is None
        assert (11434, "0.0.0.0") in listeners
    assert any(item["name"] == "ollama" for item in report["checkpoint"]["runtimes"])
    assert report["policy"][0]["port"] == 22 and report["policy"][0]["sources"] == ["10.20.0.0/16"]


def test_every_format_is_written_for_the_host_and_the_fleet(host):
    for stem in (host.backend.host, "fleet"):
        sarif = json.loads(load(stem + ".sarif"))
        assert sarif["version"] == "2.1.0"
        ET.fromstring(load(stem + ".junit.xml").encode())
        assert load(stem + ".md").startswith("# ")
    fleet = json.loads(load("fleet.json"))
    assert sorted(item["host"]["name"] for item in fleet["hosts"]) == sorted(EXPECTED)
    assert fleet["summary"]["hosts_failing"] == 0, "fail_on none in converge: nothing fails"


def run_audit(tmp_path, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], os.path.join(PROJECT, "playbooks", "audit.yml"),
         "-e", "aihost_audit_report_dir=%s" % tmp_path, "-e", "aihost_audit_print_summary=false"] + list(extra),
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False)
    # Plain text, one line per message: no colour codes, the callback's wrapping joined.
    out = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    return result.returncode, re.sub(r"\s+", " ", out), out


def test_gate_fails_the_exposed_host_only_and_names_the_reports(tmp_path):
    returncode, out, raw = run_audit(tmp_path, "-e", "aihost_audit_fail_on=high")
    assert returncode == 2, raw
    assert "audit-policy-exposed: audit gate FAILED: 6 findings at or above high: " in out
    assert "audit-policy-justified: audit gate passed: no finding at or above high" in out
    assert "Reports: %s/ (audit-policy-exposed.*, fleet.*)" % tmp_path in out
    # The run ends with the verdicts, after the failure and the summaries (#21).
    tail = out[out.rindex("Print the summary"):]
    assert "audit gate FAILED" in tail[tail.index("Print the audit gate's verdict"):], raw
    assert re.search(r"audit-policy-justified : ok=\d+ changed=0 unreachable=0 failed=0", out), raw
    assert re.search(r"audit-policy-exposed : ok=\d+ changed=0 unreachable=0 failed=1", out), raw
    assert (tmp_path / "fleet.json").is_file(), "the fleet report is written before the gate fails"


def test_bad_policy_fails_before_anything_runs_naming_variable_and_values(tmp_path):
    bad = {"aihost_audit_allowed_exposures": [
        {"port": 70000, "reason": "Too high."},
        {"port": 8080, "scope": "everywhere", "reason": "Unknown scope."},
        {"port": 8081},
    ], "aihost_audit_advisories_file": "/nonexistent/advisories.yml"}
    varfile = tmp_path / "bad.json"
    varfile.write_text(json.dumps(bad))
    returncode, out, raw = run_audit(tmp_path, "-e", "@%s" % varfile)
    assert returncode == 2, raw
    assert "aihost_audit_allowed_exposures[0].port: 70000" in out
    assert "aihost_audit_allowed_exposures[1].scope: 'everywhere'" in out
    assert "aihost_audit_allowed_exposures[2].reason: is required" in out
    assert "aihost_audit_advisories_file: /nonexistent/advisories.yml cannot be read" in out
    assert "Read runtimes, listeners" not in out, "nothing ran on the hosts"
    assert not (tmp_path / "fleet.json").exists()


def sarif_fingerprints(directory, host):
    with open(os.path.join(str(directory), host + ".sarif")) as handle:
        sarif = json.load(handle)
    return sorted(json.dumps(result["partialFingerprints"], sort_keys=True)
                  for run in sarif["runs"] for result in run["results"])


def test_fingerprints_survive_a_restart_of_a_runtime_without_a_unit(tmp_path):
    """A runtime started by hand has no unit and gets a new PID when it restarts: its findings keep the
    same SARIF fingerprints, so code scanning sees the same alerts, not new ones (#21)."""
    exposed = testinfra.get_host("ansible://audit-policy-exposed?ansible_inventory=%s" % os.environ["MOLECULE_INVENTORY_FILE"])
    start = ("OLLAMA_HOST=0.0.0.0:11500 HOME=/root setsid /usr/local/bin/ollama serve >/dev/null 2>&1 </dev/null & "
             "echo $!; for i in $(seq 50); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 11500), 1)' "
             "2>/dev/null && break; sleep 0.2; done")
    pids = []
    try:
        pids.append(exposed.check_output(start).split()[0])
        assert run_audit(tmp_path / "first", "-e", "aihost_audit_fail_on=none")[0] == 0
        exposed.run("kill %s", pids[-1])
        pids.append(exposed.check_output(start).split()[0])
        assert pids[0] != pids[1]
        assert run_audit(tmp_path / "second", "-e", "aihost_audit_fail_on=none")[0] == 0
    finally:
        for pid in pids:
            exposed.run("kill %s", pid)
    first = sarif_fingerprints(tmp_path / "first", "audit-policy-exposed")
    second = sarif_fingerprints(tmp_path / "second", "audit-policy-exposed")
    assert first == second
    assert len(set(first)) == len(first), "one fingerprint per real problem"
    with open(str(tmp_path / "first" / "audit-policy-exposed.json")) as handle:
        subjects = [finding["subject"] for finding in json.load(handle)["findings"]]
    assert any("11500" in subject for subject in subjects), subjects
