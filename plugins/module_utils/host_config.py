# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host-configuration checks of the audit: firewall state, automatic updates, data-path modes,
package versions, the service_users role's sandboxes and the model_integrity role's latest results.

Two layers, so unit tests feed fixture text to the parsing and a fake module to the reading:

- ``read_sections(module, data_paths, packages)`` reads the host (read-only commands as argv lists,
  ``os.lstat``) and returns raw text per section: ``nft_ruleset``, ``firewalld``, ``ufw``,
  ``apt_periodic``, ``unattended_upgrades``, ``dnf_timers``, ``data_paths``, ``packages`` (and
  ``iptables`` when a caller supplies it). The sections are the ones the audit role's former
  ``host_checks.sh`` printed, line for line.
- ``summarize(sections)`` is pure: sections -> the ``host_checks`` dictionary of the audit report
  (``firewall`` with the per-uid egress of ``nft_json_egress``, ``automatic_updates``,
  ``data_path_modes``, ``packages``). ``split_sections`` turns the
  ``@@name`` text form into sections (fixtures and older callers use it).
- ``read_model_integrity(state_dir)`` reads the JSON the model_integrity role (``findings.json``) and
  its verify timer (``last-verify.json``) leave on the host; ``summarize_model_integrity`` is pure.
- ``read_service_users(state_file)`` checks each unit the service_users role recorded against its
  drop-in as it is now (``dropin_drift`` is pure), and passes on the data directories the role refused
  and the runtimes it left as they are (``refused_entries`` is pure).

Standard library only: this runs on targets (aihost.hardening.host_audit_facts) and on the
controller (the audit filters).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import json
import os
import platform
import pwd
import re
import socket
import stat as stat_module
import time

from ansible_collections.aihost.hardening.plugins.module_utils import systemd_unit

SECTIONS = ("nft_ruleset", "nft_ruleset_json", "firewalld", "ufw", "apt_periodic", "unattended_upgrades", "dnf_timers",
            "data_paths", "packages")
DNF_TIMERS = ("dnf-automatic.timer", "dnf-automatic-install.timer", "dnf5-automatic.timer")
UNIT_DIRS = systemd_unit.UNIT_DIRS
UNATTENDED_UPGRADE = "/usr/bin/unattended-upgrade"


# ---------------------------------------------------------------------------------------------
# Pure parsing

def split_sections(text):
    """``@@name`` marker lines start a section; the lines up to the next marker are its body."""
    sections = {}
    current = None
    for line in (text or "").splitlines():
        if line.startswith("@@"):
            current = line[2:].strip()
            sections.setdefault(current, [])
        elif current is not None:
            sections[current].append(line)
    return sections


# A rule that drops or rejects whatever reaches it: statements only, no match (counter, log, then the verdict).
_CATCH_ALL_TEXT = re.compile(r'^(counter( packets \d+ bytes \d+)?\s+)?(log( prefix "[^"]*")?( level \w+)?( flags [\w,]+)?\s+)?'
                             r'(drop|reject( with .+?)?)( comment ".*")?$')
_CATCH_ALL_EXPR = frozenset(["counter", "log", "drop", "reject"])


def nft_filters_input(ruleset):
    """True when a base chain on the input hook denies by default: ``policy drop``, or a last rule
    that drops or rejects everything. A chain that only drops some packets (a fail2ban ban set, a
    lone ``ct state invalid drop``) is not a firewall. ``nft list ruleset`` text; the JSON form
    (``nft_json_filters_input``) is read first where the host's nft has it."""
    chain = None
    for raw in (ruleset or "").splitlines():
        line = raw.strip()
        if line.startswith("chain "):
            chain = {"input": False, "last": None}
        elif chain is not None:
            if re.search(r"\bhook input\b", line):
                chain["input"] = True
                if re.search(r"\bpolicy drop\b", line):
                    return True
            elif line == "}":
                if chain["input"] and chain["last"] is not None and _CATCH_ALL_TEXT.match(chain["last"]):
                    return True
                chain = None
            elif line:
                chain["last"] = line
    return False


