"""Throwaway fleets of systemd containers for the fleet benchmarks (fleet_audit.py, fleet_site.py).

    from fleet_lab import Fleet
    with Fleet(50, image="aihost-debian12", prefix="fleetbench", label="fleet_audit") as fleet:
        print(fleet.unready)                       # containers whose systemd never came up
        fleet.write_inventory("/tmp/inv.json")     # JSON inventory, community.docker.docker connection
        ...
    # every container is removed here, also after an exception, Ctrl-C or SIGTERM

Containers get exactly the project's platform options (DEVELOPERS.md): SYS_ADMIN + NET_ADMIN,
tmpfs /run /run/lock /tmp, /sys/fs/cgroup read-only, cgroupns host, systemd as pid 1; no
--privileged. Names are unique per run (<prefix>-<pid>-<index>) and carry the label
aihost.benchmark=<label>; only the containers a Fleet started are ever removed.
"""
import json
import os
import signal
import subprocess
import time

PLATFORM_OPTIONS = ["--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
                    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
                    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "--cgroupns", "host"]
SYSTEMD = "/lib/systemd/systemd"


def docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), check=check, capture_output=True, text=True)


def start(names, image, label, extra_options=()):
    """Start one container per name; return the names whose systemd was not up within 120 s."""
    for name in names:
        docker("run", "-d", "--name", name, "--hostname", name, "--label", "aihost.benchmark=%s" % label,
               *PLATFORM_OPTIONS, *extra_options, image, SYSTEMD)
    return wait_for_systemd(names)


def wait_for_systemd(names, timeout=120.0):
    """Wait until systemd in every container answers (running or degraded), up to ``timeout`` seconds
    per container. Timing playbooks against half-booted hosts would not be comparable."""
    unready = []
    for name in names:
        deadline = time.time() + timeout
        while True:
            state = docker("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            if time.time() > deadline:
                unready.append(name)
                break
            time.sleep(0.5)
    return unready


def remove(names):
    for name in names:
        docker("rm", "-f", "-v", name, check=False)


def write_inventory(path, names, host_vars=None, group_vars=None):
    """A JSON inventory of ``names`` over the community.docker.docker connection."""
    variables = {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}
    variables.update(group_vars or {})
    with open(path, "w") as handle:
        json.dump({"all": {"hosts": dict((name, dict(host_vars or {})) for name in names), "vars": variables}},
                  handle, indent=1)
    return path


class Fleet(object):
    """Context manager: start ``count`` containers on entry, remove them all on exit (always)."""

    def __init__(self, count, image="aihost-debian12", prefix="fleetbench", label="fleet", extra_options=()):
        self.names = ["%s-%d-%02d" % (prefix, os.getpid(), index) for index in range(count)]
        self.image = image
        self.label = label
        self.extra_options = list(extra_options)
        self.unready = []
        self.start_seconds = None
        self._previous_sigterm = None

    def __enter__(self):
        def interrupted(signum, _frame):
            raise KeyboardInterrupt("signal %d" % signum)

        self._previous_sigterm = signal.signal(signal.SIGTERM, interrupted)
        began = time.monotonic()
        try:
            self.unready = start(self.names, self.image, self.label, self.extra_options)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def __exit__(self, *_exc):
        remove(self.names)
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        return False

    def write_inventory(self, path, host_vars=None, group_vars=None):
        return write_inventory(path, self.names, host_vars, group_vars)
