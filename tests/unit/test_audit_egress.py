"""AIH-CFG-009 (issue #20): an AI runtime whose outbound traffic no nftables output chain drops.

host_config.nft_json_egress reads real `nft -j list ruleset` output (tests/unit/fixtures/egress,
captured with nft 1.0.6 on Debian 12 in a throwaway network namespace); audit_policy.runtime_egress
joins it with the runtimes' process uids; the reports show each runtime's dropped or logged attempts.
"""
import copy
import json
import os

import pytest

from ansible.module_utils.common import warnings as common_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.aihost.hardening.plugins.filter import audit as audit_filter
from ansible_collections.aihost.hardening.plugins.module_utils import audit_policy as ap
from ansible_collections.aihost.hardening.plugins.module_utils import audit_reports, host_config
from ansible_collections.aihost.hardening.plugins.modules import host_audit_facts

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


ENFORCE = fixture("egress/enforce.json")
LOG = fixture("egress/log.json")
OTHER = fixture("egress/other.json")
# The aihost input layout (policy drop) and no output chain, captured for the input check.
INPUT_ONLY = fixture("host_config/nft-policydrop.json")


def runtime(name, uids, unit=None, users=None, containers=None):
    """A runtime instance as ai_runtime_facts reports it: one process per uid."""
    users = users or {}
    return {"name": name, "display_name": name, "run_as": [users.get(uid, "u%d" % uid) for uid in uids],
            "processes": [{"pid": 100 + index, "uid": uid, "user": "root" if uid == 0 else users.get(uid, "u%d" % uid),
                           "exe": "/usr/bin/%s" % name} for index, uid in enumerate(uids)],
            "units": [{"name": unit or "%s.service" % name}], "containers": containers or [], "listen": [],
            "risky_flags": [], "data_paths": []}


LLAMA = runtime("llama_cpp", [998], "llama-server.service", {998: "_llama-server"})
JUPYTER = runtime("jupyter", [996, 995], users={996: "jupyter", 995: "nbuser"})


def checks(ruleset):
    """host_checks as host_audit_facts returns them, from a host whose nft printed RULESET."""
    sections = {"nft_ruleset_json": ruleset.splitlines() if ruleset else [], "firewalld": ["active"]}
    return host_config.summarize(sections)


def egress_findings(runtimes, ruleset):
    return [item for item in ap.evaluate({"runtimes": runtimes}, {}, checks(ruleset), [], {}) if item["id"] == "AIH-CFG-009"]


def test_the_real_enforce_ruleset_gives_each_uid_its_chain_mode_and_drop_counter():
    egress = host_config.nft_json_egress(ENFORCE)
    assert egress["output_chains"] == ["inet aihost output"]
    by_uid = dict((item["uid"], item) for item in egress["uids"])
    assert sorted(by_uid) == [995, 996, 998]
    assert by_uid[998] == {"uid": 998, "family": "inet", "table": "aihost", "chain": "egress-llama_cpp",
                           "mode": "enforce", "packets": 3, "bytes": 180}
    # Both members of the anonymous set { 995, 996 } go to the same chain.
    assert by_uid[995]["chain"] == by_uid[996]["chain"] == "egress-jupyter" and by_uid[996]["packets"] == 7


def test_text_that_is_not_nft_json_is_none_and_a_ruleset_without_output_chain_names_no_uid():
    assert host_config.nft_json_egress("") is None and host_config.nft_json_egress("table inet x {}") is None
    assert host_config.nft_json_egress(INPUT_ONLY) == {"output_chains": [], "uids": []}


def test_an_enforced_runtime_has_no_finding_and_its_dropped_attempts_are_reported():
    assert egress_findings([LLAMA, JUPYTER], ENFORCE) == []
    entries = ap.runtime_egress([LLAMA, JUPYTER], checks(ENFORCE)["firewall"]["egress"])
    assert [(item["instance"], item["enforced"], item["mode"], item["chain"], item["dropped"], item["logged"])
            for item in entries] == [("llama_cpp (llama-server.service)", True, "enforce", "egress-llama_cpp", 3, None),
                                     ("jupyter (jupyter.service)", True, "enforce", "egress-jupyter", 7, None)]
    # Two uids in one chain: its counter is counted once.
    assert [item["uid"] for item in entries[1]["uids"]] == [995, 996]


