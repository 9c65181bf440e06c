# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read listening sockets and processes from procfs, with the standard library only.

Parsing functions are pure (text in, data out) so unit tests feed them fixture text. Reading
functions take a ``root`` prefix (default ``/``): tests point them at a fixture tree whose
``proc/`` mirrors the real ``/proc``. Processes may exit while we scan; every per-process read
tolerates that and reports the pid as vanished instead of raising.

Formats follow the kernel's documented ones:
- ``/proc/net/{tcp,udp}``: net/ipv4/tcp_ipv4.c ``get_tcp4_sock`` / ``udp4_format_sock``: the local
  address is the raw ``__be32`` printed as ``%08X`` in host byte order, the port as ``%04X``.
- ``/proc/net/{tcp6,udp6}``: four 32-bit words, each ``%08X`` in host byte order.
- ``/proc/<pid>/status`` (Name, PPid, Uid), ``/proc/<pid>/cmdline`` (NUL separated),
  ``/proc/<pid>/cgroup`` (``hierarchy-ID:controllers:path``), ``/proc/<pid>/fd/*`` links
  ``socket:[inode]`` (proc(5)).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re
import sys

from ansible_collections.aihost.hardening.plugins.module_utils import accounts

# TCP_LISTEN in include/net/tcp_states.h; unconnected UDP sockets show TCP_CLOSE (7).
TCP_LISTEN = 0x0A
UDP_UNCONNECTED = 0x07

NET_FILES = (
    ("tcp", "ipv4", "net/tcp"),
    ("tcp", "ipv6", "net/tcp6"),
    ("udp", "ipv4", "net/udp"),
    ("udp", "ipv6", "net/udp6"),
)

# Errors that mean "the process went away or we may not look": skip it, never crash.
VANISHED_ERRORS = (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError)

_SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")
# Container ids inside cgroup paths: docker (v1 "/docker/<id>", v2 "docker-<id>.scope"),
# containerd/CRI ("cri-containerd-<id>.scope", "/kubepods/.../<id>"), podman ("libpod-<id>.scope",
# "/libpod_parent/libpod-<id>"), CRI-O ("crio-<id>.scope").
_CONTAINER_PATTERNS = (
    ("docker", re.compile(r"(?:^|/)docker[-/]([0-9a-f]{64})(?:\.scope)?(?:/|$)")),
    ("podman", re.compile(r"(?:^|/)libpod-(?:conmon-)?([0-9a-f]{64})(?:\.scope)?(?:/|$)")),
    ("containerd", re.compile(r"(?:^|/)cri-containerd-([0-9a-f]{64})(?:\.scope)?(?:/|$)")),
    ("crio", re.compile(r"(?:^|/)crio-(?:conmon-)?([0-9a-f]{64})(?:\.scope)?(?:/|$)")),
    ("kubernetes", re.compile(r"(?:^|/)kubepods[^ ]*/([0-9a-f]{64})(?:/|$)")),
    ("containerd", re.compile(r"(?:^|/)(?:default|k8s\.io|moby)/([0-9a-f]{64})(?:/|$)")),
)
_CONTAINER_WORDS = ("docker", "libpod", "containerd", "crio", "kubepods", "/default/", "k8s.io", "moby")
_UNIT_COMPONENT = re.compile(r"^[^/]+\.service$")


# --------------------------------------------------------------------------------------------
# Pure parsers
# --------------------------------------------------------------------------------------------

