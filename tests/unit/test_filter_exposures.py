"""The allowed-exposures filters are the single validator of the policy shape shared by the
firewall, loopback and audit roles: every bad value must be reported with the variable name, the
entry index and the value, and valid input must normalise the same way for every caller."""
import os
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", ".collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.aihost.hardening.plugins.filter import exposures  # noqa: E402

VAR = "aihost_firewall_allowed_exposures"


def errors_of(entries, **kwargs):
    return exposures.exposure_errors(entries, VAR, **kwargs)


# --- exposure_errors: valid input ---------------------------------------------------------------

def test_minimal_and_full_entries_are_valid():
    entries = [
        {"port": 22, "reason": "SSH for the admin VPN."},
        {"port": "8443", "proto": "TCP", "sources": ["10.8.0.0/24", "2001:db8::/64", "192.0.2.7"],
         "runtime": "open_webui", "process": "open-webui", "scope": "specific", "reason": "Web UI."},
        {"port": 65535, "proto": "udp", "sources": None, "reason": "Edge of the port range."},
    ]
    assert errors_of(entries) == []


@pytest.mark.parametrize("empty", [None, [], ()])
def test_no_entries_is_valid(empty):
    assert errors_of(empty) == []


# --- exposure_errors: each bad value is named ---------------------------------------------------

@pytest.mark.parametrize("entry, expected", [
    ({"port": 0, "reason": "r"}, VAR + "[0].port: 0 is not a port number (1-65535)"),
    ({"port": 65536, "reason": "r"}, VAR + "[0].port: 65536 is not a port number (1-65535)"),
    ({"port": -1, "reason": "r"}, VAR + "[0].port: -1 is not a port number (1-65535)"),
    ({"port": True, "reason": "r"}, VAR + "[0].port: True is not a port number (1-65535)"),
    ({"port": "80-90", "reason": "r"}, VAR + "[0].port: '80-90' is not a port number (1-65535)"),
    ({"port": 1.5, "reason": "r"}, VAR + "[0].port: 1.5 is not a port number (1-65535)"),
    ({"reason": "r"}, VAR + "[0].port: is required"),
    ({"port": 53, "proto": "icmp", "reason": "r"},
     VAR + "[0].proto: 'icmp' is not a known protocol (one of: tcp, udp)"),
    ({"port": 53, "proto": 17, "reason": "r"},
     VAR + "[0].proto: 17 is not a known protocol (one of: tcp, udp)"),
    ({"port": 80, "sources": ["10.0.0.0/33"], "reason": "r"},
     VAR + "[0].sources[0]: '10.0.0.0/33' is not a valid IPv4/IPv6 address or CIDR"),
    ({"port": 80, "sources": ["example.org"], "reason": "r"},
     VAR + "[0].sources[0]: 'example.org' is not a valid IPv4/IPv6 address or CIDR"),
    ({"port": 80, "sources": ["10.0.0.1/8"], "reason": "r"},
     VAR + "[0].sources[0]: '10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)"),
    ({"port": 80, "sources": [None], "reason": "r"}, VAR + "[0].sources[0]: None is not a CIDR string"),
    ({"port": 80, "sources": "10.0.0.0/8", "reason": "r"},
     VAR + "[0].sources: must be a list of CIDRs, got '10.0.0.0/8'"),
    ({"port": 80, "sources": [], "reason": "r"},
     VAR + "[0].sources: must not be empty (omit it to use the default)"),
    ({"port": 80, "scope": "public", "reason": "r"},
     VAR + "[0].scope: 'public' is not a bind scope (one of: loopback, specific, all)"),
    ({"port": 80, "runtime": "Open-WebUI", "reason": "r"},
     VAR + "[0].runtime: 'Open-WebUI' is not a catalog runtime name (lower_snake_case)"),
    ({"port": 80, "process": "  ", "reason": "r"}, VAR + "[0].process: '  ' is not a process name"),
    ({"port": 80}, VAR + "[0].reason: is required: write one sentence saying why this port is open"),
    ({"port": 80, "reason": "   "}, VAR + "[0].reason: is required: write one sentence saying why this port is open"),
    ({"port": 80, "reason": "r", "source": ["10.0.0.0/8"]},
     VAR + "[0]: unknown key(s) source (allowed: port, proto, sources, runtime, process, scope, reason)"),
])
def test_each_bad_value_is_reported_with_its_path(entry, expected):
    assert errors_of([entry]) == [expected]


