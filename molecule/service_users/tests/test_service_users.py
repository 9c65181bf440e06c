"""Verify the service_users role against what the containers really run.

Prepare started real Jupyter, MLflow and Gradio and the Ollama stand-in as root, with root-owned,
world-readable data under /var/lib/<name>. Converge ran the role; idempotence ran it again; the side
effect proved the two failure paths and left the converged state in place.
"""
import json
import os
import re
import stat
import subprocess

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")

# runtime -> (unit, data directory, loopback URL that must answer 200)
RUNTIMES = {
    "ollama": ("ollama.service", "/var/lib/ollama/models", "http://127.0.0.1:11434/api/version"),
    "jupyter": ("jupyter.service", "/var/lib/jupyter", "http://127.0.0.1:8888/api"),
    "mlflow": ("mlflow.service", "/var/lib/mlflow", "http://127.0.0.1:5000/health"),
    "gradio": ("gradio.service", "/var/lib/gradio", "http://127.0.0.1:7860/"),
}
TARGET_CPU = 3.0
OVERALL = re.compile(r"Overall exposure level for \S+: ([0-9.]+) ([A-Z]+)")


@pytest.fixture(scope="module")
def state(host):
    return json.loads(host.file("/var/lib/aihost/service_users.json").content_string)


def main_pid(host, unit):
    pid = int(host.check_output("systemctl show --property=MainPID --value %s", unit))
    assert pid > 0, "%s has no main process" % unit
    return pid


def unit_pids(host, unit):
    """Every process of the unit, from its cgroup (v1 name=systemd hierarchy or v2)."""
    cgroup = host.check_output("systemctl show --property=ControlGroup --value %s", unit)
    for base in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        procs = host.file(base + cgroup + "/cgroup.procs")
        if procs.exists:
            return [int(p) for p in procs.content_string.split()]
    raise AssertionError("no cgroup.procs for %s (%s)" % (unit, cgroup))


def uids_of(host, pid):
    """Real, effective, saved and filesystem uid from /proc/<pid>/status."""
    status = host.file("/proc/%d/status" % pid).content_string
    return [int(u) for u in re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()]


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_runtime_runs_as_its_own_system_user(host, runtime):
    """Every process of the unit runs as the runtime's new system user, none as root."""
    unit = RUNTIMES[runtime][0]
    user = host.user(runtime)
    assert user.exists
    assert 0 < user.uid < 1000, "not a system account: uid %d" % user.uid
    assert user.shell == "/usr/sbin/nologin"
    assert user.home == RUNTIMES[runtime][1]
    shadow = host.check_output("getent shadow %s", runtime).split(":")[1]
    assert shadow.startswith(("!", "*")), "the account has a usable password"
    assert host.service(unit).is_running
    pids = unit_pids(host, unit)
    assert main_pid(host, unit) in pids
    for pid in pids:
        assert uids_of(host, pid) == [user.uid] * 4, "pid %d of %s does not run as %s" % (pid, unit, runtime)


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_runtime_answers_on_loopback(host, runtime):
    """The sandboxed runtime still serves: HTTP 200 on its loopback port."""
    url = RUNTIMES[runtime][2]
    code = host.check_output("curl -s -o /dev/null -w '%%{http_code}' --max-time 20 %s", url)
    assert code == "200", "%s answered %s" % (url, code)


def test_mlflow_can_still_write_its_database(host):
    """The sandbox leaves the data directory writable: MLflow records a new experiment in mlflow.db."""
    name = "aihost-verify-%s" % host.backend.host
    out = host.check_output(
        "curl -s --max-time 20 -H 'Content-Type: application/json' -d '{\"name\": \"%s\"}' "
        "http://127.0.0.1:5000/api/2.0/mlflow/experiments/create || true", name)
    listed = host.check_output(
        "curl -s --max-time 20 'http://127.0.0.1:5000/api/2.0/mlflow/experiments/get-by-name?experiment_name=%s'", name)
    assert name in listed, out


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_exposure_score_meets_the_cpu_target(host, runtime, state):
    """systemd-analyze security, run now: at most 3.0 (OK), down from 9 or more (UNSAFE) before the role."""
    unit = RUNTIMES[runtime][0]
    out = host.check_output("systemd-analyze security --no-pager %s", unit)
    score, rating = OVERALL.search(out).groups()
    assert float(score) <= TARGET_CPU and rating == "OK", "%s: %s %s" % (unit, score, rating)
    record = state["units"][unit]
    assert record["score_baseline"] >= 9.0 and record["rating_baseline"] == "UNSAFE"
    assert record["score_after"] == float(score) and record["meets_target"] is True
    assert record["run_as_baseline"] == ["root"] and record["user"] == runtime


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_unit_sandbox_settings_are_live(host, runtime):
    """systemd applies the drop-in: the unit runs with the user, the read-only system and no capabilities."""
    unit, data_dir, _url = RUNTIMES[runtime]
    dropin = host.file("/etc/systemd/system/%s.d/aihost-sandbox.conf" % unit)
    assert dropin.exists and dropin.user == "root" and dropin.mode == 0o644
    props = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show --property=User,ProtectSystem,ProtectHome,NoNewPrivileges,PrivateDevices,"
        "CapabilityBoundingSet,ReadWritePaths,RestrictNamespaces,MemoryDenyWriteExecute %s", unit).splitlines())
    assert props["User"] == runtime
    assert props["ProtectSystem"] == "strict" and props["ProtectHome"] == "yes"
    assert props["NoNewPrivileges"] == "yes" and props["PrivateDevices"] == "yes"
    assert props["CapabilityBoundingSet"] == "" and props["RestrictNamespaces"] == "yes"
    # Its own data directory only: never another runtime's.
    assert props["ReadWritePaths"].split() == [data_dir]
    # The catalog's jit profile (Ollama, Jupyter) relaxes W^X; MLflow and Gradio keep it.
    assert props["MemoryDenyWriteExecute"] == ("no" if runtime in ("ollama", "jupyter") else "yes")


