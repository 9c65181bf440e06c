"""Per-runtime egress control of the firewall role (issue #20): the plan (module_utils/egress.py, run by
the egress_plan module), the ruleset it renders (roles/firewall/templates/aihost.nft.j2) loaded by the
REAL nft into a throwaway network namespace, and aihost-firewall-egress filling the name sets there.

Runtime facts are shaped like ai_runtime_facts' output. Account lookups are a dict here (the module
asks NSS through pwd). getent is a labelled STAND-IN in the refresh test: it prints `getent ahosts`
output in glibc's documented format ("ADDRESS SOCKTYPE [NAME]") so that no DNS query leaves the box.
"""
import os
import pathlib
import shlex
import shutil
import subprocess
import uuid

import jinja2
import pytest

from ansible_collections.aihost.hardening.plugins.filter import exposures
from ansible_collections.aihost.hardening.plugins.module_utils import egress

ROLE = pathlib.Path(__file__).resolve().parents[2] / "roles" / "firewall"
DEFS = {"UID_MIN": 1000, "UID_MAX": 60000, "SYS_UID_MIN": 101, "SYS_UID_MAX": 999}
USERS = {"root": 0, "_llama-server": 997, "jupyter": 996, "mlflow": 995, "alice": 1000, "www-data": 33,
         "ansible": 994}
ACCOUNTS = egress.Accounts(lambda uid: {v: k for k, v in USERS.items()}[uid], lambda name: USERS[name])
RESOLV = "# from DHCP\nnameserver 10.0.0.2\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\noptions edns0\n"
KNOWN = ["llama_cpp", "jupyter", "mlflow", "ollama", "open_webui"]


def runtime(name, uid=None, unit_user=None, containers=None):
    item = {"name": name, "processes": [], "units": [], "containers": containers or []}
    if uid is not None:
        item["processes"].append({"pid": 100 + uid, "uid": uid, "user": None})
    if unit_user is not False:
        item["units"].append({"name": name + ".service", "user": unit_user})
    return item


def plan(runtimes, allowed=None, mode="enforce", exempt=()):
    return egress.plan(runtimes, allowed or {}, mode, DEFS, ACCOUNTS, RESOLV, exempt)


# --- the allowed-egress variable is checked before any change ---------------------------------

@pytest.mark.parametrize("allowed, message", [
    ({"nosuch": []}, "aihost_firewall_egress_allowed.nosuch: 'nosuch' is not a runtime of the catalog"),
    ({"Ollama": []}, "'Ollama' is not a catalog runtime name"),
    ({"ollama": [{"to": "registry.ollama.ai", "port": 443}]}, "ollama[0].reason: is required"),
    ({"ollama": [{"to": "10.0.0.1/8", "port": 443, "reason": "x"}]}, "has host bits set (did you mean 10.0.0.0/8?)"),
    ({"ollama": [{"to": "bad_name!", "port": 443, "reason": "x"}]}, "'bad_name!' is not an address, CIDR or host name"),
    ({"ollama": [{"to": "300.1.1.1", "port": 443, "reason": "x"}]}, "'300.1.1.1' is not an address"),
    ({"ollama": [{"to": "a.example", "port": 70000, "reason": "x"}]}, "ollama[0].port: 70000 is not a port number"),
    ({"ollama": [{"to": "a.example", "port": 443, "proto": "icmp", "reason": "x"}]}, "ollama[0].proto: 'icmp'"),
    ({"ollama": [{"to": "a.example", "port": 443, "reason": "x", "sources": []}]}, "unknown key(s) sources"),
    ({"ollama": [{"port": 443, "reason": "x"}]}, "ollama[0].to: is required"),
    ({"ollama": "registry.ollama.ai"}, "ollama: must be a list of entries"),
    (["ollama"], "must be a mapping of runtime name"),
])
def test_bad_entries_are_refused_naming_the_variable(allowed, message):
    errors = egress.allowed_errors(allowed, KNOWN)
    assert any(message in error for error in errors), errors