def test_errors_name_the_right_index_and_accumulate():
    entries = [{"port": 22, "reason": "ok"}, {"port": 0, "proto": "sctp"}]
    assert errors_of(entries) == [
        VAR + "[1].port: 0 is not a port number (1-65535)",
        VAR + "[1].proto: 'sctp' is not a known protocol (one of: tcp, udp)",
        VAR + "[1].reason: is required: write one sentence saying why this port is open",
    ]


@pytest.mark.parametrize("entries", ["22", {"port": 22}, 22])
def test_a_non_list_is_reported(entries):
    assert errors_of(entries)[0].startswith(VAR + ": must be a list of entries")


def test_a_non_mapping_entry_is_reported():
    assert errors_of([22]) == [VAR + "[0]: must be a mapping with at least port and reason, got 22"]


def test_runtime_names_are_checked_against_a_given_catalog():
    entry = {"port": 11434, "runtime": "olama", "reason": "typo"}
    assert errors_of([entry]) == []
    assert errors_of([entry], runtimes=["ollama", "vllm"]) == [VAR + "[0].runtime: 'olama' is not in the runtime catalog"]


def test_default_var_name():
    assert exposures.exposure_errors([{"port": 0, "reason": "r"}])[0].startswith("allowed_exposures[0].port")


# --- normalize_exposures ---------------------------------------------------------------------------

def test_normalise_applies_defaults_and_canonical_forms():
    entries = [
        {"port": "8080", "reason": "  API for the lab.  "},
        {"port": 53, "proto": "UDP", "sources": ["2001:DB8:0:0::/64", "192.0.2.7"], "scope": "specific",
         "runtime": "ollama", "process": " dnsd ", "reason": "DNS."},
    ]
    assert exposures.normalize_exposures(entries, ["10.8.0.0/24"]) == [
        {"port": 8080, "proto": "tcp", "sources": ["10.8.0.0/24"], "runtime": None, "process": None,
         "scope": "all", "reason": "API for the lab."},
        {"port": 53, "proto": "udp", "sources": ["2001:db8::/64", "192.0.2.7/32"], "runtime": "ollama",
         "process": "dnsd", "scope": "specific", "reason": "DNS."},
    ]


def test_normalise_without_default_sources_leaves_them_empty():
    assert exposures.normalize_exposures([{"port": 22, "reason": "r"}])[0]["sources"] == []


def test_normalise_default_sources_are_not_shared_between_entries():
    result = exposures.normalize_exposures([{"port": 1, "reason": "r"}, {"port": 2, "reason": "r"}], ["10.0.0.0/8"])
    result[0]["sources"].append("192.0.2.0/24")
    assert result[1]["sources"] == ["10.0.0.0/8"]


def test_normalise_rejects_invalid_input_with_every_error():
    with pytest.raises(AnsibleFilterError) as caught:
        exposures.normalize_exposures([{"port": 0, "reason": "r"}], ["300.0.0.0/8"])
    message = str(caught.value)
    assert "entries[0].port: 0" in message and "default_sources[0]: '300.0.0.0/8'" in message


# --- network helpers ----------------------------------------------------------------------------------

def test_network_errors():
    assert exposures.network_errors(["10.0.0.0/8", "fd00::/8"], "aihost_firewall_admin_networks") == []
    assert exposures.network_errors(None, "x") == []
    assert exposures.network_errors(["10.0.0.0/8", "nope"], "aihost_firewall_admin_networks") == [
        "aihost_firewall_admin_networks[1]: 'nope' is not a valid IPv4/IPv6 address or CIDR"]
    assert exposures.network_errors("10.0.0.0/8", "v") == ["v: must be a list of CIDRs, got '10.0.0.0/8'"]


