"""plugins/module_utils/gpu.py: the parsers turn each documented input format into facts, the
readers find GPUs, drivers, nodes and the container toolkit in labelled fixture trees
(tests/unit/fixtures/gpu/*/case.yml, provenance in the README there), and broken input becomes a
warning instead of a traceback."""
import os
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", ".collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))

from ansible_collections.aihost.hardening.plugins.module_utils import gpu  # noqa: E402
from gpu_fixture_tree import FIXTURES, build_tree, load_case, runner_for  # noqa: E402


def collect_case(name, tmp_path, **kwargs):
    case = load_case(name)
    host = gpu.HostTree(**build_tree(case, tmp_path / "root"))
    runner = runner_for(case)
    kwargs.setdefault("run_command", runner)
    facts = gpu.collect(host, path_env="/usr/local/bin:/usr/bin:/bin", **kwargs)
    return facts, runner


def node(facts, path):
    matches = [n for n in facts["device_nodes"] if n["path"] == path]
    assert len(matches) == 1, "%s not reported once: %r" % (path, [n["path"] for n in facts["device_nodes"]])
    return matches[0]


# --- pure parsers -----------------------------------------------------------------------------

def test_pci_class_filter_counts_only_display_and_accelerator_classes():
    assert gpu.classify_pci_class(0x030000) == ("gpu", "VGA compatible controller")
    assert gpu.classify_pci_class(0x030200) == ("gpu", "3D controller")
    assert gpu.classify_pci_class(0x038000) == ("gpu", "Display controller")
    assert gpu.classify_pci_class(0x120000) == ("accelerator", "Processing accelerator")
    # Intel (and NVIDIA) functions that are not GPUs: host bridge, USB, audio, SMBus, network.
    for code in (0x060000, 0x0c0330, 0x040300, 0x040380, 0x0c0500, 0x020000, 0xffff00):
        assert gpu.classify_pci_class(code) == (None, None), hex(code)
    assert gpu.parse_pci_class("0x030200\n") == 0x030200
    assert gpu.parse_pci_class("garbage") is None
    assert gpu.parse_pci_class(None) is None


def test_vendor_ids_map_to_vendor_words():
    assert [gpu.vendor_name(v) for v in ("0x10de", "0x1002", "0x8086", "0x1da3", "0x1af4", None)] == \
        ["nvidia", "amd", "intel", "habana", "other", "other"]


def test_proprietary_nvrm_line_gives_version_branch_and_flavour():
    text = ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n"
            "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n")
    assert gpu.parse_nvidia_proc_version(text) == {
        "version": "550.54.14", "branch": "550", "flavour": "proprietary",
        "gcc_version": "gcc version 12.2.0 (Debian 12.2.0-14)"}


def test_open_module_nvrm_line_is_flavour_open():
    text = ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build  "
            "(dvs-builder@U16-T02-35-3)  Thu Feb 22 01:25:25 UTC 2024\n")
    parsed = gpu.parse_nvidia_proc_version(text)
    assert (parsed["version"], parsed["flavour"], parsed["branch"]) == ("550.54.14", "open", "550")


def test_other_nvrm_variants_and_garbage():
    # aarch64 proprietary line and a legacy two-component version.
    assert gpu.parse_nvidia_proc_version(
        "NVRM version: NVIDIA UNIX Kernel Module for aarch64  535.104.05  Sat Aug 19 01:13:25 UTC 2023\n"
    )["version"] == "535.104.05"
    assert gpu.parse_nvidia_proc_version(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  390.157  Wed Oct 12 09:19:07 UTC 2022\n"
    )["version"] == "390.157"
    for junk in ("", None, "\x00\x01", "NVRM version: something else 1.2.3"):
        assert gpu.parse_nvidia_proc_version(junk) is None


def test_taint_tells_proprietary_from_open():
    assert gpu.flavour_from_taint("POE\n") == "proprietary"
    assert gpu.flavour_from_taint("OE\n") == "open"
    assert gpu.flavour_from_taint("?!") is None
    assert gpu.flavour_from_taint(None) is None


def test_gpu_information_file():
    text = ("Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 362\nGPU UUID: \t GPU-4d2b\n"
            "Bus Location: \t 0000:18:00.0\nDevice Minor: \t 3\nGPU Excluded:\t No\n")
    assert gpu.parse_nvidia_gpu_information(text) == {
        "model": "NVIDIA H100 80GB HBM3", "uuid": "GPU-4d2b", "minor": 3, "bus_location": "0000:18:00.0"}


