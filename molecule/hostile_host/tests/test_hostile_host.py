"""The hostile host: real unprivileged users attack the real audit and roles; nothing is gained.

Each test names its attack, as listed in docs/threat-model.md. The runs happen here, in order, so
that every line Ansible prints (-v, and --diff for site.yml) can be searched for secrets and so that
the attacks of a compromised runtime can happen between two site.yml runs:

  1. audit.yml -v on hostile-audit and hostile-site (eve's planted runtimes; secrets in argv/env)
  2. site.yml -v --diff on hostile-site (adopts the compromised Ollama)
  3. the compromised runtime attacks: re-exec with OLLAMA_MODELS=/var/lib/dpkg, links into /etc in
     its data directory, a directory/symlink swap race running while
  4. site.yml -v --diff runs again (fast path off), and
  5. audit.yml -v on hostile-site.
The firewall attacks (rollback, local run with empty admin networks, a split /0) follow.
"""
import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import tarfile
import time

import pytest
import testinfra

PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
NETWORK = "aihost-hostile-net"

AUDIT_HOST = testinfra.get_host("docker://hostile-audit")
SITE_HOST = testinfra.get_host("docker://hostile-site")
PEER = testinfra.get_host("docker://hostile-peer")

# Every secret planted on the hosts: argv, process environments, a unit's Environment=.
SECRETS = ("sk-hostile-argv-1234", "hf_hostileEnvToken5678", "sk-hostile-env-9012", "hf_hostileUnitToken3456")

# Every path, owner, group and mode outside the volatile trees: what a role may not change for an
# attacker. Run on a host before and after the attacks.
OWNERSHIP = ("find / -xdev \\( -path /proc -o -path /sys -o -path /run -o -path /tmp -o -path /var/tmp "
             "-o -path /dev \\) -prune -o -printf '%p %U %G %m\\n' | LC_ALL=C sort")


def subnet():
    out = subprocess.run(["docker", "network", "inspect", NETWORK], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]["IPAM"]["Config"][0]["Subnet"]


