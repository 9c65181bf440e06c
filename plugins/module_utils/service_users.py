# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the service_users role, for its modules (service_users_plan, systemd_exposure,
service_data_tree) and their unit tests.

- The rules that keep services off human and shared accounts (the account files are parsed by
  ``accounts``, whose ``parse_passwd``, ``parse_group`` and ``parse_login_defs`` are re-exported here).
- The plan: which units to manage, as which user, with which data directories (resolved through a
  ``Planner``, whose ``root`` prefix lets tests point it at a fixture tree) and which directives.
- ``parse_security``: the text of ``systemd-analyze security UNIT`` (UTF-8 and C locale glyphs).
- ``capped_mode`` / ``file_cap``: the mode rules of the data trees.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re
import shlex
import stat

from ansible_collections.aihost.hardening.plugins.module_utils import systemd_unit
from ansible_collections.aihost.hardening.plugins.module_utils.accounts import (  # noqa: F401 (re-exported)
    parse_group,
    parse_login_defs,
    parse_passwd,
)

try:
    import grp
    import pwd
except ImportError:  # pragma: no cover - not Linux
    grp = None
    pwd = None

_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_DIRECTIVE = re.compile(r"^[A-Z][A-Za-z]+$")
# Directories too wide to be an allowed root (their subdirectories may be).
_NOT_A_ROOT = ("/", "/usr", "/var", "/usr/local", "/usr/share")
# System state that lies under the allowed roots and that no runtime may own, even when declared:
# package databases, container engines, systemd, this collection's own state, logs and spools.
SYSTEM_TREES = (
    "/var/lib/dpkg", "/var/lib/apt", "/var/lib/aptitude", "/var/lib/ucf", "/var/lib/pam", "/var/lib/rpm",
    "/var/lib/dnf", "/var/lib/yum", "/var/lib/alternatives", "/var/lib/snapd", "/var/lib/flatpak",
    "/var/lib/docker", "/var/lib/containerd", "/var/lib/containers", "/var/lib/cni", "/var/lib/kubelet",
    "/var/lib/lxc", "/var/lib/lxd", "/var/lib/libvirt", "/var/lib/machines", "/var/lib/portables",
    "/var/lib/systemd", "/var/lib/private", "/var/lib/dbus", "/var/lib/polkit-1", "/var/lib/sudo",
    "/var/lib/AccountsService", "/var/lib/NetworkManager", "/var/lib/dhcp", "/var/lib/sss", "/var/lib/nfs",
    "/var/lib/cloud", "/var/lib/selinux", "/var/lib/authselect", "/var/lib/tpm2-tss", "/var/lib/grub",
    "/var/lib/initramfs-tools", "/var/lib/shim-signed", "/var/lib/os-prober", "/var/lib/misc",
    "/var/lib/update-notifier", "/var/lib/ubuntu-advantage", "/var/lib/aihost",
    "/var/cache/apt", "/var/cache/debconf", "/var/cache/ldconfig", "/var/cache/man", "/var/cache/dnf",
    "/var/cache/yum", "/var/cache/private", "/var/cache/fontconfig", "/var/cache/polkit-1",
    "/var/log", "/var/spool", "/var/mail", "/var/backups", "/opt/containerd",
)
# Homes that say nothing about who owns a tree.
_NO_HOME = ("", "/", "/nonexistent", "/dev/null")
# Directives that are lists in systemd: an empty assignment first resets what the unit set, so a
# wider list in the unit cannot survive under ours.
_RESET_FIRST = ("RestrictAddressFamilies", "DeviceAllow")


# --------------------------------------------------------------------------------------------
# Pure helpers (unit tested with fixture text)
# --------------------------------------------------------------------------------------------
def is_under(path, root):
    path, root = path.rstrip("/") or "/", root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/") or root == "/"


def account_problem(account, defs, non_login_shells):
    """Why an existing account may not serve as a service user, or None when it may."""
    uid, shell = account["uid"], account["shell"]
    if uid == 0:
        return "is root"
    if defs["UID_MIN"] <= uid <= defs["UID_MAX"]:
        return "is a human account (uid %d is within UID_MIN %d..UID_MAX %d)" % (uid, defs["UID_MIN"], defs["UID_MAX"])
    if shell not in non_login_shells:
        return "has a login shell (%s), so it is somebody's login account" % shell
    if uid < defs["SYS_UID_MIN"] or uid > defs["SYS_UID_MAX"]:
        return ("is a shared or distribution account (uid %d is outside SYS_UID_MIN %d..SYS_UID_MAX %d)"
                % (uid, defs["SYS_UID_MIN"], defs["SYS_UID_MAX"]))
    return None


def group_problem(group, defs):
    gid = group["gid"]
    if gid == 0:
        return "is the root group"
    if defs["GID_MIN"] <= gid <= defs["GID_MAX"]:
        return "is a human group (gid %d is within GID_MIN %d..GID_MAX %d)" % (gid, defs["GID_MIN"], defs["GID_MAX"])
    if gid < defs["SYS_GID_MIN"] or gid > defs["SYS_GID_MAX"]:
        return ("is a shared or distribution group (gid %d is outside SYS_GID_MIN %d..SYS_GID_MAX %d)"
                % (gid, defs["SYS_GID_MIN"], defs["SYS_GID_MAX"]))
    return None


