"""plugins/module_utils/service_users.py: the checks that stop the service_users role before any
change (human and shared accounts, data directories outside the allowed roots, unknown runtimes),
the plan it builds from the facts (users adopted or created, data directories, drop-in text, GPU
device rules and the pending NVIDIA state), the systemd-analyze parser and the mode caps."""
import os
import stat

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import service_users as su
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import load_catalog

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "service_users")

# /etc files shaped like a Debian 12 host with one person (alice, uid 1000) and an account made by
# Ollama's install.sh (useradd -r -s /bin/false -U -m -d /usr/share/ollama ollama).
PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
ollama:x:996:996::/usr/share/ollama:/bin/false
postgres:x:105:110:PostgreSQL administrator:/var/lib/postgresql:/bin/bash
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
"""
GROUP = """root:x:0:
video:x:44:alice
render:x:995:
www-data:x:33:
ollama:x:996:
alice:x:1000:
shared:x:2000:alice
"""
LOGIN_DEFS = """# excerpt of Debian 12 /etc/login.defs
UID_MIN\t\t\t 1000
UID_MAX\t\t\t60000
#SYS_UID_MIN\t\t  100
#SYS_UID_MAX\t\t  999
GID_MIN\t\t\t 1000
GID_MAX\t\t\t60000
"""

DEFAULTS = dict(
    select=[], user_names={}, data_dirs={}, health_ports={}, previous_state={}, listeners=[], gpu={},
    allowed_roots=["/var/lib", "/srv", "/opt", "/usr/share/ollama", "/data", "/models"],
    protected_dirs=["/", "/var", "/var/lib", "/opt", "/srv", "/usr", "/usr/share", "/data", "/models"],
    forbidden_trees=["/home", "/root", "/etc", "/proc", "/sys", "/dev", "/boot", "/run", "/tmp", "/usr/bin"],
    gpu_mode="auto", gpu_groups=["video", "render"],
    gpu_device_patterns=[r"^/dev/nvidia[0-9]+$", r"^/dev/nvidiactl$", r"^/dev/nvidia-uvm(-tools)?$",
                         r"^/dev/dri/renderD[0-9]+$", r"^/dev/kfd$"],
    nvidia_group="video", nvidia_device_mode="0660", nvidia_device_files=True,
    profiles={"default": {}, "jit": {"MemoryDenyWriteExecute": "no"}},
    overrides={}, private_users=False, ip_address_allow=[], extra_address_families=[],
    non_login_shells=["/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", ""],
)


@pytest.fixture
def host(tmp_path):
    """A fixture root with /etc account files and a few data directories."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(PASSWD)
    (etc / "group").write_text(GROUP)
    (etc / "login.defs").write_text(LOGIN_DEFS)
    for path in ("var/lib/jupyter", "var/lib/mlflow", "var/lib/ollama/models", "root/.local/share/jupyter",
                 "home/alice/models", "usr/share/ollama/.ollama/models", "opt/jupyter/bin", "var/lib/shared"):
        (tmp_path / path).mkdir(parents=True)
    (tmp_path / "var/lib/mlflow/mlflow.db").write_text("")
    os.symlink("/home/alice/models", str(tmp_path / "var/lib/sneaky"))
    return su.Planner(str(tmp_path))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()[0]


def runtime(name, unit=None, user=None, data_paths=(), run_as=("root",), listen=(), profile=None, processes=()):
    return {
        "name": name, "display_name": name.title(),
        "units": [{"name": unit or "%s.service" % name, "user": user, "exec_start": ["/usr/bin/%s" % name], "masked": False}],
        "run_as": list(run_as), "data_paths": list(data_paths), "listen": list(listen),
        "sandbox_profile": profile, "processes": list(processes), "containers": [],
    }


def make_plan(host, catalog, runtimes, **overrides):
    params = dict(DEFAULTS, runtimes=runtimes)
    params.update(overrides)
    return su.plan(params, host, catalog)


# --- account files ----------------------------------------------------------------------------
def test_login_defs_uses_file_values_and_shadow_defaults_for_commented_keys():
    defs = su.parse_login_defs(LOGIN_DEFS)
    assert defs["UID_MIN"] == 1000 and defs["UID_MAX"] == 60000
    # Commented out in Debian's file: shadow-utils' built-in defaults apply.
    assert defs["SYS_UID_MIN"] == 101 and defs["SYS_UID_MAX"] == 999


