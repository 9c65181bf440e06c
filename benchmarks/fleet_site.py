#!/usr/bin/env python
"""Fleet hardening: playbooks/site.yml over N fresh systemd containers, grouped like
inventories/example (cpu_only and nvidia_gpu), next to `ansible -m ping` over the same hosts in the
same run. Prints the converge wall time, the second run's wall time (and whether it changed
nothing on every host), the ping's, and their ratios. Targets from issue 8: a fresh host converges
within 3 minutes (package installs from the mirror included); the second run takes at most 4x the
ping.

    .venv/bin/python benchmarks/fleet_site.py                # 50 hosts, every 5th an NVIDIA host
    .venv/bin/python benchmarks/fleet_site.py -n 10 --forks 10

Every host is a fresh aihost-debian12 container running the labelled Ollama STAND-IN
(tests/standins/ollama.py installed as /usr/local/bin/ollama) as root on 0.0.0.0:11434, the way
Ollama's installer leaves it when OLLAMA_HOST is widened. nvidia_gpu hosts also get the NVIDIA
device nodes (mknod'ed at the driver's default mode 0666; there is no GPU here). The group_vars are
inventories/example's own (the policy a fleet user starts from), so site.yml runs exactly as the
README tells fleet users to run it. Containers are always removed (benchmarks/fleet_lab.py).
It reports; it asserts nothing. Not part of `make test`: it takes tens of minutes at N=50 on 2 cores.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet_lab import Fleet, docker  # noqa: E402  pylint: disable=wrong-import-position
from fleet_audit import ROOT, VENV_BIN, load_average, timed, tool  # noqa: E402  pylint: disable=wrong-import-position

STANDIN = os.path.join(ROOT, "tests", "standins", "ollama.py")
OLLAMA_UNIT = """[Unit]
Description=Ollama Service (STAND-IN, see /usr/local/bin/ollama)
After=network-online.target

[Service]
ExecStart=/usr/local/bin/ollama serve
User=root
Environment=OLLAMA_HOST=0.0.0.0:11434
Restart=always

[Install]
WantedBy=multi-user.target
"""
# (path, major, minor): NVIDIA's fixed major 195 for the GPUs and the control node; nvidia-uvm
# gets a dynamic major, 511 is the top of the dynamic range.
NVIDIA_NODES = [("/dev/nvidia0", 195, 0), ("/dev/nvidiactl", 195, 255), ("/dev/nvidia-uvm", 511, 0)]
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def write_file(container, path, text, mode):
    subprocess.run(["docker", "exec", "-i", container, "sh", "-c", 'cat > "$0" && chmod %s "$0"' % mode, path],
                   input=text, text=True, check=True, capture_output=True)


def prepare_host(name, nvidia):
    """Install and start the Ollama stand-in as root on all interfaces; nvidia hosts get the nodes."""
    with open(STANDIN) as handle:
        source = handle.read().split("\n", 1)[1]
    script = "#!/usr/bin/python3\n" + source
    write_file(name, "/usr/local/bin/ollama", script, "0755")
    write_file(name, "/etc/systemd/system/ollama.service", OLLAMA_UNIT, "0644")
    docker("exec", name, "systemctl", "enable", "--now", "ollama.service")
    if nvidia:
        for path, major, minor in NVIDIA_NODES:
            docker("exec", name, "sh", "-c", "mknod -m 0666 %s c %d %d" % (path, major, minor))


def write_inventory(directory, cpu_hosts, gpu_hosts):
    """The example fleet's layout and group_vars, with these containers as its hosts."""
    # docker exec runs as root already, and the containers have no sudo.
    connection = {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
                  "ansible_become": False}
    inventory = {"all": {"vars": connection, "children": {
        "cpu_only": {"hosts": dict((name, {}) for name in cpu_hosts)},
        "nvidia_gpu": {"hosts": dict((name, {}) for name in gpu_hosts)}}}}
    os.makedirs(directory)
    with open(os.path.join(directory, "hosts.yml"), "w") as handle:
        json.dump(inventory, handle, indent=1)
    shutil.copytree(os.path.join(ROOT, "inventories", "example", "group_vars"), os.path.join(directory, "group_vars"))
    return directory


def recap(log_path):
    """{host: changed count} and the hosts that failed or were unreachable, from a PLAY RECAP."""
    with open(log_path) as handle:
        text = handle.read()
    changed, bad = {}, []
    for host, _ok, changes, unreachable, failed in RECAP.findall(text):
        changed[host] = int(changes)
        if int(unreachable) or int(failed):
            bad.append(host)
    return changed, bad


