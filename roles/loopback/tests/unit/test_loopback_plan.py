"""Unit tests of the loopback role's planner (roles/loopback/files/loopback_plan.py).

Fed with unit-file text written here (shaped like the units of Ollama's install.sh, `systemctl edit`
drop-ins and typical pip-installed runtimes), no systemd needed.
"""
import base64
import json
import os
import subprocess
import sys

import pytest

FILES = os.path.join(os.path.dirname(__file__), "..", "..", "files")
sys.path.insert(0, FILES)
import loopback_plan as lp  # noqa: E402

DROPIN = "zz-aihost-loopback.conf"


def runtime(name, kind, knob_name, value, action="set", alternatives=(), port=8888, pid=10,
            unit="x.service", scope="all"):
    return {
        "name": name, "display_name": name.title(),
        "bind_knob": {"kind": kind, "name": knob_name, "loopback_value": value, "action": action,
                      "alternatives": list(alternatives), "note": None},
        "listen": [{"protocol": "tcp", "address": "0.0.0.0", "port": port, "scope": scope, "pid": pid}],
        "processes": [{"pid": pid, "unit": unit}], "units": [unit], "containers": [], "default_ports": [port],
    }


def plan(rt, unit_files, env_files=None):
    env_files = env_files or {}
    return lp.plan({"dropin_name": DROPIN, "runtimes": [rt]},
                   read_files=lambda unit, dropin: (unit_files[unit], None),
                   read_file=env_files.get)


def service(text):
    return [("/etc/systemd/system/x.service", "[Unit]\nDescription=x\n\n[Service]\n" + text)]


def test_flag_equals_form_keeps_every_other_word_verbatim():
    """--ip=0.0.0.0 becomes --ip=127.0.0.1; quoted words, %h specifiers and $VARS are copied as written."""
    result = plan(runtime("jupyter", "flag", "--ip", "127.0.0.1"), {"x.service": service(
        'ExecStart=/opt/jupyter/bin/jupyter server --ip=0.0.0.0 "--ServerApp.root_dir=/srv/my notebooks" --x=%h $OPTS\n')})
    dropin = result["units"][0]["dropin"]
    assert ('ExecStart=\nExecStart=/opt/jupyter/bin/jupyter server --ip=127.0.0.1 '
            '"--ServerApp.root_dir=/srv/my notebooks" --x=%h $OPTS\n') in dropin
    assert result["managed"] == ["jupyter"] and result["findings"] == []


def test_flag_space_form_from_a_later_dropin_with_continuation():
    """The effective ExecStart is the last one after a reset, continuation lines joined."""
    files = service("ExecStart=/bin/true\n") + [("/etc/systemd/system/x.service.d/override.conf",
                                                 "[Service]\nExecStart=\nExecStart=/opt/mlflow/bin/mlflow server \\\n  --host 0.0.0.0 --port 5000\n")]
    result = plan(runtime("mlflow", "flag", "--host", "127.0.0.1", port=5000), {"x.service": files})
    assert "ExecStart=/opt/mlflow/bin/mlflow server --host 127.0.0.1 --port 5000\n" in result["units"][0]["dropin"]


def test_absent_flag_is_appended():
    result = plan(runtime("koboldcpp", "flag", "--host", "127.0.0.1", port=5001),
                  {"x.service": service("ExecStart=/usr/bin/koboldcpp --model /m.gguf\n")})
    assert result["units"][0]["dropin"].endswith("ExecStart=/usr/bin/koboldcpp --model /m.gguf --host 127.0.0.1\n")


@pytest.mark.parametrize("command", [
    "/v/bin/python main.py --listen --port 8188",
    "/v/bin/python main.py --listen 0.0.0.0,:: --port 8188",
    "/v/bin/python main.py --listen=0.0.0.0 --port 8188",
])
def test_remove_action_drops_the_flag_and_its_address(command):
    result = plan(runtime("comfyui", "flag", "--listen", None, action="remove", port=8188),
                  {"x.service": service("ExecStart=%s\n" % command)})
    assert "ExecStart=/v/bin/python main.py --port 8188\n" in result["units"][0]["dropin"]


def test_remove_action_covers_flag_alternatives():
    result = plan(runtime("text_generation_webui", "flag", "--listen", None, action="remove",
                          alternatives=["--listen-host"], port=7860),
                  {"x.service": service("ExecStart=/v/bin/python server.py --listen --listen-host 0.0.0.0 --api\n")})
    assert "ExecStart=/v/bin/python server.py --api\n" in result["units"][0]["dropin"]


