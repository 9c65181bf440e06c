"""playbooks/audit.yml through ansible-runner, the engine AWX/AAP runs jobs with, against this
machine over a local connection (the audit only reads the host). Proves that the per-host summary
set with set_stats reaches the runner's artifacts (the playbook_on_stats event's artifact_data,
which AWX shows as the job's artifacts), that reports can go to the runner's artifact directory
(AWX_ISOLATED_DATA_DIR), and that SARIF locations name the inventory's host_vars file in the checkout."""
import json
import os
import sys

import pytest

ansible_runner = pytest.importorskip("ansible_runner")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEVERITIES = ("critical", "high", "medium", "low", "info")


def run_audit(tmp_path_factory, **extravars):
    """One runner job: a checkout-like source root holding the inventory, a private data directory,
    reports into the job's artifact directory. Returns the runner and the job's artifact directory."""
    source = tmp_path_factory.mktemp("checkout")
    inventory = source / "inventories" / "runner"
    (inventory / "host_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text("all:\n  hosts:\n    localhost:\n")
    (inventory / "host_vars" / "localhost.yml").write_text(
        "ansible_connection: local\nansible_python_interpreter: %s\n" % sys.executable)
    private = tmp_path_factory.mktemp("runner")
    env = {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".collections"),
        "ANSIBLE_NOCOLOR": "1",
    }
    result = ansible_runner.run(
        private_data_dir=str(private), project_dir=ROOT, playbook=os.path.join(ROOT, "playbooks", "audit.yml"),
        inventory=str(inventory / "hosts.yml"), ident="audit", envvars=env, quiet=True, timeout=240,
        extravars={
            # The recipe of docs/audit.md: reports into the job's artifact directory.
            "aihost_audit_report_dir": "{{ lookup('ansible.builtin.env', 'AWX_ISOLATED_DATA_DIR') ~ '/reports' }}",
            "aihost_audit_source_root": str(source),
            "aihost_audit_print_summary": False,
            "aihost_audit_version_commands": False,
            **extravars
        })
    return result, private / "artifacts" / "audit"


def stats_summary(artifacts):
    """aihost_audit from the playbook_on_stats event in job_events/ (AWX's job artifacts)."""
    events = [json.loads(path.read_text()) for path in (artifacts / "job_events").glob("*.json")]
    stats = [event for event in events if event.get("event") == "playbook_on_stats"]
    assert len(stats) == 1
    return stats[0]["event_data"]["artifact_data"]["aihost_audit"]


@pytest.fixture(name="job", scope="module")
def job_fixture(tmp_path_factory):
    return run_audit(tmp_path_factory, aihost_audit_fail_on="none")


def test_the_audit_runs_through_ansible_runner(job):
    result, artifacts = job
    assert result.rc == 0 and result.status == "successful", (artifacts / "stdout").read_text()
    assert (artifacts / "rc").read_text().strip() == "0" and (artifacts / "status").read_text().strip() == "successful"


def test_set_stats_summary_is_in_the_runner_artifacts(job):
    """The playbook_on_stats event (job_events/*.json) carries aihost_audit.<host>: counts, gate, verdict."""
    _result, artifacts = job
    summary = stats_summary(artifacts)
    assert list(summary) == ["localhost"]
    host = summary["localhost"]
    assert host["gate"] == "off" and host["fail_on"] == "none"
    assert host["total"] == sum(host[name] for name in SEVERITIES)
    assert host["verdict"].startswith("localhost: audit gate off")
    report = json.loads((artifacts / "reports" / "localhost.json").read_text())
    assert host["total"] == report["summary"]["total"] == len(report["findings"])
    assert dict((name, host[name]) for name in SEVERITIES) == report["summary"]["counts"]


def test_reports_are_in_the_artifact_directory_private(job):
    _result, artifacts = job
    reports = artifacts / "reports"
    names = sorted(os.listdir(str(reports)))
    for name in ("localhost.json", "localhost.sarif", "fleet.sarif", "fleet.gl-sast.json", "fleet.json"):
        assert name in names
    assert oct(os.stat(str(reports)).st_mode & 0o777) == "0o700"
    assert all(oct(os.stat(str(reports / name)).st_mode & 0o777) == "0o600" for name in names)


def test_sarif_locations_name_the_host_vars_file_in_the_checkout(job):
    _result, artifacts = job
    sarif = json.loads((artifacts / "reports" / "fleet.sarif").read_text())
    report = json.loads((artifacts / "reports" / "localhost.json").read_text())
    assert report["host"]["inventory"] == {"file": "inventories/runner/host_vars/localhost.yml", "line": None}
    for result in sarif["runs"][0]["results"]:
        assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {
            "uri": "inventories/runner/host_vars/localhost.yml", "uriBaseId": "%SRCROOT%"}


def test_a_failed_gate_fails_the_job_and_its_summary_says_so(tmp_path_factory):
    """A malicious model file recorded by the model_integrity role (AIH-MOD-001, critical) fails the
    gate: the runner job fails with ansible-playbook's rc 2 and its summary says failed."""
    state = tmp_path_factory.mktemp("model_integrity")
    (state / "findings.json").write_text(json.dumps({"stores": [{"path": "/srv/models", "findings": [
        {"path": "evil.pt", "verdict": "malicious", "format": "pickle", "severity": "critical", "sha256": "ab" * 32,
         "findings": [{"detail": "imports posix.system"}]}]}]}))
    result, artifacts = run_audit(tmp_path_factory, aihost_audit_fail_on="critical",
                                  aihost_audit_model_integrity_state_dir=str(state))
    assert result.rc == 2 and result.status == "failed"
    host = stats_summary(artifacts)["localhost"]
    assert host["gate"] == "failed" and host["critical"] >= 1 and host["failing"] == host["critical"]
    assert "AIH-MOD-001" in host["verdict"]