def decode_address(hex_address, family, byteorder=None):
    """Turn the hex address of /proc/net/{tcp,tcp6,udp,udp6} into text.

    The kernel prints each 32-bit word in host byte order, so on little-endian hosts the bytes
    of every word are reversed. ``byteorder`` defaults to this machine's.
    """
    byteorder = byteorder or sys.byteorder
    raw = bytes.fromhex(hex_address)
    if family == "ipv4":
        if len(raw) != 4:
            raise ValueError("IPv4 address must be 8 hex digits: %r" % hex_address)
        packed = raw[::-1] if byteorder == "little" else raw
        return str(ipaddress.IPv4Address(packed))
    if len(raw) != 16:
        raise ValueError("IPv6 address must be 32 hex digits: %r" % hex_address)
    if byteorder == "little":
        packed = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    else:
        packed = raw
    address = ipaddress.IPv6Address(packed)
    if address.ipv4_mapped is not None:
        # Print like ss and the kernel docs do: ::ffff:127.0.0.1, not ::ffff:7f00:1.
        return "::ffff:%s" % address.ipv4_mapped
    return address.compressed


def address_scope(address):
    """Classify a bind address: ``loopback``, ``all`` (wildcard) or ``specific``.

    IPv4-mapped IPv6 addresses are judged by their IPv4 part (``::ffff:127.0.0.1`` is loopback).
    An empty address (Docker's "publish on every interface") counts as ``all``.
    """
    if address in (None, "", "*"):
        return "all"
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return "specific"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "all"
    if ip.is_loopback:
        return "loopback"
    return "specific"


SCOPE_ORDER = {"none": 0, "loopback": 1, "specific": 2, "all": 3}


def widest_scope(scopes):
    """Return the widest of the given scopes (``none`` when there are none)."""
    widest = "none"
    for scope in scopes:
        if SCOPE_ORDER.get(scope, 0) > SCOPE_ORDER[widest]:
            widest = scope
    return widest


def parse_net_table(text, protocol, family, byteorder=None, include_all_states=False):
    """Parse one /proc/net/{tcp,tcp6,udp,udp6} table.

    Returns listening TCP sockets (state 0A) or bound, unconnected UDP sockets (state 07 with a
    non-zero local port); ``include_all_states`` returns every row. Malformed rows are skipped.
    Each item: protocol, family, address, port, scope, state, uid, inode.
    """
    sockets = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            local_hex, port_hex = fields[1].split(":")
            remote_hex = fields[2].split(":")[0]
            state = int(fields[3], 16)
            uid = int(fields[7])
            inode = int(fields[9])
            port = int(port_hex, 16)
            address = decode_address(local_hex, family, byteorder)
        except (ValueError, IndexError):
            continue
        if not include_all_states:
            if protocol == "tcp" and state != TCP_LISTEN:
                continue
            if protocol == "udp":
                # A connected UDP socket has a peer; only bound, unconnected ones are listeners.
                if state != UDP_UNCONNECTED or port == 0 or int(remote_hex or "0", 16) != 0:
                    continue
        sockets.append({
            "protocol": protocol,
            "family": family,
            "address": address,
            "port": port,
            "scope": address_scope(address),
            "state": state,
            "uid": uid,
            "inode": inode,
        })
    return sockets


def parse_status(text):
    """Return name, ppid, uid (effective) and gid (effective) from /proc/<pid>/status text."""
    result = {"name": None, "ppid": None, "uid": None, "gid": None}
    # The fields we need are in the first ten lines (Name ... Gid); skip the long tail.
    for line in text.split("\n", 12)[:12]:
        key, sep, value = line.partition(":")
        if not sep:
            continue
        value = value.strip()
        try:
            if key == "Name":
                result["name"] = value
            elif key == "PPid":
                result["ppid"] = int(value)
            elif key == "Uid":
                result["uid"] = int(value.split()[1])
            elif key == "Gid":
                result["gid"] = int(value.split()[1])
        except (ValueError, IndexError):
            continue
    return result


def parse_cmdline(data):
    """Split NUL-separated /proc/<pid>/cmdline bytes into a list of strings (empty for kernel threads)."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if not data:
        return []
    parts = data.split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    if len(parts) == 1 and " " in parts[0]:
        # Processes that rewrite their title (setproctitle) put everything in one string.
        parts = parts[0].split()
    return parts


def parse_environ(data):
    """Turn NUL-separated /proc/<pid>/environ bytes into a dict."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    env = {}
    for item in data.split("\0"):
        key, sep, value = item.partition("=")
        if sep and key:
            env[key] = value
    return env


