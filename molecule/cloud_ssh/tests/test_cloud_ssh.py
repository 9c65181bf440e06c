"""Cloud-shaped hosts over real SSH (issue #17): what a user who runs the collection against a cloud
fleet gets, from the controller, with `become: true` and only the inventory they would write.

cloud-sudo is reached as `debian` with passwordless sudo and runs, as root on every interface, a
REAL Jupyter rooted at /srv itself, a REAL MLflow and the Ollama stand-in. site.yml (defaults, plus
the admin network) must finish with rc 0: Jupyter is left as it is and named in a warning and in
the audit, the others are adopted and keep working, the firewall's commit-confirmed apply keeps the
SSH path alive, a new login works, the peer sees only SSH, and a second full run changes nothing.
cloud-root is reached as root and has no sudo: become must work there too.
"""
import json
import os
import re
import subprocess
import time

import pytest
import testinfra

PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
NETWORK = "aihost-cloud-net"
KEY = os.path.join(EPHEMERAL, "id_ed25519")
SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
               "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR", "-i", KEY]

# Docker connections for looking at the hosts from outside; the collection itself only uses SSH.
SUDO_HOST = testinfra.get_host("docker://cloud-sudo")
ROOT_HOST = testinfra.get_host("docker://cloud-root")
PEER = testinfra.get_host("docker://cloud-peer")


def docker_inspect(container, template):
    return subprocess.run(["docker", "inspect", "-f", template, container], capture_output=True, text=True,
                          check=True).stdout.strip()


def address(container):
    return docker_inspect(container, '{{ (index .NetworkSettings.Networks "%s").IPAddress }}' % NETWORK)


def subnet():
    out = subprocess.run(["docker", "network", "inspect", NETWORK], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]["IPAM"]["Config"][0]["Subnet"]


@pytest.fixture(scope="module")
def inventory():
    """The inventory a user writes for two cloud hosts: addresses, login, key, admin network."""
    path = os.path.join(EPHEMERAL, "ssh-inventory.json")
    hosts = {
        "cloud-sudo": {"ansible_host": address("cloud-sudo"), "ansible_user": "debian"},
        "cloud-root": {"ansible_host": address("cloud-root"), "ansible_user": "root"},
    }
    document = {"all": {"hosts": hosts, "vars": {
        "ansible_ssh_private_key_file": KEY,
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "aihost_firewall_admin_networks": [subnet()],
        "aihost_audit_admin_networks": [subnet()],
        "aihost_audit_fail_on": "none",
        "aihost_audit_report_dir": os.path.join(EPHEMERAL, "reports"),
        # OS updates are proved by molecule/updates; here they would only add apt time.
        "aihost_site_updates": False,
    }}}
    with open(path, "w") as handle:
        json.dump(document, handle)
    return path


def ansible(inventory_path, playbook, *args, timeout=1800):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=os.path.join(PROJECT, "ansible.cfg"))
    # The user's ansible.cfg-less view would do the same; the project's only adds pipelining and
    # the collection path.
    result = subprocess.run(["ansible-playbook", "-i", inventory_path, os.path.join(PROJECT, "playbooks", playbook)]
                            + list(args), cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout,
                            check=False)
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    with open(os.path.join(EPHEMERAL, "cloud-%s-%d.log" % (playbook, int(time.time()))), "w") as log:
        log.write(output)
    return result.returncode, output


def recap(output, host):
    match = re.search(r"^%s\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)" % re.escape(host),
                      output, re.M)
    assert match, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


def ssh(user, container, command="true"):
    return subprocess.run(["ssh"] + SSH_OPTIONS + ["%s@%s" % (user, address(container)), command],
                          capture_output=True, text=True, timeout=60, check=False)


def http(host, method, url, body=None):
    """One request from inside the host with its own python3 (a bare host has no curl)."""
    script = ("import json, sys, urllib.request\n"
              "data = sys.argv[3].encode() if sys.argv[3] else None\n"
              "request = urllib.request.Request(sys.argv[2], data=data, method=sys.argv[1],"
              " headers={'Content-Type': 'application/json'})\n"
              "try:\n"
              "    answer = urllib.request.urlopen(request, timeout=30)\n"
              "    print(answer.status); print(answer.read().decode())\n"
              "except urllib.error.HTTPError as error:\n"
              "    print(error.code); print(error.read().decode())\n")
    result = host.run("python3 -c %s %s %s %s" % tuple(
        "'" + part.replace("'", "'\\''") + "'" for part in (script, method, url, json.dumps(body) if body else "")))
    status, text = (result.stdout.split("\n", 1) + [""])[:2]
    return int(status or 0), text


@pytest.fixture(scope="module")
def first_run(inventory):
    rc, out = ansible(inventory, "site.yml", "--limit", "cloud-sudo")
    return rc, out


@pytest.fixture(scope="module")
def second_run(first_run, inventory):
    rc, out = ansible(inventory, "site.yml", "--limit", "cloud-sudo", "-e", "aihost_site_fast_path=false")
    return rc, out


