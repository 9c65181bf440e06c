# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Posture metrics of one host for node_exporter's textfile collector (the metrics role).

``aihost-metrics`` (roles/metrics/files) is a thin command around this file: it reads the host with
``collect`` and writes the result with ``write_textfile``. The parsing is pure and unit-tested on
fixture text (tests/unit/test_host_metrics.py):

- ``parse_systemctl_show`` and ``timer_states``: the aihost timers (``systemctl show`` key=value
  blocks of each timer and of the service it starts) -> last run, result, duration, next run;
- ``firewall_state``: ``nft -j list table inet aihost`` (JSON) -> table loaded, packets and bytes
  dropped per chain (rules with a ``counter`` and a drop or reject verdict, and the counter a base
  chain with policy drop ends with);
- ``posture``: the ``aihost_runtime`` facts (the same detection as ``ai_runtime_facts``) -> AI ports
  listening on non-loopback addresses and runtimes that run as root (the audit's AIH-CFG-002);
- ``render``: the Prometheus text format, every series ``aihost_*`` with HELP and TYPE.

Only names, numbers, addresses and ports reach the output: no command line, environment or path,
so no secret. Everything read from the host is attacker input: unit names and results are checked
against systemd's own alphabets before they become label values, and every label value is escaped.
The commands (systemctl, nft) run as argument lists under the C locale, only from files that only
root can change (``fs_trust``). The file is written through a directory handle opened without
following any symbolic link, to a new temporary name (O_EXCL), then renamed over the old one.

Standard library only (it runs on targets), Python >= 3.9.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import errno
import json
import os
import re
import subprocess
import time

from ansible_collections.aihost.hardening.plugins.module_utils import fs
from ansible_collections.aihost.hardening.plugins.module_utils import fs_trust

SCHEMA = "aihost.hardening metrics 1"

TIMER_PROPERTIES = ("Id", "LoadState", "ActiveState", "Unit", "NextElapseUSecRealtime", "LastTriggerUSec")
SERVICE_PROPERTIES = ("Id", "LoadState", "ActiveState", "Result", "ExecMainStartTimestamp",
                      "ExecMainStartTimestampMonotonic", "ExecMainExitTimestampMonotonic", "ExecMainStatus")

# systemd unit names (systemd.unit(5): ASCII letters, digits, ":", "-", "_", ".", "\" and "@") and
# the patterns the role passes; no "\" here, so a label never needs more than quoting.
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@-]{1,255}\Z")
RESULT = re.compile(r"^[a-z][a-z-]{0,63}\Z")
VERDICTS = ("accept", "drop", "reject", "jump", "goto", "return", "queue", "continue")
DROP_VERDICTS = ("drop", "reject")

COLLECTORS = ("timers", "firewall", "posture")

# name -> (type, help). The order is the order of the file.
FAMILIES = (
    ("aihost_timer_active", "gauge",
     "1 when the aihost timer is active (scheduled), 0 when it is loaded but stopped."),
    ("aihost_timer_last_run_timestamp_seconds", "gauge",
     "Unix time the timer's service last started (since boot; else the timer's last trigger, which "
     "Persistent timers keep across reboots); 0 when it never ran."),
    ("aihost_timer_last_success", "gauge",
     "1 when the last run of the timer's service succeeded, 0 when it failed; absent before the first run."),
    ("aihost_timer_last_result", "gauge",
     "systemd's Result of the timer's service after its last run (success, exit-code, signal, timeout...), value 1."),
    ("aihost_timer_last_duration_seconds", "gauge",
     "Seconds the last completed run of the timer's service took."),
    ("aihost_timer_next_run_timestamp_seconds", "gauge",
     "Unix time of the timer's next run; 0 when none is scheduled."),
    ("aihost_firewall_table_loaded", "gauge",
     "1 when nftables table inet aihost (the firewall role's) is loaded, 0 when it is not."),
    ("aihost_firewall_dropped_packets_total", "counter",
     "Packets dropped or rejected in the chain of table inet aihost (rules with a counter, and the "
     "counter before a drop policy); resets when the table is loaded again."),
    ("aihost_firewall_dropped_bytes_total", "counter",
     "Bytes dropped or rejected in the chain of table inet aihost; resets when the table is loaded again."),
    ("aihost_exposed_ai_ports", "gauge",
     "Ports of AI runtimes reachable beyond loopback: sockets on non-loopback addresses and published container ports."),
    ("aihost_exposed_ai_port", "gauge",
     "One series, value 1, for each AI runtime port reachable beyond loopback."),
    ("aihost_root_runtimes", "gauge",
     "AI runtime instances that run as root (processes, else a unit without User=, else the container's user)."),
    ("aihost_root_runtime_instances", "gauge",
     "AI runtime instances that run as root, per runtime."),
    ("aihost_ai_runtimes_running", "gauge",
     "AI runtime instances with at least one running process."),
    ("aihost_metrics_collector_success", "gauge",
     "1 when the collector read what it reports, 0 when it failed (its series are then left out)."),
    ("aihost_metrics_last_write_timestamp_seconds", "gauge",
     "Unix time aihost-metrics wrote this file."),
    ("aihost_metrics_collect_duration_seconds", "gauge",
     "Seconds aihost-metrics took to read the host."),
)
FAMILY_TYPES = dict((name, kind) for name, kind, _help in FAMILIES)


