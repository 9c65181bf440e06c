"""The converge stamp (module_utils/converge_state.py, modules/converge_state.py and its action
plugin): a host matches its stamp only while everything the roles read is the same; every kind of
difference - a file's content, mode or owner, a model file's metadata, a listener, the ruleset, a
unit, the inputs, the stamp's age - is a reason for the full run, named in the reasons; record
writes nothing in check mode; bad options fail before anything is read."""
import json
import os

import pytest

from ansible.module_utils.common import warnings as common_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.aihost.hardening.plugins.action import converge_state as action
from ansible_collections.aihost.hardening.plugins.module_utils import converge_state as cs
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_facts
from ansible_collections.aihost.hardening.plugins.modules import converge_state as module

INPUTS = {"collection": "c" * 64, "ansible_core": "2.19.14", "aihost_firewall_admin_networks": "a" * 64}
RUNTIME = {"schema_version": 1, "warnings": ["container API unavailable"],
           "listeners": [{"protocol": "tcp", "address": "0.0.0.0", "port": 11434, "pid": 812, "pids": [812],
                          "inode": 4411, "process": "ollama", "user": "root", "unit": "ollama.service",
                          "cmdline": ["/usr/local/bin/ollama", "serve"], "runtime": "ollama"}],
           "runtimes": [{"name": "ollama", "units": [{"name": "ollama.service"}], "containers": [],
                         "processes": [{"pid": 812}], "exposure": "all", "run_as": ["root"],
                         "listen": [{"protocol": "tcp", "address": "0.0.0.0", "port": 11434, "pid": 812}],
                         "data_paths": []}]}


def make_tree(base):
    etc = base / "etc"
    (etc / "ssh").mkdir(parents=True)
    (etc / "ssh" / "sshd_config").write_text("PermitRootLogin no\n")
    (etc / "hostname").write_text("gpu-01\n")
    os.symlink("/proc/self/mounts", str(etc / "mtab"))
    models = base / "models"
    models.mkdir()
    (models / "llama.gguf").write_bytes(b"GGUF" + b"\0" * 64)
    return etc, models


# --- pure functions ---------------------------------------------------------------------------------

def test_content_tree_sees_content_mode_owner_and_link_targets(tmp_path):
    etc = make_tree(tmp_path)[0]
    before = cs.walk_tree(str(etc), content=True)
    assert before[str(etc / "mtab")] == "l /proc/self/mounts"
    assert before[str(etc / "ssh" / "sshd_config")].startswith("f 644 ")
    (etc / "ssh" / "sshd_config").write_text("PermitRootLogin yes\n")   # same size, other content
    os.chmod(str(etc / "hostname"), 0o600)
    after = cs.walk_tree(str(etc), content=True)
    differ = sorted(path for path in before if before[path] != after[path])
    assert differ == [str(etc / "hostname"), str(etc / "ssh" / "sshd_config")]


def test_content_tree_ignores_times_but_metadata_tree_does_not(tmp_path):
    etc, models = make_tree(tmp_path)
    content_before = cs.walk_tree(str(etc), content=True)
    metadata_before = cs.walk_tree(str(models), content=False)
    os.utime(str(etc / "hostname"), (1, 1))
    os.utime(str(models / "llama.gguf"), (1, 1))
    assert cs.walk_tree(str(etc), content=True) == content_before
    assert cs.walk_tree(str(models), content=False) != metadata_before


def test_walk_leaves_out_excluded_trees_and_missing_roots(tmp_path):
    etc = make_tree(tmp_path)[0]
    entries = cs.walk_tree(str(etc), content=True, exclude=[str(etc / "ssh")])
    assert not [path for path in entries if "/ssh" in path]
    assert cs.walk_tree(str(tmp_path / "absent"), content=True) == {}


def test_runtime_components_ignore_pids_inodes_and_command_lines():
    restarted = json.loads(json.dumps(RUNTIME))
    restarted["listeners"][0].update(pid=999, pids=[999], inode=5000, cmdline=["ollama", "serve", "--x"])
    restarted["runtimes"][0]["processes"] = [{"pid": 999}]
    restarted["runtimes"][0]["listen"][0]["pid"] = 999
    restarted["warnings"] = []
    assert cs.runtime_components(restarted) == cs.runtime_components(RUNTIME)
    rebound = json.loads(json.dumps(RUNTIME))
    rebound["listeners"][0]["address"] = "127.0.0.1"
    assert cs.runtime_components(rebound)["listeners"] != cs.runtime_components(RUNTIME)["listeners"]