def check_roots(allowed_roots, forbidden_trees, errors):
    """Normalised allowed roots; a root may not be "/", /usr, /var and the like, nor lie in a
    forbidden tree (homes, /etc, kernel file systems, program directories)."""
    roots = []
    for root in allowed_roots:
        if not isinstance(root, str) or not root.startswith("/"):
            errors.append("aihost_service_users_allowed_roots: %r is not an absolute path" % (root,))
            continue
        norm = os.path.normpath(root)
        if norm in _NOT_A_ROOT or any(is_under(norm, tree) for tree in forbidden_trees):
            errors.append("aihost_service_users_allowed_roots: %r is a system directory and cannot be an allowed root"
                          % root)
            continue
        roots.append(norm)
    return roots


def directive_lines(directives):
    lines, reset = [], set()
    for key, value in directives:
        if key in _RESET_FIRST and key not in reset:
            reset.add(key)
            if value != "":
                lines.append("%s=" % key)
        lines.append("%s=%s" % (key, value))
    return lines


def render_dropin(runtime, profile, directives):
    head = [
        "# Managed by aihost.hardening.service_users: edits are overwritten on the next run.",
        "# Runs %s as its own user in a systemd sandbox (profile: %s)." % (runtime, profile),
        "# Override single directives in a later drop-in (for example zz-local.conf), not here.",
        "[Service]",
    ]
    return "\n".join(head + directive_lines(directives)) + "\n"


def apply_changes(directives, changes, where, errors):
    """Apply {Directive: value | [values] | None} to the ordered pairs; None removes a directive."""
    if not changes:
        return directives
    if not isinstance(changes, dict):
        errors.append("%s must be a dictionary of systemd directives, got %r" % (where, changes))
        return directives
    result = list(directives)
    for key in sorted(changes):
        value = changes[key]
        if not isinstance(key, str) or not _DIRECTIVE.match(key):
            errors.append("%s: %r is not a systemd directive name" % (where, key))
            continue
        if key in ("User", "Group"):
            errors.append("%s: set the user with aihost_service_users_names, not %s=" % (where, key))
            continue
        if value is not None and not isinstance(value, (str, int, float, bool, list)):
            errors.append("%s: value of %s must be text, a list of texts or null, got %r" % (where, key, value))
            continue
        values = value if isinstance(value, list) else ([] if value is None else [value])
        bad = [v for v in values if "\n" in str(v)]
        if bad:
            errors.append("%s: value of %s may not contain a newline" % (where, key))
            continue
        rendered = []
        for v in values:
            if isinstance(v, bool):
                v = "yes" if v else "no"
            rendered.append(str(v))
        kept, inserted = [], False
        for pair in result:
            if pair[0] == key:
                if not inserted:
                    kept.extend([key, v] for v in rendered)
                    inserted = True
                continue
            kept.append(pair)
        if not inserted:
            kept.extend([key, v] for v in rendered)
        result = kept
    return result


def hidden_working_directory(path, homes):
    """True when a unit's WorkingDirectory= cannot work for a sandboxed service user: ``~`` (a created
    user's home may be /nonexistent), a directory ProtectHome=yes hides (/root, /home, /run/user), or
    the home of the user the runtime ran as before."""
    path = path.lstrip("-")
    if path.startswith("~"):
        return True
    path = os.path.normpath(path)
    return any(is_under(path, tree) for tree in ("/root", "/home", "/run/user") + tuple(homes))


def quote_path(path):
    """A path as one word of a systemd list setting: double-quoted when it holds blanks or quotes."""
    if not re.search(r"[\s\"'\\]", path):
        return path
    return '"%s"' % path.replace("\\", "\\\\").replace('"', '\\"')


def base_directives(user, group, data_dirs, gpu_host, device_allow, private_users, ip_allow, families):
    d = [["User", user], ["Group", group],
         ["NoNewPrivileges", "yes"],
         ["ProtectSystem", "strict"]]
    if data_dirs:
        d.append(["ReadWritePaths", " ".join(quote_path(p) for p in data_dirs)])
    d += [["ProtectHome", "yes"], ["PrivateTmp", "yes"]]
    if gpu_host:
        # A private /dev would hide the GPU nodes: keep the host's /dev, closed to all but these.
        d += [["PrivateDevices", "no"], ["DevicePolicy", "closed"]]
        d += [["DeviceAllow", "%s rw" % node] for node in device_allow]
    else:
        d.append(["PrivateDevices", "yes"])
    d += [["ProtectKernelTunables", "yes"], ["ProtectKernelModules", "yes"], ["ProtectKernelLogs", "yes"],
          ["ProtectControlGroups", "yes"], ["ProtectClock", "yes"], ["ProtectHostname", "yes"],
          ["ProtectProc", "invisible"],
          ["RestrictAddressFamilies", " ".join(["AF_UNIX", "AF_INET", "AF_INET6"] + list(families))],
          ["RestrictNamespaces", "yes"], ["LockPersonality", "yes"], ["RestrictRealtime", "yes"],
          ["RestrictSUIDSGID", "yes"], ["RemoveIPC", "yes"],
          ["CapabilityBoundingSet", ""], ["AmbientCapabilities", ""],
          ["SystemCallArchitectures", "native"],
          ["SystemCallFilter", "@system-service"],
          ["SystemCallFilter", "~@privileged"],
          ["SystemCallErrorNumber", "EPERM"],
          ["MemoryDenyWriteExecute", "yes"],
          ["UMask", "0027"]]
    if private_users and not gpu_host:
        # Supplementary groups are not mapped into the user namespace: never on GPU hosts, whose
        # device nodes are reached through the video/render groups.
        d.append(["PrivateUsers", "yes"])
    if ip_allow:
        d += [["IPAddressDeny", "any"], ["IPAddressAllow", " ".join(ip_allow)]]
    return d