def test_account_rules_refuse_root_humans_login_shells_and_shared_accounts():
    users = su.parse_passwd(PASSWD)
    defs = su.parse_login_defs(LOGIN_DEFS)
    shells = DEFAULTS["non_login_shells"]
    assert "root" in su.account_problem(users["root"], defs, shells)
    assert "human" in su.account_problem(users["alice"], defs, shells)
    assert "login shell" in su.account_problem(users["postgres"], defs, shells)
    assert "shared" in su.account_problem(users["www-data"], defs, shells)
    assert "shared" in su.account_problem(users["nobody"], defs, shells)
    assert su.account_problem(users["ollama"], defs, shells) is None


# --- failures before any change ---------------------------------------------------------------
def test_human_user_name_is_refused(host, catalog):
    result = make_plan(host, catalog, [runtime("ollama", data_paths=["/var/lib/ollama/models"])],
                       user_names={"ollama": "alice"})
    assert result["services"] == []
    assert any("'alice'" in e and "human account" in e and "aihost_service_users_names" in e for e in result["errors"])


def test_human_group_name_is_refused_when_the_user_is_new(host, catalog):
    result = make_plan(host, catalog, [runtime("ollama", data_paths=["/var/lib/ollama/models"])],
                       user_names={"ollama": "shared"})
    assert any("group 'shared'" in e and "human group" in e for e in result["errors"])


class DirectoryPlanner(su.Planner):
    """The fixture root, plus accounts that only NSS knows (LDAP, sssd): not in /etc/passwd or /etc/group."""

    DIRECTORY_USERS = {"mlflow": {"name": "mlflow", "uid": 5001, "gid": 5001, "home": "/home/mlflow", "shell": "/bin/bash"}}
    DIRECTORY_GROUPS = {"jupyter": {"name": "jupyter", "gid": 5002, "members": ["bob"]}}

    def user(self, name):
        return self.DIRECTORY_USERS.get(name)

    def group_named(self, name):
        return self.DIRECTORY_GROUPS.get(name)


def test_a_directory_account_of_the_same_name_is_refused_not_shadowed(host, catalog):
    directory = DirectoryPlanner(host.root)
    result = make_plan(directory, catalog, [runtime("mlflow", data_paths=["/var/lib/mlflow"])])
    assert result["services"] == []
    assert any("user 'mlflow'" in e and "human account" in e for e in result["errors"]), result["errors"]
    result = make_plan(directory, catalog, [runtime("jupyter")])
    assert any("group 'jupyter'" in e and "human group" in e for e in result["errors"]), result["errors"]
    # Without the directory, both names are free and would be created.
    assert make_plan(host, catalog, [runtime("mlflow", data_paths=["/var/lib/mlflow"])])["errors"] == []


def test_names_are_asked_of_nss_only_on_the_live_host(host):
    assert host.user("root") is None and host.group_named("root") is None
    live = su.Planner("/")
    assert live.user("root")["uid"] == 0 and live.group_named("root")["gid"] == 0
    assert live.user("no-such-account-here") is None and live.group_named("no-such-group-here") is None


@pytest.mark.parametrize("bad", ["/", "/home", "/home/alice/models", "/etc/ollama", "/var/lib", "/var/lib/sneaky",
                                 "/usr/local/share/x"])
def test_data_dir_outside_allowed_roots_is_refused(host, catalog, bad):
    result = make_plan(host, catalog, [runtime("ollama")], data_dirs={"ollama": [bad]})
    assert result["services"] == []
    assert any("aihost_service_users_data_dirs.ollama" in e and bad in e for e in result["errors"]), result["errors"]


def test_symlink_into_a_home_is_followed_and_refused(host, catalog):
    result = make_plan(host, catalog, [runtime("ollama")], data_dirs={"ollama": ["/var/lib/sneaky"]})
    assert any("resolves to /home/alice/models" in e for e in result["errors"])


def test_unknown_runtime_names_are_refused_in_every_map(host, catalog):
    result = make_plan(host, catalog, [], select=["olama"], user_names={"jupiter": "j"}, data_dirs={"x": []})
    joined = "\n".join(result["errors"])
    assert "aihost_service_users_runtimes: unknown runtime 'olama'" in joined
    assert "aihost_service_users_names: unknown runtime 'jupiter'" in joined
    assert "aihost_service_users_data_dirs: unknown runtime 'x'" in joined


