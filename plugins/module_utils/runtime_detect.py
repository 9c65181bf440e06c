# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Combine processes, sockets, systemd units, containers, packages and binaries into the
``aihost_runtime`` facts, driven only by the runtime catalog (no per-runtime code).

Everything here works on plain data (the output of ``procfs`` and ``container_api`` readers) plus
small readers that take a ``root`` prefix, so unit tests run against fixture trees.

Secrets: command lines and environments are read raw (``procfs``), and everything derived here
(matching, auth, data paths, risky flags) reads the raw values. What is returned passes through
``redact`` on the way out (command lines, ExecStart argv, flag and variable values, auth evidence),
so the facts, and every report, log and diff made of them, never carry an API key, token or URL
password. This is the one place where that happens.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

from ansible_collections.aihost.hardening.plugins.module_utils import procfs
from ansible_collections.aihost.hardening.plugins.module_utils import redact
from ansible_collections.aihost.hardening.plugins.module_utils import systemd_unit
from ansible_collections.aihost.hardening.plugins.module_utils.container_api import (
    image_tag, normalise_image)
# The one dpkg status parser of the collection.
from ansible_collections.aihost.hardening.plugins.module_utils.packages import parse_dpkg_status
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import (
    SCHEMA_VERSION, catalog_summary, match_order)

DETECTION_ORDER = ("process", "unit", "socket", "container", "package", "binary")
MAX_PROCESSES_PER_RUNTIME = 64

_INTERPRETER = re.compile(r"^(python[0-9.]*|pypy[0-9.]*|node|nodejs|bash|sh|dash|ruby|perl|java|uv|uvx)$")
_PYTHON_OPTIONS_WITH_VALUE = ("-X", "-W", "-Q")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")
_VERSION_DIR = re.compile(r"^(?P<name>.+?)-(?P<version>[0-9][^-]*?)\.(dist-info|egg-info)$")

# Every *.service in ADMIN_UNIT_DIRS is checked against the catalog's process rules; elsewhere only
# the catalog's unit names are read.
UNIT_DIRS = systemd_unit.UNIT_DIRS
ADMIN_UNIT_DIRS = systemd_unit.ADMIN_UNIT_DIRS
BIN_DIRS = ("usr/local/bin", "usr/bin", "bin", "usr/local/sbin", "usr/sbin", "opt/*/bin")
SITE_GLOBS = ("usr/lib/python3/dist-packages", "usr/lib/python3*/site-packages",
              "usr/local/lib/python3*/dist-packages", "usr/local/lib/python3*/site-packages",
              "opt/*/lib/python3*/site-packages", "opt/*/venv/lib/python3*/site-packages",
              "opt/*/.venv/lib/python3*/site-packages")


# --------------------------------------------------------------------------------------------
# Command lines
# --------------------------------------------------------------------------------------------

def program_names(cmdline, comm=None):
    """Names a process goes by: argv[0]'s basename, and for interpreters the script they run
    (``python3 /opt/x/bin/jupyter-lab`` -> jupyter-lab) or the module of ``-m`` (and its top
    package)."""
    names = []
    if comm:
        names.append(comm)
    if not cmdline:
        return names
    first = os.path.basename(cmdline[0])
    names.append(first)
    if not _INTERPRETER.match(first):
        return names
    args = cmdline[1:]
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-m" and index + 1 < len(args):
            module = args[index + 1]
            names.extend([module, module.split(".")[0]])
            break
        if arg.startswith("-m") and len(arg) > 2:
            names.extend([arg[2:], arg[2:].split(".")[0]])
            break
        if arg in ("-c", "-jar"):
            break
        if arg in _PYTHON_OPTIONS_WITH_VALUE or arg in ("-cp", "-classpath"):
            index += 2
            continue
        if arg.startswith("-"):
            index += 1
            continue
        script = os.path.basename(arg)
        names.append(script)
        if script.endswith(".py"):
            names.append(script[:-3])
        break
    return names


def find_flag(cmdline, flag):
    """Look for ``flag`` in argv. Returns ``(present, value)``; value is None for a bare flag.

    Accepts ``--flag value`` and ``--flag=value``; a following argument that starts with ``-`` is
    the next flag, not a value (so ``--listen --port 1`` is a bare ``--listen``).
    """
    prefix = flag + "="
    for index, arg in enumerate(cmdline):
        if arg == flag:
            if index + 1 < len(cmdline) and not cmdline[index + 1].startswith("-"):
                return True, cmdline[index + 1]
            return True, None
        if arg.startswith(prefix):
            return True, arg[len(prefix):]
    return False, None


def _strip_quotes(value):
    if value is None:
        return None
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    return value


def _alternative_holds(alternative, comm, names, joined, cwd_of):
    if "comm" in alternative and comm not in [name[:15] for name in alternative["comm"]]:
        return False
    if "argv" in alternative and not set(alternative["argv"]) & set(names):
        return False
    if "cmdline" in alternative and not re.search(alternative["cmdline"], joined):
        return False
    if "cwd" in alternative and not re.search(alternative["cwd"], cwd_of() or ""):
        return False
    return True


def match_process(process, entry, load_details=None):
    """True when one of the entry's process alternatives matches (all its conditions hold).
    ``load_details`` is called before the working directory is needed, if it is."""
    alternatives = entry.get("match", {}).get("processes") or []
    if not alternatives:
        return False
    cmdline = process.get("cmdline") or []
    names = program_names(cmdline)
    joined = " ".join(cmdline)

    def cwd_of():
        if load_details is not None:
            load_details(process)
        return process.get("cwd")

    for alternative in alternatives:
        if _alternative_holds(alternative, process.get("name") or "", names, joined, cwd_of):
            return True
    return False


