"""Proof of per-runtime egress control (issue #20) after service_users and firewall converged.

egress-enforce (aihost_firewall_egress_mode: enforce, the default) and egress-log (log) run the same
REAL runtimes and the same aihost_firewall_egress_allowed: llama.cpp may reach egress-registry:8000 by
name, Jupyter by address, MLflow nothing. Each connection is made on the host with its own python3, as
the account under test (runuser), to the two peers (Python web servers on 8000).
"""
import json
import os
import shlex
import subprocess

import pytest
import testinfra

ENFORCE = testinfra.get_host("docker://egress-enforce")
LOG = testinfra.get_host("docker://egress-log")

# Exit 0: an HTTP answer; 1: no connection within the timeout (a dropped SYN just times out).
CONNECT = ("import sys, urllib.request\n"
           "try:\n"
           "    urllib.request.urlopen('http://%s:8000/', timeout=4).read(1)\n"
           "except Exception as exc:\n"
           "    print(type(exc).__name__, exc)\n"
           "    sys.exit(1)\n")


def connects(host, user, peer):
    command = "python3 -c %s" % shlex.quote(CONNECT % peer)
    if user != "root":
        command = "runuser -u %s -- %s" % (user, command)
    return host.run(command).rc == 0


def egress_counter(host, chain):
    """Packets counted by the last rule of CHAIN (the drop, or in log mode the count)."""
    listing = json.loads(host.check_output("nft -j list chain inet aihost %s" % chain))
    rules = [item["rule"] for item in listing["nftables"] if "rule" in item]
    counters = [expr["counter"] for expr in rules[-1]["expr"] if "counter" in expr]
    assert counters, rules[-1]
    return counters[0]["packets"]


def unit_user(host, unit):
    return host.check_output("systemctl show -p User --value %s" % unit)


def test_runtimes_run_as_their_service_users():
    assert unit_user(ENFORCE, "jupyter.service") == "jupyter"
    assert unit_user(ENFORCE, "mlflow.service") == "mlflow"
    assert unit_user(ENFORCE, "llama-server.service") == "_llama-server"
    assert unit_user(LOG, "jupyter.service") == "jupyter"


@pytest.mark.parametrize("user", ["_llama-server", "jupyter", "mlflow"])
def test_a_runtime_user_cannot_reach_the_internet_and_its_drops_are_counted(user):
    chain = {"_llama-server": "egress-llama_cpp", "jupyter": "egress-jupyter", "mlflow": "egress-mlflow"}[user]
    before = egress_counter(ENFORCE, chain)
    assert not connects(ENFORCE, user, "egress-internet")
    assert egress_counter(ENFORCE, chain) > before


@pytest.mark.parametrize("user, allowed", [("_llama-server", True), ("jupyter", True), ("mlflow", False)])
def test_only_the_declared_runtimes_reach_the_registry(user, allowed):
    assert connects(ENFORCE, user, "egress-registry") is allowed


@pytest.mark.parametrize("host", [ENFORCE, LOG], ids=["enforce", "log"])
@pytest.mark.parametrize("user", ["root", "admin"])
def test_root_and_the_administrator_keep_their_egress(host, user):
    assert connects(host, user, "egress-internet")
    assert connects(host, user, "egress-registry")


@pytest.mark.parametrize("host, urls", [
    (ENFORCE, ["8080/health", "8888/api", "5000/health"]),
    (LOG, ["8080/health", "8888/api"]),
], ids=["enforce", "log"])
def test_every_runtime_still_answers_on_loopback(host, urls):
    for url in urls:
        host.check_output("python3 -c %s" % shlex.quote(
            "import urllib.request; urllib.request.urlopen('http://127.0.0.1:%s', timeout=10).read(1)" % url))


def test_the_ruleset_logs_with_a_prefix_naming_each_runtime_and_drops_only_in_enforce_mode():
    enforce = ENFORCE.check_output("nft list table inet aihost")
    log = LOG.check_output("nft list table inet aihost")
    for runtime in ("llama_cpp", "jupyter"):
        for ruleset in (enforce, log):
            assert 'log prefix "aihost-egress-%s: "' % runtime in ruleset
    assert 'drop comment "aihost: egress-drop: mlflow"' in enforce
    assert "egress-drop" not in log and "egress-log: jupyter" in log


@pytest.mark.parametrize("user", ["_llama-server", "jupyter"])
def test_log_mode_drops_nothing_and_counts_the_same_attempts(user):
    chain = {"_llama-server": "egress-llama_cpp", "jupyter": "egress-jupyter"}[user]
    before = egress_counter(LOG, chain)
    assert connects(LOG, user, "egress-internet")
    assert egress_counter(LOG, chain) > before


def test_the_registry_name_is_resolved_into_its_set_and_followed_by_a_timer():
    elements = ENFORCE.check_output("nft list set inet aihost egress-llama_cpp-1-v4")
    registry = ENFORCE.check_output("getent ahostsv4 egress-registry").split()[0]
    assert registry in elements
    assert ENFORCE.service("aihost-firewall-egress.timer").is_running
    # A run of the timer's service changes nothing the role would undo (idempotence covers the role).
    assert ENFORCE.run("systemctl start aihost-firewall-egress.service").rc == 0
    assert registry in ENFORCE.check_output("nft list set inet aihost egress-llama_cpp-1-v4")


def audit(host_name, report_dir):
    """playbooks/audit.yml against one host, as an administrator runs it; its JSON report."""
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host_name,
         os.path.join(project, "playbooks", "audit.yml"), "-e", "aihost_audit_report_dir=%s" % report_dir,
         "-e", "aihost_audit_fail_on=none", "-e", "aihost_audit_print_summary=false"],
        cwd=project, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(project, ".collections")),
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(os.path.join(str(report_dir), "%s.json" % host_name)) as handle:
        return json.load(handle)


def test_the_audit_reports_each_runtimes_drops_and_no_open_egress(tmp_path):
    for user in ("_llama-server", "jupyter", "mlflow"):
        assert not connects(ENFORCE, user, "egress-internet")
    report = audit("egress-enforce", tmp_path)
    egress = {item["runtime"]: item for item in report["host_checks"]["firewall"]["egress"]["runtimes"]}
    for runtime in ("llama_cpp", "jupyter", "mlflow"):
        assert egress[runtime]["enforced"] and egress[runtime]["mode"] == "enforce", egress[runtime]
        assert egress[runtime]["dropped"] >= 1, egress[runtime]
    assert [item for item in report["findings"] if item["id"] == "AIH-CFG-009"] == []


def test_the_audit_reports_log_mode_as_open_egress_with_what_it_logged(tmp_path):
    for user in ("_llama-server", "jupyter"):
        assert connects(LOG, user, "egress-internet")
    report = audit("egress-log", tmp_path)
    open_egress = {item["runtime"]: item for item in report["findings"] if item["id"] == "AIH-CFG-009"}
    for runtime in ("llama_cpp", "jupyter"):
        assert open_egress[runtime]["egress_mode"] == "log", open_egress[runtime]
        assert open_egress[runtime]["logged"] >= 1, open_egress[runtime]
