"""Detection benchmark: aihost.hardening's facts modules against listen_ports_facts and nmap.

On this host, in one run:
  1. start N loopback listeners (default 50, one helper process) and enough sleeping processes to
     bring the host to about P processes (default 300);
  2. time aihost.hardening.ai_runtime_facts + aihost.hardening.gpu_facts, and
     community.general.listen_ports_facts, both measured the same two ways:
       * module time: the module's main() called in this process (imports already done), the
         median of --repeat runs. This is the work the module does on a target.
       * cold process: a fresh interpreter per run, started the way AnsiballZ starts a module
         (`python -m <module>`: interpreter start + imports + main; no SSH, no zip extraction),
         median of --repeat runs;
  3. time `nmap -sT -p- 127.0.0.1` (the classic way to list exposed ports; loopback only), once;
  4. print the wall times, what each tool found of the N listeners, and the ratios side by side.

No asserts on timing. Everything it starts is stopped at the end, and every helper also stops by
itself after --max-seconds even if this script is killed.

Run from the repository root with the project's virtualenv (it provides ansible-core and
community.general):   .venv/bin/python benchmarks/detection.py [--listeners 50] [--processes 300]
"""
import argparse
import contextlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".collections")

LISTENER_HELPER = r"""
import signal, socket, sys
signal.alarm(int(sys.argv[2]))          # stop by ourselves, whatever happens to the parent
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    socks.append(s)
sys.stdout.write(" ".join(str(s.getsockname()[1]) for s in socks) + "\n")
sys.stdout.flush()
sys.stdin.read()                        # until the parent closes our stdin (or dies)
"""

MODULES = {
    "ai_runtime_facts": "ansible_collections.aihost.hardening.plugins.modules.ai_runtime_facts",
    "gpu_facts": "ansible_collections.aihost.hardening.plugins.modules.gpu_facts",
    "listen_ports_facts": "ansible_collections.community.general.plugins.modules.listen_ports_facts",
}


def process_count():
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


