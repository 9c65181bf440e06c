"""Shared helpers for the firewall scenario's tests.

The hosts (group "firewalled") run the role; fw-scanner sits on the admin network (the one whose
subnet is aihost_firewall_admin_networks), fw-outsider on a second network that only the hosts share.
Both peers are plain containers of the same image: nmap on the scanner, Python on both.
ss (iproute2) on the hosts: prepare installs iproute2 (with Docker and busybox for its containers); the session
fixture below says so, and installs it if it is ever missing (the bare image has none).
"""
import json
import os
import subprocess
import sys

import pytest
import testinfra
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared"))
from verify_tools import install_tools  # noqa: E402

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]


@pytest.fixture(scope="session", autouse=True)
def verifier_tools():
    return install_tools(testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("firewalled"), ["ss"])


# Probe TCP ports concurrently from a peer and print {port: "open" | "refused" | "timeout"}.
PROBE = r"""
import json, socket, sys, concurrent.futures as cf
host, ports = sys.argv[1], [int(p) for p in sys.argv[2].split(",")]
def probe(port):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        return port, "open"
    except ConnectionRefusedError:
        return port, "refused"
    except OSError:
        return port, "timeout"
    finally:
        s.close()
with cf.ThreadPoolExecutor(len(ports)) as pool:
    print(json.dumps(dict(pool.map(probe, ports))))
"""


def docker_host(name):
    return testinfra.get_host("docker://" + name)


@pytest.fixture(scope="session")
def scanner():
    return docker_host("fw-scanner")


@pytest.fixture(scope="session")
def outsider():
    return docker_host("fw-outsider")


def probe_tcp(peer, target, ports):
    """Connect from PEER to TARGET on each port at once; return {port: state}."""
    out = peer.check_output("python3 -c %s %s %s", PROBE, target, ",".join(str(p) for p in ports))
    return {int(port): state for port, state in json.loads(out).items()}


def nmap_tcp(scanner, target, ports):
    """nmap -sT from the scanner; return {port: state} (open, closed, filtered)."""
    out = scanner.check_output(
        "nmap -sT -Pn -n --max-retries 1 --host-timeout 120s -p %s -oG - %s",
        ",".join(str(p) for p in ports), target)
    states = {}
    for line in out.splitlines():
        if "Ports:" not in line:
            continue
        for item in line.split("Ports:", 1)[1].split("Ignored State:")[0].split(","):
            fields = item.strip().split("/")
            states[int(fields[0])] = fields[1]
    return states


def listening_tcp_ports(host):
    """Every TCP port something listens on in HOST, except loopback-only sockets."""
    ports = set()
    for line in host.check_output("ss -ltnH").splitlines():
        local = line.split()[3]
        address, port = local.rsplit(":", 1)
        if address.strip("[]").split("%")[0] in ("127.0.0.1", "::1") or address.startswith("127."):
            continue
        ports.add(int(port))
    return ports


def backend_of(host):
    return "firewalld" if host.backend.get_hostname() == "fw-fwd-d12" else "nftables"


def aihost_table(host):
    """table inet aihost as nftables JSON: {"chains": {name: chain}, "rules": {chain: [rule]}}."""
    data = json.loads(host.check_output("nft -j list table inet aihost"))["nftables"]
    table = {"chains": {}, "rules": {}}
    for item in data:
        if "chain" in item:
            table["chains"][item["chain"]["name"]] = item["chain"]
        elif "rule" in item:
            table["rules"].setdefault(item["rule"]["chain"], []).append(item["rule"])
        elif "table" in item:
            table["table"] = item["table"]
    return table


def drop_counter(host, chain):
    """Packets counted by the last rule of CHAIN (the drop/policy counter)."""
    rule = aihost_table(host)["rules"][chain][-1]
    for statement in rule["expr"]:
        if "counter" in statement:
            return statement["counter"]["packets"]
    raise AssertionError("no counter at the end of chain %s" % chain)


def run_playbook(*args):
    """Run ansible-playbook against this scenario's inventory, as Molecule does."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(
        ["ansible-playbook", "-i", INVENTORY] + list(args),
        capture_output=True, text=True, timeout=600, check=False, env=env)