def test_allowed_root_may_not_be_a_system_directory(host, catalog):
    result = make_plan(host, catalog, [], allowed_roots=["/", "/home/alice", "/var/lib"])
    assert len([e for e in result["errors"] if "cannot be an allowed root" in e]) == 2


def test_data_dir_that_contains_the_program_is_refused(host, catalog):
    rt = runtime("jupyter", processes=[{"exe": "/opt/jupyter/bin/python3", "cmdline": ["/opt/jupyter/bin/python3",
                                                                                       "/opt/jupyter/bin/jupyter-server"]}])
    result = make_plan(host, catalog, [rt], data_dirs={"jupyter": ["/opt/jupyter"]})
    assert any("contains the runtime's program" in e for e in result["errors"])


def test_two_runtimes_may_not_share_a_user_or_a_directory(host, catalog):
    result = make_plan(host, catalog, [runtime("ollama"), runtime("jupyter")],
                       user_names={"ollama": "aiuser", "jupyter": "aiuser"},
                       data_dirs={"ollama": ["/var/lib/shared"], "jupyter": ["/var/lib/shared"]})
    joined = "\n".join(result["errors"])
    assert "would serve both" in joined and "overlaps" in joined


def test_bad_override_directive_is_refused(host, catalog):
    result = make_plan(host, catalog, [runtime("ollama")], overrides={"ollama": {"user": "root", "User": "root"}})
    joined = "\n".join(result["errors"])
    assert "'user' is not a systemd directive name" in joined and "aihost_service_users_names" in joined


# --- the plan ---------------------------------------------------------------------------------
def test_root_runtimes_get_new_users_and_root_home_state_is_left_behind(host, catalog):
    rt = runtime("jupyter", data_paths=["/root/.local/share/jupyter", "/var/lib/jupyter"], profile="jit",
                 listen=[{"protocol": "tcp", "address": "0.0.0.0", "port": 8888}])
    result = make_plan(host, catalog, [rt])
    assert result["errors"] == []
    service = result["services"][0]
    assert (service["user"], service["group"], service["user_action"]) == ("jupyter", "jupyter", "create")
    assert service["data_dirs"] == ["/var/lib/jupyter"] and service["home"] == "/var/lib/jupyter"
    assert service["left_behind"] == ["/root/.local/share/jupyter"]
    assert service["moves"] is True
    assert service["health"] == [{"host": "127.0.0.1", "port": 8888}]
    assert any("not migrated" in w for w in result["warnings"])


@pytest.mark.parametrize("cwd", ["/root", "-/root/notebooks", "/home/alice/work", "~"])
def test_working_directory_the_sandbox_hides_moves_to_the_data_directory(host, catalog, cwd):
    """ProtectHome=yes hides /root and /home, and `~` is the new user's home: systemd would fail the
    unit with status 200/CHDIR. The drop-in starts it in its data directory and says so."""
    rt = runtime("jupyter", data_paths=["/var/lib/jupyter"], profile="jit")
    rt["units"][0]["working_directory"] = cwd
    result = make_plan(host, catalog, [rt])
    assert result["errors"] == []
    lines = result["services"][0]["dropin"].splitlines()
    assert "WorkingDirectory=/var/lib/jupyter" in lines
    assert lines.index("WorkingDirectory=/var/lib/jupyter") < lines.index("NoNewPrivileges=yes")
    assert any("WorkingDirectory=%s is hidden" % cwd.lstrip("-") in w for w in result["warnings"])


def test_working_directory_fix_survives_a_second_run(host, catalog):
    """On the next run the unit (with the role's drop-in) reads /var/lib/jupyter, but without that
    drop-in it still says /root: the plan keeps the fix instead of dropping it."""
    rt = runtime("jupyter", data_paths=["/var/lib/jupyter"], profile="jit", run_as=["jupyter"])
    rt["units"][0].update(working_directory="/var/lib/jupyter", working_directory_unsandboxed="/root")
    lines = make_plan(host, catalog, [rt])["services"][0]["dropin"].splitlines()
    assert "WorkingDirectory=/var/lib/jupyter" in lines


def test_working_directory_without_data_directory_is_the_root_directory(host, catalog):
    rt = runtime("jupyter", profile="jit")
    rt["units"][0]["working_directory"] = "/root"
    assert "WorkingDirectory=/" in make_plan(host, catalog, [rt])["services"][0]["dropin"].splitlines()


