"""Unit tests of the audit's policy evaluation (plugins/module_utils/audit_policy.py): versions,
host-check parsing, policy matching and every finding rule, from fixture facts."""
import os

import pytest
import yaml

from ansible_collections.aihost.hardening.plugins.module_utils import audit_policy as ap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
with open(os.path.join(ROOT, "roles", "audit", "files", "advisories.yml")) as _handle:
    ADVISORIES = yaml.safe_load(_handle)

SSH = {"port": 22, "proto": "tcp", "sources": ["10.0.0.0/8"], "runtime": None, "process": "sshd",
       "scope": "all", "reason": "SSH for admins."}


def listener(port, address="0.0.0.0", scope="all", process="python3", runtime=None, proto="tcp", container=None):
    return {"protocol": proto, "family": "ipv4", "address": address, "port": port, "scope": scope, "pid": 10,
            "process": process, "user": "root", "unit": None, "container": container, "runtime": runtime}


def ollama(version="0.12.3", scope="all", user="root", auth=False, **extra):
    runtime = {"name": "ollama", "display_name": "Ollama", "version": version, "version_source": "command",
               "exposure": scope, "auth": {"enabled": auth, "evidence": "default: no authentication"},
               "run_as": [user], "processes": [{"pid": 10, "user": user}], "units": [{"name": "ollama.service"}],
               "containers": [], "listen": [{"protocol": "tcp", "address": "0.0.0.0" if scope == "all" else "127.0.0.1",
                                              "port": 11434, "scope": scope, "pid": 10}],  # noqa: E127
               "data_paths": ["/root/.ollama/models"], "risky_flags": []}
    runtime.update(extra)
    return runtime


GOOD_CHECKS = {"firewall": {"active": True, "evidence": "nft"}, "automatic_updates": {"configured": True, "evidence": "u"},
               "data_path_modes": [{"path": "/root/.ollama/models", "mode": "0755", "owner": "root", "group": "root"}]}


def ids(findings):
    return sorted(item["id"] for item in findings)


@pytest.mark.parametrize("left,right,expected", [
    ("0.12.3", "0.17.1", -1), ("0.17.1", "0.17.1", 0), ("0.17.10", "0.17.9", 1), ("1.2", "1.2.0", 0),
    ("0.5.0rc1", "0.5.0", -1), ("v2.10.0", "2.10.0", 0), ("0.10.1.1", "0.10.1", 1), ("0.4.22+1", "0.4.22", 0),
    ("535.288.01", "535.309.01", -1), ("1.17.8", "1.17.10", -1),
])
def test_compare_versions_orders_numerically_and_prereleases_first(left, right, expected):
    assert ap.compare_versions(left, right) == expected


def test_version_in_range_uses_fixed_introduced_and_affected_bounds():
    assert ap.version_in_range("0.12.3", fixed="0.17.1")
    assert not ap.version_in_range("0.17.1", fixed="0.17.1")
    assert not ap.version_in_range("0.34.1", introduced="0.34.2", fixed="0.35.0")
    assert ap.version_in_range("0.34.5", introduced="0.34.2", fixed="0.35.0")
    assert ap.version_in_range("0.3.14", affected="<=0.3.14") and not ap.version_in_range("0.3.15", affected="<=0.3.14")
    assert not ap.version_in_range(None, fixed="1.0")


def test_advisories_file_is_well_formed():
    """Every advisory names an id, a valid severity and a fixed version or an affected bound."""
    entries = [item for items in ADVISORIES["runtimes"].values() for item in items] + ADVISORIES["nvidia_container_toolkit"]
    for item in entries:
        assert item["id"] and item["severity"] in ap.SEVERITIES, item
        assert item.get("fixed") or item.get("affected"), item
    assert ADVISORIES["nvidia_driver"]["branches"]["535"] == "535.309.01"


NFT_DROP = """table inet aihost_firewall {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t}
}
"""
NFT_DOCKER_ONLY = """table ip filter {
\tchain FORWARD {
\t\ttype filter hook forward priority filter; policy drop;
\t}
}
"""


def checks_text(ruleset="", firewalld="inactive", ufw="", periodic="", unattended=False, timers="", paths="", packages=""):
    return "\n".join(["@@nft_ruleset", ruleset, "@@firewalld", firewalld, "@@ufw", ufw, "@@apt_periodic", periodic,
                      "@@unattended_upgrades", "present" if unattended else "", "@@dnf_timers", timers,
                      "@@data_paths", paths, "@@packages", packages])


def test_host_checks_recognise_an_nftables_input_drop_and_ignore_forward_only_tables():
    assert ap.parse_host_checks(checks_text(NFT_DROP))["firewall"]["active"] is True
    assert ap.parse_host_checks(checks_text(NFT_DOCKER_ONLY))["firewall"]["active"] is False
    assert ap.parse_host_checks(checks_text(ufw="Status: active"))["firewall"]["active"] is True
    assert ap.parse_host_checks(checks_text(firewalld="active"))["firewall"]["active"] is True


