# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The updates role's input checks and runtime resolution, as tested Python (module updates_plan).

Three steps, each a pure function over plain data so the unit tests need no host:

* ``input_errors``: what an argument spec cannot express (HH:MM windows, unique runtime names, digests,
  free text that goes into unit and APT files).
* ``systemd_checks``: the OnCalendar expressions and time spans that ``systemd-analyze`` must accept.
* ``resolve`` and ``runtime_errors``: each ``aihost_updates_runtimes`` entry completed from the runtime
  facts (unit, venv, package, container, port) and the role's defaults, and what still stops an update.

Resolved entries can hold credentials (an index URL with user:password in ``pip_extra_args``, a token in
a download URL): no message here quotes them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.aihost.hardening.plugins.module_utils import text_rules

HEALTH_KEYS = ("host", "port", "url", "expect", "timeout")
# \Z, not $: Python's $ also matches before a trailing newline, which would start a new line in a unit.
RUNTIME_NAME = r"^[a-z][a-z0-9_]{0,62}\Z"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]\Z"
SHA256 = r"^[0-9a-fA-F]{64}\Z"
SITE_PACKAGES = re.compile(r"^/.+/lib/python[0-9.]+/site-packages$")
VENV_PYTHON = re.compile(r"^/.+/bin/python[0-9.]*$")


def _label(index_or_name):
    return "aihost_updates_runtimes[%s]" % index_or_name


def _shown(value):
    """A value as the messages show it: its text, JSON-quoted (a newline shows as \\n)."""
    return json.dumps(str(value))


def _matches(pattern, value):
    return re.match(pattern, str(value)) is not None


