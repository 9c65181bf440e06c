"""Unit tests for what the updates role runs on targets: aihost-updater (runtime updates, its logic in
plugins/module_utils/updater.py) and aihost-reboot-gate (reboot_gate.py). Pure parsing and decisions are fed
literal text; the binary update path runs end to end against an HTTP server on 127.0.0.1."""
import functools
import hashlib
import http.server
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import threading

import pytest

from test_fs_trust import make_dir, make_file, root_tree  # noqa: F401 pylint: disable=unused-import

from ansible_collections.aihost.hardening.plugins.module_utils import reboot_gate as gate
from ansible_collections.aihost.hardening.plugins.module_utils import updater
from ansible_collections.aihost.hardening.plugins.module_utils import versions


# ------------------------------------------------------------------ versions and decisions
def test_the_updater_compares_with_the_collections_one_comparator():
    # module_utils/versions.py (table-tested in test_versions.py), not a copy of its own.
    assert updater.versions is versions


@pytest.mark.parametrize("current,available,expected", [
    # A release candidate is not an update of its own release, and the release is one of the rc.
    ("0.5.0", "0.5.0rc1", "up_to_date"), ("0.5.0rc1", "0.5.0", "change"),
    # A post-release fixes its release: it is an update.
    ("0.8.5", "0.8.5.post1", "change"), ("0.8.5.post1", "0.8.5", "up_to_date"),
    ("2.21.1", "2.21.0", "up_to_date"), ("v0.12.3", "0.12.10", "change"),
])
def test_decide_uses_release_semantics(current, available, expected):
    assert updater.decide(current, available, pinned=False) == expected


def test_decide_never_downgrades_unless_pinned():
    assert updater.decide("2.21.0", "2.21.1", pinned=False) == "change"
    assert updater.decide("2.21.1", "2.21.1", pinned=False) == "up_to_date"
    # A newer pre-release installed by hand is not "updated" to the older latest stable...
    assert updater.decide("2.22.0", "2.21.1", pinned=False) == "up_to_date"
    # ...but an explicit target or constraint that excludes it is honoured.
    assert updater.decide("2.22.0", "2.21.1", pinned=True) == "change"
    assert updater.decide("2.21.1", None, pinned=False) == "up_to_date"


def test_extract_version_from_command_output():
    assert updater.extract_version("Warning: could not connect\nollama version is 0.12.3\n") == "0.12.3"
    assert updater.extract_version("version: 4567 (abc1234)") is None
    assert updater.extract_version("llama.cpp v1.2.3-rc1") == "1.2.3-rc1"


def test_parse_latest_release_feeds():
    assert updater.parse_latest(b'{"tag_name": "v0.12.3", "name": "v0.12.3"}') == "0.12.3"
    assert updater.parse_latest('[{"version": "1.4.0"}]') == "1.4.0"
    assert updater.parse_latest("0.13.0\n") == "0.13.0"
    assert updater.parse_latest('{"message": "rate limited"}') is None


def test_parse_sha256_file():
    digest = "a" * 64
    text = "%s  ollama-linux-amd64.tgz\n%s *ollama-linux-arm64.tgz\n" % (digest, "b" * 64)
    assert updater.parse_sha256_file(text, "ollama-linux-amd64.tgz") == digest
    assert updater.parse_sha256_file(text, "ollama-linux-arm64.tgz") == "b" * 64
    assert updater.parse_sha256_file(text, "other.tgz") is None
    assert updater.parse_sha256_file(digest + "\n", "anything") == digest


def test_parse_pip_outputs():
    report = json.dumps({"install": [{"metadata": {"name": "Jupyter_Server", "version": "2.21.1"}}]})
    assert updater.parse_pip_report(report, "jupyter-server") == "2.21.1"
    assert updater.parse_pip_report("not json", "x") is None
    assert updater.parse_pip_index_versions("jupyter-server (2.21.1)\nAvailable versions: 2.21.1, 2.21.0\n") == "2.21.1"
    pins = updater.parse_pip_freeze("Jupyter_Server==2.21.0\npip==23.0.1\n-e git+https://x#egg=y\nfoo @ file:///x\n")
    assert pins == {"jupyter-server": "Jupyter_Server==2.21.0", "pip": "pip==23.0.1"}
    assert updater.pip_requirement("vllm", constraint="<0.12") == "vllm<0.12"
    assert updater.pip_requirement("vllm", version="0.11.2") == "vllm==0.11.2"


