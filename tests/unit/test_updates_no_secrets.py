"""The updates role never prints the credentials it writes into an updater configuration (issue #16):
an index URL with user:password in pip_extra_args, tokens in aihost_updates_environment and in a
download URL. Runs the role's validate tasks (input checks and runtime resolution) and its runtimes
tasks on localhost in check mode (nothing is written) with -vvv and --diff, which print every loop
item, every module argument and every diff, and looks for the secrets in everything Ansible printed.
A failure still names the runtime."""
import json
import os
import subprocess
import sys

import pytest

CHECKOUT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

pytestmark = pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook not in this venv")

SECRETS = ["S3cretIndexPass", "S3cretEnvToken", "S3cretUrlToken", "S3cretProxyPass"]

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: aihost.hardening.updates
        tasks_from: validate
    - ansible.builtin.include_role:
        name: aihost.hardening.updates
        tasks_from: runtimes
"""


def run_role(tmp_path, check=True, config_dir=None):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for name in ("config", "status", "bin"):
        (tmp_path / name).mkdir()
    extra = {
        "ansible_python_interpreter": sys.executable,
        "aihost_updates_gather_facts": False,
        "aihost_updates_config_dir": config_dir or str(tmp_path / "config"),
        "aihost_updates_status_dir": str(tmp_path / "status"),
        "aihost_updates_bin_dir": str(tmp_path / "bin"),
        "aihost_updates_environment": {"PIP_EXTRA_INDEX_URL": "https://ci:S3cretEnvToken@pypi.example/simple",
                                       "HTTPS_PROXY": "http://proxy:S3cretProxyPass@proxy.example:3128"},
        "aihost_updates_runtimes": [
            {"name": "jupyter", "kind": "pip", "venv": str(venv), "package": "jupyterlab",
             "pip_extra_args": ["--index-url", "https://bob:S3cretIndexPass@pypi.example/simple"]},
            {"name": "ollama", "kind": "binary", "binary": "/usr/local/bin/ollama", "version": "0.12.3",
             "url": "https://mirror.example/ollama-{version}.tgz?token=S3cretUrlToken",
             "sha256": "0" * 64},
        ],
    }
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    extra_file = tmp_path / "vars.json"
    extra_file.write_text(json.dumps(extra))
    argv = [ANSIBLE_PLAYBOOK, "-i", "localhost,", str(playbook), "-e", "@%s" % extra_file, "-vvv", "--diff"]
    if check:
        argv.append("--check")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    proc = subprocess.run(argv, cwd=CHECKOUT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False, timeout=600)
    return proc.returncode, proc.stdout


def test_no_credential_reaches_verbose_or_diff_output(tmp_path):
    rc, out = run_role(tmp_path)
    # The run got as far as the configuration and the units (check mode: nothing written).
    assert "Write each runtime's updater configuration" in out and "aihost-update-jupyter.service" in out, out[-3000:]
    leaked = [secret for secret in SECRETS if secret in out]
    assert leaked == [], "secrets in Ansible's output: %s" % leaked


def test_a_failed_configuration_write_names_the_runtime_not_the_secret(tmp_path):
    # A configuration directory that cannot be written: the copy fails for both runtimes.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    rc, out = run_role(tmp_path, check=False, config_dir=str(blocker))
    assert rc != 0
    assert "Writing the updater configuration %s/<name>.json failed for jupyter, ollama" % blocker in out, out[-3000:]
    assert [secret for secret in SECRETS if secret in out] == []