def test_host_checks_automatic_updates_need_the_package_and_the_periodic_setting():
    on = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";'
    assert ap.parse_host_checks(checks_text(periodic=on, unattended=True))["automatic_updates"]["configured"]
    assert not ap.parse_host_checks(checks_text(periodic=on, unattended=False))["automatic_updates"]["configured"]
    off = 'APT::Periodic::Unattended-Upgrade "0";'
    assert not ap.parse_host_checks(checks_text(periodic=off, unattended=True))["automatic_updates"]["configured"]
    assert ap.parse_host_checks(checks_text(timers="dnf-automatic.timer enabled"))["automatic_updates"]["configured"]


def test_host_checks_parse_modes_and_packages():
    parsed = ap.parse_host_checks(checks_text(paths="777|root|root|/srv/models\n755|a|b|/x|y",
                                              packages="dpkg|nftables|1.0.6-2"))
    assert parsed["data_path_modes"] == [{"mode": "0777", "owner": "root", "group": "root", "path": "/srv/models"},
                                         {"mode": "0755", "owner": "a", "group": "b", "path": "/x|y"}]
    assert parsed["packages"] == [{"manager": "dpkg", "name": "nftables", "version": "1.0.6-2"}]


def test_exposed_host_yields_each_expected_finding():
    runtime = {"listeners": [listener(11434, process="ollama", runtime="ollama"), listener(9000),
                             listener(22, process="sshd"), listener(8080, address="127.0.0.1", scope="loopback")],
               "runtimes": [ollama(risky_flags=[{"flag": "OLLAMA_ORIGINS", "value": "*", "source": "env", "reason": "CORS"}])]}
    gpu = {"device_nodes": [{"path": "/dev/nvidia0", "mode": "0666"}, {"path": "/dev/nvidiactl", "mode": "0660"}],
           "nvidia": {"driver_version": "535.288.01", "driver_branch": "535"},
           "container_toolkit": {"version": "1.17.7"}}
    checks = {"firewall": {"active": False, "evidence": "none"}, "automatic_updates": {"configured": False, "evidence": "no"},
              "data_path_modes": [{"path": "/root/.ollama/models", "mode": "0777", "owner": "root", "group": "root"},
                                  {"path": "/tmp", "mode": "1777", "owner": "root", "group": "root"}]}
    findings = ap.evaluate(runtime, gpu, checks, [SSH], ADVISORIES)
    assert ids(findings) == sorted([
        "AIH-EXP-001",                                  # 9000, no entry (22 is covered by the SSH entry)
        "AIH-EXP-002", "AIH-EXP-003",                   # Ollama beyond loopback, auth off
        "AIH-ADV-001",                                  # CVE-2026-7482 (0.12.3 < 0.17.1)
        "AIH-ADV-002", "AIH-ADV-002", "AIH-ADV-002",    # NCT 1.17.7: CVE-2025-23266, 23267, CVE-2026-24260
        "AIH-ADV-003",                                  # 535.288.01 < 535.309.01
        "AIH-CFG-001", "AIH-CFG-002", "AIH-CFG-003", "AIH-CFG-004", "AIH-CFG-005",
        "AIH-CFG-006",                                  # 0777 without sticky; /tmp (1777) is not a finding
    ])
    adv = [item for item in findings if item["id"] == "AIH-ADV-001"][0]
    assert adv["advisory"] == "CVE-2026-7482" and adv["severity"] == "critical"
    assert findings[0]["severity"] == "critical", "findings are sorted by severity, worst first"
    for item in findings:
        assert item["severity"] in ap.SEVERITIES and item["title"] and item["remediation"] and item["evidence"]


def test_justified_host_yields_no_findings():
    runtime = {"listeners": [listener(11434, address="127.0.0.1", scope="loopback", process="ollama", runtime="ollama"),
                             listener(8080, process="python3"), listener(22, process="sshd")],
               "runtimes": [ollama(version="0.17.1", scope="loopback", user="ollama")]}
    policy = [SSH, {"port": 8080, "proto": "tcp", "sources": [], "runtime": None, "process": "python3", "scope": "all",
                    "reason": "Internal status page."}]
    gpu = {"nvidia": {"driver_version": "580.178.04"}, "container_toolkit": {"version": "1.19.1"},
           "device_nodes": [{"path": "/dev/nvidia0", "mode": "0660"}]}
    assert ap.evaluate(runtime, gpu, GOOD_CHECKS, policy, ADVISORIES) == []


