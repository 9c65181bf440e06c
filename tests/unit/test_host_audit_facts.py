"""plugins/modules/host_audit_facts.py: one module run returns what the audit needs - the same
aihost_runtime and aihost_gpu trees as the standalone facts modules (one implementation), the
host-configuration checks and the report header - changes nothing, behaves the same in check mode,
and turns bad options into a clean failure."""
import json
import os

import pytest
import yaml

from ansible.module_utils.common import warnings as common_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.aihost.hardening.plugins.module_utils import host_config
from ansible_collections.aihost.hardening.plugins.modules import ai_runtime_facts
from ansible_collections.aihost.hardening.plugins.modules import gpu_facts
from ansible_collections.aihost.hardening.plugins.modules import host_audit_facts as module

NO_SOCKETS = {"docker_socket": "", "podman_socket": ""}
CANNED_SECTIONS = {"nft_ruleset": ["table inet filter {", "\tchain input {",
                                   "\t\ttype filter hook input priority filter; policy drop;", "\t}", "}"],
                   "data_paths": ["777|root|root|/srv/models"], "packages": ["dpkg|nftables|1.0.6-2+deb12u2"]}


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """Module warnings start empty, and no host command runs: the host checks answer canned sections."""
    monkeypatch.setattr(common_warnings, "_global_warnings", {})
    calls = []

    def read_sections(mod, data_paths=(), packages=(), root="/"):
        calls.append({"data_paths": list(data_paths), "packages": list(packages), "root": root})
        return dict(CANNED_SECTIONS)
    monkeypatch.setattr(host_config, "read_sections", read_sections)
    return calls


def run(capsys, monkeypatch, target, main, root, args=None, base=None):
    monkeypatch.setattr(target, "HOST_ROOT", root)
    with patch_module_args(dict(NO_SOCKETS if base is None else base, **(args or {}))):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out)


def test_one_run_returns_both_fact_trees_the_checks_and_the_header(fixture_tree, capsys, monkeypatch, isolated):
    root = fixture_tree("procfs/debian12-standins")
    result = run(capsys, monkeypatch, module, module.main, root, {"packages": ["nftables"], "data_paths": ["/srv/x"]})
    assert result.get("failed") is not True and result["changed"] is False
    facts = result["ansible_facts"]
    assert facts["aihost_runtime"]["schema_version"] == 1 and facts["aihost_gpu"]["schema_version"] == 1
    assert set(result["host"]) == {"hostname", "fqdn", "os", "kernel", "architecture"}
    assert result["host_checks"]["firewall"]["active"] is True
    assert result["host_checks"]["packages"] == [{"manager": "dpkg", "name": "nftables", "version": "1.0.6-2+deb12u2"}]
    # The runtimes' data paths, then the extra ones, once each; the packages asked for.
    runtime_paths = [path for entry in facts["aihost_runtime"]["runtimes"] for path in entry["data_paths"]]
    assert isolated[0]["data_paths"][-1] == "/srv/x" and set(runtime_paths) <= set(isolated[0]["data_paths"])
    assert len(isolated[0]["data_paths"]) == len(set(isolated[0]["data_paths"]))
    assert isolated[0]["packages"] == ["nftables"] and isolated[0]["root"] == root
    assert result["host_checks"]["model_integrity"] is None, "the fixture host never ran model_integrity"
    assert result["host_checks"]["service_users"] is None, "nor service_users"


def test_the_model_integrity_results_are_read_from_the_state_dir_given(fixture_tree, capsys, monkeypatch):
    root = fixture_tree("procfs/debian12-standins")
    state = os.path.join(root, "srv", "aihost-state")
    os.makedirs(state)
    with open(os.path.join(state, "findings.json"), "w") as handle:
        json.dump({"stores": [{"path": "/srv/models", "findings": [
            {"path": "evil.pt", "verdict": "malicious", "format": "pickle", "findings": [{"detail": "posix.system"}]}]}]},
            handle)
    result = run(capsys, monkeypatch, module, module.main, root, {"model_integrity_state_dir": "/srv/aihost-state"})
    integrity = result["host_checks"]["model_integrity"]
    assert integrity["pinned_at"] and integrity["verified_at"] is None
    assert integrity["stores"][0]["files"][0]["path"] == "evil.pt"
    assert host_config.read_model_integrity("/var/lib/aihost/model_integrity", root) is None