class ProcessMatcher(object):
    """The catalog's process rules, indexed once: alternatives with a comm or argv condition are
    looked up by name; only the regex-only ones are tried against every process."""

    def __init__(self, catalog):
        self.catalog = catalog
        self.order = match_order(catalog)
        self.by_token = {}
        self.regex_only = []
        plain, flagged = [], []
        for rank, name in enumerate(self.order):
            for alternative in catalog[name].get("match", {}).get("processes") or []:
                tokens = [("comm", value[:15]) for value in alternative.get("comm", [])]
                tokens += [("argv", value) for value in alternative.get("argv", [])]
                if tokens:
                    for token in tokens:
                        self.by_token.setdefault(token, []).append((rank, name, alternative))
                else:
                    self.regex_only.append((rank, name, alternative))
                    pattern = alternative.get("cmdline", "")
                    (flagged if pattern.startswith("(?") and not pattern.startswith("(?:") else plain).append(pattern)
        # One combined search tells whether any regex-only alternative can match at all: most
        # processes (shells, daemons, sleepers) are dismissed with two searches instead of twenty.
        self.prefilters = []
        insensitive = [pattern[4:] for pattern in flagged if pattern.startswith("(?i)")]
        for patterns, flags in ((plain, 0), (insensitive, re.I)):
            # Backreferences count groups, so patterns that use them are not combined.
            alone = [pattern for pattern in patterns if _BACKREFERENCE.search(pattern)]
            self.prefilters.extend(re.compile(pattern, flags) for pattern in alone)
            patterns = [pattern for pattern in patterns if pattern not in alone]
            if not patterns:
                continue
            try:
                self.prefilters.append(re.compile("|".join("(?:%s)" % pattern for pattern in patterns), flags))
            except re.error:
                # Patterns that cannot be combined are tested one by one.
                self.prefilters.extend(re.compile(pattern, flags) for pattern in patterns)
        for pattern in flagged:
            if not pattern.startswith("(?i)"):
                self.prefilters.append(re.compile(pattern))

    def match(self, process, load_details=None):
        """Catalog name of the first entry (in matching order) whose rules the process meets."""
        cmdline = process.get("cmdline") or []
        comm = process.get("name") or ""
        names = program_names(cmdline)
        joined = " ".join(cmdline)
        candidates = list(self.by_token.get(("comm", comm), []))
        for value in names:
            candidates.extend(self.by_token.get(("argv", value), []))
        if any(prefilter.search(joined) for prefilter in self.prefilters):
            candidates.extend(self.regex_only)
        if not candidates:
            return None
        candidates.sort(key=lambda item: item[0])

        def cwd_of():
            if load_details is not None:
                load_details(process)
            return process.get("cwd")

        for _rank, name, alternative in candidates:
            if _alternative_holds(alternative, comm, names, joined, cwd_of):
                return name
        return None


def is_interpreter(process):
    cmdline = process.get("cmdline") or []
    return bool(cmdline) and bool(_INTERPRETER.match(os.path.basename(cmdline[0])))


# --------------------------------------------------------------------------------------------
# Assigning processes to runtimes
# --------------------------------------------------------------------------------------------

def assign_processes(processes, catalog, listeners_by_pid=None, environ_reader=None, load_details=None):
    """Return ``{pid: (runtime name, how)}`` with how in process|descendant|env|socket.

    Strong matches (process rules, specific entries before generic ones) come first; then every
    unmatched descendant of a matched process joins its ancestor's runtime; then the weak rules
    may claim what is left, but only interpreter processes that hold sockets: an env marker
    (e.g. GRADIO_SERVER_NAME) or, for entries that allow it, one of the entry's default ports.
    """
    matcher = ProcessMatcher(catalog)
    assigned = {}
    for pid, process in processes.items():
        if not process.get("cmdline"):
            continue  # kernel threads and zombies
        name = matcher.match(process, load_details)
        if name:
            assigned[pid] = (name, "process")
    _inherit(processes, assigned)
    listeners_by_pid = listeners_by_pid or {}
    weak = [(name, catalog[name].get("match", {})) for name in matcher.order
            if catalog[name].get("match", {}).get("env") or catalog[name].get("match", {}).get("port_fallback")]
    for pid in sorted(processes):
        process = processes[pid]
        # Weak evidence only for interpreters holding sockets (a server, not every Python script).
        if pid in assigned or not (pid in listeners_by_pid or process.get("sockets")) or not is_interpreter(process):
            continue
        environ = None
        for name, match in weak:
            if match.get("env") and environ_reader is not None:
                if environ is None:
                    environ = environ_reader(pid) or {}
                if any(key in environ for key in match["env"]):
                    assigned[pid] = (name, "env")
                    break
            ports = set(catalog[name].get("default_ports") or [])
            if match.get("port_fallback") and ports & set(listeners_by_pid.get(pid, ())):
                assigned[pid] = (name, "socket")
                break
    _inherit(processes, assigned)
    return assigned


def _inherit(processes, assigned):
    """Give unassigned descendants of assigned processes their ancestor's runtime."""
    cache = {}

    def ancestor_runtime(pid, depth=0):
        if pid in assigned:
            return assigned[pid][0]
        if pid in cache:
            return cache[pid]
        process = processes.get(pid)
        result = None
        if process is not None and depth < 64:
            ppid = process.get("ppid")
            if ppid and ppid != pid and ppid in processes:
                result = ancestor_runtime(ppid, depth + 1)
        cache[pid] = result
        return result

    for pid in list(processes):
        if pid in assigned:
            continue
        name = ancestor_runtime(pid)
        if name:
            assigned[pid] = (name, "descendant")


# --------------------------------------------------------------------------------------------
# systemd units
# --------------------------------------------------------------------------------------------

