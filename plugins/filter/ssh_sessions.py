# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the firewall role's lockout guard on runs that have no SSH_CONNECTION.

``sudo ansible-playbook -c local`` drops SSH_CONNECTION, so the role cannot see the administrator
who runs it over SSH. It reads the host's established TCP sockets instead (``/proc/net/tcp`` and
``/proc/net/tcp6``, read on the target with slurp) and asks, for each session to an sshd port,
whether the rules about to be loaded would let that peer connect again:

    {{ tables | aihost.hardening.established_sessions(ports, byteorder) }}
    {{ sessions | aihost.hardening.sessions_cut_off(ssh_ports, admin_networks, entries) }}

Both are pure functions (text in, data out); documentation lives in the adjacent ``<filter>.yml``
files. Only the Python standard library is used.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.aihost.hardening.plugins.filter.exposures import (
    in_networks, normalize_exposures, network_errors,
)
from ansible_collections.aihost.hardening.plugins.module_utils.procfs import decode_address

# TCP_ESTABLISHED in include/net/tcp_states.h.
TCP_ESTABLISHED = 0x01
FAMILIES = ("ipv4", "ipv6")
BYTEORDERS = ("little", "big")


def _ports(ports, where):
    result = set()
    for port in ports or []:
        try:
            number = int(port)
        except (TypeError, ValueError):
            raise AnsibleFilterError("%s: %r is not a port number" % (where, port))
        if isinstance(port, bool) or not 1 <= number <= 65535:
            raise AnsibleFilterError("%s: %r is not a port number" % (where, port))
        result.add(number)
    return result


def _plain(address):
    """An address as the rules see it: IPv4-mapped IPv6 (an IPv4 client of a dual-stack sshd) is IPv4."""
    parsed = ipaddress.ip_address(to_text(address).split("%", 1)[0])
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def established_sessions(tables, ports, byteorder=None):
    """Established TCP sessions whose local port is one of PORTS (the server side of sshd's sessions).

    TABLES maps ``ipv4`` and ``ipv6`` to the text of /proc/net/tcp and /proc/net/tcp6 (a missing or
    empty text means no such table). BYTEORDER is the target's (``little`` or ``big``, from
    /sys/kernel/cpu_byteorder): the kernel prints each address word in host byte order, and this
    filter runs on the controller. Returns dicts with family, local, local_port, peer, peer_port
    (addresses as text, IPv4-mapped ones as ``::ffff:a.b.c.d``), sorted and without duplicates."""
    if not isinstance(tables, dict):
        raise AnsibleFilterError("established_sessions: expected a mapping of ipv4/ipv6 to /proc/net/tcp text, got %r"
                                 % (tables,))
    if byteorder not in (None, "") and byteorder not in BYTEORDERS:
        raise AnsibleFilterError("established_sessions: byteorder must be little or big, got %r" % (byteorder,))
    wanted = _ports(ports, "established_sessions: ports")
    sessions = []
    for family in FAMILIES:
        text = to_text(tables.get(family) or "")
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 4:
                continue
            try:
                local_hex, local_port_hex = fields[1].split(":")
                peer_hex, peer_port_hex = fields[2].split(":")
                state = int(fields[3], 16)
                local_port = int(local_port_hex, 16)
                if state != TCP_ESTABLISHED or local_port not in wanted:
                    continue
                session = {
                    "family": family,
                    "local": decode_address(local_hex, family, byteorder or None),
                    "local_port": local_port,
                    "peer": decode_address(peer_hex, family, byteorder or None),
                    "peer_port": int(peer_port_hex, 16),
                }
            except (ValueError, IndexError):
                continue
            if session not in sessions:
                sessions.append(session)
    return sorted(sessions, key=lambda item: (item["family"], item["local_port"], item["peer"], item["peer_port"]))


def sessions_cut_off(sessions, ssh_ports, admin_networks, entries):
    """The SESSIONS whose peer the new rules would not let in again.

    A peer gets in when its packets arrive on loopback (a loopback peer, or a peer that is this
    host's own address: traffic to oneself goes through ``lo``, which the rules accept), when the
    session's local port is one of SSH_PORTS and the peer is in ADMIN_NETWORKS (the SSH rule), or
    when a TCP entry of ENTRIES (allowed exposures, normalised with the admin networks as default
    sources) opens that port to the peer. Each session needs ``peer`` and ``local_port``; ``local``
    is optional. Returns the sessions cut off, in the order given."""
    if sessions is None:
        return []
    if not isinstance(sessions, (list, tuple)):
        raise AnsibleFilterError("sessions_cut_off: expected a list of sessions, got %r" % (sessions,))
    errors = network_errors(admin_networks, "aihost_firewall_admin_networks")
    if errors:
        raise AnsibleFilterError("sessions_cut_off: %s" % "; ".join(errors))
    ssh = _ports(ssh_ports, "sessions_cut_off: ssh_ports")
    # Entries straight from normalize_exposures may carry "sources: []" (no default): opens to nobody.
    rules = [entry for entry in normalize_exposures([
        dict((key, value) for key, value in entry.items()
             if key not in ("world_families",) and not (key == "sources" and value == []))
        for entry in entries or []]) if entry["proto"] == "tcp"]
    cut = []
    for session in sessions:
        if not isinstance(session, dict) or "peer" not in session or "local_port" not in session:
            raise AnsibleFilterError("sessions_cut_off: a session needs peer and local_port, got %r" % (session,))
        try:
            peer = _plain(session["peer"])
            local = _plain(session["local"]) if session.get("local") else None
        except ValueError:
            raise AnsibleFilterError("sessions_cut_off: %r is not an IP address" % (session,))
        port = _ports([session["local_port"]], "sessions_cut_off: local_port").pop()
        if peer.is_loopback or peer == local:
            continue
        if port in ssh and in_networks(str(peer), admin_networks or []):
            continue
        if any(entry["port"] == port and in_networks(str(peer), entry["sources"]) for entry in rules):
            continue
        cut.append(session)
    return cut


class FilterModule(object):
    """aihost.hardening filters for the SSH sessions a new ruleset must keep."""

    def filters(self):
        return {
            "established_sessions": established_sessions,
            "sessions_cut_off": sessions_cut_off,
        }
