# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work out, read-only, how to bind each exposed AI runtime to loopback.

Run on the target through the ``loopback_plan`` module, for the loopback role. It changes nothing:
it reads the systemd units (fragment and drop-ins, in systemd's order) and the environment files
they load, and returns (``plan(request)``) one document:

    {"units": [{"unit", "runtime", "knob_kind", "env_file_edits": [...], "changes": [...],
                "copies_command_line": bool}],
     "dropins": {"<unit>": "<drop-in text>"},
     "originals": {"<unit>": "<unit text>"},
     "findings": [{"runtime", "kind", "message"}],
     "managed": ["<runtime>", ...]}

Secrets: unit text (``originals``) and drop-ins that repeat a unit's ExecStart= may carry API keys
and tokens, so they are kept out of ``units`` (the role loops over those, and Ansible prints loop
items at -v): the role reads them by unit name, under no_log, and diffs only drop-ins made of our
own lines. ``changes`` says what a drop-in changes in words that never quote the host's text, and
no finding quotes a unit's values.

Input: {"dropin_name", "loopback_address", "runtimes": [...]}, where each
runtime is an entry of ``ansible_facts.aihost_runtime.runtimes`` (from ``ai_runtime_facts``) whose
exposure is wider than loopback and that no allowed exposure covers: ``sort_exposed()`` picks them.
``proxies()`` and ``proxy_errors()`` complete the remote-access entries on this host. The role
applies the plan with ordinary, check-mode-aware modules.

Everything here is driven by the runtime's ``bind_knob`` from the collection's catalog, by kind:
``env`` (an environment variable), ``flag`` (a command-line option), ``config`` (a key in a config
file). Only the knob and its ``alternatives`` are rewritten; ``read_only`` names (Ray's
--node-ip-address) are never touched. Nothing is specific to one runtime. Anything this cannot do safely becomes a finding that
says what to do by hand; it never guesses. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess

SHELLS = ("sh", "bash", "dash", "zsh", "ksh", "ash", "busybox")
EXEC_PREFIX_CHARS = "@-:+!|"
ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


# ----------------------------------------------------------------------------------------------
# systemd unit text
# ----------------------------------------------------------------------------------------------

def logical_lines(text):
    """Yield the logical lines of a unit file: comments dropped, backslash continuations joined.

    systemd replaces a backslash-newline by a space; comment lines inside a continuation are
    skipped.
    """
    pending = None
    for raw in text.splitlines():
        stripped = raw.strip()
        if pending is not None:
            if stripped.startswith(("#", ";")):
                continue
            line = pending + " " + stripped
        else:
            if not stripped or stripped.startswith(("#", ";")):
                continue
            line = stripped
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        pending = None
        yield line
    if pending:
        yield pending


def service_assignments(text):
    """Return [(key, value)] of the [Service] section of one unit file, in order."""
    section = None
    out = []
    for line in logical_lines(text):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section != "Service" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out.append((key.strip(), value.strip()))
    return out


def merge_service(files):
    """Merge the [Service] settings of (path, text) files, applied in order like systemd does.

    Returns {"exec_start": [raw values], "environment": [raw values], "environment_files": [raw]}.
    An empty assignment resets a list setting.
    """
    merged = {"exec_start": [], "environment": [], "environment_files": []}
    keys = {"ExecStart": "exec_start", "Environment": "environment", "EnvironmentFile": "environment_files"}
    for _path, text in files:
        for key, value in service_assignments(text):
            name = keys.get(key)
            if name is None:
                continue
            if value == "":
                merged[name] = []
            else:
                merged[name].append(value)
    return merged


def tokenize(value):
    """Split a systemd command line into words, keeping each word's raw span.

    Returns [(start, end, word)]. Quotes (single and double) and backslash escapes are resolved
    in ``word``; ``value[start:end]`` is the word exactly as written, so an untouched word can be
    copied back verbatim (specifiers such as %h and $VAR references stay as they were).
    Raises ValueError on an unterminated quote.
    """
    tokens = []
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        word = []
        while i < n and not value[i].isspace():
            char = value[i]
            if char in ("'", '"'):
                quote = char
                i += 1
                while i < n and value[i] != quote:
                    if value[i] == "\\" and quote == '"' and i + 1 < n:
                        i += 1
                    word.append(value[i])
                    i += 1
                if i >= n:
                    # The value is not quoted back: it may hold a secret.
                    raise ValueError("unterminated quote")
                i += 1
            elif char == "\\" and i + 1 < n:
                word.append(value[i + 1])
                i += 2
            else:
                word.append(char)
                i += 1
        tokens.append((start, i, "".join(word)))
    return tokens


def quote_word(word):
    """Quote one word for a systemd command line (the words we write are plain addresses)."""
    if word and re.match(r"^[A-Za-z0-9_@%+=:,./\[\]-]+$", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_env_assignment(name, value):
    """Environment="NAME=value" with systemd's escaping (backslash, quote, % specifier)."""
    text = "%s=%s" % (name, value)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return 'Environment="%s"' % text


# ----------------------------------------------------------------------------------------------
# Knobs
# ----------------------------------------------------------------------------------------------

FLAG_VALUE = re.compile(r"^[A-Za-z0-9.:\[\]*,_%-]+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def knob_parts(knob):
    """Split a catalog bind knob into (flags, env_vars) it may be set with, main name first.

    Alternatives that are neither a flag ("--x") nor a variable name (for example
    "launch(server_name=...)" or "service.host (config/config.yaml)") are notes for humans.
    ``read_only`` names are left out whatever else the knob says: they are never rewritten.
    """
    flags, env_vars = [], []
    read_only = set(knob.get("read_only") or [])
    names = [knob.get("name")] if knob.get("kind") in ("flag", "env") else []
    for name in names + list(knob.get("alternatives") or []):
        if not isinstance(name, str) or not name or name in read_only:
            continue
        if name.startswith("-"):
            flags.append(name)
        elif ENV_NAME.match(name):
            env_vars.append(name)
    return flags, env_vars


def loopback_value(knob, address, port):
    """The knob's loopback value with {port} filled in (None when a port is needed but unknown)."""
    text = knob.get("loopback_value")
    if text in (None, ""):
        text = address
    text = str(text)
    if "{port}" in text:
        if port is None:
            return None
        text = text.replace("{port}", str(port))
    return text


def uses_flag(word, flag):
    return word == flag or word.startswith(flag + "=")


def embeds_flag(word, flag):
    """True when a word with spaces (a quoted command) mentions the flag: not safe to rewrite."""
    return bool(re.search(r"\s", word)) and bool(re.search(r"(^|\s)%s(=|\s|$)" % re.escape(flag), word))


def rewrite_flags(exec_value, flags, action, value, any_value=False):
    """Rewrite one raw ExecStart value so that the bind flags give loopback.

    ``action`` "set": every ``--flag=VALUE`` / ``--flag VALUE`` of ``flags`` gets ``value``; when
    the first (main) flag is absent it is appended. ``action`` "remove": every occurrence of the
    flags is dropped with its value (a bare ``--flag`` too). With ``any_value`` a separate value is
    dropped whatever it looks like (an empty ``''`` token or password, a secret).
    Returns (new_value, note) or raises ValueError with a human reason when it is not safe.
    Untouched words are copied back verbatim. ``note`` says what changed in words of our own:
    the flags and ``value``, never another word of the command line.
    """
    tokens = tokenize(exec_value)
    if not tokens:
        raise ValueError("ExecStart is empty")
    program = os.path.basename(tokens[0][2].lstrip(EXEC_PREFIX_CHARS))
    if program in SHELLS:
        raise ValueError("ExecStart runs a shell, whose script sets the address")
    edits = []  # (start, end, replacement)
    touched = []
    found = False
    index = 0
    while index < len(tokens):
        start, end, word = tokens[index]
        previous_end = tokens[index - 1][1] if index > 0 else start
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        takes_value = following is not None and not following[2].startswith("-")
        for flag in flags:
            if uses_flag(word, flag) and flag not in touched:
                touched.append(flag)
            if word.startswith(flag + "="):
                found = True
                if action == "remove":
                    edits.append((previous_end, end, ""))
                else:
                    edits.append((start, end, quote_word(flag + "=" + value)))
                break
            if word == flag:
                found = True
                if action == "remove":
                    # A bare flag, or the flag and an address-looking value ("0.0.0.0,::").
                    if takes_value and (any_value or FLAG_VALUE.match(following[2])):
                        edits.append((previous_end, following[1], ""))
                        index += 1
                    else:
                        edits.append((previous_end, end, ""))
                elif takes_value:
                    edits.append((following[0], following[1], quote_word(value)))
                    index += 1
                else:
                    raise ValueError("%s has no value in ExecStart" % flag)
                break
        index += 1
    if not found:
        if any(embeds_flag(word, flag) for _s, _e, word in tokens for flag in flags):
            raise ValueError("ExecStart embeds %s inside a quoted word" % flags[0])
        if action == "remove":
            raise ValueError("ExecStart has no %s, so the wide binding comes from elsewhere" % " or ".join(flags))
        if program == "env":
            raise ValueError("ExecStart starts with env; where the program's options begin is unclear")
        return (exec_value.rstrip() + " %s %s" % (quote_word(flags[0]), quote_word(value)),
                "ExecStart: %s %s appended" % (flags[0], value))
    out = exec_value
    for start, end, replacement in sorted(edits, reverse=True):
        out = out[:start] + replacement + out[end:]
    if action == "remove":
        return out.strip(), "ExecStart: %s removed" % " and ".join(touched)
    return out.strip(), "ExecStart: %s set to %s" % (" and ".join(touched), value)


def parse_env_file(text):
    """Return {NAME: value} from an EnvironmentFile (systemd's simple KEY=VALUE format)."""
    values = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        match = ENV_LINE.match(stripped)
        if match:
            values[match.group(1)] = match.group(2).strip("\"'")
    return values


def environment_file_paths(raw_values):
    """Paths named by EnvironmentFile= values (the optional '-' prefix dropped)."""
    paths = []
    for raw in raw_values:
        for _s, _e, word in tokenize(raw):
            optional = word.startswith("-")
            paths.append((word[1:] if optional else word, optional))
    return paths


# ----------------------------------------------------------------------------------------------
# I/O
# ----------------------------------------------------------------------------------------------

def run(argv):
    env = dict(os.environ, LANG="C", LC_ALL="C", LC_MESSAGES="C", SYSTEMD_PAGER="", SYSTEMD_COLORS="0")
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def read_text(path):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def unit_files(unit, dropin_name):
    """[(path, text)] of a unit: fragment then drop-ins in systemd's order, ours left out.

    Returns (files, error). ``error`` is a reason when the unit cannot be rebound with a drop-in.
    """
    code, out, err = run(["systemctl", "show", unit, "-p", "FragmentPath", "-p", "DropInPaths",
                          "-p", "LoadState"])
    if code != 0:
        return None, "systemctl show %s failed: %s" % (unit, err.strip())
    props = {}
    for line in out.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            props[key] = value
    if props.get("LoadState") != "loaded":
        return None, "unit %s is not loaded (%s)" % (unit, props.get("LoadState", "unknown"))
    fragment = props.get("FragmentPath", "")
    if not fragment:
        return None, "unit %s has no unit file (transient or generated)" % unit
    paths = [fragment] + [p for p in props.get("DropInPaths", "").split() if p]
    files = []
    for path in paths:
        if os.path.basename(path) == dropin_name:
            continue
        text = read_text(path)
        if text is None:
            return None, "cannot read %s" % path
        files.append((path, text))
    return files, None


BIND_MARK = "listens on loopback only."


def own_dropin(unit, dropin_name):
    """The text of the role's own drop-in of UNIT (root's: it is in a unit directory), or None."""
    code, out, _err = run(["systemctl", "show", unit, "-p", "DropInPaths"])
    if code != 0:
        return None
    for line in out.splitlines():
        if line.startswith("DropInPaths="):
            for path in line.split("=", 1)[1].split():
                if os.path.basename(path) == dropin_name:
                    return read_text(path)
    return None


def bound_before(text):
    """True when the role's drop-in TEXT holds a bind fix (its first line says so)."""
    return bool(text) and BIND_MARK in text.splitlines()[0]


def original_text(files):
    return "".join("# %s\n%s%s" % (path, text, "" if text.endswith("\n") else "\n") for path, text in files)


# ----------------------------------------------------------------------------------------------
# Plan
# ----------------------------------------------------------------------------------------------

def wide(scope):
    return scope not in ("loopback",)


def exposed_ports(runtime):
    ports = []
    for listener in runtime.get("listen") or []:
        if wide(listener.get("scope")) and listener.get("port") not in ports:
            ports.append(listener.get("port"))
    return ports


def describe_listeners(runtime):
    return ", ".join("%s %s:%s" % (item.get("protocol", "tcp"), item.get("address"), item.get("port"))
                     for item in runtime.get("listen") or [] if wide(item.get("scope"))) or "none"


def published_host_ports(runtime):
    ports = set()
    for container in runtime.get("containers") or []:
        for item in container.get("published") or []:
            if item.get("host_port") is not None:
                ports.add(item.get("host_port"))
    return ports


def service_units(runtime):
    """Names of the .service units whose processes hold the runtime's wide listeners.

    Listeners on ports that a container of the runtime publishes belong to the container engine
    and are left to container_findings(). Falls back to the runtime's units when the listeners
    carry no pid (no permission to see). Returns (units, unmanaged_pids).
    """
    by_pid = {}
    for process in runtime.get("processes") or []:
        by_pid[process.get("pid")] = process
    container_ports = published_host_ports(runtime)
    units, unmanaged, unknown_owner = [], [], False
    for listener in runtime.get("listen") or []:
        if not wide(listener.get("scope")) or listener.get("port") in container_ports:
            continue
        pid = listener.get("pid")
        if pid is None:
            unknown_owner = True
            continue
        unit = (by_pid.get(pid) or {}).get("unit")
        if unit and unit.endswith(".service") and not unit.startswith("user@"):
            if unit not in units:
                units.append(unit)
        elif pid not in unmanaged:
            unmanaged.append(pid)
    if unknown_owner and not units:
        for unit in runtime.get("units") or []:
            name = unit.get("name") if isinstance(unit, dict) else unit
            if name and name.endswith(".service") and name not in units:
                units.append(name)
    return units, unmanaged


def shown(value):
    """A host-supplied name (container, image, network) for a message: printable ASCII, quoted."""
    text = "".join(char if " " <= char <= "~" else "?" for char in str(value if value is not None else "?"))[:120]
    return json.dumps(text)


def plain(value, pattern=re.compile(r"^[0-9A-Za-z.:]{1,45}$")):
    """A port, protocol or address from the API as it is when it looks like one, else shown()."""
    text = str(value)
    return text if pattern.match(text) else shown(value)


def container_fix(container, item):
    """How to bind one published port of CONTAINER to loopback, by the kind of its network.

    Docker's default bridge takes daemon.json's "ip" as the address of ports published without one,
    when the container starts. A user-defined network (what Compose creates) ignores daemon.json's
    "ip": its own com.docker.network.bridge.host_binding_ipv4 option is that address.
    """
    mapping = "127.0.0.1:%s:%s" % (plain(item.get("host_port")), plain(item.get("container_port")))
    networks = container.get("networks") or []
    user = [network for network in networks if network.get("default_bridge") is False]
    if user:
        names = ", ".join(shown(network.get("name")) for network in user)
        return ("it is on user-defined network %s, where daemon.json's \"ip\" does not apply: publish it with "
                "-p %s (Compose: ports: [\"%s\"]), or give the network the option "
                "com.docker.network.bridge.host_binding_ipv4=127.0.0.1 (Compose: driver_opts: "
                "com.docker.network.bridge.host_binding_ipv4: \"127.0.0.1\"; a network's options are set "
                "when it is created) and recreate the container" % (names, mapping, mapping))
    if any(network.get("default_bridge") for network in networks):
        return ("it is on Docker's default bridge, where daemon.json's \"ip\" only applies to a port "
                "published without an address, when the container starts: recreate it with -p %s" % mapping)
    return "recreate it with -p %s" % mapping


def container_findings(runtime):
    findings = []
    for container in runtime.get("containers") or []:
        for item in container.get("published") or []:
            host_ip = item.get("host_ip") or ""
            if host_ip in ("127.0.0.1", "::1") or host_ip.startswith("127."):
                continue
            findings.append({
                "runtime": runtime.get("name"),
                "kind": "container_published",
                "message": "container %s (%s) publishes %s:%s -> %s/%s on every interface; %s" % (
                    shown(container.get("name")), shown(container.get("image")), plain(host_ip or "0.0.0.0"),
                    plain(item.get("host_port")), plain(item.get("container_port")), plain(item.get("protocol", "tcp")),
                    container_fix(container, item)),
            })
    return findings


def unit_environment(raw_values):
    """{NAME: value} from the raw Environment= values of a unit, applied in order."""
    values = {}
    for raw in raw_values:
        for _s, _e, word in tokenize(raw):
            if "=" in word:
                name, value = word.split("=", 1)
                values[name] = value
    return values


def finding(runtime, kind, message):
    return {"runtime": runtime.get("name"), "kind": kind, "message": message}


def unit_identity(files):
    """(user, group, dynamic) from the [Service] User=, Group= and DynamicUser= of the unit files."""
    user = group = None
    dynamic = False
    for _path, text in files:
        for key, value in service_assignments(text):
            if key == "User":
                user = value or None
            elif key == "Group":
                group = value or None
            elif key == "DynamicUser":
                dynamic = value.lower() in ("1", "yes", "true", "on")
    return user, group, dynamic


# A value moved from a command line into an environment file as it is (systemd would unquote others).
SECRET_VALUE = re.compile(r"^[A-Za-z0-9._~+/=:@-]{1,512}$")
GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@-]+\.service$")


def primary_group(user):
    """The name of the primary group of USER (a name or a uid), or None when unknown."""
    import grp
    import pwd
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        return grp.getgrgid(entry.pw_gid).gr_name
    except (KeyError, ValueError, OverflowError):
        return None


def token_group(files, lookup=None):
    """The group the unit's process runs with (Group=, else User='s primary group, else root).

    Returns (group, reason): group None with a reason when it cannot be told safely.
    """
    user, group, dynamic = unit_identity(files)
    if dynamic:
        return None, "it runs with DynamicUser=, whose group exists only while it runs"
    if group is None:
        group = "root" if user in (None, "root", "0") else (lookup or primary_group)(user)
        if group is None:
            return None, "the primary group of its User= is unknown"
    if not GROUP_NAME.match(group) or "%" in group:
        return None, "its Group= is not a plain group name"
    return group, None


def flag_values(exec_values, flags):
    """The values given to any of FLAGS on the command lines ("" for a bare flag or an empty value)."""
    values = []
    for raw in exec_values:
        tokens = tokenize(raw)
        for index, (_s, _e, word) in enumerate(tokens):
            for flag in flags:
                if word.startswith(flag + "="):
                    values.append(word[len(flag) + 1:])
                elif word == flag:
                    following = tokens[index + 1][2] if index + 1 < len(tokens) else None
                    values.append(following if following is not None and not following.startswith("-") else "")
    return values


def _matches(pattern, value):
    return value is not None and re.search(pattern or "", value) is not None


def set_environment(var, value, why, file_values, lines, changes, env_file_edits):
    """Set VAR to VALUE in the drop-in LINES, and in every environment file of FILE_VALUES that sets
    it too (EnvironmentFile= wins over Environment= whatever the order); record each change (WHY
    follows the drop-in's)."""
    lines.append(quote_env_assignment(var, value))
    changes.append("Environment: %s=%s%s" % (var, value, why))
    for path, values in file_values.items():
        if var in values:
            env_file_edits.append({"path": path, "name": var, "value": value})
            changes.append("%s: %s=%s" % (path, var, value))
            lines.insert(0, "# %s is also set in %s, which wins over Environment=: edited there (backup kept)."
                         % (var, path))


def plan_unit(runtime, unit, address, dropin_name, read_files=unit_files, read_file=read_text, bind=True,
              auth=None):
    """Plan the one drop-in (and environment-file edits) for one unit of a runtime.

    ``bind``: bind the runtime to loopback with its bind knob (its listeners are wide).
    ``auth``: None, or {"values": {name: [str]}, "token_dir": path}: apply the knob's
    ``auth_fixes`` (settings that open the API to anyone who reaches it) too, in the same drop-in.
    Both are planned from the unit as written (without the role's drop-in), so a second run plans
    the same drop-in. Returns (unit_plan or None, finding or None).
    """
    display = runtime.get("display_name") or runtime.get("name")
    knob = runtime.get("bind_knob") or {}
    kind = knob.get("kind")
    action = knob.get("action") or "set"
    what = knob.get("name") or "its bind address"
    if bind and kind not in ("env", "flag"):
        note = (" (%s)" % knob["note"]) if knob.get("note") else ""
        return None, finding(runtime, "unknown_knob",
                             "%s is bound beyond loopback by %s, and its bind setting is %s%s: this role does not "
                             "edit it; set it to %s by hand, or declare the exposure in "
                             "aihost_loopback_allowed_exposures" % (
                                 display, unit, "the config key %r" % what if kind == "config" else "not known",
                                 note, address))
    files, error = read_files(unit, dropin_name)
    if error:
        if not bind:
            return None, finding(runtime, "unit_unreadable",
                                 "%s runs from %s, which cannot be changed with a drop-in (%s): check its "
                                 "authentication settings by hand" % (display, unit, error))
        return None, finding(runtime, "unit_unreadable",
                             "%s runs from %s, which cannot be changed with a drop-in (%s): set %s to %s by hand"
                             % (display, unit, error, what, address))
    merged = merge_service(files)
    exec_values = merged["exec_start"]
    environment = unit_environment(merged["environment"])
    env_files = environment_file_paths(merged["environment_files"])
    file_values = {}
    for path, _optional in env_files:
        if "%" in path or "$" in path:
            return None, finding(runtime, "unit_unreadable", "%s loads EnvironmentFile=%s (with specifiers); %s by hand"
                                 % (unit, path, ("set %s to %s" % (what, address)) if bind
                                    else "check its authentication settings"))
        text = read_file(path)
        if text is not None:
            file_values[path] = parse_env_file(text)
    lines = []
    env_file_edits = []
    changes = []
    new_exec = None
    token_files = []
    secret_files = []  # [{"path", "content"}]: the content is a secret, kept out of ``units``
    auth_changes = []

    if bind:
        # A unit bound before (on loopback now) keeps the port it listens on.
        ports = exposed_ports(runtime) or _unique(item.get("port") for item in runtime.get("listen") or []
                                                  if item.get("protocol", "tcp") == "tcp") \
            or list(runtime.get("default_ports") or [])
        value = loopback_value(knob, address, ports[0] if ports else None)
        if value is None and action == "set":
            return None, finding(runtime, "unknown_knob", "%s: the port for %s is unknown; set %s by hand"
                                 % (display, what, what))
        flags, env_vars = knob_parts(knob)
        # Command line: the main flag must give loopback; an env knob's flag alternatives, when
        # used, override the variable, so they are rewritten too.
        flag_in_use = any(uses_flag(word, flag) or embeds_flag(word, flag)
                          for raw in exec_values for _s, _e, word in tokenize(raw) for flag in flags)
        if kind == "flag" or flag_in_use:
            if len(exec_values) != 1:
                return None, finding(runtime, "unsupported_unit", "%s has %d ExecStart= lines; set %s to %s by hand"
                                     % (unit, len(exec_values), what, address))
            try:
                new_exec, how = rewrite_flags(exec_values[0], flags, action if kind == "flag" else "set", value)
            except ValueError as exc:
                return None, finding(runtime, "unsupported_unit", "cannot rewrite ExecStart of %s safely (%s): set %s to %s by hand"
                                     % (unit, exc, what, address))
            changes.append(how + " (every other word as the unit has it)")
        # Environment: the env knob itself, and any alternative variable the unit already sets.
        wanted = []
        if kind == "env":
            wanted.append(knob.get("name"))
        if value is not None:
            for var in env_vars:
                if var not in wanted and (var in environment or any(var in v for v in file_values.values())):
                    wanted.append(var)
        for var in wanted:
            set_environment(var, value, "", file_values, lines, changes, env_file_edits)
        if not lines and new_exec is None:
            return None, finding(runtime, "unsupported_unit", "nothing to change in %s for %s; set %s to %s by hand"
                                 % (unit, display, what, address))

    auth_findings = []
    if auth is not None:
        for fix in knob.get("auth_fixes") or []:
            reason = fix.get("reason") or "it turns authentication off"
            if fix.get("kind") == "flag":
                fix_flags = [fix.get("name")] + list(fix.get("alternatives") or [])
                current = flag_values([new_exec] if new_exec is not None else exec_values, fix_flags)
                if not any(_matches(fix.get("match"), found) for found in current):
                    continue
                if len(exec_values) != 1:
                    auth_findings.append(finding(runtime, "unsupported_unit", "%s has %d ExecStart= lines; remove %s "
                                                 "by hand (%s)" % (unit, len(exec_values), fix.get("name"), reason)))
                    continue
                move_to = fix.get("move_to_env") if fix.get("action") == "move" else None
                if move_to and (len([found for found in current if found]) != 1 or not SECRET_VALUE.match(current[0])
                                or not UNIT_NAME.match(unit)):
                    auth_findings.append(finding(runtime, "unsupported_unit", "%s: %s is given more than once, or its "
                                                 "value has characters an environment file would change: move it to "
                                                 "%s in a root-only EnvironmentFile= by hand (%s)"
                                                 % (unit, fix.get("name"), move_to, reason)))
                    continue
                try:
                    new_exec, how = rewrite_flags(new_exec if new_exec is not None else exec_values[0], fix_flags,
                                                  "remove", None, any_value=True)
                except ValueError as exc:
                    auth_findings.append(finding(runtime, "unsupported_unit", "cannot rewrite ExecStart of %s safely "
                                                 "(%s): remove %s by hand (%s)" % (unit, exc, fix.get("name"), reason)))
                    continue
                auth_changes.append("%s (%s)" % (how, reason))
                if move_to:
                    path = "%s/%s.env" % (auth.get("token_dir") or "/etc/aihost/tokens", unit)
                    secret_files.append({"path": path, "content": "%s=%s\n" % (move_to, current[0])})
                    if "EnvironmentFile=%s" % path not in lines:
                        lines.append("EnvironmentFile=%s" % path)
                    auth_changes.append("EnvironmentFile: %s sets %s (owner root, mode 0600)" % (path, move_to))
            elif fix.get("kind") == "env":
                var = fix.get("name")
                target = ",".join(str(item) for item in (auth.get("values") or {}).get(fix.get("value_from"), []) or [])
                sources = ([environment[var]] if var in environment else []) + \
                    [values[var] for values in file_values.values() if var in values]
                in_files = [values[var] for values in file_values.values() if var in values]
                if not (any(_matches(fix.get("match"), found) for found in sources) or target in in_files):
                    continue
                set_environment(var, target, " (%s)" % reason, file_values, lines, auth_changes, env_file_edits)
            else:
                continue
            token_env = fix.get("token_env")
            if token_env and not any(item["env"] == token_env for item in token_files):
                group, why = token_group(files)
                if group is None or not UNIT_NAME.match(unit):
                    auth_findings.append(finding(runtime, "token_file", "%s: no token file was made for %s (%s): set "
                                                 "%s by hand" % (display, unit, why or "its name is unusual", token_env)))
                    continue
                path = "%s/%s.token" % (auth.get("token_dir") or "/etc/aihost/tokens", unit)
                token_files.append({"env": token_env, "path": path, "group": group})
                lines.append(quote_env_assignment(token_env, path))
                auth_changes.append("Environment: %s=%s (owner root, group %s, mode 0640)" % (token_env, path, group))
    changes.extend(auth_changes)
    if new_exec is not None:
        lines = ["ExecStart=", "ExecStart=%s" % new_exec] + lines
    if not lines:
        return None, (auth_findings[0] if auth_findings else None)
    if bind:
        header = ("# Managed by aihost.hardening.loopback: %s (%s) %s\n"
                  % (display, runtime.get("name"), BIND_MARK))
    else:
        header = "# Managed by aihost.hardening.loopback: %s (%s).\n" % (display, runtime.get("name"))
    if auth_changes:
        header += "# Its API requires authentication: settings that turned it off are removed.\n"
    header += ("# Undo with aihost_loopback_state=absent, or delete this file, run\n"
               "# 'systemctl daemon-reload' and restart %s.\n" % unit)
    comments = [line for line in lines if line.startswith("#")]
    settings = [line for line in lines if not line.startswith("#")]
    dropin = header + "".join(c + "\n" for c in comments) + "[Service]\n" + "".join(v + "\n" for v in settings)
    kept = []
    if bind:
        kept = [name for name in knob.get("read_only") or []
                if any(uses_flag(word, name) for raw in exec_values for _s, _e, word in tokenize(raw))
                or name in environment]
    if kept:
        changes.append("left as they are: %s (not a listen address)" % ", ".join(kept))
    return {"unit": unit, "runtime": runtime.get("name"), "knob_kind": kind if bind else "auth", "bind": bind,
            "dropin": dropin, "env_file_edits": env_file_edits, "original": original_text(files), "changes": changes,
            "auth_changes": auth_changes, "token_files": token_files, "secret_files": secret_files,
            "secret_paths": _unique(item["path"] for item in secret_files),
            "copies_command_line": new_exec is not None}, (auth_findings[0] if auth_findings else None)


def auth_units(runtime):
    """The .service units of a runtime's running processes (for the auth fixes, wide or not)."""
    units = []
    for process in runtime.get("processes") or []:
        unit = process.get("unit")
        if unit and unit.endswith(".service") and not unit.startswith("user@") and unit not in units:
            units.append(unit)
    return units


def auth_candidates(runtimes):
    """The detected runtimes whose knob has auth fixes, in the shape plan() takes (wide or not)."""
    out = []
    for runtime in runtimes:
        if not (runtime.get("bind_knob") or {}).get("auth_fixes"):
            continue
        out.append({"name": runtime.get("name"), "display_name": runtime.get("display_name"),
                    "bind_knob": runtime.get("bind_knob"), "listen": runtime.get("listen") or [],
                    "default_ports": runtime.get("default_ports") or [],
                    "processes": [{"pid": process.get("pid"), "unit": process.get("unit")}
                                  for process in runtime.get("processes") or []]})
    return out


def plan(request, read_files=unit_files, read_file=read_text, read_dropin=own_dropin):
    """The plan for the runtimes to rebind (``runtimes``) and, with ``auth_runtimes``, the auth fixes.

    A unit gets one drop-in whatever it needs: the bind fix, the auth fixes, or both. A unit on
    loopback whose drop-in from an earlier run holds the bind fix keeps it (the plan is made from
    the unit as written, which still says 0.0.0.0): ``exposed`` tells the units that listen beyond
    loopback now from those.
    """
    address = request.get("loopback_address", "127.0.0.1")
    dropin_name = request["dropin_name"]
    auth = None
    if request.get("auth_runtimes"):
        auth = {"values": request.get("auth_values") or {}, "token_dir": request.get("token_dir")}
    result = {"units": [], "dropins": {}, "originals": {}, "secrets": {}, "findings": [], "managed": []}
    work = []  # [runtime, unit, bind]
    for runtime in request.get("runtimes") or []:
        name = runtime.get("name")
        display = runtime.get("display_name") or name
        knob = runtime.get("bind_knob") or {}
        result["findings"].extend(container_findings(runtime))
        units, unmanaged = service_units(runtime)
        for pid in unmanaged:
            result["findings"].append({
                "runtime": name, "kind": "unmanaged_process",
                "message": "%s (pid %s) is not run by a systemd service, so it was left running: restart it "
                           "bound to %s (%s), or run it from a unit" % (display, pid, address, knob_hint(knob))})
        for unit in units:
            work.append((runtime, unit, True))
    planned = set(unit for _r, unit, _b in work)
    exposed = set(planned)
    for runtime in request.get("auth_runtimes") or []:
        for unit in auth_units(runtime):
            if unit not in planned:
                planned.add(unit)
                work.append((runtime, unit, bound_before(read_dropin(unit, dropin_name))))
    for runtime, unit, bind in work:
        name = runtime.get("name")
        display = runtime.get("display_name") or name
        try:
            unit_plan, problem = plan_unit(runtime, unit, address, dropin_name, read_files, read_file,
                                           bind=bind, auth=auth)
        except ValueError as exc:  # an unterminated quote in the unit, for one
            unit_plan, problem = None, finding(runtime, "unit_unreadable", "cannot parse %s (%s): %s by hand"
                                               % (unit, exc, ("bind %s to %s" % (display, address)) if bind
                                                  else "check the authentication settings of %s" % display))
        if problem:
            result["findings"].append(problem)
        if unit_plan:
            # The texts go by unit name, out of the list the role loops over.
            result["dropins"][unit] = unit_plan.pop("dropin")
            result["originals"][unit] = unit_plan.pop("original")
            secrets = unit_plan.pop("secret_files")
            if secrets:
                # One file per unit (<unit>.env), one line per moved value.
                result["secrets"][unit] = "".join(item["content"] for item in secrets)
            unit_plan["exposed"] = unit in exposed
            result["units"].append(unit_plan)
            if unit in exposed and name not in result["managed"]:
                result["managed"].append(name)
    return result


def knob_hint(knob):
    kind = knob.get("kind")
    name = knob.get("name")
    if kind == "env" and name:
        return "environment variable %s" % name
    if kind == "flag" and name:
        return "option %s" % name
    if kind == "config" and name:
        return "setting %s" % name
    return "see its documentation"


# ----------------------------------------------------------------------------------------------
# Which exposed runtimes to rebind, and the remote-access proxies (the role's inputs on this host)
# ----------------------------------------------------------------------------------------------

def _unique(values):
    return list(dict.fromkeys(values))


def _port_list(values):
    return ", ".join(str(value) for value in values)


def sort_exposed(runtimes, allowed_exposures):
    """Split the runtimes listening beyond loopback into those to rebind and notes on the rest.

    An instance is left alone when an allowed exposure with a non-loopback scope names one of its
    wide ports and names it or no runtime. A knob with ``ports`` moves only those (Ray: the
    dashboard); the others are reported. Returns (rebind, notes): ``rebind`` in the shape plan()
    takes, ``notes`` as findings ({runtime, kind, message}).
    """
    rebind, notes = [], []
    for runtime in runtimes:
        if runtime.get("exposure") not in ("all", "specific"):
            continue
        name = runtime.get("name")
        display = runtime.get("display_name") or name
        knob = runtime.get("bind_knob") or {}
        wide_ports = exposed_ports(runtime)
        knob_ports = knob.get("ports") or None
        movable = wide_ports if knob_ports is None else [port for port in wide_ports if port in knob_ports]
        covered = []
        for entry in allowed_exposures:
            if ((entry.get("scope") or "all") != "loopback" and int(entry.get("port")) in wide_ports
                    and (entry.get("runtime") or name) == name):
                covered.append(int(entry.get("port")))
        covered = _unique(covered)
        if covered:
            notes.append(finding(runtime, "allowed",
                                 "%s listens beyond loopback on port(s) %s, as aihost_loopback_allowed_exposures "
                                 "allows: left as it is" % (display, _port_list(covered))))
            uncovered = [port for port in wide_ports if port not in covered]
            if uncovered:
                notes.append(finding(runtime, "partly_allowed",
                                     "%s: aihost_loopback_allowed_exposures allows port(s) %s, so it was left as it "
                                     "is, but it also listens beyond loopback on %s; its bind setting moves all of "
                                     "them: allow them too or bind them by hand"
                                     % (display, _port_list(covered), _port_list(uncovered))))
            continue
        unmovable = [port for port in wide_ports if port not in movable]
        if unmovable:
            notes.append(finding(runtime, "unmovable",
                                 "%s listens beyond loopback on port(s) %s, which its bind setting cannot move: only "
                                 "the firewall keeps them off the network. %s"
                                 % (display, _port_list(unmovable), knob.get("note") or "")))
        if movable:
            rebind.append({
                "name": name, "display_name": runtime.get("display_name"), "bind_knob": runtime.get("bind_knob"),
                "listen": runtime.get("listen") or [],
                "processes": [{"pid": process.get("pid"), "unit": process.get("unit")}
                              for process in runtime.get("processes") or []],
                "units": [unit.get("name") if isinstance(unit, dict) else unit for unit in runtime.get("units") or []],
                "containers": runtime.get("containers") or [],
                "default_ports": runtime.get("default_ports") or [],
            })
    return rebind, notes


def _upstream_port(entry, ports, defaults):
    if entry.get("upstream_port") is not None:
        return int(entry["upstream_port"])
    if defaults and defaults[0] in ports:
        return defaults[0]
    if ports:
        return ports[0]
    return defaults[0] if defaults else None


def proxies(remote_access, runtimes, secrets_dir):
    """Each aihost_loopback_remote_access entry complete: its upstream port on this host and defaults."""
    out = []
    for index, entry in enumerate(remote_access):
        instances = [runtime for runtime in runtimes if runtime.get("name") == entry.get("runtime")]
        ports = _unique(item.get("port") for runtime in instances for item in runtime.get("listen") or []
                        if item.get("protocol") == "tcp")
        defaults = [port for runtime in instances for port in runtime.get("default_ports") or []]
        port = int(entry.get("port"))
        sources = entry.get("sources") or []
        out.append({
            "index": index,
            "runtime": entry.get("runtime"),
            "display_name": instances[0].get("display_name") if instances else entry.get("runtime"),
            "detected": bool(instances),
            "port": port,
            "sources": sources,
            "ipv6": any(":" in source for source in sources),
            "auth": entry.get("auth") or "token",
            "basic_user": entry.get("basic_user") or "aihost",
            "upstream_port": _upstream_port(entry, ports, defaults),
            "upstream_host_header": entry.get("upstream_host_header") or "upstream",
            "max_body_size": str(entry.get("max_body_size") or "16m"),
            "requests_per_minute": int(entry.get("requests_per_minute") or 120),
            "burst": int(entry.get("burst") or 40),
            "connections_per_client": int(entry.get("connections_per_client") or 16),
            "tls_cert": entry.get("tls_cert") or "%s/%s.crt" % (secrets_dir, port),
            "tls_key": entry.get("tls_key") or "%s/%s.key" % (secrets_dir, port),
            "self_signed": entry.get("tls_cert") is None,
        })
    return out


def proxy_errors(proxy_list, listeners):
    """Why a proxy cannot be set up here: no upstream, the runtime's own port, or a port in use."""
    errors = []
    for proxy in proxy_list:
        where = "aihost_loopback_remote_access[%d]" % proxy["index"]
        if proxy["upstream_port"] is None:
            errors.append("%s.runtime: %s is not detected on this host: start it first, or set upstream_port"
                          % (where, proxy["runtime"]))
        if proxy["upstream_port"] == proxy["port"]:
            errors.append("%s.port: %s is the runtime's own port; the proxy needs another one" % (where, proxy["port"]))
        for listener in listeners:
            if (listener.get("protocol") == "tcp" and listener.get("port") == proxy["port"]
                    and listener.get("process") != "nginx"):
                errors.append("%s.port: %s is already in use by %s (pid %s) on %s" % (
                    where, proxy["port"], listener.get("process") or "an unknown process", listener.get("pid"),
                    listener.get("address")))
    return _unique(errors)


def published(proxy_list):
    """The proxy ports in the shared allowed-exposures shape, for the firewall."""
    return [{"port": proxy["port"], "proto": "tcp", "sources": proxy["sources"], "runtime": proxy["runtime"],
             "process": "nginx", "scope": "all",
             "reason": "TLS reverse proxy with %s auth in front of %s" % (proxy["auth"], proxy["runtime"])}
            for proxy in proxy_list]