def health_targets(runtime, units, listeners, override_ports, previous_ports):
    """(host, port) pairs to probe: the runtime's TCP listeners, else its units' ones."""
    targets = []

    def add(address, port):
        if address in ("0.0.0.0", "", None):
            host = "127.0.0.1"
        elif address == "::":
            host = "::1"
        else:
            host = address
        entry = {"host": host, "port": int(port)}
        if entry not in targets:
            targets.append(entry)

    if override_ports:
        for port in override_ports:
            add(None, port)
        return targets
    for entry in runtime.get("listen") or []:
        if entry.get("protocol", "tcp") == "tcp":
            add(entry.get("address"), entry["port"])
    for entry in listeners or []:
        if entry.get("protocol") == "tcp" and entry.get("unit") in units:
            add(entry.get("address"), entry["port"])
    if not targets:
        for unit in units:
            for port in previous_ports.get(unit) or []:
                add(None, port)
    return targets


def dropin_read_write_paths(text):
    """The paths of the ReadWritePaths= lines of a drop-in (an empty assignment resets the list)."""
    paths = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("ReadWritePaths="):
            continue
        value = line.split("=", 1)[1]
        if not value:
            paths = []
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        for word in words:
            word = word.lstrip("-+")
            if word.startswith("/"):
                paths.append(os.path.normpath(word))
    return paths


def other_homes(users, user):
    """{home: account} of every account but ``user``, for homes that name a directory of their own."""
    homes = {}
    for account in users.values():
        home = os.path.normpath(account["home"]) if account["home"] not in _NO_HOME else None
        if account["name"] != user and home and home not in _NOT_A_ROOT:
            homes.setdefault(home, account["name"])
    return homes


def data_dir_problem(name, real, roots, protected, forbidden, homes):
    """(kind, why) when ``real`` may not be a data directory of runtime ``name``, else None.

    kind: ``allowed_root`` (too wide: a root itself), ``outside`` (not under an allowed root) or
    ``system`` (a system directory or tree, or another account's home) - never acceptable.
    """
    var = "aihost_service_users_data_dirs.%s" % name
    if real in roots:
        return ("allowed_root", "%s is an allowed root itself; give %s a directory of its own, such as %s, in %s"
                % (real, name, os.path.join(real, name), var))
    if real in protected or real in _NOT_A_ROOT:
        return ("system", "%s is a system directory (aihost_service_users_protected_dirs); give %s a directory of its "
                          "own in %s" % (real, name, var))
    if not any(is_under(real, root) for root in roots):
        return ("outside", "%s is outside the allowed roots (%s); list the runtime's real data directories in %s or "
                           "extend aihost_service_users_allowed_roots" % (real, ", ".join(roots), var))
    for tree in tuple(forbidden) + SYSTEM_TREES:
        if is_under(real, tree):
            where = "%s holds" % real if real == tree else "%s is in %s, which holds" % (real, tree)
            return ("system", "%s the system's own state: no runtime may own it; give %s a directory of its own "
                              "in %s" % (where, name, var))
    for home in sorted(homes):
        if home in protected:  # an account whose home is /srv or /opt owns nothing there by that
            continue
        if is_under(real, home):
            return ("system", "%s is in %s, the home of the account %s: no runtime may own it; give %s a directory "
                              "of its own in %s" % (real, home, homes[home], name, var))
    return None