@pytest.mark.parametrize("cwd", [None, "/srv", "/var/lib/jupyter", "/opt/jupyter"])
def test_reachable_working_directory_is_left_alone(host, catalog, cwd):
    rt = runtime("jupyter", data_paths=["/var/lib/jupyter"], profile="jit")
    rt["units"][0]["working_directory"] = cwd
    result = make_plan(host, catalog, [rt])
    assert not any(line.startswith("WorkingDirectory") for line in result["services"][0]["dropin"].splitlines())
    assert not any("WorkingDirectory" in w for w in result["warnings"])


def test_working_directory_override_wins(host, catalog):
    rt = runtime("jupyter", data_paths=["/var/lib/jupyter"], profile="jit")
    rt["units"][0]["working_directory"] = "/root"
    result = make_plan(host, catalog, [rt], overrides={"jupyter": {"WorkingDirectory": "/srv/notebooks"}})
    lines = result["services"][0]["dropin"].splitlines()
    assert "WorkingDirectory=/srv/notebooks" in lines and "WorkingDirectory=/var/lib/jupyter" not in lines


def test_database_file_path_gives_its_directory(host, catalog):
    result = make_plan(host, catalog, [runtime("mlflow", data_paths=["//var/lib/mlflow/mlflow.db"])])
    assert result["services"][0]["data_dirs"] == ["/var/lib/mlflow"]


def test_installer_made_user_is_adopted(host, catalog):
    rt = runtime("ollama", user="ollama", run_as=["ollama"], data_paths=["/usr/share/ollama/.ollama/models"])
    service = make_plan(host, catalog, [rt])["services"][0]
    assert (service["user"], service["user_action"], service["moves"]) == ("ollama", "adopt", False)
    assert service["data_dirs"] == ["/usr/share/ollama/.ollama/models"]


def test_nested_data_dirs_keep_the_outermost(host, catalog):
    rt = runtime("jupyter", data_paths=["/var/lib/jupyter", "/var/lib/jupyter"], run_as=["jupyter"])
    result = make_plan(host, catalog, [rt], data_dirs={"jupyter": ["/var/lib/jupyter/a", "/var/lib/jupyter"]})
    service = result["services"][0]
    assert service["data_dirs"] == ["/var/lib/jupyter"] and service["missing_data_dirs"] == ["/var/lib/jupyter/a"]


def test_runtimes_without_unit_or_not_selected_are_skipped(host, catalog):
    no_unit = dict(runtime("vllm"), units=[])
    result = make_plan(host, catalog, [no_unit, runtime("ollama"), runtime("jupyter")], select=["ollama", "vllm"])
    assert [s["runtime"] for s in result["services"]] == ["ollama"]
    reasons = dict((s["runtime"], s["reason"]) for s in result["skipped"])
    assert reasons == {"vllm": "has no systemd unit", "jupyter": "not listed in aihost_service_users_runtimes"}


def test_cpu_dropin_has_the_full_sandbox_and_private_devices(host, catalog):
    service = make_plan(host, catalog, [runtime("mlflow", data_paths=["/var/lib/mlflow"], profile="default")])["services"][0]
    lines = service["dropin"].splitlines()
    assert lines[3] == "[Service]"
    for line in ("User=mlflow", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/mlflow",
                 "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "ProtectKernelTunables=yes",
                 "ProtectKernelModules=yes", "ProtectKernelLogs=yes", "ProtectControlGroups=yes", "ProtectClock=yes",
                 "ProtectHostname=yes", "ProtectProc=invisible", "RestrictNamespaces=yes", "LockPersonality=yes",
                 "RestrictRealtime=yes", "RestrictSUIDSGID=yes", "RemoveIPC=yes", "CapabilityBoundingSet=",
                 "AmbientCapabilities=", "SystemCallFilter=@system-service", "SystemCallArchitectures=native",
                 "MemoryDenyWriteExecute=yes", "UMask=0027"):
        assert line in lines, line
    # List settings are reset before ours, so a wider list in the unit cannot survive.
    families = lines.index("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6")
    assert lines[families - 1] == "RestrictAddressFamilies="
    assert not any(line.startswith(("DeviceAllow", "DevicePolicy", "PrivateUsers")) for line in lines)


