"""Verify playbooks/site.yml end to end on CPU-only hosts, from outside and from inside.

Prepare started, as root on 0.0.0.0 from systemd units: REAL Jupyter (:8888), MLflow (:5000), a Gradio
app (:7860), a Ray head (GCS :6379, dashboard :8265), a ChromaDB server (:8000) and sshd (:22), plus the
labelled Ollama (:11434) and vLLM (:8001) stand-ins. It stored on the controller (evidence dir): the
peer's full nmap scan of each host, the checksums of the data directories, and the fingerprint of /etc,
the unit files and the ruleset; the check run stored its own fingerprint right after the check.
The inventory justifies SSH (22) from the admin network (the scenario's Docker network) and declares
MLflow's port (5000) for that network; everything else must be gone from the network.
"""
import os
import re
import shlex

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("cpu_only")

SCENARIO = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "cpu_only")
FINGERPRINT = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared", "fingerprint.sh")
EVIDENCE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "evidence")

SSH, MLFLOW = 22, 5000
DECLARED = {SSH, MLFLOW}
# port -> (runtime, loopback URL path that answers 200 without credentials)
RUNTIMES = {
    11434: ("ollama", "/api/version"),
    8001: ("vllm", "/health"),
    8888: ("jupyter", "/api"),
    MLFLOW: ("mlflow", "/health"),
    7860: ("gradio", "/"),
    8265: ("ray dashboard", "/api/version"),
    6379: ("ray gcs", None),
    8000: ("chroma", "/api/v2/heartbeat"),
}
# The ports whose runtime's bind setting moves them to loopback. MLflow's is declared (it stays
# on 0.0.0.0); Ray's GCS binds every interface whatever its flags say, so only the firewall keeps
# it from the network (asserted from the peer).
LOOPBACK_ONLY = set(RUNTIMES) - {MLFLOW, 6379}
# Chroma rewrites its own index files in the background: its data is proved through its API.
DATA_DIRS = ["/var/lib/ollama/models", "/var/lib/vllm", "/var/lib/jupyter", "/var/lib/mlflow", "/var/lib/gradio"]
CHROMA = "http://127.0.0.1:8000/api/v2/tenants/default_tenant/databases/default_database"


def evidence(host, kind):
    with open(os.path.join(EVIDENCE, "%s-%s.txt" % (host.backend.host, kind))) as handle:
        return handle.read().rstrip("\n")


def open_ports(grepable):
    """Open TCP ports in nmap's grepable (-oG) output."""
    return set(int(port) for port in re.findall(r"(\d+)/open/tcp", grepable))


def run_script(host, script_path, *args):
    with open(script_path) as handle:
        script = handle.read()
    result = host.run("bash -c %s %s" % (shlex.quote(script), " ".join(shlex.quote(a) for a in ("x",) + args)))
    assert result.rc == 0, result.stderr
    return result.stdout.rstrip("\n")


@pytest.fixture(scope="module")
def peer():
    return testinfra.get_host("ansible://cpu-only-peer?ansible_inventory=%s" % INVENTORY)


def test_peer_saw_the_runtimes_before_converge(host):
    """Guard against a vacuous pass: before converge the peer found every runtime's port open."""
    before = open_ports(evidence(host, "scan-before"))
    assert set(RUNTIMES) | {SSH} <= before, sorted(before)


def test_peer_sees_only_ssh_and_the_declared_port_after(host, peer):
    """After converge a full connect scan from the peer finds exactly SSH and MLflow's declared port.

    SSH answering proves the scan reaches the host, so every other port's silence is a real negative."""
    out = peer.check_output("nmap -sT -Pn -n -p- --min-rate 3000 -oG - %s" % host.backend.host)
    assert "Ports:" in out, out
    assert open_ports(out) == DECLARED, out
    for port, (runtime, _path) in RUNTIMES.items():
        if port not in DECLARED:
            assert not re.search(r"\b%d/open/" % port, out), "%s (%d) answers the peer" % (runtime, port)