def ansible(playbook, *args, timeout=1200):
    """Run a playbook of the collection against the scenario's inventory; return (rc, output)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_PIPELINING="True")
    result = subprocess.run(
        ["ansible-playbook", "-v", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", playbook)] + list(args),
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    with open(os.path.join(EPHEMERAL, "hostile-%s-%d.log" % (playbook, int(time.time()))), "w") as log:
        log.write(output)
    return result.returncode, output


def admin_vars(**extra):
    values = {"aihost_firewall_admin_networks": [subnet()]}
    values.update(extra)
    return ["-e", json.dumps(values)]


def no_secret_in(text, where):
    for secret in SECRETS:
        assert secret not in text, "%s carries the secret %s" % (where, secret)


def run_ok(host, command):
    result = host.run(command)
    assert result.rc == 0, "%s: %s %s" % (command, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope="module")
def first_audit():
    report_dir = os.path.join(EPHEMERAL, "reports-before")
    rc, out = ansible("audit.yml", "--limit", "hostile-audit,hostile-site",
                      "-e", "aihost_audit_report_dir=%s" % report_dir)
    assert rc == 0, out[-4000:]
    return report_dir, out


@pytest.fixture(scope="module")
def first_site(first_audit):
    before = run_ok(SITE_HOST, OWNERSHIP)
    rc, out = ansible("site.yml", "--diff", "--limit", "hostile-site", *admin_vars())
    assert rc == 0, out[-6000:]
    return {"out": out, "before": before, "after": run_ok(SITE_HOST, OWNERSHIP)}


def reexec_runtime(as_runtime):
    """Have the compromised Ollama re-exec itself in place; return its PID once its environment shows it."""
    answers = "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:11434/', timeout=5)\""
    for _attempt in range(3):
        deadline = time.time() + 60
        while SITE_HOST.run(answers).rc != 0:
            assert time.time() < deadline, "ollama.service answers on 127.0.0.1:11434"
            time.sleep(1)
        pid = run_ok(SITE_HOST, "systemctl show -P MainPID ollama.service").strip()
        SITE_HOST.run(as_runtime + "sh -c 'kill -USR1 %s'" % pid)  # the shell's kill: no procps here
        for _second in range(15):
            if "OLLAMA_MODELS=/var/lib/dpkg" in SITE_HOST.run("tr '\\0' '\\n' < /proc/%s/environ" % pid).stdout:
                return pid
            time.sleep(1)
    raise AssertionError("the compromised runtime re-executed itself with the new environment:\n" + SITE_HOST.run(
        "systemctl status --no-pager ollama.service; journalctl --no-pager -n 30 -u ollama.service").stdout)


@pytest.fixture(scope="module")
def attacked_site(first_site):
    """The compromised runtime attacks, then site.yml runs again (full run) while the race runs."""
    before = run_ok(SITE_HOST, OWNERSHIP)
    etc_shadow = SITE_HOST.file("/etc/shadow")
    shadow_before = (etc_shadow.user, etc_shadow.group, etc_shadow.mode)
    user = run_ok(SITE_HOST, "systemctl show -P User ollama.service").strip()
    assert user and user != "root", "site.yml adopted ollama.service (user %r)" % user
    models = "/var/lib/ollama/models"
    as_runtime = "runuser -u %s -- " % shlex.quote(user)
    # Links the runtime may make in its own tree: to /etc, and to /etc/shadow.
    run_ok(SITE_HOST, as_runtime + "ln -sfn /etc %s/etc-link" % models)
    run_ok(SITE_HOST, as_runtime + "ln -sfn /etc/shadow %s/blobs/shadow-symlink" % models)
    # A hard link to /etc/shadow, as on a host with fs.protected_hardlinks=0 (the kernel here refuses
    # it to the runtime's user, so root makes it on the attacker's behalf).
    run_ok(SITE_HOST, "ln -f /etc/shadow %s/blobs/shadow-hardlink" % models)
    # Re-exec in place (same PID) with a system tree as its model directory. The runtime must be
    # serving (its SIGUSR1 handler installed) first: site.yml may have restarted it moments ago.
    run_ok(SITE_HOST, as_runtime + "sh -c 'echo OLLAMA_MODELS=/var/lib/dpkg > %s/.reexec'" % models)
    pid = reexec_runtime(as_runtime)
    # The swap race runs in the background (bounded) while site.yml walks the data directory.
    race_dir = models + "/race"
    SITE_HOST.run(as_runtime + "sh -c 'setsid /usr/local/share/aihost-test/swap_race.py %s /etc 600 "
                  "> /var/tmp/swap-race.out 2>&1 &'" % race_dir)
    rc, out = ansible("site.yml", "--diff", "--limit", "hostile-site", *admin_vars())
    run_ok(SITE_HOST, "touch %s/.stop-swap" % race_dir)
    time.sleep(2)
    after = run_ok(SITE_HOST, OWNERSHIP)
    return {"rc": rc, "out": out, "before": before, "after": after, "shadow_before": shadow_before,
            "user": user, "pid": pid}


@pytest.fixture(scope="module")
def last_audit(attacked_site):
    report_dir = os.path.join(EPHEMERAL, "reports-after")
    rc, out = ansible("audit.yml", "--limit", "hostile-site", "-e", "aihost_audit_report_dir=%s" % report_dir)
    assert rc == 0, out[-4000:]
    return report_dir, out


def changed_ownership(before, after, allowed_prefixes=()):
    """Paths present in both snapshots whose owner, group or mode differ, outside allowed trees."""
    def index(text):
        # Each line is "PATH UID GID MODE"; a path may hold spaces, the last three fields cannot.
        entries = {}
        for line in text.splitlines():
            parts = line.rsplit(" ", 3)
            if len(parts) == 4:
                entries[parts[0]] = " ".join(parts[1:])
        return entries
    first, second = index(before), index(after)
    return sorted("%s: %s -> %s" % (path, first[path], second[path]) for path in first
                  if path in second and first[path] != second[path]
                  and not any(path == p or path.startswith(p + "/") for p in allowed_prefixes))


# --- Attack 1 and 2: planted binaries ------------------------------------------------------------

def test_audit_runs_no_binary_a_user_can_change(first_audit):
    """Eve's own `ollama` and a root-owned `llama-server` in her directory both listen under runtime
    names; the audit (version_commands on by default) runs neither as root."""
    pwned = AUDIT_HOST.run("ls /var/tmp/aihost-pwned-* 2>/dev/null; cat /var/tmp/aihost-pwned-* 2>/dev/null")
    assert pwned.stdout.strip() == "", "root ran the attacker's binary: " + pwned.stdout
    # Guard against a vacuous pass: the audit did see both as runtimes.
    report_dir = first_audit[0]
    report = json.load(open(os.path.join(report_dir, "hostile-audit.json")))
    text = json.dumps(report)
    assert "/home/eve/bin/ollama" in text and "/home/eve/tools/llama-server" in text, text[:3000]
    warnings = "\n".join(report["aihost_runtime"]["warnings"])
    assert "/home/eve/bin/ollama --version not run as root" in warnings, warnings
    assert "/home/eve/tools/llama-server --version not run as root" in warnings, warnings


def test_planted_binary_would_have_run_as_root_before_the_fix():
    """The proof file is written only by a version flag: show that the payload works, as eve."""
    out = AUDIT_HOST.run("runuser -u eve -- /home/eve/bin/ollama --version && cat /var/tmp/aihost-pwned-ollama"
                         " && rm -f /var/tmp/aihost-pwned-ollama")
    assert out.rc == 0 and "uid=1001" in out.stdout, out.stdout + out.stderr


# --- Attack 3: secrets on command lines, in environments and in unit files ----------------------

def test_no_secret_in_audit_reports_or_output(first_audit, last_audit):
    for report_dir, out in (first_audit, last_audit):
        no_secret_in(out, "audit.yml -v output")
        for name in os.listdir(report_dir):
            with open(os.path.join(report_dir, name), errors="replace") as handle:
                no_secret_in(handle.read(), os.path.join(report_dir, name))
    report = json.load(open(os.path.join(first_audit[0], "hostile-audit.json")))
    assert "<redacted>" in json.dumps(report), "the secrets' names are kept, their values redacted"


def test_no_secret_in_site_output_or_diff(first_site, attacked_site):
    no_secret_in(first_site["out"], "site.yml -v --diff (first run)")
    no_secret_in(attacked_site["out"], "site.yml -v --diff (second run)")


# --- Attack 4: a compromised runtime re-execs with a system tree as its data directory -----------

def test_reexec_with_a_system_tree_gains_nothing(attacked_site):
    assert attacked_site["rc"] == 0, "one runtime's claim does not stop the host's run:\n" + attacked_site["out"][-6000:]
    owners = run_ok(SITE_HOST, "find /var/lib/dpkg ! -user root -o ! -group root | head -5")
    assert owners.strip() == "", "/var/lib/dpkg was handed to the runtime: " + owners
    units = run_ok(SITE_HOST, "systemctl cat ollama.service")
    assert "/var/lib/dpkg" not in units, units
    assert "/var/lib/ollama/models" in units, "the pinned data directory stays writable: " + units
    assert re.search(r"/var/lib/dpkg", attacked_site["out"]) and "aihost_service_users_data_dirs" in attacked_site["out"], \
        "a warning names the refused directory and the variable that would accept it"


# --- Attack 5 and 6: links and a swapped directory in the runtime's own tree ----------------------

def test_links_and_swap_race_in_data_dirs_gain_nothing(attacked_site):
    shadow = SITE_HOST.file("/etc/shadow")
    assert (shadow.user, shadow.group, shadow.mode) == attacked_site["shadow_before"] == ("root", "shadow", 0o640)
    changed = changed_ownership(attacked_site["before"], attacked_site["after"],
                                allowed_prefixes=("/var/lib/ollama", "/var/lib/aihost", "/var/lib/apt/lists",
                                                  "/var/cache/apt", "/var/log"))
    assert changed == [], "owner or mode changed outside the runtime's own tree:\n" + "\n".join(changed[:30])
    race = SITE_HOST.file("/var/tmp/swap-race.out").content_string
    assert int(re.search(r"flips=(\d+)", race).group(1)) > 100, "the race really ran: " + race


def test_links_in_a_store_the_role_takes_over_gain_nothing(first_site):
    """Eve's store holds a symlink to /etc, one to /etc/shadow and a hard link to /etc/shadow;
    model_integrity makes the store root:eve and caps its modes."""
    store = SITE_HOST.file("/srv/models/blobs/sha256-0002")
    assert (store.user, store.group) == ("root", "eve"), "the role did take the store over"
    shadow = SITE_HOST.file("/etc/shadow")
    assert (shadow.user, shadow.group, shadow.mode) == ("root", "shadow", 0o640)
    changed = changed_ownership(first_site["before"], first_site["after"],
                                allowed_prefixes=("/srv/models", "/var/lib/ollama", "/var/lib/aihost",
                                                  "/var/lib/apt/lists", "/var/cache/apt", "/var/log"))
    assert changed == [], "owner or mode changed outside the declared trees:\n" + "\n".join(changed[:30])


# --- Attack 7: the firewall's rollback with an unchanged ruleset file -----------------------------

def test_rollback_after_an_unchanged_apply_keeps_the_ruleset_file(attacked_site):
    ruleset = "/etc/aihost/firewall.nft"
    before = run_ok(SITE_HOST, "sha256sum %s" % ruleset)
    run_ok(SITE_HOST, "/usr/local/sbin/aihost-firewall-ctl arm --seconds 600 --backend nftables")
    run_ok(SITE_HOST, "/usr/local/sbin/aihost-firewall-ctl restore")
    assert run_ok(SITE_HOST, "sha256sum %s" % ruleset) == before
    run_ok(SITE_HOST, "systemctl restart aihost-firewall.service")
    assert "table inet aihost" in run_ok(SITE_HOST, "nft list tables")


# --- Attack 8: a local run (no SSH_CONNECTION) with empty admin networks -------------------------

def test_local_run_with_empty_admin_networks_keeps_the_ssh_session(attacked_site):
    PEER.run("setsid ssh -N -o StrictHostKeyChecking=no -o ServerAliveInterval=5 -o BatchMode=yes "
             "eve@hostile-site > /tmp/ssh-session.log 2>&1 &")
    deadline = time.time() + 30
    # Established TCP sessions to port 22 (0x0016), from /proc: the bare host has no ss.
    sessions = ("python3 -c \"print(sum(1 for line in open('/proc/net/tcp').readlines()[1:]"
                " if line.split()[1].endswith(':0016') and line.split()[3] == '01'))\"")
    while SITE_HOST.run(sessions).stdout.strip() in ("", "0"):
        assert time.time() < deadline, "the peer holds an SSH session to hostile-site"
        time.sleep(1)
    ruleset_before = run_ok(SITE_HOST, "nft -s list table inet aihost")
    rc, out = ansible("site.yml", "--limit", "hostile-site", "--tags", "firewall",
                      "-e", json.dumps({"aihost_firewall_admin_networks": []}))
    assert rc != 0, out[-4000:]
    assert "aihost_firewall_admin_networks" in out
    assert run_ok(SITE_HOST, "nft -s list table inet aihost") == ruleset_before
    second = PEER.run("ssh -o StrictHostKeyChecking=no -o BatchMode=yes -o ConnectTimeout=10 eve@hostile-site true")
    assert second.rc == 0, "a new SSH login still works: " + second.stderr


# --- Attack 9: a split /0 opens an AI port to the Internet ---------------------------------------

def test_split_zero_for_an_ai_port_is_refused_before_any_change(attacked_site):
    ruleset_before = run_ok(SITE_HOST, "nft -s list table inet aihost")
    exposures = [{"port": 22, "proto": "tcp", "process": "sshd", "reason": "SSH"},
                 {"port": 11434, "proto": "tcp", "runtime": "ollama", "scope": "all",
                  "sources": ["0.0.0.0/1", "128.0.0.0/1"], "reason": "the whole Internet, in two halves"}]
    rc, out = ansible("site.yml", "--limit", "hostile-site", "--tags", "firewall",
                      *admin_vars(aihost_allowed_exposures=exposures))
    assert rc != 0 and "11434" in out, out[-4000:]
    assert run_ok(SITE_HOST, "nft -s list table inet aihost") == ruleset_before


# --- Attack 10: a crafted release tarball for the runtime updater -------------------------------

def crafted_release():
    """A release archive with the binary and a hard link out of the install prefix to /etc/shadow
    (a hard link's target is relative to the archive root: ../../etc/shadow from /usr/local)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        binary = b"#!/bin/sh\necho 'ollama version is 9.9.9'\n"
        member = tarfile.TarInfo("bin/ollama")
        member.size, member.mode = len(binary), 0o755
        archive.addfile(member, io.BytesIO(binary))
        link = tarfile.TarInfo("lib/ollama/x/shadow")
        link.type, link.linkname = tarfile.LNKTYPE, "../../etc/shadow"
        archive.addfile(link)
    return buffer.getvalue()


def test_crafted_release_tarball_gains_nothing(attacked_site):
    release = crafted_release()
    PEER.run("mkdir -p /srv/release")
    subprocess.run(["docker", "exec", "-i", "hostile-peer", "sh", "-c", "cat > /srv/release/ollama-linux-amd64.tgz"],
                   input=release, check=True)
    PEER.run("cd /srv/release && setsid python3 -m http.server 8000 > /tmp/http.log 2>&1 &")
    peer_ip = subprocess.run(["docker", "inspect", "-f", "{{ (index .NetworkSettings.Networks \"%s\").IPAddress }}" % NETWORK,
                              "hostile-peer"], capture_output=True, text=True, check=True).stdout.strip()
    runtime = {"name": "ollama", "kind": "binary", "policy": "apply", "binary": "/usr/local/bin/ollama",
               "version": "9.9.9", "sha256": hashlib.sha256(release).hexdigest(),
               "url": "http://%s:8000/ollama-linux-amd64.tgz" % peer_ip,
               "archive_members": ["bin/ollama", "lib/ollama"]}
    rc, out = ansible("updates.yml", "--limit", "hostile-site", "-e", json.dumps(
        {"aihost_updates_os_enabled": False, "aihost_updates_runtimes": [runtime]}))
    assert rc == 0, out[-4000:]
    SITE_HOST.run("systemctl start aihost-update-ollama.service")
    status = json.loads(run_ok(SITE_HOST, "cat /var/lib/aihost/updates/ollama.json"))
    assert status["result"] == "failed" and "lib/ollama/x/shadow refused" in status["message"], status
    assert "failed before anything changed" in status["message"], status
    # (/etc/shadow has other links: the ones root planted in the data directories above.)
    assert run_ok(SITE_HOST, "find /usr/local -samefile /etc/shadow") == "", "no hard link to /etc/shadow was made"
    assert not SITE_HOST.file("/usr/local/lib/ollama").exists
    # The compromised Ollama is still the binary that runs (nothing was installed).
    assert "re-executes itself" in SITE_HOST.file("/usr/local/bin/ollama").content_string


# --- After every attack: the perimeter holds -----------------------------------------------------

def test_peer_still_sees_only_ssh(attacked_site):
    scan = run_ok(PEER, "nmap -sT -Pn -n -p 22,11434,8080 -oG - hostile-site")
    open_ports = sorted(re.findall(r"(\d+)/open/tcp", scan))
    assert open_ports == ["22"], scan
