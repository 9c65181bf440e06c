"""AI runtime updates. jupyter (policy apply, every detail from ai_runtime_facts) is one release
behind (2.21.0, prepare.yml) and is updated to 2.21.1 when its timer's service runs; mlflow
(policy notify) is only checked. Tests run in file order: the notify and unit checks come first."""
import hashlib
import json

STATUS_DIR = "/var/lib/aihost/updates"


def status(host, name):
    return json.loads(host.file("%s/%s.json" % (STATUS_DIR, name)).content_string)


def version(host, venv, module):
    return host.check_output("%s/bin/python -c 'import %s; print(%s.__version__)'" % (venv, module, module)).strip()


def test_update_timers_are_real_timers_listed_by_systemctl(host):
    listed = host.check_output("systemctl list-timers --all --no-pager")
    for name in ("jupyter", "mlflow"):
        timer = "aihost-update-%s.timer" % name
        assert timer in listed
        assert host.run("systemctl is-active %s" % timer).stdout.strip() == "active"
        assert host.run("systemctl is-enabled %s" % timer).stdout.strip() == "enabled"
        show = host.check_output("systemctl show %s -p Unit -p TimersCalendar -p RandomizedDelayUSec -p Persistent" % timer)
        assert "Unit=aihost-update-%s.service" % name in show
        assert "04:30:00" in show
        assert "RandomizedDelayUSec=1h" in show
        assert "Persistent=yes" in show


def test_jupyter_configuration_comes_from_the_facts(host):
    """The entry names only jupyter and its health URL; unit, venv and package were detected."""
    cfg_file = host.file("/etc/aihost/updates/jupyter.json")
    assert cfg_file.mode == 0o600
    cfg = json.loads(cfg_file.content_string)
    assert cfg["kind"] == "pip"
    assert cfg["unit"] == "jupyter.service"
    assert cfg["pip"]["venv"] == "/opt/jupyter"
    assert cfg["pip"]["package"] == "jupyter-server"
    assert cfg["health"]["port"] == 8888


def test_updater_trusts_the_controller_ca_bundle(host):
    """aihost_updates_trust_controller_ca: the bundle is the controller's and the updater uses it."""
    with open("/etc/ssl/certs/ca-certificates.crt", "rb") as handle:
        controller = hashlib.sha256(handle.read()).hexdigest()
    assert host.file("/etc/aihost/updates/ca-bundle.crt").sha256sum == controller
    cfg = json.loads(host.file("/etc/aihost/updates/jupyter.json").content_string)
    assert cfg["environment"]["PIP_CERT"] == "/etc/aihost/updates/ca-bundle.crt"
    assert cfg["environment"]["SSL_CERT_FILE"] == "/etc/aihost/updates/ca-bundle.crt"


def test_notify_policy_checks_and_changes_nothing(host):
    before = version(host, "/opt/mlflow", "mlflow")
    run = host.run("systemctl start aihost-update-mlflow.service")
    assert run.rc == 0, run.stderr
    state = status(host, "mlflow")
    assert state["policy"] == "notify"
    assert state["result"] in ("up_to_date", "update_available"), state
    assert state["current"] == before
    assert state["available"]
    assert version(host, "/opt/mlflow", "mlflow") == before


def test_jupyter_is_one_release_behind_before_the_update(host):
    assert version(host, "/opt/jupyter", "jupyter_server") == "2.21.0"


def test_timer_service_updates_jupyter_in_its_venv(host):
    run = host.run("systemctl start aihost-update-jupyter.service")
    assert run.rc == 0, host.run("journalctl -u aihost-update-jupyter.service --no-pager -n 40").stdout
    assert version(host, "/opt/jupyter", "jupyter_server") == "2.21.1"
    assert host.service("jupyter.service").is_running
    # The restarted server is the new one.
    # python3's urllib, not curl: the bare image has no curl, and the role must not need it.
    api = host.check_output("python3 -c %s", "import urllib.request; "
                            "print(urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=20).read().decode())")
    assert json.loads(api)["version"] == "2.21.1"


def test_status_file_and_journal_record_the_update(host):
    state = status(host, "jupyter")
    assert state["result"] == "updated", state
    assert state["action"] == "update"
    assert state["previous"] == "2.21.0"
    assert state["current"] == "2.21.1"
    assert state["available"] == "2.21.1"
    assert state["health"]["ok"] is True
    assert state["last_change"]["from"] == "2.21.0" and state["last_change"]["to"] == "2.21.1"
    journal = host.check_output("journalctl -u aihost-update-jupyter.service --no-pager")
    assert "updated 2.21.0 -> 2.21.1" in journal


def test_second_run_finds_nothing_to_do(host):
    run = host.run("systemctl start aihost-update-jupyter.service")
    assert run.rc == 0
    state = status(host, "jupyter")
    assert state["result"] == "up_to_date"
    assert state["action"] == "none"
    # The last real change is kept for the audit.
    assert state["last_change"]["to"] == "2.21.1"
