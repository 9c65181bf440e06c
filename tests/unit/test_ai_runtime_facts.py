"""plugins/modules/ai_runtime_facts.py end to end: main() reads a fixture root, returns
ansible_facts.aihost_runtime as its RETURN block documents, changes nothing, behaves the same in
check mode, and turns bad input into a clean failure or warnings, never a traceback."""
import json
import os
import shutil
import subprocess

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.aihost.hardening.plugins.modules import ai_runtime_facts as module

from test_fs_trust import make_dir, make_file, root_tree  # noqa: F401 pylint: disable=unused-import

LISTENER_KEYS = {"protocol", "family", "address", "port", "scope", "inode", "pid", "pids", "process", "cmdline",
                 "user", "uid", "unit", "container", "runtime", "attributed_by"}
RUNTIME_KEYS = {"name", "display_name", "category", "detected_by", "processes", "units", "containers", "version",
                "version_source", "listen", "container_listen", "exposure", "auth", "run_as", "data_paths", "bind_knob", "risky_flags",
                "default_ports", "default_bind", "sandbox_profile", "packages", "binaries"}


def run_module(capsys, monkeypatch, root, args=None):
    monkeypatch.setattr(module, "HOST_ROOT", root)
    with patch_module_args(dict({"docker_socket": "", "podman_socket": ""}, **(args or {}))):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_module_returns_the_documented_facts(fixture_tree, capsys, monkeypatch):
    result = run_module(capsys, monkeypatch, fixture_tree("procfs/debian12-standins"))
    assert result.get("failed") is not True and result["changed"] is False
    facts = result["ansible_facts"]["aihost_runtime"]
    assert facts["schema_version"] == 1
    assert all(set(item) == LISTENER_KEYS for item in facts["listeners"])
    assert all(set(item) == RUNTIME_KEYS for item in facts["runtimes"])
    assert sorted(set(item["name"] for item in facts["runtimes"])) == ["comfyui", "llama_cpp", "ollama", "vllm"]
    assert any("listening socket" in warning and "owner process" in warning for warning in facts["warnings"])
    assert "elapsed" in result


def test_return_block_documents_every_field(fixture_tree, capsys, monkeypatch):
    import yaml
    documented = yaml.safe_load(module.RETURN)["ansible_facts"]["contains"]["aihost_runtime"]["contains"]
    assert set(documented) == {"schema_version", "listeners", "runtimes", "warnings"}
    assert set(documented["listeners"]["contains"]) == LISTENER_KEYS
    assert set(documented["runtimes"]["contains"]) == RUNTIME_KEYS


def test_check_mode_gives_the_same_facts(fixture_tree, capsys, monkeypatch):
    root = fixture_tree("procfs/host-http-servers")
    normal = run_module(capsys, monkeypatch, root)
    checked = run_module(capsys, monkeypatch, root, {"_ansible_check_mode": True})
    assert checked["ansible_facts"] == normal["ansible_facts"] and checked["changed"] is False


def test_include_udp_false_drops_udp_listeners(fixture_tree, capsys, monkeypatch):
    result = run_module(capsys, monkeypatch, fixture_tree("procfs/host-http-servers"), {"include_udp": False})
    protocols = set(item["protocol"] for item in result["ansible_facts"]["aihost_runtime"]["listeners"])
    assert protocols == {"tcp"}


def test_catalog_extra_adds_a_runtime(fixture_tree, capsys, monkeypatch):
    extra = {"plain_http": {"display_name": "Python http.server (test entry)", "category": "app_framework",
                            "match": {"processes": [{"cmdline": r"-m http\.server"}]}, "default_ports": [8000]}}
    result = run_module(capsys, monkeypatch, fixture_tree("procfs/host-http-servers"), {"catalog_extra": extra})
    facts = result["ansible_facts"]["aihost_runtime"]
    assert len([item for item in facts["runtimes"] if item["name"] == "plain_http"]) == 5
    assert {item["port"] for item in facts["listeners"] if item["runtime"] == "plain_http"} == {18888, 18889, 18890, 18891, 18892}


def test_an_unknown_catalog_field_fails_cleanly(fixture_tree, capsys, monkeypatch):
    extra = {"acme": {"display_name": "ACME", "match": {"units": ["acme.service"]}, "colour": "red"}}
    result = run_module(capsys, monkeypatch, fixture_tree("procfs/host-http-servers"), {"catalog_extra": extra})
    assert result["failed"] is True
    assert "unknown field 'colour'" in result["msg"] and "exception" not in result