@pytest.mark.parametrize("address, networks, expected", [
    ("10.8.0.5", ["10.8.0.0/24"], True),
    ("10.8.1.5", ["10.8.0.0/24"], False),
    ("::ffff:10.8.0.5", ["10.8.0.0/24"], True),          # IPv4-mapped, as sshd may report it
    ("fe80::1%eth0", ["fe80::/64"], True),                # zone index stripped
    ("2001:db8::1", ["10.8.0.0/24", "2001:db8::/32"], True),
    ("10.8.0.5", [], False),
    ("10.8.0.5", ["0.0.0.0/0"], True),
    ("10.8.0.5", ["::/0"], False),                        # an IPv6 /0 does not cover IPv4
])
def test_in_networks(address, networks, expected):
    assert exposures.in_networks(address, networks) is expected


def test_in_networks_rejects_bad_input():
    with pytest.raises(AnsibleFilterError, match="not an IP address"):
        exposures.in_networks("host.example", ["10.0.0.0/8"])
    with pytest.raises(AnsibleFilterError, match="networks\\[0\\]"):
        exposures.in_networks("10.0.0.1", ["10.0.0.1/8"])


def test_networks_by_family_collapses_and_sorts():
    result = exposures.networks_by_family(["10.1.0.0/16", "fd00::/8", "10.0.0.0/8", "192.0.2.7", "fd00:1::/32"])
    assert result == {"ipv4": ["10.0.0.0/8", "192.0.2.7/32"], "ipv6": ["fd00::/8"]}
    assert exposures.networks_by_family([]) == {"ipv4": [], "ipv6": []}


def test_world_exposures():
    entries = [
        {"port": 11434, "sources": ["0.0.0.0/0"], "reason": "r"},
        {"port": 8080, "sources": ["::/0", "10.0.0.0/8"], "reason": "r"},
        {"port": 443, "sources": ["10.0.0.0/8"], "reason": "r"},
        {"port": 80, "sources": ["0.0.0.0/0"], "reason": "r"},
    ]
    assert [e["port"] for e in exposures.world_exposures(entries)] == [11434, 8080, 80]
    assert [e["port"] for e in exposures.world_exposures(entries, [11434, "8080", 443])] == [11434, 8080]
    assert exposures.world_exposures([], [1]) == []


def test_world_exposures_accepts_normalised_entries_with_no_sources():
    """Normalised with empty admin networks, an entry without sources opens to nobody."""
    normalised = exposures.normalize_exposures([{"port": 11434, "reason": "r"}], [])
    assert normalised[0]["sources"] == []
    assert exposures.world_exposures(normalised, [11434]) == []


# --- nft_comment ---------------------------------------------------------------------------------------

def test_nft_comment_is_one_safe_line():
    assert exposures.nft_comment('SSH "admin"\n  VPN\\only', "aihost: ") == "aihost: SSH 'admin' VPN/only"


def test_nft_comment_is_cut_to_nftables_limit_on_a_character_boundary():
    text = "é" * 200
    comment = exposures.nft_comment(text)
    assert len(comment.encode("utf-8")) <= exposures.NFT_COMMENT_MAX_BYTES
    assert comment.endswith("...") and comment.rstrip(".").strip("é") == ""


def test_filter_module_exports_the_documented_names():
    names = set(exposures.FilterModule().filters())
    assert names == {"exposure_errors", "normalize_exposures", "network_errors", "in_networks",
                     "networks_by_family", "world_exposures", "nft_comment", "ai_ports", "ai_runtime_names",
                     "from_container_errors", "normalize_from_containers"}


# --- AI ports and runtime names (from the catalog and the ai_runtime_facts facts) --------------------

