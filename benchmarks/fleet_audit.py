#!/usr/bin/env python
"""Fleet cost of the audit: wall time of playbooks/audit.yml over N systemd containers, next to
`ansible -m ping` over the same hosts in the same run, and their ratio (target: at most 2.5x).

    .venv/bin/python benchmarks/fleet_audit.py              # 50 containers of aihost-debian12
    .venv/bin/python benchmarks/fleet_audit.py -n 10 --forks 10

Containers get the project's platform options (SYS_ADMIN + NET_ADMIN, tmpfs /run /run/lock /tmp,
/sys/fs/cgroup ro, cgroupns host, systemd as pid 1), unique names (fleetbench-<pid>-<i>), and are
always removed, also on errors and Ctrl-C. Both commands use the same inventory, forks and
connection (community.docker.docker). It reports; it asserts nothing. Not part of `make test`.
The container start/stop code is benchmarks/fleet_lab.py (shared with other fleet benchmarks).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet_lab import Fleet  # noqa: E402  pylint: disable=wrong-import-position

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def tool(name):
    candidate = os.path.join(VENV_BIN, name)
    return candidate if os.path.exists(candidate) else (shutil.which(name) or name)


def load_average():
    try:
        with open("/proc/loadavg") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return "unknown"


def timed(argv, env, log_path):
    began = time.monotonic()
    with open(log_path, "w") as log:
        result = subprocess.run(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    return time.monotonic() - began, result.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--count", type=int, default=50, help="containers to start (default 50)")
    parser.add_argument("--image", default="aihost-debian12", help="image (default aihost-debian12)")
    parser.add_argument("--forks", type=int, default=25, help="ansible forks for both commands (default 25)")
    parser.add_argument("--pipelining", action="store_true",
                        help="set ANSIBLE_PIPELINING=True for both commands (default: the configuration's setting)")
    parser.add_argument("--profile", action="store_true",
                        help="time each audit task (ansible.posix.profile_tasks, in audit.log); costs a little")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="aihost-fleetbench-")
    with Fleet(args.count, image=args.image, prefix="fleetbench", label="fleet_audit") as fleet:
        print("started %d containers of %s in %.1fs" % (len(fleet.names), args.image, fleet.start_seconds))
        if fleet.unready:
            print("WARNING: systemd not ready in %d containers (%s): the timings below are not comparable"
                  % (len(fleet.unready), ", ".join(fleet.unready[:5])))
        inventory = fleet.write_inventory(os.path.join(workdir, "inventory.json"))
        env = dict(os.environ, ANSIBLE_FORKS=str(args.forks), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
                   PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
        if args.pipelining:
            env["ANSIBLE_PIPELINING"] = "True"
        audit_env = dict(env, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks") if args.profile else env
        print("load average before: %s" % load_average())
        ping_s, ping_rc = timed([tool("ansible"), "all", "-i", inventory, "-m", "ansible.builtin.ping"], env,
                                os.path.join(workdir, "ping.log"))
        audit_s, audit_rc = timed([tool("ansible-playbook"), "-i", inventory, os.path.join(ROOT, "playbooks", "audit.yml"),
                                   "-e", "aihost_audit_fail_on=none", "-e", "aihost_audit_print_summary=false",
                                   "-e", "aihost_audit_report_dir=%s" % os.path.join(workdir, "reports")], audit_env,
                                  os.path.join(workdir, "audit.log"))
        print("hosts: %d, forks: %d, connection: community.docker.docker, pipelining: %s"
              % (len(fleet.names), args.forks, "on" if args.pipelining else "as configured"))
        print("%-28s %8.1fs  (rc %d)" % ("ansible -m ping", ping_s, ping_rc))
        print("%-28s %8.1fs  (rc %d)" % ("ansible-playbook audit.yml", audit_s, audit_rc))
        print("%-28s %8.2fx  (target <= 2.5x)" % ("audit / ping", audit_s / ping_s if ping_s else float("nan")))
        if ping_rc or audit_rc:
            print("WARNING: a command failed (unreachable hosts?): see the logs; the ratio is not valid")
        print("load average after: %s" % load_average())
        print("logs and reports: %s" % workdir)
        status = 0 if ping_rc == 0 and audit_rc == 0 and not fleet.unready else 1
    print("removed %d containers" % len(fleet.names))
    return status


if __name__ == "__main__":
    sys.exit(main())
