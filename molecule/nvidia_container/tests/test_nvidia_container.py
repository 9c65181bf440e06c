"""Verify playbooks/site.yml on an NVIDIA-container host without a GPU (see molecule.yml): what
gpu_facts reported, the GPU hardening of the service_users role (ported from the former
service_users_gpu scenario), the check step's read-only proof, the view from a peer and from
inside the host, and the data directory's checksums."""
import json
import os
import re
import shlex

import pytest
import testinfra
import testinfra.utils.ansible_runner
from verify_tools import tcp_listen_addresses  # molecule/shared, put on sys.path by conftest.py

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FINGERPRINT = os.path.join(os.path.dirname(SCENARIO), "shared", "fingerprint.sh")

# Straight through docker exec rather than one ansible run per command: same host, far faster.
testinfra_hosts = ["docker://" + name for name in testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("nvidia_gpu")]

TARGET_GPU = 4.0
SSH_PORT = 22
OLLAMA_PORT = 11434
# path -> (major, minor), as prepare.yml mknod'ed them.
NODES = {"/dev/nvidia-uvm": (511, 0), "/dev/nvidia0": (195, 0), "/dev/nvidiactl": (195, 255)}
OLLAMA_DATA = "/usr/share/ollama/.ollama"
TOOLKIT_FILES = ["/etc/nvidia-container-runtime/config.toml", "/etc/cdi/nvidia.yaml"]
NVIDIA_RUNTIME = {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}


@pytest.fixture(scope="module")
def gpu(host):
    """ansible_facts.aihost_gpu as site.yml's detect play read it (written at the end of converge)."""
    return json.loads(host.file("/var/tmp/nvct-gpu-facts.json").content_string)


@pytest.fixture(scope="module")
def state(host):
    return json.loads(host.file("/var/lib/aihost/service_users.json").content_string)


@pytest.fixture(scope="module")
def peer():
    return testinfra.get_host("docker://nvct-peer")


def open_ports(gnmap):
    """Open TCP ports of nmap's grepable output (-oG)."""
    found = set()
    for line in gnmap.splitlines():
        if "Ports:" in line:
            for entry in line.split("Ports:", 1)[1].split("\t", 1)[0].split(","):
                port, status = entry.strip().split("/")[:2]
                if status == "open":
                    found.add(int(port))
    return found


def fingerprint(host):
    with open(FINGERPRINT) as handle:
        script = handle.read()
    result = host.run("bash -c %s" % shlex.quote(script))
    assert result.rc == 0, result.stderr
    return result.stdout


# --- gpu_facts: the host exactly as it is ---------------------------------------------------------

def test_gpu_facts_driver_user_space_present_kernel_module_absent(host, gpu):
    """Debian's nvidia-smi and libnvidia-ml1 are installed; no nvidia module is (or can be) loaded."""
    nvidia = gpu["nvidia"]
    # The kernel (the container shares the machine's) has no nvidia module and no driver's /proc entry.
    # (This kernel may not show /proc/modules at all: grep then fails too.)
    assert host.run("grep -sE '^nvidia' /proc/modules").rc != 0
    assert not host.file("/sys/module/nvidia").exists
    assert not host.file("/proc/driver/nvidia").exists
    assert nvidia["state"] == "userspace_only"
    assert nvidia["kernel_module_loaded"] is False and nvidia["kernel_modules_loaded"] == []
    assert nvidia["driver_version"] is None and nvidia["driver_branch"] is None
    assert not [name for name, module in gpu["kernel_modules"].items() if module["loaded"]]
    assert nvidia["userspace_present"] is True
    assert nvidia["nvidia_smi_path"] == host.check_output("command -v nvidia-smi") == "/usr/bin/nvidia-smi"
    assert host.file(nvidia["nvml_library"]).exists and "libnvidia-ml.so" in nvidia["nvml_library"]
    # The versions the facts name are the ones dpkg installed.
    installed = host.package("libnvidia-ml1").version
    assert host.package("nvidia-smi").is_installed
    assert installed.startswith(nvidia["userspace_version"] + "-")
    assert gpu["packages"] == {name: host.package(name).version for name in ("nvidia-smi", "libnvidia-ml1")}
    assert nvidia["version_mismatch"] is False
    # nvidia-smi is not run without the kernel module (NVML would create a missing /dev/nvidiactl).
    assert nvidia["nvidia_smi_run"] == "no_kernel_module" and nvidia["nvidia_smi"] is None