@pytest.mark.parametrize("command,reason", [
    ("/v/bin/python main.py --port 8188", "elsewhere"),          # remove, but the flag is not there
    ('/bin/bash -c "python main.py --listen"', "shell"),         # a shell script sets it
])
def test_unsafe_command_lines_become_findings(command, reason):
    result = plan(runtime("comfyui", "flag", "--listen", None, action="remove", port=8188),
                  {"x.service": service("ExecStart=%s\n" % command)})
    assert result["units"] == [] and result["managed"] == []
    assert result["findings"][0]["kind"] == "unsupported_unit" and reason in result["findings"][0]["message"]


def test_several_exec_start_lines_are_not_guessed():
    result = plan(runtime("vllm", "flag", "--host", "127.0.0.1"),
                  {"x.service": service("Type=oneshot\nExecStart=/a --host 0.0.0.0\nExecStart=/b\n")})
    assert result["units"] == [] and "2 ExecStart" in result["findings"][0]["message"]


def test_env_knob_wins_over_the_admins_override():
    """Ollama's FAQ drop-in sets OLLAMA_HOST=0.0.0.0:11434; ours keeps the port and sorts later."""
    files = service("ExecStart=/usr/local/bin/ollama serve\n") + [
        ("/etc/systemd/system/x.service.d/override.conf", '[Service]\nEnvironment="OLLAMA_HOST=0.0.0.0:11434"\n')]
    result = plan(runtime("ollama", "env", "OLLAMA_HOST", "127.0.0.1:{port}", port=11434), {"x.service": files})
    dropin = result["units"][0]["dropin"]
    assert dropin.endswith('[Service]\nEnvironment="OLLAMA_HOST=127.0.0.1:11434"\n')
    assert "ExecStart" not in dropin
    assert DROPIN > "override.conf"


def test_env_file_that_sets_the_variable_is_edited():
    result = plan(runtime("localai", "env", "LOCALAI_ADDRESS", "127.0.0.1:{port}", alternatives=["ADDRESS", "--address"], port=8080),
                  {"x.service": service("EnvironmentFile=-/etc/localai.env\nExecStart=/usr/local/bin/local-ai run\n")},
                  {"/etc/localai.env": "ADDRESS=0.0.0.0:8080\nAPI_KEY=secret\n"})
    unit = result["units"][0]
    assert unit["env_file_edits"] == [{"path": "/etc/localai.env", "name": "ADDRESS", "value": "127.0.0.1:8080"}]
    assert 'Environment="ADDRESS=127.0.0.1:8080"' in unit["dropin"]


def test_env_knob_with_its_flag_alternative_on_the_command_line():
    result = plan(runtime("tgi", "env", "HOSTNAME", "127.0.0.1", alternatives=["--hostname"], port=3000),
                  {"x.service": service("ExecStart=/usr/bin/text-generation-launcher --hostname 0.0.0.0 --port 3000\n")})
    dropin = result["units"][0]["dropin"]
    assert "--hostname 127.0.0.1 --port 3000" in dropin and 'Environment="HOSTNAME=127.0.0.1"' in dropin


def test_config_knob_and_unmanaged_process_and_container_are_findings():
    rt = runtime("invokeai", "config", "host", "127.0.0.1", port=9090)
    assert plan(rt, {"x.service": service("ExecStart=/x\n")})["findings"][0]["kind"] == "unknown_knob"
    rt["processes"][0]["unit"] = None
    assert [f["kind"] for f in plan(rt, {})["findings"]] == ["unmanaged_process"]
    rt = runtime("ollama", "env", "OLLAMA_HOST", "127.0.0.1:{port}", port=11434, pid=99)
    rt["processes"] = []
    rt["containers"] = [{"name": "ollama", "image": "ollama/ollama", "published": [
        {"host_ip": "0.0.0.0", "host_port": 11434, "container_port": 11434, "protocol": "tcp"}]}]
    findings = plan(rt, {})["findings"]
    assert [f["kind"] for f in findings] == ["container_published"]
    assert "-p 127.0.0.1:11434:11434" in findings[0]["message"]


def test_unterminated_quote_is_a_finding_not_a_traceback():
    result = plan(runtime("jupyter", "flag", "--ip", "127.0.0.1"),
                  {"x.service": service('ExecStart=/x "--ip=0.0.0.0\n')})
    assert result["findings"][0]["kind"] == "unit_unreadable"


def test_environment_quoting():
    assert lp.quote_env_assignment("A", 'x"y%z\\') == 'Environment="A=x\\"y%%z\\\\"'


def test_command_line_interface():
    request = base64.b64encode(json.dumps({"dropin_name": DROPIN, "runtimes": []}).encode()).decode()
    out = subprocess.run([sys.executable, os.path.join(FILES, "loopback_plan.py"), request],
                         stdout=subprocess.PIPE, check=True, universal_newlines=True).stdout
    assert json.loads(out) == {"units": [], "findings": [], "managed": []}
    bad = subprocess.run([sys.executable, os.path.join(FILES, "loopback_plan.py"), "not-base64!"],
                         stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert bad.returncode == 2 and "bad request" in bad.stderr