class Planner(object):
    """Everything the plan needs from the host, behind methods tests can replace."""

    def __init__(self, root="/"):
        self.root = root

    def _read(self, path):
        full = os.path.join(self.root, path.lstrip("/"))
        try:
            with open(full) as handle:
                return handle.read()
        except (IOError, OSError):
            return ""

    def passwd(self):
        return parse_passwd(self._read("/etc/passwd"))

    def group(self):
        return parse_group(self._read("/etc/group"))

    def login_defs(self):
        return parse_login_defs(self._read("/etc/login.defs"))

    # The files miss accounts from LDAP, sssd or NIS; useradd would then create a local account
    # that shadows a directory one of the same name. Ask NSS for each name the plan would use (a
    # lookup by name works where enumeration is off, as it is by default in sssd). Only on the live
    # host: a test root has no NSS of its own.
    def user(self, name):
        """The account NAME as NSS resolves it (parse_passwd's shape), or None."""
        if self.root not in ("/", "") or pwd is None:
            return None
        try:
            entry = pwd.getpwnam(name)
        except (KeyError, OverflowError, ValueError):
            return None
        return {"name": entry.pw_name, "uid": entry.pw_uid, "gid": entry.pw_gid, "home": entry.pw_dir,
                "shell": entry.pw_shell}

    def group_named(self, name):
        """The group NAME as NSS resolves it (parse_group's shape), or None."""
        if self.root not in ("/", "") or grp is None:
            return None
        try:
            entry = grp.getgrnam(name)
        except (KeyError, OverflowError, ValueError):
            return None
        return {"name": entry.gr_name, "gid": entry.gr_gid, "members": list(entry.gr_mem)}

    def realpath(self, path):
        full = os.path.join(self.root, path.lstrip("/"))
        real = os.path.realpath(full)
        if self.root not in ("/", ""):
            prefix = os.path.realpath(self.root)
            real = "/" + os.path.relpath(real, prefix) if real != prefix else "/"
            real = os.path.normpath(real)
        return real

    def kind(self, path):
        full = os.path.join(self.root, path.lstrip("/"))
        if os.path.isdir(full):
            return "dir"
        if os.path.exists(full):
            return "file"
        return None

    def unit_exists(self, unit):
        return any(self.kind(os.path.join(d, unit)) == "file" for d in UNIT_DIRS)

    def owner_uid(self, path):
        """Owner of ``path`` (after links), or None."""
        try:
            return os.stat(os.path.join(self.root, path.lstrip("/"))).st_uid
        except (IOError, OSError):
            return None

    def dropin_paths(self, unit):
        """ReadWritePaths= of the role's own drop-in of ``unit`` (root's file under /etc), or None
        when there is no such drop-in."""
        path = "/etc/systemd/system/%s.d/aihost-sandbox.conf" % unit
        if self.kind(path) != "file":
            return None
        return dropin_read_write_paths(self._read(path))


# Where systemd finds unit files (system instance), most specific first.
UNIT_DIRS = systemd_unit.unit_dirs("/")


def remembered_runtimes(runtimes, previous_state, host):
    """Units an earlier run managed that detection does not see now, as runtime entries.

    Detection can lose a runtime once it runs sandboxed as another user (its environment and open
    files are then readable only with CAP_SYS_PTRACE); the role keeps managing what it managed, as
    long as the unit file is still there. The recorded data directories are checked again.
    """
    seen = set()
    for runtime in runtimes:
        for unit in runtime.get("units") or []:
            seen.add(unit.get("name"))
    remembered = []
    for unit, record in sorted(((previous_state or {}).get("units") or {}).items()):
        if unit in seen or not isinstance(record, dict) or not record.get("runtime"):
            continue
        if not host.unit_exists(unit):
            continue
        remembered.append({
            "name": record["runtime"], "display_name": record.get("display_name") or record["runtime"],
            "units": [{"name": unit, "user": record.get("user"), "exec_start": None, "masked": False}],
            "run_as": [record["user"]] if record.get("user") else [],
            "data_paths": list(record.get("data_dirs") or []),
            "sandbox_profile": record.get("profile"), "listen": [], "processes": [], "containers": [],
            "remembered": True,
        })
    return remembered


