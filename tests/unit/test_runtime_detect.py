"""plugins/module_utils/runtime_detect.py: processes, sockets, units, containers, packages and
binaries combine into the `runtimes` list driven only by the catalog; listeners are attributed to
the right runtime; exposure, auth and risky flags follow the evidence."""
import os

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import procfs
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_detect as rd
from ansible_collections.aihost.hardening.plugins.module_utils.container_api import (
    image_tag, normalise_image, parse_container_inspect, parse_container_summary)
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import load_catalog

CATALOG = load_catalog()[0]


def detect(root, containers=None, **kwargs):
    """Run the detection on a fixture root the way the module does."""
    warnings = []
    processes = procfs.scan_processes(root, warnings=warnings)
    ambient = procfs.read_details(processes[1], root)["container_id"] if 1 in processes else None
    view = rd.HostView(root=root, listeners=procfs.read_listeners(root), processes=processes,
                       containers=containers or {}, users=procfs.read_users(root), ambient_container=ambient)
    return rd.build_facts(view, CATALOG, units=rd.scan_units(CATALOG, root), pip=rd.scan_pip(CATALOG, root),
                          dpkg=rd.scan_dpkg(CATALOG, root), binaries=rd.scan_binaries(CATALOG, root),
                          warnings=warnings, **kwargs)


def by_port(facts):
    return dict(((item["protocol"], item["port"]), item) for item in facts["listeners"])


def runtimes_named(facts, name):
    return [item for item in facts["runtimes"] if item["name"] == name]


# ---------------------------------------------------------------- command lines

@pytest.mark.parametrize("cmdline, comm, expected", [
    (["/usr/local/bin/ollama", "serve"], "ollama", ["ollama", "ollama"]),
    (["python3", "/usr/local/bin/ollama", "serve"], "python3", ["python3", "python3", "ollama"]),
    (["/opt/jupyter/bin/python3", "-u", "/opt/jupyter/bin/jupyter-lab", "--ip", "0.0.0.0"], None,
     ["python3", "jupyter-lab"]),
    (["python3", "-m", "vllm.entrypoints.openai.api_server"], None,
     ["python3", "vllm.entrypoints.openai.api_server", "vllm"]),
    (["python3", "-X", "utf8", "koboldcpp.py"], None, ["python3", "koboldcpp.py", "koboldcpp"]),
    (["python3", "-c", "import x"], None, ["python3"]),
    (["vllm", "/usr/local/bin/llama-server"], None, ["vllm"]),
    ([], "kworker/0:1", ["kworker/0:1"]),
])
def test_program_names_see_through_interpreters(cmdline, comm, expected):
    assert rd.program_names(cmdline, comm) == expected


@pytest.mark.parametrize("cmdline, flag, expected", [
    (["x", "--host", "0.0.0.0"], "--host", (True, "0.0.0.0")),
    (["x", "--host=::1"], "--host", (True, "::1")),
    (["x", "--listen", "--port", "8188"], "--listen", (True, None)),
    (["x", "--listen"], "--listen", (True, None)),
    (["x", "--ServerApp.token="], "--ServerApp.token", (True, "")),
    (["x", "--ServerApp.token", ""], "--ServerApp.token", (True, "")),
    (["x", "--hostname", "a"], "--host", (False, None)),
])
def test_flags_are_found_in_both_spellings(cmdline, flag, expected):
    assert rd.find_flag(cmdline, flag) == expected


# ---------------------------------------------------------------- auth and risky flags