def test_a_malformed_entry_is_skipped_with_a_warning_when_asked(fixture_tree, capsys, monkeypatch):
    extra = [{"name": "acme", "display_name": "ACME", "match": "acme-llm"}, {"display_name": "no name"}]
    result = run_module(capsys, monkeypatch, fixture_tree("procfs/host-http-servers"),
                        {"catalog_extra": extra, "catalog_errors": "warn"})
    assert result.get("failed") is not True
    warnings = result["ansible_facts"]["aihost_runtime"]["warnings"]
    assert any("catalog entry 'acme'.match must be a dictionary" in warning for warning in warnings)
    assert any("catalog_extra[1]" in warning for warning in warnings)
    assert [item["name"] for item in result["ansible_facts"]["aihost_runtime"]["runtimes"]] == ["ollama"]


def test_a_root_without_procfs_fails_with_a_message(tmp_path, capsys, monkeypatch):
    result = run_module(capsys, monkeypatch, str(tmp_path))
    assert result["failed"] is True and "procfs" in result["msg"]


def test_a_missing_container_socket_is_not_an_error(fixture_tree, capsys, monkeypatch, tmp_path):
    result = run_module(capsys, monkeypatch, fixture_tree("procfs/host-http-servers"),
                        {"docker_socket": str(tmp_path / "nope.sock"), "podman_socket": str(tmp_path / "nope2.sock")})
    assert result.get("failed") is not True
    assert not any("container" in warning for warning in result["ansible_facts"]["aihost_runtime"]["warnings"])