@pytest.mark.parametrize("name,ok", [
    ("bin/ollama", True), ("./lib/ollama/x.so", True), ("../etc/passwd", False),
    ("/usr/bin/x", False), ("lib/../../x", False), ("", False),
])
def test_safe_member(name, ok):
    assert updater.safe_member(name) is ok


@pytest.mark.parametrize("now,start,end,inside", [
    ("03:30", "03:00", "05:00", True), ("05:00", "03:00", "05:00", False),
    ("23:30", "23:00", "01:00", True), ("00:30", "23:00", "01:00", True), ("12:00", "23:00", "01:00", False),
    ("12:00", "00:00", "00:00", True),
])
def test_in_window(now, start, end, inside):
    assert gate.in_window(now, start, end) is inside


# ------------------------------------------------------------------ containers
def test_split_image_ref():
    assert updater.split_image_ref("ollama/ollama:0.12.3") == ("ollama/ollama", "0.12.3")
    assert updater.split_image_ref("ollama/ollama") == ("ollama/ollama", "latest")
    assert updater.split_image_ref("registry:5000/team/app") == ("registry:5000/team/app", "latest")
    assert updater.split_image_ref("ghcr.io/x/y@sha256:abc") == ("ghcr.io/x/y", None)


def test_recreate_body_drops_image_defaults_and_keeps_data():
    """The new image's own Env/Cmd apply; the operator's settings, volumes and networks carry over."""
    inspect = {
        "Id": "0123456789abcdef",
        "Config": {"Hostname": "0123456789ab", "Image": "ollama/ollama:0.12.2",
                   "Env": ["PATH=/usr/bin", "OLLAMA_HOST=127.0.0.1:11434"], "Cmd": ["serve"],
                   "Labels": {"org.opencontainers.image.version": "0.12.2", "team": "ml"},
                   "ExposedPorts": {"11434/tcp": {}}},
        "HostConfig": {"Binds": ["/srv/models:/root/.ollama/models"], "RestartPolicy": {"Name": "always"}},
        "Mounts": [{"Type": "bind", "Destination": "/root/.ollama/models"},
                   {"Type": "volume", "Name": "f00d", "Destination": "/cache", "RW": True}],
        "NetworkSettings": {"Networks": {"ai": {"Aliases": ["ollama"], "IPAddress": "172.18.0.2", "NetworkID": "n"}}},
    }
    old_image = {"Env": ["PATH=/usr/bin"], "Cmd": ["serve"], "Labels": {"org.opencontainers.image.version": "0.12.2"},
                 "ExposedPorts": {"11434/tcp": {}}}
    body = updater.recreate_body(inspect, old_image, "ollama/ollama:latest")
    assert body["Image"] == "ollama/ollama:latest"
    assert body["Env"] == ["OLLAMA_HOST=127.0.0.1:11434"]
    assert "Cmd" not in body and "Hostname" not in body
    assert body["Labels"] == {"team": "ml"}
    assert body["HostConfig"]["Binds"] == ["/srv/models:/root/.ollama/models", "f00d:/cache"]
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "always"}
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"ai": {"Aliases": ["ollama"]}}}


# ------------------------------------------------------------------ binary runtime, end to end
def _fake_release(version):
    """tgz laid out like Ollama's: bin/<exe> (prints its version) and lib/<name>/marker."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, mode in (
                ("bin/fakeai", ("#!/bin/sh\necho 'fakeai version is %s'\n" % version).encode(), 0o755),
                ("lib/fakeai/marker", version.encode(), 0o644)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def release_server(tmp_path):
    root = tmp_path / "www"
    (root / "v2.0.0").mkdir(parents=True)
    archive = _fake_release("2.0.0")
    (root / "v2.0.0" / "fakeai-linux.tgz").write_bytes(archive)
    (root / "v2.0.0" / "sha256sum.txt").write_text("%s  fakeai-linux.tgz\n" % hashlib.sha256(archive).hexdigest())
    (root / "latest.json").write_text('{"tag_name": "v2.0.0"}')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1], root
    server.shutdown()


def _install_v1(prefix):
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "fakeai").mkdir(parents=True)
    exe = prefix / "bin" / "fakeai"
    exe.write_text("#!/bin/sh\necho 'fakeai version is 1.0.0'\n")
    exe.chmod(0o755)
    (prefix / "lib" / "fakeai" / "marker").write_text("1.0.0")
    (prefix / "lib" / "fakeai" / "only-in-v1").write_text("x")


def _binary_cfg(tmp_path, base, prefix, **binary):
    cfg = {"name": "fakeai", "kind": "binary", "policy": "apply", "unit": None,
           "status_dir": str(tmp_path / "status"), "health": {},
           "binary": dict({"path": str(prefix / "bin" / "fakeai"), "install_prefix": str(prefix),
                           "version_command": [str(prefix / "bin" / "fakeai")],
                           "latest_url": base + "/latest.json",
                           "url": base + "/v{version}/fakeai-linux.tgz",
                           "sha256_url": base + "/v{version}/sha256sum.txt",
                           "archive_members": ["bin/fakeai", "lib/fakeai"]}, **binary)}
    os.makedirs(cfg["status_dir"])
    return cfg, prefix


@pytest.fixture
def prefix(root_tree):
    """The install prefix: root's all the way up, as the updater requires before it runs anything."""
    return pathlib.Path(root_tree) / "usr-local"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(updater.time, "sleep", lambda seconds: None)


