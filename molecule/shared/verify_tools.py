"""The verifiers' own tools, installed on the test hosts in verify, by the tests that use them.

The Molecule images are as bare as a minimal Debian host (images/bases.txt: minbase, systemd, python3,
ca-certificates): no iproute2 (ss, ip), procps (ps, kill) or curl. The roles must work without them,
so prepare, check, converge and idempotence meet the host without them; a scenario whose tests
compare with these tools installs them here, when verify starts, with apt-get (not the apt module,
which would add python3-apt), and says so in the test output.

Use from a scenario's tests/conftest.py:

    sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared"))
    from verify_tools import install_tools

    @pytest.fixture(scope="session", autouse=True)
    def verifier_tools():
        install_tools(["default-d12", "default-d13"], ["ss", "ps", "curl"])
"""
import shlex

import testinfra

# The command a test runs -> the Debian package that has it.
PACKAGES = {"ss": "iproute2", "ip": "iproute2", "ps": "procps", "kill": "procps", "curl": "curl"}

# Prints the commands that are missing (as executables on PATH, not shell builtins such as kill).
_MISSING = "import shutil, sys; print(*[name for name in sys.argv[1:] if shutil.which(name) is None])"

# apt-get waits for the dpkg lock (the updates role's apt timers may hold it) and retries a
# failed download; -q keeps the test output short.
_INSTALL = r"""
set -u
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3 4 5 6; do
    if apt-get -q -o DPkg::Lock::Timeout=300 update >/dev/null \
       && apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "$@" >/dev/null; then
        exit 0
    fi
    sleep 10
done
exit 1
"""


def install_tools(hosts, commands):
    """Install on each of HOSTS (container names) the packages of COMMANDS that are missing there.

    Returns {host: [packages installed]}; fails the test session with apt-get's output otherwise."""
    installed = {}
    for name in hosts:
        host = testinfra.get_host("docker://" + name)
        missing = host.check_output(" ".join(shlex.quote(word) for word in ["python3", "-c", _MISSING] + list(commands)))
        missing = missing.split()
        packages = sorted(set(PACKAGES[command] for command in missing))
        if packages:
            result = host.run("sh -c %s sh %s" % (shlex.quote(_INSTALL), " ".join(packages)))
            assert result.rc == 0, "%s: apt-get install %s failed:\n%s%s" % (
                name, " ".join(packages), result.stdout[-2000:], result.stderr[-2000:])
            print("verify tools: installed %s on %s (the image does not carry them)" % (", ".join(packages), name))
        installed[name] = packages
    return installed


# The addresses a TCP port is listened on, from the kernel's socket tables (what `ss -ltn` shows),
# for tests that need no more than that on a host without iproute2.
_LISTENERS = r"""
import socket, sys
port, found = int(sys.argv[1]), set()
for path, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
    try:
        with open(path) as table:
            rows = table.read().splitlines()[1:]
    except OSError:
        continue
    for row in rows:
        fields = row.split()
        address, hex_port = fields[1].split(":")
        if fields[3] == "0A" and int(hex_port, 16) == port:
            raw = bytes.fromhex(address)
            found.add(socket.inet_ntop(family, b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))))
print(" ".join(sorted(found)))
"""


def tcp_listen_addresses(host, port):
    """The set of local addresses on which something listens on TCP PORT in HOST (LISTEN state)."""
    return set(host.check_output("python3 -c %s %d" % (shlex.quote(_LISTENERS), port)).split())