def _nft_objects(text):
    """The list under "nftables" in ``nft -j`` output, or None when TEXT is not that JSON."""
    try:
        objects = json.loads(text)["nftables"]
    except (ValueError, TypeError, KeyError):
        return None
    return objects if isinstance(objects, list) else None


def nft_json_filters_input(text):
    """``nft -j list ruleset`` -> True/False as ``nft_filters_input``; None when it is not that JSON."""
    objects = _nft_objects(text)
    if objects is None:
        return None
    inputs = set()
    last_rule = {}
    for item in objects:
        if not isinstance(item, dict):
            continue
        chain = item.get("chain")
        rule = item.get("rule")
        if isinstance(chain, dict) and chain.get("hook") == "input" and chain.get("type", "filter") == "filter":
            if chain.get("policy") == "drop":
                return True
            inputs.add((chain.get("family"), chain.get("table"), chain.get("name")))
        elif isinstance(rule, dict):
            last_rule[(rule.get("family"), rule.get("table"), rule.get("chain"))] = rule.get("expr")
    for key in inputs:
        expr = last_rule.get(key)
        if isinstance(expr, list) and expr and all(isinstance(step, dict) and len(step) == 1 for step in expr):
            keys = [next(iter(step)) for step in expr]
            if keys[-1] in ("drop", "reject") and set(keys) <= _CATCH_ALL_EXPR:
                return True
    return False


# ---------------------------------------------------------------------------------------------
# Egress (issue #20): which uids an output-hook chain sends to a chain that drops.

_EGRESS_RANK = {"enforce": 2, "log": 1, "none": 0}
# Wider uid ranges are not expanded into per-uid entries (a runtime covered only by one is reported).
EGRESS_RANGE_MAX = 4096
_VERDICTS = frozenset(["accept", "drop", "reject", "jump", "goto", "return", "continue", "queue"])


def _steps(expr):
    """A rule's expressions as (key, value) pairs, or None when they are not nft's one-key objects."""
    if not isinstance(expr, list):
        return None
    steps = []
    for step in expr:
        if not isinstance(step, dict) or len(step) != 1:
            return None
        steps.append(next(iter(step.items())))
    return steps


def _uid_value(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _uid_ranges(right, named_sets):
    """The right side of a ``meta skuid`` match -> [(first, last)]; None when it cannot be read
    (a user name nft could not turn into a number, a set that is not in the ruleset)."""
    if isinstance(right, str) and right.startswith("@"):
        right = {"set": named_sets.get(right[1:])}
    if isinstance(right, dict) and "set" in right:
        items = right["set"]
        if not isinstance(items, list):
            return None
        ranges = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("elem"), dict):
                item = item["elem"].get("val")  # an element with a timeout or a comment
            found = _uid_ranges(item, named_sets)
            if found is None:
                return None
            ranges.extend(found)
        return ranges
    if isinstance(right, dict) and isinstance(right.get("range"), list) and len(right["range"]) == 2:
        first, last = (_uid_value(item) for item in right["range"])
        return [(first, last)] if first is not None and last is not None else None
    uid = _uid_value(right)
    return [(uid, uid)] if uid is not None else None


def _counter(steps, named_counters):
    for key, value in steps:
        if key == "counter":
            if isinstance(value, str):  # a named counter: its values are an object of the ruleset
                value = named_counters.get(value) or {}
            if isinstance(value, dict):
                return value.get("packets"), value.get("bytes")
    return None, None


def _chain_mode(steps):
    """Mode of a chain from its last rule: ``enforce`` (counter or log, then drop or reject: every
    packet that gets there is refused), ``log`` (only counted or logged: the packet goes on) or
    ``none`` (an empty chain, a last rule that matches, accepts or jumps on)."""
    keys = [key for key, _value in steps or []]
    if keys and keys[-1] in ("drop", "reject") and set(keys[:-1]) <= set(["counter", "log"]):
        return "enforce"
    if keys and set(keys) <= set(["counter", "log", "limit"]):
        return "log"
    return "none"