def test_jit_profile_relaxes_write_execute_and_overrides_apply_last(host, catalog):
    rt = runtime("ollama", data_paths=["/var/lib/ollama/models"], profile="jit")
    result = make_plan(host, catalog, [rt], overrides={"ollama": {"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
                                                                  "ProtectClock": None,
                                                                  "SystemCallFilter": ["@system-service", "~@mount"]}})
    lines = result["services"][0]["dropin"].splitlines()
    assert "MemoryDenyWriteExecute=no" in lines
    assert "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK" in lines
    assert not any(line.startswith("ProtectClock") for line in lines)
    assert [line for line in lines if line.startswith("SystemCallFilter")] == [
        "SystemCallFilter=@system-service", "SystemCallFilter=~@mount"]


def test_gpu_host_opens_only_its_compute_nodes_and_reports_pending_nvidia_state(host, catalog):
    gpu = {"present": False, "gpus": [], "device_nodes": [
        {"path": "/dev/nvidia0", "kind": "nvidia", "mode": "0666", "uid": 0, "gid": 0, "owner": "root", "group": "root"},
        {"path": "/dev/nvidiactl", "kind": "nvidia", "mode": "0666", "uid": 0, "gid": 0, "owner": "root", "group": "root"},
        {"path": "/dev/nvidia-uvm", "kind": "nvidia", "mode": "0660", "uid": 0, "gid": 44, "owner": "root", "group": "video"},
        {"path": "/dev/nvidia-modeset", "kind": "nvidia", "mode": "0666", "uid": 0, "gid": 0, "owner": "root", "group": "root"},
        {"path": "/dev/dri/card0", "kind": "dri", "mode": "0660", "uid": 0, "gid": 44, "owner": "root", "group": "video"}]}
    result = make_plan(host, catalog, [runtime("ollama", data_paths=["/var/lib/ollama/models"])], gpu=gpu)
    plan_gpu = result["gpu"]
    assert plan_gpu["host_has_gpu"] and plan_gpu["nvidia"]
    assert plan_gpu["device_allow"] == ["/dev/nvidia-uvm", "/dev/nvidia0", "/dev/nvidiactl"]
    assert plan_gpu["nvidia_group_gid"] == 44
    assert [n["path"] for n in plan_gpu["pending_nodes"]] == ["/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-modeset"]
    assert plan_gpu["users_losing_access"] == []  # alice is in video
    lines = result["services"][0]["dropin"].splitlines()
    assert "PrivateDevices=yes" not in lines and "DevicePolicy=closed" in lines
    assert lines[lines.index("DevicePolicy=closed") + 1] == "DeviceAllow="
    assert "DeviceAllow=/dev/nvidiactl rw" in lines and "DeviceAllow=/dev/nvidia-modeset rw" not in lines
    assert any("lose GPU access" in w for w in result["warnings"])


def test_gpu_never_keeps_the_cpu_sandbox(host, catalog):
    gpu = {"present": True, "gpus": [{"vendor": "nvidia"}], "device_nodes": []}
    result = make_plan(host, catalog, [runtime("ollama")], gpu=gpu, gpu_mode="never")
    assert not result["gpu"]["host_has_gpu"] and "PrivateDevices=yes" in result["services"][0]["dropin"]


def test_human_users_outside_video_are_named(host, catalog, tmp_path):
    (tmp_path / "etc" / "group").write_text(GROUP.replace("video:x:44:alice", "video:x:44:"))
    gpu = {"present": True, "gpus": [{"vendor": "nvidia"}],
           "device_nodes": [{"path": "/dev/nvidia0", "kind": "nvidia", "mode": "0666", "uid": 0, "gid": 0}]}
    result = make_plan(host, catalog, [runtime("ollama")], gpu=gpu)
    assert result["gpu"]["users_losing_access"] == ["alice"]


def test_ports_from_an_earlier_run_are_used_when_detection_sees_none(host, catalog):
    state = {"units": {"ollama.service": {"ports": [{"host": "127.0.0.1", "port": 11434}]}}}
    service = make_plan(host, catalog, [runtime("ollama")], previous_state=state)["services"][0]
    assert service["health"] == [{"host": "127.0.0.1", "port": 11434}]