def test_working_directory_hidden_by_the_sandbox_moved_to_the_data_directory(host):
    """Gradio's unit starts in /root (prepare.yml), which ProtectHome= hides from the gradio user: the
    drop-in moves it to its data directory, and the service is running there (it answers: see above)."""
    dropin = host.file("/etc/systemd/system/gradio.service.d/aihost-sandbox.conf").content_string.splitlines()
    assert "WorkingDirectory=/var/lib/gradio" in dropin
    assert host.check_output("systemctl show --property=WorkingDirectory --value gradio.service") == "/var/lib/gradio"
    assert host.check_output("systemctl is-active gradio.service") == "active"
    pid = host.check_output("systemctl show --property=MainPID --value gradio.service")
    assert host.check_output("readlink /proc/%s/cwd", pid) == "/var/lib/gradio"
    # Units that started in their data directory keep their own WorkingDirectory= (no line added).
    assert not any(line.startswith("WorkingDirectory") for line in
                   host.file("/etc/systemd/system/mlflow.service.d/aihost-sandbox.conf").content_string.splitlines())


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_data_tree_belongs_to_the_service_user_and_is_closed_to_others(host, runtime):
    """Owner and group changed recursively; directories at most 0750, files at most 0640, nothing for others."""
    data_dir = RUNTIMES[runtime][1]
    listing = host.check_output("find %s -printf '%%u %%g %%m %%y %%p\\n'", data_dir)
    entries = [line.split(" ", 4) for line in listing.splitlines()]
    assert entries
    for owner, group, mode, kind, path in entries:
        mode = int(mode, 8)
        assert (owner, group) == (runtime, runtime), "%s is %s:%s" % (path, owner, group)
        assert mode & 0o007 == 0, "%s is open to others (%o)" % (path, mode)
        assert mode & ~(0o750 if kind == "d" else 0o640) == 0, "%s is %o" % (path, mode)


def test_databases_are_private(host):
    """MLflow's sqlite backend store is 0600 (it holds every run's parameters and metrics)."""
    db = host.file("/var/lib/mlflow/mlflow.db")
    assert db.exists and db.user == "mlflow" and db.mode == 0o600


def test_model_contents_are_untouched(host):
    """Ownership changed, contents did not."""
    blob = host.file("/var/lib/ollama/models/blobs/sha256-" + "0" * 64)
    assert blob.content_string == "not a real model: a few bytes standing for the weights\n"
    assert blob.user == "ollama" and blob.mode == 0o640


def test_original_ownership_is_recorded_before_the_change(host):
    """The backup manifest keeps the original owner and mode of what the role changed."""
    manifest = host.file("/var/lib/aihost/backup/service_users/mlflow_var_lib_mlflow.json")
    assert manifest.exists and manifest.mode == 0o600
    entries = json.loads(manifest.content_string)["entries"]
    assert entries["/var/lib/mlflow/mlflow.db"] == {"uid": 0, "gid": 0, "mode": "0644"}
    assert entries["/var/lib/mlflow"]["mode"] == "0755"


def test_root_home_state_was_left_alone(host):
    """Jupyter's runtime files in root's home were not handed to the jupyter user."""
    runtime_dir = host.file("/root/.local/share/jupyter")
    assert runtime_dir.exists and runtime_dir.user == "root"


def test_cpu_host_has_no_gpu_changes(host, state):
    """No GPU here: no group changes, no module options, devices stay private."""
    assert state["host_has_gpu"] is False and state["gpu"]["pending"] is False
    assert not host.file("/etc/modprobe.d/aihost-nvidia.conf").exists
    for runtime in RUNTIMES:
        assert "video" not in host.user(runtime).groups


def test_the_person_was_not_touched(host):
    """alice keeps her shell and groups (the side effect tried to take her name)."""
    alice = host.user("alice")
    assert alice.uid == 1000 and alice.shell == "/bin/bash"
    assert sorted(alice.groups) == ["alice"]
    assert host.file("/var/lib/aihost/service_users.json").mode & stat.S_IWOTH == 0


def test_the_audit_notices_a_sandbox_undone_behind_the_roles_back(host, state, tmp_path):
    """Drop the User= line from Ollama's drop-in: playbooks/audit.yml reports AIH-CFG-007 for that unit
    and for no other (the intact drop-ins are not flagged). The file is put back afterwards."""
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    record = state["units"]["ollama.service"]
    user_line = [line for line in record["directives"] if line.startswith("User=")][0]
    saved = host.check_output("base64 -w0 %s", record["dropin"])
    try:
        host.run_test("sed -i '/^%s$/d' %s", user_line, record["dropin"])
        result = subprocess.run(
            ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host.backend.host,
             os.path.join(project, "playbooks", "audit.yml"), "-e", "aihost_audit_report_dir=%s" % tmp_path,
             "-e", "aihost_audit_fail_on=none", "-e", "aihost_audit_print_summary=false"],
            cwd=project, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(project, ".collections")),
            capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    finally:
        host.run_test("echo %s | base64 -d > %s", saved, record["dropin"])
    report = json.loads((tmp_path / ("%s.json" % host.backend.host)).read_text())
    undone = [item for item in report["findings"] if item["id"] == "AIH-CFG-007"]
    assert [item["subject"] for item in undone] == ["ollama.service"], undone
    assert "no longer sets 1 of the role's directives: %s" % user_line in undone[0]["evidence"]
    checked = report["host_checks"]["service_users"]["units"]
    assert sorted(unit["unit"] for unit in checked) == sorted(unit for unit in state["units"])