def _uid_rule(steps, named_sets):
    """An output-chain rule -> ("open",) for an unconditional accept (nothing after it is reached),
    ("uid", ranges, verdict, target) for a rule whose only match is ``meta skuid``, else None."""
    matches = [value for key, value in steps if key == "match"]
    verdicts = [(key, value) for key, value in steps if key in _VERDICTS]
    verdict, argument = verdicts[-1] if verdicts else (None, None)
    if not matches:
        return ("open",) if verdict == "accept" else None
    if len(matches) != 1 or not isinstance(matches[0], dict):
        return None
    match = matches[0]
    left = match.get("left")
    if match.get("op", "==") not in ("==", "in") or not isinstance(left, dict) or \
            (left.get("meta") or {}).get("key") != "skuid":
        return None
    ranges = _uid_ranges(match.get("right"), named_sets)
    if ranges is None:
        return None
    target = argument.get("target") if verdict in ("jump", "goto") and isinstance(argument, dict) else None
    return ("uid", ranges, verdict, target)


def nft_json_egress(text):
    """``nft -j list ruleset`` -> the egress each uid named in an output-hook chain gets; None when it
    is not that JSON.

    Returns ``{"output_chains": ["inet aihost output", ...], "uids": [{"uid", "family", "table",
    "chain", "mode", "packets", "bytes"}, ...]}``: ``chain`` is the chain whose last rule decides (the
    target of a ``jump`` or ``goto``, or the output chain itself for a direct ``drop``), ``mode`` is
    ``enforce``, ``log`` or ``none`` (see ``_chain_mode``; an explicit ``accept`` is ``none``), and
    ``packets``/``bytes`` are the counter of that last rule (the refused or logged attempts).

    Rules are walked in order as the kernel does: a jump to a chain that does not drop returns, so
    a later rule can still drop; a goto, an accept or a drop ends the walk. A packet passes every
    base chain on the hook and a drop in any is final, so across chains the strictest mode wins.
    Only rules whose one match is ``meta skuid`` count; ranges wider than EGRESS_RANGE_MAX uids
    are not expanded. A host-wide ``policy drop`` is not per-runtime control and is not read.
    """
    objects = _nft_objects(text)
    if objects is None:
        return None
    bases, rules, named_sets, named_counters = [], {}, {}, {}
    for item in objects:
        if not isinstance(item, dict):
            continue
        chain, rule, nft_set, counter = item.get("chain"), item.get("rule"), item.get("set"), item.get("counter")
        if isinstance(chain, dict) and chain.get("hook") == "output" and chain.get("type", "filter") == "filter" \
                and chain.get("family") in ("inet", "ip", "ip6"):
            bases.append((chain.get("family"), chain.get("table"), chain.get("name")))
        elif isinstance(rule, dict):
            steps = _steps(rule.get("expr"))
            if steps is not None:
                rules.setdefault((rule.get("family"), rule.get("table"), rule.get("chain")), []).append(steps)
        elif isinstance(nft_set, dict) and nft_set.get("type") == "uid":
            named_sets.setdefault((nft_set.get("family"), nft_set.get("table")), {})[nft_set.get("name")] = \
                nft_set.get("elem") or []
        elif isinstance(counter, dict) and counter.get("name"):
            named_counters.setdefault((counter.get("family"), counter.get("table")), {})[counter["name"]] = counter
    decided = {}
    for family, table, name in bases:
        walk = []
        for steps in rules.get((family, table, name), []):
            parsed = _uid_rule(steps, named_sets.get((family, table), {}))
            if parsed is None:
                continue
            if parsed[0] == "open":
                break
            walk.append((steps,) + parsed[1:])
        named = set()
        for _rule_steps, ranges, _verdict, _target in walk:
            for first, last in ranges:
                if last - first < EGRESS_RANGE_MAX:
                    named.update(range(first, last + 1))
        for uid in sorted(named):
            found = _walk_uid(uid, walk, rules, family, table, name, named_counters.get((family, table), {}))
            if found and (uid not in decided or _stricter(found, decided[uid])):
                decided[uid] = found
    return {"output_chains": ["%s %s %s" % base for base in bases],
            "uids": [dict(decided[uid], uid=uid) for uid in sorted(decided)]}


def _stricter(new, old):
    """True when NEW beats OLD: a stricter mode, or the same mode in an inet table (both families)."""
    rank_new, rank_old = _EGRESS_RANK[new["mode"]], _EGRESS_RANK[old["mode"]]
    return rank_new > rank_old or (rank_new == rank_old and new["family"] == "inet" and old["family"] != "inet")