def test_good_entries_pass():
    allowed = {"ollama": [{"to": "registry.ollama.ai", "port": 443, "reason": "Model pulls."},
                          {"to": "2001:db8::/32", "port": "8443", "proto": "udp", "reason": "QUIC mirror."},
                          {"to": "10.1.2.3", "port": 80, "reason": "Proxy."}],
               "jupyter": None}
    assert egress.allowed_errors(allowed, KNOWN) == []
    assert egress.allowed_errors(None, KNOWN) == []


# --- who is restricted ----------------------------------------------------------------------------

def test_service_users_are_restricted_and_root_humans_shared_and_containers_are_not():
    result = plan([runtime("llama_cpp", 997, "_llama-server"), runtime("mlflow", 0),
                   runtime("jupyter", 1000, "alice"), runtime("ollama", 33, "www-data"),
                   runtime("open_webui", None, False, containers=[{"name": "open-webui"}])])
    assert [(c["name"], c["uids"], c["users"]) for c in result["chains"]] == [
        ("egress-llama_cpp", [997], ["_llama-server"])]
    reasons = {(item["runtime"], item["uid"]): item["reason"] for item in result["unrestricted"]}
    assert reasons[("mlflow", 0)].startswith("runs as root")
    assert "outside the system accounts" in reasons[("jupyter", 1000)]
    assert "outside the system accounts" in reasons[("ollama", 33)]
    assert "container" in reasons[("open_webui", None)]


def test_unit_user_counts_when_the_runtime_is_not_running_and_unset_user_is_root():
    result = plan([runtime("jupyter", None, "jupyter"), runtime("mlflow", None, None)])
    assert [(c["name"], c["uids"]) for c in result["chains"]] == [("egress-jupyter", [996])]
    assert [(item["runtime"], item["uid"]) for item in result["unrestricted"]] == [("mlflow", 0)]


def test_the_connection_account_is_never_restricted():
    result = plan([runtime("jupyter", 994, "ansible")], exempt=["ansible"])
    assert result["chains"] == []
    assert "the account Ansible connects as" in result["unrestricted"][0]["reason"]


def test_runtimes_sharing_a_user_share_one_chain_with_both_allowances():
    allowed = {"jupyter": [{"to": "pypi.example", "port": 443, "reason": "Packages."}],
               "mlflow": [{"to": "10.9.0.0/16", "port": 9000, "reason": "Artifact store."}]}
    result = plan([runtime("jupyter", 996, "jupyter"), runtime("mlflow", 996, "jupyter")], allowed)
    (chain,) = result["chains"]
    assert chain["name"] == "egress-jupyter-mlflow"
    assert chain["log_prefix"] == "aihost-egress-jupyter-mlflow: "
    assert [(r["family"], r["daddr"], r["port"], r["runtime"]) for r in chain["rules"]] == [
        ("ipv4", "@egress-jupyter-mlflow-1-v4", 443, "jupyter"),
        ("ipv6", "@egress-jupyter-mlflow-1-v6", 443, "jupyter"),
        ("ipv4", "10.9.0.0/16", 9000, "mlflow")]
    assert result["names"] == [{"host": "pypi.example",
                                "sets": {"ipv4": "egress-jupyter-mlflow-1-v4", "ipv6": "egress-jupyter-mlflow-1-v6"},
                                "line": "egress-jupyter-mlflow-1-v4 egress-jupyter-mlflow-1-v6 pypi.example"}]


def test_one_runtime_with_two_service_users_is_one_chain_for_both():
    result = plan([runtime("jupyter", 996, "jupyter"), runtime("jupyter", 995, "mlflow")])
    assert [(c["name"], c["uids"]) for c in result["chains"]] == [("egress-jupyter", [995, 996])]


def test_off_plans_no_chain_but_still_says_who_stays_open():
    result = plan([runtime("llama_cpp", 997, "_llama-server"), runtime("mlflow", 0)], mode="off")
    assert result["chains"] == [] and result["sets"] == [] and result["names"] == []
    assert [item["runtime"] for item in result["unrestricted"]] == ["mlflow"]