def test_proc_modules_and_devices():
    assert gpu.parse_proc_modules("nvidia 56872960 2 nvidia_uvm, Live 0x0 (POE)\nast 61440 0 - Live 0x0\n") == \
        {"nvidia", "ast"}
    text = "Character devices:\n  1 mem\n195 nvidia-frontend\n510 nvidia-uvm\n\nBlock devices:\n  8 sd\n"
    assert gpu.parse_proc_devices(text) == {1: "mem", 195: "nvidia-frontend", 510: "nvidia-uvm"}
    assert gpu.parse_proc_devices("junk\n195\n") == {}


def test_version_files():
    assert gpu.parse_version_text("550.54.14\n") == "550.54.14"
    assert gpu.parse_version_text("6.2.4-120\n") == "6.2.4-120"
    for junk in ("not a version", "6.2\n7.1", "\xff\xfe", "", None):
        assert gpu.parse_version_text(junk) is None
    assert gpu.parse_cuda_version_json('{"cuda": {"name": "CUDA SDK", "version": "12.2.1"}}') == "12.2.1"
    for junk in ("{broken", "[]", '{"cuda": {}}', '{"cuda": {"version": "x"}}'):
        with pytest.raises(ValueError):
            gpu.parse_cuda_version_json(junk)
    assert gpu.parse_cuda_version_txt("CUDA Version 10.2.89\n") == "10.2.89"
    assert gpu.parse_cuda_version_txt("junk") is None


def test_container_toolkit_versions():
    assert gpu.parse_nvidia_ctk_version(
        "NVIDIA Container Toolkit CLI version 1.17.8\ncommit: 0123456789abcdef\n") == "1.17.8"
    assert gpu.parse_nvidia_ctk_version("NVIDIA Container Toolkit CLI version 1.18.0-rc.1\n") == "1.18.0-rc.1"
    assert gpu.parse_nvidia_ctk_version("garbage") is None
    assert gpu.upstream_version("1.17.8-1") == "1.17.8"
    assert gpu.upstream_version("1:6.8.5.60204-2070768.22.04") == "6.8.5.60204"
    assert gpu.upstream_version(None) is None


def test_dpkg_status_reports_installed_wanted_packages_only():
    text = ("Package: nvidia-container-toolkit\nStatus: install ok installed\nVersion: 1.17.8-1\n"
            "Description: x\n continuation: line\n\n"
            "Package: nvidia-smi\nStatus: deinstall ok config-files\nVersion: 535.1-1\n\n"
            "Package: bash\nStatus: install ok installed\nVersion: 5.2\n\n"
            "Package: nvidia-driver\nStatus: hold ok installed\nVersion: 550.54.14-1\n")
    assert gpu.parse_dpkg_status(text) == {"nvidia-container-toolkit": "1.17.8-1", "nvidia-driver": "550.54.14-1"}
    assert gpu.parse_dpkg_status("\x00junk\n\nPackage: nvidia-smi\nStatus: garbage\n") == {}


def test_minimal_toml_reads_active_keys_and_arrays():
    text = ('# comment\n#no-cgroups = true\ndisable-require = false\n'
            '[nvidia-container-cli]\nno-cgroups = true  # inline comment\nuser = "root:video"\nenvironment = []\n'
            '[nvidia-container-runtime]\nruntimes = [\n  "runc",\n  "crun", # trailing\n]\nlog-level = \'info\'\n'
            'debug = "/var/log/#not-a-comment.log"\nretries = 3\nratio = 1.5\n')
    values, problems = gpu.parse_toml_minimal(text)
    assert problems == []
    assert values == {
        "disable-require": False,
        "nvidia-container-cli.no-cgroups": True,
        "nvidia-container-cli.user": "root:video",
        "nvidia-container-cli.environment": [],
        "nvidia-container-runtime.runtimes": ["runc", "crun"],
        "nvidia-container-runtime.log-level": "info",
        "nvidia-container-runtime.debug": "/var/log/#not-a-comment.log",
        "nvidia-container-runtime.retries": 3,
        "nvidia-container-runtime.ratio": "1.5",
    }


def test_minimal_toml_reports_junk_and_skips_keys_under_a_broken_table():
    values, problems = gpu.parse_toml_minimal("a = 1\njunk line\n[broken\nb = 2\n[ok]\nc = [1,\n")
    assert values == {"a": 1}
    assert len(problems) == 3, problems