FACTS = {
    "schema_version": 1,
    "runtimes": [
        {"name": "ollama", "listen": [{"protocol": "tcp", "address": "0.0.0.0", "port": 12000, "scope": "all"}],
         "default_ports": [11434], "containers": []},
        {"name": "my_server", "listen": [], "default_ports": [],
         "containers": [{"id": "abc", "published": [
             {"host_ip": "0.0.0.0", "host_port": 18080, "container_port": 8080, "protocol": "tcp"}]}]},
    ],
}


def test_ai_ports_cover_catalog_defaults_and_detected_listeners():
    ports = exposures.ai_ports(FACTS)
    assert {11434, 8888, 8188, 12000, 18080} <= set(ports)      # catalog + listen + published
    assert ports == sorted(set(ports))
    assert 22 not in ports


def test_ai_ports_without_catalog_are_only_the_detected_ones():
    assert exposures.ai_ports(FACTS, catalog=False) == [11434, 12000, 18080]
    assert exposures.ai_ports(None, catalog=False) == []
    assert 11434 in exposures.ai_ports({})


def test_ai_ports_reject_something_that_is_not_the_facts():
    with pytest.raises(AnsibleFilterError, match="aihost_runtime facts"):
        exposures.ai_ports(["ollama"])


def test_ai_runtime_names_include_detected_extras():
    names = exposures.ai_runtime_names(FACTS)
    assert "ollama" in names and "my_server" in names and "jupyter" in names
    assert "my_server" not in exposures.ai_runtime_names()


# --- world_exposures: the covered address space, not only a literal /0 ------------------------------

@pytest.mark.parametrize("sources, families", [
    (["0.0.0.0/1", "128.0.0.0/1"], ["ipv4"]),              # the whole family in two halves
    (["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"], ["ipv4"]),
    (["0.0.0.0/1"], ["ipv4"]),                             # half of IPv4 (56 % of its Internet part)
    (["128.0.0.0/1"], ["ipv4"]),                           # half of IPv4 (43 % of its Internet part)
    (["::/1", "8000::/1"], ["ipv6"]),
    (["2000::/3"], ["ipv6"]),                              # all of IPv6's global unicast: 1/8 of the family
    (["2000::/4"], ["ipv6"]),                              # half of it
    (["0.0.0.0/1", "128.0.0.0/1", "2000::/3"], ["ipv4", "ipv6"]),
])
def test_world_exposures_catch_sources_that_cover_the_world_together(sources, families):
    entries = [{"port": 11434, "sources": sources, "reason": "r"}]
    found = exposures.world_exposures(entries, [11434])
    assert [entry["port"] for entry in found] == [11434]
    assert found[0]["world_families"] == families


def test_world_exposures_judge_entries_of_one_port_together():
    """Two entries for the same port, each a quarter of IPv4: together half."""
    entries = [
        {"port": 11434, "sources": ["0.0.0.0/2"], "reason": "one quarter"},
        {"port": 11434, "sources": ["64.0.0.0/2"], "reason": "another quarter"},
        {"port": 11434, "proto": "udp", "sources": ["128.0.0.0/2"], "reason": "other protocol"},
        {"port": 8080, "sources": ["192.0.0.0/2"], "reason": "other port"},
    ]
    found = exposures.world_exposures(entries)
    assert [(entry["port"], entry["proto"], entry["reason"]) for entry in found] == [
        (11434, "tcp", "one quarter"), (11434, "tcp", "another quarter")]


@pytest.mark.parametrize("sources", [
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"],   # every private range
    ["1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6"],                               # wide, but 5 % of the Internet
    ["0.0.0.0/2", "128.0.0.0/3"],                                           # 3/8 of IPv4
    ["fc00::/7", "fe80::/10", "2001:db8::/32"],
    ["2000::/5"],                                                           # a quarter of global unicast
    ["192.0.2.7"],
])
def test_world_exposures_leave_real_allow_lists_alone(sources):
    assert exposures.world_exposures([{"port": 11434, "sources": sources, "reason": "r"}]) == []