def _walk_uid(uid, walk, rules, family, table, base, named_counters):
    """What one base chain does with a new connection of UID (see nft_json_egress); None: nothing."""
    best = None
    for steps, ranges, verdict, target in walk:
        if not any(first <= uid <= last for first, last in ranges):
            continue
        if verdict in ("jump", "goto") and target:
            target_rules = rules.get((family, table, target), [])
            mode = _chain_mode(target_rules[-1] if target_rules else [])
            packets, size = _counter(target_rules[-1] if target_rules else [], named_counters)
            chain = target
        elif verdict in ("accept", "drop", "reject"):
            mode = "enforce" if verdict != "accept" else "none"
            packets, size = _counter(steps, named_counters)
            chain = base
        else:
            continue  # only counted here: the walk goes on
        found = {"family": family, "table": table, "chain": chain, "mode": mode, "packets": packets, "bytes": size}
        if best is None or _EGRESS_RANK[mode] > _EGRESS_RANK[best["mode"]]:
            best = found
        if verdict != "jump" or mode == "enforce":
            break
    return best


def parse_apt_periodic(lines):
    """``APT::Periodic::Name "value";`` lines of ``apt-config dump`` -> {Name: value}."""
    periodic = {}
    for line in lines:
        match = re.match(r'^APT::Periodic::([A-Za-z-]+)\s+"([^"]*)";', line.strip())
        if match:
            periodic[match.group(1)] = match.group(2)
    return periodic


def parse_data_path_modes(lines):
    """``mode|owner|group|path`` lines (octal mode, as ``stat -c %a`` prints it) -> dictionaries."""
    paths = []
    for line in lines:
        fields = line.split("|", 3)
        if len(fields) == 4 and re.match(r"^[0-7]{1,4}$", fields[0]):
            paths.append({"mode": "%04o" % int(fields[0], 8), "owner": fields[1], "group": fields[2],
                          "path": fields[3]})
    return paths


def parse_packages(lines):
    """``manager|name|version`` lines -> dictionaries."""
    return [dict(zip(("manager", "name", "version"), line.split("|", 2)))
            for line in lines if line.count("|") == 2]


def summarize(sections):
    """Sections (name -> list of lines) -> the ``host_checks`` dictionary of the audit report."""
    def body(name):
        return sections.get(name) or []

    def first(name):
        lines = [item.strip() for item in body(name) if item.strip()]
        return lines[0] if lines else ""

    ruleset = "\n".join(body("nft_ruleset"))
    nft_json = "\n".join(body("nft_ruleset_json"))
    nft_filtering = nft_json_filters_input(nft_json)
    egress = None
    if "nft_ruleset_json" in sections:  # sections without it (older callers) did not look: nothing to judge
        parsed = nft_json_egress(nft_json)
        egress = dict(parsed or {"output_chains": [], "uids": []}, read=parsed is not None)
    if nft_filtering is None:  # an nft without JSON output
        nft_filtering = nft_filters_input(ruleset)
    firewalld = first("firewalld") == "active"
    ufw = any(line.strip().lower().startswith("status: active") for line in body("ufw"))
    iptables_policy_drop = any(re.match(r"^-P INPUT (DROP|REJECT)", line) for line in body("iptables"))
    input_rules = [line for line in body("iptables") if line.startswith("-A INPUT ")]
    catch_all = r'^-A INPUT (-m comment --comment ("[^"]*"|\S+) )?-j (DROP|REJECT)'
    iptables_rules = bool(input_rules) and re.match(catch_all, input_rules[-1]) is not None
    firewall_active = bool(nft_filtering or firewalld or ufw or iptables_policy_drop or iptables_rules)
    firewall_evidence = []
    if nft_filtering:
        firewall_evidence.append("an nftables input chain denies by default (policy drop, or a last rule that drops)")
    if firewalld:
        firewall_evidence.append("firewalld is active")
    if ufw:
        firewall_evidence.append("ufw is active")
    if iptables_policy_drop or iptables_rules:
        firewall_evidence.append("iptables INPUT denies by default")
    if not firewall_evidence:
        firewall_evidence.append("no nftables input chain that denies by default, firewalld inactive, ufw inactive "
                                 "or missing, no iptables INPUT default deny")

    periodic = parse_apt_periodic(body("apt_periodic"))
    unattended_installed = first("unattended_upgrades") == "present"
    apt_auto = (unattended_installed and periodic.get("Unattended-Upgrade", "0") not in ("0", "")
                and periodic.get("Enable", "1") != "0")
    dnf_timers = [line.split()[0] for line in body("dnf_timers") if line.strip().endswith(" enabled")]
    updates_evidence = []
    if apt_auto:
        updates_evidence.append('unattended-upgrades installed, APT::Periodic::Unattended-Upgrade "%s"'
                                % periodic.get("Unattended-Upgrade"))
    if dnf_timers:
        updates_evidence.append("enabled: %s" % ", ".join(dnf_timers))
    if not updates_evidence:
        updates_evidence.append("unattended-upgrades %s, APT::Periodic::Unattended-Upgrade %r, no enabled "
                                "dnf-automatic timer" % ("installed" if unattended_installed else "not installed",
                                                         periodic.get("Unattended-Upgrade")))

    return {
        "firewall": {"active": firewall_active, "evidence": "; ".join(firewall_evidence),
                     "nftables_tables": [line.strip() for line in ruleset.splitlines() if line.startswith("table ")],
                     "firewalld_active": firewalld, "ufw_active": ufw,
                     # read: the ruleset came as JSON (nft is there and answered); egress is judged from it only.
                     "egress": egress},
        "automatic_updates": {"configured": bool(apt_auto or dnf_timers), "evidence": "; ".join(updates_evidence),
                              "apt_periodic": periodic, "dnf_timers": dnf_timers},
        "data_path_modes": parse_data_path_modes(body("data_paths")),
        "packages": parse_packages(body("packages")),
    }