def test_policy_scope_and_process_restrict_what_an_entry_covers():
    narrow = [{"port": 8080, "proto": "tcp", "process": "nginx", "scope": "all", "reason": "r"},
              {"port": 9000, "proto": "tcp", "scope": "specific", "reason": "r"}]
    runtime = {"listeners": [listener(8080, process="python3"), listener(9000), listener(9000, address="10.0.0.5", scope="specific"),
                             listener(53, proto="udp", process="dnsmasq")],
               "runtimes": []}
    findings = ap.evaluate(runtime, {}, GOOD_CHECKS, narrow, ADVISORIES)
    evidence = dict((item["subject"], item["evidence"]) for item in findings)
    assert sorted(evidence) == ["53/udp", "8080/tcp", "9000/tcp"]
    assert "allows scope specific only" in evidence["9000/tcp"]
    assert "0.0.0.0" in evidence["9000/tcp"]


def test_policy_does_not_waive_auth_off_but_does_justify_the_exposure():
    policy = [{"port": 11434, "proto": "tcp", "runtime": "ollama", "scope": "all", "reason": "LAN inference."}]
    runtime = {"listeners": [listener(11434, process="ollama", runtime="ollama")],
               "runtimes": [ollama(version="0.17.1", user="ollama")]}
    assert ids(ap.evaluate(runtime, {}, GOOD_CHECKS, policy, ADVISORIES)) == ["AIH-EXP-003"]


def test_container_published_on_all_addresses_is_a_finding_unless_127():
    published = [{"host_ip": "0.0.0.0", "host_port": 3000, "container_port": 8080, "protocol": "tcp"},
                 {"host_ip": "127.0.0.1", "host_port": 3001, "container_port": 8080, "protocol": "tcp"}]
    webui = {"name": "open_webui", "display_name": "Open WebUI", "version": None, "exposure": "all",
             "auth": {"enabled": True}, "run_as": ["app"], "processes": [], "units": [], "listen": [],
             "containers": [{"name": "webui", "engine": "docker", "published": published}]}
    findings = ap.evaluate({"listeners": [], "runtimes": [webui]}, {}, GOOD_CHECKS, [], ADVISORIES)
    assert ids(findings) == ["AIH-EXP-004"] and findings[0]["port"] == 3000


def test_old_unlisted_driver_branch_is_a_finding_and_current_one_is_not():
    branches = ADVISORIES["nvidia_driver"]
    assert ap._driver_finding("525.60.11", "525", branches)["id"] == "AIH-ADV-003"
    assert ap._driver_finding("620.10.01", "620", branches) is None
    assert ap._driver_finding("580.178.04", "580", branches) is None


def test_fail_on_threshold():
    findings = [{"severity": "critical"}, {"severity": "high"}, {"severity": "medium"}, {"severity": "info"}]
    assert len(ap.severity_at_or_above(findings, "high")) == 2
    assert len(ap.severity_at_or_above(findings, "info")) == 4
    assert ap.severity_at_or_above(findings, "none") == []


MODEL_STATE = {
    "pinned_at": "2026-12-05T10:00:00Z", "verified_at": "2026-12-06T03:30:12Z", "errors": [],
    "stores": [
        {"path": "/srv/models", "files_not_listed": 0, "ok": False,
         "drift": {"added": 1, "removed": 0, "changed": 1, "symlinks_changed": 0}, "signature_valid": True,
         "files": [{"path": "evil.pt", "verdict": "malicious", "format": "pickle", "severity": "critical",
                    "sha256": "ab" * 32, "detail": "imports posix.system"},
                   {"path": "odd.pkl", "verdict": "suspicious", "format": "pickle", "severity": "medium",
                    "sha256": "cd" * 32, "detail": "unlisted import"}]},
        {"path": "/srv/gone", "files": [], "files_not_listed": 0, "ok": False, "error": "store /srv/gone does not exist"},
        {"path": "/srv/fine", "files": [], "files_not_listed": 0, "ok": True,
         "drift": {"added": 0, "removed": 0, "changed": 0, "symlinks_changed": 0}, "signature_valid": True},
    ]}


def test_model_files_that_run_code_and_drifted_stores_are_findings():
    findings = ap.evaluate({"listeners": [], "runtimes": []}, {}, dict(GOOD_CHECKS, model_integrity=MODEL_STATE), [],
                           ADVISORIES)
    by_subject = dict((item["subject"], item) for item in findings)
    assert sorted(by_subject) == ["/srv/gone", "/srv/models", "/srv/models/evil.pt", "/srv/models/odd.pkl"]
    evil, odd = by_subject["/srv/models/evil.pt"], by_subject["/srv/models/odd.pkl"]
    assert (evil["id"], evil["severity"], evil["verdict"]) == ("AIH-MOD-001", "critical", "malicious")
    assert (odd["id"], odd["severity"]) == ("AIH-MOD-001", "medium")
    assert "imports posix.system" in evil["evidence"] and "[model_integrity: pinned 2026-12-05T10:00:00Z; verified 2026-12-06T03:30:12Z]" in evil["evidence"]
    drift = by_subject["/srv/models"]
    assert drift["id"] == "AIH-MOD-002" and drift["severity"] == "high"
    assert drift["evidence"].startswith("1 added, 0 removed, 1 changed, 0 links changed, signature valid")
    assert by_subject["/srv/gone"]["evidence"].startswith("not verified: store /srv/gone does not exist")