def test_gpu_facts_device_nodes_exactly_as_on_disk(host, gpu):
    """The three nodes, with the numbers, owner and mode stat reads, and nothing else."""
    facts = {node["path"]: node for node in gpu["device_nodes"]}
    assert sorted(facts) == sorted(NODES)
    for path, (major, minor) in NODES.items():
        node = facts[path]
        stat = host.check_output("stat -c '%%t %%T %%U %%G %%a %%F' %s", path).split(" ", 5)
        assert stat[5] == "character special file"
        assert (int(stat[0], 16), int(stat[1], 16)) == (major, minor) == (node["major"], node["minor"])
        assert (node["owner"], node["group"]) == (stat[2], stat[3]) == ("root", "root")
        assert node["mode"] == "0%s" % stat[4] == "0666"
        assert node["kind"] == "nvidia" and node["type"] == "char" and node["world_writable"] is True
        # No driver registered these majors: the nodes are there, the driver is not.
        assert node["major_name"] is None


def test_gpu_facts_container_toolkit_configuration(gpu):
    """config.toml, the nvidia runtime in daemon.json and the CDI spec are found and read; no toolkit binary."""
    toolkit = gpu["container_toolkit"]
    assert toolkit["installed"] is False and toolkit["binaries"] == {} and toolkit["packages"] == {}
    assert toolkit["config_path"] == "/etc/nvidia-container-runtime/config.toml"
    config = toolkit["config"]
    assert config["nvidia-container-runtime.mode"] == "auto"
    assert config["nvidia-container-cli.load-kmods"] is True
    assert config["nvidia-container-runtime.modes.cdi.spec-dirs"] == ["/etc/cdi", "/var/run/cdi"]
    # Commented-out keys are not active.
    assert "nvidia-container-cli.no-cgroups" not in config
    assert toolkit["docker_daemon_json"] == "/etc/docker/daemon.json"
    assert toolkit["docker_runtimes"] == {"nvidia": "nvidia-container-runtime"}
    assert toolkit["docker_default_runtime"] is None
    assert toolkit["cdi_specs"] == [{"path": "/etc/cdi/nvidia.yaml", "cdi_version": "0.5.0",
                                     "kind": "nvidia.com/gpu", "devices": ["0", "all"]}]


def test_gpu_facts_no_pci_gpu_and_an_honest_summary(gpu):
    """No GPU on the PCI bus: none is counted (present stays false, as documented), and the summary names
    what is there: the user space without a kernel module, and the world-writable nodes."""
    assert gpu["schema_version"] == 1
    assert gpu["gpus"] == [] and gpu["accelerators"] == [] and gpu["present"] is False
    assert gpu["nvidia"]["gpu_count"] == 0
    assert "no NVIDIA kernel module is loaded" in gpu["summary"]
    assert "nvidia-smi" in gpu["summary"] and "3 device nodes world-writable" in gpu["summary"]
    assert gpu["warnings"] == []


def test_cdi_spec_lists_exactly_the_host_nodes(host):
    """The CDI spec (read as YAML here) names the three nodes the host has, so containers get no others."""
    text = host.file("/etc/cdi/nvidia.yaml").content_string
    assert sorted(set(re.findall(r"- path: (\S+)", text))) == sorted(NODES)


def test_toolkit_files_kept_and_daemon_json_merged(host):
    """config.toml and the CDI spec are byte for byte as prepare wrote them; daemon.json keeps the nvidia
    runtime with loopback's "ip" merged in, and its original is backed up."""
    before = host.file("/var/tmp/nvct-before-check.txt").content_string
    for path in TOOLKIT_FILES:
        digest = host.check_output("sha256sum %s", path)
        assert digest in before.splitlines()
    merged = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert merged == {"runtimes": NVIDIA_RUNTIME, "ip": "127.0.0.1"}
    original = json.loads(host.file("/var/lib/aihost/loopback/backup/docker/daemon.json").content_string)
    assert original == {"runtimes": NVIDIA_RUNTIME}