def test_log_mode_is_a_finding_that_says_logged_not_dropped_with_the_count():
    findings = egress_findings([LLAMA], LOG)
    assert len(findings) == 1
    finding = findings[0]
    assert finding["severity"] == "medium" and finding["subject"] == "llama_cpp (llama-server.service)"
    assert "logged, not dropped (aihost_firewall_egress_mode: log" in finding["evidence"]
    assert "_llama-server (uid 998)" in finding["evidence"] and "counted 12 attempts" in finding["evidence"]
    assert (finding["egress_mode"], finding["logged"], finding["dropped"]) == ("log", 12, None)
    assert "aihost_firewall_egress_allowed" in finding["remediation"]
    assert "aihost_firewall_egress_mode" in finding["remediation"] and "service_users" in finding["remediation"]


def test_no_output_chain_is_a_finding():
    findings = egress_findings([LLAMA], INPUT_ONLY)
    assert len(findings) == 1 and finding_reason(LLAMA, INPUT_ONLY) == "no_rule"
    assert "_llama-server (uid 998), which no output-hook rule sends to a chain that drops" in findings[0]["evidence"]


def test_no_nft_on_the_host_is_a_finding_that_says_the_ruleset_was_not_read():
    findings = egress_findings([LLAMA], "")
    assert len(findings) == 1 and "no nftables ruleset could be read as JSON" in findings[0]["evidence"]


def test_a_runtime_as_root_is_a_finding_even_with_every_chain_in_place():
    as_root = runtime("ollama", [0])
    findings = egress_findings([as_root, LLAMA], ENFORCE)
    assert [item["subject"] for item in findings] == ["ollama (ollama.service)"]
    assert "runs as root (uid 0)" in findings[0]["evidence"] and "never restricts root" in findings[0]["evidence"]


def test_a_uid_in_a_set_is_covered_and_one_outside_it_is_not():
    assert finding_reason(runtime("jupyter", [995]), ENFORCE) is None
    extra = runtime("jupyter", [996, 997], users={996: "jupyter", 997: "intruder"})
    findings = egress_findings([extra], ENFORCE)
    assert len(findings) == 1 and "intruder (uid 997), which no output-hook rule" in findings[0]["evidence"]
    assert "jupyter (uid 996)" not in findings[0]["evidence"], "the enforced uid is not blamed"


def test_a_jump_to_a_chain_without_a_final_drop_is_a_finding():
    egress = host_config.nft_json_egress(OTHER)
    assert [item for item in egress["uids"] if item["uid"] == 905] == [
        {"uid": 905, "family": "ip", "table": "admin", "chain": "open", "mode": "none", "packets": None, "bytes": None}]
    findings = egress_findings([runtime("mlflow", [905])], OTHER)
    assert len(findings) == 1
    assert "goes to chain open (table ip admin), whose last rule does not drop or reject" in findings[0]["evidence"]


def test_a_named_set_goto_and_reject_enforce_but_an_ip_table_leaves_ipv6_open():
    by_uid = dict((item["uid"], item) for item in host_config.nft_json_egress(OTHER)["uids"])
    assert (by_uid[990]["chain"], by_uid[990]["mode"]) == ("restricted", "enforce")
    assert (by_uid[980]["chain"], by_uid[980]["mode"], by_uid[980]["packets"]) == ("out", "enforce", 0)
    findings = egress_findings([runtime("vllm", [990])], OTHER)
    assert len(findings) == 1 and "dropped only for IPv4 by chain restricted (table ip admin)" in findings[0]["evidence"]


def test_a_container_runtime_is_reported_as_not_covered():
    boxed = runtime("ollama", [0], containers=[{"id": "4f1c2d3e4f5a6b7c", "name": "ollama", "engine": "docker"}])
    findings = egress_findings([boxed], ENFORCE)
    assert len(findings) == 1 and findings[0]["container"] == "ollama"
    assert "container egress is not limited by user" in findings[0]["evidence"]
    assert "does not cover it" in findings[0]["evidence"]


def test_a_runtime_that_is_not_running_and_checks_without_the_section_are_not_judged():
    idle = dict(runtime("comfyui", []), processes=[])
    assert egress_findings([idle], "") == []
    assert ap.runtime_egress([idle], checks("")["firewall"]["egress"])[0]["reason"] == "not_running"
    old = host_config.summarize({"firewalld": ["active"]})
    assert old["firewall"]["egress"] is None
    assert [item for item in ap.evaluate({"runtimes": [LLAMA]}, {}, old, [], {}) if item["id"] == "AIH-CFG-009"] == []