def test_binary_notify_reports_and_changes_nothing(tmp_path, release_server, prefix):
    base = release_server[0]
    cfg, prefix = _binary_cfg(tmp_path, base, prefix)
    cfg["policy"] = "notify"
    _install_v1(prefix)
    code, status = updater.execute(cfg, "run")
    assert (code, status["result"], status["current"], status["available"]) == (0, "update_available", "1.0.0", "2.0.0")
    assert (prefix / "lib" / "fakeai" / "marker").read_text() == "1.0.0"


def test_binary_update_verifies_installs_and_rolls_back(tmp_path, release_server, prefix):
    base = release_server[0]
    cfg, prefix = _binary_cfg(tmp_path, base, prefix)
    _install_v1(prefix)
    code, status = updater.execute(cfg, "run")
    assert code == 0, status
    assert (status["result"], status["previous"], status["current"]) == ("updated", "1.0.0", "2.0.0")
    assert (prefix / "lib" / "fakeai" / "marker").read_text() == "2.0.0"
    # The whole member directory was swapped, not merged.
    assert not (prefix / "lib" / "fakeai" / "only-in-v1").exists()
    # The previous files were kept; --rollback puts them back.
    code, status = updater.execute(cfg, "rollback")
    assert code == 0, status
    assert (status["result"], status["current"]) == ("rolled_back", "1.0.0")
    assert (prefix / "lib" / "fakeai" / "only-in-v1").exists()


def test_binary_checksum_mismatch_installs_nothing(tmp_path, release_server, prefix):
    base, root = release_server
    (root / "v2.0.0" / "sha256sum.txt").write_text("%s  fakeai-linux.tgz\n" % ("0" * 64))
    cfg, prefix = _binary_cfg(tmp_path, base, prefix)
    _install_v1(prefix)
    code, status = updater.execute(cfg, "run")
    assert code == 1
    # Nothing was changed, so there is nothing to roll back (an older kept state must not come back).
    assert status["result"] == "failed"
    assert "failed before anything changed" in status["message"]
    assert "SHA-256 mismatch" in status["message"]
    assert (prefix / "lib" / "fakeai" / "marker").read_text() == "1.0.0"
    assert (prefix / "lib" / "fakeai" / "only-in-v1").exists()


def test_binary_without_checksum_source_is_refused(tmp_path, release_server, prefix):
    base = release_server[0]
    cfg, prefix = _binary_cfg(tmp_path, base, prefix, sha256_url=None)
    _install_v1(prefix)
    code, status = updater.execute(cfg, "run")
    assert code == 1
    assert status["result"] == "failed"
    assert "refusing an unverified download" in status["message"]
    assert (prefix / "lib" / "fakeai" / "marker").read_text() == "1.0.0"


def test_failed_health_check_rolls_the_binary_back(tmp_path, release_server, prefix):
    base = release_server[0]
    cfg, prefix = _binary_cfg(tmp_path, base, prefix)
    # Nothing listens on port 1 of loopback: the health check fails after the update.
    cfg["health"] = {"host": "127.0.0.1", "port": 1, "timeout": 0}
    _install_v1(prefix)
    code, status = updater.execute(cfg, "run")
    assert code == 1
    assert status["result"] == "rolled_back", status
    assert status["current"] == "1.0.0" and status["available"] == "2.0.0"
    assert (prefix / "lib" / "fakeai" / "marker").read_text() == "1.0.0"