def test_daemon_json_runtimes():
    runtimes, default = gpu.parse_docker_daemon_json(
        '{"default-runtime": "nvidia", "runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []},'
        ' "crun": {"path": "/usr/bin/crun"}}}')
    assert runtimes == {"crun": "/usr/bin/crun", "nvidia": "nvidia-container-runtime"}
    assert default == "nvidia"
    assert gpu.parse_docker_daemon_json("{}") == ({}, None)
    for junk in ("{", "[]", '{"runtimes": []}'):
        with pytest.raises(ValueError):
            gpu.parse_docker_daemon_json(junk)


def test_cdi_yaml_as_nvidia_ctk_writes_it():
    with open(os.path.join(FIXTURES, "nvidia_ready", "cdi-nvidia.yaml")) as handle:
        spec = gpu.parse_cdi_spec_yaml(handle.read())
    assert spec == {"cdi_version": "0.5.0", "kind": "nvidia.com/gpu", "devices": [
        "0", "GPU-4d2b9a1e-7c63-4f0e-9b8a-2f51c0d3e6a7", "1", "GPU-9e0c4f7a-1b2d-4c83-8e5f-6a7b8c9d0e1f", "all"]}


def test_cdi_yaml_indented_items_and_name_first():
    text = ("cdiVersion: '0.6.0'\nkind: example.com/npu  # comment\ndevices:\n"
            "  - name: npu0\n    containerEdits:\n      deviceNodes:\n        - path: /dev/accel/accel0\n"
            "          name: not-a-device\n  - name: \"npu1\"\n")
    assert gpu.parse_cdi_spec_yaml(text) == {"cdi_version": "0.6.0", "kind": "example.com/npu",
                                             "devices": ["npu0", "npu1"]}
    assert gpu.parse_cdi_spec_yaml("\t- : : garbage\n{{{\n")["kind"] is None


def test_cdi_json():
    assert gpu.parse_cdi_spec_json('{"cdiVersion": "0.6.0", "kind": "nvidia.com/gpu", "devices": [{"name": 0}]}') == \
        {"cdi_version": "0.6.0", "kind": "nvidia.com/gpu", "devices": ["0"]}
    with pytest.raises(ValueError):
        gpu.parse_cdi_spec_json("[1]")


def test_nvidia_smi_query_csv():
    out = ("0, NVIDIA H100 80GB HBM3, GPU-4d2b, 00000000:18:00.0, 550.54.14, 81559\n"
           "1, NVIDIA H100 80GB HBM3, GPU-9e0c, 00000000:2A:00.0, 550.54.14, [N/A]\n")
    smi = gpu.parse_nvidia_smi_query(out)
    assert smi["source"] == "query" and smi["driver_version"] == "550.54.14"
    assert [(g["index"], g["pci_address"], g["memory_total_mib"]) for g in smi["gpus"]] == \
        [(0, "0000:18:00.0", 81559), (1, "0000:2a:00.0", None)]
    with pytest.raises(ValueError):
        gpu.parse_nvidia_smi_query("this, is, not\n")


def test_nvidia_smi_xml_sample():
    with open(os.path.join(FIXTURES, "nvidia_ready", "nvidia-smi-q.xml")) as handle:
        smi = gpu.parse_nvidia_smi_xml(handle.read())
    assert (smi["source"], smi["driver_version"], smi["cuda_version"]) == ("xml", "550.54.14", "12.4")
    first, second = smi["gpus"]
    assert first == {
        "index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-4d2b9a1e-7c63-4f0e-9b8a-2f51c0d3e6a7",
        "pci_address": "0000:18:00.0", "driver_version": "550.54.14", "memory_total_mib": 81559,
        "minor_number": 0, "architecture": "Hopper", "persistence_mode": "Enabled",
        "compute_mode": "Default", "mig_mode": "Disabled", "vbios_version": "96.00.74.00.0D"}
    assert (second["pci_address"], second["minor_number"]) == ("0000:2a:00.0", 1)
    with pytest.raises(Exception):
        gpu.parse_nvidia_smi_xml("<other/>")


def test_pci_address_normalisation():
    assert gpu.normalize_pci_address("00000000:B1:00.0") == "0000:b1:00.0"
    assert gpu.normalize_pci_address("0000:b1:00.0") == "0000:b1:00.0"
    assert gpu.normalize_pci_address("b1:00.0") == "0000:b1:00.0"
    assert gpu.normalize_pci_address("garbage") is None