# --- service_users: device-node hardening, groups, sandbox (ported from service_users_gpu) ---------

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
    assert sorted(n["path"] for n in gpu["pending_nodes"]) == sorted(NODES)
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
    assert allowed == ["DeviceAllow="] + ["DeviceAllow=%s rw" % node for node in sorted(NODES)]
    live = host.check_output("systemctl show --property=DeviceAllow --value ollama.service")
    assert sorted(re.findall(r"(/dev/\S+) rw", live)) == sorted(NODES)
    assert host.check_output("systemctl show --property=DevicePolicy --value ollama.service") == "closed"


def test_ollama_runs_as_ollama_with_its_gpu_groups(host):
    """The stand-in moved from root to ollama and carries video and render."""
    pid = int(host.check_output("systemctl show --property=MainPID --value ollama.service"))
    status = host.file("/proc/%d/status" % pid).content_string
    uid = host.user("ollama").uid
    assert re.search(r"^Uid:\s+%d\s+%d\s+%d\s+%d$" % ((uid,) * 4), status, re.M)
    groups = set(int(g) for g in re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split())
    assert {host.group("video").gid, host.group("render").gid} <= groups


def test_sandboxed_runtime_still_sees_the_gpu_nodes(host):
    """At its last start the stand-in tried each node as Ollama's GPU discovery does. Every open is refused
    (EPERM: no driver, and the container's device cgroup), but none is ENOENT or EACCES: the sandbox kept
    the nodes visible and the ollama user may open them. A ENOENT would mean PrivateDevices hid them."""
    log = host.check_output("journalctl --no-pager -o cat -u ollama.service")
    last_start = log.rsplit("Listening on", 1)[0].rsplit("Listening on", 1)[-1]
    outcomes = dict(re.findall(r"^gpu device (\S+): (\S+)", last_start, re.M))
    assert sorted(outcomes) == sorted(NODES)
    assert set(outcomes.values()) <= {"EPERM", "ENXIO", "open"}, outcomes


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
    models = host.file(OLLAMA_DATA + "/models")
    assert models.user == "ollama" and models.group == "ollama" and models.mode == 0o750


# --- the check step changed nothing ---------------------------------------------------------------

def test_check_step_left_etc_units_and_ruleset_byte_identical(host):
    """The fingerprint taken at the end of prepare equals the one the first real converge took before
    touching anything, i.e. right after the check step."""
    before = host.file("/var/tmp/nvct-before-check.txt").content_string
    after_check = host.file("/var/tmp/nvct-after-check.txt").content_string
    assert len(before.splitlines()) > 100, "the fingerprint covers /etc and the unit files"
    # molecule/shared/fingerprint.sh ends with the live ruleset under this header.
    ruleset = before.split("--- nft -s list ruleset\n", 1)
    assert len(ruleset) == 2 and "table " in ruleset[1], "the fingerprint holds the live nftables ruleset"
    assert after_check == before


def test_converge_did_change_what_the_fingerprint_covers(host):
    """Guard against a vacuous proof: the same fingerprint sees converge's changes."""
    now = fingerprint(host)
    before = host.file("/var/tmp/nvct-before-check.txt").content_string
    assert now != before
    assert "/etc/modprobe.d/aihost-nvidia.conf" in now and "/etc/modprobe.d/aihost-nvidia.conf" not in before
    assert "policy drop" in host.check_output("nft list ruleset")


# --- from outside, and from inside --------------------------------------------------------------

def test_peer_saw_the_runtime_before_hardening(peer):
    """The scan saved in prepare: SSH and the runtime answered the peer on the host's address."""
    before = open_ports(peer.file("/var/tmp/nvct-nmap-before.gnmap").content_string)
    assert {SSH_PORT, OLLAMA_PORT} <= before