def test_a_login_account_is_named_as_one_the_firewall_role_leaves_open():
    findings = egress_findings([runtime("text_generation_webui", [1000], users={1000: "alice"})], ENFORCE)
    assert "uid 1000 is a login account, which the firewall role does not restrict" in findings[0]["evidence"]


def output_ruleset(*rules, chains=None):
    """A minimal nft -j document: one inet output chain with RULES, and extra chains {name: [rule exprs]}."""
    objects = [{"chain": {"family": "inet", "table": "t", "name": "output", "handle": 1, "type": "filter",
                          "hook": "output", "prio": 0, "policy": "accept"}}]
    for expr in rules:
        objects.append({"rule": {"family": "inet", "table": "t", "chain": "output", "expr": expr}})
    for name, exprs in (chains or {}).items():
        objects.append({"chain": {"family": "inet", "table": "t", "name": name, "handle": 2}})
        for expr in exprs:
            objects.append({"rule": {"family": "inet", "table": "t", "chain": name, "expr": expr}})
    return json.dumps({"nftables": objects})


SKUID_998 = {"match": {"op": "==", "left": {"meta": {"key": "skuid"}}, "right": 998}}
COUNT_ONLY = [{"counter": {"packets": 5, "bytes": 300}}]
COUNT_DROP = [{"counter": {"packets": 2, "bytes": 120}}, {"drop": None}]


def test_after_a_jump_to_a_log_chain_a_later_drop_still_decides():
    counted_drop = [SKUID_998, {"counter": {"packets": 9, "bytes": 1}}, {"drop": None}]
    text = output_ruleset([SKUID_998, {"jump": {"target": "counted"}}], counted_drop, chains={"counted": [COUNT_ONLY]})
    assert host_config.nft_json_egress(text)["uids"] == [
        {"uid": 998, "family": "inet", "table": "t", "chain": "output", "mode": "enforce", "packets": 9, "bytes": 1}]


def test_an_accept_before_the_uid_rule_or_a_goto_to_a_log_chain_is_not_enforced():
    accept_all = output_ruleset([{"accept": None}], [SKUID_998, {"jump": {"target": "deny"}}], chains={"deny": [COUNT_DROP]})
    assert host_config.nft_json_egress(accept_all)["uids"] == []
    goto_log = output_ruleset([SKUID_998, {"goto": {"target": "counted"}}], [SKUID_998, {"drop": None}],
                              chains={"counted": [COUNT_ONLY]})
    assert [item["mode"] for item in host_config.nft_json_egress(goto_log)["uids"]] == ["log"]
    conditional = output_ruleset([SKUID_998, {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "eth0"}},
                                  {"jump": {"target": "deny"}}], chains={"deny": [COUNT_DROP]})
    assert host_config.nft_json_egress(conditional)["uids"] == [], "a rule with another match covers only part"


def test_a_chain_whose_last_rule_drops_only_some_packets_is_not_enforce():
    partial = [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"drop": None}]
    sampled = [{"limit": {"rate": 5, "per": "minute"}}, {"drop": None}]
    for last in (partial, sampled):
        text = output_ruleset([SKUID_998, {"jump": {"target": "x"}}], chains={"x": [last]})
        assert host_config.nft_json_egress(text)["uids"][0]["mode"] == "none", last


def finding_reason(item, ruleset):
    return ap.runtime_egress([item], checks(ruleset)["firewall"]["egress"])[0]["reason"]


def base_report(runtimes):
    return {"schema_version": 1, "generator": "aihost.hardening.audit", "timestamp": "2026-12-08T03:00:00Z",
            "host": {"name": "gpu1", "address": "gpu1"},
            "aihost_runtime": {"schema_version": 1, "listeners": [], "runtimes": runtimes, "warnings": []},
            "aihost_gpu": {"schema_version": 1, "present": False, "gpus": [], "accelerators": [], "device_nodes": [],
                           "summary": "CPU-only host"}}