def test_nvidia_state_words():
    assert gpu.nvidia_state(True, True) == "ready"
    assert gpu.nvidia_state(False, True) == "userspace_only"
    assert gpu.nvidia_state(True, False) == "kernel_module_only"
    assert gpu.nvidia_state(False, False) == "absent"


# --- HostTree -------------------------------------------------------------------------------

def test_resolve_keeps_absolute_symlinks_under_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "usr/local/cuda-12.4").mkdir(parents=True)
    (root / "etc/alternatives").mkdir(parents=True)
    os.symlink("/etc/alternatives/cuda", str(root / "usr/local/cuda"))
    os.symlink("/usr/local/cuda-12.4", str(root / "etc/alternatives/cuda"))
    os.symlink("loop", str(root / "loop"))
    host = gpu.HostTree(str(root))
    assert host.resolve("/usr/local/cuda") == "/usr/local/cuda-12.4"
    assert host.resolve("/loop") is None
    assert host.resolve("/missing") is None


def test_unreadable_file_is_a_warning_not_an_exception(tmp_path, monkeypatch):
    def denied(path, mode="r"):
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(gpu, "open", denied, raising=False)
    host = gpu.HostTree(str(tmp_path))
    assert host.read("/proc/driver/nvidia/version") is None
    assert host.warnings == ["cannot read /proc/driver/nvidia/version: Permission denied"]


def test_missing_files_are_silent(tmp_path):
    host = gpu.HostTree(str(tmp_path))
    assert host.read("/nope") is None and host.listdir("/nope") == [] and host.stat("/nope") is None
    assert host.warnings == []


# --- fixture cases ----------------------------------------------------------------------------

def test_cpu_only_captured_here_says_so_plainly(tmp_path):
    facts, runner = collect_case("cpu_only", tmp_path)
    assert facts["present"] is False
    assert facts["gpus"] == [] and facts["accelerators"] == [] and facts["display_adapters"] == []
    assert facts["nvidia"]["state"] == "absent" and facts["nvidia"]["nvidia_smi_run"] == "not_installed"
    assert facts["device_nodes"] == []
    assert facts["cuda"] == {"version": "13.0", "version_source": "directory name", "path": "/usr/local/cuda-13.0",
                             "installs": [{"path": "/usr/local/cuda-13.0", "version": "13.0",
                                           "version_source": "directory name"}]}
    assert facts["summary"] == "CPU-only host: no GPU or accelerator found; CUDA toolkit 13.0."
    assert facts["warnings"] == []
    assert runner.calls == []


def test_nvidia_ready_pci_and_driver(tmp_path):
    facts, _runner = collect_case("nvidia_ready", tmp_path)
    assert facts["present"] is True
    assert [g["pci_address"] for g in facts["gpus"]] == ["0000:18:00.0", "0000:2a:00.0"]
    first = facts["gpus"][0]
    assert first == {
        "pci_address": "0000:18:00.0", "vendor": "nvidia", "vendor_id": "0x10de", "device_id": "0x2330",
        "subsystem_vendor_id": "0x10de", "subsystem_device_id": "0x16c1", "class": "0x030200",
        "class_name": "3D controller", "driver": "nvidia", "driver_version": "550.54.14",
        "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-4d2b9a1e-7c63-4f0e-9b8a-2f51c0d3e6a7",
        "device_nodes": ["/dev/nvidia0", "/dev/dri/card1", "/dev/dri/renderD128"]}
    # The BMC's VGA is a console, not a GPU; the NIC and the Intel bridge are not listed at all.
    assert [(d["pci_address"], d["vendor"], d["driver"]) for d in facts["display_adapters"]] == \
        [("0000:03:00.0", "ASPEED", "ast")]
    nvidia = facts["nvidia"]
    assert (nvidia["state"], nvidia["driver_version"], nvidia["driver_flavour"], nvidia["driver_branch"]) == \
        ("ready", "550.54.14", "proprietary", "550")
    assert nvidia["driver_version_source"] == "/proc/driver/nvidia/version"
    assert nvidia["kernel_modules_loaded"] == ["nvidia", "nvidia_uvm", "nvidia_modeset", "nvidia_drm"]
    assert nvidia["nvidia_smi_path"] == "/usr/bin/nvidia-smi"
    assert nvidia["nvml_library"] == "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"
    assert (nvidia["userspace_version"], nvidia["version_mismatch"], nvidia["gpu_count"]) == ("550.54.14", False, 2)
    assert facts["warnings"] == []


