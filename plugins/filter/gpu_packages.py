# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which GPU driver and CUDA packages the updates role holds, pins and releases (``gpu_hold_plan``).

Holds the role sets are recorded (``held_by_role`` in gpu-driver.json), so a policy switch releases
exactly those and never a hold the administrator set. Controller side, pure; documentation in
``gpu_hold_plan.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The packages whose version names the driver branch (Debian, Ubuntu and EL names).
DRIVER_PACKAGES = re.compile(r"^(nvidia-driver|nvidia-kernel|nvidia-open|libnvidia-compute|kmod-nvidia|nvidia-dkms)")


def _glob_regex(patterns):
    """Shell-style globs (* and ?) as one anchored regex; no pattern matches no name."""
    parts = [re.escape(pattern).replace("\\*", ".*").replace("\\?", ".") for pattern in patterns or []]
    return re.compile("^(%s)$" % "|".join(parts)) if parts else None


def _upstream_version(version):
    """A package version without its epoch: 1:550.54.15-1 -> 550.54.15-1."""
    return str(version).rsplit(":", 1)[-1]


def gpu_hold_plan(installed, selections=None, previous=None, patterns=None, exclude=None, driver_branch=None,
                  facts_branch=None, policy="hold"):
    """The plan: branch (and where it came from), hold, pinned, release, to_hold, to_release, versions.

    ``installed``: {name: [{version}]} (installed_packages); ``selections``: dpkg-query lines
    "<package> <want>"; ``previous``: the last gpu-driver.json; ``policy``: hold,
    security_within_branch or unmanaged.
    """
    installed = installed or {}
    include, skip = _glob_regex(patterns), _glob_regex(exclude)
    matched = sorted(name for name in installed
                     if include is not None and include.match(name) and not (skip is not None and skip.match(name)))
    versions = {name: str(installed[name][0].get("version")) for name in matched}
    driver_packages = [name for name in matched if DRIVER_PACKAGES.match(name)]
    if driver_branch not in (None, ""):
        branch, source = str(driver_branch), "aihost_updates_gpu_driver_branch"
    elif facts_branch:
        branch, source = str(facts_branch), "gpu_facts"
    elif driver_packages:
        branch = _upstream_version(versions[driver_packages[0]]).split(".")[0]
        source = "package " + driver_packages[0]
    else:
        branch, source = "", "none"
    pinned = []
    if policy == "security_within_branch" and branch:
        pinned = [name for name in matched if _upstream_version(versions[name]).startswith(branch + ".")]
    hold = [] if policy == "unmanaged" else [name for name in matched if name not in pinned]
    wants = {}
    for line in selections or []:
        fields = line.split(" ")
        if len(fields) == 2:
            wants[fields[0]] = fields[1]
    previous_own = (previous or {}).get("held_by_role", [])
    # Ours: held now because of the role, either recorded earlier or not held before this run.
    held_by_role = [name for name in hold if name in previous_own or wants.get(name, "install") != "hold"]
    release = sorted(name for name in previous_own if name in installed and name not in hold)
    return {"branch": branch, "branch_source": source, "hold": hold, "pinned": pinned, "release": release,
            "versions": versions, "held_by_role": held_by_role,
            "to_hold": [name for name in hold if wants.get(name) != "hold"],
            "to_release": [name for name in release if wants.get(name) == "hold"]}


class FilterModule(object):
    """aihost.hardening filters for the updates role's GPU packages."""

    def filters(self):
        return {"gpu_hold_plan": gpu_hold_plan}
