"""The firewall role refuses a firewalld host whose interfaces another zone holds (formerly Jinja in
tasks/validate.yml). Lines as firewalld 1.3 (Debian 12) prints `firewall-cmd --get-active-zones`."""
from ansible_collections.aihost.hardening.plugins.filter.firewalld import firewalld_escaping_interfaces

ACTIVE_ZONES = [
    "aihost",
    "  interfaces: eth0",
    "docker",
    "  interfaces: docker0 br-5c1f",
    "public (default)",
    "  interfaces: eth1 wg0",
    "  sources: 10.9.0.0/24",
]


def test_interfaces_of_other_zones_are_named_with_their_zone():
    assert firewalld_escaping_interfaces(ACTIVE_ZONES, "aihost", ["docker0", "br-*"], []) == [
        "eth1 (zone public)", "wg0 (zone public)"]


def test_declared_interfaces_and_container_bridges_are_left_out():
    assert firewalld_escaping_interfaces(ACTIVE_ZONES, "aihost", ["docker0", "br-*"], ["eth1", "wg0"]) == []
    # A pattern without '*' names one interface exactly.
    assert firewalld_escaping_interfaces(ACTIVE_ZONES, "aihost", ["docker0", "br-"], ["eth1", "wg0"]) == [
        "br-5c1f (zone docker)"]


def test_no_output_no_interface():
    assert firewalld_escaping_interfaces([], "aihost") == []
    assert firewalld_escaping_interfaces(None, "aihost") == []