def test_archive_escaping_the_prefix_is_rejected(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    archive = tmp_path / "evil.tgz"
    archive.write_bytes(buf.getvalue())
    runtime = updater.BinaryRuntime({"name": "x", "status_dir": str(tmp_path), "binary": {"path": "/usr/local/bin/x"}}, {})
    with pytest.raises(updater.UpdateError):
        runtime._extract(str(archive), "tgz", str(tmp_path / "staging"))
    assert not (tmp_path.parent / "evil").exists()


def test_config_errors_name_the_problem(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "x", "kind": "pip", "policy": "yolo", "status_dir": str(tmp_path)}))
    with pytest.raises(updater.ConfigError, match="policy 'yolo'"):
        updater.load_config(str(path))


# ------------------------------------------------------------------ reboot gate
def test_gate_decisions():
    cfg = {"window_start": "00:00", "window_end": "00:00"}
    job = [{"pid": 42, "comm": "python3", "source": "nvidia-smi"}]
    assert gate.decide(cfg, "12:00", False, [], []) == ("not_required", False)
    assert gate.decide(cfg, "12:00", True, ["apt-daily-upgrade.service"], []) == ("deferred_updates_running", False)
    assert gate.decide(cfg, "12:00", True, [], job) == ("deferred_gpu_busy", False)
    assert gate.decide(dict(cfg, force=True), "12:00", True, [], job) == ("rebooting_forced", True)
    assert gate.decide(cfg, "12:00", True, [], []) == ("rebooting", True)
    assert gate.decide({"window_start": "03:00", "window_end": "05:00"}, "12:00", True, [], []) == ("outside_window", False)


def test_gate_finds_processes_holding_gpu_device_nodes(tmp_path):
    """A fake /proc: pid 100 holds /dev/nvidia0 and /dev/nvidia-uvm (a CUDA job), pid 200 only
    /dev/nvidiactl, pid 300 is nvidia-persistenced (ignored), pid 400 holds a render node."""
    layout = {100: ("python3", ["/dev/nvidia0", "/dev/nvidia-uvm", "/dev/null"]),
              200: ("nvidia-smi", ["/dev/nvidiactl"]),
              300: ("nvidia-persistenced", ["/dev/nvidia0"]),
              400: ("Xorg", ["/dev/dri/renderD128"])}
    for pid, (comm, targets) in layout.items():
        fd_dir = tmp_path / str(pid) / "fd"
        fd_dir.mkdir(parents=True)
        (tmp_path / str(pid) / "comm").write_text(comm + "\n")
        for number, target in enumerate(targets):
            os.symlink(target, str(fd_dir / str(number)))
    (tmp_path / "self").mkdir()
    holders = gate.device_holders(str(tmp_path), gate.DEFAULT_DEVICE_PATTERNS, {"nvidia-persistenced"})
    assert sorted(holders) == [100]
    assert holders[100] == {"comm": "python3", "devices": ["/dev/nvidia-uvm", "/dev/nvidia0"]}


def test_gate_parses_nvidia_smi_compute_apps():
    assert gate.parse_compute_apps("4242, python3\n4250, /usr/bin/ollama\n") == [4242, 4250]
    assert gate.parse_compute_apps("No running processes found\n") == []


