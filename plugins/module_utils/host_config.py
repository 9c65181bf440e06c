# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host-configuration checks of the audit: firewall state, automatic updates, data-path modes and
package versions.

Two layers, so unit tests feed fixture text to the parsing and a fake module to the reading:

- ``read_sections(module, data_paths, packages)`` reads the host (read-only commands as argv lists,
  ``os.lstat``) and returns raw text per section: ``nft_ruleset``, ``firewalld``, ``ufw``,
  ``apt_periodic``, ``unattended_upgrades``, ``dnf_timers``, ``data_paths``, ``packages`` (and
  ``iptables`` when a caller supplies it). The sections are the ones the audit role's former
  ``host_checks.sh`` printed, line for line.
- ``summarize(sections)`` is pure: sections -> the ``host_checks`` dictionary of the audit report
  (``firewall``, ``automatic_updates``, ``data_path_modes``, ``packages``). ``split_sections`` turns the
  ``@@name`` text form into sections (fixtures and older callers use it).

Standard library only: this runs on targets (aihost.hardening.host_audit_facts) and on the
controller (the audit filters).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import platform
import pwd
import re
import socket
import stat as stat_module

SECTIONS = ("nft_ruleset", "firewalld", "ufw", "apt_periodic", "unattended_upgrades", "dnf_timers",
            "data_paths", "packages")
DNF_TIMERS = ("dnf-automatic.timer", "dnf-automatic-install.timer", "dnf5-automatic.timer")
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
             "/usr/lib/systemd/system", "/lib/systemd/system")
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


def nft_filters_input(ruleset):
    """True when an nftables chain hooked on input drops by policy or has a drop/reject rule."""
    chain = None
    for raw in (ruleset or "").splitlines():
        line = raw.strip()
        if line.startswith("chain "):
            chain = {"input": False}
        elif chain is not None:
            if re.search(r"\bhook input\b", line):
                chain["input"] = True
                if re.search(r"\bpolicy drop\b", line):
                    return True
            elif chain["input"] and re.search(r"\b(drop|reject)\b", line):
                return True
            elif line == "}":
                chain = None
    return False


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
    nft_filtering = nft_filters_input(ruleset)
    firewalld = first("firewalld") == "active"
    ufw = any(line.strip().lower().startswith("status: active") for line in body("ufw"))
    iptables_policy_drop = any(re.match(r"^-P INPUT (DROP|REJECT)", line) for line in body("iptables"))
    iptables_rules = any(re.match(r"^-A INPUT .*-j (DROP|REJECT)", line) for line in body("iptables"))
    firewall_active = bool(nft_filtering or firewalld or ufw or iptables_policy_drop or iptables_rules)
    firewall_evidence = []
    if nft_filtering:
        firewall_evidence.append("nftables input chain drops or rejects")
    if firewalld:
        firewall_evidence.append("firewalld is active")
    if ufw:
        firewall_evidence.append("ufw is active")
    if iptables_policy_drop or iptables_rules:
        firewall_evidence.append("iptables INPUT drops or rejects")
    if not firewall_evidence:
        firewall_evidence.append("no nftables input chain that drops, firewalld inactive, ufw inactive or "
                                 "missing, no iptables INPUT drop")

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
                     "firewalld_active": firewalld, "ufw_active": ufw},
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