def test_peer_now_reaches_only_ssh(peer):
    """nmap -sT -p- from the peer after converge: SSH (the one declared port reachable from outside) and
    nothing else; the runtime's port is not open."""
    # Dropped probes wait for their timeout: a minimum rate keeps the full range to well under a minute.
    out = peer.check_output("nmap -sT -Pn -n -p- -T4 --min-rate 3000 --max-retries 1 --host-timeout 300s -oG - nvct-host")
    assert "Status: Up" in out or "Ports:" in out, out
    found = open_ports(out)
    assert found == {SSH_PORT}, out
    assert OLLAMA_PORT not in found


def test_runtime_answers_on_loopback_only(host):
    """Inside the host the runtime still answers on 127.0.0.1, and it no longer listens on any other address."""
    scan = host.check_output("nmap -sT -Pn -n -p %d -oG - 127.0.0.1" % OLLAMA_PORT)
    assert open_ports(scan) == {OLLAMA_PORT}
    body = host.check_output("python3 -c \"import urllib.request; "
                             "print(urllib.request.urlopen('http://127.0.0.1:%d/', timeout=20).read().decode())\""
                             % OLLAMA_PORT)
    assert body == "Ollama is running"
    tags = json.loads(host.check_output(
        "python3 -c \"import urllib.request; "
        "print(urllib.request.urlopen('http://127.0.0.1:%d/api/tags', timeout=20).read().decode())\"" % OLLAMA_PORT))
    assert [model["name"] for model in tags["models"]] == ["tinyllama:latest"]
    assert tcp_listen_addresses(host, OLLAMA_PORT) == {"127.0.0.1"}


def test_host_address_refuses_the_runtime_from_inside(host):
    """The host's own network address no longer serves the runtime (bound to loopback only)."""
    address = host.check_output("hostname -I").split()[0]
    scan = host.check_output("nmap -sT -Pn -n -p %d -oG - %s" % (OLLAMA_PORT, address))
    assert OLLAMA_PORT not in open_ports(scan)


# --- data safety ----------------------------------------------------------------------------------

def test_model_and_data_checksums_unchanged(host):
    """Every file under Ollama's data directory has the checksum it had before converge, and no file
    appeared or vanished (ownership and modes changed; contents did not)."""
    before = host.file("/var/tmp/nvct-data-before.txt").content_string
    now = host.check_output("find %s -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum" % OLLAMA_DATA)
    assert len(before.splitlines()) >= 3, "blob, manifest and key were checksummed"
    assert now.strip() == before.strip()


def test_integrity_manifest_records_the_checksums_taken_before(host):
    """model_integrity's manifest of the model store names each model file with the checksum prepare took."""
    before = {}
    for line in host.file("/var/tmp/nvct-data-before.txt").content_string.splitlines():
        digest, path = line.split("  ", 1)
        before[path] = digest
    manifests = host.check_output("ls /var/lib/aihost/model_integrity/usr_share_ollama_.ollama_models-*.json "
                                  "| grep -v progress").split()
    assert len(manifests) == 1
    manifest = json.loads(host.file(manifests[0]).content_string)
    recorded = {manifest["store"] + "/" + entry["path"]: entry["sha256"] for entry in manifest["files"]}
    assert recorded == {path: digest for path, digest in before.items() if path.startswith(OLLAMA_DATA + "/models/")}


# --- updates on a GPU host ------------------------------------------------------------------------

def test_driver_user_space_is_held(host):
    """The updates role holds the installed NVIDIA user-space packages (default policy: hold), so the
    unattended upgrades cannot split them from the driver branch."""
    held = set(host.check_output("apt-mark showhold").split())
    assert {"nvidia-smi", "libnvidia-ml1"} <= held
    record = json.loads(host.file("/var/lib/aihost/updates/gpu-driver.json").content_string)
    assert record["policy"] == "hold" and set(record["held_by_role"]) == {"nvidia-smi", "libnvidia-ml1"}
    assert "openssh-server" not in held


def test_the_peer_with_every_switch_off_was_left_alone(peer):
    """site.yml ran on the peer too, with every concern switched off: nothing but site.yml's own
    converge stamp landed there."""
    assert peer.run("find /var/lib/aihost -mindepth 1 | sort").stdout.split() == [
        "/var/lib/aihost/site", "/var/lib/aihost/site/converge_state.json"]
    assert not peer.file("/etc/modprobe.d/aihost-nvidia.conf").exists
