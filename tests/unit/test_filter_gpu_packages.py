"""The updates role's GPU package plan (plugins/filter/gpu_packages.py; formerly 40 lines of Jinja in
tasks/gpu.yml with no test of their own, issue #18). Package names and versions as Debian's
nvidia-driver 535 and NVIDIA's CUDA repository ship them."""
from ansible_collections.aihost.hardening.plugins.filter.gpu_packages import gpu_hold_plan

PATTERNS = ["nvidia-*", "libnvidia-*", "cuda-*", "libcuda*"]
INSTALLED = {
    "nvidia-driver": [{"version": "535.216.01-1~deb12u1"}],
    "nvidia-kernel-dkms": [{"version": "535.216.01-1~deb12u1"}],
    "libcuda1": [{"version": "535.216.01-1~deb12u1"}],
    "cuda-toolkit-12-4": [{"version": "1:12.4.1-1"}],
    "nvidia-container-toolkit": [{"version": "1.17.3-1"}],
    "openssh-server": [{"version": "1:9.2p1-2+deb12u3"}],
}


def test_hold_takes_every_matching_package_and_reads_the_branch_from_the_driver():
    plan = gpu_hold_plan(INSTALLED, patterns=PATTERNS, exclude=["nvidia-container-*"])
    assert plan["hold"] == ["cuda-toolkit-12-4", "libcuda1", "nvidia-driver", "nvidia-kernel-dkms"]
    assert (plan["branch"], plan["branch_source"]) == ("535", "package nvidia-driver")
    assert plan["pinned"] == [] and plan["release"] == [] and plan["held_by_role"] == plan["hold"]
    assert plan["to_hold"] == plan["hold"] and plan["versions"]["cuda-toolkit-12-4"] == "1:12.4.1-1"


def test_the_operator_branch_wins_then_the_facts():
    assert gpu_hold_plan(INSTALLED, patterns=PATTERNS, driver_branch=550, facts_branch="535")["branch_source"] == \
        "aihost_updates_gpu_driver_branch"
    plan = gpu_hold_plan(INSTALLED, patterns=PATTERNS, facts_branch="535")
    assert (plan["branch"], plan["branch_source"]) == ("535", "gpu_facts")
    assert gpu_hold_plan({}, patterns=PATTERNS)["branch_source"] == "none"


def test_security_within_branch_pins_the_branch_and_holds_the_rest():
    plan = gpu_hold_plan(INSTALLED, patterns=PATTERNS, policy="security_within_branch")
    assert plan["pinned"] == ["libcuda1", "nvidia-driver", "nvidia-kernel-dkms"]
    assert plan["hold"] == ["cuda-toolkit-12-4", "nvidia-container-toolkit"]


def test_an_administrator_hold_is_never_taken_over_or_released():
    selections = ["nvidia-driver hold", "libcuda1 install", "garbage line here", "cuda-toolkit-12-4 hold"]
    previous = {"held_by_role": ["cuda-toolkit-12-4", "nvidia-kernel-dkms"]}
    plan = gpu_hold_plan(INSTALLED, selections=selections, previous=previous, patterns=PATTERNS, policy="unmanaged")
    assert plan["hold"] == [] and plan["to_hold"] == []
    # Only what the role held before is released; the administrator's hold of nvidia-driver stays.
    assert plan["release"] == ["cuda-toolkit-12-4", "nvidia-kernel-dkms"]
    assert plan["to_release"] == ["cuda-toolkit-12-4"]
    plan = gpu_hold_plan(INSTALLED, selections=selections, previous={}, patterns=PATTERNS)
    assert "nvidia-driver" not in plan["held_by_role"] and "libcuda1" in plan["held_by_role"]
    assert "nvidia-driver" not in plan["to_hold"]


def test_globs_are_anchored_and_no_pattern_matches_nothing():
    assert gpu_hold_plan(INSTALLED, patterns=["cuda"])["hold"] == []
    assert gpu_hold_plan(INSTALLED, patterns=["libcuda?"])["hold"] == ["libcuda1"]
    assert gpu_hold_plan(INSTALLED, patterns=[])["hold"] == []
