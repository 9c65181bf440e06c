# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Installed packages, read without the package managers' Python bindings.

A minimal Debian host has no python3-apt, and ``ansible.builtin.package_facts`` needs it (and the
rpm bindings on EL). dpkg keeps its database as text (/var/lib/dpkg/status, deb-control(5)
paragraphs), and ``rpm -qa --qf`` prints any fields asked for, so both are read here directly.

The result has the shape ``package_facts`` returns, ``{name: [{name, version, arch, ...}]}``, so the
expressions written against it (``'nginx' in ansible_facts.packages``,
``ansible_facts.packages[name][0].version``) keep working. As with python-apt, a package of a foreign
architecture (multiarch) is listed as ``name:arch``; native and ``all`` packages by their plain name.

Pure functions over text; the one reader of the host (``read_packages``) takes a root prefix and the
module, so unit tests feed fixtures.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

DPKG_STATUS = "var/lib/dpkg/status"

# dpkg's current states (the third word of Status:) in which the package's files are unpacked and
# configured: the trigger states only wait for another package's trigger to run. half-installed,
# unpacked, half-configured and config-files are not counted as installed.
DPKG_INSTALLED_STATES = frozenset(("installed", "triggers-awaiting", "triggers-pending"))

# One line per package, fields separated by tabs (no field of these can hold a tab or newline).
# EPOCH and ARCH print "(none)" where the header has none (gpg-pubkey entries have no arch).
RPM_QUERYFORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n"
_RPM_NONE = "(none)"

# What the package manager's Ansible module needs on the host to install anything: ansible.builtin.apt
# imports python3-apt (and installs it itself when it can, but fails in check mode without it).
INSTALLER_DEPENDENCIES = {"dpkg": ("python3-apt",), "rpm": ()}

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_FIELDS = ("Package", "Status", "Version", "Architecture", "Section")


class PackageReadError(Exception):
    """The package database could not be read (the message says which and why)."""


def dpkg_paragraphs(text, wanted=None):
    """Yield ``{field: value}`` (Package, Status, Version, Architecture, Section) per paragraph.

    ``wanted``: a set of package names, or a function of the name that says whether to keep it;
    paragraphs of other packages are skipped before their fields are parsed (the file holds one
    paragraph per package, often 1-3 MB). Continuation lines (multi-line fields such as Description
    and Conffiles) are ignored, as are malformed lines.
    """
    keep = wanted if wanted is None or callable(wanted) else wanted.__contains__
    for paragraph in _PARAGRAPH_BREAK.split(text or ""):
        fields = {}
        for line in paragraph.split("\n"):
            if not line or line[0] in " \t" or ":" not in line:
                continue
            key, value = line.split(":", 1)
            if key in _FIELDS:
                fields[key] = value.strip()
                if key == "Package" and keep is not None and not keep(fields[key]):
                    fields = None
                    break
        if fields and fields.get("Package"):
            yield fields


def dpkg_is_installed(fields):
    """True when the paragraph's Status (want flag status) says the files are installed."""
    status = fields.get("Status", "").split()
    return len(status) == 3 and status[2] in DPKG_INSTALLED_STATES and bool(fields.get("Version"))


def parse_dpkg_status(text, names):
    """Installed versions of the given Debian packages: ``{name: version}`` (dpkg's version string,
    epoch included). Packages that are not installed, or not among ``names``, are left out."""
    found = {}
    if not names:
        return found
    for fields in dpkg_paragraphs(text, wanted=set(names)):
        if dpkg_is_installed(fields):
            found[fields["Package"]] = fields["Version"]
    return found


def dpkg_native_arch(paragraphs):
    """The host's native architecture: the one dpkg itself is built for (None if dpkg is absent)."""
    for fields in paragraphs:
        if fields["Package"] == "dpkg" and dpkg_is_installed(fields):
            return fields.get("Architecture") or None
    return None