def keep_dpkg_line(line):
    """dpkg-query prints ``dpkg|name|`` for a package it knows but has not installed: drop those."""
    return "||" not in line and not line.endswith("|")


# ---------------------------------------------------------------------------------------------
# Reading the host (read-only)

def _name_of(lookup, ident):
    try:
        return lookup(ident)
    except (KeyError, OverflowError):
        return "UNKNOWN"  # what stat -c %U/%G prints for an id without a name


def stat_line(path, root="/"):
    """``mode|owner|group|path`` of ``path`` itself (not a symlink's target, like ``stat``), or None."""
    try:
        info = os.lstat(os.path.join(root, path.lstrip("/")))
    except (OSError, ValueError):
        return None
    return "%o|%s|%s|%s" % (stat_module.S_IMODE(info.st_mode),
                            _name_of(lambda uid: pwd.getpwuid(uid).pw_name, info.st_uid),
                            _name_of(lambda gid: grp.getgrgid(gid).gr_name, info.st_gid), path)


def _unit_file_exists(name, root="/"):
    return any(os.path.exists(os.path.join(root, directory.lstrip("/"), name)) for directory in UNIT_DIRS)


def _output_lines(module, argv):
    """Standard output of a read-only command as lines; a command that cannot start gives none."""
    try:
        _rc, out, _err = module.run_command(argv, check_rc=False)
    except Exception:  # pylint: disable=broad-except
        return []
    return (out or "").splitlines()