class CommandError(Exception):
    """A command could not be run, or said something this module cannot read."""


# ------------------------------------------------------------------------------------------------
# systemd timers
# ------------------------------------------------------------------------------------------------
def parse_systemctl_show(text):
    """``systemctl show`` output (units separated by blank lines, ``Key=value`` lines) -> list of dicts."""
    units, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                units.append(current)
            current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        units.append(current)
    return units


def parse_timestamp(value):
    """A ``systemctl show`` timestamp -> Unix seconds (float), or None when unset.

    Accepts ``@1733588941`` (``--timestamp=unix``) and ``Sat 2024-12-07 16:29:01 UTC`` (the default
    format; the caller runs systemctl with ``TZ=UTC``). Anything else is None."""
    value = (value or "").strip()
    if not value or value in ("n/a", "0"):
        return None
    if value.startswith("@"):
        try:
            return float(value[1:])
        except ValueError:
            return None
    match = re.match(r"^(?:[A-Za-z]{3} )?(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)? UTC\Z", value)
    if not match:
        return None
    try:
        return float(calendar.timegm(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")))
    except ValueError:
        return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def timer_states(timers, services):
    """``timers`` and ``services``: parsed ``systemctl show`` blocks -> one dict per loaded timer.

    Each dict: ``timer`` (unit name), ``service``, ``active`` (bool), ``next_run`` and ``last_run``
    (Unix seconds; ``last_run`` None when it never ran), ``result`` and ``success`` (None before the
    first run of the service since boot), ``duration`` (seconds, None while it runs or before a run).
    Units whose name is not a unit name, or that are not loaded, are left out."""
    by_id = dict((unit.get("Id"), unit) for unit in services)
    states = []
    for timer in timers:
        name = timer.get("Id", "")
        if not UNIT_NAME.match(name) or not name.endswith(".timer") or timer.get("LoadState") != "loaded":
            continue
        service_name = timer.get("Unit") or (name[:-len(".timer")] + ".service")
        service = by_id.get(service_name, {}) if UNIT_NAME.match(service_name) else {}
        started = parse_timestamp(service.get("ExecMainStartTimestamp"))
        state = {"timer": name, "service": service_name if UNIT_NAME.match(service_name) else None,
                 "active": timer.get("ActiveState") == "active",
                 "next_run": parse_timestamp(timer.get("NextElapseUSecRealtime")),
                 "last_run": started if started is not None else parse_timestamp(timer.get("LastTriggerUSec")),
                 "result": None, "success": None, "duration": None}
        if started is not None:
            result = service.get("Result", "")
            state["result"] = result if RESULT.match(result) else None
            if service.get("ActiveState") not in ("activating", "active", "reloading"):
                state["success"] = result == "success" and _int(service.get("ExecMainStatus")) in (0, None)
                begin = _int(service.get("ExecMainStartTimestampMonotonic"))
                end = _int(service.get("ExecMainExitTimestampMonotonic"))
                if begin and end and end >= begin:
                    state["duration"] = (end - begin) / 1e6
        states.append(state)
    return sorted(states, key=lambda item: item["timer"])


# ------------------------------------------------------------------------------------------------
# nftables
# ------------------------------------------------------------------------------------------------
def _verdict_of(expr):
    for statement in expr:
        if isinstance(statement, dict):
            for key in statement:
                if key in VERDICTS:
                    return key
    return None


def _counter_of(expr):
    for statement in expr:
        if isinstance(statement, dict) and isinstance(statement.get("counter"), dict):
            counter = statement["counter"]
            packets, count = _int(counter.get("packets")), _int(counter.get("bytes"))
            if packets is not None and count is not None:
                return packets, count
    return None


def firewall_state(nft_json, family="inet", table="aihost"):
    """``nft -j list table FAMILY TABLE`` output -> ``{"loaded": bool, "chains": {name: {...}}}``.

    Each chain: ``hook`` and ``policy`` (None for a regular chain), ``dropped_packets`` and
    ``dropped_bytes`` (sums over the rules with a counter and a drop or reject verdict, plus the
    last rule of a base chain with policy drop when it is a counter without a verdict: what falls
    through to the policy), ``counted`` (how many rules those sums come from) and ``rules``.
    Raises ValueError on text that is not nft's JSON."""
    data = json.loads(nft_json)
    if not isinstance(data, dict) or not isinstance(data.get("nftables"), list):
        raise ValueError("not the JSON of nft -j: no nftables list")
    loaded = False
    chains, rules = {}, {}
    for item in data["nftables"]:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("table"), dict):
            loaded = loaded or (item["table"].get("family") == family and item["table"].get("name") == table)
        chain = item.get("chain")
        if isinstance(chain, dict) and chain.get("family") == family and chain.get("table") == table:
            name = str(chain.get("name"))
            chains[name] = {"hook": chain.get("hook"), "policy": chain.get("policy"),
                            "dropped_packets": 0, "dropped_bytes": 0, "counted": 0, "rules": 0}
            rules.setdefault(name, [])
        rule = item.get("rule")
        if isinstance(rule, dict) and rule.get("family") == family and rule.get("table") == table:
            expr = rule.get("expr") if isinstance(rule.get("expr"), list) else []
            rules.setdefault(str(rule.get("chain")), []).append(expr)
    for name, exprs in rules.items():
        if name not in chains:
            continue
        chain = chains[name]
        chain["rules"] = len(exprs)
        for index, expr in enumerate(exprs):
            counter = _counter_of(expr)
            if counter is None:
                continue
            verdict = _verdict_of(expr)
            policy_tail = (verdict is None and index == len(exprs) - 1 and chain["hook"]
                           and chain["policy"] == "drop")
            if verdict in DROP_VERDICTS or policy_tail:
                chain["dropped_packets"] += counter[0]
                chain["dropped_bytes"] += counter[1]
                chain["counted"] += 1
    return {"loaded": loaded, "chains": chains if loaded else {}}


# ------------------------------------------------------------------------------------------------
# Posture (from the aihost_runtime facts)
# ------------------------------------------------------------------------------------------------
def posture(facts):
    """The ``aihost_runtime`` facts -> ``{"exposed": [...], "root": {runtime: n}, "running": n}``.

    ``exposed``: one dict (``runtime``, ``protocol``, ``address``, ``port``) per runtime socket whose
    scope is not loopback and per published container port not bound to loopback, sorted, each once.
    ``root``: instances per runtime whose ``run_as`` holds root and that have processes, units or
    containers (the audit's AIH-CFG-002). ``running``: instances with at least one process."""
    exposed, root, running = set(), {}, 0
    for runtime in facts.get("runtimes") or []:
        name = str(runtime.get("name"))
        for sock in runtime.get("listen") or []:
            if sock.get("scope") in ("all", "specific"):
                exposed.add((name, str(sock.get("protocol")), str(sock.get("address")), _int(sock.get("port")) or 0))
        for container in runtime.get("containers") or []:
            for port in container.get("published") or []:
                host_ip = port.get("host_ip") or "0.0.0.0"
                if not _loopback(host_ip):
                    exposed.add((name, str(port.get("protocol") or "tcp"), host_ip, _int(port.get("host_port")) or 0))
        if runtime.get("processes"):
            running += 1
        if "root" in (runtime.get("run_as") or []) and (
                runtime.get("processes") or runtime.get("units") or runtime.get("containers")):
            root[name] = root.get(name, 0) + 1
    rows = [{"runtime": r, "protocol": p, "address": a, "port": n} for r, p, a, n in sorted(exposed)]
    return {"exposed": rows, "root": root, "running": running}


def _loopback(address):
    return address == "::1" or address.startswith("127.") or address.startswith("::ffff:127.")


# ------------------------------------------------------------------------------------------------
# Text format
# ------------------------------------------------------------------------------------------------
def escape_label(value):
    """A label value for the Prometheus text format: backslash, double quote and newline escaped,
    other control characters dropped."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "".join(char for char in text if char >= " " and char != "\x7f")


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def samples(collected):
    """``collected`` (what ``collect`` returns) -> list of (family, labels dict, value)."""
    out = []
    timers = collected.get("timers")
    for timer in timers or []:
        labels = {"timer": timer["timer"]}
        out.append(("aihost_timer_active", labels, timer["active"]))
        out.append(("aihost_timer_last_run_timestamp_seconds", labels, timer["last_run"] or 0))
        if timer["success"] is not None:
            out.append(("aihost_timer_last_success", labels, timer["success"]))
        if timer["result"] is not None:
            out.append(("aihost_timer_last_result", dict(labels, result=timer["result"]), 1))
        if timer["duration"] is not None:
            out.append(("aihost_timer_last_duration_seconds", labels, round(timer["duration"], 6)))
        out.append(("aihost_timer_next_run_timestamp_seconds", labels, timer["next_run"] or 0))
    firewall = collected.get("firewall")
    if firewall is not None:
        out.append(("aihost_firewall_table_loaded", {}, firewall["loaded"]))
        for chain in sorted(firewall["chains"]):
            if firewall["chains"][chain]["counted"]:
                out.append(("aihost_firewall_dropped_packets_total", {"chain": chain},
                            firewall["chains"][chain]["dropped_packets"]))
                out.append(("aihost_firewall_dropped_bytes_total", {"chain": chain},
                            firewall["chains"][chain]["dropped_bytes"]))
    state = collected.get("posture")
    if state is not None:
        out.append(("aihost_exposed_ai_ports", {}, len(state["exposed"])))
        for row in state["exposed"]:
            out.append(("aihost_exposed_ai_port", {"runtime": row["runtime"], "protocol": row["protocol"],
                                                   "address": row["address"], "port": str(row["port"])}, 1))
        out.append(("aihost_root_runtimes", {}, sum(state["root"].values())))
        for name in sorted(state["root"]):
            out.append(("aihost_root_runtime_instances", {"runtime": name}, state["root"][name]))
        out.append(("aihost_ai_runtimes_running", {}, state["running"]))
    for collector in COLLECTORS:
        if collector in collected.get("errors", {}) or collected.get(collector) is not None:
            out.append(("aihost_metrics_collector_success", {"collector": collector},
                        collector not in collected.get("errors", {})))
    if collected.get("duration") is not None:
        out.append(("aihost_metrics_collect_duration_seconds", {}, round(collected["duration"], 3)))
    if collected.get("now") is not None:
        out.append(("aihost_metrics_last_write_timestamp_seconds", {}, round(collected["now"], 3)))
    return out


def render(collected):
    """The Prometheus text exposition of ``collected``: families in FAMILIES order, each with HELP
    and TYPE once, and only families that have samples."""
    by_family = {}
    for family, labels, value in samples(collected):
        by_family.setdefault(family, []).append((labels, value))
    lines = ["# %s, written by aihost-metrics (roles/metrics); do not edit." % SCHEMA]
    for family, kind, text in FAMILIES:
        if family not in by_family:
            continue
        lines.append("# HELP %s %s" % (family, text))
        lines.append("# TYPE %s %s" % (family, kind))
        for labels, value in by_family[family]:
            label_text = ",".join('%s="%s"' % (key, escape_label(labels[key])) for key in sorted(labels))
            lines.append("%s%s %s" % (family, "{%s}" % label_text if label_text else "", _number(value)))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# I/O
# ------------------------------------------------------------------------------------------------
def run(argv, timeout=30, untrusted=fs_trust.untrusted_reason):
    """Run ``argv`` (its first word an absolute path only root can change) under the C locale and
    UTC; return ``(rc, stdout, stderr)``. Raises CommandError when it cannot run."""
    reason = untrusted(argv[0])
    if reason:
        raise CommandError("%s not run: %s" % (argv[0], reason))
    env = {"LC_ALL": "C", "LANG": "C", "TZ": "UTC", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise CommandError("%s: %s" % (argv[0], exc))
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def read_timers(systemctl, patterns, runner=run):
    """The aihost timers matching ``patterns`` (loaded units only), with their services."""
    patterns = [pattern for pattern in patterns if re.match(r"^[A-Za-z0-9:_.@*?\[\]-]+\.timer\Z", pattern)]
    if not patterns:
        return []
    rc, out, err = runner([systemctl, "show", "--no-pager", "--property=" + ",".join(TIMER_PROPERTIES), "--"]
                          + patterns)
    if rc != 0:
        raise CommandError("systemctl show of the timers failed: %s" % (err.strip() or "exit %d" % rc))
    timers = [unit for unit in parse_systemctl_show(out) if UNIT_NAME.match(unit.get("Id", ""))]
    names = sorted(set(unit["Unit"] for unit in timers if UNIT_NAME.match(unit.get("Unit", ""))))
    services = []
    if names:
        rc, out, err = runner([systemctl, "show", "--no-pager", "--property=" + ",".join(SERVICE_PROPERTIES), "--"]
                              + names)
        if rc != 0:
            raise CommandError("systemctl show of the timers' services failed: %s" % (err.strip() or "exit %d" % rc))
        services = parse_systemctl_show(out)
    return timer_states(timers, services)


def read_firewall(nft, family="inet", table="aihost", runner=run):
    """``firewall_state`` of the live table; not loaded when nft says the table does not exist or
    when nft is not installed."""
    if not os.path.lexists(nft):
        return {"loaded": False, "chains": {}}
    rc, out, err = runner([nft, "-j", "list", "table", family, table])
    if rc != 0:
        if "No such file or directory" in err:
            return {"loaded": False, "chains": {}}
        raise CommandError("nft -j list table %s %s failed: %s" % (family, table, err.strip() or "exit %d" % rc))
    try:
        return firewall_state(out, family, table)
    except ValueError as exc:
        raise CommandError("nft -j list table %s %s: %s" % (family, table, exc))


def read_posture(root="/"):
    """``posture`` of this host, from the same detection as ai_runtime_facts (no version commands)."""
    from ansible_collections.aihost.hardening.plugins.module_utils import runtime_facts
    from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import load_catalog
    catalog, _warnings = load_catalog(None, strict=False)
    sockets = [("docker", "/var/run/docker.sock"), ("podman", "/run/podman/podman.sock")]
    facts = runtime_facts.gather(catalog, root=root, include_udp=True, collect_versions=False,
                                 container_sockets=[item for item in sockets if os.path.exists(item[1])],
                                 container_api_timeout=1.0, run_version_command=None, warnings=[])
    return posture(facts)


def collect(config, readers=None, clock=time.time):
    """Read every concern; a reader that fails leaves its series out and sets its error.

    ``config``: ``systemctl``, ``nft`` (absolute paths), ``timers`` (unit patterns), ``nft_family``
    and ``nft_table``. ``readers`` replaces the readers in tests."""
    readers = readers or {
        "timers": lambda: read_timers(config.get("systemctl", "/usr/bin/systemctl"), config.get("timers") or []),
        "firewall": lambda: read_firewall(config.get("nft", "/usr/sbin/nft"), config.get("nft_family", "inet"),
                                          config.get("nft_table", "aihost")),
        "posture": read_posture,
    }
    started = clock()
    collected = {"errors": {}}
    for name in COLLECTORS:
        if name not in readers:
            continue
        try:
            collected[name] = readers[name]()
        except Exception as exc:  # pylint: disable=broad-except
            collected[name] = None
            collected["errors"][name] = str(exc) or exc.__class__.__name__
    now = clock()
    collected["duration"] = max(0.0, now - started)
    collected["now"] = now
    return collected


def write_textfile(directory, name, text, mode=0o644):
    """Write ``text`` to ``directory/name`` atomically: a new temporary file in the same directory
    (created with O_EXCL, never through a symbolic link) gets the content and ``mode``, is flushed,
    then renamed over ``name``. ``directory`` is opened component by component without following
    symbolic links (another user may own a directory above it). Raises OSError."""
    if "/" in name or name.startswith("."):
        raise ValueError("bad file name %r" % (name,))
    dir_fd = fs.open_path(directory, directory=True)
    temporary = None
    try:
        for _attempt in range(100):
            candidate = ".%s.%s.tmp" % (name, os.urandom(6).hex())
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                             0o600, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    continue
                raise
            temporary = candidate
            break
        else:
            raise OSError(errno.EEXIST, "no free temporary name", directory)
        try:
            os.fchmod(fd, mode)
            data = text.encode("utf-8")
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        temporary = None
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary, dir_fd=dir_fd)
            except OSError:
                pass
        os.close(dir_fd)
