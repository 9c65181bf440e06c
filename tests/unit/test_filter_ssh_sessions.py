"""The firewall role's lockout guard for runs without SSH_CONNECTION (sudo ansible-playbook -c local).

sudo drops SSH_CONNECTION, so the role used to believe nobody was connected over SSH and loaded
rules that shut out the administrator who ran it. It now reads the established sessions to sshd
from /proc/net/tcp{,6} (established_sessions) and refuses rules that would not let a session's peer
connect again (sessions_cut_off). These tests feed both filters /proc text built the way the kernel
prints it, in both byte orders."""
import ipaddress

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.aihost.hardening.plugins.filter import exposures, ssh_sessions

HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
ESTABLISHED, LISTEN, TIME_WAIT, SYN_RECV = "01", "0A", "06", "03"


def proc_address(text, byteorder="little"):
    """Encode an address the way /proc/net/tcp{,6} prints it: 32-bit words in host byte order."""
    packed = ipaddress.ip_address(text).packed
    words = [packed[index:index + 4] for index in range(0, len(packed), 4)]
    return "".join((word[::-1] if byteorder == "little" else word).hex().upper() for word in words)


def row(index, local, local_port, peer, peer_port, state, byteorder="little"):
    return ("%4d: %s:%04X %s:%04X %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 "
            "0000000000000000 20 4 30 10 -1\n" % (index, proc_address(local, byteorder), local_port,
                                                  proc_address(peer, byteorder), peer_port, state, 1000 + index))


def tables(byteorder="little"):
    """A host with sshd on 22 and 2222: the administrator (203.0.113.9) over IPv4, a colleague over
    IPv6, an IPv4 client of the dual-stack socket, a closing connection, a handshake, this host's own
    outgoing SSH connection and an HTTP client."""
    tcp = HEADER + "".join([
        row(0, "0.0.0.0", 22, "0.0.0.0", 0, LISTEN, byteorder),
        row(1, "172.17.0.2", 22, "203.0.113.9", 51234, ESTABLISHED, byteorder),
        row(2, "172.17.0.2", 22, "198.51.100.4", 40000, TIME_WAIT, byteorder),
        row(3, "172.17.0.2", 22, "198.51.100.5", 40001, SYN_RECV, byteorder),
        row(4, "172.17.0.2", 45678, "192.0.2.50", 22, ESTABLISHED, byteorder),   # we are the client
        row(5, "172.17.0.2", 8080, "203.0.113.77", 41000, ESTABLISHED, byteorder),
        row(6, "127.0.0.1", 2222, "127.0.0.1", 50000, ESTABLISHED, byteorder),
    ])
    tcp6 = HEADER + "".join([
        row(0, "::", 2222, "::", 0, LISTEN, byteorder),
        row(1, "2001:db8:1::2", 2222, "2001:db8:2::7", 50022, ESTABLISHED, byteorder),
        row(2, "::ffff:172.17.0.2", 2222, "::ffff:192.0.2.10", 50023, ESTABLISHED, byteorder),
    ])
    return {"ipv4": tcp, "ipv6": tcp6}


EXPECTED = [
    {"family": "ipv4", "local": "127.0.0.1", "local_port": 2222, "peer": "127.0.0.1", "peer_port": 50000},
    {"family": "ipv4", "local": "172.17.0.2", "local_port": 22, "peer": "203.0.113.9", "peer_port": 51234},
    {"family": "ipv6", "local": "::ffff:172.17.0.2", "local_port": 2222, "peer": "::ffff:192.0.2.10",
     "peer_port": 50023},
    {"family": "ipv6", "local": "2001:db8:1::2", "local_port": 2222, "peer": "2001:db8:2::7", "peer_port": 50022},
]


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_established_sessions_to_sshd_ports_in_either_byte_order(byteorder):
    sessions = ssh_sessions.established_sessions(tables(byteorder), [22, 2222], byteorder)
    assert sorted(sessions, key=lambda item: (item["family"], item["local_port"], item["peer"])) == sorted(
        EXPECTED, key=lambda item: (item["family"], item["local_port"], item["peer"]))


def test_established_sessions_only_for_the_given_ports():
    sessions = ssh_sessions.established_sessions(tables(), ["22"], "little")
    assert [session["peer"] for session in sessions] == ["203.0.113.9"]


def test_established_sessions_tolerate_missing_tables_and_garbage():
    assert ssh_sessions.established_sessions({"ipv4": "", "ipv6": None}, [22]) == []
    garbage = HEADER + "   0: nothex:0016 00000000:0000 01\n   1: short\n" + row(2, "10.0.0.1", 22, "10.0.0.9", 1, "01")
    assert [s["peer"] for s in ssh_sessions.established_sessions({"ipv4": garbage}, [22], "little")] == ["10.0.0.9"]