def read_sections(module, data_paths=(), packages=(), root="/"):
    """Read the host and return its raw sections (see the module docstring). Commands run as argv
    lists through ``module.run_command`` (the caller pins the locale); only tools that exist run.
    A unit that has no unit file cannot be active or enabled, so systemctl is asked only about
    units that have one. An empty ``packages`` list records no package."""
    sections = dict((name, []) for name in SECTIONS)
    nft = module.get_bin_path("nft")
    if nft:
        sections["nft_ruleset"] = _output_lines(module, [nft, "list", "ruleset"])
        sections["nft_ruleset_json"] = _output_lines(module, [nft, "-j", "list", "ruleset"])
    systemctl = module.get_bin_path("systemctl")
    if systemctl and _unit_file_exists("firewalld.service", root):
        sections["firewalld"] = _output_lines(module, [systemctl, "is-active", "firewalld"])
    ufw = module.get_bin_path("ufw")
    if ufw:
        sections["ufw"] = _output_lines(module, [ufw, "status"])
    apt_config = module.get_bin_path("apt-config")
    if apt_config:
        sections["apt_periodic"] = [line for line in _output_lines(module, [apt_config, "dump"])
                                    if line.startswith("APT::Periodic::")]
    if os.access(os.path.join(root, UNATTENDED_UPGRADE.lstrip("/")), os.X_OK):
        sections["unattended_upgrades"] = ["present"]
    if systemctl:
        for timer in DNF_TIMERS:
            if not _unit_file_exists(timer, root):
                continue
            try:
                rc, out, _err = module.run_command([systemctl, "is-enabled", timer], check_rc=False)
            except Exception:  # pylint: disable=broad-except
                continue
            if rc == 0:
                sections["dnf_timers"].append("%s %s" % (timer, (out or "").strip()))
    for path in data_paths or ():
        line = stat_line(path, root) if path else None
        if line is not None:
            sections["data_paths"].append(line)
    packages = [name for name in packages or () if name]
    dpkg_query = module.get_bin_path("dpkg-query") if packages else None
    rpm = module.get_bin_path("rpm") if packages and not dpkg_query else None
    if dpkg_query:
        lines = _output_lines(module, [dpkg_query, "-W", "-f=dpkg|${Package}|${Version}\\n"] + packages)
        sections["packages"] = [line for line in lines if keep_dpkg_line(line)]
    elif rpm:
        lines = _output_lines(module, [rpm, "-q", "--qf", "rpm|%{NAME}|%{VERSION}-%{RELEASE}\\n"] + packages)
        sections["packages"] = [line for line in lines if line.startswith("rpm|")]
    return sections


def collect(module, data_paths=(), packages=(), root="/"):
    """The ``host_checks`` dictionary of this host."""
    return summarize(read_sections(module, data_paths, packages, root))


# ---------------------------------------------------------------------------------------------
# The model_integrity role's results: findings.json (written by each role run, after it pinned the
# stores) and last-verify.json (written by each run of the aihost-model-verify timer).

MODEL_INTEGRITY_FILES = ("findings.json", "last-verify.json")
# A store with thousands of bad files still gives a readable report: the rest are counted.
MODEL_FILES_KEPT = 50


def _drift_counts(drift):
    drift = drift or {}
    return dict((key, len(drift.get(key) or [])) for key in ("added", "removed", "changed", "symlinks_changed"))


def _bad_files(findings):
    """Files whose verdict is not clean: path, verdict, format, severity, sha256 and the first finding."""
    out = []
    for item in findings or []:
        if item.get("verdict") in (None, "clean"):
            continue
        first = (item.get("findings") or [{}])[0]
        out.append({"path": item.get("path"), "verdict": item.get("verdict"), "format": item.get("format"),
                    "severity": item.get("severity"), "sha256": item.get("sha256"),
                    "detail": first.get("detail") or first.get("kind") or ""})
    return out


def _iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if seconds else None