class Load(object):
    """The listeners and sleepers of the benchmark; a context manager that always cleans up."""

    def __init__(self, listeners, processes, max_seconds):
        self.listeners, self.processes, self.max_seconds = listeners, processes, max_seconds
        self.helper, self.sleepers, self.ports = None, [], []

    def __enter__(self):
        self.helper = subprocess.Popen([sys.executable, "-c", LISTENER_HELPER, str(self.listeners), str(self.max_seconds)],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
        self.ports = sorted(int(p) for p in self.helper.stdout.readline().split())
        if len(self.ports) != self.listeners:
            raise RuntimeError("listener helper opened %d of %d sockets" % (len(self.ports), self.listeners))
        missing = max(0, min(self.processes - process_count(), 2000))
        for _index in range(missing):
            self.sleepers.append(subprocess.Popen(["sleep", str(self.max_seconds)]))
        return self

    def __exit__(self, *exc):
        for proc in self.sleepers:
            proc.kill()
        for proc in self.sleepers:
            proc.wait()
        if self.helper:
            self.helper.stdin.close()
            try:
                self.helper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.helper.kill()
                self.helper.wait()
        return False


def import_module(dotted):
    import importlib
    return importlib.import_module(dotted)


def run_in_process(module, args):
    """Call module.main() with args; return (seconds, result dict)."""
    from ansible.module_utils.testing import patch_module_args
    out = io.StringIO()
    start = time.perf_counter()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    elapsed = time.perf_counter() - start
    text = out.getvalue().strip()
    return elapsed, json.loads(text[text.index("{"):]) if "{" in text else {}


def run_cold(module, args, env):
    start = time.perf_counter()
    # `python -m`, as AnsiballZ's runpy does: running the file as a script would put its directory first
    # on sys.path, where community.general's pkgutil module would shadow the standard library's.
    proc = subprocess.run([sys.executable, "-m", module.__name__, json.dumps({"ANSIBLE_MODULE_ARGS": args})],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd="/", universal_newlines=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s %s" % (module.__name__, proc.stdout[-500:], proc.stderr[-500:]))
    return elapsed


def found_by_aihost(result, ports, helper_pid):
    listeners = result.get("ansible_facts", {}).get("aihost_runtime", {}).get("listeners", [])
    ours = [entry for entry in listeners
            if entry.get("protocol") == "tcp" and entry.get("address") == "127.0.0.1" and entry.get("port") in ports]
    return len(ours), sum(1 for entry in ours if entry.get("pid") == helper_pid)


def found_by_listen_ports(result, ports, helper_pid):
    listeners = result.get("ansible_facts", {}).get("tcp_listen", [])
    ours = [entry for entry in listeners if entry.get("address") == "127.0.0.1" and entry.get("port") in ports]
    return len(ours), sum(1 for entry in ours if entry.get("pid") == helper_pid)


def ensure_nmap(may_install):
    if shutil.which("nmap"):
        return shutil.which("nmap")
    if may_install and os.geteuid() == 0 and shutil.which("apt-get"):
        print("nmap is absent: installing it with apt-get (run with --no-install to skip)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "nmap"], env=env, check=False)
    return shutil.which("nmap")


def run_nmap(nmap, ports):
    # Loopback only, by design: never point this at another address.
    start = time.perf_counter()
    proc = subprocess.run([nmap, "-sT", "-p-", "127.0.0.1", "-oG", "-"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    open_ports = {int(p) for p in re.findall(r"(\d+)/open/tcp", proc.stdout)}
    return elapsed, len(open_ports & set(ports)), len(open_ports)


def fmt(seconds):
    return "%8.3f s" % seconds


def ratio(a, b):
    return "%7.1fx" % (a / b) if b else "    n/a"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--listeners", type=int, default=50, help="loopback listeners to open (1-1000, default 50)")
    parser.add_argument("--processes", type=int, default=300, help="bring the host to about this many processes (default 300)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per module and mode; the median is shown (default 7)")
    parser.add_argument("--max-seconds", type=int, default=600, help="helpers stop by themselves after this (default 600)")
    parser.add_argument("--no-nmap", action="store_true", help="skip the nmap comparison")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install nmap when it is absent")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers to FILE as JSON")
    parser.add_argument("--collections", metavar="DIR", default=COLLECTIONS,
                        help="directory holding ansible_collections/aihost/hardening (default: the checkout's .collections)")
    opts = parser.parse_args(argv)
    if not 1 <= opts.listeners <= 1000 or not 1 <= opts.repeat <= 50 or not 10 <= opts.max_seconds <= 3600:
        parser.error("--listeners must be 1-1000, --repeat 1-50, --max-seconds 10-3600")

    sys.path.insert(0, opts.collections)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([opts.collections] + [p for p in sys.path if p.endswith("site-packages")]),
               LANG="C", LC_ALL="C")
    modules = dict((name, import_module(dotted)) for name, dotted in MODULES.items())
    nmap = None if opts.no_nmap else ensure_nmap(not opts.no_install)
    results = {}

    with Load(opts.listeners, opts.processes, opts.max_seconds) as load:
        procs = process_count()
        print("aihost.hardening detection benchmark on %s (%s, %d CPUs, Python %s)"
              % (platform.node(), platform.platform(), os.cpu_count() or 0, platform.python_version()))
        print("load: %d processes on the host, %d loopback listeners of this benchmark (pid %d), uid %d"
              % (procs, len(load.ports), load.helper.pid, os.geteuid()))
        if os.geteuid() != 0:
            print("note: not root, so sockets of other users' processes cannot be attributed by any tool")

        args = {"ai_runtime_facts": {}, "gpu_facts": {}, "listen_ports_facts": {}}
        for name, module in modules.items():
            run_in_process(module, args[name])           # warm-up: page cache, lazy imports
            times, last = [], None
            for _run in range(opts.repeat):
                elapsed, last = run_in_process(module, args[name])
                times.append(elapsed)
            cold = [run_cold(module, args[name], env) for _run in range(opts.repeat)]
            results[name] = {"module_s": statistics.median(times), "module_min_s": min(times),
                             "cold_s": statistics.median(cold), "result": last}

        aihost = results["ai_runtime_facts"]["result"]
        lpf = results["listen_ports_facts"]["result"]
        seen_aihost = found_by_aihost(aihost, load.ports, load.helper.pid)
        seen_lpf = found_by_listen_ports(lpf, load.ports, load.helper.pid)
        nmap_numbers = run_nmap(nmap, load.ports) if nmap else None

    pair_module = results["ai_runtime_facts"]["module_s"] + results["gpu_facts"]["module_s"]
    pair_cold = results["ai_runtime_facts"]["cold_s"] + results["gpu_facts"]["cold_s"]
    lpf_module, lpf_cold = results["listen_ports_facts"]["module_s"], results["listen_ports_facts"]["cold_s"]
    n = len(load.ports)

    print()
    print("%-44s %11s %11s   %s" % ("", "module time", "cold proc.", "found of the %d listeners (with pid)" % n))
    print("%-44s %11s %11s" % ("aihost.hardening.ai_runtime_facts", fmt(results["ai_runtime_facts"]["module_s"]),
                               fmt(results["ai_runtime_facts"]["cold_s"])))
    print("%-44s %11s %11s" % ("aihost.hardening.gpu_facts", fmt(results["gpu_facts"]["module_s"]),
                               fmt(results["gpu_facts"]["cold_s"])))
    print("%-44s %11s %11s   %d (%d)" % ("  both (detection)", fmt(pair_module), fmt(pair_cold), seen_aihost[0], seen_aihost[1]))
    print("%-44s %11s %11s   %d (%d)" % ("community.general.listen_ports_facts", fmt(lpf_module), fmt(lpf_cold), seen_lpf[0], seen_lpf[1]))
    if nmap_numbers:
        print("%-44s %11s %11s   %d (no owner; %d open ports in all)"
              % ("nmap -sT -p- 127.0.0.1", "", fmt(nmap_numbers[0]), nmap_numbers[1], nmap_numbers[2]))
    else:
        print("%-44s %11s %11s   skipped (nmap not available)" % ("nmap -sT -p- 127.0.0.1", "", ""))
    print()
    print("ratios (how many times slower than aihost detection; higher is better for aihost):")
    print("  listen_ports_facts / aihost pair   module time %s   cold process %s" % (ratio(lpf_module, pair_module), ratio(lpf_cold, pair_cold)))
    if nmap_numbers:
        print("  nmap -sT -p- / aihost pair         wall vs module time %s   wall vs cold process %s"
              % (ratio(nmap_numbers[0], pair_module), ratio(nmap_numbers[0], pair_cold)))
    print("target (issue #2): detection module time <= 0.250 s at ~300 processes / 50 listeners: measured %.3f s" % pair_module)
    print("module time: median of %d in-process main() calls after one warm-up; cold process: median of %d fresh "
          "interpreters (start + imports + main). The host is shared: compare ratios, not absolute numbers." % (opts.repeat, opts.repeat))

    if opts.json:
        summary = {"processes": procs, "listeners": n, "repeat": opts.repeat,
                   "ai_runtime_facts": {k: v for k, v in results["ai_runtime_facts"].items() if k != "result"},
                   "gpu_facts": {k: v for k, v in results["gpu_facts"].items() if k != "result"},
                   "listen_ports_facts": {k: v for k, v in results["listen_ports_facts"].items() if k != "result"},
                   "found": {"aihost": seen_aihost[0], "listen_ports_facts": seen_lpf[0],
                             "nmap": nmap_numbers[1] if nmap_numbers else None},
                   "nmap_s": nmap_numbers[0] if nmap_numbers else None}
        with open(opts.json, "w") as handle:
            json.dump(summary, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