def parse_cgroup(text):
    """Return ``{"unit", "container_id", "container_runtime", "paths"}`` from /proc/<pid>/cgroup.

    Works for cgroup v1 (``N:controller:path`` lines; the ``name=systemd`` hierarchy names the
    unit) and v2 (``0::path``). The unit is the innermost ``*.service`` path component, so a user
    service under ``user@1000.service`` reports its own unit. Container scopes are not units.
    """
    paths = []
    systemd_path = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        paths.append(path)
        if controllers == "name=systemd" or (hierarchy == "0" and controllers == ""):
            if systemd_path is None or controllers == "name=systemd":
                systemd_path = path
    unit = None
    for path in (([systemd_path] if systemd_path else []) + paths) if ".service" in text else []:
        for component in reversed(path.split("/")):
            if _UNIT_COMPONENT.match(component):
                unit = component
                break
        if unit:
            break
    container_id = None
    container_runtime = None
    if not any(word in text for word in _CONTAINER_WORDS):
        paths_to_search = []
    else:
        paths_to_search = paths
    for path in paths_to_search:
        for runtime, pattern in _CONTAINER_PATTERNS:
            match = pattern.search(path)
            if match:
                container_id, container_runtime = match.group(1), runtime
                break
        if container_id:
            break
    return {"unit": unit, "container_id": container_id, "container_runtime": container_runtime,
            "paths": paths}


def parse_passwd(text):
    """Map uid -> (name, home) from /etc/passwd text (``accounts.parse_passwd``; the first name of a
    uid wins)."""
    users = {}
    for account in accounts.parse_passwd(text).values():
        users.setdefault(account["uid"], (account["name"], account["home"]))
    return users


def socket_inode(link_target):
    """Return the inode of an fd link ``socket:[12345]``, else None."""
    match = _SOCKET_LINK.match(link_target)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------------------------
# Readers (I/O). ``root`` is the filesystem prefix: "/" on a real host, a fixture tree in tests.
# --------------------------------------------------------------------------------------------

def proc_dir(root="/"):
    return os.path.join(root, "proc")