def test_the_fact_trees_are_those_of_the_standalone_modules(fixture_tree, capsys, monkeypatch):
    root = fixture_tree("procfs/host-http-servers")
    combined = run(capsys, monkeypatch, module, module.main, root)["ansible_facts"]
    alone = run(capsys, monkeypatch, ai_runtime_facts, ai_runtime_facts.main, root)["ansible_facts"]
    assert combined["aihost_runtime"] == alone["aihost_runtime"]
    monkeypatch.setattr(gpu_facts, "HostTree", lambda root_path="/": gpu_facts.gpu.HostTree(root))
    gpu_alone = run(capsys, monkeypatch, module, gpu_facts.main, root, base={})["ansible_facts"]
    assert combined["aihost_gpu"] == gpu_alone["aihost_gpu"]


def test_check_mode_gives_the_same_result(fixture_tree, capsys, monkeypatch):
    root = fixture_tree("procfs/host-http-servers")
    normal = run(capsys, monkeypatch, module, module.main, root)
    checked = run(capsys, monkeypatch, module, module.main, root, {"_ansible_check_mode": True})
    assert checked["changed"] is False
    for key in ("ansible_facts", "host", "host_checks"):
        assert checked[key] == normal[key]


@pytest.mark.parametrize("args, message", [
    ({"nvidia_smi_timeout": 0}, "nvidia_smi_timeout must be at least 1 second, got 0"),
    ({"container_api_timeout": 0}, "container_api_timeout must be a positive number"),
    ({"catalog_extra": {"acme": {"display_name": "A", "match": {"units": ["a.service"]}, "colour": "red"}}},
     "unknown field 'colour'"),
    ({"packages": "nftables", "nvidia_smi": "sometimes"}, "nvidia_smi"),
])
def test_bad_options_fail_cleanly(fixture_tree, capsys, monkeypatch, args, message):
    result = run(capsys, monkeypatch, module, module.main, fixture_tree("procfs/host-http-servers"), args)
    assert result["failed"] is True and message in result["msg"] and "exception" not in result


def test_a_root_without_procfs_fails_with_a_message(tmp_path, capsys, monkeypatch):
    result = run(capsys, monkeypatch, module, module.main, str(tmp_path))
    assert result["failed"] is True and "host_audit_facts needs Linux /proc" in result["msg"]


def test_documentation_lists_every_option_and_returned_key():
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert set(doc["options"]) == set(module.argument_spec())
    assert set(doc["attributes"]) >= {"check_mode", "diff_mode", "platform"}
    returned = yaml.safe_load(module.RETURN)
    assert set(returned["host"]["contains"]) == {"hostname", "fqdn", "os", "kernel", "architecture"}
    assert set(returned["host_checks"]["contains"]) == {
        "firewall", "automatic_updates", "data_path_modes", "packages", "service_users", "model_integrity"}
    assert set(returned["ansible_facts"]["contains"]) == {"aihost_runtime", "aihost_gpu"}


def test_the_service_users_refusals_reach_the_host_checks(fixture_tree, capsys, monkeypatch):
    root = fixture_tree("procfs/debian12-standins")
    state = os.path.join(root, "var", "lib", "aihost")
    os.makedirs(state, exist_ok=True)
    with open(os.path.join(state, "service_users.json"), "w") as handle:
        json.dump({"schema_version": 1, "units": {}, "refused": [
            {"runtime": "ollama", "units": ["ollama.service"], "path": "/var/lib/dpkg", "kind": "system",
             "reason": "system state", "variable": "aihost_service_users_data_dirs.ollama", "adopted": True}]}, handle)
    checks = run(capsys, monkeypatch, module, module.main, root)["host_checks"]
    assert [(r["runtime"], r["path"], r["variable"]) for r in checks["service_users"]["refused"]] == [
        ("ollama", "/var/lib/dpkg", "aihost_service_users_data_dirs.ollama")]