def test_nvidia_ready_device_nodes(tmp_path):
    facts, _runner = collect_case("nvidia_ready", tmp_path)
    assert [n["path"] for n in facts["device_nodes"]] == [
        "/dev/nvidia0", "/dev/nvidia1", "/dev/nvidiactl", "/dev/nvidia-modeset", "/dev/nvidia-uvm",
        "/dev/nvidia-uvm-tools", "/dev/nvidia-caps/nvidia-cap1", "/dev/nvidia-caps/nvidia-cap2",
        "/dev/dri/card0", "/dev/dri/card1", "/dev/dri/card2", "/dev/dri/renderD128", "/dev/dri/renderD129"]
    assert node(facts, "/dev/nvidia0") == {
        "path": "/dev/nvidia0", "kind": "nvidia", "type": "char", "major": 195, "minor": 0,
        "major_name": "nvidia-frontend", "owner": "root", "group": "root", "uid": 0, "gid": 0,
        "mode": "0666", "world_readable": True, "world_writable": True}
    assert (node(facts, "/dev/nvidiactl")["minor"], node(facts, "/dev/nvidia-uvm")["major_name"]) == (255, "nvidia-uvm")
    cap = node(facts, "/dev/nvidia-caps/nvidia-cap1")
    assert (cap["mode"], cap["world_readable"], cap["world_writable"]) == ("0400", False, False)
    render = node(facts, "/dev/dri/renderD128")
    assert (render["group"], render["mode"], render["kind"]) == ("render", "0666", "dri")
    # /dev/dri/by-path holds symlinks: never reported as nodes.
    assert not any("by-path" in n["path"] for n in facts["device_nodes"])


def test_nvidia_ready_cuda_and_container_toolkit(tmp_path):
    facts, runner = collect_case("nvidia_ready", tmp_path)
    assert facts["cuda"]["version"] == "12.4.1" and facts["cuda"]["path"] == "/usr/local/cuda-12.4"
    assert facts["cuda"]["installs"] == [
        {"path": "/usr/local/cuda-12.1", "version": "12.1.1", "version_source": "version.json"},
        {"path": "/usr/local/cuda-12.4", "version": "12.4.1", "version_source": "version.json"}]
    toolkit = facts["container_toolkit"]
    assert toolkit["installed"] is True
    assert (toolkit["version"], toolkit["version_source"]) == ("1.17.8", "nvidia-ctk")
    assert sorted(toolkit["binaries"]) == ["nvidia-cdi-hook", "nvidia-container-cli", "nvidia-container-runtime",
                                           "nvidia-container-runtime-hook", "nvidia-ctk"]
    assert toolkit["packages"]["nvidia-container-toolkit"] == "1.17.8-1"
    assert toolkit["config_path"] == "/etc/nvidia-container-runtime/config.toml"
    assert toolkit["config"]["nvidia-container-runtime.mode"] == "auto"
    assert toolkit["config"]["nvidia-container-runtime.modes.cdi.spec-dirs"] == ["/etc/cdi", "/var/run/cdi"]
    assert toolkit["config"]["nvidia-container-cli.load-kmods"] is True
    assert "nvidia-container-cli.no-cgroups" not in toolkit["config"]  # commented out in the file
    assert toolkit["docker_runtimes"] == {"nvidia": "nvidia-container-runtime"}
    assert toolkit["docker_default_runtime"] == "nvidia"
    assert [(s["path"], s["kind"], s["devices"][-1]) for s in toolkit["cdi_specs"]] == \
        [("/var/run/cdi/nvidia.yaml", "nvidia.com/gpu", "all")]
    assert facts["packages"] == {
        "cuda-toolkit-12-4": "12.4.1-1", "libnvidia-container-tools": "1.17.8-1", "libnvidia-container1": "1.17.8-1",
        "nvidia-container-toolkit": "1.17.8-1", "nvidia-container-toolkit-base": "1.17.8-1"}
    assert runner.calls == [
        "nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total --format=csv,noheader,nounits",
        "nvidia-ctk --version"]