@pytest.mark.parametrize("name, cmdline, environ, enabled, evidence", [
    ("jupyter", ["jupyter-lab"], {}, True, "default: token"),
    ("jupyter", ["jupyter-lab", "--ServerApp.token="], {}, False, "flag --ServerApp.token is empty"),
    ("jupyter", ["jupyter-lab", "--NotebookApp.token=''"], {}, False, "flag --NotebookApp.token is empty"),
    ("jupyter", ["jupyter-lab", "--IdentityProvider.token", ""], {}, False, "flag --IdentityProvider.token is empty"),
    ("jupyter", ["jupyter-lab", "--ServerApp.token=", "--ServerApp.password=sha1:x"], {}, True, "--ServerApp.password"),
    ("vllm", ["vllm", "serve", "m"], {}, False, "default"),
    ("vllm", ["vllm", "serve", "m"], {"VLLM_API_KEY": "k"}, True, "env VLLM_API_KEY is set (partial"),
    ("vllm", ["vllm", "serve", "m", "--api-key", "k"], None, True, "flag --api-key is set"),
    ("llama_cpp", ["llama-server"], {"LLAMA_API_KEY": ""}, False, "default"),
    ("ollama", ["ollama", "serve"], {"OLLAMA_HOST": "0.0.0.0"}, False, "default: none"),
    ("open_webui", ["open-webui", "serve"], {"WEBUI_AUTH": "False"}, False, "env WEBUI_AUTH=False"),
    ("torchserve", ["torchserve", "--start", "--disable-token-auth"], {}, False, "flag --disable-token-auth is given"),
    ("ray", ["raylet"], {"RAY_AUTH_MODE": "token"}, True, "env RAY_AUTH_MODE=token"),
    ("weaviate", ["weaviate"], {"AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "true"}, False, "ANONYMOUS"),
])
def test_auth_follows_flags_env_and_documented_defaults(name, cmdline, environ, enabled, evidence):
    auth = rd.evaluate_auth(CATALOG[name], cmdline, environ)
    assert auth["enabled"] is enabled
    assert evidence in auth["evidence"]


def test_auth_can_be_turned_off_in_a_config_file():
    files = {"~/.jupyter/jupyter_server_config.py": "c = get_config()\nc.ServerApp.token = ''\n"}
    auth = rd.evaluate_auth(CATALOG["jupyter"], ["jupyter-lab"], {}, files.get)
    assert auth["enabled"] is False and "jupyter_server_config.py" in auth["evidence"]


def test_risky_flags_respect_values_auth_and_user():
    a1111 = CATALOG["a1111"]
    found = rd.find_risky(a1111, ["python", "launch.py", "--listen", "--share", "--disable-safe-unpickle"], {}, False)
    assert [item["flag"] for item in found] == ["--share", "--listen", "--disable-safe-unpickle"]
    # --listen is only risky without authentication
    found = rd.find_risky(a1111, ["python", "launch.py", "--listen", "--gradio-auth", "u:p"], {}, True)
    assert found == []
    ray = CATALOG["ray"]
    assert rd.find_risky(ray, ["ray", "start", "--dashboard-host=127.0.0.1"], {}, False) == []
    assert rd.find_risky(ray, ["ray", "start", "--dashboard-host", "0.0.0.0"], {}, False)[0]["value"] == "0.0.0.0"
    jupyter = CATALOG["jupyter"]
    assert rd.find_risky(jupyter, ["jupyter-lab", "--allow-root"], {}, True, run_as_root=False) == []
    assert rd.find_risky(jupyter, ["jupyter-lab", "--allow-root"], {}, True, run_as_root=True)
    ollama = CATALOG["ollama"]
    assert rd.find_risky(ollama, ["ollama"], {"OLLAMA_ORIGINS": "*"}, False)[0]["source"] == "env"
    assert rd.find_risky(ollama, ["ollama"], {"OLLAMA_ORIGINS": "http://localhost"}, False) == []


@pytest.mark.parametrize("path, expected", [
    ("~/.ollama/models", "/home/ai/.ollama/models"),
    ("$OLLAMA_MODELS", "/srv/models"),
    ("$OLLAMA_MODELS/blobs", "/srv/models/blobs"),
    ("$UNSET_VAR", None),
    ("models", "/opt/ComfyUI/models"),
    ("sqlite:////var/lib/mlflow/mlflow.db", "/var/lib/mlflow/mlflow.db"),
    ("sqlite:///mlflow.db", "/opt/ComfyUI/mlflow.db"),   # relative to the working directory
    ("s3://bucket/path", None),
])
def test_data_paths_expand_home_env_and_working_directory(path, expected):
    assert rd.expand_path(path, "/home/ai", {"OLLAMA_MODELS": "/srv/models"}, "/opt/ComfyUI") == expected


# ---------------------------------------------------------------- units

def test_unit_files_parse_like_systemd():
    text = "\n".join([
        "[Unit]", "Description=x", "User=notthis",
        "[Service]", "User=ollama",
        'Environment="OLLAMA_HOST=0.0.0.0:11434" OLLAMA_DEBUG=1',
        "ExecStart=/usr/local/bin/ollama serve",
        "ExecStart=",
        "ExecStart=-/usr/local/bin/ollama \\", "  serve --verbose",
        "WorkingDirectory=-/srv",
    ])
    unit = rd.parse_unit(text)
    assert unit["user"] == "ollama"
    assert unit["exec_start"] == ["/usr/local/bin/ollama", "serve", "--verbose"]
    assert unit["environment"] == {"OLLAMA_HOST": "0.0.0.0:11434", "OLLAMA_DEBUG": "1"}
    assert unit["working_directory"] == "/srv"


def test_working_directory_with_and_without_the_sandbox_dropin(tmp_path):
    """The effective WorkingDirectory= reads every drop-in; the unsandboxed one leaves out the
    service_users role's own aihost-sandbox.conf, so the role plans from the unit's own setting."""
    unit_dir = tmp_path / "etc/systemd/system"
    (unit_dir / "gradio.service.d").mkdir(parents=True)
    (unit_dir / "gradio.service").write_text("[Service]\nWorkingDirectory=/root\nExecStart=/opt/gradio/bin/python app.py\n")
    (unit_dir / "gradio.service.d" / "aihost-sandbox.conf").write_text("[Service]\nWorkingDirectory=/var/lib/gradio\n")
    unit = rd.read_unit("gradio.service", str(tmp_path))
    assert unit["working_directory"] == "/var/lib/gradio"
    assert unit["working_directory_unsandboxed"] == "/root"
    (unit_dir / "gradio.service.d" / "override.conf").write_text("[Service]\nWorkingDirectory=/srv/app\n")
    unit = rd.read_unit("gradio.service", str(tmp_path))
    # aihost-sandbox.conf sorts before override.conf, so the admin's override wins in both views.
    assert unit["working_directory"] == "/srv/app" and unit["working_directory_unsandboxed"] == "/srv/app"


def test_units_are_found_by_name_and_by_exec_start(fixture_tree):
    root = fixture_tree("procfs/debian12-standins")
    units = rd.scan_units(CATALOG, root)
    assert units["ollama.service"][0] == "ollama"
    assert units["ollama.service"][1]["dropins"] == ["/etc/systemd/system/ollama.service.d/override.conf"]
    assert units["ollama.service"][1]["environment"]["OLLAMA_HOST"] == "0.0.0.0:11434"
    # Transient units name nothing AI-related; their ExecStart does.
    assert units["llamacpp.service"][0] == "llama_cpp"
    assert units["comfyui.service"][0] == "comfyui"
    assert "plain-http.service" not in units and "udp-standin.service" not in units


def test_a_configured_but_stopped_unit_is_reported_with_no_exposure(tmp_path):
    unit_dir = tmp_path / "etc" / "systemd" / "system"
    (unit_dir / "qdrant.service.d").mkdir(parents=True)
    (unit_dir / "qdrant.service").write_text("[Service]\nExecStart=/usr/bin/qdrant\nUser=qdrant\n")
    (unit_dir / "qdrant.service.d" / "10-host.conf").write_text("[Service]\nEnvironment=QDRANT__SERVICE__API_KEY=x\n")
    (tmp_path / "proc" / "net").mkdir(parents=True)
    facts = detect(str(tmp_path))
    qdrant = runtimes_named(facts, "qdrant")
    assert len(qdrant) == 1
    assert qdrant[0]["detected_by"] == ["unit"] and qdrant[0]["exposure"] == "none"
    assert qdrant[0]["run_as"] == ["qdrant"]
    assert qdrant[0]["auth"]["enabled"] is True  # from the drop-in's Environment=


# ---------------------------------------------------------------- whole fixture trees

def test_debian12_listeners_are_attributed_like_ss_and_to_their_runtimes(fixture_tree):
    facts = detect(fixture_tree("procfs/debian12-standins"))
    listeners = by_port(facts)
    expected = {
        ("tcp", 7000): (92, "llama_cpp", "loopback", "mapped.service"),
        ("tcp", 8000): (117, "vllm", "all", "vllm-standin2.service"),
        ("tcp", 8080): (84, "llama_cpp", "loopback", "llamacpp.service"),
        ("tcp", 8188): (88, "comfyui", "all", "comfyui.service"),
        ("tcp", 11434): (None, "ollama", "all", None),
        ("tcp", 18888): (96, None, "all", "plain-http.service"),
        ("udp", 5355): (94, None, "loopback", "udp-standin.service"),
    }
    assert set(listeners) == set(expected)
    for key, (pid, runtime, scope, unit) in expected.items():
        item = listeners[key]
        assert (item["pid"], item["runtime"], item["scope"], item["unit"]) == (pid, runtime, scope, unit), key
        assert item["container"] is None  # we ran inside that container: it is the host here
    assert listeners[("tcp", 11434)]["attributed_by"] == "uid"
    assert listeners[("tcp", 11434)]["user"] == "ollama"
    assert any("listening socket" in warning and "owner process" in warning for warning in facts["warnings"])


def test_debian12_runtimes_carry_units_auth_risk_and_data(fixture_tree):
    facts = detect(fixture_tree("procfs/debian12-standins"))
    assert sorted(item["name"] for item in facts["runtimes"]) == ["comfyui", "llama_cpp", "llama_cpp", "ollama", "vllm"]
    ollama = runtimes_named(facts, "ollama")[0]
    assert ollama["detected_by"] == ["process", "unit", "socket"]
    assert ollama["exposure"] == "all" and ollama["run_as"] == ["ollama"]
    assert ollama["units"][0]["user"] == "ollama"
    assert ollama["data_paths"] == ["/usr/share/ollama/.ollama/models"]
    assert ollama["bind_knob"]["name"] == "OLLAMA_HOST"
    assert [item["flag"] for item in ollama["risky_flags"]] == ["OLLAMA_ORIGINS"]
    llama = dict((item["listen"][0]["port"], item) for item in runtimes_named(facts, "llama_cpp"))
    assert llama[8080]["auth"]["enabled"] is True and llama[7000]["auth"]["enabled"] is False
    assert llama[8080]["binaries"] == ["/usr/local/bin/llama-server"]
    comfy = runtimes_named(facts, "comfyui")[0]
    assert comfy["data_paths"] == ["/opt/ComfyUI/models"] and comfy["exposure"] == "all"
    assert comfy["risky_flags"][0]["flag"] == "--listen"
    vllm = runtimes_named(facts, "vllm")[0]
    assert [item["flag"] for item in vllm["risky_flags"]] == ["--trust-remote-code"]
    assert vllm["sandbox_profile"] == "jit"


def test_host_fixture_finds_the_ollama_standin_and_leaves_plain_servers_alone(fixture_tree):
    facts = detect(fixture_tree("procfs/host-http-servers"))
    listeners = by_port(facts)
    assert listeners[("tcp", 11434)]["runtime"] == "ollama"
    assert listeners[("tcp", 11434)]["scope"] == "loopback"
    for port in (18888, 18889, 18890, 18891, 18892):
        assert listeners[("tcp", port)]["runtime"] is None
    assert [item["name"] for item in facts["runtimes"]] == ["ollama"]
    assert facts["runtimes"][0]["exposure"] == "loopback"
    assert listeners[("tcp", 18892)]["scope"] == "specific"
    assert listeners[("udp", 18893)]["pid"] == listeners[("udp", 18894)]["pid"] == 3640


# ---------------------------------------------------------------- synthetic process tables

def process(pid, cmdline, ppid=1, uid=0, name=None, sockets=(), cwd=None, unit=None, container_id=None):
    return {"pid": pid, "name": name or os.path.basename(cmdline[0])[:15], "ppid": ppid, "uid": uid, "gid": uid,
            "cmdline": cmdline, "exe": None, "cwd": cwd, "unit": unit, "container_id": container_id,
            "container_runtime": "docker" if container_id else None, "sockets": set(sockets), "fd_readable": True}


def listener(port, inode, address="0.0.0.0", protocol="tcp", uid=0):
    family = "ipv6" if ":" in address else "ipv4"
    return {"protocol": protocol, "family": family, "address": address, "port": port,
            "scope": procfs.address_scope(address), "state": 10, "uid": uid, "inode": inode}


def build(processes, listeners, containers=None, environ=None, **kwargs):
    view = rd.HostView(root="/nonexistent", listeners=listeners,
                       processes=dict((p["pid"], p) for p in processes), containers=containers or {},
                       users={0: ("root", "/root"), 1000: ("ai", "/home/ai")},
                       environ_reader=(environ or {}).get)
    return rd.build_facts(view, CATALOG, **kwargs)


def test_a_listener_of_a_child_process_belongs_to_the_runtime_of_its_ancestor():
    # SYNTHETIC: Jupyter server (pid 10) starts a kernel (11) that opens port 7861 itself.
    facts = build([process(10, ["/opt/j/bin/python3", "/opt/j/bin/jupyter-lab"], uid=1000, sockets=[1]),
                   process(11, ["/opt/j/bin/python3", "-m", "ipykernel_launcher", "-f", "k.json"], ppid=10,
                           uid=1000, sockets=[2])],
                  [listener(8888, 1, "127.0.0.1"), listener(7861, 2)])
    assert [item["runtime"] for item in facts["listeners"]] == ["jupyter", "jupyter"]
    jupyter = facts["runtimes"][0]
    assert jupyter["exposure"] == "all" and [p["pid"] for p in jupyter["processes"]] == [10, 11]
    assert jupyter["run_as"] == ["ai"]


def test_prefork_workers_share_a_socket_and_the_parent_owns_it():
    facts = build([process(20, ["mlflow", "server", "--host", "0.0.0.0"], sockets=[5]),
                   process(21, ["python3", "-m", "gunicorn", "mlflow.server:app"], ppid=20, sockets=[5]),
                   process(22, ["python3", "-m", "gunicorn", "mlflow.server:app"], ppid=20, sockets=[5])],
                  [listener(5000, 5)])
    item = facts["listeners"][0]
    assert item["pid"] == 20 and item["pids"] == [20, 21, 22] and item["runtime"] == "mlflow"
    assert len(runtimes_named(facts, "mlflow")) == 1


def test_two_instances_of_one_runtime_are_reported_separately():
    facts = build([process(30, ["jupyter-lab"], uid=0, sockets=[1]),
                   process(31, ["jupyter-lab", "--port", "8889"], uid=1000, sockets=[2])],
                  [listener(8888, 1, "127.0.0.1"), listener(8889, 2)])
    instances = runtimes_named(facts, "jupyter")
    assert [(item["run_as"], item["exposure"]) for item in instances] == [(["root"], "loopback"), (["ai"], "all")]


def test_specific_runtimes_win_over_generic_gradio():
    # SYNTHETIC: an AUTOMATIC1111 webui (a Gradio app) with GRADIO_SERVER_NAME set, and a plain
    # Gradio script recognised only by its environment, and an anonymous one on Gradio's port.
    facts = build([process(40, ["python3", "launch.py", "--listen"], cwd="/srv/stable-diffusion-webui", sockets=[1]),
                   process(41, ["python3", "app.py"], sockets=[2]),
                   process(42, ["python3", "demo.py"], sockets=[3]),
                   process(43, ["python3", "-m", "http.server", "9000"], sockets=[4])],
                  [listener(7860, 1), listener(7861, 2), listener(7862, 3, "127.0.0.1"), listener(9000, 4)],
                  environ={40: {"GRADIO_SERVER_NAME": "0.0.0.0"}, 41: {"GRADIO_SERVER_NAME": "0.0.0.0"}})
    runtime_of = dict((item["port"], item["runtime"]) for item in facts["listeners"])
    assert runtime_of == {7860: "a1111", 7861: "gradio", 7862: None, 9000: None}
    facts = build([process(42, ["python3", "demo.py"], sockets=[3])], [listener(7860, 3, "127.0.0.1")])
    assert facts["listeners"][0]["runtime"] == "gradio"
    assert runtimes_named(facts, "gradio")[0]["detected_by"] == ["socket"]


CID = "ab" * 32


def test_a_published_container_port_maps_the_proxy_listener_to_the_runtime():
    # SYNTHETIC: the Docker Engine API answer (GET /containers/json) for `docker run -p 11434:11434
    # ollama/ollama:0.3.12`, and the docker-proxy listener on the host.
    summary = {"Id": CID, "Names": ["/ollama"], "Image": "ollama/ollama:0.3.12", "State": "running",
               "Ports": [{"IP": "0.0.0.0", "PrivatePort": 11434, "PublicPort": 11434, "Type": "tcp"},
                         {"IP": "::", "PrivatePort": 11434, "PublicPort": 11434, "Type": "tcp"}],
               "Mounts": [{"Source": "/var/lib/docker/volumes/ollama/_data", "Destination": "/root/.ollama"}]}
    container = parse_container_summary(summary, "docker")
    container.update(parse_container_inspect({"Config": {"Env": ["OLLAMA_HOST=0.0.0.0:11434", "PATH=/bin"],
                                                         "Entrypoint": ["/bin/ollama"], "Cmd": ["serve"]}}))
    facts = build([process(50, ["/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port",
                                "11434", "-container-ip", "172.17.0.2", "-container-port", "11434"],
                           name="docker-proxy", sockets=[9])],
                  [listener(11434, 9)], containers={CID: container})
    item = facts["listeners"][0]
    assert item["runtime"] == "ollama" and item["attributed_by"] == "published_port"
    assert item["container"] == {"id": CID, "name": "ollama", "image": "ollama/ollama:0.3.12"}
    ollama = runtimes_named(facts, "ollama")[0]
    assert ollama["detected_by"] == ["socket", "container"]
    assert ollama["exposure"] == "all"
    assert ollama["containers"][0]["published"][0]["host_port"] == 11434
    assert (ollama["version"], ollama["version_source"]) == ("0.3.12", "image:ollama/ollama:0.3.12")


def test_a_container_published_on_loopback_only_has_loopback_exposure():
    summary = {"Id": CID, "Names": ["/qdrant"], "Image": "docker.io/qdrant/qdrant:v1.12.0",
               "Ports": [{"IP": "127.0.0.1", "PrivatePort": 6333, "PublicPort": 6333, "Type": "tcp"},
                         {"PrivatePort": 6334, "Type": "tcp"}]}
    facts = build([], [], containers={CID: parse_container_summary(summary, "docker")})
    qdrant = runtimes_named(facts, "qdrant")[0]
    assert qdrant["exposure"] == "loopback" and qdrant["detected_by"] == ["container"]
    assert qdrant["version"] == "1.12.0"


def test_processes_inside_a_container_group_into_that_container():
    summary = {"Id": CID, "Names": ["/lab"], "Image": "python:3.11", "Ports": []}
    facts = build([process(60, ["python3", "/opt/j/bin/jupyter-server"], container_id=CID, unit="jupyter.service"),
                   process(61, ["vllm", "serve", "m"], container_id=CID)],
                  [], containers={CID: parse_container_summary(summary, "docker")})
    assert [(item["name"], item["containers"][0]["name"]) for item in facts["runtimes"]] == [("jupyter", "lab"), ("vllm", "lab")]
    assert facts["runtimes"][0]["exposure"] == "none"


@pytest.mark.parametrize("image, normalised, tag", [
    ("ollama/ollama", "ollama/ollama", None),
    ("docker.io/ollama/ollama:0.3.12", "ollama/ollama", "0.3.12"),
    ("docker.io/library/redis:7@sha256:abc", "redis", "7"),
    ("ghcr.io/open-webui/open-webui:main", "ghcr.io/open-webui/open-webui", "main"),
    ("localhost:5000/mirror/vllm/vllm-openai:v0.6.0", "localhost:5000/mirror/vllm/vllm-openai", "v0.6.0"),
])
def test_image_references_normalise(image, normalised, tag):
    assert normalise_image(image) == normalised and image_tag(image) == tag


# ---------------------------------------------------------------- packages, binaries, versions

def test_pip_versions_come_from_the_venv_the_process_runs_from(tmp_path):
    site = tmp_path / "opt" / "jupyter" / "lib" / "python3.11" / "site-packages"
    (site / "jupyter_server-2.21.1.dist-info").mkdir(parents=True)
    (site / "Jinja2-3.1.4.dist-info").mkdir()
    (tmp_path / "proc" / "net").mkdir(parents=True)
    view = rd.HostView(root=str(tmp_path), processes={70: process(70, ["/opt/jupyter/bin/python3", "/opt/jupyter/bin/jupyter-server"])},
                       environ_reader=lambda pid: None)
    pip = rd.scan_pip(CATALOG, str(tmp_path))
    facts = rd.build_facts(view, CATALOG, pip=pip)
    jupyter = runtimes_named(facts, "jupyter")[0]
    assert (jupyter["version"], jupyter["version_source"]) == ("2.21.1", "pip:jupyter-server")
    assert jupyter["packages"] == [{"manager": "pip", "name": "jupyter-server", "version": "2.21.1",
                                    "location": "/opt/jupyter/lib/python3.11/site-packages"}]
    assert jupyter["detected_by"] == ["process", "package"]
    facts = rd.build_facts(view, CATALOG, pip=pip, collect_versions=False)
    assert runtimes_named(facts, "jupyter")[0]["version"] is None


def test_installed_but_not_running_runtimes_are_listed(tmp_path):
    site = tmp_path / "opt" / "mlflow" / "lib" / "python3.11" / "site-packages"
    (site / "mlflow-3.18.0.dist-info").mkdir(parents=True)
    (tmp_path / "usr" / "local" / "bin").mkdir(parents=True)
    (tmp_path / "usr" / "local" / "bin" / "ollama").write_text("#!/bin/sh\n")
    (tmp_path / "proc" / "net").mkdir(parents=True)
    facts = detect(str(tmp_path))
    summary = dict((item["name"], (item["detected_by"], item["exposure"], item["version"])) for item in facts["runtimes"])
    assert summary == {"mlflow": (["package"], "none", "3.18.0"), "ollama": (["binary"], "none", None)}


def test_dpkg_status_gives_installed_versions_only():
    # SYNTHETIC excerpt in dpkg's status format (deb-control(5) fields).
    text = ("Package: qdrant\nStatus: install ok installed\nVersion: 1.12.0-1\n\n"
            "Package: milvus\nStatus: deinstall ok config-files\nVersion: 2.4.0\n\n"
            "Package: qdrant-client\nStatus: install ok installed\nVersion: 9\n")
    assert rd.parse_dpkg_status(text, ["qdrant", "milvus"]) == {"qdrant": "1.12.0-1"}


def test_version_command_runs_only_when_a_runner_is_given():
    calls = []

    def runner(argv, proc):
        calls.append(argv)
        return "0.12.3"

    processes = {80: process(80, ["/usr/local/bin/ollama", "serve"])}
    view = rd.HostView(root="/nonexistent", processes=processes, environ_reader=lambda pid: None)
    assert runtimes_named(rd.build_facts(view, CATALOG), "ollama")[0]["version"] is None
    view = rd.HostView(root="/nonexistent", processes=processes, environ_reader=lambda pid: None,
                       run_version_command=runner)
    ollama = runtimes_named(rd.build_facts(view, CATALOG), "ollama")[0]
    assert (ollama["version"], ollama["version_source"]) == ("0.12.3", "command")
    assert calls == [["ollama", "--version"]]


def test_user_catalog_entries_detect_new_runtimes_without_code():
    catalog = load_catalog({"acme_llm": {"display_name": "ACME", "match": {"processes": [{"argv": ["acme-llm"]}]},
                                         "default_ports": [9400],
                                         "bind_knob": {"kind": "flag", "name": "--bind", "loopback_value": "127.0.0.1"}}})[0]
    view = rd.HostView(root="/nonexistent", listeners=[listener(9400, 1)],
                       processes={90: process(90, ["/usr/bin/acme-llm"], sockets=[1])}, environ_reader=lambda pid: None)
    facts = rd.build_facts(view, catalog)
    assert facts["listeners"][0]["runtime"] == "acme_llm"
    assert facts["runtimes"][0]["bind_knob"]["name"] == "--bind"


def test_published_ports_go_to_the_runtime_listening_behind_them(tmp_path):
    # SYNTHETIC /proc/<pid>/net/tcp of a container (tcp4_seq_show format): Jupyter on 0.0.0.0:8888
    # (inode 11) and a Gradio app on 0.0.0.0:7860 (inode 12); only 8888 is published, on loopback.
    # Verified against a real aihost-debian12-lab container the same way (see the H1 report).
    net = tmp_path / "proc" / "60" / "net"
    net.mkdir(parents=True)
    (net / "tcp").write_text("\n".join([
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
        "   0: 00000000:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 11 1 0 100 0 0 10 0",
        "   1: 00000000:1EB4 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12 1 0 100 0 0 10 0",
        ""]))
    summary = {"Id": CID, "Names": ["/lab"], "Image": "aihost-debian12-lab",
               "Ports": [{"IP": "127.0.0.1", "PrivatePort": 8888, "PublicPort": 18888, "Type": "tcp"},
                         {"PrivatePort": 7860, "Type": "tcp"}]}
    processes = [process(60, ["/opt/jupyter/bin/python3", "/opt/jupyter/bin/jupyter-server", "--ip", "0.0.0.0"],
                         uid=1000, container_id=CID, sockets=[11]),
                 process(61, ["/opt/gradio/bin/python", "/root/app.py"], container_id=CID, sockets=[12]),
                 process(70, ["/usr/bin/docker-proxy", "-host-port", "18888"], name="docker-proxy", sockets=[13])]
    view = rd.HostView(root=str(tmp_path), listeners=[listener(18888, 13, "127.0.0.1")],
                       processes=dict((p["pid"], p) for p in processes),
                       containers={CID: parse_container_summary(summary, "docker")},
                       environ_reader={61: {"GRADIO_SERVER_NAME": "0.0.0.0"}}.get)
    facts = rd.build_facts(view, CATALOG)
    assert facts["listeners"][0]["runtime"] == "jupyter"
    assert facts["listeners"][0]["container"]["name"] == "lab"
    jupyter, gradio = runtimes_named(facts, "jupyter")[0], runtimes_named(facts, "gradio")[0]
    assert jupyter["exposure"] == "loopback"
    assert [p["host_port"] for p in jupyter["containers"][0]["published"]] == [18888]
    assert [l["port"] for l in jupyter["listen"]] == [18888]
    assert [l["port"] for l in jupyter["container_listen"]] == [8888]
    assert gradio["exposure"] == "none" and gradio["containers"][0]["published"] == []
    assert gradio["listen"] == []
    assert [(l["port"], l["scope"]) for l in gradio["container_listen"]] == [(7860, "all")]


def test_user_patterns_that_cannot_be_combined_still_match():
    # A backreference numbers groups: combined into one alternation it would point elsewhere.
    catalog = load_catalog({"echo_server": {"display_name": "Echo", "match": {"processes": [{"cmdline": r"(echo)-\1"}]}},
                            "shouty": {"display_name": "Shouty", "match": {"processes": [{"cmdline": r"(?i)SHOUT-SERVER"}]}}})[0]
    matcher = rd.ProcessMatcher(catalog)
    assert matcher.match(process(1, ["/usr/bin/echo-echo"])) == "echo_server"
    assert matcher.match(process(2, ["/usr/bin/shout-server"])) == "shouty"
    assert matcher.match(process(3, ["/usr/bin/echo-other"])) is None


def test_unowned_sockets_warning_says_what_is_unknown():
    """Root already sees every process: the warning must not ask for root, but name the sockets and
    the causes left (kernel, another PID namespace, no CAP_SYS_PTRACE); a non-root audit is told to
    run as root. Counts read as English."""
    one = [{"protocol": "tcp", "address": "0.0.0.0", "port": 2024, "uid": 0}]
    as_root = rd.unowned_sockets_warning(one, 0)
    assert as_root.startswith("1 listening socket has no owner process, even to root: tcp 0.0.0.0:2024 (uid 0).")
    assert "need root" not in as_root and "--become" not in as_root
    assert "kernel" in as_root and "another PID namespace" in as_root and "CAP_SYS_PTRACE" in as_root
    two = one + [{"protocol": "udp", "address": "::", "port": 51820, "uid": None}]
    as_user = rd.unowned_sockets_warning(two, 1000)
    assert as_user.startswith("2 listening sockets have no visible owner process: tcp 0.0.0.0:2024 (uid 0), udp [::]:51820 (uid ?).")
    assert "uid 1000" in as_user and "--become" in as_user
