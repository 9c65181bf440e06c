"""Unit tests of the loopback role's planner (plugins/module_utils/loopback_plan.py, run by the loopback_plan module).

Fed with unit-file text written here (shaped like the units of Ollama's install.sh, `systemctl edit`
drop-ins and typical pip-installed runtimes), no systemd needed.
"""
import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.aihost.hardening.plugins.module_utils import loopback_plan as lp
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import catalog_summary, load_catalog
from ansible_collections.aihost.hardening.plugins.modules import loopback_plan as module

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
    dropin = result["dropins"]["x.service"]
    assert ('ExecStart=\nExecStart=/opt/jupyter/bin/jupyter server --ip=127.0.0.1 '
            '"--ServerApp.root_dir=/srv/my notebooks" --x=%h $OPTS\n') in dropin
    assert result["managed"] == ["jupyter"] and result["findings"] == []


def test_flag_space_form_from_a_later_dropin_with_continuation():
    """The effective ExecStart is the last one after a reset, continuation lines joined."""
    files = service("ExecStart=/bin/true\n") + [("/etc/systemd/system/x.service.d/override.conf",
                                                 "[Service]\nExecStart=\nExecStart=/opt/mlflow/bin/mlflow server \\\n  --host 0.0.0.0 --port 5000\n")]
    result = plan(runtime("mlflow", "flag", "--host", "127.0.0.1", port=5000), {"x.service": files})
    assert "ExecStart=/opt/mlflow/bin/mlflow server --host 127.0.0.1 --port 5000\n" in result["dropins"]["x.service"]


def test_absent_flag_is_appended():
    result = plan(runtime("koboldcpp", "flag", "--host", "127.0.0.1", port=5001),
                  {"x.service": service("ExecStart=/usr/bin/koboldcpp --model /m.gguf\n")})
    assert result["dropins"]["x.service"].endswith("ExecStart=/usr/bin/koboldcpp --model /m.gguf --host 127.0.0.1\n")


@pytest.mark.parametrize("command", [
    "/v/bin/python main.py --listen --port 8188",
    "/v/bin/python main.py --listen 0.0.0.0,:: --port 8188",
    "/v/bin/python main.py --listen=0.0.0.0 --port 8188",
])
def test_remove_action_drops_the_flag_and_its_address(command):
    result = plan(runtime("comfyui", "flag", "--listen", None, action="remove", port=8188),
                  {"x.service": service("ExecStart=%s\n" % command)})
    assert "ExecStart=/v/bin/python main.py --port 8188\n" in result["dropins"]["x.service"]


def test_remove_action_covers_flag_alternatives():
    result = plan(runtime("text_generation_webui", "flag", "--listen", None, action="remove",
                          alternatives=["--listen-host"], port=7860),
                  {"x.service": service("ExecStart=/v/bin/python server.py --listen --listen-host 0.0.0.0 --api\n")})
    assert "ExecStart=/v/bin/python server.py --api\n" in result["dropins"]["x.service"]


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
    dropin = result["dropins"]["x.service"]
    assert dropin.endswith('[Service]\nEnvironment="OLLAMA_HOST=127.0.0.1:11434"\n')
    assert "ExecStart" not in dropin
    assert DROPIN > "override.conf"


def test_env_file_that_sets_the_variable_is_edited():
    result = plan(runtime("localai", "env", "LOCALAI_ADDRESS", "127.0.0.1:{port}", alternatives=["ADDRESS", "--address"], port=8080),
                  {"x.service": service("EnvironmentFile=-/etc/localai.env\nExecStart=/usr/local/bin/local-ai run\n")},
                  {"/etc/localai.env": "ADDRESS=0.0.0.0:8080\nAPI_KEY=secret\n"})
    unit = result["units"][0]
    assert unit["env_file_edits"] == [{"path": "/etc/localai.env", "name": "ADDRESS", "value": "127.0.0.1:8080"}]
    assert 'Environment="ADDRESS=127.0.0.1:8080"' in result["dropins"]["x.service"]


def test_env_knob_with_its_flag_alternative_on_the_command_line():
    result = plan(runtime("tgi", "env", "HOSTNAME", "127.0.0.1", alternatives=["--hostname"], port=3000),
                  {"x.service": service("ExecStart=/usr/bin/text-generation-launcher --hostname 0.0.0.0 --port 3000\n")})
    dropin = result["dropins"]["x.service"]
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


