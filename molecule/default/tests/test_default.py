"""Verify the read-only audit against what the containers really run.

Prepare started a real Jupyter server on 0.0.0.0:8888 (token auth on, as root) and labelled stand-ins:
vLLM on all interfaces :8000, llama-server on 127.0.0.1:8080, Ollama on 127.0.0.1:11434.
Converge ran playbooks/audit.yml, which wrote one JSON report per host on the controller.
"""
import json
import os
import re

import jsonschema
import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")

PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
REPORT_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports")
SCHEMA = os.path.join(PROJECT, "roles", "audit", "files", "report.schema.json")

SS_USERS = re.compile(r'\("([^"]*)",pid=(\d+),fd=\d+\)')


def parse_ss(text, protocol):
    """Parse `ss -l{t,u}npH` into {(protocol, address, port): {pid: process name}}."""
    sockets = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        local = fields[3]
        address, port = local.rsplit(":", 1)
        address = address.strip("[]").split("%", 1)[0]
        if address == "*":
            address = "0.0.0.0"
        users = dict((int(pid), name) for name, pid in SS_USERS.findall(line))
        sockets.setdefault((protocol, address, int(port)), {}).update(users)
    return sockets


@pytest.fixture(scope="module")
def live_facts(host):
    """Run the module now, in check mode, so its view and ss's are taken at the same moment."""
    result = host.ansible("aihost.hardening.ai_runtime_facts", check=True)
    assert "ansible_facts" in result, result
    return result["ansible_facts"]["aihost_runtime"]


@pytest.fixture(scope="module")
def live_gpu(host):
    result = host.ansible("aihost.hardening.gpu_facts", check=True)
    assert "ansible_facts" in result, result
    return result["ansible_facts"]["aihost_gpu"]


@pytest.fixture(scope="module")
def report(host):
    path = os.path.join(REPORT_DIR, host.backend.host + ".json")
    assert os.path.isfile(path), "converge wrote no report at " + path
    with open(path) as handle:
        return json.load(handle)


def runtime(facts, name):
    found = [r for r in facts["runtimes"] if r["name"] == name]
    assert len(found) == 1, "expected one %s runtime, found %r" % (name, [r["name"] for r in facts["runtimes"]])
    return found[0]


def listener(facts, port, protocol="tcp"):
    found = [entry for entry in facts["listeners"] if entry["port"] == port and entry["protocol"] == protocol]
    assert len(found) == 1, "expected one %s listener on port %d, found %r" % (protocol, port, found)
    return found[0]


def test_listeners_match_ss_exactly(host, live_facts):
    """Every TCP and UDP socket ss lists is reported, with the same pids and process name, and nothing else."""
    expected = parse_ss(host.check_output("ss -ltnpH"), "tcp")
    expected.update(parse_ss(host.check_output("ss -lunpH"), "udp"))
    reported = {}
    for entry in live_facts["listeners"]:
        key = (entry["protocol"], entry["address"], entry["port"])
        assert key not in reported, "listener reported twice: %r" % (key,)
        reported[key] = entry
    assert set(reported) == set(expected)
    # ss itself sees every owner here (root with CAP_SYS_PTRACE), so the comparison below is not empty.
    assert all(expected.values()), expected
    for key, users in expected.items():
        entry = reported[key]
        assert set(entry["pids"]) == set(users), key
        if users:
            assert entry["pid"] in users, key
            assert entry["process"] == users[entry["pid"]], key
    # The scenario's own four listeners are among them (a parse that finds nothing can't pass).
    assert {("tcp", "0.0.0.0", 8888), ("tcp", "0.0.0.0", 8000), ("tcp", "127.0.0.1", 8080),
            ("tcp", "127.0.0.1", 11434)} <= set(reported)


def test_listener_owners_match_proc(host, live_facts):
    """Each attributed socket names the pid's real user and systemd unit."""
    units = {8888: "jupyter.service", 8000: "vllm.service", 8080: "llama-server.service", 11434: "ollama.service"}
    users = {8888: "root", 8000: "vllm", 8080: "nobody", 11434: "ollama"}
    processes = {8888: "jupyter-server", 8000: "vllm", 8080: "llama-server", 11434: "ollama"}
    for port, unit in units.items():
        entry = listener(live_facts, port)
        assert entry["unit"] == unit
        assert entry["process"] == processes[port]
        assert entry["attributed_by"] == "process"
        assert entry["user"] == users[port]
        assert entry["user"] == host.check_output("ps -o user= -p %s", str(entry["pid"])).strip()
        assert entry["container"] is None