def test_no_model_integrity_results_means_no_model_findings():
    for state in (None, {"pinned_at": None, "verified_at": None, "stores": [{"path": "/srv/models", "files": []}]}):
        assert ap.evaluate({"listeners": [], "runtimes": []}, {}, dict(GOOD_CHECKS, model_integrity=state), [],
                           ADVISORIES) == []


def test_unlisted_bad_files_are_counted_at_the_severity_of_the_last_listed():
    store = {"path": "/srv/m", "files_not_listed": 7,
             "files": [{"path": "a.pkl", "verdict": "suspicious", "format": "pickle", "detail": "x"}]}
    findings = ap.evaluate({"listeners": [], "runtimes": []}, {},
                           dict(GOOD_CHECKS, model_integrity={"pinned_at": None, "verified_at": None, "stores": [store]}), [], ADVISORIES)
    counted = [item for item in findings if item["subject"] == "/srv/m (7 more files)"]
    assert counted and counted[0]["severity"] == "medium"


def test_a_sandbox_removed_or_edited_behind_the_roles_back_is_a_finding():
    units = [
        {"unit": "ollama.service", "runtime": "ollama", "dropin": "/etc/x/ollama.conf", "unit_present": True,
         "dropin_present": False, "missing_directives": []},
        {"unit": "vllm.service", "runtime": "vllm", "dropin": "/etc/x/vllm.conf", "unit_present": True,
         "dropin_present": True, "missing_directives": ["User=vllm", "ProtectSystem=strict"]},
        {"unit": "intact.service", "runtime": "ray", "dropin": "/etc/x/ray.conf", "unit_present": True,
         "dropin_present": True, "missing_directives": []},
        {"unit": "removed.service", "runtime": "mlflow", "dropin": "/etc/x/m.conf", "unit_present": False,
         "dropin_present": False, "missing_directives": []},
    ]
    findings = ap.evaluate({"listeners": [], "runtimes": []}, {}, dict(GOOD_CHECKS, service_users={"units": units}), [],
                           ADVISORIES)
    assert [(item["id"], item["subject"]) for item in findings] == [
        ("AIH-CFG-007", "ollama.service"), ("AIH-CFG-007", "vllm.service")]
    assert "/etc/x/ollama.conf is gone" in findings[0]["evidence"]
    assert "no longer sets 2 of the role's directives: User=vllm, ProtectSystem=strict" in findings[1]["evidence"]


def test_a_data_directory_the_service_users_role_refused_is_a_finding():
    """AIH-CFG-008 names the runtime, the path and the variable to set: high for system state a runtime
    pointed at, medium for a runtime left as it is because its directory is ambiguous."""
    refused = [
        {"runtime": "ollama", "units": ["ollama.service"], "path": "/var/lib/dpkg", "kind": "system", "adopted": True,
         "reason": "/var/lib/dpkg is in /var/lib/dpkg, which holds the system's own state",
         "variable": "aihost_service_users_data_dirs.ollama"},
        {"runtime": "jupyter", "units": ["jupyter.service"], "path": "/srv", "kind": "allowed_root", "adopted": False,
         "reason": "/srv is an allowed root itself; give jupyter a directory of its own, such as /srv/jupyter, in "
                   "aihost_service_users_data_dirs.jupyter", "variable": "aihost_service_users_data_dirs.jupyter"},
    ]
    findings = ap.evaluate({"listeners": [], "runtimes": []}, {},
                           dict(GOOD_CHECKS, service_users={"units": [], "refused": refused}), [], ADVISORIES)
    assert [(f["id"], f["severity"], f["subject"], f["variable"]) for f in findings] == [
        ("AIH-CFG-008", "high", "ollama /var/lib/dpkg", "aihost_service_users_data_dirs.ollama"),
        ("AIH-CFG-008", "medium", "jupyter /srv", "aihost_service_users_data_dirs.jupyter")]
    assert "ollama (ollama.service) reports the data directory /var/lib/dpkg, which was not handed over" in \
        findings[0]["evidence"]
    assert "jupyter (jupyter.service) is left as it is (not adopted, no sandbox)" in findings[1]["evidence"]
    assert "aihost_service_users_data_dirs.jupyter" in findings[1]["evidence"]