def test_units_managed_earlier_stay_managed_when_detection_loses_them(host, catalog, tmp_path):
    """A sandboxed Gradio app is found only through its environment, which root may no longer read."""
    units = tmp_path / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    (units / "gradio.service").write_text("[Service]\nExecStart=/opt/gradio/bin/python app.py\n")
    (tmp_path / "var/lib/gradio").mkdir()
    state = {"units": {
        "gradio.service": {"runtime": "gradio", "user": "gradio", "data_dirs": ["/var/lib/gradio"], "profile": "default",
                           "ports": [{"host": "127.0.0.1", "port": 7860}]},
        "removed.service": {"runtime": "vllm", "user": "vllm", "data_dirs": [], "profile": "jit"}}}
    result = make_plan(host, catalog, [runtime("ollama")], previous_state=state)
    assert result["errors"] == []
    by_runtime = dict((s["runtime"], s) for s in result["services"])
    # The unit file of removed.service is gone: it is forgotten.
    assert sorted(by_runtime) == ["gradio", "ollama"]
    gradio = by_runtime["gradio"]
    assert gradio["remembered"] and gradio["units"] == ["gradio.service"] and gradio["data_dirs"] == ["/var/lib/gradio"]
    assert gradio["health"] == [{"host": "127.0.0.1", "port": 7860}]
    # A run limited to Ollama keeps Gradio's record (its unit still exists) and forgets the removed unit.
    limited = make_plan(host, catalog, [runtime("ollama")], previous_state=state, select=["ollama"])
    assert [s["runtime"] for s in limited["services"]] == ["ollama"]
    assert limited["retained_units"] == ["gradio.service"]


def test_paths_with_blanks_are_quoted_for_systemd():
    assert su.quote_path("/srv/models") == "/srv/models"
    assert su.quote_path("/srv/my models") == '"/srv/my models"'
    assert su.quote_path('/srv/a"b') == '"/srv/a\\"b"'


