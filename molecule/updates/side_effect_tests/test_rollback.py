"""Rollback: side_effect.yml put jupyter back at 2.21.0 (the updater's --rollback) and gave it a
health check only 2.21.0 passes. The timer's service installs 2.21.1, the health check fails, and the
updater restores the exact previous environment and restarts the service."""
import json


def status(host):
    return json.loads(host.file("/var/lib/aihost/updates/jupyter.json").content_string)


def version(host):
    return host.check_output("/opt/jupyter/bin/python -c 'import jupyter_server; print(jupyter_server.__version__)'").strip()


def test_manual_rollback_restored_the_previous_version(host):
    assert version(host) == "2.21.0"
    assert status(host)["result"] == "rolled_back"


def test_failed_update_is_rolled_back(host):
    run = host.run("systemctl start aihost-update-jupyter.service")
    # The unit fails, so monitoring (systemctl --failed) sees the failed update.
    assert run.rc != 0
    assert host.run("systemctl is-failed aihost-update-jupyter.service").stdout.strip() == "failed"
    assert version(host) == "2.21.0"
    assert host.service("jupyter.service").is_running
    # python3's urllib, not curl: the bare image has no curl, and the role must not need it.
    api = host.check_output("python3 -c %s", "import urllib.request; "
                            "print(urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=20).read().decode())")
    assert json.loads(api)["version"] == "2.21.0"


def test_status_and_journal_say_rolled_back(host):
    state = status(host)
    assert state["result"] == "rolled_back", state
    assert state["action"] == "update"
    assert state["previous"] == "2.21.0"
    assert state["available"] == "2.21.1"
    assert state["current"] == "2.21.0"
    assert state["health"]["ok"] is False
    assert "does not match" in state["health"]["detail"]
    assert state["rollback_health"]["ok"] is True
    assert state["last_change"]["result"] == "rolled_back"
    journal = host.check_output("journalctl -u aihost-update-jupyter.service --no-pager")
    assert "rolling back to 2.21.0" in journal