def plan(params, host, catalog):
    errors, warnings, skipped, services = [], [], [], []
    users = host.passwd()
    groups = host.group()
    defs = host.login_defs()
    non_login = params["non_login_shells"]
    names = sorted(catalog)

    def unknown(var, keys):
        for key in keys:
            if key not in catalog:
                errors.append("%s: unknown runtime %r (known: %s)" % (var, key, ", ".join(names)))

    unknown("aihost_service_users_runtimes", params["select"])
    unknown("aihost_service_users_names", params["user_names"])
    unknown("aihost_service_users_data_dirs", params["data_dirs"])
    unknown("aihost_service_users_health_ports", params["health_ports"])
    unknown("aihost_service_users_overrides", params["overrides"])
    for key, value in params["user_names"].items():
        if not isinstance(value, str) or not _USER_NAME.match(value):
            errors.append("aihost_service_users_names: %r for runtime %s is not a valid user name "
                          "(lower case letters, digits, _ and -, at most 32 characters)" % (value, key))
    for key, value in params["data_dirs"].items():
        if not isinstance(value, list) or not all(isinstance(p, str) and p.startswith("/") for p in value):
            errors.append("aihost_service_users_data_dirs: %s must be a list of absolute paths, got %r" % (key, value))
    for key, value in params["health_ports"].items():
        if (not isinstance(value, list)
                or not all(isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in value)):
            errors.append("aihost_service_users_health_ports: %s must be a list of ports 1-65535, got %r" % (key, value))
    profiles = params["profiles"]
    for key in profiles:
        if not isinstance(profiles[key], dict):
            errors.append("aihost_service_users_profiles: %s must be a dictionary of directives" % key)
    patterns = []
    for pattern in params["gpu_device_patterns"]:
        try:
            patterns.append(re.compile(pattern))
        except re.error as exc:
            errors.append("aihost_service_users_gpu_device_patterns: %r is not a regular expression (%s)" % (pattern, exc))
    for family in params["extra_address_families"]:
        if not re.match(r"^AF_[A-Z0-9]+$", family or ""):
            errors.append("aihost_service_users_extra_address_families: %r is not an address family name (AF_...)" % family)
    roots = check_roots(params["allowed_roots"], params["forbidden_trees"], errors)
    protected = set(os.path.normpath(p) for p in params["protected_dirs"])

    # --- GPU --------------------------------------------------------------------------------
    gpu = params["gpu"] or {}
    nodes = [n for n in gpu.get("device_nodes") or [] if isinstance(n, dict) and n.get("path")]
    allowed_nodes = sorted(set(n["path"] for n in nodes if any(p.search(n["path"]) for p in patterns)))
    if params["gpu_mode"] == "always":
        gpu_host = True
    elif params["gpu_mode"] == "never":
        gpu_host = False
    else:
        gpu_host = bool(gpu.get("present")) or bool(allowed_nodes)
    nvidia_nodes = [n for n in nodes if n.get("kind") == "nvidia"]
    has_nvidia = gpu_host and (bool(nvidia_nodes) or any(
        (g or {}).get("vendor") == "nvidia" for g in gpu.get("gpus") or []))
    nvidia_group = groups.get(params["nvidia_group"])
    target_mode = params["nvidia_device_mode"]
    pending = []
    if has_nvidia:
        for node in nvidia_nodes:
            reasons = []
            if node.get("mode") != target_mode:
                reasons.append("mode %s, target %s" % (node.get("mode"), target_mode))
            if nvidia_group is None or node.get("gid") != nvidia_group["gid"]:
                reasons.append("group %s, target %s" % (node.get("group"), params["nvidia_group"]))
            if node.get("uid") not in (0, None):
                reasons.append("owner %s, target root" % node.get("owner"))
            if reasons:
                pending.append({"path": node["path"], "mode": node.get("mode"), "group": node.get("group"),
                                "reason": "; ".join(reasons)})
    losing = []
    if has_nvidia:
        members = set(nvidia_group["members"]) if nvidia_group else set()
        for account in sorted(users.values(), key=lambda a: a["uid"]):
            if account["shell"] in non_login or not (defs["UID_MIN"] <= account["uid"] <= defs["UID_MAX"]):
                continue
            if account["name"] in members or (nvidia_group and account["gid"] == nvidia_group["gid"]):
                continue
            losing.append(account["name"])
    gpu_plan = {
        "host_has_gpu": gpu_host,
        "device_allow": allowed_nodes if gpu_host else [],
        "nvidia": has_nvidia,
        "nvidia_group": params["nvidia_group"],
        "nvidia_group_gid": nvidia_group["gid"] if nvidia_group else None,
        "nvidia_device_mode": target_mode,
        "pending_nodes": pending,
        "users_losing_access": losing,
        "groups_missing": [g for g in params["gpu_groups"] if g not in groups] if gpu_host else [],
        "summary": gpu.get("summary"),
    }
    if has_nvidia and params["nvidia_device_files"] and (pending or losing):
        warnings.append("NVIDIA device nodes will become %s root:%s when the nvidia module is next loaded (reboot)%s: "
                        "local users outside the %s group then lose GPU access (CUDA, nvidia-smi)%s; add those who need it "
                        "with: usermod -aG %s USER"
                        % (target_mode, params["nvidia_group"],
                           "; today %s" % ", ".join("%s is %s %s" % (n["path"], n["mode"], n["group"]) for n in pending[:4])
                           if pending else "",
                           params["nvidia_group"],
                           " - that is: %s" % ", ".join(losing) if losing else "",
                           params["nvidia_group"]))
    if gpu_host and has_nvidia and not any(n["path"].startswith("/dev/nvidia-uvm") for n in nvidia_nodes):
        warnings.append("no /dev/nvidia-uvm node exists: CUDA creates it through the setuid nvidia-modprobe, which "
                        "NoNewPrivileges blocks; load nvidia-uvm at boot (modules-load.d) so the node exists")

    # --- Runtimes ---------------------------------------------------------------------------
    seen_users, claimed_dirs, refused = {}, {}, []
    previous_units = (params["previous_state"] or {}).get("units") or {}
    if not isinstance(previous_units, dict):
        previous_units = {}
    previous_ports = {}
    for unit, record in ((params["previous_state"] or {}).get("units") or {}).items():
        if isinstance(record, dict):
            previous_ports[unit] = [p.get("port") for p in record.get("ports") or []
                                    if isinstance(p, dict) and isinstance(p.get("port"), int)]
    runtimes = list(params["runtimes"]) + remembered_runtimes(params["runtimes"], params["previous_state"], host)

    def settled_first(runtime):
        """Runtimes with declared or pinned directories claim them before newly detected ones."""
        name = runtime.get("name") or ""
        unit_names = [u.get("name") for u in runtime.get("units") or []]
        settled = name in params["data_dirs"] or any(
            isinstance(previous_units.get(u), dict) and previous_units[u].get("runtime") == name for u in unit_names)
        return (not settled, name, unit_names)

    for runtime in sorted(runtimes, key=settled_first):
        name = runtime.get("name")
        if not name:
            continue
        if params["select"] and name not in params["select"]:
            skipped.append({"runtime": name, "reason": "not listed in aihost_service_users_runtimes"})
            continue
        units = [u for u in runtime.get("units") or [] if u.get("name") and not u.get("masked")]
        unit_names = [u["name"] for u in units]
        if not units:
            reason = "runs in a container" if runtime.get("containers") else "has no systemd unit"
            skipped.append({"runtime": name, "reason": reason})
            continue
        entry = catalog.get(name, {})
        where = "runtime %s (%s)" % (name, ", ".join(unit_names))
        errors_before = len(errors)

        # Who runs it now.
        run_as = sorted(set([u for u in runtime.get("run_as") or [] if u] + [u.get("user") or "root" for u in units]))
        movers = [u for u in run_as if u == "root" or (u in users and account_problem(users[u], defs, non_login))]

        # Service user: configured, else the unit's current system user, else the catalog name.
        user = params["user_names"].get(name)
        if not user:
            current = [u.get("user") for u in units if u.get("user") and u.get("user") != "root"]
            if len(set(current)) == 1 and current[0] in users and not account_problem(users[current[0]], defs, non_login):
                user = current[0]
            else:
                user = name
        if not _USER_NAME.match(user):
            errors.append("%s: service user name %r is not a valid user name; set aihost_service_users_names.%s"
                          % (where, user, name))
            continue
        if user in seen_users and seen_users[user] != name:
            errors.append("aihost_service_users_names: user %r would serve both %s and %s; each runtime needs its own"
                          % (user, seen_users[user], name))
        seen_users[user] = name
        if user not in users:
            found = host.user(user)
            if found:
                users[user] = found
        account = users.get(user)
        group_name = user
        if group_name not in groups:
            found = host.group_named(group_name)
            if found:
                groups[group_name] = found
        group_exists = group_name in groups
        if account:
            problem = account_problem(account, defs, non_login)
            if problem:
                errors.append("aihost_service_users_names: user %r for %s %s; refusing to run a service as it "
                              "(choose another name)" % (user, where, problem))
                continue
            primary = [g for g in groups.values() if g["gid"] == account["gid"]]
            group_name = primary[0]["name"] if primary else str(account["gid"])
            group_exists = True
            action = "adopt"
        else:
            action = "create"
            if group_exists:
                problem = group_problem(groups[group_name], defs)
                if problem:
                    errors.append("aihost_service_users_names: group %r for %s %s; choose another user name"
                                  % (group_name, where, problem))
                    continue

        # Data directories. Declared ones (the variable) replace everything and a bad one is an error.
        # Otherwise the set pinned at the first adoption (state file, and the role's own drop-in) is
        # used; a directory the runtime reports later - from its argv, environment or working
        # directory, all of which it controls - is accepted only when its service user already owns
        # it. Anything else is not handed over: a warning and a record in the state file. At the first
        # adoption a detected directory that cannot be accepted leaves the runtime as it is.
        homes = set()
        for previous in movers:
            if previous in users and users[previous]["home"] not in ("", "/"):
                homes.add(os.path.normpath(users[previous]["home"]))
        others = other_homes(users, user)
        configured = name in params["data_dirs"]
        var = "aihost_service_users_data_dirs.%s" % name
        profile = runtime.get("sandbox_profile") or entry.get("sandbox_profile") or "default"
        records = [previous_units[u] for u in unit_names
                   if isinstance(previous_units.get(u), dict) and previous_units[u].get("runtime") == name]
        pinned = set(os.path.normpath(d) for r in records for d in r.get("data_dirs") or []
                     if isinstance(d, str) and d.startswith("/"))
        adopted_before = bool(records)
        # A state file that lost them (issue #17) does not drop what the role's drop-in made writable;
        # paths set through a profile or an override are theirs, not data directories.
        by_directive = set()
        for changes in (profiles.get(profile), params["overrides"].get(name)):
            value = (changes or {}).get("ReadWritePaths") if isinstance(changes, dict) else None
            for item in (value if isinstance(value, list) else [value] if value else []):
                by_directive.update(dropin_read_write_paths("ReadWritePaths=%s" % item))
        for unit_name in unit_names:
            written = host.dropin_paths(unit_name)
            if written is not None:
                adopted_before = True
                pinned.update(p for p in written if p not in by_directive)
        program_paths = set()
        for process in runtime.get("processes") or []:
            for path in [process.get("exe")] + list((process.get("cmdline") or [])[:2]):
                if path and path.startswith("/"):
                    program_paths.add(os.path.normpath(path))
        for unit in units:
            argv = unit.get("exec_start") or []
            if argv and argv[0].startswith("/"):
                program_paths.add(os.path.normpath(argv[0]))

        def problem_of(real):
            found = data_dir_problem(name, real, roots, protected, params["forbidden_trees"], others)
            if found:
                return found
            inside = sorted(p for p in program_paths if is_under(p, real))
            if inside:
                return ("program", "%s contains the runtime's program (%s); giving the service write access to its own "
                                   "code defeats the sandbox: list only its data directories in %s"
                        % (real, ", ".join(inside), var))
            return None

        data_dirs, missing, left_behind, refusals = [], [], [], []

        def resolve(raw):
            kind = host.kind(raw)
            real = host.realpath(raw)
            if kind == "file":
                real = os.path.dirname(real)
            return kind, real

        def shown(raw, real):
            return raw if real == os.path.normpath(raw) else "%s (resolves to %s)" % (raw, real)

        if configured:
            for raw in params["data_dirs"].get(name) or []:
                if not isinstance(raw, str) or not raw.startswith("/"):
                    continue
                kind, real = resolve(raw)
                if kind is None:
                    missing.append(os.path.normpath(raw))
                found = problem_of(real)
                if found:
                    errors.append("%s: %s%s" % (var, "" if real == os.path.normpath(raw) else "%s resolves to %s: " % (raw, real),
                                                found[1]))
                    continue
                data_dirs.append(real)
            dropped = sorted(p for p in pinned if not any(is_under(p, d) for d in data_dirs))
            if dropped:
                warnings.append("%s: %s, made writable by an earlier run, %s no longer writable: %s does not list %s"
                                % (where, ", ".join(dropped), "is" if len(dropped) == 1 else "are", var,
                                   "it" if len(dropped) == 1 else "them"))
        else:
            for raw in sorted(pinned):
                kind, real = resolve(raw)
                found = problem_of(real)
                if found:
                    refusals.append({"path": raw, "kind": found[0], "reason": "pinned by an earlier run, but " + found[1]})
                    continue
                if kind is None:
                    missing.append(real)
                data_dirs.append(real)
            for raw in runtime.get("data_paths") or []:
                if not isinstance(raw, str) or not raw.startswith("/"):
                    continue
                kind, real = resolve(raw)
                if kind is None or any(is_under(real, d) for d in data_dirs):
                    continue
                if any(is_under(real, home) for home in homes):
                    left_behind.append(real)
                    continue
                found = problem_of(real)
                if found:
                    refusals.append({"path": shown(raw, real), "kind": found[0], "reason": found[1]})
                elif not adopted_before:
                    data_dirs.append(real)
                elif account and host.owner_uid(real) == account["uid"]:
                    data_dirs.append(real)
                else:
                    refusals.append({"path": shown(raw, real), "kind": "not_pinned",
                                     "reason": "%s was not a data directory when %s was adopted and %s does not own it; "
                                               "if %s really keeps data there, list all its data directories in %s"
                                               % (real, name, user, name, var)})
        # Keep the outermost directories only.
        data_dirs = sorted(set(data_dirs))
        data_dirs = [d for d in data_dirs if not any(d != o and is_under(d, o) for o in data_dirs)]
        missing = sorted(set(m for m in missing if m in data_dirs or configured))
        for d in list(data_dirs):
            for other_dir, (other, other_declared) in sorted(claimed_dirs.items()):
                if other != name and (is_under(d, other_dir) or is_under(other_dir, d)):
                    if configured and other_declared:
                        errors.append("data directory %s of %s overlaps %s of %s: each runtime needs its own"
                                      % (d, name, other_dir, other))
                    else:
                        refusals.append({"path": d, "kind": "overlap",
                                         "reason": "%s overlaps %s, the data directory of %s: each runtime needs its own; "
                                                   "set %s" % (d, other_dir, other, var)})
                        if d in data_dirs:
                            data_dirs.remove(d)
        if refusals and not adopted_before and not configured:
            # Never adopt a runtime half-way: without its real data directories it would break.
            reasons = "; ".join("%s" % r["reason"] for r in refusals)
            warnings.append("%s is left as it is (not adopted, no sandbox): %s" % (where, reasons))
            skipped.append({"runtime": name, "reason": "not adopted: %s" % reasons})
            for r in refusals:
                refused.append(dict(r, runtime=name, units=unit_names, variable=var, adopted=False))
            continue
        for r in refusals:
            warnings.append("%s reports the data directory %s, which is not handed over: %s"
                            % (where, r["path"], r["reason"]))
            refused.append(dict(r, runtime=name, units=unit_names, variable=var, adopted=True))
        for d in data_dirs:
            claimed_dirs[d] = (name, configured)
        if left_behind:
            warnings.append("%s: %s stay in the home of %s and are not migrated; the service user %s starts with its own "
                            "home%s" % (where, ", ".join(sorted(set(left_behind))), "/".join(movers), user,
                                        " (%s)" % data_dirs[0] if data_dirs else ""))
        if not data_dirs:
            warnings.append("%s has no data directory: it can write only to its private /tmp; list its directories in "
                            "aihost_service_users_data_dirs.%s if it keeps state" % (where, name))

        # Directives.
        if profile not in profiles:
            errors.append("%s: sandbox profile %r from the catalog is not defined in aihost_service_users_profiles (defined: %s)"
                          % (where, profile, ", ".join(sorted(profiles))))
            continue
        directives = base_directives(user, group_name, data_dirs, gpu_host, gpu_plan["device_allow"],
                                     params["private_users"], params["ip_address_allow"],
                                     params["extra_address_families"])
        unreachable_cwd = sorted(set(cwd.lstrip("-") for cwd in
                                     (u.get("working_directory_unsandboxed", u.get("working_directory")) for u in units)
                                     if cwd and hidden_working_directory(cwd, homes)))
        if unreachable_cwd:
            # ProtectHome= hides /root and /home, and the old home is not the new user's: the unit
            # would fail with status 200/CHDIR. Start it in its data directory instead.
            start_in = data_dirs[0] if data_dirs else "/"
            directives.insert(2, ["WorkingDirectory", quote_path(start_in)])
            warnings.append("%s: WorkingDirectory=%s is hidden from the service user by the sandbox; the drop-in sets "
                            "WorkingDirectory=%s (override it in aihost_service_users_overrides.%s)"
                            % (where, ", ".join(unreachable_cwd), start_in, name))
        directives = apply_changes(directives, profiles.get(profile), "aihost_service_users_profiles.%s" % profile, errors)
        directives = apply_changes(directives, params["overrides"].get(name), "aihost_service_users_overrides.%s" % name,
                                   errors)
        if len(errors) > errors_before:
            continue
        services.append({
            "runtime": name,
            "display_name": runtime.get("display_name") or entry.get("display_name") or name,
            "units": unit_names,
            "user": user,
            "group": group_name,
            "user_action": action,
            "group_exists": group_exists,
            "uid": account["uid"] if account else None,
            "home": data_dirs[0] if data_dirs else "/nonexistent",
            "previous_run_as": run_as,
            "moves": bool(movers),
            "remembered": bool(runtime.get("remembered")),
            "data_dirs": data_dirs,
            "missing_data_dirs": missing,
            "refused_data_dirs": [r for r in refused if r["runtime"] == name],
            "left_behind": sorted(set(left_behind)),
            "profile": profile,
            "directives": directives,
            "dropin": render_dropin(name, profile, directives),
            "health": health_targets(runtime, unit_names, params["listeners"], params["health_ports"].get(name),
                                     previous_ports),
        })
    units_seen = {}
    for service in services:
        for unit in service["units"]:
            if unit in units_seen:
                errors.append("unit %s belongs to both %s and %s" % (unit, units_seen[unit], service["runtime"]))
            units_seen[unit] = service["runtime"]
    for name in params["select"]:
        if name in catalog and name not in [s["runtime"] for s in services] \
                and name not in [s["runtime"] for s in skipped if s["reason"] != "not listed in aihost_service_users_runtimes"]:
            warnings.append("aihost_service_users_runtimes lists %s, but it was not detected on this host" % name)
    # Units an earlier run managed that this run leaves alone (not selected) keep their record.
    retained = sorted(unit for unit in ((params["previous_state"] or {}).get("units") or {})
                      if unit not in units_seen and host.unit_exists(unit))
    services.sort(key=lambda service: (service["runtime"], service["units"]))
    return {"services": services, "skipped": skipped, "gpu": gpu_plan, "login_defs": defs, "retained_units": retained,
            "refused": refused, "warnings": warnings, "errors": errors}