def test_nvidia_ready_summary_and_nvidia_smi(tmp_path):
    facts, _runner = collect_case("nvidia_ready", tmp_path)
    assert facts["nvidia"]["nvidia_smi_run"] == "ran"
    assert [g["uuid"] for g in facts["nvidia"]["nvidia_smi"]["gpus"]] == [g["uuid"] for g in facts["gpus"]]
    assert facts["summary"] == (
        "2 NVIDIA GPUs (NVIDIA H100 80GB HBM3); NVIDIA driver 550.54.14 (proprietary) loaded; CUDA toolkit 12.4.1; "
        "NVIDIA Container Toolkit 1.17.8; 8 device nodes world-writable.")


def test_nvidia_smi_xml_mode_and_never_mode(tmp_path):
    facts, runner = collect_case("nvidia_ready", tmp_path / "xml", nvidia_smi="xml")
    assert runner.calls[0] == "nvidia-smi -q -x"
    assert facts["nvidia"]["nvidia_smi"]["cuda_version"] == "12.4"
    facts, runner = collect_case("nvidia_ready", tmp_path / "never", nvidia_smi="never", nvidia_ctk=False)
    assert runner.calls == []
    assert facts["nvidia"]["nvidia_smi_run"] == "disabled" and facts["nvidia"]["nvidia_smi"] is None
    # Without nvidia-ctk the toolkit version still comes from the dpkg database.
    assert (facts["container_toolkit"]["version"], facts["container_toolkit"]["version_source"]) == \
        ("1.17.8", "dpkg:nvidia-container-toolkit")


def test_userspace_only_is_reported_exactly_and_nvidia_smi_is_not_run(tmp_path):
    facts, runner = collect_case("nvidia_userspace_only", tmp_path)
    nvidia = facts["nvidia"]
    assert nvidia["state"] == "userspace_only"
    assert (nvidia["kernel_module_loaded"], nvidia["userspace_present"]) == (False, True)
    assert nvidia["nvidia_smi_path"] == "/usr/bin/nvidia-smi"
    assert nvidia["nvml_library"] == "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"
    assert nvidia["userspace_version"] == "535.309.01"
    assert (nvidia["driver_version"], nvidia["driver_flavour"]) == (None, None)
    # Running nvidia-smi here would create device nodes (seen in a container): it must not run.
    assert nvidia["nvidia_smi_run"] == "no_kernel_module" and runner.calls == []
    gpu_entry, = facts["gpus"]
    assert (gpu_entry["vendor"], gpu_entry["driver"], gpu_entry["name"]) == ("nvidia", None, None)
    stale = node(facts, "/dev/nvidiactl")
    assert stale["major_name"] is None  # no driver registered major 195
    assert facts["packages"] == {"libnvidia-ml1": "535.309.01-0+deb12u1", "nvidia-smi": "535.309.01-0+deb12u1"}
    assert facts["summary"] == (
        "1 NVIDIA GPU; NVIDIA user space (nvidia-smi, libnvidia-ml) is installed but no NVIDIA kernel module "
        "is loaded; 1 device node world-writable.")
    assert facts["warnings"] == []


def test_open_module_with_user_space_mismatch(tmp_path):
    facts, runner = collect_case("nvidia_open_module", tmp_path)
    nvidia = facts["nvidia"]
    assert (nvidia["driver_version"], nvidia["driver_flavour"], nvidia["driver_branch"]) == ("570.133.07", "open", "570")
    assert (nvidia["userspace_version"], nvidia["version_mismatch"]) == ("570.124.04", True)
    # The card's HD audio function (class 0x0403) is not a GPU.
    assert [g["pci_address"] for g in facts["gpus"]] == ["0000:01:00.0"]
    assert facts["gpus"][0]["class_name"] == "VGA compatible controller"
    # nvidia-smi ran and failed: the facts say so and keep the /proc view of the GPU.
    assert nvidia["nvidia_smi_run"] == "failed" and nvidia["nvidia_smi"] is None
    assert facts["gpus"][0]["name"] == "NVIDIA GeForce RTX 4090"
    assert facts["warnings"] == [
        "nvidia-smi --query-gpu exited with 18: Failed to initialize NVML: Driver/library version mismatch"]
    # Hardened nodes (NVreg_DeviceFileMode=0660, group video) are not world-writable.
    assert not any(n["world_writable"] for n in facts["device_nodes"] if n["kind"] == "nvidia")
    assert node(facts, "/dev/nvidia0")["group"] == "video"
    assert runner.calls[0].startswith("nvidia-smi --query-gpu")