def test_world_share_counts_the_internet_part_exactly():
    share = exposures.world_share(["0.0.0.0/1", "10.0.0.0/8"])   # 10/8 lies inside 0/1: counted once
    internet_v4 = sum(block.num_addresses for block in exposures.INTERNET[4])
    not_internet_in_low_half = 3 * 2 ** 24 + 2 ** 22             # 0/8, 10/8, 127/8, 100.64/10
    assert share["ipv4"]["family"] == 0.5
    assert share["ipv4"]["internet"] == (2 ** 31 - not_internet_in_low_half) / float(internet_v4)
    assert share["ipv6"] == {"family": 0.0, "internet": 0.0, "world": False}
    with pytest.raises(AnsibleFilterError, match="world_share: networks\\[0\\]"):
        exposures.world_share(["10.0.0.1/8"])


def test_world_exposures_of_the_firewall_entries_include_the_admin_networks():
    """preflight.yml passes entries normalised with aihost_firewall_admin_networks as default sources."""
    entries = exposures.normalize_exposures([{"port": 11434, "reason": "r"}], ["0.0.0.0/1", "128.0.0.0/1"])
    assert [entry["port"] for entry in exposures.world_exposures(entries, [11434])] == [11434]
    # And an entry returned by world_exposures can be fed back (the extra key is ignored).
    again = exposures.world_exposures(exposures.world_exposures(entries))
    assert again[0]["world_families"] == ["ipv4"]


# --- from_container_errors / normalize_from_containers ---------------------------------------------
FROM = "aihost_firewall_from_containers"


def test_from_containers_valid_entries_normalise_with_the_default_interfaces():
    entries = [{"port": "11434", "reason": " Open WebUI calls the host's Ollama. "},
               {"port": 67, "proto": "UDP", "interfaces": ["virbr0"], "reason": "DHCP for libvirt guests."}]
    assert exposures.from_container_errors(entries, FROM) == []
    assert exposures.normalize_from_containers(entries, ["docker0", "br-*"]) == [
        {"port": 11434, "proto": "tcp", "interfaces": ["docker0", "br-*"], "reason": "Open WebUI calls the host's Ollama."},
        {"port": 67, "proto": "udp", "interfaces": ["virbr0"], "reason": "DHCP for libvirt guests."}]
    assert exposures.from_container_errors(None, FROM) == []


@pytest.mark.parametrize("entry, expected", [
    ({"port": 11434}, FROM + "[0].reason: is required"),
    ({"port": 11434, "reason": "  "}, FROM + "[0].reason: is required"),
    ({"port": 0, "reason": "r"}, FROM + "[0].port: 0 is not a port number (1-65535)"),
    ({"reason": "r"}, FROM + "[0].port: is required"),
    ({"port": 53, "proto": "icmp", "reason": "r"}, FROM + "[0].proto: 'icmp' is not a known protocol"),
    ({"port": 53, "interfaces": ["bad name!"], "reason": "r"},
     FROM + "[0].interfaces[0]: 'bad name!' is not an interface name or name prefix followed by *"),
    ({"port": 53, "interfaces": "docker0", "reason": "r"}, FROM + "[0].interfaces: must be a non-empty list"),
    ({"port": 53, "interfaces": [], "reason": "r"}, FROM + "[0].interfaces: must be a non-empty list"),
    ({"port": 53, "sources": ["10.0.0.0/8"], "reason": "r"}, FROM + "[0]: unknown key(s) sources"),
])
def test_from_containers_each_bad_value_is_named(entry, expected):
    errors = exposures.from_container_errors([entry], FROM)
    assert any(error.startswith(expected) for error in errors), errors
    with pytest.raises(AnsibleFilterError):
        exposures.normalize_from_containers([entry])


def test_from_containers_not_a_list():
    assert exposures.from_container_errors("11434", FROM) == [FROM + ": must be a list of entries, got '11434'"]