def test_json_and_markdown_reports_show_each_runtimes_dropped_and_logged_attempts():
    for ruleset, column, count in ((ENFORCE, "Dropped", "3"), (LOG, "Logged", "12")):
        # The sectioned text form (no per-runtime list): the Markdown works it out from the runtimes.
        text = "@@nft_ruleset_json\n%s\n@@firewalld\nactive\n" % ruleset.strip()
        report = audit_filter.audit_evaluate(base_report([copy.deepcopy(LLAMA)]), text, [], {}, "high")
        egress = report["host_checks"]["firewall"]["egress"]
        assert egress["read"] is True and [item["packets"] for item in egress["uids"] if item["uid"] == 998] == [int(count)]
        markdown = audit_reports.to_markdown(report)
        assert "## Egress of AI runtimes" in markdown
        header = "| Runtime | Runs as | Mode | Chain | Dropped | Logged | Enforced |"
        assert header in markdown and column in header
        row = [line for line in markdown.splitlines() if line.startswith("| llama_cpp (llama-server.service) ")]
        cells = [cell.strip() for cell in row[0].strip("|").split("|")]
        assert cells[1] == "_llama-server (998)" and cells[3] == "egress-llama_cpp"
        assert cells[header.strip("|").split("|").index(" %s " % column)] == count


def test_markdown_of_a_report_from_before_the_egress_check_has_no_egress_section():
    report = audit_filter.audit_evaluate(base_report([copy.deepcopy(LLAMA)]), "@@firewalld\nactive\n", [], {}, "high")
    assert "Egress of AI runtimes" not in audit_reports.to_markdown(report)


def test_the_module_records_each_runtime_instances_egress(fixture_tree, capsys, monkeypatch):
    """host_audit_facts puts the per-runtime list in host_checks.firewall.egress.runtimes (the JSON report)."""
    monkeypatch.setattr(common_warnings, "_global_warnings", {})
    monkeypatch.setattr(host_config, "read_sections", lambda *args, **kwargs: {"nft_ruleset_json": ENFORCE.splitlines()})
    monkeypatch.setattr(host_audit_facts, "HOST_ROOT", fixture_tree("procfs/debian12-standins"))
    with patch_module_args({"docker_socket": "", "podman_socket": ""}):
        with pytest.raises(SystemExit):
            host_audit_facts.main()
    result = json.loads(capsys.readouterr().out)
    runtimes = result["ansible_facts"]["aihost_runtime"]["runtimes"]
    entries = result["host_checks"]["firewall"]["egress"]["runtimes"]
    assert [item["runtime"] for item in entries] == [item["name"] for item in runtimes]
    assert len(set(item["instance"] for item in entries)) == len(entries)
    reasons = dict((item["instance"], item["reason"]) for item in entries)
    # The fixture host runs Ollama as uid 997, which the captured ruleset does not name; the rest as root.
    assert reasons.pop("ollama (ollama.service)") == "no_rule"
    assert set(reasons.values()) == {"root"}


def test_a_drop_in_any_output_chain_is_final_so_the_strictest_chain_decides():
    """A packet passes every base chain on the hook: a log-only chain in one table does not open what
    another table drops, and for the same mode an inet table (both families) is the one reported."""
    logged = json.loads(output_ruleset([SKUID_998, {"jump": {"target": "counted"}}], chains={"counted": [COUNT_ONLY]}))
    for table, family, expr in (("v4", "ip", [SKUID_998, {"drop": None}]),
                                ("z", "inet", [SKUID_998, {"counter": {"packets": 4, "bytes": 8}}, {"drop": None}])):
        logged["nftables"] += [
            {"chain": {"family": family, "table": table, "name": "out", "handle": 1, "type": "filter", "hook": "output",
                       "prio": 10, "policy": "accept"}},
            {"rule": {"family": family, "table": table, "chain": "out", "expr": expr}}]
    only = host_config.nft_json_egress(json.dumps(logged))["uids"]
    assert [(item["family"], item["table"], item["chain"], item["mode"], item["packets"]) for item in only] == [
        ("inet", "z", "out", "enforce", 4)]


def test_a_named_counter_gives_its_values():
    text = fixture("egress/named-counter.json").replace('"packets": 0, "bytes": 0', '"packets": 21, "bytes": 1260')
    assert host_config.nft_json_egress(text)["uids"] == [
        {"uid": 998, "family": "inet", "table": "t", "chain": "deny", "mode": "enforce", "packets": 21, "bytes": 1260}]