# ------------------------------------------------------------------ hostile host (issue #16)
def _planted(path, uid=0, mode=0o755, marker=None):
    """A fake runtime binary that prints a version and, when run, leaves ``marker`` behind."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n%secho 'fakeai version is 1.0.0'\n" % ("touch %s\n" % marker if marker else ""))
    os.chown(path, uid, uid)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("case", ["user-owned binary", "root binary in a user-owned directory",
                                  "group-writable binary", "symlink from a root directory into a user directory"])
def test_updater_never_runs_a_binary_another_user_can_change(tmp_path, root_tree, case):
    marker = tmp_path / "pwned"
    home = make_dir(os.path.join(root_tree, "home", "bob"), uid=1000)
    bindir = make_dir(os.path.join(root_tree, "usr-local", "bin"))
    if case == "user-owned binary":
        exe = _planted(os.path.join(bindir, "fakeai"), uid=1000, marker=marker)
        why = "%s is owned by uid 1000" % exe
    elif case == "root binary in a user-owned directory":
        exe = _planted(os.path.join(home, "fakeai"), marker=marker)
        why = "%s is owned by uid 1000" % home
    elif case == "group-writable binary":
        exe = _planted(os.path.join(bindir, "fakeai"), mode=0o775, marker=marker)
        why = "%s is writable by group (mode 0775)" % exe
    else:
        exe = os.path.join(bindir, "fakeai")
        os.symlink(_planted(os.path.join(home, "fakeai"), marker=marker), exe)
        why = "%s is owned by uid 1000" % home
    cfg = {"name": "fakeai", "kind": "binary", "policy": "notify", "unit": None, "health": {},
           "status_dir": str(tmp_path / "status"), "binary": {"path": exe, "version": "2.0.0"}}
    os.makedirs(cfg["status_dir"])
    for mode in ("run", "check", "rollback"):
        code, status = updater.execute(cfg, mode)
        assert (code, status["result"]) == (1, "error")
        assert status["message"] == ("the version command of fakeai (%s --version) not run as root: %s "
                                     "(root never runs a file another user can change)" % (exe, why))
    assert not marker.exists()


def test_updater_runs_a_root_only_binary(tmp_path, root_tree):
    marker = tmp_path / "ran"
    exe = _planted(os.path.join(make_dir(os.path.join(root_tree, "opt", "bin")), "fakeai"), marker=marker)
    cfg = {"name": "fakeai", "kind": "binary", "policy": "notify", "unit": None, "health": {},
           "status_dir": str(tmp_path / "status"), "binary": {"path": exe, "version": "2.0.0"}}
    os.makedirs(cfg["status_dir"])
    code, status = updater.execute(cfg, "run")
    assert (code, status["result"], status["current"]) == (0, "update_available", "1.0.0")
    assert marker.exists()


def _venv(root, python_uid=0, pth_uid=None):
    venv = make_dir(os.path.join(root, "venv"))
    make_dir(os.path.join(venv, "bin"))
    site = make_dir(os.path.join(venv, "lib", "python3.11", "site-packages"))
    python = os.path.join(venv, "bin", "python")
    os.symlink(_planted(os.path.join(root, "python3-real"), uid=python_uid), python)
    if pth_uid is not None:
        make_file(os.path.join(site, "evil.pth"), uid=pth_uid, mode=0o644)
    return venv


@pytest.mark.parametrize("case", ["user-owned interpreter", "user-owned .pth file", "venv in a user's directory"])
def test_updater_never_runs_pip_as_root_from_a_venv_another_user_can_change(tmp_path, root_tree, case, monkeypatch):
    ran = []
    monkeypatch.setattr(updater, "run", lambda argv, **kwargs: ran.append(argv) or (0, "Version: 1.0\n", ""))
    if case == "user-owned interpreter":
        venv = _venv(root_tree, python_uid=1000)
        why = "%s is owned by uid 1000" % os.path.join(root_tree, "python3-real")
    elif case == "user-owned .pth file":
        venv = _venv(root_tree, pth_uid=1000)
        why = "%s is owned by uid 1000" % os.path.join(venv, "lib", "python3.11", "site-packages", "evil.pth")
    else:
        home = make_dir(os.path.join(root_tree, "home", "bob"), uid=1000)
        venv = _venv(home)
        why = "%s is owned by uid 1000" % home
    runtime = updater.PipRuntime({"name": "jupyter", "status_dir": str(tmp_path),
                                  "pip": {"venv": venv, "package": "jupyterlab"}}, {})
    assert runtime.user[0] == 0  # the venv is root's, so pip would run as root
    with pytest.raises(updater.UpdateError) as caught:
        runtime.current()
    assert str(caught.value) == ("pip of jupyter (%s/bin/python) not run as root: %s "
                                 "(root never runs a file another user can change)" % (venv, why))
    assert ran == []


def test_updater_runs_pip_from_a_root_only_venv(tmp_path, root_tree, monkeypatch):
    ran = []
    monkeypatch.setattr(updater, "run", lambda argv, **kwargs: ran.append(argv) or (0, "Version: 1.0\n", ""))
    venv = _venv(root_tree)
    make_file(os.path.join(venv, "lib", "python3.11", "site-packages", "distutils-precedence.pth"), mode=0o644)
    runtime = updater.PipRuntime({"name": "jupyter", "status_dir": str(tmp_path),
                                  "pip": {"venv": venv, "package": "jupyterlab"}}, {})
    assert runtime.current() == "1.0"
    assert ran == [[os.path.join(venv, "bin", "python"), "-m", "pip", "show", "jupyterlab"]]


def test_updater_installs_nothing_into_a_directory_another_user_can_change(tmp_path, release_server, prefix):
    base = release_server[0]
    cfg, prefix = _binary_cfg(tmp_path, base, prefix)
    _install_v1(prefix)
    os.chown(str(prefix / "lib" / "fakeai"), 1000, 1000)
    os.chown(str(prefix / "lib"), 1000, 1000)
    code, status = updater.execute(cfg, "run")
    assert (code, status["result"]) == (1, "failed")
    assert status["message"].endswith("not installing lib/fakeai into %s: %s is owned by uid 1000" % (
        prefix, prefix / "lib"))
    assert (prefix / "lib" / "fakeai" / "marker").read_text() == "1.0.0"
    assert not os.path.exists(os.path.join(cfg["status_dir"], "fakeai", "previous"))


# ------------------------------------------------------------------ archives
def _tar(path, entries):
    """Write a tar.gz of entries: (name, type, linkname-or-data, mode)."""
    with tarfile.open(str(path), "w:gz") as tar:
        for name, kind, value, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if kind == "file":
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE, "chardev": tarfile.CHRTYPE}[kind]
            info.linkname = value or ""
            tar.addfile(info)
    return str(path)


@pytest.fixture(params=["data filter", "no data filter"])
def extraction(request, monkeypatch):
    """Every archive test runs with tarfile's 'data' filter and without it (older Pythons)."""
    if request.param == "data filter" and not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python has no tarfile data filter")
    monkeypatch.setattr(updater, "HAS_DATA_FILTER", request.param == "data filter", raising=False)
    return request.param


