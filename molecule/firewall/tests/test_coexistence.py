"""The role owns table inet aihost and nothing else: Docker's chains (here the Docker stand-in's
iptables-nft rules, plus the real Docker engine's embedded-DNS rules of each test container) are
identical to what prepare recorded before the role ever ran, and IP forwarding stays on.
side_effect.yml compared them byte for byte after every role run, before the reboot; after the
reboot Docker recreates its embedded-DNS rules with new random ports, so those lines are left out."""
import pytest
import testinfra.utils.ansible_runner

from conftest import INVENTORY, backend_of

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("firewalled")

NORMALISED_IPTABLES = r"iptables-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/'"
EMBEDDED_DNS = "127.0.0.11"


def without_embedded_dns(text):
    return [line for line in text.splitlines() if EMBEDDED_DNS not in line]


def test_dockers_rules_are_untouched(host):
    """iptables-save (packet counters zeroed, timestamps dropped) equals the pre-role recording."""
    before = host.file("/root/foreign-before.txt").content_string
    after = host.check_output(NORMALISED_IPTABLES)
    assert ":DOCKER-USER - [0:0]" in before and "-j DNAT --to-destination 198.18.0.2:81" in before
    assert without_embedded_dns(after) == without_embedded_dns(before)


def test_dockers_chains_still_forward_published_ports(host):
    """DOCKER-USER is still the first FORWARD rule and the FORWARD policy is still Docker's DROP."""
    forward = host.check_output("iptables -S FORWARD").splitlines()
    assert forward[0] == "-P FORWARD DROP"
    assert forward[1] == "-A FORWARD -j DOCKER-USER"


def test_ip_forwarding_stays_on(host):
    assert host.file("/proc/sys/net/ipv4/ip_forward").content_string.strip() == "1"


def test_only_our_table_was_added(host):
    """nftables tables are Docker's (ip nat, ip filter), ours, and firewalld's on the firewalld host."""
    tables = set(host.check_output("nft list tables").splitlines())
    expected = {"table ip nat", "table ip filter", "table inet aihost"}
    if backend_of(host) == "firewalld":
        expected.add("table inet firewalld")
    assert tables == expected


def test_the_ruleset_never_flushes_everything(host):
    text = host.file("/etc/aihost/firewall.nft").content_string
    assert "flush ruleset" not in text
    statements = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert statements[:2] == ["table inet aihost {}", "delete table inet aihost"]
    assert all(line.startswith(("table inet aihost", "delete table inet aihost")) or not line.startswith(("table", "delete", "flush"))
               for line in statements)


@pytest.mark.parametrize("unit", ["fw-standin-docker.service", "fw-ctr-http@81.service"])
def test_the_docker_stand_in_runs(host, unit):
    """Without the stand-in the DNAT tests below would prove nothing."""
    assert host.run("systemctl is-active %s", unit).stdout.strip() == "active"
