"""plugins/modules/ai_runtime_facts.py end to end: main() reads a fixture root, returns
ansible_facts.aihost_runtime as its RETURN block documents, changes nothing, behaves the same in
check mode, and turns bad input into a clean failure or warnings, never a traceback."""
import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.aihost.hardening.plugins.modules import ai_runtime_facts as module

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
    assert any("no visible owner" in warning for warning in facts["warnings"])
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


def test_version_commands_run_under_timeout_with_an_argv_list():
    calls = []

    class FakeModule(object):
        def get_bin_path(self, name):
            return {"timeout": "/usr/bin/timeout", "ollama": "/usr/local/bin/ollama"}.get(name)

        def run_command(self, argv, check_rc=False):
            calls.append(argv)
            return 0, "ollama version is 0.12.3\n", ""

    run = module._version_runner(FakeModule())
    assert run(["ollama", "--version"], {"exe": None}) == "0.12.3"
    assert calls == [["/usr/bin/timeout", "-k", "1", "5", "/usr/local/bin/ollama", "--version"]]
    assert run(["vllm", "--version"], None) is None  # not installed: nothing runs
    assert len(calls) == 1


def test_the_catalog_extra_example_is_valid():
    import yaml
    from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import load_catalog
    examples = [task for task in yaml.safe_load(module.EXAMPLES) if "catalog_extra" in
                (task.get("aihost.hardening.ai_runtime_facts") or {})]
    extra = examples[0]["aihost.hardening.ai_runtime_facts"]["catalog_extra"]
    assert "acme_llm" in load_catalog(extra)[0]
