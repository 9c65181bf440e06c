"""GPU driver policy switched from hold to security_within_branch (side_effect.yml): the driver
package's hold, which the role set, is released and replaced by an APT pin to its branch (550.*);
the administrator's own hold on the CUDA library stays. Stand-in packages from prepare.yml."""
import json


def selection(host, package):
    return host.check_output("dpkg --get-selections %s" % package).split()[-1]


def test_role_hold_released_for_the_pin(host):
    assert selection(host, "nvidia-kernel-dkms") == "install"


def test_branch_pin_written_and_parsed_by_apt(host):
    pin = host.file("/etc/apt/preferences.d/aihost-gpu-driver-branch")
    assert pin.exists
    assert "Package: nvidia-kernel-dkms\n" in pin.content_string
    assert "Pin: version 550.*\n" in pin.content_string
    policy = host.run("apt-cache policy nvidia-kernel-dkms")
    assert policy.rc == 0
    assert "E:" not in policy.stdout + policy.stderr


def test_admins_hold_untouched(host):
    assert selection(host, "libcudnn9-cuda-12") == "hold"


def test_status_file_reflects_the_new_policy(host):
    state = json.loads(host.file("/var/lib/aihost/updates/gpu-driver.json").content_string)
    assert state["policy"] == "security_within_branch"
    assert state["branch_pinned"] == ["nvidia-kernel-dkms"]
    assert state["held"] == ["libcudnn9-cuda-12"]
    assert state["held_by_role"] == []