def summarize_model_integrity(documents, mtimes):
    """The ``model_integrity`` host check from the parsed files (name -> JSON or an error string).

    findings.json (a role run) lists every file that is not clean when the role pinned the stores.
    last-verify.json (the timer) lists the drift since that pin and the verdicts of the files added
    or changed since, not the files the manifest already held. So the current bad files are the
    pinned ones, less those the verify found removed or changed, plus the verify's. A verify older
    than the last role run is left out: that run pinned the stores again, settling its drift.
    Returns None when neither file exists (the role never ran on this host).
    """
    present = [name for name in MODEL_INTEGRITY_FILES if name in documents]
    if not present:
        return None
    errors = ["%s: %s" % (name, documents[name]) for name in present if not isinstance(documents[name], dict)]
    role = documents.get("findings.json") if isinstance(documents.get("findings.json"), dict) else None
    verify = documents.get("last-verify.json") if isinstance(documents.get("last-verify.json"), dict) else None
    if role is not None and verify is not None and \
            (mtimes.get("last-verify.json") or 0) < (mtimes.get("findings.json") or 0):
        verify = None
    stores = []
    by_path = {}
    for store in (role or {}).get("stores") or []:
        entry = {"path": store.get("path"), "files": _bad_files(store.get("findings"))}
        by_path[entry["path"]] = entry
        stores.append(entry)
    for store in (verify or {}).get("stores") or []:
        entry = by_path.get(store.get("path"))
        if entry is None:
            entry = by_path[store.get("path")] = {"path": store.get("path"), "files": []}
            stores.append(entry)
        drift = store.get("drift") or {}
        since_pin = set(drift.get("removed") or []) | set(item.get("path") for item in drift.get("changed") or [])
        signature = store.get("signature") or {}
        entry["files"] = [item for item in entry["files"] if item["path"] not in since_pin] + _bad_files(store.get("findings"))
        entry.update(ok=bool(store.get("ok")), error=store.get("error"), drift=_drift_counts(drift),
                     signature_valid=signature.get("valid"), signature_detail=signature.get("detail"))
    rank = {"malicious": 0, "suspicious": 1}
    for entry in stores:
        entry["files"].sort(key=lambda item: (rank.get(item["verdict"], 2), str(item["path"])))
        entry["files_not_listed"] = max(0, len(entry["files"]) - MODEL_FILES_KEPT)
        entry["files"] = entry["files"][:MODEL_FILES_KEPT]
    return {"pinned_at": _iso(mtimes.get("findings.json")) if role is not None else None,
            "verified_at": (verify.get("finished") or _iso(mtimes.get("last-verify.json"))) if verify is not None else None,
            "stores": stores, "errors": errors}


def _read_json(path):
    """(document, why it cannot be used, mtime): (None, None, None) when the file does not exist."""
    try:
        with open(path, "rb") as handle:
            mtime = os.fstat(handle.fileno()).st_mtime
            raw = handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == errno.ENOENT:
            return None, None, None
        return None, "unreadable (%s)" % (exc.strerror or exc), None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        return None, "not valid JSON (%s)" % exc, mtime
    return (data, None, mtime) if isinstance(data, dict) else (None, "not a JSON object", mtime)


def dropin_drift(directives, dropin_text):
    """The role's directives (``Key=Value``) that are no longer lines of its drop-in."""
    lines = set(line.strip() for line in dropin_text.splitlines())
    return [directive for directive in directives if directive not in lines]


REFUSED_KINDS = ("allowed_root", "outside", "system", "program", "not_pinned", "overlap")


def _text(value, limit=512):
    """A string from the state file, capped (it may quote what a runtime said about itself)."""
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[:limit] + "..."


def refused_entries(document):
    """The ``refused`` list of service_users.json, each entry reduced to known fields and types."""
    entries = []
    for item in (document or {}).get("refused") or []:
        if not isinstance(item, dict) or not _text(item.get("runtime")) or not _text(item.get("path")):
            continue
        entries.append({
            "runtime": _text(item["runtime"], 64), "path": _text(item["path"]),
            "units": [_text(u, 256) for u in item.get("units") or [] if _text(u, 256)][:8],
            "kind": item.get("kind") if item.get("kind") in REFUSED_KINDS else "unknown",
            "reason": _text(item.get("reason"), 1024) or "",
            "variable": _text(item.get("variable"), 128) or "aihost_service_users_data_dirs.%s" % _text(item["runtime"], 64),
            "adopted": item.get("adopted") is not False,
        })
    return entries