@pytest.fixture(scope="module")
def audit_after(second_run, inventory):
    rc, out = ansible(inventory, "audit.yml", "--limit", "cloud-sudo", "--become")
    assert rc == 0, out[-3000:]
    with open(os.path.join(EPHEMERAL, "reports", "cloud-sudo.json")) as handle:
        return json.load(handle)


def test_site_over_ssh_with_sudo_finishes_despite_an_ambiguous_runtime(first_run):
    rc, out = first_run
    assert rc == 0, out[-6000:]
    assert recap(out, "cloud-sudo")["failed"] == 0
    flat = re.sub(r"\s+", " ", out)
    assert "jupyter" in flat and "/srv is an allowed root itself" in flat and \
        "aihost_service_users_data_dirs.jupyter" in flat, "one warning names Jupyter, why, and the variable"


def test_jupyter_left_as_it_is_the_others_adopted_and_working(first_run):
    assert SUDO_HOST.run("systemctl show -P User jupyter.service").stdout.strip() in ("", "root")
    assert not SUDO_HOST.file("/etc/systemd/system/jupyter.service.d/aihost-sandbox.conf").exists
    for unit in ("ollama", "mlflow"):
        user = SUDO_HOST.run("systemctl show -P User %s.service" % unit).stdout.strip()
        assert user and user != "root", "%s runs as its own user" % unit
        assert SUDO_HOST.service(unit).is_running
    # Real work, not just a port: MLflow writes to its database, Ollama lists its models.
    status, body = http(SUDO_HOST, "POST", "http://127.0.0.1:5000/api/2.0/mlflow/experiments/create",
                        {"name": "cloud-ssh-proof-%d" % time.time()})
    assert status == 200 and "experiment_id" in body, body
    status, body = http(SUDO_HOST, "GET", "http://127.0.0.1:11434/api/tags")
    assert status == 200 and "models" in body, body


def test_firewall_apply_kept_the_ssh_path_and_a_new_login_works(first_run):
    assert "table inet aihost" in SUDO_HOST.run("nft list tables").stdout
    assert "no rollback pending" in SUDO_HOST.run("aihost-firewall-ctl status").stdout + \
        SUDO_HOST.run("aihost-firewall-ctl status").stderr
    login = ssh("debian", "cloud-sudo", "sudo -n true")
    assert login.returncode == 0, login.stderr


def test_peer_sees_only_ssh(first_run):
    scan = PEER.run("nmap -sT -Pn -n -p- --min-rate 3000 -oG - %s" % address("cloud-sudo")).stdout
    assert sorted(re.findall(r"(\d+)/open/tcp", scan)) == ["22"], scan


def test_second_full_run_changes_nothing_and_runtimes_keep_working(second_run):
    rc, out = second_run
    assert rc == 0, out[-6000:]
    assert recap(out, "cloud-sudo")["changed"] == 0, "\n".join(
        line for line in out.splitlines() if line.startswith("changed:"))[:3000]
    status, body = http(SUDO_HOST, "POST", "http://127.0.0.1:5000/api/2.0/mlflow/experiments/create",
                        {"name": "cloud-ssh-second-%d" % time.time()})
    assert status == 200 and "experiment_id" in body, "MLflow still writes after the second run: " + body


def test_audit_reports_the_runtime_left_as_it_is(audit_after):
    refused = [item for item in audit_after["findings"] if item["id"] == "AIH-CFG-008"]
    assert refused and "jupyter" in json.dumps(refused), json.dumps(audit_after["findings"], indent=1)[:3000]


def test_root_login_without_sudo_can_run_the_collection(inventory):
    assert ROOT_HOST.run("command -v sudo").rc != 0, "the host really has no sudo"
    rc, out = ansible(inventory, "site.yml", "--limit", "cloud-root", "--tags", "detect,firewall")
    assert rc == 0, out[-4000:]
    assert "table inet aihost" in ROOT_HOST.run("nft list tables").stdout
    assert ssh("root", "cloud-root").returncode == 0, "root can still log in after the firewall"


def test_non_root_login_without_sudo_fails_in_one_sentence(inventory, tmp_path):
    ROOT_HOST.run("id alice || useradd -m -s /bin/bash alice; install -d -o alice -m 0700 /home/alice/.ssh; "
                  "cp /root/.ssh/authorized_keys /home/alice/.ssh/; chown alice /home/alice/.ssh/authorized_keys")
    with open(inventory) as handle:
        document = json.load(handle)
    document["all"]["hosts"]["cloud-root"]["ansible_user"] = "alice"
    other = tmp_path / "alice.json"
    other.write_text(json.dumps(document))
    rc, out = ansible(str(other), "firewall.yml", "--limit", "cloud-root")
    flat = re.sub(r"\s+", " ", out)
    assert rc != 0
    assert "the login user alice cannot become root because the host has no sudo" in flat, out[-3000:]
    assert "sudo: not found" not in flat
