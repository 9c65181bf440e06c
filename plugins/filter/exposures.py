# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the shared "allowed exposures" policy shape, and the network helpers around it.

The firewall, loopback and audit roles take the same list of entries::

    - port: 11434            # 1-65535 (required)
      proto: tcp             # tcp | udp (default tcp)
      sources: [10.8.0.0/24] # CIDRs allowed to reach it (default: the caller's admin networks)
      runtime: ollama        # optional catalog runtime name
      process: ollama        # optional process name
      scope: all             # loopback | specific | all (default all): the bind scope allowed
      reason: "Why it is open."   # required, non-empty

This file is the single validator of that shape (``exposure_errors``); the roles call it and fail
before touching anything. Documentation of each filter lives in the adjacent ``<filter>.yml`` files.
Only the Python standard library (``ipaddress``) is used.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.aihost.hardening.plugins.module_utils import network as netspec
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import CATALOG, RUNTIME_NAME
from ansible.module_utils.six import string_types
from ansible.module_utils.common.text.converters import to_text

ENTRY_KEYS = ("port", "proto", "sources", "runtime", "process", "scope", "reason")
PROTOCOLS = ("tcp", "udp")
SCOPES = ("loopback", "specific", "all")
DEFAULT_PROTO = "tcp"
DEFAULT_SCOPE = "all"
# nftables keeps at most 128 bytes of a comment (NFTNL_UDATA_COMMENT_MAXLEN, NUL included).
NFT_COMMENT_MAX_BYTES = 127


def _is_text(value):
    return isinstance(value, string_types)


def _or_default(entry, key, default):
    """An absent key and a key left empty in YAML (None) both mean the default."""
    value = entry.get(key)
    return default if value is None else value


# One parser each, shared with the modules (module_utils/network.py).
_port_value = netspec.port_value
_parse_network = netspec.parse_network


def _network_list_errors(networks, where, allow_empty=True):
    if networks is None:
        return [] if allow_empty else ["%s: must be a non-empty list of CIDRs" % where]
    if _is_text(networks) or not isinstance(networks, (list, tuple)):
        return ["%s: must be a list of CIDRs, got %r" % (where, networks)]
    if not networks and not allow_empty:
        return ["%s: must not be empty (omit it to use the default)" % where]
    errors = []
    for index, value in enumerate(networks):
        network, error = _parse_network(value)
        if error:
            errors.append("%s[%d]: %s" % (where, index, error))
    return errors


def network_errors(networks, var_name="networks"):
    """Return a list of error strings for a list of CIDRs (empty when every element is valid)."""
    return _network_list_errors(networks, var_name, allow_empty=True)


