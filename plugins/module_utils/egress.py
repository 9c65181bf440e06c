# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-runtime egress control: which users the firewall role restricts, and what they may reach.

The firewall role puts an output chain in ``table inet aihost`` that sends new connections of each
AI runtime's service user (``meta skuid``) to a chain of its own: loopback, replies and DNS to the
host's resolvers pass, so do the destinations declared in ``aihost_firewall_egress_allowed``; the
rest is counted, logged (rate-limited, prefix ``aihost-egress-<runtime>: ``) and dropped, or only
counted and logged in ``log`` mode. This file decides the plan from the runtime facts; it reads
nothing itself except through the ``Accounts`` object and the resolver text it is given.

Only system accounts (SYS_UID_MIN..SYS_UID_MAX of login.defs, the range the service_users role
creates its users in) are restricted. Root, human accounts and shared distribution accounts keep
their egress: restricting them would also cut the administrators, package updates and every other
service of that account. Those runtimes are listed as ``unrestricted`` with the reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.aihost.hardening.plugins.module_utils import network
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import RUNTIME_NAME

MODES = ("enforce", "log", "off")
ENTRY_KEYS = ("to", "port", "proto", "reason")
PROTOCOLS = ("tcp", "udp")
# RFC 1123 host names; a trailing dot is allowed (fully qualified).
HOST_NAME = re.compile(r"^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
CHAIN_PREFIX = "egress-"
# The kernel keeps at most 127 bytes of a log prefix.
LOG_PREFIX_MAX = 127
FAMILIES = ("ipv4", "ipv6")


def _is_text(value):
    return isinstance(value, str)


def destination(value):
    """``to`` of an entry -> ("network", ip_network) or ("name", host) or (None, error text)."""
    if not _is_text(value) or not value.strip():
        return None, "%r is not an address, CIDR or host name" % (value,)
    text = value.strip()
    parsed, error = network.parse_network(text)
    if parsed is not None:
        return "network", parsed
    if "host bits set" in error:
        return None, error
    if re.match(r"^[0-9./:]+$", text) or not HOST_NAME.match(text):
        return None, "%r is not an address, CIDR or host name" % (text,)
    return "name", text.rstrip(".").lower()


def allowed_errors(allowed, known_runtimes, var_name="aihost_firewall_egress_allowed"):
    """Every problem of the allowed-egress mapping, each naming the variable, runtime and entry."""
    if allowed is None:
        return []
    if not isinstance(allowed, dict):
        return ["%s: must be a mapping of runtime name to a list of entries, got %r" % (var_name, allowed)]
    errors = []
    known = set(known_runtimes)
    for runtime in sorted(allowed, key=str):
        entries = allowed[runtime]
        where_runtime = "%s.%s" % (var_name, runtime)
        if not _is_text(runtime) or not RUNTIME_NAME.match(runtime):
            errors.append("%s: %r is not a catalog runtime name (lower_snake_case)" % (var_name, runtime))
            continue
        if runtime not in known:
            errors.append("%s: %r is not a runtime of the catalog" % (where_runtime, runtime))
            continue
        if entries is None:
            continue
        if not isinstance(entries, list):
            errors.append("%s: must be a list of entries, got %r" % (where_runtime, entries))
            continue
        for index, entry in enumerate(entries):
            where = "%s[%d]" % (where_runtime, index)
            if not isinstance(entry, dict):
                errors.append("%s: must be a mapping with to, port and reason, got %r" % (where, entry))
                continue
            unknown = sorted(str(key) for key in entry if key not in ENTRY_KEYS)
            if unknown:
                errors.append("%s: unknown key(s) %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(ENTRY_KEYS)))
            if "to" not in entry:
                errors.append("%s.to: is required (an address, a CIDR or a host name)" % where)
            else:
                kind, detail = destination(entry["to"])
                if kind is None:
                    errors.append("%s.to: %s" % (where, detail))
            if "port" not in entry:
                errors.append("%s.port: is required" % where)
            elif network.port_value(entry["port"]) is None:
                errors.append("%s.port: %r is not a port number (1-65535)" % (where, entry["port"]))
            proto = entry.get("proto") or "tcp"
            if not _is_text(proto) or proto not in PROTOCOLS:
                errors.append("%s.proto: %r is not one of %s" % (where, proto, ", ".join(PROTOCOLS)))
            reason = entry.get("reason")
            if not _is_text(reason) or not reason.strip():
                errors.append("%s.reason: is required: write one sentence saying why %s may reach it" % (where, runtime))
    return errors


def parse_resolvers(text):
    """Name servers of resolv.conf text by family, without loopback ones (the loopback rule covers
    them: systemd-resolved's 127.0.0.53, Docker's 127.0.0.11) and without a zone index."""
    found = {"ipv4": [], "ipv6": []}
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0] != "nameserver":
            continue
        try:
            address = ipaddress.ip_address(fields[1].split("%", 1)[0])
        except ValueError:
            continue
        if address.is_loopback:
            continue
        family = "ipv4" if address.version == 4 else "ipv6"
        if str(address) not in found[family]:
            found[family].append(str(address))
    return found


class Accounts(object):
    """Account lookups through NSS (pwd), so LDAP and sssd users count as well as /etc/passwd."""

    def __init__(self, by_uid, by_name):
        self._by_uid = by_uid
        self._by_name = by_name

    def name_of(self, uid):
        try:
            return self._by_uid(uid)
        except (KeyError, OverflowError, TypeError, ValueError):
            return None

    def uid_of(self, name):
        try:
            return self._by_name(name)
        except (KeyError, TypeError, ValueError):
            return None


def instance_uids(runtime, accounts):
    """The uids an instance runs as: its processes', and its units' User= (root when unset)."""
    uids = set()
    for process in runtime.get("processes") or []:
        if isinstance(process.get("uid"), int) and not process.get("container"):
            uids.add(process["uid"])
    for unit in runtime.get("units") or []:
        user = unit.get("user")
        uid = 0 if user in (None, "", "root", "0") else accounts.uid_of(user)
        if uid is not None:
            uids.add(uid)
    return sorted(uids)


def _why_unrestricted(uid, defs, exempt_uids):
    if uid == 0:
        return "runs as root, whose egress the firewall keeps (give it a service user with the service_users role)"
    if uid in exempt_uids:
        return "runs as the account Ansible connects as (uid %d), whose egress the firewall keeps" % uid
    if uid < defs["SYS_UID_MIN"] or uid > defs["SYS_UID_MAX"]:
        return ("runs as uid %d, outside the system accounts (SYS_UID_MIN %d..SYS_UID_MAX %d): a human or shared "
                "account keeps its egress (give it a service user with the service_users role)"
                % (uid, defs["SYS_UID_MIN"], defs["SYS_UID_MAX"]))
    return None


def _entry_rules(runtime, entries, chain_name, first_index):
    """Rules and named sets of one runtime's allowed entries; names get a set per family."""
    rules, sets, names = [], [], []
    index = first_index
    for entry in entries or []:
        kind, value = destination(entry["to"])
        port, proto, reason = network.port_value(entry["port"]), entry.get("proto") or "tcp", entry["reason"].strip()
        base = {"runtime": runtime, "to": entry["to"].strip(), "port": port, "proto": proto, "reason": reason}
        if kind == "network":
            family = "ipv4" if value.version == 4 else "ipv6"
            rules.append(dict(base, family=family, daddr=value.with_prefixlen if value.num_addresses > 1
                              else str(value.network_address)))
            continue
        index += 1
        entry_sets = {}
        for family in FAMILIES:
            set_name = "%s-%d-%s" % (chain_name, index, "v4" if family == "ipv4" else "v6")
            entry_sets[family] = set_name
            sets.append({"name": set_name, "family": family, "host": value, "runtime": runtime})
            rules.append(dict(base, family=family, daddr="@" + set_name))
        names.append({"host": value, "sets": entry_sets,
                      "line": "%s %s %s" % (entry_sets["ipv4"], entry_sets["ipv6"], value)})
    return rules, sets, names, index


def _log_prefix(runtimes):
    prefix = "aihost-egress-%s: " % "-".join(runtimes)
    if len(prefix) > LOG_PREFIX_MAX:
        prefix = prefix[:LOG_PREFIX_MAX - 5] + "...: "
    return prefix


def plan(runtimes, allowed, mode, defs, accounts, resolv_conf_text, exempt_users=()):
    """The egress plan for the runtime facts' ``runtimes`` (see the module's RETURN)."""
    allowed = allowed or {}
    exempt_uids = set(uid for uid in (accounts.uid_of(name) for name in exempt_users or ()) if uid is not None)
    runtimes_of_uid = {}
    unrestricted = []
    for runtime in runtimes or []:
        name = runtime.get("name")
        if not name:
            continue
        if runtime.get("containers"):
            unrestricted.append({"runtime": name, "user": None, "uid": None,
                                 "reason": "runs in a container: its egress is not limited by user"})
            continue
        for uid in instance_uids(runtime, accounts):
            why = _why_unrestricted(uid, defs, exempt_uids)
            if why:
                unrestricted.append({"runtime": name, "user": accounts.name_of(uid), "uid": uid, "reason": why})
            else:
                runtimes_of_uid.setdefault(uid, set()).add(name)
    chains = {}
    for uid, names in runtimes_of_uid.items():
        key = tuple(sorted(names))
        chains.setdefault(key, []).append(uid)
    result_chains, result_sets, result_names = [], [], []
    if mode != "off":
        for key in sorted(chains):
            chain_name = CHAIN_PREFIX + "-".join(key)
            uids = sorted(chains[key])
            rules, index = [], 0
            for runtime in key:
                entry_rules, entry_sets, entry_names, index = _entry_rules(runtime, allowed.get(runtime), chain_name, index)
                rules.extend(entry_rules)
                result_sets.extend(entry_sets)
                result_names.extend(entry_names)
            result_chains.append({
                "name": chain_name, "runtimes": list(key), "uids": uids,
                "users": [accounts.name_of(uid) or str(uid) for uid in uids],
                "log_prefix": _log_prefix(key), "rules": rules})
    unrestricted.sort(key=lambda item: (item["runtime"], item["uid"] if item["uid"] is not None else -1))
    present = set(runtime.get("name") for runtime in runtimes or [])
    return {
        "mode": mode,
        "chains": result_chains,
        "sets": result_sets,
        "names": result_names,
        "resolvers": parse_resolvers(resolv_conf_text),
        "unrestricted": unrestricted,
        "not_on_host": sorted(name for name in allowed if name not in present),
    }
