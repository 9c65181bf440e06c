"""The role owns table inet aihost and nothing else: Docker's chains (the iptables-nft rules of the
real Docker running on each host, plus the outer Docker engine's embedded-DNS rules of each test
container) are what prepare recorded before the role ever ran, and IP forwarding stays on.
side_effect.yml compared them byte for byte after every role run, before the reboot; after the
reboot dockerd recreates its rules (in the order its containers come back, so they are compared as
sets of rules) and the outer engine its embedded-DNS rules with new random ports (left out)."""
import re

import testinfra.utils.ansible_runner

from conftest import INVENTORY, backend_of

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("firewalled")

NORMALISED_IPTABLES = r"iptables-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/'"
EMBEDDED_DNS = "127.0.0.11"


def without_embedded_dns(text, backend="nftables"):
    """The lines to compare. On the firewalld host the recording was taken after a firewalld reload,
    which makes Docker 20.10 drop its isolation rules until dockerd starts again (molecule.yml)."""
    return [line for line in text.splitlines()
            if EMBEDDED_DNS not in line and not (backend == "firewalld" and line.startswith("-A DOCKER-ISOLATION-STAGE-"))]


def test_dockers_rules_are_untouched(host):
    """iptables-save (packet counters zeroed, timestamps dropped) holds the pre-role recording's rules."""
    before = host.file("/root/foreign-before.txt").content_string
    after = host.check_output(NORMALISED_IPTABLES)
    assert ":DOCKER-USER - [0:0]" in before
    for port in (9080, 9081, 11435):   # the published ports of fw-web and fw-ai, DNATed by Docker
        assert re.search(r"--dport %d -j DNAT --to-destination [0-9.]+:[0-9]+" % port, before), port
    backend = backend_of(host)
    assert sorted(without_embedded_dns(after, backend)) == sorted(without_embedded_dns(before, backend))


def test_dockers_chains_still_forward_published_ports(host):
    """DOCKER-USER is still the first FORWARD rule and the FORWARD policy is what it was before the
    role (Docker sets DROP only when it turns ip_forward on itself; here it was on already)."""
    before = host.file("/root/foreign-before.txt").content_string
    policy = re.search(r"^:FORWARD (ACCEPT|DROP) ", before, re.MULTILINE).group(1)
    forward = host.check_output("iptables -S FORWARD").splitlines()
    assert forward[0] == "-P FORWARD " + policy
    # dockerd adds its bridges' rules in the order its networks come up, which a reboot may change
    assert sorted(forward[1:]) == sorted(line for line in before.splitlines() if line.startswith("-A FORWARD "))
    if backend_of(host) == "nftables":   # with firewalld, Docker 20.10's reload puts it later (molecule.yml)
        assert forward[1] == "-A FORWARD -j DOCKER-USER"
    assert "-A FORWARD -j DOCKER-USER" in forward


def test_ip_forwarding_stays_on(host):
    assert host.file("/proc/sys/net/ipv4/ip_forward").content_string.strip() == "1"


def test_only_our_table_was_added(host):
    """nftables tables are Docker's iptables-nft ones (ip/ip6 nat, filter, raw, mangle), ours, and
    firewalld's on the firewalld host."""
    tables = set(host.check_output("nft list tables").splitlines())
    assert {"table ip nat", "table ip filter", "table inet aihost"} <= tables
    ours = {"table inet aihost"} | ({"table inet firewalld"} if backend_of(host) == "firewalld" else set())
    iptables_nft = {"table %s %s" % (family, name) for family in ("ip", "ip6") for name in ("nat", "filter", "raw", "mangle")}
    assert tables - ours <= iptables_nft


def test_the_ruleset_never_flushes_everything(host):
    text = host.file("/etc/aihost/firewall.nft").content_string
    assert "flush ruleset" not in text
    statements = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert statements[:2] == ["table inet aihost {}", "delete table inet aihost"]
    assert all(line.startswith(("table inet aihost", "delete table inet aihost")) or not line.startswith(("table", "delete", "flush"))
               for line in statements)


def test_docker_runs_both_containers(host):
    """Without them the DNAT tests below would prove nothing: fw-web on the default bridge, fw-ai on
    the user-defined network fw-usernet, both back after the reboot (restart policy always)."""
    assert host.run("systemctl is-active docker.service").stdout.strip() == "active"
    running = host.check_output("docker ps --format '{{.Names}} {{.Networks}}'").splitlines()
    assert sorted(running) == ["fw-ai fw-usernet", "fw-web bridge"]