def _port_entry_errors(entry, where, allowed_keys):
    """The checks every port entry shares (a mapping already): only ALLOWED_KEYS, a port, a protocol."""
    errors = []
    unknown = sorted(to_text(key) for key in entry if key not in allowed_keys)
    if unknown:
        errors.append("%s: unknown key(s) %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(allowed_keys)))
    if "port" not in entry:
        errors.append("%s.port: is required" % where)
    elif _port_value(entry["port"]) is None:
        errors.append("%s.port: %r is not a port number (1-65535)" % (where, entry["port"]))
    proto = _or_default(entry, "proto", DEFAULT_PROTO)
    if not _is_text(proto) or proto.lower() not in PROTOCOLS:
        errors.append("%s.proto: %r is not a known protocol (one of: %s)" % (where, proto, ", ".join(PROTOCOLS)))
    return errors


def exposure_errors(entries, var_name="allowed_exposures", runtimes=None):
    """Validate a list of allowed-exposure entries.

    Returns a list of human-readable error strings naming VAR_NAME, the entry index and the bad
    value; the list is empty when ENTRIES is valid. None counts as an empty list. When RUNTIMES
    (a list of catalog names) is given, ``runtime`` must be one of them."""
    if entries is None:
        return []
    if _is_text(entries) or not isinstance(entries, (list, tuple)):
        return ["%s: must be a list of entries, got %r" % (var_name, entries)]
    known_runtimes = None if runtimes is None else set(runtimes)
    errors = []
    for index, entry in enumerate(entries):
        where = "%s[%d]" % (var_name, index)
        if not isinstance(entry, dict):
            errors.append("%s: must be a mapping with at least port and reason, got %r" % (where, entry))
            continue
        errors.extend(_port_entry_errors(entry, where, ENTRY_KEYS))
        if entry.get("sources") is not None:
            errors.extend(_network_list_errors(entry["sources"], "%s.sources" % where, allow_empty=False))
        scope = _or_default(entry, "scope", DEFAULT_SCOPE)
        if not _is_text(scope) or scope not in SCOPES:
            errors.append("%s.scope: %r is not a bind scope (one of: %s)" % (where, scope, ", ".join(SCOPES)))
        runtime = entry.get("runtime")
        if runtime is not None:
            if not _is_text(runtime) or not RUNTIME_NAME.match(runtime):
                errors.append("%s.runtime: %r is not a catalog runtime name (lower_snake_case)" % (where, runtime))
            elif known_runtimes is not None and runtime not in known_runtimes:
                errors.append("%s.runtime: %r is not in the runtime catalog" % (where, runtime))
        process = entry.get("process")
        if process is not None and (not _is_text(process) or not process.strip()):
            errors.append("%s.process: %r is not a process name" % (where, process))
        reason = entry.get("reason")
        if not _is_text(reason) or not reason.strip():
            errors.append("%s.reason: is required: write one sentence saying why this port is open" % where)
    return errors


def normalize_exposures(entries, default_sources=None):
    """Return ENTRIES with every key present and defaults applied.

    ``port`` becomes an int, ``proto`` lower case, ``sources`` a list of canonical CIDR strings
    (DEFAULT_SOURCES when the entry has none), ``scope`` defaults to ``all``, ``runtime`` and
    ``process`` to None, ``reason`` is stripped. Invalid input raises an error listing every
    problem (validate with ``exposure_errors`` first for a friendlier message)."""
    errors = exposure_errors(entries, "entries") + network_errors(default_sources, "default_sources")
    if errors:
        raise AnsibleFilterError("normalize_exposures: invalid input: %s" % "; ".join(errors))
    default_list = [_parse_network(value)[0].with_prefixlen for value in (default_sources or [])]
    result = []
    for entry in entries or []:
        sources = entry.get("sources")
        result.append({
            "port": _port_value(entry["port"]),
            "proto": _or_default(entry, "proto", DEFAULT_PROTO).lower(),
            "sources": ([_parse_network(value)[0].with_prefixlen for value in sources]
                        if sources is not None else list(default_list)),
            "runtime": entry.get("runtime"),
            "process": entry.get("process").strip() if entry.get("process") is not None else None,
            "scope": _or_default(entry, "scope", DEFAULT_SCOPE),
            "reason": entry["reason"].strip(),
        })
    return result


FROM_CONTAINER_KEYS = ("port", "proto", "interfaces", "reason")
_INTERFACE_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}[*]?$")


def from_container_errors(entries, var_name="from_containers"):
    """Validate a list of container/guest-to-host entries: {port, proto, interfaces, reason}.

    Returns one error string per problem, naming VAR_NAME, the entry index and the bad value."""
    if entries is None:
        return []
    if _is_text(entries) or not isinstance(entries, (list, tuple)):
        return ["%s: must be a list of entries, got %r" % (var_name, entries)]
    errors = []
    for index, entry in enumerate(entries):
        where = "%s[%d]" % (var_name, index)
        if not isinstance(entry, dict):
            errors.append("%s: must be a mapping with at least port and reason, got %r" % (where, entry))
            continue
        errors.extend(_port_entry_errors(entry, where, FROM_CONTAINER_KEYS))
        interfaces = entry.get("interfaces")
        if interfaces is not None:
            if _is_text(interfaces) or not isinstance(interfaces, (list, tuple)) or not interfaces:
                errors.append("%s.interfaces: must be a non-empty list of interface names, got %r" % (where, interfaces))
            else:
                for position, name in enumerate(interfaces):
                    if not _is_text(name) or not _INTERFACE_PATTERN.match(name):
                        errors.append("%s.interfaces[%d]: %r is not an interface name or name prefix followed by *"
                                      % (where, position, name))
        reason = entry.get("reason")
        if not _is_text(reason) or not reason.strip():
            errors.append("%s.reason: is required: write one sentence saying why containers or guests may reach "
                          "this port" % where)
    return errors


def normalize_from_containers(entries, default_interfaces=None):
    """ENTRIES with defaults applied: ``port`` an int, ``proto`` lower case, ``interfaces`` the
    entry's or DEFAULT_INTERFACES, ``reason`` stripped. Invalid input raises an error."""
    errors = from_container_errors(entries, "entries")
    if errors:
        raise AnsibleFilterError("normalize_from_containers: invalid input: %s" % "; ".join(errors))
    return [{
        "port": _port_value(entry["port"]),
        "proto": _or_default(entry, "proto", DEFAULT_PROTO).lower(),
        "interfaces": list(entry.get("interfaces") or default_interfaces or []),
        "reason": entry["reason"].strip(),
    } for entry in entries or []]


