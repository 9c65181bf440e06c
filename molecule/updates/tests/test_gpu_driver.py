"""GPU driver and CUDA packages are held at their branch (policy hold, the default); the NVIDIA
Container Toolkit is not (its security fixes are independent of the driver branch); a hold the
administrator set before the role is not recorded as the role's. The packages are labelled
stand-ins built in prepare.yml."""
import json


def selection(host, package):
    return host.check_output("dpkg --get-selections %s" % package).split()[-1]


def test_driver_package_held(host):
    assert selection(host, "nvidia-kernel-dkms") == "hold"


def test_admins_hold_kept(host):
    assert selection(host, "libcudnn9-cuda-12") == "hold"


def test_container_toolkit_not_held(host):
    assert selection(host, "libnvidia-container1") == "install"


def test_no_branch_pin_under_hold(host):
    assert not host.file("/etc/apt/preferences.d/aihost-gpu-driver-branch").exists


def test_status_file_records_branch_and_holds(host):
    state = json.loads(host.file("/var/lib/aihost/updates/gpu-driver.json").content_string)
    assert state["policy"] == "hold"
    assert state["branch"] == "550"
    assert state["branch_source"] == "package nvidia-kernel-dkms"
    assert state["held"] == ["libcudnn9-cuda-12", "nvidia-kernel-dkms"]
    # Only the hold the role set itself is the role's to release later.
    assert state["held_by_role"] == ["nvidia-kernel-dkms"]
    assert state["versions"]["nvidia-kernel-dkms"] == "550.163.01-1"