def run_module(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_the_module_returns_the_plan_and_changes_nothing(capsys):
    out = run_module(capsys, {"dropin_name": DROPIN, "runtimes": []})
    assert out["changed"] is False
    assert out["plan"] == {"units": [], "dropins": {}, "originals": {}, "secrets": {}, "findings": [], "managed": []}
    bad = run_module(capsys, {"runtimes": []})
    assert bad["failed"] and "dropin_name" in bad["msg"]


# ---------------------------------------------------------------- the catalog's knobs, as shipped

def catalog_runtime(name, unit="x.service", port=None, pid=10):
    """A runtime as the role hands it to the planner, with the bind knob of the real catalog."""
    summary = catalog_summary(load_catalog()[0][name])
    port = port or summary["default_ports"][0]
    return {"name": name, "display_name": summary["display_name"], "bind_knob": summary["bind_knob"],
            "listen": [{"protocol": "tcp", "address": "0.0.0.0", "port": port, "scope": "all", "pid": pid}],
            "processes": [{"pid": pid, "unit": unit}], "units": [unit], "containers": [],
            "default_ports": summary["default_ports"]}


def test_ray_head_moves_only_its_dashboard_and_keeps_its_node_address():
    """--node-ip-address is where the other nodes of the cluster reach this one: rewriting it to
    127.0.0.1 cuts the head off its workers. Only the dashboard's own bind moves."""
    result = plan(catalog_runtime("ray", port=8265), {"x.service": service(
        "ExecStart=/opt/ray/bin/ray start --head --node-ip-address=10.0.0.5 --dashboard-host=0.0.0.0 --block\n")})
    assert result["findings"] == [] and result["managed"] == ["ray"]
    assert ("ExecStart=/opt/ray/bin/ray start --head --node-ip-address=10.0.0.5 --dashboard-host=127.0.0.1 --block\n"
            in result["dropins"]["x.service"])


def test_ray_head_without_a_dashboard_flag_gets_one_appended_and_keeps_its_node_address():
    result = plan(catalog_runtime("ray", port=8265), {"x.service": service(
        "ExecStart=/opt/ray/bin/ray start --head --node-ip-address 10.0.0.5 --block\n")})
    assert ("ExecStart=/opt/ray/bin/ray start --head --node-ip-address 10.0.0.5 --block --dashboard-host 127.0.0.1\n"
            in result["dropins"]["x.service"])


def test_read_only_names_are_never_rewritten_even_when_listed_as_alternatives():
    """A knob's read_only names win over a catalog_extra that lists them among the alternatives."""
    rt = runtime("ray", "flag", "--dashboard-host", "127.0.0.1", alternatives=["--node-ip-address"], port=8265)
    rt["bind_knob"]["read_only"] = ["--node-ip-address"]
    result = plan(rt, {"x.service": service("ExecStart=/r start --node-ip-address=10.0.0.5 --dashboard-host=0.0.0.0\n")})
    assert "ExecStart=/r start --node-ip-address=10.0.0.5 --dashboard-host=127.0.0.1\n" in result["dropins"]["x.service"]


# ---------------------------------------------------------------- secrets in the units it reads

HOSTILE_UNIT = ("Environment=HF_TOKEN=hf_hostile\n"
                "ExecStart=/opt/vllm/bin/vllm serve m --api-key sk-hostile-123 --host 0.0.0.0\n")


def test_what_the_role_loops_over_and_prints_carries_no_unit_text():
    """The role loops over `units` (Ansible prints loop items at -v) and prints `findings`: neither
    may hold the unit's text. The drop-in must repeat the real command line, key included, so it
    is kept apart (by unit name) and flagged as not to be diffed."""
    result = plan(runtime("vllm", "flag", "--host", "127.0.0.1", port=8000), {"x.service": service(HOSTILE_UNIT)})
    shown = json.dumps([result["units"], result["findings"], result["managed"]])
    assert "sk-hostile-123" not in shown and "hf_hostile" not in shown
    unit = result["units"][0]
    assert unit["copies_command_line"] is True
    assert unit["changes"] == ["ExecStart: --host set to 127.0.0.1 (every other word as the unit has it)"]
    assert "--api-key sk-hostile-123 --host 127.0.0.1" in result["dropins"]["x.service"]
    assert "HF_TOKEN=hf_hostile" in result["originals"]["x.service"]  # the backup, never printed


def test_a_drop_in_of_our_own_lines_only_may_be_diffed():
    result = plan(runtime("ollama", "env", "OLLAMA_HOST", "127.0.0.1:{port}", port=11434),
                  {"x.service": service("Environment=HF_TOKEN=hf_hostile\nExecStart=/usr/local/bin/ollama serve\n")})
    unit = result["units"][0]
    assert unit["copies_command_line"] is False and unit["changes"] == ["Environment: OLLAMA_HOST=127.0.0.1:11434"]
    assert "hf_hostile" not in result["dropins"]["x.service"]


def test_ray_changes_say_that_the_node_address_was_kept():
    result = plan(catalog_runtime("ray", port=8265), {"x.service": service(
        "ExecStart=/opt/ray/bin/ray start --head --node-ip-address=10.0.0.5 --dashboard-host=0.0.0.0\n")})
    assert result["units"][0]["changes"] == [
        "ExecStart: --dashboard-host set to 127.0.0.1 (every other word as the unit has it)",
        "left as they are: --node-ip-address (not a listen address)"]


def test_a_finding_never_quotes_the_unit():
    result = plan(runtime("vllm", "flag", "--host", "127.0.0.1"),
                  {"x.service": service('ExecStart=/x --api-key "sk-hostile-123 --host 0.0.0.0\n')})
    assert result["findings"][0]["kind"] == "unit_unreadable"
    assert "sk-hostile-123" not in json.dumps(result["findings"])


def test_an_internal_error_names_the_line_not_the_data(monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise KeyError("sk-hostile-123")
    monkeypatch.setattr(lp, "plan", broken)
    out = run_module(capsys, {"dropin_name": DROPIN, "runtimes": []})
    assert out["failed"] and "internal error: KeyError at test_loopback_plan.py line" in out["msg"]
    assert "sk-hostile-123" not in json.dumps(out)


# ---------------------------------------------------------------- which runtimes to rebind, and the proxies
# Formerly Jinja in tasks/present.yml and remote_check.yml, with no test of their own (issue #18).

def detected(name, ports, scope="all", knob=None, unit="x.service", default_ports=None):
    listen = [{"protocol": "tcp", "address": "0.0.0.0" if scope == "all" else "127.0.0.1", "port": port,
               "scope": scope, "pid": 10} for port in ports]
    return {"name": name, "display_name": name.title(), "exposure": scope,
            "bind_knob": knob or {"kind": "flag", "name": "--host", "loopback_value": "127.0.0.1"},
            "listen": listen, "processes": [{"pid": 10, "unit": unit, "cmdline": ["/x"]}],
            "units": [{"name": unit}], "containers": [], "default_ports": default_ports or ports[:1]}


def test_loopback_runtimes_are_not_planned_and_exposed_ones_are():
    rebind, notes = lp.sort_exposed([detected("ollama", [11434], scope="loopback"), detected("vllm", [8000])], [])
    assert [item["name"] for item in rebind] == ["vllm"] and notes == []
    assert rebind[0]["units"] == ["x.service"] and rebind[0]["processes"] == [{"pid": 10, "unit": "x.service"}]


def test_an_allowed_exposure_leaves_the_runtime_and_says_so():
    allowed = [{"port": 8000, "runtime": "vllm", "scope": "lan"}, {"port": 9999}]
    rebind, notes = lp.sort_exposed([detected("vllm", [8000, 8001])], allowed)
    assert rebind == []
    assert [note["kind"] for note in notes] == ["allowed", "partly_allowed"]
    assert notes[0]["message"] == ("Vllm listens beyond loopback on port(s) 8000, as aihost_loopback_allowed_exposures "
                                   "allows: left as it is")
    assert "also listens beyond loopback on 8001" in notes[1]["message"]


@pytest.mark.parametrize("entry", [{"port": 8000, "runtime": "ollama"}, {"port": 8000, "scope": "loopback"},
                                   {"port": 8001}])
def test_an_exposure_for_another_runtime_port_or_loopback_does_not_cover(entry):
    rebind, notes = lp.sort_exposed([detected("vllm", [8000])], [entry])
    assert [item["name"] for item in rebind] == ["vllm"] and notes == []


def test_a_knob_with_ports_moves_only_those_and_reports_the_rest():
    knob = {"kind": "flag", "name": "--dashboard-host", "loopback_value": "127.0.0.1", "ports": [8265],
            "note": "GCS port 6379 has no bind setting."}
    rebind, notes = lp.sort_exposed([detected("ray", [6379, 8265], knob=knob)], [])
    assert [item["name"] for item in rebind] == ["ray"]
    assert notes == [{"runtime": "ray", "kind": "unmovable",
                      "message": "Ray listens beyond loopback on port(s) 6379, which its bind setting cannot move: "
                                 "only the firewall keeps them off the network. GCS port 6379 has no bind setting."}]
    rebind, notes = lp.sort_exposed([detected("ray", [6379], knob=knob)], [])
    assert rebind == [] and notes[0]["kind"] == "unmovable"


def test_a_proxy_takes_the_runtime_port_and_the_defaults():
    runtimes = [detected("jupyter", [8890, 8888], scope="loopback", default_ports=[8888])]
    [proxy] = lp.proxies([{"runtime": "jupyter", "port": 8443, "sources": ["10.0.0.0/24", "fd00::/64"]}],
                         runtimes, "/etc/aihost/loopback")
    assert proxy == {
        "index": 0, "runtime": "jupyter", "display_name": "Jupyter", "detected": True, "port": 8443,
        "sources": ["10.0.0.0/24", "fd00::/64"], "ipv6": True, "auth": "token", "basic_user": "aihost",
        "upstream_port": 8888, "upstream_host_header": "upstream", "max_body_size": "16m",
        "requests_per_minute": 120, "burst": 40, "connections_per_client": 16,
        "tls_cert": "/etc/aihost/loopback/8443.crt", "tls_key": "/etc/aihost/loopback/8443.key", "self_signed": True}
    assert lp.published([proxy]) == [{
        "port": 8443, "proto": "tcp", "sources": ["10.0.0.0/24", "fd00::/64"], "runtime": "jupyter",
        "process": "nginx", "scope": "all", "reason": "TLS reverse proxy with token auth in front of jupyter"}]


@pytest.mark.parametrize("listen, default_ports, entry, upstream", [
    ([8890], [8888], {}, 8890),            # not on its default port: the port it listens on
    ([], [8888], {}, 8888),                # not running: its default port
    ([8890], [8888], {"upstream_port": 9000}, 9000),
])
def test_the_upstream_port(listen, default_ports, entry, upstream):
    runtimes = [detected("jupyter", listen, scope="loopback", default_ports=default_ports)]
    [proxy] = lp.proxies([dict({"runtime": "jupyter", "port": 8443, "sources": []}, **entry)], runtimes, "/s")
    assert proxy["upstream_port"] == upstream


def test_proxy_errors_name_the_entry_and_the_process_in_the_way():
    entries = [{"runtime": "comfyui", "port": 8443, "sources": []},
               {"runtime": "jupyter", "port": 8888, "sources": [], "tls_cert": "/c", "tls_key": "/k"},
               {"runtime": "jupyter", "port": 9443, "sources": []}]
    proxy_list = lp.proxies(entries, [detected("jupyter", [8888], scope="loopback")], "/s")
    assert proxy_list[1]["self_signed"] is False and proxy_list[1]["tls_cert"] == "/c"
    listeners = [{"protocol": "tcp", "port": 9443, "process": "python3", "pid": 77, "address": "0.0.0.0"},
                 {"protocol": "tcp", "port": 8443, "process": "nginx", "pid": 5, "address": "0.0.0.0"},
                 {"protocol": "udp", "port": 9443, "process": "x", "pid": 6, "address": "0.0.0.0"}]
    assert lp.proxy_errors(proxy_list, listeners) == [
        "aihost_loopback_remote_access[0].runtime: comfyui is not detected on this host: start it first, "
        "or set upstream_port",
        "aihost_loopback_remote_access[1].port: 8888 is the runtime's own port; the proxy needs another one",
        "aihost_loopback_remote_access[2].port: 9443 is already in use by python3 (pid 77) on 0.0.0.0"]


def test_the_module_sorts_plans_and_completes_the_proxies(capsys):
    out = run_module(capsys, {"dropin_name": DROPIN, "runtimes": [detected("ray", [6379], knob={
        "kind": "flag", "name": "--dashboard-host", "ports": [8265]})],
        "remote_access": [{"runtime": "ray", "port": 6379, "sources": []}]})
    assert out["changed"] is False and out["plan"]["units"] == []
    assert [note["kind"] for note in out["notes"]] == ["unmovable"]
    assert out["proxy_errors"] == [
        "aihost_loopback_remote_access[0].port: 6379 is the runtime's own port; the proxy needs another one"]
    assert out["published"][0]["port"] == 6379


# ----------------------------------------------------------------------------------------------
# Auth fixes (#20 part 2): settings that open an API to whoever reaches it, fixed in the same drop-in
# ----------------------------------------------------------------------------------------------

def auth_plan(runtimes, unit_files, env_files=None, rebind=(), values=None, ours=None):
    """The plan as the module makes it with fix_auth on: RUNTIMES get auth fixes, REBIND the bind fix too;
    OURS: the role's drop-ins already on the host, by unit."""
    env_files = env_files or {}
    return lp.plan({"dropin_name": DROPIN, "runtimes": list(rebind), "auth_runtimes": lp.auth_candidates(runtimes),
                    "auth_values": values or {}, "token_dir": "/etc/aihost/loopback/tokens"},
                   read_files=lambda unit, dropin: (unit_files[unit], None), read_file=env_files.get,
                   read_dropin=lambda unit, dropin: (ours or {}).get(unit))


def on_loopback(runtime_entry):
    entry = dict(runtime_entry)
    entry["listen"] = [dict(item, address="127.0.0.1", scope="loopback") for item in entry["listen"]]
    return entry


JUPYTER_OPEN = ("User=jupyter\nGroup=jupyter\nExecStart=/opt/jupyter/bin/jupyter server --ip=127.0.0.1 "
                "--ServerApp.token='' --ServerApp.password= --port=8888 --ServerApp.root_dir=/srv/nb\n")


def test_jupyter_on_loopback_loses_its_empty_token_and_password_and_reads_a_token_file():
    """A runtime already on loopback is reachable by every local user and through the proxy: an
    empty token and an empty password are removed, and the token comes from a root-owned file."""
    jupyter = on_loopback(catalog_runtime("jupyter"))
    result = auth_plan([jupyter], {"x.service": service(JUPYTER_OPEN)})
    dropin = result["dropins"]["x.service"]
    assert ("ExecStart=\nExecStart=/opt/jupyter/bin/jupyter server --ip=127.0.0.1 --port=8888 "
            "--ServerApp.root_dir=/srv/nb\n") in dropin
    assert 'Environment="JUPYTER_TOKEN_FILE=/etc/aihost/loopback/tokens/x.service.token"\n' in dropin
    assert "--ServerApp.token" not in dropin and "password" not in dropin
    unit = result["units"][0]
    assert unit["bind"] is False and unit["knob_kind"] == "auth" and unit["copies_command_line"]
    assert unit["token_files"] == [{"env": "JUPYTER_TOKEN_FILE", "group": "jupyter",
                                    "path": "/etc/aihost/loopback/tokens/x.service.token"}]
    assert result["managed"] == [] and result["findings"] == []


def test_jupyter_token_flag_with_a_separate_empty_value_is_removed_with_its_value():
    jupyter = on_loopback(catalog_runtime("jupyter"))
    result = auth_plan([jupyter], {"x.service": service(
        "ExecStart=/usr/bin/jupyter-lab --NotebookApp.token '' --IdentityProvider.token= --no-browser\n")})
    assert "ExecStart=/usr/bin/jupyter-lab --no-browser\n" in result["dropins"]["x.service"]


def test_jupyter_with_a_real_token_is_left_alone():
    """Only an empty token turns authentication off; a unit with none keeps Jupyter's default (on)."""
    jupyter = on_loopback(catalog_runtime("jupyter"))
    result = auth_plan([jupyter], {"x.service": service("ExecStart=/usr/bin/jupyter server --ip=127.0.0.1\n")})
    assert result["units"] == [] and result["dropins"] == {} and result["findings"] == []


def test_bind_and_auth_fixes_go_into_one_dropin_built_from_the_unit_as_written():
    """An exposed Jupyter with an empty token: --ip moves to loopback and the token flags go, in one
    ExecStart= of one drop-in (two drop-ins would fight over ExecStart=)."""
    jupyter = catalog_runtime("jupyter")
    result = auth_plan([jupyter], {"x.service": service(
        "User=jupyter\nGroup=jupyter\nExecStart=/usr/bin/jupyter server --ip=0.0.0.0 --ServerApp.token=''\n")},
        rebind=[jupyter])
    dropin = result["dropins"]["x.service"]
    assert dropin.count("ExecStart=") == 2
    assert "ExecStart=\nExecStart=/usr/bin/jupyter server --ip=127.0.0.1\n" in dropin
    assert "JUPYTER_TOKEN_FILE=" in dropin
    assert len(result["units"]) == 1 and result["units"][0]["bind"] is True
    assert result["managed"] == ["jupyter"]


def test_token_file_group_is_the_primary_group_of_user(monkeypatch):
    monkeypatch.setattr(lp, "primary_group", {"jupyter": "users"}.get)
    jupyter = on_loopback(catalog_runtime("jupyter"))
    result = auth_plan([jupyter], {"x.service": service(
        "User=jupyter\nExecStart=/usr/bin/jupyter server --ServerApp.token=\n")})
    assert result["units"][0]["token_files"][0]["group"] == "users"


def test_no_token_file_for_a_dynamic_user_says_so():
    jupyter = on_loopback(catalog_runtime("jupyter"))
    result = auth_plan([jupyter], {"x.service": service(
        "DynamicUser=yes\nExecStart=/usr/bin/jupyter server --ServerApp.token=\n")})
    assert [item["kind"] for item in result["findings"]] == ["token_file"]
    assert "JUPYTER_TOKEN_FILE" not in result["dropins"]["x.service"]


def test_ollama_wildcard_origins_are_replaced_by_the_configured_list():
    ollama = on_loopback(catalog_runtime("ollama"))
    files = {"x.service": service('User=ollama\nEnvironment="OLLAMA_HOST=127.0.0.1:11434" "OLLAMA_ORIGINS=*"\n'
                                  "ExecStart=/usr/local/bin/ollama serve\n")}
    result = auth_plan([ollama], files, values={"ollama_origins": ["http://localhost:3000", "app://*"]})
    dropin = result["dropins"]["x.service"]
    assert 'Environment="OLLAMA_ORIGINS=http://localhost:3000,app://*"\n' in dropin
    assert "ExecStart" not in dropin and not result["units"][0]["copies_command_line"]
    empty = auth_plan([ollama], files)
    assert 'Environment="OLLAMA_ORIGINS="\n' in empty["dropins"]["x.service"]


def test_ollama_origins_in_an_environment_file_are_edited_there_too():
    ollama = on_loopback(catalog_runtime("ollama"))
    files = {"x.service": service("EnvironmentFile=/etc/default/ollama\nExecStart=/usr/local/bin/ollama serve\n")}
    result = auth_plan([ollama], files, env_files={"/etc/default/ollama": "OLLAMA_ORIGINS='*'\n"})
    assert result["units"][0]["env_file_edits"] == [
        {"path": "/etc/default/ollama", "name": "OLLAMA_ORIGINS", "value": ""}]
    # After the edit the file holds our value: the same drop-in and edit again, no churn.
    again = auth_plan([ollama], files, env_files={"/etc/default/ollama": "OLLAMA_ORIGINS=\n"})
    assert again["dropins"] == result["dropins"]


def test_ollama_with_explicit_origins_is_left_alone():
    ollama = on_loopback(catalog_runtime("ollama"))
    result = auth_plan([ollama], {"x.service": service(
        'Environment="OLLAMA_ORIGINS=https://chat.example.org"\nExecStart=/usr/local/bin/ollama serve\n')})
    assert result["units"] == []


def test_exposed_ollama_gets_bind_and_origins_in_one_dropin():
    ollama = catalog_runtime("ollama")
    result = auth_plan([ollama], {"x.service": service(
        'Environment="OLLAMA_HOST=0.0.0.0" "OLLAMA_ORIGINS=*"\nExecStart=/usr/local/bin/ollama serve\n')},
        rebind=[ollama])
    dropin = result["dropins"]["x.service"]
    assert 'Environment="OLLAMA_HOST=127.0.0.1:11434"\n' in dropin and 'Environment="OLLAMA_ORIGINS="\n' in dropin
    assert len(result["units"]) == 1


@pytest.mark.parametrize("name, text", [
    ("jupyter", JUPYTER_OPEN.replace("--ip=127.0.0.1", "--ip=0.0.0.0")),
    ("ollama", 'Environment="OLLAMA_HOST=0.0.0.0" "OLLAMA_ORIGINS=*"\nExecStart=/usr/local/bin/ollama serve\n'),
])
def test_second_run_is_the_same_dropin_and_the_fixed_unit_needs_nothing(name, text):
    """Idempotence: the plan reads the unit without the role's drop-in, so it plans the same text;
    with the drop-in applied (read as any other drop-in) the unit needs no change at all."""
    exposed = catalog_runtime(name)
    files = {"x.service": service(text)}
    first = auth_plan([exposed], files, rebind=[exposed])
    assert first["units"][0]["exposed"] and first["units"][0]["bind"]
    assert auth_plan([exposed], files, rebind=[exposed])["dropins"] == first["dropins"]
    # The second run: the runtime is on loopback now, so it is not rebound, but its drop-in (which
    # says it holds the bind fix) keeps the bind fix: the same text, and no restart (not exposed).
    second = auth_plan([on_loopback(exposed)], files, ours={"x.service": first["dropins"]["x.service"]})
    assert second["dropins"] == first["dropins"]
    assert second["units"][0]["exposed"] is False and second["managed"] == []
    fixed = {"x.service": files["x.service"] + [("/etc/systemd/system/x.service.d/fixed.conf",
                                                first["dropins"]["x.service"])]}
    after = auth_plan([on_loopback(exposed)], fixed)
    assert after["units"] == [] and after["findings"] == []


def test_fix_auth_off_plans_no_auth_fix(capsys):
    jupyter = on_loopback(catalog_runtime("jupyter"))
    out = run_module(capsys, {"dropin_name": DROPIN, "runtimes": [jupyter], "fix_auth": False})
    assert out["plan"]["units"] == []


def test_catalog_rejects_a_bad_auth_fix():
    from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import CatalogError
    with pytest.raises(CatalogError, match=r"auth_fixes\[0\]\.action must be remove"):
        load_catalog({"jupyter": {"bind_knob": {"auth_fixes": [{"kind": "flag", "name": "--x", "action": "set"}]}}})


def test_vllm_api_key_moves_from_the_command_line_to_a_root_only_environment_file():
    """--api-key on ExecStart is shown to every local user (ps, systemctl show): it moves to
    VLLM_API_KEY in <token_dir>/<unit>.env, whose text is kept out of the units the role loops over."""
    vllm = on_loopback(catalog_runtime("vllm"))
    files = {"x.service": service("ExecStart=/opt/vllm/bin/vllm serve /models/m --host 127.0.0.1 --api-key sk-abc.123\n")}
    result = auth_plan([vllm], files)
    dropin = result["dropins"]["x.service"]
    assert "ExecStart=\nExecStart=/opt/vllm/bin/vllm serve /models/m --host 127.0.0.1\n" in dropin
    assert "EnvironmentFile=/etc/aihost/loopback/tokens/x.service.env\n" in dropin
    assert "sk-abc" not in dropin
    assert result["secrets"] == {"x.service": "VLLM_API_KEY=sk-abc.123\n"}
    assert "sk-abc" not in json.dumps(result["units"]) and "sk-abc" not in json.dumps(result["findings"])
    assert result["units"][0]["secret_paths"] == ["/etc/aihost/loopback/tokens/x.service.env"]
    # Second run: the same drop-in and file; the fixed unit needs nothing.
    assert auth_plan([vllm], files)["secrets"] == result["secrets"]
    fixed = {"x.service": files["x.service"] + [("/etc/systemd/system/x.service.d/f.conf", dropin)]}
    assert auth_plan([vllm], fixed)["units"] == []


def test_vllm_api_key_with_odd_characters_is_left_to_a_human_and_never_quoted():
    vllm = on_loopback(catalog_runtime("vllm"))
    result = auth_plan([vllm], {"x.service": service(
        "ExecStart=/opt/vllm/bin/vllm serve m --api-key 'sk abc$x'\n")})
    assert result["units"] == [] and [item["kind"] for item in result["findings"]] == ["unsupported_unit"]
    assert "sk abc" not in json.dumps(result)