def parse_unit(text):
    """Parse the parts of a unit file we need: User, ExecStart argv, Environment,
    EnvironmentFile, WorkingDirectory. Later assignments win; an empty ``ExecStart=`` resets."""
    result = {"user": None, "exec_start": None, "environment": {}, "environment_files": [],
              "working_directory": None}
    section = None
    continued = ""
    for raw in text.splitlines():
        line = continued + raw.strip()
        if line.endswith("\\"):
            continued = line[:-1] + " "
            continue
        continued = ""
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section != "Service":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "User":
            result["user"] = value or None
        elif key == "ExecStart":
            result["exec_start"] = split_exec(value) if value else None
        elif key == "WorkingDirectory":
            result["working_directory"] = value.lstrip("-") or None
        elif key == "Environment":
            if not value:
                result["environment"] = {}
            for item in split_exec(value, strip_prefix=False):
                env_key, env_sep, env_value = item.partition("=")
                if env_sep:
                    result["environment"][env_key] = env_value
        elif key == "EnvironmentFile":
            if value:
                result["environment_files"].append(value)
    return result


def split_exec(value, strip_prefix=True):
    """Split an ExecStart= / Environment= value like systemd does (quotes, no shell)."""
    words = []
    current = []
    quote = None
    started = False
    index = 0
    while index < len(value):
        char = value[index]
        if quote:
            if char == "\\" and index + 1 < len(value):
                current.append(value[index + 1])
                index += 2
                continue
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'":
            quote = char
            started = True
        elif char.isspace():
            if current or started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
        index += 1
    if current or started:
        words.append("".join(current))
    if strip_prefix and words:
        words[0] = words[0].lstrip("@-:+!")
    return words


def parse_env_file(text):
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("export "):
            line = line[7:]
        key, sep, value = line.partition("=")
        if sep:
            env[key.strip()] = _strip_quotes(value.strip())
    return env


