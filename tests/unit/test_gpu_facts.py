"""plugins/modules/gpu_facts.py: the module returns ansible_facts.aihost_gpu (schema 1) on a real
CPU-only host and on the labelled fixture trees, never changes anything, validates its options,
runs its extra sources as argv lists under a pinned locale and a timeout, surfaces skipped input
as warnings, and its RETURN block documents every field it returns."""
import json
import os
import sys

import pytest
import yaml

_COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", ".collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.common import warnings as common_warnings  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.aihost.hardening.plugins.module_utils import gpu  # noqa: E402
from ansible_collections.aihost.hardening.plugins.modules import gpu_facts  # noqa: E402
from gpu_fixture_tree import FIXTURES, build_tree, load_case  # noqa: E402

CASES = sorted(d for d in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, d, "case.yml")))


@pytest.fixture(autouse=True)
def fresh_module_warnings(monkeypatch):
    """ansible-core keeps module warnings in a process-wide registry; each test starts empty."""
    monkeypatch.setattr(common_warnings, "_global_warnings", {})


def warning_texts(result):
    """Module warnings as text (the JSON carries them as WarningSummary objects)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def run_main(capsys, args=None):
    """Run the module's main() and return its JSON result."""
    with patch_module_args(args or {}):
        with pytest.raises(SystemExit):
            gpu_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def fixture_host(monkeypatch, tmp_path):
    """Point the module at a fixture case and answer its commands from the case's canned output."""
    calls = []

    def use(name):
        case = load_case(name)
        kwargs = build_tree(case, tmp_path / name)
        monkeypatch.setattr(gpu_facts, "HostTree", lambda root="/": gpu.HostTree(**kwargs))
        monkeypatch.setenv("PATH", "/usr/bin:/bin")

        def run_command(self, args, **kwargs):
            calls.append({"argv": list(args), "environ": dict(self.run_command_environ_update), "kwargs": kwargs})
            command = args[2:] if os.path.basename(args[0]) == "timeout" else args
            key = " ".join([os.path.basename(command[0])] + list(command[1:]))
            spec = (case.get("commands") or {}).get(key)
            if spec is None:
                return 127, "", "not in fixture"
            stdout = spec.get("stdout", "")
            if "stdout_from" in spec:
                with open(os.path.join(case["_dir"], spec["stdout_from"])) as handle:
                    stdout = handle.read()
            return spec.get("rc", 0), stdout, ""
        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        return calls
    return use


def documented_tree():
    doc = yaml.safe_load(gpu_facts.RETURN)
    return doc["ansible_facts"]["contains"]["aihost_gpu"]["contains"]


def undocumented(value, spec, path):
    """Paths in ``value`` that the RETURN ``spec`` (a contains mapping) does not describe."""
    missing = []
    for key, item in value.items():
        here = "%s.%s" % (path, key)
        if key not in spec:
            missing.append(here)
            continue
        field = spec[key]
        assert field.get("description"), here + " has no description"
        children = field.get("contains")
        if not children:
            continue  # free-form dict (name -> value) or scalar
        if isinstance(item, dict):
            missing += undocumented(item, children, here)
        elif isinstance(item, list):
            for element in item:
                missing += undocumented(element, children, here + "[]")
    return missing


def test_real_host_run_is_cpu_only_and_changes_nothing(capsys):
    # This build machine has no GPU: the module must say so plainly and not fail.
    result = run_main(capsys)
    facts = result["ansible_facts"]["aihost_gpu"]
    assert result["changed"] is False and not result.get("failed")
    assert facts["schema_version"] == 1 and facts["present"] is False
    assert facts["summary"].startswith("CPU-only host: no GPU or accelerator found")
    assert facts["nvidia"]["state"] == "absent"


def test_check_mode_returns_the_same_facts(capsys):
    normal = run_main(capsys)["ansible_facts"]["aihost_gpu"]
    checked = run_main(capsys, {"_ansible_check_mode": True})
    assert checked["changed"] is False
    assert checked["ansible_facts"]["aihost_gpu"] == normal


