"""Verify the GPU path of the service_users role on a host with NVIDIA device nodes (mknod'ed at the
driver's default 0666) and the Ollama stand-in, which ran as root next to Ollama's installer-made account."""
import json
import os
import re

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")

TARGET_GPU = 4.0
NODES = ["/dev/nvidia-uvm", "/dev/nvidia0", "/dev/nvidiactl"]


@pytest.fixture(scope="module")
def state(host):
    return json.loads(host.file("/var/lib/aihost/service_users.json").content_string)


def test_nvidia_module_options_restrict_the_nodes_to_video(host):
    """modprobe.d makes the driver create its nodes 0660 root:video, by the gid of video."""
    video_gid = host.group("video").gid
    options = host.file("/etc/modprobe.d/aihost-nvidia.conf")
    assert options.exists and options.user == "root" and options.mode == 0o644
    lines = [line for line in options.content_string.splitlines() if line and not line.startswith("#")]
    assert lines == ["options nvidia NVreg_DeviceFileMode=0660 NVreg_DeviceFileGID=%d NVreg_DeviceFileUID=0" % video_gid]


def test_change_is_pending_until_the_module_loads(host, state):
    """The live nodes keep 0666 until the next module load, and the report says so."""
    for path in NODES:
        assert oct(host.file(path).mode) == oct(0o666)
    gpu = state["gpu"]
    assert state["host_has_gpu"] is True and gpu["nvidia"] is True
    assert gpu["pending"] is True
    assert sorted(n["path"] for n in gpu["pending_nodes"]) == NODES
    assert gpu["nvidia_target"] == "0660 root:video"
    # bob is a person outside video: he loses GPU access at the next module load.
    assert gpu["users_losing_access"] == ["bob"]


def test_installer_user_is_adopted_and_joins_the_gpu_groups(host):
    """The existing ollama account is used as it is (shell /bin/false, home kept) and joins video and render."""
    ollama = host.user("ollama")
    assert ollama.shell == "/bin/false" and ollama.home == "/usr/share/ollama"
    assert {"video", "render"} <= set(ollama.groups)
    assert host.group("render").exists and host.group("render").gid < 1000
    assert "video" not in host.user("bob").groups


def test_unit_may_open_only_the_gpu_nodes(host):
    """DevicePolicy=closed with one DeviceAllow per compute node the host has; no private /dev."""
    dropin = host.file("/etc/systemd/system/ollama.service.d/aihost-sandbox.conf").content_string.splitlines()
    assert "DevicePolicy=closed" in dropin and "PrivateDevices=no" in dropin
    allowed = [line for line in dropin if line.startswith("DeviceAllow=")]
    assert allowed == ["DeviceAllow="] + ["DeviceAllow=%s rw" % node for node in NODES]
    live = host.check_output("systemctl show --property=DeviceAllow --value ollama.service")
    for node in NODES:
        assert "%s rw" % node in live
    assert host.check_output("systemctl show --property=DevicePolicy --value ollama.service") == "closed"


def test_ollama_runs_as_ollama_with_its_gpu_groups_and_answers(host):
    """The stand-in moved from root to ollama, carries video and render, and answers on loopback."""
    pid = int(host.check_output("systemctl show --property=MainPID --value ollama.service"))
    status = host.file("/proc/%d/status" % pid).content_string
    uid = host.user("ollama").uid
    assert re.search(r"^Uid:\s+%d\s+%d\s+%d\s+%d$" % ((uid,) * 4), status, re.M)
    groups = set(int(g) for g in re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split())
    assert {host.group("video").gid, host.group("render").gid} <= groups
    # The plain Debian image has no curl.
    body = host.check_output("python3 -c \"import urllib.request; "
                             "print(urllib.request.urlopen('http://127.0.0.1:11434/', timeout=20).read().decode())\"")
    assert body == "Ollama is running"


def test_exposure_score_meets_the_gpu_target(host, state):
    """systemd-analyze security: at most 4.0 on a GPU host, from UNSAFE (9+) before."""
    out = host.check_output("systemd-analyze security --no-pager ollama.service")
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))
    assert score <= TARGET_GPU
    record = state["units"]["ollama.service"]
    assert record["score_baseline"] >= 9.0 and record["target"] == TARGET_GPU
    assert record["score_after"] == score and record["meets_target"] is True


def test_models_belong_to_ollama(host):
    """The installer-made home keeps its place; the model tree is handed over, closed to others."""
    models = host.file("/usr/share/ollama/.ollama/models")
    assert models.user == "ollama" and models.group == "ollama" and models.mode == 0o750