def test_resolvers_skip_loopback_and_zone_index():
    assert egress.parse_resolvers(RESOLV) == {"ipv4": ["10.0.0.2"], "ipv6": ["fe80::1"]}
    assert egress.parse_resolvers("nameserver 127.0.0.11\nnameserver not-an-ip\n") == {"ipv4": [], "ipv6": []}


def test_allowed_runtimes_without_an_instance_are_listed():
    result = plan([runtime("llama_cpp", 997, "_llama-server")], {"ollama": [{"to": "a.example", "port": 1, "reason": "x"}]})
    assert result["not_on_host"] == ["ollama"]


# --- the ruleset, loaded by the real nft ----------------------------------------------------------

def _nft_namespace_available():
    return os.geteuid() == 0 and shutil.which("nft") and shutil.which("ip")


def render_ruleset(egress_plan):
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                     extensions=["jinja2.ext.loopcontrols"])
    environment.filters["aihost.hardening.nft_comment"] = exposures.nft_comment
    environment.filters["aihost.hardening.networks_by_family"] = exposures.networks_by_family
    return environment.from_string((ROLE / "templates" / "aihost.nft.j2").read_text()).render(
        ansible_managed="Ansible managed (unit test)", aihost_firewall__table="aihost",
        aihost_firewall__unit="aihost-firewall.service", aihost_firewall__ruleset_path="/etc/aihost/firewall.nft",
        aihost_firewall__backend="nftables", aihost_firewall_icmp_echo_rate="10/second",
        aihost_firewall_admin_networks=["192.0.2.0/24"], aihost_firewall__ssh_ports=[22],
        aihost_firewall__entries=[], aihost_firewall__from_containers=[], aihost_firewall_container_interfaces=["docker0"],
        aihost_firewall_log_drops=False, aihost_firewall_log_rate="5/minute", aihost_firewall_filter_forwarded=True,
        aihost_firewall__egress=egress_plan)


@pytest.fixture
def netns():
    if not _nft_namespace_available():
        pytest.skip("needs root, nft and ip (a throwaway network namespace)")
    name = "aihost-egress-%s" % uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield ["ip", "netns", "exec", name]
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


ALLOWED = {"llama_cpp": [{"to": "registry.example", "port": 8000, "reason": 'Model pulls "quoted".'},
                         {"to": "2001:db8::/32", "port": 443, "reason": "Mirror."}],
           "jupyter": [{"to": "192.0.2.7", "port": 3128, "proto": "tcp", "reason": "The proxy."}]}


@pytest.mark.parametrize("mode", ["enforce", "log"])
def test_rendered_ruleset_loads_and_has_one_chain_per_restricted_runtime(netns, tmp_path, mode):
    egress_plan = plan([runtime("llama_cpp", 997, "_llama-server"), runtime("jupyter", 996, "jupyter"),
                        runtime("mlflow", 0)], ALLOWED, mode)
    ruleset = tmp_path / "firewall.nft"
    ruleset.write_text(render_ruleset(egress_plan))
    subprocess.run(netns + ["nft", "-f", str(ruleset)], check=True, capture_output=True, text=True)
    live = subprocess.run(netns + ["nft", "list", "table", "inet", "aihost"], check=True, capture_output=True,
                          text=True).stdout
    assert 'meta skuid 997 jump egress-llama_cpp comment "aihost: egress of llama_cpp (user _llama-server)"' in live
    assert "meta skuid 996 jump egress-jupyter" in live
    assert "meta skuid 0" not in live
    assert "ip daddr 10.0.0.2 meta l4proto { tcp, udp } th dport 53 accept" in live
    assert "ip daddr @egress-llama_cpp-1-v4 tcp dport 8000 accept" in live
    assert "ip6 daddr 2001:db8::/32 tcp dport 443 accept" in live
    assert 'log prefix "aihost-egress-llama_cpp: "' in live
    if mode == "enforce":
        assert 'counter packets 0 bytes 0 drop comment "aihost: egress-drop: llama_cpp"' in live
        assert "egress-log" not in live
    else:
        assert 'counter packets 0 bytes 0 comment "aihost: egress-log: llama_cpp (log mode, not dropped)"' in live
        assert " drop comment \"aihost: egress-drop" not in live