def test_a_dead_container_socket_becomes_a_warning(fixture_tree, capsys, monkeypatch, tmp_path):
    import socket
    path = str(tmp_path / "docker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)  # bound but not listening: every connection is refused
    try:
        result = run_module(capsys, monkeypatch, fixture_tree("procfs/host-http-servers"),
                            {"docker_socket": path, "container_api_timeout": 0.2})
    finally:
        server.close()
    assert result.get("failed") is not True
    assert any("container API unavailable" in warning for warning in result["ansible_facts"]["aihost_runtime"]["warnings"])


class FakeModule(object):
    """get_bin_path from a dict, run_command records the argv and never runs anything."""

    def __init__(self, paths):
        self.paths = dict(paths, timeout="/usr/bin/timeout")
        self.calls = []

    def get_bin_path(self, name):
        return self.paths.get(name)

    def run_command(self, argv, check_rc=False):
        self.calls.append(argv)
        return 0, "ollama version is 0.12.3\n", ""


def test_version_commands_run_under_timeout_with_an_argv_list(root_tree):
    ollama = make_file(os.path.join(root_tree, "usr", "local", "bin", "ollama"))
    fake = FakeModule({"ollama": ollama})
    warnings = []
    run = module._version_runner(fake, warnings=warnings)
    assert run(["ollama", "--version"], {"exe": None}) == "0.12.3"
    assert fake.calls == [["/usr/bin/timeout", "-k", "1", "5", ollama, "--version"]]
    assert run(["vllm", "--version"], None) is None  # not installed: nothing runs
    assert len(fake.calls) == 1 and warnings == []


@pytest.fixture
def running(root_tree):
    """Start a copy of sleep under a runtime's name; yield (path, process dict) as procfs reads it."""
    started = []

    def start(path):
        proc = subprocess.Popen([path, "30"])
        started.append(proc)
        return {"pid": proc.pid, "exe": os.readlink("/proc/%d/exe" % proc.pid)}
    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def copy_sleep(path, uid=0, mode=0o755):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copy(shutil.which("sleep"), path)
    os.chown(path, uid, uid)
    os.chmod(path, mode)
    return path


def test_version_command_runs_the_running_process_own_root_owned_executable(root_tree, running):
    ollama = copy_sleep(os.path.join(root_tree, "opt", "ollama", "bin", "ollama"))
    process = running(ollama)
    fake = FakeModule({"ollama": "/usr/bin/elsewhere"})
    warnings = []
    assert module._version_runner(fake, warnings=warnings)(["ollama", "--version"], process) == "0.12.3"
    assert fake.calls == [["/usr/bin/timeout", "-k", "1", "5", ollama, "--version"]] and warnings == []


@pytest.mark.parametrize("case", ["user-owned file", "root file in a user-owned directory",
                                  "root file in a group-writable directory", "group-writable file",
                                  "world-writable file", "symlink from a root directory into a user directory"])
def test_version_command_never_runs_a_file_another_user_can_change(root_tree, running, case):
    home = make_dir(os.path.join(root_tree, "home", "bob"), uid=1000)
    offender = None
    if case == "user-owned file":
        exe = offender = copy_sleep(os.path.join(root_tree, "opt", "bin", "ollama"), uid=1000)
        why = "is owned by uid 1000"
    elif case == "root file in a user-owned directory":
        exe, offender = copy_sleep(os.path.join(home, "ollama")), home
        why = "is owned by uid 1000"
    elif case == "root file in a group-writable directory":
        shared = make_dir(os.path.join(root_tree, "srv", "shared"), mode=0o2775)
        exe, offender = copy_sleep(os.path.join(shared, "ollama")), shared
        why = "is writable by group (mode 2775)"
    elif case == "group-writable file":
        exe = offender = copy_sleep(os.path.join(root_tree, "opt", "bin", "ollama"), mode=0o775)
        why = "is writable by group (mode 0775)"
    elif case == "world-writable file":
        exe = offender = copy_sleep(os.path.join(root_tree, "opt", "bin", "ollama"), mode=0o757)
        why = "is writable by others (mode 0757)"
    else:
        target = copy_sleep(os.path.join(home, "ollama"))
        exe = os.path.join(make_dir(os.path.join(root_tree, "usr", "local", "bin")), "ollama")
        os.symlink(target, exe)
        offender, why = home, "is owned by uid 1000"
    process = running(exe)
    fake = FakeModule({"ollama": exe})
    warnings = []
    run = module._version_runner(fake, warnings=warnings)
    assert run(["ollama", "--version"], process) is None
    assert run(["ollama", "--version"], None) is None  # found on PATH: the same rule
    assert fake.calls == []
    shown = process["exe"]
    assert warnings[0] == "%s --version not run as root: %s %s" % (shown, offender, why)


def test_version_command_refuses_an_executable_replaced_since_the_process_started(root_tree, running):
    ollama = copy_sleep(os.path.join(root_tree, "usr", "bin", "ollama"))
    process = running(ollama)
    copy_sleep(ollama + ".new")
    os.rename(ollama + ".new", ollama)  # root's and trusted, but not what the process runs
    fake = FakeModule({})
    warnings = []
    assert module._version_runner(fake, warnings=warnings)(["ollama", "--version"], process) is None
    assert fake.calls == []
    assert warnings == ["%s --version not run as root: %s is not the file process %d runs "
                        "(deleted, replaced, or in another mount namespace)" % (ollama, ollama, process["pid"])]


def test_version_command_refuses_what_it_cannot_verify(root_tree):
    fake = FakeModule({})
    warnings = []
    run = module._version_runner(fake, warnings=warnings, proc_root=os.path.join(root_tree, "proc"))
    ollama = make_file(os.path.join(root_tree, "usr", "bin", "ollama"))
    # A process whose /proc/<pid>/exe cannot be read (gone, or a fixture tree): not verifiable.
    assert run(["ollama", "--version"], {"pid": 4242, "exe": ollama}) is None
    # A path that exists on this host only by name (another mount namespace, deleted): untrusted.
    assert run(["ollama", "--version"], {"pid": 4243, "exe": "/nonexistent/ollama"}) is None
    assert fake.calls == []
    assert warnings[0].startswith("%s --version not run as root: cannot verify that %s is the file process 4242 runs"
                                  % (ollama, ollama))
    assert warnings[1] == "/nonexistent/ollama --version not run as root: cannot check /nonexistent: No such file or directory"


def test_the_module_reports_why_a_version_command_was_not_run(fixture_tree, capsys, monkeypatch, root_tree):
    """End to end through main(): the stand-in ollama (no readable exe) is found on PATH, where a
    user-owned ``ollama`` waits; nothing runs and aihost_runtime.warnings says why."""
    planted = make_file(os.path.join(make_dir(os.path.join(root_tree, "home", "eve", "bin"), uid=1001), "ollama"),
                        uid=1001)
    calls = []
    real_get_bin_path = module.AnsibleModule.get_bin_path
    monkeypatch.setattr(module.AnsibleModule, "get_bin_path", lambda self, name, *args, **kwargs: (
        planted if name == "ollama" else real_get_bin_path(self, name, *args, **kwargs)))
    monkeypatch.setattr(module.AnsibleModule, "run_command",
                        lambda self, argv, **kwargs: calls.append(argv) or (0, "0.1.2", ""))
    result = run_module(capsys, monkeypatch, fixture_tree("procfs/debian12-standins"), {"version_commands": True})
    assert result.get("failed") is not True
    assert calls == []
    facts = result["ansible_facts"]["aihost_runtime"]
    assert "%s --version not run as root: %s is owned by uid 1001" % (planted, os.path.dirname(planted)) \
        in facts["warnings"]
    assert [rt["version"] for rt in facts["runtimes"] if rt["name"] == "ollama"] == [None]


def test_the_catalog_extra_example_is_valid():
    import yaml
    from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import load_catalog
    examples = [task for task in yaml.safe_load(module.EXAMPLES) if "catalog_extra" in
                (task.get("aihost.hardening.ai_runtime_facts") or {})]
    extra = examples[0]["aihost.hardening.ai_runtime_facts"]["catalog_extra"]
    assert "acme_llm" in load_catalog(extra)[0]