def test_open_flavour_from_taint_when_proc_version_is_missing(tmp_path):
    case = load_case("nvidia_open_module")
    del case["files"]["/proc/driver/nvidia/version"]
    host = gpu.HostTree(**build_tree(case, tmp_path / "root"))
    nvidia = gpu.collect(host)["nvidia"]
    assert (nvidia["driver_version"], nvidia["driver_version_source"], nvidia["driver_flavour"]) == \
        ("570.133.07", "/sys/module/nvidia/version", "open")


def test_kernel_module_only(tmp_path):
    case = load_case("nvidia_open_module")
    case["executables"] = []
    case["symlinks"] = {}
    del case["files"]["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.570.124.04"]
    host = gpu.HostTree(**build_tree(case, tmp_path / "root"))
    facts = gpu.collect(host, run_command=runner_for(case))
    assert facts["nvidia"]["state"] == "kernel_module_only"
    assert facts["nvidia"]["nvidia_smi_run"] == "not_installed"
    assert "no NVIDIA user space" in facts["summary"]


def test_amd_rocm(tmp_path):
    facts, _runner = collect_case("amd_rocm", tmp_path)
    mi210, = facts["gpus"]
    assert (mi210["vendor"], mi210["class"], mi210["class_name"], mi210["driver"], mi210["driver_version"]) == \
        ("amd", "0x038000", "Display controller", "amdgpu", "6.8.5")
    assert mi210["device_nodes"] == ["/dev/dri/card1", "/dev/dri/renderD128"]
    assert facts["amd"] == {"kernel_module_loaded": True, "driver_version": "6.8.5", "gpu_count": 1,
                            "kfd_present": True, "rocm_version": "6.2.4-120"}
    assert facts["rocm"] == {"version": "6.2.4-120", "path": "/opt/rocm-6.2.4", "installs": [
        {"path": "/opt/rocm-6.1.3", "version": "6.1.3-122"}, {"path": "/opt/rocm-6.2.4", "version": "6.2.4-120"}]}
    kfd = node(facts, "/dev/kfd")
    assert (kfd["owner"], kfd["group"], kfd["mode"], kfd["world_writable"], kfd["kind"], kfd["major_name"]) == \
        ("root", "render", "0660", False, "kfd", "kfd")
    assert facts["nvidia"]["state"] == "absent"
    assert facts["packages"] == {"amdgpu-dkms": "1:6.8.5.60204-2070768.22.04", "rocm-core": "6.2.4.60204-139~22.04"}
    assert facts["summary"] == "1 AMD GPU; amdgpu loaded, /dev/kfd present; ROCm 6.2.4-120."
    assert facts["warnings"] == []


def test_intel_xe_and_npu(tmp_path):
    facts, _runner = collect_case("intel_xe", tmp_path)
    igpu, = facts["gpus"]
    assert (igpu["vendor"], igpu["device_id"], igpu["driver"], igpu["driver_version"]) == \
        ("intel", "0x64a0", "xe", None)
    npu, = facts["accelerators"]
    assert (npu["pci_address"], npu["class"], npu["class_name"], npu["driver"], npu["device_nodes"]) == \
        ("0000:00:0b.0", "0x120000", "Processing accelerator", "intel_vpu", ["/dev/accel/accel0"])
    assert facts["intel"] == {"kernel_modules_loaded": ["xe"], "gpu_count": 1, "npu_present": True,
                              "npu_module_loaded": True}
    assert [n["path"] for n in facts["device_nodes"]] == ["/dev/dri/card0", "/dev/dri/renderD128", "/dev/accel/accel0"]
    accel = node(facts, "/dev/accel/accel0")
    assert (accel["kind"], accel["major_name"], accel["group"], accel["mode"]) == ("accel", "accel", "render", "0660")
    assert facts["summary"] == (
        "1 Intel GPU; 1 accelerator (intel_vpu); Intel xe loaded; 1 device node world-writable.")
    assert facts["warnings"] == []


def test_accel_node_without_pci_device_is_still_an_accelerator(tmp_path):
    case = load_case("intel_xe")
    case["pci_devices"] = [d for d in case["pci_devices"] if d.get("driver") != "intel_vpu"]
    host = gpu.HostTree(**build_tree(case, tmp_path / "root"))
    facts = gpu.collect(host)
    platform, = facts["accelerators"]
    assert (platform["pci_address"], platform["driver"], platform["device_nodes"]) == \
        (None, "accel", ["/dev/accel/accel0"])
    assert facts["present"] is True