# --- systemd-analyze security -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["analyze-security-root-utf8.txt", "analyze-security-root-C.txt"])
def test_parse_security_reads_score_rating_and_failing_checks(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        parsed = su.parse_security(handle.read())
    assert (parsed["score"], parsed["rating"]) == (9.6, "UNSAFE")
    names = [f["name"] for f in parsed["failing"]]
    assert "User=/DynamicUser=" in names and "NoNewPrivileges=" in names
    # Passing checks and "does not apply" lines are not failing.
    assert "AmbientCapabilities=" not in names and "SupplementaryGroups=" not in names


def test_parse_security_of_a_sandboxed_unit():
    with open(os.path.join(FIXTURES, "analyze-security-sandboxed-utf8.txt")) as handle:
        parsed = su.parse_security(handle.read())
    assert parsed["rating"] == "OK" and parsed["score"] <= 3.0
    assert "PrivateNetwork=" in [f["name"] for f in parsed["failing"]]


def test_parse_security_without_a_score_is_none():
    assert su.parse_security("Unit nonexist.service not found, cannot analyze.\n") is None


# --- data tree modes --------------------------------------------------------------------------
@pytest.mark.parametrize("current,maximum,minimum,expected", [
    (0o755, 0o750, 0o700, 0o750),
    (0o700, 0o750, 0o700, 0o700),   # never widened
    (0o644, 0o640, 0o600, 0o640),
    (0o444, 0o640, 0o600, 0o640),   # the owner can always read and write its files
    (0o4755, 0o640, 0o600, 0o640),  # set-id bits go
])
def test_capped_mode(current, maximum, minimum, expected):
    assert su.capped_mode(stat.S_IFREG | current, maximum, minimum) == expected


def test_file_cap_marks_databases_private():
    patterns = ["*.db", "*.sqlite"]
    assert su.file_cap("webui.db", 0o640, 0o600, patterns) == (0o600, True)
    assert su.file_cap("model.gguf", 0o640, 0o600, patterns) == (0o640, False)


# --- hostile runtimes: data directories are pinned at adoption (issues #16, #17) -------------------
def make_dirs(tmp_path, *paths):
    for path in paths:
        (tmp_path / path.lstrip("/")).mkdir(parents=True, exist_ok=True)


def adopted_state(runtime_name, unit, user, data_dirs):
    return {"units": {unit: {"runtime": runtime_name, "user": user, "data_dirs": list(data_dirs), "profile": "default"}}}


@pytest.mark.parametrize("system_dir", ["/var/lib/dpkg", "/var/lib/aihost", "/var/lib/docker", "/var/lib/apt/lists",
                                        "/var/cache/apt", "/var/log/ollama", "/var/lib/postgresql/models"])
def test_a_system_tree_the_runtime_reports_after_adoption_is_not_handed_over(host, catalog, tmp_path, system_dir):
    """Ollama, adopted with /var/lib/ollama/models, re-execs with OLLAMA_MODELS=/var/lib/dpkg: the next
    run keeps the pinned directory, hands over nothing else, warns and records the refusal."""
    make_dirs(tmp_path, system_dir)
    rt = runtime("ollama", user="ollama", run_as=["ollama"], data_paths=["/var/lib/ollama/models", system_dir])
    result = make_plan(host, catalog, [rt],
                       previous_state=adopted_state("ollama", "ollama.service", "ollama", ["/var/lib/ollama/models"]))
    assert result["errors"] == []
    service = result["services"][0]
    assert service["data_dirs"] == ["/var/lib/ollama/models"]
    assert "ReadWritePaths=/var/lib/ollama/models" in service["dropin"].splitlines()
    assert system_dir not in service["dropin"]
    refused = result["refused"]
    assert [(r["runtime"], r["path"], r["adopted"], r["variable"]) for r in refused] == [
        ("ollama", system_dir, True, "aihost_service_users_data_dirs.ollama")]
    assert service["refused_data_dirs"] == refused
    warning = [w for w in result["warnings"] if system_dir in w]
    assert len(warning) == 1 and "ollama" in warning[0] and "not handed over" in warning[0]
    assert "aihost_service_users_data_dirs.ollama" in warning[0]


def test_a_system_tree_reported_at_the_first_adoption_leaves_the_runtime_alone(host, catalog, tmp_path):
    """OLLAMA_MODELS=/var/lib/dpkg before the role ever ran: Ollama is not adopted (no user, no drop-in,
    no chown), one warning says why and which variable resolves it, and MLflow is still sandboxed."""
    make_dirs(tmp_path, "/var/lib/dpkg")
    result = make_plan(host, catalog, [runtime("ollama", data_paths=["/var/lib/dpkg"]),
                                       runtime("mlflow", data_paths=["/var/lib/mlflow"])])
    assert result["errors"] == []
    assert [s["runtime"] for s in result["services"]] == ["mlflow"]
    assert [(s["runtime"], s["reason"].startswith("not adopted")) for s in result["skipped"]] == [("ollama", True)]
    warnings = [w for w in result["warnings"] if "ollama" in w]
    assert len(warnings) == 1 and "/var/lib/dpkg" in warnings[0] and "aihost_service_users_data_dirs.ollama" in warnings[0]
    assert [(r["runtime"], r["path"], r["adopted"]) for r in result["refused"]] == [("ollama", "/var/lib/dpkg", False)]


def test_jupyter_serving_an_allowed_root_is_left_alone_with_a_clear_message(host, catalog, tmp_path):
    """--ServerApp.root_dir=/srv: the runtime cannot be given /srv, so it stays as it is and the play
    goes on; the message says what is wrong and what to set."""
    make_dirs(tmp_path, "/srv")
    result = make_plan(host, catalog, [runtime("jupyter", data_paths=["/srv"], profile="jit"),
                                       runtime("mlflow", data_paths=["/var/lib/mlflow"])])
    assert result["errors"] == []
    assert [s["runtime"] for s in result["services"]] == ["mlflow"]
    message = [w for w in result["warnings"] if w.startswith("runtime jupyter")]
    assert len(message) == 1
    assert ("/srv is an allowed root itself; give jupyter a directory of its own, such as /srv/jupyter, in "
            "aihost_service_users_data_dirs.jupyter") in message[0]
    assert "not adopted" in message[0] and "outside the allowed roots" not in message[0]


@pytest.mark.parametrize("declared", ["/var/lib/dpkg", "/var/lib/aihost/backup", "/var/cache/apt", "/var/log",
                                      "/var/lib/postgresql", "/usr/share/ollama/.ollama", "/srv"])
def test_a_declared_system_tree_is_a_variable_error(host, catalog, tmp_path, declared):
    make_dirs(tmp_path, declared)
    result = make_plan(host, catalog, [runtime("jupyter")], data_dirs={"jupyter": [declared]})
    assert result["services"] == []
    assert any(e.startswith("aihost_service_users_data_dirs.jupyter: ") and declared in e for e in result["errors"]), \
        result["errors"]


def test_a_new_directory_is_accepted_after_adoption_only_when_the_service_user_owns_it(host, catalog, tmp_path):
    make_dirs(tmp_path, "/var/lib/ollama/extra", "/var/lib/ollama-cache", "/srv/elsewhere")
    os.chown(str(tmp_path / "var/lib/ollama-cache"), 996, 996)  # ollama's uid in PASSWD
    rt = runtime("ollama", user="ollama", run_as=["ollama"],
                 data_paths=["/var/lib/ollama/models", "/var/lib/ollama-cache", "/srv/elsewhere"])
    result = make_plan(host, catalog, [rt],
                       previous_state=adopted_state("ollama", "ollama.service", "ollama", ["/var/lib/ollama/models"]))
    assert result["errors"] == []
    assert result["services"][0]["data_dirs"] == ["/var/lib/ollama-cache", "/var/lib/ollama/models"]
    assert [(r["path"], r["kind"]) for r in result["refused"]] == [("/srv/elsewhere", "not_pinned")]


def test_a_later_run_never_drops_a_pinned_directory(host, catalog, tmp_path):
    """Issue #17: the state file says data_dirs: [] and detection reports nothing, but the role's drop-in
    made /srv/mlflow writable: it stays in ReadWritePaths (and a recorded pin stays without detection)."""
    make_dirs(tmp_path, "/srv/mlflow")
    dropin = tmp_path / "etc/systemd/system/mlflow.service.d"
    dropin.mkdir(parents=True)
    (dropin / "aihost-sandbox.conf").write_text("[Service]\nUser=mlflow\nReadWritePaths=/srv/mlflow\n")
    rt = runtime("mlflow", run_as=["mlflow"], data_paths=[])
    lost = make_plan(host, catalog, [rt], previous_state=adopted_state("mlflow", "mlflow.service", "mlflow", []))
    assert lost["errors"] == [] and lost["services"][0]["data_dirs"] == ["/srv/mlflow"]
    assert "ReadWritePaths=/srv/mlflow" in lost["services"][0]["dropin"].splitlines()
    (dropin / "aihost-sandbox.conf").unlink()
    recorded = make_plan(host, catalog, [rt],
                         previous_state=adopted_state("mlflow", "mlflow.service", "mlflow", ["/srv/mlflow"]))
    assert "ReadWritePaths=/srv/mlflow" in recorded["services"][0]["dropin"].splitlines()


def test_an_override_read_write_path_is_not_pinned_as_a_data_directory(host, catalog, tmp_path):
    make_dirs(tmp_path, "/srv/shared-scratch")
    dropin = tmp_path / "etc/systemd/system/mlflow.service.d"
    dropin.mkdir(parents=True)
    (dropin / "aihost-sandbox.conf").write_text("[Service]\nReadWritePaths=/var/lib/mlflow /srv/shared-scratch\n")
    result = make_plan(host, catalog, [runtime("mlflow", run_as=["mlflow"])],
                       previous_state=adopted_state("mlflow", "mlflow.service", "mlflow", ["/var/lib/mlflow"]),
                       overrides={"mlflow": {"ReadWritePaths": "/var/lib/mlflow /srv/shared-scratch"}})
    assert result["services"][0]["data_dirs"] == ["/var/lib/mlflow"]


def test_a_system_tree_pinned_by_an_older_version_is_no_longer_handed_over(host, catalog, tmp_path):
    make_dirs(tmp_path, "/var/lib/dpkg")
    rt = runtime("ollama", user="ollama", run_as=["ollama"], data_paths=["/var/lib/ollama/models"])
    result = make_plan(host, catalog, [rt], previous_state=adopted_state(
        "ollama", "ollama.service", "ollama", ["/var/lib/ollama/models", "/var/lib/dpkg"]))
    assert result["errors"] == [] and result["services"][0]["data_dirs"] == ["/var/lib/ollama/models"]
    assert [r["path"] for r in result["refused"]] == ["/var/lib/dpkg"]
    assert any("/var/lib/dpkg" in w and "pinned by an earlier run" in w for w in result["warnings"])


def test_dropin_read_write_paths_are_parsed_like_systemd():
    text = 'ReadWritePaths=/old\nReadWritePaths=\nReadWritePaths=/srv/a "/srv/with blank" -/srv/optional\n'
    assert su.dropin_read_write_paths(text) == ["/srv/a", "/srv/with blank", "/srv/optional"]
