"""Free text that the updates, model_integrity and loopback roles write into unit files, a deb822 .sources file,
APT files and the nginx configuration is refused before any change, with a message that names the variable and shows the
value (issue #16): a newline would add a line or a field, a space a word, '%' a systemd specifier.

Runs each role's validate tasks (read-only: assertions and `systemd-analyze`) on localhost with
ansible-playbook, one run per role for all bad values at once and one for the defaults."""
import json
import os
import shutil
import subprocess
import sys

import pytest

CHECKOUT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

pytestmark = pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook not in this venv")

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    # Set by the role's tasks/main.yml from vars/<os_family>.yml before validate runs.
    aihost_model_integrity__python: /usr/bin/python3
  tasks:
    - ansible.builtin.include_role:
        name: aihost.hardening.%s
        tasks_from: validate
"""


def validate(tmp_path, role, extra_vars):
    playbook = tmp_path / "validate.yml"
    playbook.write_text(PLAY % role)
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(dict(extra_vars, ansible_python_interpreter=sys.executable)))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", str(playbook), "-e", "@%s" % extra],
                          cwd=CHECKOUT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False, timeout=300)
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    failures = [host["msg"] for play in out["plays"] for task in play["tasks"]
                for host in task["hosts"].values() if host.get("failed")]
    return proc.returncode, failures


UPDATES_BAD = {
    # deb822: a newline adds a field (a second Types:, a Signed-By: pointing at a planted key).
    "aihost_updates_os_security_mirror": "http://deb.debian.org/debian-security\nSigned-By: /tmp/evil.gpg",
    "aihost_updates_os_security_components": ["main", "contrib\nTrusted: yes"],
    # APT preferences: a newline adds a Pin-Priority.
    "aihost_updates_gpu_driver_branch": "550\nPin-Priority: 1001",
    "aihost_updates_bin_dir": "/usr/local/sbin /tmp/x",
    "aihost_updates_config_dir": "/etc/%h",
    "aihost_updates_os_upgrade_on_calendar": "daily\nExecStart=/tmp/x",
    "aihost_updates_os_randomized_delay": "30min\n[Service]",
    "aihost_updates_os_package_blacklist": ["ok", 'x";\nUnattended-Upgrade::Automatic-Reboot "true'],
}


def test_updates_refuses_text_that_would_add_lines_to_units_and_apt_files(tmp_path):
    rc, failures = validate(tmp_path, "updates", UPDATES_BAD)
    assert rc != 0 and failures
    message = "; ".join(failures)
    for text in [
            'aihost_updates_os_security_mirror="http://deb.debian.org/debian-security\\nSigned-By: /tmp/evil.gpg" '
            'is not a single http:// or https:// URL',
            'aihost_updates_os_security_components[1]="contrib\\nTrusted: yes" is not an APT component',
            'aihost_updates_gpu_driver_branch="550\\nPin-Priority: 1001" is not a driver branch',
            'aihost_updates_bin_dir="/usr/local/sbin /tmp/x" is not an absolute path',
            'aihost_updates_config_dir="/etc/%h" is not an absolute path',
            'aihost_updates_os_upgrade_on_calendar="daily\\nExecStart=/tmp/x" is not a systemd calendar expression',
            'aihost_updates_os_randomized_delay="30min\\n[Service]" is not a systemd calendar expression',
            'aihost_updates_os_package_blacklist[1]="x\\";\\nUnattended-Upgrade::Automatic-Reboot \\"true" '
            'is not text for an APT configuration string']:
        assert text in message
    # Python's $ matches before a trailing newline: the role's own regexes end in \Z now.
    rc, failures = validate(tmp_path, "updates", {"aihost_updates_reboot_window_start": "03:00\n"})
    assert failures == ['aihost_updates_reboot_window_start="03:00\\n" is not HH:MM']


@pytest.mark.parametrize("value", ["550-server", "r550", "http://x/ http://y/", "file:///tmp/x"])
def test_updates_refuses_a_branch_or_mirror_of_the_wrong_shape(tmp_path, value):
    var = "aihost_updates_os_security_mirror" if "/" in value else "aihost_updates_gpu_driver_branch"
    rc, failures = validate(tmp_path, "updates", {var: value})
    assert rc != 0 and failures[0].startswith("%s=%s is not" % (var, json.dumps(value)))


MODEL_INTEGRITY_BAD = {
    "aihost_model_integrity_timer_on_calendar": "daily\nExecStartPre=/bin/sh -c id",
    "aihost_model_integrity_timer_randomized_delay": "1h\n[Service]\nUser=root",
    "aihost_model_integrity_verify_command": "/usr/local/sbin/aihost-model-verify --evil",
    "aihost_model_integrity_config_file": "/etc/aihost/model-integrity.json%n",
    "aihost_model_integrity_lib_dir": "relative/lib",
    "aihost_model_integrity_state_dir": "/var/lib/aihost/model_integrity /",
}


def test_model_integrity_refuses_text_that_would_add_lines_or_words_to_its_units(tmp_path):
    rc, failures = validate(tmp_path, "model_integrity", MODEL_INTEGRITY_BAD)
    assert rc != 0 and len(failures) == 1
    for var, value in MODEL_INTEGRITY_BAD.items():
        assert "%s=%s is not" % (var, json.dumps(value)) in failures[0]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_model_integrity_asks_systemd_about_the_calendar_syntax(tmp_path):
    rc, failures = validate(tmp_path, "model_integrity", {"aihost_model_integrity_timer_on_calendar": "every blue moon"})
    assert rc != 0
    assert failures[0].startswith('aihost_model_integrity_timer_on_calendar="every blue moon" is invalid: ')


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("role", ["updates", "model_integrity"])
def test_the_defaults_pass(tmp_path, role):
    rc, failures = validate(tmp_path, role, {})
    assert (rc, failures) == (0, [])


def test_loopback_refuses_a_proxy_path_that_would_add_an_nginx_directive(tmp_path):
    bad = {"aihost_loopback_secrets_dir": "/etc/aihost/loopback;\ninclude /tmp/x",
           "aihost_loopback_remote_access": [{"runtime": "jupyter", "port": 8443, "sources": ["10.0.0.0/24"],
                                              "tls_cert": "/etc/ssl/a.crt", "burst": 0}]}
    rc, failures = validate(tmp_path, "loopback", bad)
    assert rc != 0 and len(failures) == 1, failures
    assert failures[0].startswith('aihost_loopback_secrets_dir: "/etc/aihost/loopback;\\ninclude /tmp/x" must be')
    assert "aihost_loopback_remote_access[0]: tls_cert and tls_key go together (got only tls_cert)" in failures[0]
    assert "aihost_loopback_remote_access[0].burst: 0 is not a whole number from 1 to 10000" in failures[0]
    rc, failures = validate(tmp_path, "loopback", {})
    assert (rc, failures) == (0, [])


def test_metrics_refuses_a_timer_pattern_or_path_that_would_add_words_to_its_units(tmp_path):
    bad = {"aihost_metrics_timers": ["aihost-*.timer", "x.timer --now; reboot"],
           "aihost_metrics_textfile_dir": "/var/lib/node_exporter/textfile_collector\nExecStart=/tmp/x"}
    rc, failures = validate(tmp_path, "metrics", bad)
    assert rc != 0 and len(failures) == 1, failures
    assert ('aihost_metrics_textfile_dir="/var/lib/node_exporter/textfile_collector\\nExecStart=/tmp/x" is not an '
            'absolute path') in failures[0]
    assert 'aihost_metrics_timers[1]="x.timer --now; reboot" is not a timer unit name' in failures[0]
    rc, failures = validate(tmp_path, "metrics", {})
    assert (rc, failures) == (0, [])
