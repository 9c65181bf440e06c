"""Real traffic. From fw-scanner (on the admin network) nmap -sT sees exactly SSH and the ports
declared for it; from fw-outsider only the port declared for the outsider answers. Listeners bound
to 0.0.0.0 (Python on 8000, the Ollama stand-in on 11434) are unreachable from both, yet answer on
loopback inside the host. Ports that real Docker publishes (fw-web on the default bridge, fw-ai on a
user-defined network, the one daemon.json's "ip" would not move) follow the same entries, and what
containers send to the host itself is decided by aihost_firewall_from_containers."""
import pytest
import testinfra.utils.ansible_runner

from conftest import INVENTORY, aihost_table, backend_of, drop_counter, listening_tcp_ports, nmap_tcp, probe_tcp

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("firewalled")

PUBLISHED = {9080, 9081, 11435}   # fw-web: -p 9080:80 (undeclared), -p 9081:81 (scanner only); fw-ai: -p 11435:11434
NOT_LISTENING = {1, 65535}        # nothing listens: a drop shows as "filtered", not "closed"


def name(host):
    return host.backend.get_hostname()


def all_ports(host):
    ports = listening_tcp_ports(host) | PUBLISHED | NOT_LISTENING
    assert {22, 8000, 8443, 8444, 11434} <= ports, "the scenario's listeners are not all running"
    return sorted(ports)


def test_runtimes_really_listen_on_all_interfaces(host):
    """The negative results below mean something only if these listen on 0.0.0.0."""
    listening = host.check_output("ss -ltnH")
    assert "0.0.0.0:8000 " in listening
    assert "0.0.0.0:11434 " in listening


def test_scanner_sees_only_ssh_and_its_declared_ports(host, scanner):
    states = nmap_tcp(scanner, name(host), all_ports(host))
    assert {port for port, state in states.items() if state == "open"} == {22, 8443, 9081}
    assert all(state == "filtered" for port, state in states.items() if port not in (22, 8443, 9081)), states


def test_outsider_reaches_only_its_declared_port(host, outsider):
    states = probe_tcp(outsider, name(host), all_ports(host))
    assert {port for port, state in states.items() if state == "open"} == {8444}
    assert "refused" not in states.values(), states     # dropped, never rejected


def test_ai_runtime_on_all_interfaces_is_dropped_by_the_firewall(host, scanner):
    """The drop counter grows while the scanner knocks on the Ollama stand-in's port."""
    chain = "published" if host.backend.get_hostname() == "fw-fwd-d12" else "input"
    if chain == "published":
        pytest.skip("with firewalld the zone drops it; the nmap test covers the traffic")
    before = drop_counter(host, "input")
    assert probe_tcp(scanner, name(host), [11434, 8000]) == {11434: "timeout", 8000: "timeout"}
    assert drop_counter(host, "input") > before


def test_undeclared_published_port_is_dropped_by_the_forward_chain(host, scanner):
    before = drop_counter(host, "published")
    assert probe_tcp(scanner, name(host), [9080, 11435]) == {9080: "timeout", 11435: "timeout"}
    assert drop_counter(host, "published") > before


def test_declared_published_port_reaches_the_container(host, scanner):
    page = scanner.check_output(
        "python3 -c %s", "import urllib.request; print(urllib.request.urlopen('http://%s:9081/', timeout=5).read().decode())"
        % name(host))
    assert page.strip() == "fw-ctr-http-81"


@pytest.mark.parametrize("address", ["127.0.0.1", "own"])
def test_loopback_still_works_inside_the_host(host, address):
    if address == "own":     # the host's own network address also travels over lo
        address = host.check_output("hostname -I").split()[0]
    states = probe_tcp(host, address, [8000, 8443, 11434, 9080, 9081, 11435])
    assert set(states.values()) == {"open"}, states


def container_drop_counter(host, interface):
    """Packets counted by the input chain's drop of undeclared container traffic on INTERFACE."""
    for rule in aihost_table(host)["rules"]["input"]:
        if "not in aihost_firewall_from_containers" not in rule.get("comment", ""):
            continue
        if any(statement.get("match", {}).get("right") == interface for statement in rule["expr"]):
            return next(statement["counter"]["packets"] for statement in rule["expr"] if "counter" in statement)
    raise AssertionError("no container drop rule for %s" % interface)


def gateway(host, interface):
    """The host's IPv4 address on a container bridge (what containers call the host by)."""
    return host.check_output("ip -4 -o addr show dev %s", interface).split()[3].split("/")[0]


def http_from(host, container, address, port):
    """GET / from inside CONTAINER with busybox nc (its wget crashes here); the reply, or ''."""
    return host.run("docker exec %s sh -c %s", container,
                    "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 %s %d" % (address, port)).stdout


def test_containers_reach_only_the_host_port_declared_for_them(host):
    """aihost_firewall_from_containers opens 8000 to the default bridge (docker0) only: fw-web gets
    the host's page, not the Ollama stand-in on 11434, and fw-ai (user network, br-*) not even 8000.
    The drops are counted by their own rules, not lost in the policy."""
    if backend_of(host) != "nftables":
        pytest.skip("firewalld: Docker's own zone decides (the role refuses aihost_firewall_from_containers)")
    user_bridge = "br-" + host.check_output("docker network inspect fw-usernet --format '{{.Id}}'")[:12]
    before = {"docker0": container_drop_counter(host, "docker0"), "br-*": container_drop_counter(host, "br-*")}
    assert "fw-http-8000" in http_from(host, "fw-web", gateway(host, "docker0"), 8000)
    assert "200 OK" not in http_from(host, "fw-web", gateway(host, "docker0"), 11434)
    assert "200 OK" not in http_from(host, "fw-ai", gateway(host, user_bridge), 8000)
    assert container_drop_counter(host, "docker0") > before["docker0"]
    assert container_drop_counter(host, "br-*") > before["br-*"]