def parse_dpkg_packages(text):
    """Every installed package of a dpkg status text, in package_facts' shape.

    ``{key: [{"name", "version", "arch", "category", "source": "dpkg"}]}``; ``key`` (and ``name``) is
    ``package:arch`` for a package of a foreign architecture, else the package name.
    """
    installed = [fields for fields in dpkg_paragraphs(text) if dpkg_is_installed(fields)]
    native = dpkg_native_arch(installed)
    packages = {}
    for fields in installed:
        arch = fields.get("Architecture") or None
        name = fields["Package"]
        if native and arch not in (None, native, "all"):
            name = "%s:%s" % (name, arch)
        packages.setdefault(name, []).append({
            "name": name,
            "version": fields["Version"],
            "arch": arch,
            "category": fields.get("Section") or None,
            "source": "dpkg",
        })
    return packages


def parse_rpm_packages(text):
    """``rpm -qa --qf RPM_QUERYFORMAT`` output in package_facts' shape.

    ``{name: [{"name", "version", "release", "epoch", "arch", "source": "rpm"}]}``, one entry per
    installed instance (several kernels, several architectures). Lines that do not have the five
    fields are skipped.
    """
    packages = {}
    for line in (text or "").splitlines():
        parts = line.split("\t")
        if len(parts) != 5 or not parts[0]:
            continue
        name, epoch, version, release, arch = parts
        packages.setdefault(name, []).append({
            "name": name,
            "version": version,
            "release": release,
            "epoch": None if epoch == _RPM_NONE else epoch,
            "arch": None if arch == _RPM_NONE else arch,
            "source": "rpm",
        })
    return packages


def missing_packages(packages, required):
    """The names of ``required`` that are not keys of ``packages``, in order, each once."""
    missing = []
    for name in required or []:
        if name not in packages and name not in missing:
            missing.append(name)
    return missing


def packages_to_install(packages, required, manager, installer_dependencies=False):
    """``missing_packages``, then, when anything is missing and ``installer_dependencies`` is set,
    the packages the installing module needs itself (INSTALLER_DEPENDENCIES) that are not installed."""
    missing = missing_packages(packages, required)
    if missing and installer_dependencies:
        missing.extend(missing_packages(packages, [name for name in INSTALLER_DEPENDENCIES.get(manager, ())
                                                   if name not in missing]))
    return missing


def detect_manager(root, rpm_bin):
    """``dpkg`` when the dpkg database has content, else ``rpm`` when the rpm binary exists."""
    status = os.path.join(root, DPKG_STATUS)
    try:
        if os.path.getsize(status) > 0:
            return "dpkg"
    except OSError:
        pass
    if rpm_bin:
        return "rpm"
    return None


def read_packages(module, manager="auto", root="/"):
    """Read the host's installed packages. Returns ``(manager, packages)``.

    ``module``: an AnsibleModule (for get_bin_path and run_command). Raises PackageReadError.
    """
    rpm_bin = module.get_bin_path("rpm") if manager in ("auto", "rpm") else None
    if manager == "auto":
        manager = detect_manager(root, rpm_bin)
        if manager is None:
            raise PackageReadError(
                "found neither the dpkg database (/%s) nor the rpm command: this module reads dpkg "
                "(Debian, Ubuntu) or rpm (RHEL and its rebuilds, Fedora, SUSE) hosts" % DPKG_STATUS)
    if manager == "dpkg":
        path = os.path.join(root, DPKG_STATUS)
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except (IOError, OSError) as exc:
            raise PackageReadError("cannot read the dpkg database /%s: %s" % (DPKG_STATUS, exc))
        return manager, parse_dpkg_packages(text)
    if not rpm_bin:
        raise PackageReadError("the rpm command was not found")
    rc, out, err = module.run_command([rpm_bin, "-qa", "--qf", RPM_QUERYFORMAT],
                                      environ_update=dict(LANG="C", LC_ALL="C", LC_MESSAGES="C"))
    if rc != 0:
        raise PackageReadError("rpm -qa failed (rc %d): %s" % (rc, (err or out or "no output").strip()))
    return manager, parse_rpm_packages(out)