def read_service_users(state_file, root="/"):
    """The service_users role's managed units, each checked against its drop-in as it is now.

    The role records every unit it sandboxed (service_users.json): the drop-in's path and the
    directives it wrote. A drop-in that is gone or no longer carries them means the sandbox was
    undone behind the role's back (local changes belong in a later drop-in, which this does not
    read). A unit whose unit file is gone (the runtime was removed) is marked, not judged.
    ``refused``: the data directories the role did not hand over and the runtimes it left as they
    are, as it recorded them. Returns None when the role never ran on this host.
    """
    document, error, _mtime = _read_json(os.path.join(root, state_file.lstrip("/")))
    if document is None:
        return None if error is None else {"units": [], "refused": [], "errors": ["%s: %s" % (state_file, error)]}
    units = []
    for name in sorted(document.get("units") or {}):
        record = document["units"][name] or {}
        dropin = record.get("dropin") or "/etc/systemd/system/%s.d/aihost-sandbox.conf" % name
        entry = {"unit": name, "runtime": record.get("runtime"), "user": record.get("user"), "dropin": dropin,
                 "unit_present": _unit_file_exists(name, root), "dropin_present": False, "missing_directives": [],
                 "score_after": record.get("score_after"), "meets_target": record.get("meets_target")}
        try:
            with open(os.path.join(root, dropin.lstrip("/")), "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except (IOError, OSError):
            text = None
        if text is not None:
            entry["dropin_present"] = True
            entry["missing_directives"] = dropin_drift(record.get("directives") or [], text)
        units.append(entry)
    return {"units": units, "refused": refused_entries(document), "errors": []}


def read_model_integrity(state_dir, root="/"):
    """Read findings.json and last-verify.json from ``state_dir`` and summarise them (None: no files)."""
    documents, mtimes = {}, {}
    for name in MODEL_INTEGRITY_FILES:
        document, error, mtime = _read_json(os.path.join(root, state_dir.lstrip("/"), name))
        if document is None and error is None:
            continue
        documents[name] = document if error is None else error
        mtimes[name] = mtime
    return summarize_model_integrity(documents, mtimes)


# ---------------------------------------------------------------------------------------------
# The report header: host name, FQDN, OS, kernel, architecture. Read directly (os-release, uname)
# rather than through ansible.module_utils.facts, whose package import loads every fact collector
# (about 0.2 s of CPU per host on a small VM, a large share of a one-module audit).

# os-release ID -> the distribution name ansible.builtin.setup reports, for the common families.
DISTRIBUTION_NAMES = {
    "debian": "Debian", "ubuntu": "Ubuntu", "raspbian": "Debian", "rhel": "RedHat", "centos": "CentOS",
    "rocky": "Rocky", "almalinux": "AlmaLinux", "fedora": "Fedora", "ol": "OracleLinux", "amzn": "Amazon",
    "sles": "SLES", "sles_sap": "SLES_SAP", "opensuse-leap": "openSUSE Leap", "opensuse-tumbleweed": "openSUSE Tumbleweed",
    "arch": "Archlinux", "alpine": "Alpine", "linuxmint": "Linux Mint", "pop": "Pop!_OS",
}


def parse_os_release(text):
    """``KEY=value`` lines of /etc/os-release (values optionally quoted) -> dictionary."""
    values = {}
    for line in (text or "").splitlines():
        match = re.match(r"^([A-Z0-9_]+)=(.*)$", line.strip())
        if not match:
            continue
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        values[match.group(1)] = value
    return values


def os_words(os_release, debian_version=None):
    """``"Debian 12.12"``-style OS string, or None.

    The name is the one ansible.builtin.setup uses for the common distributions (else os-release
    NAME); the version is VERSION_ID, except on Debian, where /etc/debian_version carries the point
    release (12.12) that setup reports too.
    """
    distribution_id = (os_release.get("ID") or "").lower()
    name = DISTRIBUTION_NAMES.get(distribution_id) or os_release.get("NAME") or ""
    version = os_release.get("VERSION_ID") or ""
    if name == "Debian" and debian_version:
        match = re.search(r"(\d+)\.(\d+)", debian_version.strip())
        if match:
            version = debian_version.strip()
    return " ".join(word for word in (name, version) if word) or None


def architecture(machine):
    """uname's machine as setup reports it (i386 for every i?86)."""
    return "i386" if re.match(r"^i[3-6]86$", machine or "") else (machine or None)


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def read_header(root="/"):
    """Host name, FQDN, OS, kernel and architecture of the host the module runs on."""
    os_release = _read_text(os.path.join(root, "etc/os-release")) or _read_text(os.path.join(root, "usr/lib/os-release"))
    node = platform.node()
    return {
        "hostname": node.split(".")[0] or None,
        "fqdn": socket.getfqdn() or None,
        "os": os_words(parse_os_release(os_release), _read_text(os.path.join(root, "etc/debian_version"))),
        "kernel": platform.release() or None,
        "architecture": architecture(platform.machine()),
    }