def _unpack(tmp_path, entries):
    work = tmp_path / "w" / "x"
    staging = work / "staging"
    staging.mkdir(parents=True)
    archive = _tar(work / "download.tgz", entries)
    runtime = updater.BinaryRuntime({"name": "x", "status_dir": str(tmp_path), "binary": {"path": "/usr/local/bin/x"}}, {})
    runtime._extract(archive, "tgz", str(staging))
    return staging


GOOD = ("bin/ollama", "file", b"#!/bin/sh\n", 0o755)


@pytest.mark.parametrize("entries,why", [
    ([GOOD, ("../../evil", "file", b"x", 0o644)], "its name is absolute or climbs out with .."),
    ([GOOD, ("lib/../../../evil", "file", b"x", 0o644)], "its name is absolute or climbs out with .."),
    ([GOOD, ("/tmp/evil", "file", b"x", 0o644)], "its name is absolute or climbs out with .."),
    ([GOOD, ("lib/etc", "symlink", "/etc", 0o777)], "it is a symlink to the absolute path /etc"),
    ([GOOD, ("lib/up", "symlink", "../../..", 0o777)], "it is a symlink to ../../.., outside the target"),
    # A hard link's target is relative to the archive root: from lib/ollama/deep/ this one
    # normalises to lib/etc/shadow relative to the member, but it names <staging>/../../etc/shadow.
    ([GOOD, ("lib/ollama/deep/shadow", "hardlink", "../../etc/shadow", 0o644)],
     "it is a hard link to ../../etc/shadow, outside the target"),
    ([GOOD, ("lib/passwd", "hardlink", "/etc/passwd", 0o644)], "it is a hard link to /etc/passwd, outside the target"),
    ([GOOD, ("lib/fifo", "fifo", None, 0o644)], "it is a device node or FIFO"),
    ([GOOD, ("lib/null", "chardev", None, 0o666)], "it is a device node or FIFO"),
])
def test_archives_that_escape_or_carry_devices_are_refused_before_anything_is_unpacked(
        tmp_path, extraction, entries, why):
    shadow = tmp_path / "w" / "etc" / "shadow"
    shadow.parent.mkdir(parents=True)
    shadow.write_text("root:secret\n")
    with pytest.raises(updater.UpdateError) as caught:
        _unpack(tmp_path, entries)
    assert str(caught.value) == "archive member %s refused: %s" % (entries[-1][0], why)
    staging = tmp_path / "w" / "x" / "staging"
    assert os.listdir(str(staging)) == []  # the good member before it was not unpacked either
    assert not (tmp_path / "evil").exists() and not (tmp_path / "w" / "evil").exists()
    assert shadow.stat().st_nlink == 1


