#!/usr/bin/env python
"""Fleet cost of the audit: wall time of playbooks/audit.yml over N systemd containers, next to
`ansible -m ping` over the same hosts in the same run, and their ratio (target: at most 2.5x).

    .venv/bin/python benchmarks/fleet_audit.py              # 50 containers of aihost-debian12
    .venv/bin/python benchmarks/fleet_audit.py -n 10 --forks 10

Containers get the project's platform options (SYS_ADMIN + NET_ADMIN, tmpfs /run /run/lock /tmp,
/sys/fs/cgroup ro, cgroupns host, systemd as pid 1), unique names (fleetbench-<pid>-<i>), and are
always removed, also on errors and Ctrl-C. Both commands use the same inventory, forks and
connection (community.docker.docker). It reports; it asserts nothing. Not part of `make test`.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def tool(name):
    candidate = os.path.join(VENV_BIN, name)
    return candidate if os.path.exists(candidate) else (shutil.which(name) or name)


def docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), check=check, capture_output=True, text=True)


def start(names, image):
    for name in names:
        docker("run", "-d", "--name", name, "--hostname", name, "--label", "aihost.benchmark=fleet_audit",
               "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
               "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
               "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "--cgroupns", "host",
               image, "/lib/systemd/systemd")
    # Wait until systemd in every container answers (the audit asks it about units), up to 120 s
    # per container; a container that never gets there is reported, so a timing over unready
    # hosts is not mistaken for a valid one.
    unready = []
    for name in names:
        deadline = time.time() + 120
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
    args = parser.parse_args()

    names = ["fleetbench-%d-%02d" % (os.getpid(), index) for index in range(args.count)]
    workdir = tempfile.mkdtemp(prefix="aihost-fleetbench-")

    def interrupted(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, interrupted)
    try:
        began = time.monotonic()
        unready = start(names, args.image)
        print("started %d containers of %s in %.1fs" % (len(names), args.image, time.monotonic() - began))
        if unready:
            print("WARNING: systemd not ready in %d containers (%s): the timings below are not comparable"
                  % (len(unready), ", ".join(unready[:5])))
        inventory = os.path.join(workdir, "inventory.json")
        with open(inventory, "w") as handle:
            json.dump({"all": {"hosts": dict((name, {}) for name in names),
                               "vars": {"ansible_connection": "community.docker.docker",
                                        "ansible_python_interpreter": "/usr/bin/python3"}}}, handle)
        env = dict(os.environ, ANSIBLE_FORKS=str(args.forks), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
                   PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
        if args.pipelining:
            env["ANSIBLE_PIPELINING"] = "True"
        ping_s, ping_rc = timed([tool("ansible"), "all", "-i", inventory, "-m", "ansible.builtin.ping"], env,
                                os.path.join(workdir, "ping.log"))
        audit_s, audit_rc = timed([tool("ansible-playbook"), "-i", inventory, os.path.join(ROOT, "playbooks", "audit.yml"),
                                   "-e", "aihost_audit_fail_on=none", "-e", "aihost_audit_print_summary=false",
                                   "-e", "aihost_audit_report_dir=%s" % os.path.join(workdir, "reports")], env,
                                  os.path.join(workdir, "audit.log"))
        print("hosts: %d, forks: %d, connection: community.docker.docker, pipelining: %s"
              % (len(names), args.forks, "on" if args.pipelining else "as configured"))
        print("%-28s %8.1fs  (rc %d)" % ("ansible -m ping", ping_s, ping_rc))
        print("%-28s %8.1fs  (rc %d)" % ("ansible-playbook audit.yml", audit_s, audit_rc))
        print("%-28s %8.2fx  (target <= 2.5x)" % ("audit / ping", audit_s / ping_s if ping_s else float("nan")))
        if ping_rc or audit_rc:
            print("WARNING: a command failed (unreachable hosts?): see the logs; the ratio is not valid")
        print("logs and reports: %s" % workdir)
        return 0 if ping_rc == 0 and audit_rc == 0 else 1
    finally:
        remove(names)
        print("removed %d containers" % len(names))


if __name__ == "__main__":
    sys.exit(main())