def test_parse_list_units_with_and_without_the_bullet():
    text = ("aihost-firewall.service loaded active exited aihost firewall\n"
            "\u25cf ollama.service not-found inactive dead ollama.service\n")
    assert cs.parse_list_units(text) == {"aihost-firewall.service": "loaded/active",
                                         "ollama.service": "not-found/inactive"}


def stamp_of(components, epoch=1000.0):
    return {"schema_version": cs.SCHEMA_VERSION, "recorded_at": "then", "recorded_epoch": epoch,
            "components": components}


def test_compare_names_what_differs():
    old = {"content:/etc": cs.component({"/etc/a": "1", "/etc/b": "2"}), "nft_ruleset": cs.component({"r": "x"})}
    new = {"content:/etc": cs.component({"/etc/a": "1", "/etc/b": "3", "/etc/c": "4"}),
           "nft_ruleset": cs.component({"r": "x"})}
    assert cs.compare(stamp_of(old), old, 1001.0, 3600) == []
    reasons = cs.compare(stamp_of(old), new, 1001.0, 3600)
    assert reasons == ["content:/etc: 2 differ: /etc/b (changed), /etc/c (new)"]


@pytest.mark.parametrize("stamp, now, expected", [
    (None, 1001.0, "no converge stamp"),
    (dict(stamp_of({}), schema_version=0), 1001.0, "schema 0"),
    (stamp_of({}), 1000.0 + 7200, "2.0 h old"),
    (stamp_of({}), 900.0, "old"),   # a clock that went back is no proof of anything
])
def test_compare_reasons_beyond_the_host_state(stamp, now, expected):
    reasons = cs.compare(stamp, {}, now, 3600)
    assert len(reasons) == 1 and expected in reasons[0]


def test_a_large_component_still_differs_without_its_entries():
    many = dict(("/m/%d" % index, "x") for index in range(cs.MAX_LISTED_ENTRIES + 1))
    old = cs.component(many)
    assert old["entries"] is None
    many["/m/0"] = "y"
    reasons = cs.compare(stamp_of({"metadata:/m": old}), {"metadata:/m": cs.component(many)}, 1001.0, 3600)
    assert reasons and reasons[0].startswith("metadata:/m: differs")


# --- the module -------------------------------------------------------------------------------------

@pytest.fixture
def host(tmp_path, monkeypatch):
    """The module reads tmp_path's etc and models, a canned runtime, no nft, no systemctl."""
    monkeypatch.setattr(common_warnings, "_global_warnings", {})
    etc, models = make_tree(tmp_path)
    runtime = json.loads(json.dumps(RUNTIME))
    runtime["runtimes"][0]["data_paths"] = [str(models)]
    monkeypatch.setattr(runtime_facts, "collect", lambda mod, name, root="/": runtime)
    monkeypatch.setattr(module.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: None)
    return {"etc": etc, "models": models, "stamp": str(tmp_path / "state" / "stamp.json"), "runtime": runtime}


def run_module(capsys, host, state, **args):
    params = dict(state=state, inputs=INPUTS, stamp_path=host["stamp"], content_trees=[str(host["etc"])],
                  metadata_trees=[])
    params.update(args)
    with patch_module_args(params):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_record_then_compare_matches_until_something_changes(capsys, host):
    first = run_module(capsys, host, "compare")
    assert first["unchanged"] is False and "no converge stamp" in first["reasons"][0]
    recorded = run_module(capsys, host, "record")
    assert recorded["written"] is True and recorded["changed"] is False
    assert oct(os.stat(host["stamp"]).st_mode & 0o777) == "0o600"
    again = run_module(capsys, host, "compare")
    assert again["unchanged"] is True and again["reasons"] == [] and again["changed"] is False
    # A model file's permissions, a config file, a listener: each is named.
    os.chmod(str(host["models"] / "llama.gguf"), 0o666)
    (host["etc"] / "ssh" / "sshd_config").write_text("PermitRootLogin yes\n")
    host["runtime"]["listeners"].append({"protocol": "tcp", "address": "0.0.0.0", "port": 8888, "process": "jupyter"})
    reasons = run_module(capsys, host, "compare")["reasons"]
    assert any(r.startswith("content:%s: 1 differ: %s/ssh/sshd_config (changed)" % (host["etc"], host["etc"]))
               for r in reasons), reasons
    assert any(r.startswith("metadata:%s: 1 differ: %s/llama.gguf" % (host["models"], host["models"]))
               for r in reasons), reasons
    assert any(r.startswith("listeners: 1 differ: tcp 0.0.0.0:8888 (new)") for r in reasons), reasons


