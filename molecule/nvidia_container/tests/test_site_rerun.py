"""site.yml's no-change path on the hardened NVIDIA host (runs after test_nvidia_container.py).

Converge and idempotence ran with aihost_site_fast_path=false (every role's tasks, the proof that
they change nothing) and recorded the converge stamp. Here site.yml runs four more times the way
a fleet user runs it (the fast path on): one run settles whatever the other verify tests left, then
the host must match its stamp and be skipped without a single role task; then, after two kinds of drift a real host sees - the firewall's table deleted
from the kernel (no file changes) and a model file opened to everyone - the host must get the full
run with both differences named, and be repaired; then it must match again."""
import os
import re
import subprocess

import pytest
import testinfra
import testinfra.utils.ansible_runner

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
HOST = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("nvidia_gpu")[0]
testinfra_hosts = ["docker://" + HOST]
MODELS = "/usr/share/ollama/.ollama/models"


def site_run():
    """converge.yml (site.yml behind the scenario's network lookup) on the host, fast path on."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(["ansible-playbook", "-i", INVENTORY, "--limit", HOST + ",localhost",
                             "-e", "aihost_site_fast_path=true", os.path.join(SCENARIO, "converge.yml")],
                            capture_output=True, text=True, timeout=900, check=False, env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    recap = re.search(r"^%s\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=0\s+failed=0" % re.escape(HOST),
                      result.stdout, re.M)
    assert recap, result.stdout[-2000:]
    return result.stdout, int(recap.group(2))


def role_tasks_on_host(output):
    """The role tasks the run evaluated for the host (each TASK header followed by a result line for it)."""
    return re.findall(r"^TASK \[(aihost\.hardening\.[^\]]*)\][^\n]*\n(?:[^\n]*\n)*?(?:ok|changed|skipping|fatal): \[%s\]"
                      % re.escape(HOST), output, re.M)


@pytest.fixture(scope="module")
def reruns(host):
    # The tests of test_nvidia_container.py ran since idempotence recorded the stamp and may have left
    # a difference: this run converges whatever they left (and records), the next one must match.
    runs = {"settle": site_run()}
    runs["matching"] = site_run()
    model_file = host.run("find %s -type f | sort | head -n 1" % MODELS).stdout.strip()
    assert model_file, "no model file under %s" % MODELS
    mode_before = host.file(model_file).mode
    assert host.run("nft delete table inet aihost").rc == 0
    assert host.run("chmod 0666 %s" % model_file).rc == 0
    runs["drifted"] = site_run()
    runs["repaired"] = {"table": host.run("nft list table inet aihost"), "mode": host.file(model_file).mode,
                        "mode_before": mode_before, "model_file": model_file}
    runs["again"] = site_run()
    return runs


def test_an_unchanged_host_is_skipped_without_any_role_task(reruns):
    assert reruns["settle"][1] == 0, "the settling run changed the host: " + reruns["settle"][0][-3000:]
    output, changed = reruns["matching"]
    assert changed == 0
    assert role_tasks_on_host(output) == []
    # The detect play, the five role plays and the record play had nobody to run for.
    assert output.count("skipping: no hosts matched") >= 7, output[-3000:]


def test_drift_is_named_and_gets_the_full_run(reruns):
    output, changed = reruns["drifted"]
    assert "nft_ruleset: 1 differ: ruleset (changed)" in output
    # The model store is the runtime's data path; YAML output may fold the line before "(changed)".
    assert re.search(r"metadata:%s: 1 differ: %s\s+\(changed\)"
                     % (re.escape(MODELS), re.escape(reruns["repaired"]["model_file"])), output), output[-3000:]
    assert any(task.startswith("aihost.hardening.firewall") for task in role_tasks_on_host(output)) and changed > 0


def test_the_full_run_repaired_both(reruns):
    repaired = reruns["repaired"]
    assert repaired["table"].rc == 0 and "policy drop" in repaired["table"].stdout
    assert repaired["mode"] == repaired["mode_before"] != 0o666


def test_the_repaired_host_matches_its_new_stamp(reruns):
    output, changed = reruns["again"]
    assert changed == 0 and role_tasks_on_host(output) == []
    assert output.count("skipping: no hosts matched") >= 7, output[-3000:]
