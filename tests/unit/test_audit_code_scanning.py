"""Code scanning: the audit's SARIF against the SARIF 2.1.0 JSON schema (the SARIF SDK's copy,
tests/unit/fixtures/sarif/README.md), its locations (each host's inventory file under %SRCROOT%, so
GitHub finds them in the checkout), and the GitLab SAST report GitLab's artifacts:reports:sast reads."""
import json
import os

import jsonschema
import pytest

from ansible_collections.aihost.hardening.plugins.filter import audit as audit_filter
from ansible_collections.aihost.hardening.plugins.module_utils import audit_reports

from test_audit_reports import ADVISORIES, CHECKS, REPORT_SCHEMA, base_report

HERE = os.path.dirname(__file__)
with open(os.path.join(HERE, "fixtures", "sarif", "sarif-schema-2.1.0.json")) as _handle:
    OFFICIAL_SARIF_SCHEMA = json.load(_handle)
with open(os.path.join(HERE, "fixtures", "sarif", "gitlab-sast-15.0.6-subset.schema.json")) as _handle:
    GITLAB_SAST_SUBSET = json.load(_handle)


def official_validator():
    cls = jsonschema.validators.validator_for(OFFICIAL_SARIF_SCHEMA)
    cls.check_schema(OFFICIAL_SARIF_SCHEMA)
    return cls(OFFICIAL_SARIF_SCHEMA, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(name="repo")
def repo_fixture(tmp_path):
    """A checkout with two inventories: one with a host_vars file for gpu1, one INI file only."""
    inv = tmp_path / "inventories" / "prod"
    (inv / "host_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  children:\n    nvidia:\n      hosts:\n        gpu1:\n        gpu2:\n"
                                   "          ansible_host: 10.0.0.2\n")
    (inv / "host_vars" / "gpu1.yml").write_text("aihost_audit_fail_on: high\n")
    ini = tmp_path / "inventories" / "lab"
    ini.mkdir(parents=True)
    (ini / "hosts.ini").write_text("[cpu]\nweb-1 ansible_host=10.0.0.9\ncpu-1\n")
    return tmp_path


def evaluated(name, inventory):
    report = base_report(name)
    report["host"]["inventory"] = inventory
    return audit_filter.audit_evaluate(report, CHECKS, [], ADVISORIES, "high")


def test_inventory_location_prefers_host_vars_then_the_line_that_names_the_host(repo):
    prod = str(repo / "inventories" / "prod")
    assert audit_reports.inventory_location("gpu1", prod + "/hosts.yml", prod, str(repo)) == {
        "file": "inventories/prod/host_vars/gpu1.yml", "line": None}
    assert audit_reports.inventory_location("gpu2", prod + "/hosts.yml", prod, str(repo)) == {
        "file": "inventories/prod/hosts.yml", "line": 6}
    lab = str(repo / "inventories" / "lab")
    assert audit_reports.inventory_location("cpu-1", lab + "/hosts.ini", lab, str(repo)) == {
        "file": "inventories/lab/hosts.ini", "line": 3}


def test_inventory_location_outside_the_root_is_absolute_and_none_without_a_file(repo, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("checkout")
    prod = str(repo / "inventories" / "prod")
    where = audit_reports.inventory_location("gpu2", prod + "/hosts.yml", prod, str(elsewhere))
    assert where["file"] == os.path.realpath(prod + "/hosts.yml") and where["line"] == 6
    assert audit_reports.inventory_location("localhost", None, None, str(repo)) == {"file": None, "line": None}


def test_inventory_location_defaults_to_the_current_directory(repo, monkeypatch):
    monkeypatch.chdir(repo)
    prod = str(repo / "inventories" / "prod")
    assert audit_filter.audit_inventory_location("gpu1", prod + "/hosts.yml", prod, "")["file"] == \
        "inventories/prod/host_vars/gpu1.yml"


def test_sarif_locations_are_repository_files_under_srcroot_with_the_logical_subject():
    report = evaluated("gpu2", {"file": "inventories/prod/hosts.yml", "line": 6})
    jsonschema.validate(json.loads(json.dumps(report)), REPORT_SCHEMA)
    results = audit_reports.to_sarif(report)["runs"][0]["results"]
    assert results
    for result in results:
        location = result["locations"][0]
        assert location["physicalLocation"] == {
            "artifactLocation": {"uri": "inventories/prod/hosts.yml", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 6}}
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("gpu2/")


def test_sarif_location_outside_the_checkout_is_an_absolute_uri_and_old_reports_keep_the_report_file():
    outside = audit_reports.to_sarif(evaluated("h", {"file": "/etc/ansible/my hosts.yml", "line": None}))
    assert outside["runs"][0]["results"][0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "file:///etc/ansible/my%20hosts.yml"}}
    old = audit_reports.to_sarif(audit_filter.audit_evaluate(base_report("h"), CHECKS, [], ADVISORIES, "high"))
    assert old["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "h.json", "uriBaseId": "REPORTDIR"}


def test_fingerprints_do_not_depend_on_the_location():
    one = audit_reports.to_sarif(evaluated("gpu1", {"file": "inventories/a/hosts.yml", "line": 3}))
    two = audit_reports.to_sarif(evaluated("gpu1", {"file": "inventories/a/host_vars/gpu1.yml", "line": None}))
    assert [r["partialFingerprints"] for r in one["runs"][0]["results"]] == \
        [r["partialFingerprints"] for r in two["runs"][0]["results"]]


def test_sarif_validates_against_the_sarif_2_1_0_schema():
    validator = official_validator()
    host = evaluated("gpu1", {"file": "inventories/prod/host_vars/gpu1.yml", "line": None})
    other = evaluated("web-1", {"file": "/srv/inv/hosts.ini", "line": 2})
    fleet = audit_filter.audit_fleet([host, other, audit_filter.audit_evaluate(base_report("old", exposed=False), CHECKS,
                                                                               [], ADVISORIES, "high")],
                                     "high", "2026-11-26T09:00:00Z")
    for log in (audit_filter.audit_sarif(host), audit_filter.audit_sarif(fleet)):
        errors = sorted(validator.iter_errors(json.loads(json.dumps(log))), key=str)
        assert not errors, [error.message for error in errors]


def test_the_sarif_schema_check_can_fail():
    """The vendored schema is strict: a wrong level, a misspelt result key and a bad region are refused."""
    validator = official_validator()
    log = json.loads(json.dumps(audit_reports.to_sarif(evaluated("gpu2", {"file": "i/hosts.yml", "line": 6}))))
    bad = json.loads(json.dumps(log))
    bad["runs"][0]["results"][0]["level"] = "critical"
    assert list(validator.iter_errors(bad))
    bad = json.loads(json.dumps(log))
    bad["runs"][0]["results"][0]["ruleIdentifier"] = "AIH-EXP-001"
    assert list(validator.iter_errors(bad))
    bad = json.loads(json.dumps(log))
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert list(validator.iter_errors(bad))


def test_gitlab_sast_report_has_one_vulnerability_per_finding_at_the_inventory_file():
    host = evaluated("gpu2", {"file": "inventories/prod/hosts.yml", "line": 6})
    fleet = audit_filter.audit_fleet([host, evaluated("gpu1", {"file": None, "line": None})], "high", "2026-11-26T09:00:00Z")
    sast = json.loads(json.dumps(audit_filter.audit_gitlab_sast(fleet)))
    jsonschema.validate(sast, GITLAB_SAST_SUBSET)
    assert sast["version"] == "15.0.6" and sast["scan"]["type"] == "sast"
    assert sast["scan"]["start_time"] == "2026-11-26T09:00:00"
    vulns = sast["vulnerabilities"]
    assert len(vulns) == len(host["findings"]) * 2
    assert len(set(v["id"] for v in vulns)) == len(vulns), "ids are unique"
    assert len(set(v["identifiers"][0]["value"] for v in vulns)) == len(vulns), "primary identifiers keep findings apart"
    first = [v for v in vulns if "gpu2" in v["description"]][0]
    assert first["location"] == {"file": "inventories/prod/hosts.yml", "start_line": 6}
    assert [v for v in vulns if "gpu1" in v["description"]][0]["location"] == {"file": "gpu1.json"}
    critical = [v for v in vulns if v["identifiers"][1]["value"] == "AIH-EXP-003"][0]
    assert critical["severity"] == "Critical" and critical["solution"]


def test_gitlab_sast_subset_check_can_fail():
    sast = json.loads(json.dumps(audit_reports.to_gitlab_sast(evaluated("h", {"file": "a.yml", "line": None}))))
    sast["vulnerabilities"][0]["severity"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sast, GITLAB_SAST_SUBSET)


# ---------------------------------------------------------------------------------------------
# AWX/AAP: the set_stats summary

def test_stats_count_by_severity_and_say_the_gate():
    exposed = evaluated("gpu2", {"file": None, "line": None})
    stats = audit_filter.audit_stats(exposed)
    assert stats["gate"] == "failed" and stats["fail_on"] == "high"
    assert stats["total"] == len(exposed["findings"]) == sum(stats[name] for name in ("critical", "high", "medium", "low", "info"))
    assert stats["critical"] >= 1 and stats["failing"] == exposed["summary"]["failing"] > 0
    assert stats["verdict"].startswith("gpu2: audit gate FAILED")
    off = audit_filter.audit_evaluate(base_report("quiet"), CHECKS, [], ADVISORIES, "none")
    assert audit_filter.audit_stats(off)["gate"] == "off"
    json.dumps(stats)