def test_other_inputs_or_an_old_stamp_mean_a_full_run(capsys, host):
    run_module(capsys, host, "record")
    other = dict(INPUTS, aihost_firewall_admin_networks="b" * 64)
    assert run_module(capsys, host, "compare", inputs=other)["reasons"] == [
        "inputs: 1 differ: aihost_firewall_admin_networks (changed)"]
    assert "h old" in run_module(capsys, host, "compare", max_age_hours=1e-9)["reasons"][0]


def test_record_in_check_mode_writes_nothing(capsys, host):
    result = run_module(capsys, host, "record", _ansible_check_mode=True)
    assert result["written"] is False and not os.path.exists(host["stamp"])


def test_the_stamp_directory_is_not_part_of_the_state(capsys, host):
    run_module(capsys, host, "record", stamp_path=str(host["etc"] / "aihost" / "stamp.json"))
    assert run_module(capsys, host, "compare", stamp_path=str(host["etc"] / "aihost" / "stamp.json"))["unchanged"]


@pytest.mark.parametrize("args, message", [
    ({"inputs": {}}, "inputs must be a non-empty mapping"),
    ({"inputs": {"collection": 1}}, "inputs must be a non-empty mapping"),
    ({"max_age_hours": 0}, "max_age_hours must be greater than 0"),
    ({"stamp_path": "relative/stamp.json"}, "stamp_path must be absolute"),
])
def test_bad_options_fail_before_reading(capsys, host, args, message):
    result = run_module(capsys, host, "compare", **args)
    assert result["failed"] is True and message in result["msg"]


# --- the action plugin's inputs ---------------------------------------------------------------------

def test_collection_digest_follows_the_code(tmp_path):
    (tmp_path / "roles" / "firewall").mkdir(parents=True)
    (tmp_path / "roles" / "firewall" / "main.yml").write_text("a\n")
    (tmp_path / "roles" / "firewall" / "__pycache__").mkdir()
    (tmp_path / "roles" / "firewall" / "__pycache__" / "x.pyc").write_bytes(b"1")
    first = action.collection_digest(str(tmp_path))
    (tmp_path / "roles" / "firewall" / "__pycache__" / "x.pyc").write_bytes(b"2")
    assert action.collection_digest(str(tmp_path)) == first
    (tmp_path / "roles" / "firewall" / "main.yml").write_text("b\n")
    assert action.collection_digest(str(tmp_path)) != first


def test_inputs_name_each_variable_the_code_and_the_ansible_version():
    base = action.inputs_of({"aihost_firewall_admin_networks": ["10.0.0.0/24"]}, "code", "2.19.14")
    assert sorted(base) == ["aihost_firewall_admin_networks", "ansible_core", "collection"]
    assert action.inputs_of({"aihost_firewall_admin_networks": ["10.0.0.0/24"]}, "code", "2.19.14") == base
    other = action.inputs_of({"aihost_firewall_admin_networks": ["10.0.1.0/24"]}, "code", "2.19.14")
    assert [name for name in base if base[name] != other[name]] == ["aihost_firewall_admin_networks"]
    assert action.inputs_of({"aihost_firewall_admin_networks": ["10.0.0.0/24"]}, "code2", "2.19.14") != base
    assert action.inputs_of({"aihost_firewall_admin_networks": ["10.0.0.0/24"]}, "code", "2.20.0") != base


@pytest.mark.parametrize("name, is_input", [
    ("aihost_firewall_admin_networks", True),
    ("aihost_allowed_exposures", True),
    ("aihost_site_updates", True),
    ("aihost_loopback__unit_dir", False),      # role-private: derived
    ("aihost_site_fast_path", False),          # how this run goes, not what the roles get
    ("aihost_site_fast_path_max_age_hours", False),
    ("ansible_host", False),
])
def test_which_variables_are_inputs(name, is_input):
    assert bool(action.INPUT_NAME.match(name)) is is_input