def test_a_symlink_chain_that_escapes_only_once_unpacked_is_refused(tmp_path, extraction):
    # q -> . (inside); p -> q/x/../.. looks like "." by name, but q/x/.. is the target itself, so
    # p is its parent; p/evil would land outside. Caught when p is about to be unpacked.
    with pytest.raises(updater.UpdateError) as caught:
        _unpack(tmp_path, [("q", "symlink", ".", 0o777), ("p", "symlink", "q/x/../..", 0o777),
                           ("p/evil", "file", b"x", 0o644)])
    assert str(caught.value) == "archive member p refused: it is a symlink to q/x/../.., outside the target"
    assert not (tmp_path / "w" / "x" / "evil").exists()


def test_a_well_formed_archive_with_links_inside_unpacks_root_only_writable(tmp_path, extraction):
    staging = _unpack(tmp_path, [
        ("bin", "dir", None, 0o777), ("bin/ollama", "file", b"#!/bin/sh\n", 0o4777),
        ("lib/ollama/libfoo.so.1.2", "file", b"elf", 0o664),
        ("lib/ollama/libfoo.so.1", "symlink", "libfoo.so.1.2", 0o777),
        ("lib/ollama/libfoo.so", "hardlink", "lib/ollama/libfoo.so.1.2", 0o664),
        ("lib/ollama/cuda/libbar.so", "symlink", "../libfoo.so.1", 0o777)])
    assert os.readlink(str(staging / "lib" / "ollama" / "libfoo.so.1")) == "libfoo.so.1.2"
    assert os.path.samefile(str(staging / "lib" / "ollama" / "libfoo.so"), str(staging / "lib" / "ollama" / "libfoo.so.1.2"))
    assert (staging / "lib" / "ollama" / "cuda" / "libbar.so").read_bytes() == b"elf"
    assert stat_mode(staging / "bin" / "ollama") == 0o755  # no setuid, no group/other write
    assert stat_mode(staging / "bin") == 0o755
    assert stat_mode(staging / "lib" / "ollama" / "libfoo.so.1.2") == 0o644


def stat_mode(path):
    return os.stat(str(path)).st_mode & 0o7777


# ------------------------------------------------------------------ reboot gate: maximum deferral
def test_gate_reboots_over_gpu_jobs_once_the_reboot_has_waited_max_defer_days():
    cfg = {"window_start": "00:00", "window_end": "00:00", "max_defer_days": 7}
    job = [{"pid": 42, "comm": "python3", "source": "nvidia-smi"}]
    assert gate.decide(cfg, "12:00", True, [], job, 6.9) == ("deferred_gpu_busy", False)
    assert gate.decide(cfg, "12:00", True, [], job, 7.0) == ("rebooting_max_deferral", True)
    # Only GPU jobs are overridden: a running package update still defers (dpkg must finish).
    assert gate.decide(cfg, "12:00", True, ["apt-daily-upgrade.service"], [], 30) == ("deferred_updates_running", False)
    # Only inside the window, and only when a reboot is required.
    assert gate.decide(dict(cfg, window_start="03:00", window_end="05:00"), "12:00", True, [], job, 30) == \
        ("outside_window", False)
    assert gate.decide(cfg, "12:00", False, [], job, 30) == ("not_required", False)
    # 0 (and a config from before the option) means no cap.
    assert gate.decide(dict(cfg, max_defer_days=0), "12:00", True, [], job, 365) == ("deferred_gpu_busy", False)
    assert gate.decide({"window_start": "00:00", "window_end": "00:00"}, "12:00", True, [], job, 365) == \
        ("deferred_gpu_busy", False)


def test_gate_deferred_since_starts_at_the_first_required_check_and_ends_with_the_reboot():
    import datetime
    now = datetime.datetime(2026, 3, 10, 3, 30, tzinfo=datetime.timezone.utc)
    earlier = "2026-03-01T03:15:00+00:00"
    assert gate.deferred_since({}, now, outside=False, required=True) == now.isoformat()
    assert gate.deferred_since({"deferred_since": earlier}, now, outside=False, required=True) == earlier
    assert gate.deferred_since({"deferred_since": earlier}, now, outside=True, required=False) == earlier
    assert gate.deferred_since({"deferred_since": earlier}, now, outside=False, required=False) is None
    # Garbage or a time in the future restarts the count (never a reboot earlier than promised).
    assert gate.deferred_since({"deferred_since": "soon"}, now, outside=False, required=True) == now.isoformat()
    assert gate.deferred_since({"deferred_since": "2027-01-01T00:00:00+00:00"}, now, False, True) == now.isoformat()
    assert gate.deferred_for_days(earlier, now) == pytest.approx(9.0104, abs=1e-3)