def test_off_renders_no_output_chain(netns, tmp_path):
    egress_plan = plan([runtime("llama_cpp", 997, "_llama-server")], ALLOWED, "off")
    text = render_ruleset(egress_plan)
    assert "hook output" not in text and "skuid" not in text
    ruleset = tmp_path / "firewall.nft"
    ruleset.write_text(text)
    subprocess.run(netns + ["nft", "-c", "-f", str(ruleset)], check=True)


GETENT_STANDIN = """#!/bin/sh
# STAND-IN for `getent ahosts NAME` (glibc's output format: ADDRESS SOCKTYPE [NAME]).
[ "$1" = ahosts ] || exit 2
case "$2" in
  registry.example) printf '192.0.2.10      STREAM registry.example\\n192.0.2.10      DGRAM\\n192.0.2.11      STREAM\\n2001:db8::10    STREAM\\n' ;;
  evil.example) printf '192.0.2.12; flush ruleset STREAM\\n::ffff:192.0.2.13 STREAM\\n' ;;
  *) exit 2 ;;
esac
"""


def render_refresh(names_path):
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["quote"] = lambda value: shlex.quote(str(value))
    return environment.from_string((ROLE / "templates" / "aihost-firewall-egress.j2").read_text()).render(
        ansible_managed="Ansible managed (unit test)", aihost_firewall__nft_bin=shutil.which("nft") or "nft",
        aihost_firewall__table="aihost", aihost_firewall__unit="aihost-firewall.service",
        aihost_firewall__egress_names_path=str(names_path))


def test_refresh_fills_the_sets_keeps_them_when_a_name_fails_and_takes_only_addresses(netns, tmp_path):
    allowed = {"llama_cpp": [{"to": "registry.example", "port": 8000, "reason": "Model pulls."},
                             {"to": "evil.example", "port": 80, "reason": "Odd resolver answers."},
                             {"to": "gone.example", "port": 443, "reason": "Does not resolve."}]}
    egress_plan = plan([runtime("llama_cpp", 997, "_llama-server")], allowed)
    ruleset = tmp_path / "firewall.nft"
    ruleset.write_text(render_ruleset(egress_plan))
    subprocess.run(netns + ["nft", "-f", str(ruleset)], check=True)
    names = tmp_path / "names"
    names.write_text("# header\n" + "".join(item["line"] + "\n" for item in egress_plan["names"]))
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "getent").write_text(GETENT_STANDIN)
    (stubs / "getent").chmod(0o755)
    script = tmp_path / "aihost-firewall-egress"
    script.write_text(render_refresh(names))
    env = dict(os.environ, PATH="%s:%s" % (stubs, os.environ.get("PATH", "/usr/bin:/bin")))
    # An element the last refresh put in the set of the name that no longer resolves.
    subprocess.run(netns + ["nft", "add", "element", "inet", "aihost", "egress-llama_cpp-3-v4", "{ 198.51.100.9 }"],
                   check=True)
    result = subprocess.run(netns + ["sh", str(script)], env=env, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 1, result.stderr
    assert "gone.example does not resolve" in result.stderr

    def elements(set_name):
        return subprocess.run(netns + ["nft", "list", "set", "inet", "aihost", set_name], check=True,
                              capture_output=True, text=True).stdout

    assert "elements = { 192.0.2.10, 192.0.2.11 }" in elements("egress-llama_cpp-1-v4")
    assert "elements = { 2001:db8::10 }" in elements("egress-llama_cpp-1-v6")
    # Text that is not an address never reaches nft; a v4-mapped IPv6 answer is not an IPv6 address to allow.
    assert "elements" not in elements("egress-llama_cpp-2-v4")
    assert "elements" not in elements("egress-llama_cpp-2-v6")
    assert "198.51.100.9" in elements("egress-llama_cpp-3-v4")
    # The table survives (no "flush ruleset" got through).
    assert "chain egress-llama_cpp" in subprocess.run(netns + ["nft", "list", "ruleset"], check=True,
                                                      capture_output=True, text=True).stdout