def _address(value):
    """Parse an address as found in SSH_CONNECTION: strips an IPv6 zone, unmaps ::ffff:a.b.c.d."""
    text = to_text(value).strip()
    if "%" in text:
        text = text.split("%", 1)[0]
    address = ipaddress.ip_address(text)
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address


def in_networks(address, networks):
    """True when ADDRESS (IPv4 or IPv6 text) lies inside any CIDR of NETWORKS."""
    errors = network_errors(networks, "networks")
    if errors:
        raise AnsibleFilterError("in_networks: %s" % "; ".join(errors))
    try:
        parsed = _address(address)
    except ValueError:
        raise AnsibleFilterError("in_networks: %r is not an IP address" % (address,))
    for value in networks or []:
        network = _parse_network(value)[0]
        if network.version == parsed.version and parsed in network:
            return True
    return False


def networks_by_family(networks):
    """Split NETWORKS into {'ipv4': [...], 'ipv6': [...]}, each collapsed and sorted."""
    errors = network_errors(networks, "networks")
    if errors:
        raise AnsibleFilterError("networks_by_family: %s" % "; ".join(errors))
    parsed = [_parse_network(value)[0] for value in networks or []]
    result = {}
    for family, version in (("ipv4", 4), ("ipv6", 6)):
        same = [network for network in parsed if network.version == version]
        result[family] = [network.with_prefixlen for network in ipaddress.collapse_addresses(same)]
    return result


def _exclude(blocks, removed):
    """BLOCKS (disjoint networks) minus the network REMOVED, as disjoint networks."""
    result = []
    for block in blocks:
        if removed.subnet_of(block):
            result.extend(block.address_exclude(removed))
        elif not block.subnet_of(removed):
            result.append(block)
    return result


def _internet(version, not_internet):
    blocks = [ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")]
    for text in not_internet:
        blocks = _exclude(blocks, ipaddress.ip_network(text))
    return tuple(ipaddress.collapse_addresses(blocks))


# The part of each family that the Internet can send from: for IPv4 everything outside the IANA
# special-purpose blocks that are not globally reachable (RFC 6890 and its updates), multicast and
# the reserved 240.0.0.0/4; for IPv6 the global unicast space, 2000::/3.
INTERNET = {
    4: _internet(4, ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                     "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
                     "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")),
    6: (ipaddress.ip_network("2000::/3"),),
}
FAMILY_NAMES = {4: "ipv4", 6: "ipv6"}


def _overlap(left, right):
    """Number of addresses two networks share (CIDR blocks are nested or disjoint)."""
    if left.subnet_of(right):
        return left.num_addresses
    if right.subnet_of(left):
        return right.num_addresses
    return 0


def world_share(networks):
    """How much of the world the CIDRs in NETWORKS (one list, both families) let in.

    Returns ``{'ipv4': {...}, 'ipv6': {...}}``; each family has ``family`` (the share of the whole
    family's addresses that the union of its sources covers) and ``internet`` (the share of its
    Internet-routable part, see INTERNET), both fractions 0-1, and ``world`` (true when either is
    at least 1/2: see world_exposures)."""
    errors = network_errors(networks, "networks")
    if errors:
        raise AnsibleFilterError("world_share: %s" % "; ".join(errors))
    parsed = [_parse_network(value)[0] for value in networks or []]
    result = {}
    for version, name in FAMILY_NAMES.items():
        union = list(ipaddress.collapse_addresses(network for network in parsed if network.version == version))
        total = 2 ** (32 if version == 4 else 128)
        internet_total = sum(block.num_addresses for block in INTERNET[version])
        covered = sum(network.num_addresses for network in union)
        covered_internet = sum(_overlap(network, block) for network in union for block in INTERNET[version])
        family_share = float(covered) / total
        internet_share = float(covered_internet) / internet_total
        result[name] = {
            "family": family_share,
            "internet": internet_share,
            # Integer comparisons: exact for IPv6's 2**128 too.
            "world": 2 * covered >= total or 2 * covered_internet >= internet_total,
        }
    return result