def _read_text(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def read_listeners(root="/", include_udp=True, warnings=None, pid=None):
    """Read every listening TCP socket (and bound UDP socket) of our network namespace, or, with
    ``pid``, of that process's namespace (/proc/<pid>/net/*: a container's own sockets)."""
    listeners = []
    base = proc_dir(root) if pid is None else os.path.join(proc_dir(root), str(pid))
    for protocol, family, relative in NET_FILES:
        if protocol == "udp" and not include_udp:
            continue
        path = os.path.join(base, relative)
        try:
            text = _read_text(path)
        except FileNotFoundError:
            # No IPv6 in this kernel, for example: nothing to report.
            continue
        except OSError as exc:
            if warnings is not None:
                warnings.append("could not read %s: %s" % (path, exc.strerror or exc))
            continue
        listeners.extend(parse_net_table(text, protocol, family))
    return listeners


def list_pids(root="/"):
    pids = []
    try:
        entries = os.listdir(proc_dir(root))
    except OSError:
        return pids
    for entry in entries:
        if entry.isdigit():
            pids.append(int(entry))
    pids.sort()
    return pids


def read_process(pid, root="/", socket_inodes=True, details=True):
    """Read one process: pid, name (comm), ppid, uid, gid, cmdline and the set of socket inodes it
    holds open; with ``details`` also exe, cwd, unit and container (see ``read_details``).

    Returns None when the process vanished (or its status cannot be read at all). Parts that are
    merely unreadable (another user's fd table without root) are left empty and flagged with
    ``fd_readable: False``.
    """
    base = proc_dir(root) + "/" + str(pid)
    try:
        status = parse_status(_read_text(base + "/status"))
    except OSError:
        # Gone (FileNotFoundError, ProcessLookupError) or hidden from us (PermissionError).
        return None
    process = {
        "pid": pid,
        "name": status["name"],
        "ppid": status["ppid"],
        "uid": status["uid"],
        "gid": status["gid"],
        "cmdline": [],
        "exe": None,
        "cwd": None,
        "unit": None,
        "container_id": None,
        "container_runtime": None,
        "sockets": set(),
        "fd_readable": True,
        "_details": False,
    }
    if pid == 2 or status["ppid"] == 2:
        # Kernel threads (kthreadd and its children) have no command line and no files.
        process["kernel_thread"] = True
        return process
    try:
        with open(base + "/cmdline", "rb") as handle:
            process["cmdline"] = parse_cmdline(handle.read())
    except VANISHED_ERRORS:
        return None
    except OSError:
        pass
    if details:
        read_details(process, root)
    if socket_inodes:
        process["sockets"], process["fd_readable"] = read_socket_inodes(base)
    return process


def read_details(process, root="/"):
    """Fill exe, cwd (links, None when unreadable), unit and container (from the cgroup file) of a
    process read by ``read_process``. Separate because most processes never need them."""
    if process.get("_details"):
        return process
    process["_details"] = True
    base = os.path.join(proc_dir(root), str(process["pid"]))
    try:
        cgroup = parse_cgroup(_read_text(os.path.join(base, "cgroup")))
        process["unit"] = cgroup["unit"]
        process["container_id"] = cgroup["container_id"]
        process["container_runtime"] = cgroup["container_runtime"]
    except OSError:
        pass
    for key in ("exe", "cwd"):
        try:
            process[key] = os.readlink(os.path.join(base, key))
        except OSError:
            pass
    if process["exe"] and process["exe"].endswith(" (deleted)"):
        process["exe"] = process["exe"][:-len(" (deleted)")]
    return process


def read_socket_inodes(process_base):
    """Return (set of socket inodes, readable) for one /proc/<pid> directory."""
    inodes = set()
    fd_dir = process_base + "/fd/"
    try:
        entries = os.listdir(fd_dir)
    except PermissionError:
        return inodes, False
    except OSError:
        return inodes, True
    for entry in entries:
        try:
            target = os.readlink(fd_dir + entry)
        except OSError:
            # The fd was closed between listdir and readlink.
            continue
        if target.startswith("socket:["):
            inode = socket_inode(target)
            if inode is not None:
                inodes.add(inode)
    return inodes, True


def read_environ(pid, root="/"):
    """Return the environment of a process as a dict, or None when unreadable/vanished."""
    try:
        with open(os.path.join(proc_dir(root), str(pid), "environ"), "rb") as handle:
            return parse_environ(handle.read())
    except OSError:
        return None


def scan_processes(root="/", warnings=None, details=False):
    """Read every process once. Returns ``{pid: process}``; vanished pids are skipped.
    Without ``details`` exe, cwd, unit and container are read later, on demand (``read_details``)."""
    processes = {}
    vanished = 0
    unreadable_fds = 0
    for pid in list_pids(root):
        process = read_process(pid, root, details=details)
        if process is None:
            vanished += 1
            continue
        if not process["fd_readable"]:
            unreadable_fds += 1
        processes[pid] = process
    if warnings is not None and unreadable_fds:
        warnings.append(
            "could not read the open files of %d processes (not root?): their sockets stay "
            "unattributed" % unreadable_fds)
    return processes


def inode_owners(processes):
    """Map socket inode -> sorted list of pids holding it."""
    owners = {}
    for pid, process in processes.items():
        for inode in process["sockets"]:
            owners.setdefault(inode, []).append(pid)
    for pids in owners.values():
        pids.sort()
    return owners


def read_users(root="/"):
    """Map uid -> (name, home) from <root>/etc/passwd (empty when unreadable)."""
    try:
        return parse_passwd(_read_text(os.path.join(root, "etc", "passwd")))
    except OSError:
        return {}