def full_run_hosts(log_path):
    """The hosts site.yml's first play sent to the full run (its "Say why" task printed for them)."""
    with open(log_path) as handle:
        text = handle.read()
    match = re.search(r"TASK \[Say why each of them needs it\][^\n]*\n(.*?)(?=\n(?:TASK|PLAY) \[)", text, re.S)
    return sorted(set(re.findall(r"^ok: \[([^\]]+)\]", match.group(1), re.M))) if match else []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("-n", "--count", type=int, default=50, help="hosts (default 50)")
    parser.add_argument("--gpu-every", type=int, default=5, help="every Nth host is an nvidia_gpu host (default 5)")
    parser.add_argument("--forks", type=int, default=10, help="ansible forks for every command (default 10)")
    parser.add_argument("--image", default="aihost-debian12")
    parser.add_argument("--full-run-too", action="store_true",
                        help="also time a third run with -e aihost_site_fast_path=false (every role's tasks)")
    args = parser.parse_args()
    if args.count < 1 or args.gpu_every < 1 or args.forks < 1:
        parser.error("--count, --gpu-every and --forks must be at least 1")

    workdir = tempfile.mkdtemp(prefix="aihost-fleetsite-")
    with Fleet(args.count, image=args.image, prefix="fleetsite", label="fleet_site") as fleet:
        gpu_hosts = [name for index, name in enumerate(fleet.names) if index % args.gpu_every == args.gpu_every - 1]
        cpu_hosts = [name for name in fleet.names if name not in gpu_hosts]
        print("started %d containers of %s in %.1fs (cpu_only %d, nvidia_gpu %d)"
              % (len(fleet.names), args.image, fleet.start_seconds, len(cpu_hosts), len(gpu_hosts)))
        if fleet.unready:
            print("WARNING: systemd not ready in %d containers: the timings below are not comparable" % len(fleet.unready))
        for name in fleet.names:
            prepare_host(name, name in gpu_hosts)
        inventory = write_inventory(os.path.join(workdir, "inventory"), cpu_hosts, gpu_hosts)
        env = dict(os.environ, ANSIBLE_FORKS=str(args.forks), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
                   ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   # ansible.cfg pipelines SSH; the docker connection reads the general setting.
                   ANSIBLE_PIPELINING="True",
                   PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
        site = [tool("ansible-playbook"), "-i", inventory, os.path.join(ROOT, "playbooks", "site.yml")]
        print("load average before: %s" % load_average())
        ping_s, ping_rc = timed([tool("ansible"), "all", "-i", inventory, "-m", "ansible.builtin.ping"], env,
                                os.path.join(workdir, "ping.log"))
        converge_s, converge_rc = timed(site, env, os.path.join(workdir, "converge.log"))
        second_s, second_rc = timed(site, env, os.path.join(workdir, "second.log"))
        changed, bad = recap(os.path.join(workdir, "second.log"))
        second_full = full_run_hosts(os.path.join(workdir, "second.log"))
        full_s = full_rc = None
        if args.full_run_too:
            full_s, full_rc = timed(site + ["-e", "aihost_site_fast_path=false"], env, os.path.join(workdir, "full.log"))
            full_changed, full_bad = recap(os.path.join(workdir, "full.log"))
            bad += full_bad
            if full_rc or sorted(full_changed) != sorted(changed) or any(full_changed.values()):
                print("WARNING: the full-path run failed or changed something: see %s/full.log" % workdir)
        changed_hosts = sorted(host for host, count in changed.items() if count)
        batches = -(-len(fleet.names) // args.forks)

        print("hosts: %d (cpu_only %d, nvidia_gpu %d), forks: %d, connection: community.docker.docker"
              % (len(fleet.names), len(cpu_hosts), len(gpu_hosts), args.forks))
        print("%-34s %8.1fs  (rc %d)" % ("ansible -m ping", ping_s, ping_rc))
        print("%-34s %8.1fs  (rc %d; %d batch(es) of <= %d hosts: %.1fs a batch, target <= 180s)"
              % ("site.yml converge (fresh hosts)", converge_s, converge_rc, batches, args.forks, converge_s / batches))
        print("%-34s %8.1fs  (rc %d; %.1fs a batch, target <= 30s)"
              % ("site.yml second run", second_s, second_rc, second_s / batches))
        print("%-34s %8.2fx  (target <= 4x)" % ("second run / ping", second_s / ping_s if ping_s else float("nan")))
        print("second run: %d of %d hosts matched their converge stamp and were skipped%s"
              % (len(fleet.names) - len(second_full), len(fleet.names),
                 "" if not second_full else "; full run on: " + ", ".join(second_full[:10])))
        if full_s is not None:
            print("%-34s %8.1fs  (rc %d; %.1fs a batch; %.2fx ping)" % ("third run, aihost_site_fast_path=false",
                  full_s, full_rc, full_s / batches, full_s / ping_s if ping_s else float("nan")))
        print("second run: changed=0 on %d of %d hosts%s" % (len(changed) - len(changed_hosts), len(fleet.names),
              "" if not changed_hosts else "; changed on: " + ", ".join(changed_hosts[:10])))
        if ping_rc or converge_rc or second_rc or bad or len(changed) != len(fleet.names):
            print("WARNING: a run failed or a host is missing from the recap (%s): see the logs; the numbers are not valid"
                  % ", ".join(bad[:10]))
        print("load average after: %s" % load_average())
        print("logs: %s" % workdir)
        status = 0 if not (ping_rc or converge_rc or second_rc or full_rc or bad or changed_hosts or fleet.unready) else 1
    print("removed %d containers" % len(fleet.names))
    return status


if __name__ == "__main__":
    started = time.time()
    code = main()
    print("total %.0fs" % (time.time() - started))
    sys.exit(code)