def world_exposures(entries, ports=None):
    """Return the entries (normalised) that open their port to the whole Internet, or most of it.

    The sources of every entry with the same port and protocol are one set of rules, so they are
    judged together: per address family, their union counts as "the world" when it covers at least
    half of the family's addresses (0.0.0.0/0, or 0.0.0.0/1 alone) or at least half of its
    Internet-routable part (2000::/3 is all of IPv6's). A literal /0 is the simplest case; the
    union catches splits such as 0.0.0.0/1 + 128.0.0.0/1. Each returned entry gets the key
    ``world_families`` (``ipv4`` and/or ``ipv6``). With PORTS, only entries whose port is in PORTS
    are returned."""
    selected = None if ports is None else set(_port_value(port) for port in ports)
    # Accept normalize_exposures' own output, where an entry whose default sources were empty
    # has "sources: []" (it opens the port to nobody).
    entries = [dict((key, value) for key, value in entry.items()
                    if not (key == "sources" and value == []) and key != "world_families")
               if isinstance(entry, dict) else entry for entry in entries or []]
    normalised = [entry for entry in normalize_exposures(entries)
                  if selected is None or entry["port"] in selected]
    sources = {}
    for entry in normalised:
        sources.setdefault((entry["port"], entry["proto"]), []).extend(entry["sources"])
    world = {}
    for key, networks in sources.items():
        share = world_share(networks)
        world[key] = [name for name in ("ipv4", "ipv6") if share[name]["world"]]
    found = []
    for entry in normalised:
        families = world[(entry["port"], entry["proto"])]
        if families and entry["sources"]:
            found.append(dict(entry, world_families=families))
    return found


def _runtimes_of(runtime_facts):
    if not runtime_facts:
        return []
    if not isinstance(runtime_facts, dict) or not isinstance(runtime_facts.get("runtimes", []), list):
        raise AnsibleFilterError("expected the aihost_runtime facts (a mapping with a 'runtimes' list), got %r"
                                 % (runtime_facts,))
    return [runtime for runtime in runtime_facts.get("runtimes") or [] if isinstance(runtime, dict)]


def ai_ports(runtime_facts=None, catalog=True):
    """Ports that belong to local-AI runtimes: every catalog default port (when CATALOG is true)
    plus, from RUNTIME_FACTS (``ansible_facts.aihost_runtime``), each detected runtime's listen
    ports, default ports and published container host ports. Sorted, unique."""
    ports = set()
    if catalog:
        for entry in CATALOG.values():
            ports.update(entry.get("default_ports") or [])
    for runtime in _runtimes_of(runtime_facts):
        ports.update(listener.get("port") for listener in runtime.get("listen") or [])
        ports.update(runtime.get("default_ports") or [])
        for container in runtime.get("containers") or []:
            ports.update(published.get("host_port") for published in container.get("published") or [])
    return sorted(port for port in ports if _port_value(port) is not None)


def ai_runtime_names(runtime_facts=None):
    """Runtime names an entry's ``runtime`` may use: the catalog's plus any detected ones (from
    catalog entries a caller added). Sorted."""
    names = set(CATALOG)
    names.update(runtime.get("name") for runtime in _runtimes_of(runtime_facts) if runtime.get("name"))
    return sorted(names)


def nft_comment(text, prefix=""):
    """Make TEXT safe as an nftables comment: one line, no double quotes or backslashes, at most
    127 bytes of UTF-8 (cut on a character boundary, marked with '...')."""
    clean = " ".join(to_text(prefix + to_text(text)).split())
    clean = clean.replace('"', "'").replace("\\", "/")
    # Characters nft's scanner does not accept inside a quoted string.
    clean = "".join(char for char in clean if char.isprintable())
    if len(clean.encode("utf-8")) <= NFT_COMMENT_MAX_BYTES:
        return clean
    cut = clean
    while len((cut + "...").encode("utf-8")) > NFT_COMMENT_MAX_BYTES:
        cut = cut[:-1]
    return cut.rstrip() + "..."


class FilterModule(object):
    """aihost.hardening filters for allowed exposures and networks."""

    def filters(self):
        return {
            "exposure_errors": exposure_errors,
            "from_container_errors": from_container_errors,
            "normalize_from_containers": normalize_from_containers,
            "normalize_exposures": normalize_exposures,
            "network_errors": network_errors,
            "in_networks": in_networks,
            "networks_by_family": networks_by_family,
            "world_exposures": world_exposures,
            "nft_comment": nft_comment,
            "ai_ports": ai_ports,
            "ai_runtime_names": ai_runtime_names,
        }
