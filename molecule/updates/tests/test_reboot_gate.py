"""The reboot gate: a real timer; at run time it reboots only inside the window, only when a reboot
is required, and never while a GPU compute process runs unless forced. Decisions are taken with
--dry-run. The GPU job is a STAND-IN: /dev/nvidia0 created here as a node of the null device
(c 1:3; a container has no NVIDIA driver), held open by a process, as CUDA processes hold theirs."""
import datetime
import json

import pytest

CONFIG = "/etc/aihost/updates/reboot-gate.json"
TEST_CONFIG = "/run/aihost-test-gate.json"
REQUIRED = "/run/aihost-test-reboot-required"


def test_gate_timer_is_active_and_not_persistent(host):
    assert host.run("systemctl is-active aihost-reboot-gate.timer").stdout.strip() == "active"
    assert "aihost-reboot-gate.timer" in host.check_output("systemctl list-timers --all --no-pager")
    assert "Persistent=no" in host.check_output("systemctl show aihost-reboot-gate.timer -p Persistent")


def gate(host, **overrides):
    cfg = json.loads(host.file(CONFIG).content_string)
    cfg.update({"window_start": "00:00", "window_end": "00:00", "required_file": REQUIRED,
                "status_file": "/run/aihost-test-gate-status.json"})
    cfg.update(overrides)
    host.run("printf '%%s' '%s' > %s" % (json.dumps(cfg), TEST_CONFIG))
    run = host.run("/usr/local/sbin/aihost-reboot-gate --config %s --dry-run" % TEST_CONFIG)
    assert run.rc == 0, run.stdout + run.stderr
    return json.loads(host.file("/run/aihost-test-gate-status.json").content_string)


@pytest.fixture
def gpu_job(host):
    host.run("test -e /dev/nvidia0 || mknod -m 0666 /dev/nvidia0 c 1 3")
    start = host.run("systemd-run --unit=aihost-test-gpu-job /bin/sh -c 'exec 3</dev/nvidia0; exec sleep 300'")
    assert start.rc == 0, start.stderr
    pid = int(host.check_output("systemctl show -p MainPID --value aihost-test-gpu-job.service"))
    yield pid
    host.run("systemctl stop aihost-test-gpu-job.service")


def test_no_reboot_when_none_is_required(host):
    host.run("rm -f %s" % REQUIRED)
    assert gate(host)["result"] == "not_required"


def test_no_reboot_outside_the_window(host):
    host.run("touch %s" % REQUIRED)
    now = datetime.datetime.strptime(host.check_output("date +%H:%M"), "%H:%M")
    start = (now + datetime.timedelta(hours=2)).strftime("%H:%M")
    end = (now + datetime.timedelta(hours=3)).strftime("%H:%M")
    assert gate(host, window_start=start, window_end=end)["result"] == "outside_window"


def test_gpu_job_defers_the_reboot(host, gpu_job):
    host.run("touch %s" % REQUIRED)
    state = gate(host)
    assert state["result"] == "deferred_gpu_busy", state
    assert gpu_job in [job["pid"] for job in state["gpu_jobs"]]


def test_force_reboots_despite_the_gpu_job(host, gpu_job):
    host.run("touch %s" % REQUIRED)
    state = gate(host, force=True)
    assert state["result"] == "rebooting_forced", state


def test_reboots_when_required_inside_the_window_and_gpu_idle(host):
    host.run("touch %s" % REQUIRED)
    state = gate(host)
    assert state["result"] == "rebooting", state
    assert state["gpu_jobs"] == []
    host.run("rm -f %s" % REQUIRED)