def _gate_run(tmp_path, monkeypatch, capsys, max_defer_days, waited_days, busy=()):
    import datetime
    status_file = tmp_path / "reboot-gate.json"
    since = (datetime.datetime.now().astimezone() - datetime.timedelta(days=waited_days)).replace(microsecond=0)
    status_file.write_text(json.dumps({"deferred_since": since.isoformat(), "reboot_required": True}))
    config = tmp_path / "gate.json"
    config.write_text(json.dumps({"window_start": "00:00", "window_end": "00:00", "status_file": str(status_file),
                                  "required_file": str(tmp_path / "reboot-required"),
                                  "max_defer_days": max_defer_days}))
    (tmp_path / "reboot-required").write_text("")
    commands = []
    monkeypatch.setattr(gate, "busy_units", lambda cfg: list(busy))
    monkeypatch.setattr(gate, "gpu_jobs", lambda cfg: [{"pid": 4242, "comm": "train", "source": "open /dev/nvidia0"}])
    monkeypatch.setattr(gate, "run", lambda argv, timeout=60: commands.append(argv) or (0, "", ""))
    assert gate.main(["--config", str(config)]) == 0
    return json.loads(status_file.read_text()), commands, capsys.readouterr().out, since.isoformat()


def test_gate_end_to_end_reboots_over_a_gpu_job_after_max_defer_days(tmp_path, monkeypatch, capsys):
    status, commands, out, since = _gate_run(tmp_path, monkeypatch, capsys, 7, 8)
    assert status["result"] == "rebooting_max_deferral" and status["deferred_since"] == since
    assert commands == [["systemctl", "reboot"]]
    assert "waited since %s" % since in out and "max_defer_days 7" in out and "4242(train)" in out


@pytest.mark.parametrize("max_defer_days,waited_days,busy,result", [
    (7, 6, (), "deferred_gpu_busy"), (0, 400, (), "deferred_gpu_busy"),
    (7, 8, ("apt-daily-upgrade.service",), "deferred_updates_running")])
def test_gate_end_to_end_defers_before_the_cap_without_it_and_during_updates(
        tmp_path, monkeypatch, capsys, max_defer_days, waited_days, busy, result):
    status, commands, out, since = _gate_run(tmp_path, monkeypatch, capsys, max_defer_days, waited_days, busy)
    assert (status["result"], status["deferred_since"], commands) == (result, since, [])


@pytest.mark.parametrize("value", [-1, "7", True, 1.5])
def test_gate_refuses_a_bad_max_defer_days(tmp_path, capsys, value):
    config = tmp_path / "gate.json"
    config.write_text(json.dumps({"window_start": "03:00", "window_end": "05:00",
                                  "status_file": str(tmp_path / "s.json"), "max_defer_days": value}))
    assert gate.main(["--config", str(config)]) == 2
    assert "max_defer_days=%r is not a whole number of days >= 0" % (value,) in capsys.readouterr().out
    assert not (tmp_path / "s.json").exists()


def test_binary_tar_zst_release_is_unpacked_with_the_hosts_zstd(tmp_path, release_server, prefix):
    # Runtimes ship .tar.zst archives; the updater unpacks them with zstd (which the role installs).
    zstd = shutil.which("zstd")
    assert zstd, "the controller needs zstd for this test (Debian: apt-get install zstd)"
    base, root = release_server
    plain = tmp_path / "fakeai.tar"
    with tarfile.open(fileobj=io.BytesIO(_fake_release("2.0.0")), mode="r:gz") as src, \
            tarfile.open(str(plain), mode="w") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member))
    subprocess.run([zstd, "-q", "-f", str(plain), "-o", str(root / "v2.0.0" / "fakeai-linux.tar.zst")], check=True)
    archive = (root / "v2.0.0" / "fakeai-linux.tar.zst").read_bytes()
    (root / "v2.0.0" / "sha256sum.txt").write_text("%s  fakeai-linux.tar.zst\n" % hashlib.sha256(archive).hexdigest())
    cfg, prefix = _binary_cfg(tmp_path, base, prefix, url=base + "/v{version}/fakeai-linux.tar.zst")
    _install_v1(prefix)
    code, status = updater.execute(cfg, "run")
    assert code == 0, status
    assert (status["result"], status["current"]) == ("updated", "2.0.0")
    assert (prefix / "lib" / "fakeai" / "marker").read_text() == "2.0.0"