@pytest.mark.parametrize("tables_in, ports, byteorder, message", [
    ("text", [22], None, "expected a mapping"),
    ({}, [0], None, "0 is not a port number"),
    ({}, ["ssh"], None, "'ssh' is not a port number"),
    ({}, [22], "middle", "byteorder must be little or big"),
])
def test_established_sessions_reject_bad_input(tables_in, ports, byteorder, message):
    with pytest.raises(AnsibleFilterError, match=message):
        ssh_sessions.established_sessions(tables_in, ports, byteorder)


# --- sessions_cut_off: what the new rules would shut out -------------------------------------------

def session(peer, port=22, local="172.17.0.2"):
    return {"peer": peer, "local_port": port, "local": local}


def entries(items, admin_networks):
    return exposures.normalize_exposures(items, admin_networks)


def test_sudo_local_with_empty_admin_networks_shuts_out_the_logged_in_admin():
    """The reported case: sudo -c local, no admin networks, an administrator logged in from X."""
    sessions = ssh_sessions.established_sessions(tables(), [22], "little")
    cut = ssh_sessions.sessions_cut_off(sessions, [22], [], entries([], []))
    assert [item["peer"] for item in cut] == ["203.0.113.9"]


def test_a_session_from_the_admin_networks_is_kept():
    sessions = ssh_sessions.established_sessions(tables(), [22], "little")
    assert ssh_sessions.sessions_cut_off(sessions, [22], ["203.0.113.0/24"], entries([], ["203.0.113.0/24"])) == []


def test_a_session_to_a_port_the_ssh_rule_does_not_open_is_cut_off_unless_an_entry_opens_it():
    sessions = [session("192.0.2.10", 2222), session("2001:db8:2::7", 2222, "2001:db8:1::2")]
    admin = ["192.0.2.0/24", "2001:db8:2::/48"]
    # aihost_firewall_ssh_port: 22 while sshd also listens on 2222: the admin networks do not open 2222.
    assert ssh_sessions.sessions_cut_off(sessions, [22], admin, entries([], admin)) == sessions
    opened = entries([{"port": 2222, "reason": "Second sshd."}], admin)        # default sources: admin networks
    assert ssh_sessions.sessions_cut_off(sessions, [22], admin, opened) == []
    udp_only = entries([{"port": 2222, "proto": "udp", "reason": "Not TCP."}], admin)
    assert ssh_sessions.sessions_cut_off(sessions, [22], admin, udp_only) == sessions


@pytest.mark.parametrize("item, admin, expected_cut", [
    (session("::ffff:192.0.2.10"), ["192.0.2.0/24"], False),       # IPv4 client of a dual-stack sshd
    (session("::ffff:192.0.2.10"), ["::ffff:192.0.2.0/120"], True),  # the rules match IPv4 packets as ip saddr
    (session("127.0.0.1", local="127.0.0.1"), [], False),          # loopback is always accepted
    (session("::1", local="::1"), [], False),
    (session("172.17.0.2"), [], False),                            # this host's own address: arrives on lo
    (session("fe80::1%eth0", local="fe80::2"), ["fe80::/64"], False),
    (session("198.51.100.4"), ["0.0.0.0/0"], False),
    (session("198.51.100.4"), ["::/0"], True),
    ({"peer": "198.51.100.4", "local_port": "22"}, [], True),       # without "local", as SSH_CONNECTION gives
])
def test_each_peer_is_judged_like_the_rules_judge_its_packets(item, admin, expected_cut):
    assert bool(ssh_sessions.sessions_cut_off([item], [22], admin, entries([], admin))) is expected_cut


def test_entries_with_explicit_sources_and_empty_defaults():
    item = session("198.51.100.4", 2222)
    normalised = entries([{"port": 2222, "reason": "No default sources."}], [])   # opens to nobody
    assert normalised[0]["sources"] == []
    assert ssh_sessions.sessions_cut_off([item], [22], [], normalised) == [item]
    explicit = entries([{"port": 2222, "sources": ["198.51.100.0/24"], "reason": "The lab."}], [])
    assert ssh_sessions.sessions_cut_off([item], [22], [], explicit) == []


@pytest.mark.parametrize("sessions_in, admin, message", [
    ("203.0.113.9", [], "expected a list of sessions"),
    ([{"peer": "203.0.113.9"}], [], "needs peer and local_port"),
    ([{"peer": "host.example", "local_port": 22}], [], "is not an IP address"),
    ([session("203.0.113.9", 0)], [], "local_port: 0 is not a port number"),
    ([session("203.0.113.9")], ["10.0.0.1/8"], "aihost_firewall_admin_networks\\[0\\]: '10.0.0.1/8' has host bits"),
])
def test_sessions_cut_off_rejects_bad_input(sessions_in, admin, message):
    with pytest.raises(AnsibleFilterError, match=message):
        ssh_sessions.sessions_cut_off(sessions_in, [22], admin, [])