def test_bad_input_gives_warnings_and_keeps_the_rest(tmp_path):
    facts, runner = collect_case("bad_input", tmp_path)
    warnings = "\n".join(facts["warnings"])
    expected = [
        "ignored /sys/module/nvidia/version: not a version",
        "ignored PCI device 0000:02:00.0: unreadable class",
        "ignored /proc/driver/nvidia/version",
        "cannot read /proc/driver/nvidia/gpus/0000:01:00.0/information",
        "ignored /opt/rocm-6.2.4/.info/version",
        "ignored /usr/local/cuda-12.4/version.json",
        "ignored /usr/local/cuda-11.0/version.txt",
        "ignored /etc/docker/daemon.json",
        "ignored CDI spec /etc/cdi/broken.json",
        "ignored CDI spec /etc/cdi/broken.yaml",
        "ignored CDI spec /etc/cdi/list.json",
        "skipped part of /etc/nvidia-container-runtime/config.toml: line 2",
        "skipped part of /etc/nvidia-container-runtime/config.toml: line 3",
        "ignored nvidia-smi output",
        "ignored nvidia-ctk --version output",
    ]
    for fragment in expected:
        assert fragment in warnings, fragment
    assert len(facts["warnings"]) == len(expected) + 1  # + the unterminated config.toml array
    assert "README.txt" not in warnings
    # What was valid is still reported.
    assert [g["pci_address"] for g in facts["gpus"]] == ["0000:01:00.0"]
    assert facts["nvidia"]["state"] == "ready" and facts["nvidia"]["driver_flavour"] == "proprietary"
    assert facts["nvidia"]["driver_version"] is None and facts["nvidia"]["nvml_library"] is None
    assert facts["nvidia"]["nvidia_smi_run"] == "failed"
    assert facts["cuda"]["installs"] == [
        {"path": "/usr/local/cuda-11.0", "version": "11.0", "version_source": "directory name"},
        {"path": "/usr/local/cuda-12.4", "version": "12.4", "version_source": "directory name"}]
    assert facts["rocm"]["installs"] == [{"path": "/opt/rocm-6.2.4", "version": None}]
    assert facts["container_toolkit"]["config"] == {"disable-require": False, "nvidia-container-runtime.mode": "cdi"}
    assert [s["path"] for s in facts["container_toolkit"]["cdi_specs"]] == ["/etc/cdi/good.json"]
    assert facts["container_toolkit"]["docker_runtimes"] == {}
    assert facts["packages"] == {}
    assert len(runner.calls) == 2


def test_bad_nvidia_smi_xml_is_a_warning(tmp_path):
    facts, _runner = collect_case("bad_input", tmp_path, nvidia_smi="xml")
    assert any(w.startswith("ignored nvidia-smi output") for w in facts["warnings"])


def test_a_crashing_section_costs_only_that_section(tmp_path, monkeypatch):
    def boom(host):
        raise RuntimeError("unexpected")
    monkeypatch.setattr(gpu, "read_device_nodes", boom)
    facts, _runner = collect_case("nvidia_ready", tmp_path)
    assert facts["device_nodes"] == []
    assert "device node detection failed: RuntimeError: unexpected" in facts["warnings"]
    assert facts["nvidia"]["state"] == "ready"


def test_extra_source_that_cannot_start_is_a_warning(tmp_path):
    def broken(argv):
        raise OSError(8, "Exec format error")
    facts, _runner = collect_case("nvidia_ready", tmp_path, run_command=broken)
    assert facts["nvidia"]["nvidia_smi_run"] == "failed"
    assert any("could not run" in w for w in facts["warnings"])
    assert facts["container_toolkit"]["version_source"] == "dpkg:nvidia-container-toolkit"


@pytest.mark.parametrize("case", sorted(
    d for d in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, d, "case.yml"))))
def test_every_fixture_is_labelled(case):
    loaded = load_case(case)
    assert loaded["provenance"]["kind"] in ("captured", "synthetic", "mixed")
    with open(os.path.join(FIXTURES, case, "case.yml")) as handle:
        head = handle.readline()
    assert head.startswith("# ") and any(word in head for word in ("CAPTURED", "SYNTHETIC", "MIXED"))
