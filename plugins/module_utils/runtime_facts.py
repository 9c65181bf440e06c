# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aihost_runtime facts tree, as one function both facts modules call.

``aihost.hardening.ai_runtime_facts`` and ``aihost.hardening.host_audit_facts`` share this code: the
argument spec of the runtime options, the option checks, the host read (``gather``) and the runner
of the catalog's version commands. Standard library only (it runs on targets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.aihost.hardening.plugins.module_utils import fs_trust
from ansible_collections.aihost.hardening.plugins.module_utils import procfs
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_detect
from ansible_collections.aihost.hardening.plugins.module_utils.container_api import (
    inspect_container, list_containers, normalise_image)
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import (
    CatalogError, load_catalog)

# The runtime options, shared by every module that returns aihost_runtime.
ARGUMENT_SPEC = dict(
    catalog_extra=dict(type="raw"),
    catalog_errors=dict(type="str", default="fail", choices=["fail", "warn"]),
    include_udp=dict(type="bool", default=True),
    collect_versions=dict(type="bool", default=True),
    version_commands=dict(type="bool", default=False),
    docker_socket=dict(type="path", default="/var/run/docker.sock"),
    podman_socket=dict(type="path", default="/run/podman/podman.sock"),
    container_api_timeout=dict(type="float", default=1.0),
)

VERSION_COMMAND_TIMEOUT = 5


class RuntimeFactsError(Exception):
    """Bad options or a host this module cannot read: the message is the module's failure message."""


def gather(catalog, root="/", include_udp=True, collect_versions=True, container_sockets=(),
           container_api_timeout=1.0, run_version_command=None, warnings=None):
    """Read the host (under ``root``) and build the facts."""
    warnings = [] if warnings is None else warnings
    listeners = procfs.read_listeners(root, include_udp=include_udp, warnings=warnings)
    processes = procfs.scan_processes(root, warnings=warnings)
    users = procfs.read_users(root)
    # When we run inside a container, pid 1's container is "the host" for everything we report.
    ambient = None
    if 1 in processes:
        ambient = procfs.read_details(processes[1], root).get("container_id")
    containers = list_containers(container_sockets, container_api_timeout, warnings) if container_sockets else {}
    images = set()
    for entry in catalog.values():
        images.update(entry.get("match", {}).get("images") or [])
    for container in containers.values():
        image = normalise_image(container.get("image"))
        if any(image == ref or image.endswith("/" + ref) for ref in images):
            inspect_container(container, container_api_timeout, warnings)
    view = runtime_detect.HostView(root=root, listeners=listeners, processes=processes, containers=containers,
                                   users=users, run_version_command=run_version_command,
                                   ambient_container=ambient)
    units = runtime_detect.scan_units(catalog, root)
    pip = runtime_detect.scan_pip(catalog, root)
    dpkg = runtime_detect.scan_dpkg(catalog, root)
    binaries = runtime_detect.scan_binaries(catalog, root)
    return runtime_detect.build_facts(view, catalog, units=units, pip=pip, dpkg=dpkg, binaries=binaries,
                                      collect_versions=collect_versions, warnings=warnings)


def version_runner(module, warnings=None, proc_root="/proc", untrusted=fs_trust.untrusted_reason):
    """Run the catalog's version command (``ollama --version``) under coreutils ``timeout`` with a
    pinned locale, and return the first version-like word of its output.

    It runs as root, so it never runs a file that a non-root user can change (``fs_trust``): the
    executable, every directory above it and every symlink on the way must be root's and writable by
    root only. For a matched process it runs the process's own executable, and only when that path
    is still the very file the process runs (same device and inode as ``/proc/<pid>/exe``): a
    deleted or replaced file, or a path from another mount namespace, cannot be verified. When it
    refuses, it appends a warning that says why to ``warnings`` and returns None (the version then
    stays unknown, or comes from pip or dpkg metadata, which the detection reads first)."""
    warnings = [] if warnings is None else warnings

    def refuse(argv, reason):
        message = "%s not run as root: %s" % (" ".join(fs_trust.show(str(arg)) for arg in argv), reason)
        if message not in warnings:
            warnings.append(message)
        return None

    def run(argv, process):
        binary = argv[0]
        exe = process.get("exe") if process else None
        pid = process.get("pid") if process else None
        if exe and os.path.basename(exe) == binary:
            path = exe
        else:
            path, pid = module.get_bin_path(binary), None
        if not path:
            return None
        argv = [path] + list(argv[1:])
        timeout = module.get_bin_path("timeout")
        if not timeout:
            return None
        reason = untrusted(path) or untrusted(timeout)
        if reason is None and exe == path:
            reason = _not_the_running_file(path, pid, proc_root)
        if reason:
            return refuse(argv, reason)
        try:
            # A binary that ignores --version and starts serving must not hang the module.
            rc, out, err = module.run_command([timeout, "-k", "1", str(VERSION_COMMAND_TIMEOUT)] + argv,
                                              check_rc=False)
        except Exception:  # pylint: disable=broad-except
            return None
        match = re.search(r"\b(v?[0-9]+\.[0-9]+(?:\.[0-9]+)?[0-9A-Za-z.+-]*)", (out or "") + "\n" + (err or ""))
        return match.group(1).lstrip("v") if rc == 0 and match else None
    return run


def _not_the_running_file(path, pid, proc_root):
    """None when ``path`` is the file process ``pid`` runs, else why that cannot be said."""
    if not isinstance(pid, int):
        return "cannot tell whether %s is the file the process runs" % fs_trust.show(path)
    try:
        running = os.stat(os.path.join(proc_root, str(pid), "exe"))
        on_disk = os.stat(path)
    except OSError as exc:
        return "cannot verify that %s is the file process %d runs: %s" % (fs_trust.show(path), pid, exc.strerror)
    if (running.st_dev, running.st_ino) != (on_disk.st_dev, on_disk.st_ino):
        return ("%s is not the file process %d runs (deleted, replaced, or in another mount namespace)"
                % (fs_trust.show(path), pid))
    return None


def collect(module, module_name, root="/", runner_factory=version_runner):
    """Check the runtime options in ``module.params`` and return the aihost_runtime facts.

    Raises RuntimeFactsError with the failure message for bad options or a root without procfs.
    """
    params = module.params
    if params["container_api_timeout"] <= 0:
        raise RuntimeFactsError("container_api_timeout must be a positive number of seconds, got %s"
                                % params["container_api_timeout"])
    try:
        catalog, warnings = load_catalog(params["catalog_extra"], strict=params["catalog_errors"] == "fail")
    except CatalogError as exc:
        raise RuntimeFactsError(str(exc))
    if not os.path.isdir(os.path.join(root, "proc", "net")):
        raise RuntimeFactsError("%s is not a mounted procfs: %s needs Linux /proc"
                                % (os.path.join(root, "proc"), module_name))
    sockets = []
    if params["docker_socket"]:
        sockets.append(("docker", params["docker_socket"]))
    if params["podman_socket"] and params["podman_socket"] != params["docker_socket"]:
        sockets.append(("podman", params["podman_socket"]))
    return gather(catalog, root=root, include_udp=params["include_udp"],
                  collect_versions=params["collect_versions"], container_sockets=sockets,
                  container_api_timeout=params["container_api_timeout"],
                  run_version_command=(runner_factory(module, warnings=warnings, proc_root=os.path.join(root, "proc"))
                                       if params["version_commands"] else None),
                  warnings=warnings)