def test_no_sessions_nothing_cut_off():
    assert ssh_sessions.sessions_cut_off(None, [22], [], []) == []
    assert ssh_sessions.sessions_cut_off([], [22], [], []) == []


def test_filter_module_exports_both_filters():
    assert set(ssh_sessions.FilterModule().filters()) == {"established_sessions", "sessions_cut_off"}


# --- the role's wiring: validate.yml reads the sessions, preflight.yml refuses before any change ----

def _role_tasks(name):
    import pathlib
    import yaml
    path = pathlib.Path(__file__).resolve().parents[2] / "roles" / "firewall" / "tasks" / name
    return yaml.safe_load(path.read_text())


def _walk(tasks):
    for task in tasks:
        yield task
        yield from _walk(task.get("block") or [])


def _find(tasks, name):
    for task in _walk(tasks):
        if task.get("name") == name:
            return task
    raise AssertionError("no task %r (the role has no such step)" % name)


def _render(text, variables):
    """Render one of the role's templates natively, with the collection's filters (plain Jinja2 accepts
    the dotted names), the way Ansible would for these expressions."""
    import base64
    from jinja2.nativetypes import NativeEnvironment
    env = NativeEnvironment()
    env.filters.update({
        "aihost.hardening.established_sessions": ssh_sessions.established_sessions,
        "aihost.hardening.sessions_cut_off": ssh_sessions.sessions_cut_off,
        "b64decode": lambda value: base64.b64decode(value).decode("utf-8"),
        "bool": bool,
    })
    return env.from_string(text).render(**variables)


def _b64(text):
    import base64
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _local_run(admin_networks, allowed=(), client_address=""):
    """Evaluate the role's steps for a `sudo ansible-playbook -c local` run on a host where the
    administrator is logged in over SSH from 203.0.113.9 (tables() above)."""
    variables = {
        "aihost_firewall_lockout_check": True,
        "aihost_firewall__client_address": client_address,
        "aihost_firewall__connected_port": 0,
        "aihost_firewall__ssh_ports": [22],
        "aihost_firewall_admin_networks": list(admin_networks),
        "aihost_firewall__entries": exposures.normalize_exposures(list(allowed), list(admin_networks)),
        "ansible_connection": "local",
        "inventory_hostname": "localhost",
        "ansible_facts": {"aihost_runtime": {"listeners": [
            {"protocol": "tcp", "process": "sshd", "port": 22}, {"protocol": "tcp", "process": "sshd", "port": 2222}]}},
        "aihost_firewall__net_tables": {"results": [
            {"content": _b64(tables()["ipv4"])}, {"content": _b64(tables()["ipv6"])}, {"content": _b64("little\n")}]},
    }
    read = _find(_role_tasks("validate.yml"), "Find the SSH sessions established to this host (local runs)")
    assert "aihost_firewall__client_address == ''" in read["when"]
    for name, text in read["vars"].items():
        variables[name] = _render(text, variables)
    variables["aihost_firewall__ssh_sessions"] = _render(
        read["ansible.builtin.set_fact"]["aihost_firewall__ssh_sessions"], variables)
    check = _find(_role_tasks("preflight.yml"), "Refuse rules that would shut out the SSH sessions established to this host")
    for name, text in check["vars"].items():
        variables[name] = _render(text, variables)
    assertion = check["ansible.builtin.assert"]
    passed = _render("{{ %s }}" % assertion["that"], variables)
    return passed, " ".join(str(_render(assertion["fail_msg"], variables)).split())


def test_role_refuses_sudo_local_with_empty_admin_networks_while_an_admin_is_logged_in():
    passed, message = _local_run([])
    assert passed is False
    assert "aihost_firewall_admin_networks" in message and "203.0.113.9" in message
    assert "Nothing was changed" in message
    # The sessions to sshd's second port (2222, not opened by the SSH rule on 22) are named too.
    assert "2001:db8:2::7" in message and "::ffff:192.0.2.10" in message


def test_role_lets_a_local_run_through_when_every_session_is_covered():
    admin = ["203.0.113.0/24", "192.0.2.0/24", "2001:db8:2::/48"]
    passed = _local_run(admin, [{"port": 2222, "reason": "Second sshd for the admins."}])[0]
    assert passed is True


def test_role_leaves_remote_runs_to_the_ssh_connection_checks():
    passed = _local_run([], client_address="192.0.2.99")[0]
    assert passed is True