def input_errors(settings, runtimes):
    """Refusals of the role's inputs that need no host, in the order of the variables.

    ``settings``: reboot_window_start, reboot_window_end, reboot_max_defer_days, environment, and
    ``text_checks``: a list of {var, value or values, rule} for free text (module_utils/text_rules.py).
    """
    errors = []
    for var in ("reboot_window_start", "reboot_window_end"):
        value = settings.get(var)
        if not _matches(HHMM, value):
            errors.append("aihost_updates_%s=%s is not HH:MM" % (var, _shown(value)))
    max_defer = settings.get("reboot_max_defer_days")
    try:
        negative = int(max_defer) < 0
    except (TypeError, ValueError):
        negative = True
    if negative:
        errors.append("aihost_updates_reboot_max_defer_days=%s is not a number of days >= 0 (0: no cap)" % max_defer)
    for key in settings.get("environment") or {}:
        if not _matches(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            errors.append("aihost_updates_environment: %s is not an environment variable name" % key)

    names = [entry.get("name") for entry in runtimes]
    for index, entry in enumerate(runtimes):
        label = _label(index)
        name = entry.get("name")
        if not _matches(RUNTIME_NAME, name if name is not None else ""):
            errors.append("%s.name=%s is not lower_snake (a-z, 0-9, _)" % (label, json.dumps(name)))
        elif names.count(name) > 1:
            errors.append("%s.name=%s is listed twice" % (label, name))
        sha256 = entry.get("sha256")
        if sha256 and not _matches(SHA256, sha256):
            errors.append("%s.sha256=%s is not a SHA-256 hex digest" % (label, sha256))
        if sha256 and not entry.get("version"):
            errors.append("%s.sha256 pins one download: set %s.version too" % (label, label))
        if entry.get("version") and entry.get("constraint"):
            errors.append("%s: set version or constraint, not both" % label)
        health = entry.get("health") or {}
        port = health.get("port")
        if port is not None:
            try:
                bad_port = not 1 <= int(port) <= 65535
            except (TypeError, ValueError):
                bad_port = True
            if bad_port:
                errors.append("%s.health.port=%s is not 1-65535" % (label, port))
        for key in health:
            if key not in HEALTH_KEYS:
                errors.append("%s.health.%s is not a health key" % (label, key))

    checks = list(settings.get("text_checks") or [])
    for index, entry in enumerate(runtimes):
        for key in ("on_calendar", "randomized_delay"):
            if entry.get(key):
                checks.append(["%s.%s" % (_label(entry.get("name", index)), key), entry[key], "systemd_time"])
    return errors + text_rules.text_errors(checks)


def systemd_checks(settings, runtimes):
    """(calendars, timespans): the [var, value] pairs that `systemd-analyze calendar|timespan` must accept.

    Only what the enabled parts use: the OS timers when os_enabled, the reboot check when
    reboot_enabled, the runtime defaults and each entry's own values when any runtime is managed.
    """
    calendars, timespans = [], []
    if settings.get("os_enabled"):
        calendars += [["aihost_updates_os_refresh_on_calendar", settings["os_refresh_on_calendar"]],
                      ["aihost_updates_os_upgrade_on_calendar", settings["os_upgrade_on_calendar"]]]
        timespans.append(["aihost_updates_os_randomized_delay", settings["os_randomized_delay"]])
    if settings.get("reboot_enabled"):
        calendars.append(["aihost_updates_reboot_check_on_calendar", settings["reboot_check_on_calendar"]])
    if runtimes:
        calendars.append(["aihost_updates_runtime_on_calendar", settings["runtime_on_calendar"]])
        timespans.append(["aihost_updates_runtime_randomized_delay", settings["runtime_randomized_delay"]])
        for entry in runtimes:
            if entry.get("on_calendar"):
                calendars.append(["%s.on_calendar" % _label(entry["name"]), entry["on_calendar"]])
            if entry.get("randomized_delay"):
                timespans.append(["%s.randomized_delay" % _label(entry["name"]), entry["randomized_delay"]])
    return calendars, timespans


def systemd_errors(checks, analyze):
    """Ask `systemd-analyze` once per kind; only when that fails, once per value, to name the variable.

    ``checks``: {"calendar": [[var, value]], "timespan": [...]}; ``analyze(kind, values)`` returns
    (rc, stdout, stderr).
    """
    errors = []
    for kind in ("calendar", "timespan"):
        pairs = checks.get(kind) or []
        if not pairs:
            continue
        rc, _out, err = analyze(kind, [str(value) for _var, value in pairs])
        if rc == 0:
            continue
        results = []
        for var, value in pairs:
            one_rc, one_out, one_err = analyze(kind, [str(value)])
            results.append({"rc": one_rc, "stdout": one_out, "stderr": one_err, "item": {"var": var, "value": value}})
        errors += text_rules.analyze_errors(results) or ["systemd-analyze rejected the input: %s" % (err or "").strip()]
    return errors


def _detected_instance(entry, detected):
    """The detected instance an entry manages: the one running entry.unit, else the first of its name."""
    instances = [inst for inst in detected if inst.get("name") == entry.get("name")]
    wanted_unit = entry.get("unit") or ""
    matching = [inst for inst in instances
                if wanted_unit in [unit.get("name") for unit in inst.get("units") or []]]
    return (matching + instances + [{}])[0]


def _venv_candidates(instance):
    """Prefixes of the pip package's site-packages, then of every <prefix>/bin/python* the processes run."""
    venvs = []
    for package in instance.get("packages") or []:
        location = package.get("location") or ""
        if package.get("manager") == "pip" and SITE_PACKAGES.match(location):
            venvs.append(re.sub(r"/lib/python[0-9.]+/site-packages$", "", location))
    for process in instance.get("processes") or []:
        for arg in process.get("cmdline") or []:
            if isinstance(arg, str) and VENV_PYTHON.match(arg):
                venvs.append(re.sub(r"/bin/python[0-9.]*$", "", arg))
    return list(dict.fromkeys(venvs))


def _health_host(listener):
    scope = listener.get("scope") or ""
    if scope in ("specific", "loopback"):
        return listener.get("address")
    return "::1" if listener.get("family", "ipv4") == "ipv6" else "127.0.0.1"


def _kind(entry, version_source, containers, known):
    kind = entry.get("kind") or "auto"
    if kind != "auto":
        return kind
    if entry.get("venv") or entry.get("package") or version_source.startswith("pip:"):
        return "pip"
    if entry.get("container") or containers:
        return "container"
    if entry.get("binary") or entry.get("url") or known:
        return "binary"
    return "unknown"


def resolve_entry(entry, detected, defaults, binary_sources):
    """One complete updater configuration: explicit keys, then the facts, then the defaults."""
    instance = _detected_instance(entry, detected)
    version_source = instance.get("version_source") or ""
    known = binary_sources.get(entry.get("name")) or {}
    processes = instance.get("processes") or []
    containers = instance.get("containers") or []
    kind = _kind(entry, version_source, containers, known)
    units = ([unit.get("name") for unit in instance.get("units") or []]
             + [process.get("unit") for process in processes if process.get("unit")])
    listeners = [item for item in instance.get("listen") or [] if item.get("protocol") == "tcp"]
    listener = ([item for item in listeners if item.get("scope") == "loopback"] + listeners + [{}])[0]
    health = entry.get("health") or {}
    binary = entry.get("binary") or ((instance.get("binaries") or []) + [known.get("binary") or ""])[0]
    if "version_command" in known:
        default_version_command = known["version_command"]
    else:
        default_version_command = [binary, "--version"] if binary else []
    return {
        "name": entry.get("name"),
        "kind": kind,
        "policy": entry.get("policy") or defaults["policy"],
        "unit": entry.get("unit") or (units + [None])[0],
        "on_calendar": entry.get("on_calendar") or defaults["on_calendar"],
        "randomized_delay": entry.get("randomized_delay") or defaults["randomized_delay"],
        "detected": bool(instance),
        "venv_candidates": _venv_candidates(instance),
        "pip": {
            "venv": entry.get("venv") or "",
            "package": entry.get("package") or (version_source[4:] if version_source.startswith("pip:") else ""),
            "version": (entry.get("version") or None) if kind == "pip" else None,
            "constraint": entry.get("constraint") or None,
            "extra_args": entry.get("pip_extra_args") or [],
        },
        "container": {
            "name": entry.get("container") or ([item.get("name") for item in containers] + [""])[0],
            "image": entry.get("image") or None,
            "docker_socket": entry.get("docker_socket") or "/var/run/docker.sock",
        },
        "binary": {
            "path": binary,
            "version_command": entry.get("version_command") or default_version_command,
            "latest_url": entry.get("latest_url") or known.get("latest_url"),
            "url": entry.get("url") or known.get("url"),
            "sha256": entry.get("sha256") or None,
            "sha256_url": entry.get("sha256_url") or known.get("sha256_url"),
            "version": (entry.get("version") or None) if kind == "binary" else None,
            "archive": entry.get("archive") or "auto",
            "install_prefix": entry.get("install_prefix") or known.get("install_prefix"),
            "archive_members": entry.get("archive_members") or known.get("archive_members", []),
        },
        "health": {
            "host": health.get("host") or _health_host(listener),
            "port": health.get("port") or listener.get("port"),
            "url": health.get("url") or None,
            "expect": health.get("expect") or None,
            "timeout": health.get("timeout") or defaults["health_timeout"],
        },
    }


def resolve(runtimes, detected, defaults, binary_sources, path_exists):
    """Every entry resolved; a pip entry without venv gets the first candidate with a pyvenv.cfg.

    ``path_exists(path)`` answers for the target (an lstat: nothing is followed or run).
    """
    resolved = []
    for entry in runtimes:
        item = resolve_entry(entry, detected, defaults, binary_sources)
        if item["kind"] == "pip" and not item["pip"]["venv"]:
            found = [venv for venv in item["venv_candidates"] if path_exists(venv + "/pyvenv.cfg")]
            if found:
                item["pip"]["venv"] = found[0]
        resolved.append(item)
    return resolved


def runtime_errors(resolved, path_exists):
    """What stops the role from updating a resolved runtime, one sentence each, naming the key to set."""
    errors = []
    for item in resolved:
        label = _label(item["name"])
        kind = item["kind"]
        if kind == "unknown":
            errors.append("%s: %s the role cannot tell how it is installed: set kind and its keys "
                          "(venv/package, container, binary)"
                          % (label, "detected, but" if item["detected"] else "not detected and"))
        elif kind == "pip":
            venv = item["pip"]["venv"]
            if not venv:
                errors.append("%s.venv: no virtual environment found in the runtime's command line (%s): set venv"
                              % (label, ", ".join(item["venv_candidates"]) or "no process"))
            elif not path_exists(venv + "/bin/python"):
                errors.append("%s.venv=%s has no bin/python" % (label, venv))
            if not item["pip"]["package"]:
                errors.append("%s.package: not known from the facts (version_source): set package" % label)
        elif kind == "container" and not item["container"]["name"]:
            errors.append("%s.container: no container found: set container" % label)
        elif kind == "binary":
            binary = item["binary"]
            if not binary["path"]:
                errors.append("%s.binary: set the path of the installed executable" % label)
            if item["policy"] == "apply" and not binary["url"]:
                errors.append("%s.url: policy apply needs a download URL" % label)
            if item["policy"] == "apply" and not (binary["sha256"] or binary["sha256_url"]):
                errors.append("%s: policy apply needs sha256 or sha256_url (unverified downloads are refused)" % label)
            if not (binary["version"] or binary["latest_url"]):
                errors.append("%s: set version or latest_url so the updater knows the target release" % label)
    return errors