@pytest.mark.parametrize("case", CASES)
def test_return_block_documents_every_field(case, capsys, fixture_host):
    fixture_host(case)
    facts = run_main(capsys, {"nvidia_smi": "xml"})["ansible_facts"]["aihost_gpu"]
    assert undocumented(facts, documented_tree(), "aihost_gpu") == []


def test_return_block_lists_no_field_the_module_never_returns(capsys, fixture_host):
    fixture_host("nvidia_ready")
    facts = run_main(capsys)["ansible_facts"]["aihost_gpu"]
    assert sorted(documented_tree()) == sorted(facts)


def test_nvidia_ready_through_the_module(capsys, fixture_host):
    calls = fixture_host("nvidia_ready")
    result = run_main(capsys)
    facts = result["ansible_facts"]["aihost_gpu"]
    assert facts["nvidia"]["state"] == "ready"
    assert facts["nvidia"]["nvidia_smi"]["gpus"][1]["pci_address"] == "0000:2a:00.0"
    assert facts["container_toolkit"]["version"] == "1.17.8"
    assert facts["warnings"] == [] and warning_texts(result) == []
    # Extra sources run as argv lists, under coreutils timeout and a pinned C locale.
    smi, ctk = calls
    assert os.path.basename(smi["argv"][0]) == "timeout" and smi["argv"][1] == "20"
    assert smi["argv"][2].endswith("/usr/bin/nvidia-smi")
    assert smi["argv"][3:] == ["--query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total",
                               "--format=csv,noheader,nounits"]
    assert ctk["argv"][3:] == ["--version"]
    for call in calls:
        assert call["environ"] == {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}
        assert call["kwargs"].get("use_unsafe_shell", False) is False


def test_userspace_only_through_the_module(capsys, fixture_host):
    calls = fixture_host("nvidia_userspace_only")
    facts = run_main(capsys)["ansible_facts"]["aihost_gpu"]
    assert facts["nvidia"]["state"] == "userspace_only"
    assert "installed but no NVIDIA kernel module is loaded" in facts["summary"]
    assert calls == []


def test_options_turn_the_extra_sources_off(capsys, fixture_host):
    calls = fixture_host("nvidia_ready")
    facts = run_main(capsys, {"nvidia_smi": "never", "nvidia_ctk": False})["ansible_facts"]["aihost_gpu"]
    assert calls == []
    assert facts["nvidia"]["nvidia_smi_run"] == "disabled"


def test_bad_input_becomes_module_warnings_not_a_failure(capsys, fixture_host, monkeypatch):
    fixture_host("bad_input")
    warned = []
    # Record AnsibleModule.warn itself: where its messages go depends on whether controller code
    # (ansible.errors and friends) was imported into this process by another test.
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, message: warned.append(message))
    result = run_main(capsys)
    facts = result["ansible_facts"]["aihost_gpu"]
    assert not result.get("failed")
    assert facts["warnings"] and warned == facts["warnings"]


@pytest.mark.parametrize("args, message", [
    ({"nvidia_smi": "sometimes"}, "nvidia_smi"),
    ({"nvidia_smi_timeout": 0}, "nvidia_smi_timeout must be at least 1 second, got 0"),
    ({"unknown_option": 1}, "unknown_option"),
])
def test_bad_options_fail_with_a_message_naming_them(capsys, args, message):
    result = run_main(capsys, args)
    assert result["failed"] is True
    assert message in result["msg"]


def test_timeout_exit_is_reported_as_a_timeout(monkeypatch):
    with patch_module_args({}):
        module = basic.AnsibleModule(argument_spec={})
    monkeypatch.setattr(module, "get_bin_path", lambda name, *a, **k: "/usr/bin/timeout")
    monkeypatch.setattr(module, "run_command", lambda argv, **kwargs: (124, "", ""))
    assert gpu_facts.make_runner(module, 5)(["/usr/bin/nvidia-smi", "-q", "-x"]) == (124, "", "timed out after 5 s")