def _read(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def _under(root, path):
    return os.path.join(root, path.lstrip("/"))


# The drop-in the service_users role writes (roles/service_users/tasks/service.yml).
SERVICE_USERS_DROPIN = "aihost-sandbox.conf"


def read_unit(name, root="/"):
    """Find and parse unit ``name``: fragment (first unit dir that has it) plus drop-ins
    (``<name>.d/*.conf`` in every unit dir, applied in file-name order). None when absent."""
    fragment = None
    for directory in UNIT_DIRS:
        path = os.path.join(root, directory, name)
        if os.path.lexists(path):
            fragment = "/" + directory + "/" + name
            break
    dropins = []
    for directory in UNIT_DIRS:
        for path in glob.glob(os.path.join(root, directory, name + ".d", "*.conf")):
            dropins.append((os.path.basename(path), "/" + os.path.relpath(path, root)))
    if fragment is None and not dropins:
        return None
    dropins.sort()
    masked = False
    text = ""
    if fragment:
        real = _under(root, fragment)
        try:
            masked = os.path.islink(real) and os.readlink(real) == "/dev/null"
            if not masked:
                text = _read(real)
        except OSError:
            pass
    # The service_users role's own drop-in may set WorkingDirectory=; it plans from what the unit
    # says without it, or a second run would read back its own fix and drop it.
    text_without_sandbox = text
    for dropin_name, path in dropins:
        try:
            content = _read(_under(root, path))
        except OSError:
            continue
        text += "\n" + content
        if dropin_name != SERVICE_USERS_DROPIN:
            text_without_sandbox += "\n" + content
    parsed = parse_unit(text)
    environment = {}
    for env_file in parsed["environment_files"]:
        optional = env_file.startswith("-")
        try:
            environment.update(parse_env_file(_read(_under(root, env_file.lstrip("-")))))
        except OSError:
            if not optional:
                parsed.setdefault("unreadable", []).append(env_file)
    environment.update(parsed["environment"])
    return {
        "name": name,
        "fragment_path": fragment,
        "dropins": [path for _name, path in dropins],
        "user": parsed["user"],
        "exec_start": parsed["exec_start"],
        "environment": environment,
        "working_directory": parsed["working_directory"],
        "working_directory_unsandboxed": (parse_unit(text_without_sandbox) if text_without_sandbox != text
                                          else parsed)["working_directory"],
        "masked": masked,
    }


def scan_units(catalog, root="/"):
    """Units matching the catalog: by name anywhere, or by ExecStart in the admin unit dirs.
    Returns ``{unit name: (runtime name, unit)}``."""
    wanted = {}
    for name, entry in catalog.items():
        for unit_name in entry.get("match", {}).get("units") or []:
            wanted.setdefault(unit_name, name)
    found = {}
    for unit_name, runtime in wanted.items():
        unit = read_unit(unit_name, root)
        if unit is not None:
            found[unit_name] = (runtime, unit)
    order = match_order(catalog)
    for directory in ADMIN_UNIT_DIRS:
        try:
            entries = os.listdir(os.path.join(root, directory))
        except OSError:
            continue
        for unit_name in entries:
            if not unit_name.endswith(".service") or unit_name in found or "@" in unit_name:
                continue
            unit = read_unit(unit_name, root)
            if unit is None or not unit["exec_start"]:
                continue
            pseudo = {"name": os.path.basename(unit["exec_start"][0])[:15], "cmdline": unit["exec_start"],
                      "cwd": unit["working_directory"]}
            for runtime in order:
                if catalog[runtime].get("generic"):
                    continue
                if match_process(pseudo, catalog[runtime]):
                    found[unit_name] = (runtime, unit)
                    break
    return found


# --------------------------------------------------------------------------------------------
# Packages and binaries
# --------------------------------------------------------------------------------------------

def normalise_dist(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def site_dirs_for_prefix(prefix, root="/"):
    return glob.glob(os.path.join(root, prefix.lstrip("/"), "lib", "python3*", "site-packages"))


def list_dists(site_dir, cache):
    """Map normalised distribution name -> version for one site-packages dir (cached)."""
    if site_dir in cache:
        return cache[site_dir]
    dists = {}
    try:
        entries = os.listdir(site_dir)
    except OSError:
        entries = []
    for entry in entries:
        match = _VERSION_DIR.match(entry)
        if match:
            dists.setdefault(normalise_dist(match.group("name")), match.group("version"))
    cache[site_dir] = dists
    return dists


def scan_pip(catalog, root="/", cache=None):
    """Catalog pip distributions installed in system and /opt prefixes.
    Returns ``{runtime: [{manager, name, version, location}]}``."""
    cache = {} if cache is None else cache
    wanted = {}
    for name, entry in catalog.items():
        for dist in entry.get("match", {}).get("pip") or []:
            wanted.setdefault(normalise_dist(dist), []).append((name, dist))
    found = {}
    if not wanted:
        return found
    site_dirs = []
    for pattern in SITE_GLOBS:
        site_dirs.extend(sorted(glob.glob(os.path.join(root, pattern))))
    for site_dir in site_dirs:
        dists = list_dists(site_dir, cache)
        for key, owners in wanted.items():
            if key in dists:
                for runtime, dist in owners:
                    found.setdefault(runtime, []).append({
                        "manager": "pip", "name": dist, "version": dists[key],
                        "location": "/" + os.path.relpath(site_dir, root)})
    return found


def scan_dpkg(catalog, root="/"):
    wanted = {}
    for name, entry in catalog.items():
        for package in (entry.get("match", {}).get("dpkg") or []) + (entry.get("version", {}).get("dpkg") or []):
            wanted.setdefault(package, set()).add(name)
    if not wanted:
        return {}
    try:
        text = _read(os.path.join(root, "var/lib/dpkg/status"))
    except OSError:
        return {}
    found = {}
    for package, version in parse_dpkg_status(text, sorted(wanted)).items():
        for runtime in sorted(wanted[package]):
            found.setdefault(runtime, []).append({"manager": "dpkg", "name": package, "version": version,
                                                  "location": "/var/lib/dpkg/status"})
    return found


def scan_binaries(catalog, root="/"):
    """Catalog binaries present in the usual bin directories. ``{runtime: [paths]}``."""
    directories = []
    for pattern in BIN_DIRS:
        directories.extend(sorted(glob.glob(os.path.join(root, pattern))))
    seen_real = set()
    listing = {}
    for directory in directories:
        real = os.path.realpath(directory)
        if real in seen_real:
            continue  # /bin -> /usr/bin on merged-/usr systems
        seen_real.add(real)
        try:
            listing[directory] = set(os.listdir(directory))
        except OSError:
            continue
    found = {}
    for name, entry in catalog.items():
        for binary in entry.get("match", {}).get("binaries") or []:
            if binary.startswith("/"):
                if os.path.exists(_under(root, binary)):
                    found.setdefault(name, []).append(binary)
                continue
            for directory, names in listing.items():
                if binary in names:
                    found.setdefault(name, []).append("/" + os.path.relpath(os.path.join(directory, binary), root))
    for paths in found.values():
        paths.sort()
    return found


# --------------------------------------------------------------------------------------------
# Auth, risky flags, data paths, versions
# --------------------------------------------------------------------------------------------

def evaluate_auth(entry, cmdline, environ, read_file=None):
    """Return ``{"enabled": bool|None, "evidence": str}`` from the entry's auth rules.
    The first rule that matches decides; otherwise the documented default applies."""
    auth = entry.get("auth") or {}
    for rule in auth.get("rules") or []:
        when = rule.get("when", "set")
        matched = False
        evidence = None
        if "flag" in rule:
            present, value = find_flag(cmdline, rule["flag"])
            value = _strip_quotes(value)
            if present:
                matched, evidence = _rule_matches(when, value, rule, rule["flag"], "flag")
        elif "env" in rule:
            if environ is not None and rule["env"] in environ:
                value = _strip_quotes(environ[rule["env"]])
                matched, evidence = _rule_matches(when, value, rule, rule["env"], "env")
        elif "file" in rule and read_file is not None:
            text = read_file(rule["file"])
            if text is not None and re.search(rule["regex"], text):
                matched, evidence = True, "%s matches %s" % (rule["file"], rule["regex"])
        if matched:
            if rule.get("note"):
                evidence += " (%s)" % rule["note"]
            return {"enabled": rule["enabled"], "evidence": evidence}
    default = auth.get("default")
    builtin = auth.get("builtin") or "no documented authentication"
    if default is None:
        return {"enabled": None, "evidence": "unknown: " + builtin}
    return {"enabled": default, "evidence": "default: " + builtin}


def _rule_matches(when, value, rule, name, source):
    """(matched, evidence); the evidence shows a value only as ``redact`` lets it."""
    label = "%s %s" % (source, name)
    if when == "present":
        return True, "%s is given" % label
    if when == "set":
        return (value not in (None, "")), "%s is set" % label
    if when == "empty":
        return (value == ""), "%s is empty" % label
    if when == "equals":
        values = [item.lower() for item in rule.get("value") or []]
        return (value is not None and value.lower() in values), "%s=%s" % (label, redact.redact_value(name, value))
    return False, None


def find_risky(entry, cmdline, environ, auth_enabled, run_as_root=None):
    risky = []
    for rule in entry.get("risky_flags") or []:
        if rule.get("unless_auth") and auth_enabled:
            continue
        if rule.get("root_only") and run_as_root is False:
            continue
        if "flag" in rule:
            present, value = find_flag(cmdline, rule["flag"])
            if not present:
                continue
            if "value" in rule and (value is None or not re.search(rule["value"], _strip_quotes(value))):
                continue
            risky.append({"flag": rule["flag"], "value": redact.redact_value(rule["flag"], value),
                          "source": "cmdline", "reason": rule["reason"]})
        elif environ is not None and rule["env"] in environ:
            value = environ[rule["env"]]
            if "value" in rule and not re.search(rule["value"], _strip_quotes(value) or ""):
                continue
            risky.append({"flag": rule["env"], "value": redact.redact_value(rule["env"], value),
                          "source": "env", "reason": rule["reason"]})
    return risky


def expand_path(path, home, environ, cwd):
    """Expand ``~`` (the process user's home), ``$VAR`` (the process environment) and relative
    paths (the working directory). Returns None when it cannot be expanded."""
    if path.startswith("$"):
        name = path[1:].split("/", 1)
        value = (environ or {}).get(name[0])
        if not value:
            return None
        path = value + ("/" + name[1] if len(name) > 1 else "")
    if path.startswith("~"):
        if not home:
            return None
        path = home.rstrip("/") + path[1:]
    # SQLAlchemy URLs: sqlite:////abs/path.db is absolute, sqlite:///name.db is relative to the
    # working directory. file:///abs/path keeps its leading slash.
    for scheme in ("sqlite:///", "file://"):
        if path.startswith(scheme):
            path = path[len(scheme):]
    if "://" in path:
        return None
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if not path.startswith("/"):
        if not cwd:
            return None
        path = os.path.join(cwd, path)
    return os.path.normpath(path)


def pip_prefixes(cmdline, environ):
    """Python prefixes a process runs from: the venv of its interpreter or script path
    (``/opt/x/bin/python`` -> ``/opt/x``), and VIRTUAL_ENV."""
    prefixes = []
    for arg in cmdline[:2]:
        if arg.startswith("/") and "/bin/" in arg:
            prefix = arg.rsplit("/bin/", 1)[0] or "/"
            if prefix not in prefixes:
                prefixes.append(prefix)
    venv = (environ or {}).get("VIRTUAL_ENV")
    if venv and venv not in prefixes:
        prefixes.insert(0, venv)
    return prefixes


# --------------------------------------------------------------------------------------------
# Putting it together
# --------------------------------------------------------------------------------------------

class HostView(object):
    """Everything read from the host, plus the readers used lazily while building facts.

    Tests build one from fixture data; the module builds one from ``root='/'``.
    """

    def __init__(self, root="/", listeners=None, processes=None, containers=None, users=None,
                 environ_reader=None, run_version_command=None, ambient_container=None, viewer_uid=None):
        self.root = root
        # Who reads /proc: root sees every process's descriptors, anyone else only their own.
        self.viewer_uid = os.geteuid() if viewer_uid is None else viewer_uid
        self.listeners = listeners or []
        self.processes = processes or {}
        self.containers = containers or {}
        self.users = users or {}
        self.environ_reader = environ_reader or (lambda pid: procfs.read_environ(pid, root))
        self.run_version_command = run_version_command
        self.ambient_container = ambient_container
        self._environ_cache = {}
        self._site_cache = {}
        self._container_users = {}

    def environ(self, pid):
        if pid not in self._environ_cache:
            self._environ_cache[pid] = self.environ_reader(pid)
        return self._environ_cache[pid]

    def details(self, process):
        """Make sure exe, cwd, unit and container of a process are read (lazily, once); the
        container we run in ourselves (pid 1's) counts as the host."""
        if process is not None and not process.get("_details", True):
            procfs.read_details(process, self.root)
            if process.get("container_id") and process["container_id"] == self.ambient_container:
                process["container_id"] = None
        return process

    def container_listeners(self, pid):
        """Listening sockets of the network namespace of ``pid`` (a container's own)."""
        return procfs.read_listeners(self.root, pid=pid)

    def fs_root(self, process):
        """Filesystem a process sees: its container's root (/proc/<pid>/root) or the host's."""
        if process is not None and process.get("container_id"):
            return os.path.join(procfs.proc_dir(self.root), str(process["pid"]), "root")
        return self.root

    def _users_of(self, process):
        if process is None or not process.get("container_id"):
            return self.users
        key = process["container_id"]
        if key not in self._container_users:
            self._container_users[key] = procfs.read_users(self.fs_root(process))
        return self._container_users[key]

    def user_name(self, uid, process=None):
        """User name of ``uid`` as the process's own /etc/passwd (host or container) knows it."""
        if uid is None:
            return None
        user = self._users_of(process).get(uid)
        return user[0] if user else str(uid)

    def home_of(self, uid=None, name=None, process=None):
        for user_uid, (user_name, home) in self._users_of(process).items():
            if (uid is not None and user_uid == uid) or (name is not None and user_name == name):
                return home
        return None

    def exists(self, path, fs_root=None):
        return os.path.exists(_under(fs_root or self.root, path))

    def read_text(self, path, fs_root=None):
        try:
            return _read(_under(fs_root or self.root, path))
        except (OSError, UnicodeError):
            return None


def _listener_owner(pids, processes):
    """The pid that owns a shared socket: the one whose parent does not hold it too."""
    pid_set = set(pids)
    for pid in pids:
        process = processes.get(pid)
        if process is not None and process.get("ppid") not in pid_set:
            return pid
    return pids[0] if pids else None


def _container_ref(container_id, view):
    if not container_id:
        return None
    container = view.containers.get(container_id) or {}
    return {"id": container_id, "name": container.get("name"), "image": container.get("image")}


def build_listeners(view, warnings):
    owners = procfs.inode_owners(view.processes)
    result = []
    for sock in view.listeners:
        pids = owners.get(sock["inode"], [])
        pid = _listener_owner(pids, view.processes)
        process = view.details(view.processes.get(pid)) if pid is not None else None
        uid = process["uid"] if process else sock.get("uid")
        container_id = process.get("container_id") if process else None
        result.append({
            "protocol": sock["protocol"],
            "family": sock["family"],
            "address": sock["address"],
            "port": sock["port"],
            "scope": sock["scope"],
            "inode": sock["inode"],
            "pid": pid,
            "pids": pids,
            "process": process["name"] if process else None,
            "cmdline": redact.redact_argv(process["cmdline"]) if process else None,
            "user": view.user_name(uid, process),
            "uid": uid,
            "unit": process.get("unit") if process else None,
            "container": _container_ref(container_id, view),
            "runtime": None,
            "attributed_by": None,
        })
    result.sort(key=lambda item: (item["protocol"], item["port"], item["family"], item["address"], item["inode"]))
    unowned = [item for item in result if item["pid"] is None and item["inode"]]
    if unowned and view.processes:
        warnings.append(unowned_sockets_warning(unowned, view.viewer_uid))
    return result


def unowned_sockets_warning(unowned, viewer_uid):
    """One warning for the listening sockets no process we can see holds, saying what is unknown.

    Not root, other users' descriptors are out of sight; as root, no process in this PID namespace
    holds the socket, so it belongs to the kernel, to a process in another PID namespace, or root may
    not read that process's descriptors here (no CAP_SYS_PTRACE).
    """
    shown = ", ".join("%s %s:%s (uid %s)" % (
        item["protocol"], ("[%s]" % item["address"]) if ":" in str(item["address"]) else item["address"],
        item["port"], item["uid"] if item["uid"] is not None else "?") for item in unowned[:5])
    if len(unowned) > 5:
        shown += ", and %d more" % (len(unowned) - 5)
    head = "1 listening socket has" if len(unowned) == 1 else "%d listening sockets have" % len(unowned)
    if viewer_uid != 0:
        return ("%s no visible owner process: %s. The audit ran as uid %s, which cannot read other users' "
                "processes; run it as root (--become) to name the owners" % (head, shown, viewer_uid))
    return ("%s no owner process, even to root: %s. No process in this PID namespace holds %s: %s to the "
            "kernel (an in-kernel server such as NFS or WireGuard), to a process in another PID namespace, or to "
            "a process whose descriptors root cannot read here (root without CAP_SYS_PTRACE)" % (
                head, shown, "it" if len(unowned) == 1 else "them", "it belongs" if len(unowned) == 1 else "they belong"))


def build_facts(view, catalog, units=None, pip=None, dpkg=None, binaries=None,
                collect_versions=True, warnings=None):
    """Build the ``aihost_runtime`` facts dictionary."""
    warnings = [] if warnings is None else warnings
    units = units or {}
    pip = pip or {}
    dpkg = dpkg or {}
    binaries = binaries or {}
    processes = view.processes
    for process in processes.values():
        if process.get("_details", True) and process.get("container_id") and \
                process.get("container_id") == view.ambient_container:
            process["container_id"] = None
    listeners = build_listeners(view, warnings)

    listeners_by_pid = {}
    for listener in listeners:
        for pid in listener["pids"]:
            listeners_by_pid.setdefault(pid, set()).add(listener["port"])
    assigned = assign_processes(processes, catalog, listeners_by_pid, view.environ, view.details)

    # Group processes into instances: per container, else per systemd unit, else per process tree.
    instances = {}
    for pid in sorted(assigned):
        name, _how = assigned[pid]
        process = view.details(processes[pid])
        if process.get("container_id"):
            key = (name, "container", process["container_id"])
        elif process.get("unit"):
            key = (name, "unit", process["unit"])
        else:
            root_pid = pid
            seen = set([pid])
            parent = view.details(processes.get(process.get("ppid")))
            while parent is not None and parent["pid"] not in seen and \
                    assigned.get(parent["pid"], (None,))[0] == name and not parent.get("container_id"):
                root_pid = parent["pid"]
                seen.add(root_pid)
                parent = view.details(processes.get(parent.get("ppid")))
            key = (name, "tree", root_pid)
        instance = instances.setdefault(key, _new_instance(name, catalog[name]))
        instance["_pids"].append(pid)
        instance["_how"].add(_how)
        if key[1] == "container" and process.get("unit") and process["unit"] not in instance["_unit_names"]:
            # A systemd container: read the unit from the container's own filesystem.
            instance["_unit_names"].append(process["unit"])
            unit = read_unit(process["unit"], view.fs_root(process))
            if unit is not None:
                instance["_units"].append(unit)

    # Containers matched by image (their processes may be invisible, e.g. in a VM or another pid ns).
    for container_id, container in view.containers.items():
        image = normalise_image(container.get("image"))
        for name in match_order(catalog):
            images = catalog[name].get("match", {}).get("images") or []
            if any(image == ref or image.endswith("/" + ref) for ref in images):
                key = (name, "container", container_id)
                instances.setdefault(key, _new_instance(name, catalog[name]))["_how"].add("image")
                break
    for key, instance in instances.items():
        if key[1] == "container":
            container = view.containers.get(key[2])
            if container is not None:
                instance["_container"] = container

    # Units: running ones join their instance; configured but idle ones become their own instance.
    for key, instance in list(instances.items()):
        if key[1] == "unit":
            unit = units.get(key[2], (None, None))[1]
            if unit is None:
                from_disk = read_unit(key[2], view.root)
                unit = from_disk or {"name": key[2], "fragment_path": None, "dropins": [], "user": None,
                                     "exec_start": None, "environment": {}, "working_directory": None,
                                     "masked": False}
            instance["_units"].append(unit)
    claimed_units = set(key[2] for key in instances if key[1] == "unit")
    for unit_name, (name, unit) in sorted(units.items()):
        if unit_name in claimed_units or name not in catalog:
            continue
        instances[(name, "unit", unit_name)] = _new_instance(name, catalog[name])
        instances[(name, "unit", unit_name)]["_units"].append(unit)

    # Packages and binaries: evidence for the host instances of that runtime, or an entry of their own.
    installed = {}
    for source in (pip, dpkg):
        for name, items in source.items():
            installed.setdefault(name, []).extend(items)
    for name in sorted(set(installed) | set(binaries)):
        if name not in catalog:
            continue
        host_instances = [inst for key, inst in instances.items() if key[0] == name and key[1] != "container"]
        if not host_instances:
            instance = _new_instance(name, catalog[name])
            instances[(name, "installed", "")] = instance
            host_instances = [instance]
        for instance in host_instances:
            instance["packages"].extend(installed.get(name, []))
            instance["binaries"].extend(binaries.get(name, []))

    pid_instance = {}
    for key, instance in instances.items():
        for pid in instance["_pids"]:
            pid_instance[pid] = key

    # Containers: sockets inside each container's own network namespace tell which runtime a
    # published port leads to, when several runtimes share one container.
    owners = procfs.inode_owners(processes)
    by_container = {}
    for key in instances:
        if key[1] == "container":
            by_container.setdefault(key[2], []).append(key)
    for container_id, keys in sorted(by_container.items()):
        container = view.containers.get(container_id) or {}
        pids = sorted(pid for key in keys for pid in instances[key]["_pids"])
        inner = view.container_listeners(pids[0]) if pids else []
        port_owner = {}
        for sock in inner:
            for pid in owners.get(sock["inode"], []):
                if pid_instance.get(pid) in keys:
                    owner_key = pid_instance[pid]
                    port_owner.setdefault((sock["protocol"], sock["port"]), owner_key)
                    instances[owner_key]["container_listen"].append({
                        "protocol": sock["protocol"], "family": sock["family"], "address": sock["address"],
                        "port": sock["port"], "scope": sock["scope"], "pid": pid})
                    break
        for port in container.get("published", []):
            owner_key = port_owner.get((port["protocol"], port["container_port"]))
            if owner_key is not None:
                targets = [owner_key]
            else:
                by_default = [key for key in keys if port["container_port"] in (catalog[key[0]].get("default_ports") or [])]
                # Unknown owner: give it to every runtime of the container (exposure errs wide).
                targets = by_default if len(by_default) == 1 else keys
            for key in targets:
                instances[key]["_published"].append(port)

    # Attribute listeners.
    published_instance = {}
    for key, instance in instances.items():
        for port in instance["_published"]:
            published_instance.setdefault((port["protocol"], port["host_port"]), key)
    for listener in listeners:
        key = None
        for pid in listener["pids"]:
            if pid in pid_instance:
                key = pid_instance[pid]
                listener["attributed_by"] = "process"
                break
        if key is None and (listener["protocol"], listener["port"]) in published_instance and \
                (listener["process"] or "").startswith(("docker-proxy", "rootlessport", "conmon", "slirp4netns", "pasta")):
            key = published_instance[(listener["protocol"], listener["port"])]
            listener["attributed_by"] = "published_port"
            if listener["container"] is None:
                container = instances[key].get("_container") or {}
                listener["container"] = {"id": container.get("id"), "name": container.get("name"),
                                         "image": container.get("image")}
        if key is None and listener["pid"] is None:
            key = _attribute_by_uid(listener, instances, catalog, view)
            if key is not None:
                listener["attributed_by"] = "uid"
        if key is not None:
            listener["runtime"] = key[0]
            instances[key]["listen"].append({"protocol": listener["protocol"], "family": listener["family"],
                                             "address": listener["address"], "port": listener["port"],
                                             "scope": listener["scope"], "pid": listener["pid"]})

    runtimes = []
    for key in sorted(instances, key=lambda k: (k[0], str(k[1]), str(k[2]))):
        runtimes.append(_finish_instance(key, instances[key], catalog[key[0]], view, collect_versions, warnings))
    runtimes.sort(key=lambda r: (r["name"], (r["processes"] or [{"pid": 0}])[0]["pid"]))
    return {
        "schema_version": SCHEMA_VERSION,
        "listeners": listeners,
        "runtimes": runtimes,
        "warnings": warnings,
    }


def _attribute_by_uid(listener, instances, catalog, view):
    """Best guess for a socket whose owner we may not see (another user's process while we lack
    CAP_SYS_PTRACE, as root inside a container): the runtime instance running under the socket's
    non-root uid, narrowed by the catalog's default ports when several do. None when ambiguous."""
    uid = listener["uid"]
    if not uid:
        return None
    candidates = []
    for key, instance in instances.items():
        if key[1] == "container":
            continue
        if any(view.processes.get(pid, {}).get("uid") == uid for pid in instance["_pids"]):
            candidates.append(key)
    if len(candidates) > 1:
        candidates = [key for key in candidates if listener["port"] in (catalog[key[0]].get("default_ports") or [])]
    return candidates[0] if len(candidates) == 1 else None


def _new_instance(name, entry):
    return {"name": name, "_pids": [], "_how": set(), "_units": [], "_unit_names": [], "_container": None,
            "_published": [], "container_listen": [],
            "listen": [], "packages": [], "binaries": []}


def _finish_instance(key, instance, entry, view, collect_versions, warnings):
    name = key[0]
    processes = [view.processes[pid] for pid in sorted(instance["_pids"]) if pid in view.processes]
    # The main process: the first one matched directly (not a descendant), else the first.
    main = None
    for process in processes:
        if process["pid"] in instance["_pids"] and not _is_descendant_only(process, instance, view):
            main = process
            break
    if main is None and processes:
        main = processes[0]
    container = instance.get("_container")
    units = instance["_units"]

    cmdline = list(main["cmdline"]) if main else []
    environ = None
    if main is not None:
        environ = view.environ(main["pid"])
    if environ is None and container is not None:
        environ = container.get("env")
    if environ is None and units:
        environ = dict(units[0].get("environment") or {})
    if not cmdline and container is not None and container.get("cmd"):
        cmdline = list(container["cmd"])
    if not cmdline and units and units[0].get("exec_start"):
        cmdline = list(units[0]["exec_start"])

    fs_root = view.fs_root(main)
    uid = main["uid"] if main else None
    user_name = view.user_name(uid, main) if uid is not None else None
    if user_name is None and units and units[0].get("user"):
        user_name = units[0]["user"]
    if uid is not None:
        home = view.home_of(uid=uid, process=main)
    else:
        home = view.home_of(name=user_name or "root", process=main)
    cwd = main.get("cwd") if main else (units[0].get("working_directory") if units else None)

    def read_user_file(path):
        expanded = expand_path(path, home, environ, cwd)
        return view.read_text(expanded, fs_root) if expanded else None

    auth = evaluate_auth(entry, cmdline, environ, read_user_file)
    risky = find_risky(entry, cmdline, environ, auth["enabled"], run_as_root=(uid == 0) if uid is not None else None)

    detected_by = set()
    how = instance["_how"]
    if how & {"process", "descendant", "env"}:
        detected_by.add("process")
    if "socket" in how or instance["listen"] or instance["container_listen"]:
        detected_by.add("socket")
    if units:
        detected_by.add("unit")
    if container is not None or key[1] == "container":
        detected_by.add("container")
    if instance["packages"]:
        detected_by.add("package")
    if instance["binaries"]:
        detected_by.add("binary")

    published = instance["_published"]
    # Exposure: sockets in our network namespace (host-network containers included) and published
    # ports; a container's private sockets (container_listen) are reachable only through those.
    scopes = [item["scope"] for item in instance["listen"]]
    scopes.extend(procfs.address_scope(port["host_ip"]) for port in published)

    data_paths = []
    for path in entry.get("data_paths") or []:
        expanded = expand_path(path, home, environ, cwd)
        if expanded and expanded not in data_paths and view.exists(expanded, fs_root):
            data_paths.append(expanded)
    for flag in entry.get("data_flags") or []:
        present, value = find_flag(cmdline, flag)
        if present and value:
            expanded = expand_path(value, home, environ, cwd)
            if expanded and expanded not in data_paths and view.exists(expanded, fs_root):
                data_paths.append(expanded)
    if container is not None:
        wanted = set(path for path in entry.get("data_paths") or [] if path.startswith("/"))
        for mount in container.get("mounts", []):
            if mount.get("destination") in wanted and mount.get("source") and mount["source"] not in data_paths:
                data_paths.append(mount["source"])

    version, version_source = (None, None)
    if collect_versions:
        version, version_source = _find_version(entry, instance, main, environ, cwd, container, view, fs_root)

    run_as = []
    for process in processes:
        user = view.user_name(process["uid"], process)
        if user not in run_as:
            run_as.append(user)
    if not run_as:
        if units and units[0].get("user"):
            run_as.append(units[0]["user"])
        elif units:
            run_as.append("root")
        elif container is not None and container.get("user"):
            run_as.append(container["user"])

    result = {
        "name": name,
        "detected_by": [item for item in DETECTION_ORDER if item in detected_by],
        "processes": [{"pid": p["pid"], "ppid": p.get("ppid"), "process": p["name"],
                       "cmdline": redact.redact_argv(p["cmdline"]),
                       "user": view.user_name(p["uid"], p), "uid": p["uid"], "unit": p.get("unit"),
                       "exe": p.get("exe")} for p in processes[:MAX_PROCESSES_PER_RUNTIME]],
        "units": [{"name": u["name"], "fragment_path": u["fragment_path"], "dropins": list(u["dropins"]),
                   "user": u["user"],
                   "exec_start": redact.redact_argv(u["exec_start"]) if u.get("exec_start") else u.get("exec_start"),
                   "working_directory": u.get("working_directory"),
                   "working_directory_unsandboxed": u.get("working_directory_unsandboxed", u.get("working_directory")),
                   "masked": u.get("masked", False)}
                  for u in units],
        "containers": ([{"id": container.get("id"), "name": container.get("name"), "image": container.get("image"),
                         "engine": container.get("engine"), "published": list(published),
                         "networks": [dict(network) for network in container.get("networks") or []]}]
                       if container is not None else
                       ([{"id": key[2], "name": None, "image": None, "engine": None, "published": [],
                          "networks": []}]
                        if key[1] == "container" else [])),
        "version": version,
        "version_source": version_source,
        "listen": sorted(instance["listen"], key=lambda l: (l["protocol"], l["port"], l["address"])),
        "container_listen": sorted(instance["container_listen"], key=lambda l: (l["protocol"], l["port"], l["address"])),
        "exposure": procfs.widest_scope(scopes),
        "auth": auth,
        "run_as": run_as,
        "data_paths": data_paths,
        "risky_flags": risky,
        "packages": instance["packages"],
        "binaries": sorted(set(instance["binaries"])),
    }
    if len(processes) > MAX_PROCESSES_PER_RUNTIME:
        warnings.append("%s: listed %d of %d processes" % (name, MAX_PROCESSES_PER_RUNTIME, len(processes)))
    result.update(catalog_summary(entry))
    return result


def _is_descendant_only(process, instance, view):
    parent = view.processes.get(process.get("ppid"))
    return parent is not None and parent["pid"] in instance["_pids"]


def _find_version(entry, instance, main, environ, cwd, container, view, fs_root):
    spec = entry.get("version") or {}
    cmdline = main["cmdline"] if main else []
    for dist in spec.get("pip") or []:
        key = normalise_dist(dist)
        for prefix in pip_prefixes(cmdline, environ):
            for site_dir in site_dirs_for_prefix(prefix, fs_root):
                dists = list_dists(site_dir, view._site_cache)
                if key in dists:
                    return dists[key], "pip:%s" % dist
    file_spec = spec.get("file")
    if file_spec:
        path = expand_path(file_spec["path"], None, environ, cwd)
        text = view.read_text(path, fs_root) if path else None
        if text:
            match = re.search(file_spec["regex"], text)
            if match:
                return match.group(1), "file:%s" % path
    if container is not None:
        tag = image_tag(container.get("image"))
        if tag and re.match(r"^v?[0-9]+(\.[0-9]+)+", tag):
            return tag.lstrip("v"), "image:%s" % container.get("image")
    for package in instance["packages"]:
        if package["manager"] == "dpkg" or package["name"] in (spec.get("pip") or []):
            return package["version"], "%s:%s" % (package["manager"], package["name"])
    if spec.get("command") and view.run_version_command is not None and container is None and \
            not (main or {}).get("container_id"):
        version = view.run_version_command(spec["command"], main)
        if version:
            return version, "command"
    return None, None