def test_jupyter_is_detected_exposed_with_token_auth(live_facts):
    """The real Jupyter server on 0.0.0.0 is runtime jupyter, exposure all, auth on, as root, from jupyter.service."""
    jupyter = runtime(live_facts, "jupyter")
    assert jupyter["exposure"] == "all"
    assert jupyter["auth"]["enabled"] is True
    assert jupyter["run_as"] == ["root"]
    assert "jupyter.service" in [unit["name"] for unit in jupyter["units"]]
    assert [(l["address"], l["port"], l["scope"]) for l in jupyter["listen"]] == [("0.0.0.0", 8888, "all")]
    assert jupyter["version"] == "2.21.1"
    assert listener(live_facts, 8888)["runtime"] == "jupyter"


def test_vllm_standin_is_detected_on_all_interfaces(live_facts):
    vllm = runtime(live_facts, "vllm")
    assert vllm["exposure"] == "all"
    assert vllm["run_as"] == ["vllm"]
    assert listener(live_facts, 8000)["scope"] == "all"
    assert listener(live_facts, 8000)["runtime"] == "vllm"


@pytest.mark.parametrize("name,port", [("llama_cpp", 8080), ("ollama", 11434)])
def test_loopback_runtimes_have_loopback_scope(live_facts, name, port):
    found = runtime(live_facts, name)
    assert found["exposure"] == "loopback"
    assert listener(live_facts, port)["scope"] == "loopback"
    assert listener(live_facts, port)["runtime"] == name


def test_scopes_agree_with_reachability(host):
    """The scope words are true: on the container's own network address, the 'all' listeners answer and
    the 'loopback' ones refuse (traffic stays inside this container)."""
    address = host.interface("eth0").addresses[0]
    for port in (8888, 8000):
        assert host.run("curl -s -o /dev/null --max-time 5 http://%s:%s/", address, str(port)).rc == 0
    for port in (8080, 11434):
        assert host.run("curl -s -o /dev/null --max-time 5 http://%s:%s/", address, str(port)).rc == 7  # refused
        assert host.run("curl -s -o /dev/null --max-time 5 http://127.0.0.1:%s/", str(port)).rc == 0


def test_gpu_facts_say_cpu_only_plainly(host, live_gpu):
    """These containers see the controller's PCI bus; with no display/3D/accelerator device on it, gpu_facts
    says so and fails nothing."""
    classes = host.check_output("cat /sys/bus/pci/devices/*/class").split()
    accelerators = [c for c in classes if c.startswith(("0x03", "0x12"))]
    if accelerators:
        pytest.skip("the controller has a GPU or accelerator: %r" % accelerators)
    assert live_gpu["present"] is False
    assert live_gpu["gpus"] == []
    assert live_gpu["summary"].startswith("CPU-only")


def test_report_is_valid_and_matches_the_host(host, report, live_facts):
    """The JSON report converge wrote validates against the published schema and holds the host's facts."""
    with open(SCHEMA) as handle:
        jsonschema.validate(report, json.load(handle))
    assert report["schema_version"] == 2
    assert report["host"]["name"] == host.backend.host
    assert {(l["protocol"], l["address"], l["port"]) for l in report["aihost_runtime"]["listeners"]} == \
        {(l["protocol"], l["address"], l["port"]) for l in live_facts["listeners"]}
    assert sorted(r["name"] for r in report["aihost_runtime"]["runtimes"]) == \
        sorted(r["name"] for r in live_facts["runtimes"])


def test_text_summary_lists_runtimes_and_every_listener(host, report):
    with open(os.path.join(REPORT_DIR, host.backend.host + ".txt")) as handle:
        summary = handle.read()
    for name in ("jupyter", "vllm", "llama_cpp", "ollama"):
        assert re.search(r"^  %s\s" % name, summary, re.M), name
    for entry in report["aihost_runtime"]["listeners"]:
        address = "[%s]" % entry["address"] if ":" in entry["address"] else entry["address"]
        assert re.search(r"^  %s\s+%s:%d\s+%s\s" % (entry["protocol"], re.escape(address), entry["port"], entry["scope"]),
                         summary, re.M), entry
    assert report["aihost_gpu"]["summary"] in summary


def test_report_header_is_what_setup_says_about_the_host(host, report):
    """host_audit_facts reads the header itself (os-release, uname) instead of running setup: on this
    Debian host it must say exactly what ansible.builtin.setup says (name, FQDN, OS and point
    release, kernel, architecture)."""
    facts = host.ansible("setup", "gather_subset=!all,!min,platform,distribution", check=False)["ansible_facts"]
    assert report["host"]["hostname"] == facts["ansible_hostname"]
    assert report["host"]["fqdn"] == facts["ansible_fqdn"]
    assert report["host"]["os"] == "%s %s" % (facts["ansible_distribution"], facts["ansible_distribution_version"])
    assert report["host"]["kernel"] == facts["ansible_kernel"]
    assert report["host"]["architecture"] == facts["ansible_architecture"]