# --------------------------------------------------------------------------------------------
# systemd-analyze security
# --------------------------------------------------------------------------------------------
_OVERALL = re.compile(r"Overall exposure level for (\S+):\s+([0-9]+(?:\.[0-9]+)?)\s+([A-Z]+)")
# A failing check: a cross ("\u2717" in UTF-8 locales, "-" in the C locale), then name, description
# and the exposure it adds; passing checks start with a tick ("+" in C) and carry no number.
_FAILING = re.compile(r"^(?:\u2717|-)\s+(\S+)\s+(.*?)\s+([0-9]+\.[0-9]+)\s*$")


def parse_security(text):
    """Return {score, rating, failing} from `systemd-analyze security UNIT` output, or None."""
    match = _OVERALL.search(text)
    if not match:
        return None
    failing = []
    for line in text.splitlines():
        hit = _FAILING.match(line)
        if hit:
            failing.append({"name": hit.group(1), "description": hit.group(2), "exposure": float(hit.group(3))})
    return {"score": float(match.group(2)), "rating": match.group(3), "failing": failing}


# --------------------------------------------------------------------------------------------
# Data trees
# --------------------------------------------------------------------------------------------
def capped_mode(current, maximum, minimum):
    """Permission bits after capping at ``maximum``; ``minimum`` bits are always set."""
    return (stat.S_IMODE(current) & maximum) | minimum


def file_cap(name, file_mode, private_mode, patterns):
    """(highest mode, is private) of a file called ``name``."""
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
        return private_mode, True
    return file_mode, False
