#!/usr/bin/python3
"""A COMPROMISED OLLAMA, for the hostile_host scenario only.

Installed root-owned as /usr/local/bin/ollama and run by ollama.service, it serves exactly like the
labelled Ollama stand-in (tests/standins/ollama.py, copied to /usr/local/share/aihost-test/ollama.py).
It adds the one thing an attacker with code execution inside the runtime can do that no outside
process can: on SIGUSR1 it re-executes itself IN PLACE (same PID, so systemd notices nothing) with
the environment overrides written in $OLLAMA_MODELS/.reexec (KEY=VALUE lines), e.g.
OLLAMA_MODELS=/var/lib/dpkg. The next site.yml reads that environment from /proc/<pid>/environ.
"""
import os
import signal
import sys

SELF = "/usr/local/bin/ollama"


def run_standin(path):
    """Run the stand-in as its own __main__ with this process's argv (runpy would rename argv[0],
    and the stand-ins pick their flavour from it)."""
    with open(path) as source:
        code = compile(source.read(), path, "exec")
    exec(code, {"__name__": "__main__", "__file__": path})  # noqa: S102 (our own test file)


def reexec(_signum, _frame):
    models = os.environ.get("OLLAMA_MODELS", "")
    env = dict(os.environ)
    with open(os.path.join(models, ".reexec")) as overrides:
        for line in overrides:
            key, value = (line.rstrip("\n").split("=", 1) + [""])[:2]
            if key:
                env[key] = value
    os.execve(SELF, sys.argv, env)


signal.signal(signal.SIGUSR1, reexec)
run_standin("/usr/local/share/aihost-test/ollama.py")