def test_runtimes_still_answer_on_loopback(host):
    """Inside the host, nmap on 127.0.0.1 finds every runtime, and each answers an HTTP GET with 200."""
    out = host.check_output("nmap -sT -Pn -n -p- --min-rate 3000 -oG - 127.0.0.1")
    missing = set(RUNTIMES) - open_ports(out)
    assert not missing, "not answering on loopback: %s" % sorted(missing)
    for port, (runtime, path) in RUNTIMES.items():
        if path:
            status = host.check_output(
                "curl -s -o /dev/null -w '%%{http_code}' --max-time 20 http://127.0.0.1:%d%s" % (port, path))
            assert status == "200", "%s on 127.0.0.1:%d%s answered %s" % (runtime, port, path, status)


def test_runtimes_listen_on_loopback_only(host):
    """The socket table has the rebound runtimes' ports on 127.0.0.1/::1 only; MLflow stays declared."""
    out = host.check_output("ss -ltnH")
    bound = {}
    for line in out.splitlines():
        local = line.split()[3]
        address, port = local.rsplit(":", 1)
        bound.setdefault(int(port), set()).add(address.strip("[]"))
    for port in LOOPBACK_ONLY:
        assert bound.get(port), "nothing listens on %d" % port
        assert bound[port] <= {"127.0.0.1", "::1"}, "%s bound on %s" % (RUNTIMES[port][0], bound[port])
    assert bound.get(MLFLOW) == {"0.0.0.0"}, bound.get(MLFLOW)


def test_runtimes_run_as_service_users(host):
    """Every runtime's unit now runs as its own unprivileged user, none as root."""
    for unit in ("ollama", "vllm", "jupyter", "mlflow", "gradio", "ray", "chroma"):
        pid = host.check_output("systemctl show -p MainPID --value %s.service" % unit)
        assert pid != "0", "%s is not running" % unit
        user = host.check_output("ps -o user= -p %s" % pid)
        assert user not in ("", "root"), "%s runs as %r" % (unit, user)


def test_firewall_is_live(host):
    """The deny-by-default ruleset is loaded (what keeps Ray's GCS, bound to 0.0.0.0, off the network)."""
    assert "policy drop" in host.check_output("nft list ruleset")


def test_check_step_changed_nothing(host):
    """The fingerprint of /etc, the unit files and the ruleset taken right after the check run equals
    prepare's, line for line (converge.yml also fails the check run itself on any difference)."""
    before = evidence(host, "fingerprint-before")
    after_check = evidence(host, "fingerprint-after-check")
    assert len(before.splitlines()) > 500, "the fingerprint covers /etc and the unit files"
    assert "/etc/systemd/system/ray.service " in before
    assert after_check == before
    # ... and converge did change what it should, so the fingerprint can tell.
    assert run_script(host, FINGERPRINT) != before


def test_data_directories_kept_their_contents(host):
    """Every model and data file is still there, at the same path, with the same sha256 as before
    converge. Files the runtimes write themselves as their new users (Jupyter's runtime files in its
    new home) may be added; nothing recorded may change or go."""
    before = set(line for line in evidence(host, "data-before").splitlines()
                 if line.split("  ", 1)[1].startswith(tuple(d + "/" for d in DATA_DIRS)))
    assert len(before) >= 7, before
    after = set(run_script(host, os.path.join(SCENARIO, "files", "data_checksums.sh"), *DATA_DIRS).splitlines())
    assert not before - after, "changed or gone: %s" % sorted(before - after)


def test_runtime_databases_kept_their_records(host):
    """The MLflow experiment and the Chroma collection prepare created are still served."""
    out = host.check_output(
        "curl -sf --max-time 20 'http://127.0.0.1:5000/api/2.0/mlflow/experiments/get-by-name?experiment_name=aihost-proof'")
    assert '"name": "aihost-proof"' in out.replace('":"', '": "'), out
    collection = host.check_output("curl -sf --max-time 20 %s/collections/aihost-proof" % CHROMA)
    ident = re.search(r'"id"\s*:\s*"([0-9a-f-]+)"', collection)
    assert ident, collection
    count = host.check_output("curl -sf --max-time 20 %s/collections/%s/count" % (CHROMA, ident.group(1)))
    assert count.strip() == "3", count
