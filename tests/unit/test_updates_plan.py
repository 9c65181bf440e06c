"""Unit tests of the updates role's input checks and runtime resolution (module_utils/updates_plan.py,
run by the updates_plan module). They were 180 lines of Jinja in tasks/validate.yml and resolve.yml
with no test of their own (issue #18).

Facts are shaped like ai_runtime_facts' output; `systemd-analyze` is the real one where this machine
has it, and the venv probes run against real directories under tmp_path.
"""
import os
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.aihost.hardening.plugins.module_utils import updates_plan as up

ROLE_VARS = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "updates", "vars", "main.yml")

with open(ROLE_VARS) as handle:
    _VARS = yaml.safe_load(handle)
SOURCES = _VARS["aihost_updates__binary_sources"]
DEFAULTS = {"policy": "notify", "on_calendar": "daily", "randomized_delay": "1h", "health_timeout": 120}
SETTINGS = {"reboot_window_start": "03:00", "reboot_window_end": "05:00", "reboot_max_defer_days": 7,
            "environment": {"HTTPS_PROXY": "http://proxy:3128"}, "os_enabled": True,
            "os_refresh_on_calendar": "*-*-* 06,18:00", "os_upgrade_on_calendar": "*-*-* 06:30",
            "os_randomized_delay": "30min", "reboot_enabled": False, "reboot_check_on_calendar": "*:0/15",
            "runtime_on_calendar": "daily", "runtime_randomized_delay": "1h", "text_checks": []}
DIGEST = "ab" * 32


def never(_path):
    return False


def jupyter_facts(venv="/opt/jupyter", unit="jupyter.service", port=8888, scope="loopback", address="127.0.0.1"):
    return {
        "name": "jupyter", "version_source": "pip:jupyter-server",
        "units": [{"name": unit}],
        "packages": [{"manager": "pip", "name": "jupyter-server",
                      "location": venv + "/lib/python3.11/site-packages"}],
        "processes": [{"pid": 42, "unit": unit, "cmdline": [venv + "/bin/python3", venv + "/bin/jupyter-server"]}],
        "listen": [{"protocol": "udp", "address": "0.0.0.0", "port": 5353, "scope": "all", "family": "ipv4"},
                   {"protocol": "tcp", "address": address, "port": port, "scope": scope, "family": "ipv4"}],
        "containers": [], "binaries": [],
    }


# ---- input_errors ---------------------------------------------------------------------------------

def test_good_input_passes():
    runtimes = [{"name": "ollama", "sha256": DIGEST, "version": "0.17.1", "health": {"port": 11434}},
                {"name": "vllm", "constraint": "<0.12", "on_calendar": "weekly"}]
    assert up.input_errors(SETTINGS, runtimes) == []


@pytest.mark.parametrize("change, message", [
    ({"reboot_window_start": "3:00"}, 'aihost_updates_reboot_window_start="3:00" is not HH:MM'),
    ({"reboot_window_end": "05:00\n"}, 'aihost_updates_reboot_window_end="05:00\\n" is not HH:MM'),
    ({"reboot_max_defer_days": -1}, "aihost_updates_reboot_max_defer_days=-1 is not a number of days >= 0"),
    ({"environment": {"BAD-NAME": "x"}}, "aihost_updates_environment: BAD-NAME is not an environment variable name"),
])
def test_settings_refused(change, message):
    errors = up.input_errors(dict(SETTINGS, **change), [])
    assert len(errors) == 1 and errors[0].startswith(message), errors


@pytest.mark.parametrize("entry, message", [
    ({"name": "Ollama"}, 'aihost_updates_runtimes[0].name="Ollama" is not lower_snake'),
    ({"name": "ollama", "sha256": "xyz", "version": "1"}, "aihost_updates_runtimes[0].sha256=xyz is not a SHA-256"),
    ({"name": "ollama", "sha256": DIGEST}, "aihost_updates_runtimes[0].sha256 pins one download: set "
                                           "aihost_updates_runtimes[0].version too"),
    ({"name": "vllm", "version": "1", "constraint": "<2"}, "aihost_updates_runtimes[0]: set version or constraint"),
    ({"name": "vllm", "health": {"port": 70000}}, "aihost_updates_runtimes[0].health.port=70000 is not 1-65535"),
    ({"name": "vllm", "health": {"path": "/x"}}, "aihost_updates_runtimes[0].health.path is not a health key"),
    ({"name": "vllm", "on_calendar": "daily\nExecStart=/tmp/x"},
     'aihost_updates_runtimes[vllm].on_calendar="daily\\nExecStart=/tmp/x" is not a systemd calendar expression'),
])
def test_runtime_entries_refused(entry, message):
    errors = up.input_errors(SETTINGS, [entry])
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_a_name_listed_twice_is_named_at_its_second_place():
    errors = up.input_errors(SETTINGS, [{"name": "vllm"}, {"name": "vllm"}])
    assert errors == ["aihost_updates_runtimes[0].name=vllm is listed twice",
                      "aihost_updates_runtimes[1].name=vllm is listed twice"]


def test_text_checks_name_the_list_index():
    settings = dict(SETTINGS, text_checks=[
        {"var": "aihost_updates_os_security_components", "values": ["main", "contrib\nTrusted: yes"], "rule": "component"},
        {"var": "aihost_updates_bin_dir", "value": "/usr/local/sbin /tmp/x", "rule": "path"},
        {"var": "aihost_updates_gpu_driver_branch", "value": 550, "rule": "branch"}])
    assert up.input_errors(settings, []) == [
        'aihost_updates_os_security_components[1]="contrib\\nTrusted: yes" is not an APT component such as main '
        'or non-free-firmware',
        'aihost_updates_bin_dir="/usr/local/sbin /tmp/x" is not an absolute path of letters, digits and . _ / + @ : - '
        '(no whitespace, quote, backslash, % or $)']


# ---- systemd_checks and systemd_errors ------------------------------------------------------------

def test_only_the_enabled_parts_are_checked():
    calendars, timespans = up.systemd_checks(dict(SETTINGS, os_enabled=False), [])
    assert calendars == [] and timespans == []
    calendars, timespans = up.systemd_checks(dict(SETTINGS, reboot_enabled=True),
                                             [{"name": "vllm", "on_calendar": "weekly"}])
    assert [var for var, _value in calendars] == [
        "aihost_updates_os_refresh_on_calendar", "aihost_updates_os_upgrade_on_calendar",
        "aihost_updates_reboot_check_on_calendar", "aihost_updates_runtime_on_calendar",
        "aihost_updates_runtimes[vllm].on_calendar"]
    assert [var for var, _value in timespans] == ["aihost_updates_os_randomized_delay",
                                                  "aihost_updates_runtime_randomized_delay"]


def test_systemd_analyze_is_asked_once_when_all_is_well_and_per_value_to_name_a_bad_one():
    calls = []

    def analyze(kind, values):  # STAND-IN for systemd-analyze: rejects the word "never"
        calls.append((kind, values))
        bad = [value for value in values if "never" in value]
        return (1, "", "Failed to parse calendar specification '%s'" % bad[0]) if bad else (0, "ok", "")

    good = {"calendar": [["a", "daily"], ["b", "weekly"]], "timespan": [["c", "1h"]]}
    assert up.systemd_errors(good, analyze) == [] and len(calls) == 2
    calls.clear()
    bad = {"calendar": [["a", "daily"], ["b", "never"]], "timespan": []}
    assert up.systemd_errors(bad, analyze) == [
        "b=\"never\" is invalid: Failed to parse calendar specification 'never'"]
    assert calls == [("calendar", ["daily", "never"]), ("calendar", ["daily"]), ("calendar", ["never"])]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_real_systemd_analyze_names_the_bad_expression():
    def analyze(kind, values):
        proc = subprocess.run(["systemd-analyze", kind] + values, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    calendars, timespans = up.systemd_checks(dict(SETTINGS, os_upgrade_on_calendar="every tuesday"), [])
    errors = up.systemd_errors({"calendar": calendars, "timespan": timespans}, analyze)
    assert len(errors) == 1 and errors[0].startswith(
        'aihost_updates_os_upgrade_on_calendar="every tuesday" is invalid: '), errors
    assert up.systemd_errors({"calendar": up.systemd_checks(SETTINGS, [])[0]}, analyze) == []


# ---- resolve --------------------------------------------------------------------------------------

def test_a_pip_runtime_is_completed_from_the_facts(tmp_path):
    venv = str(tmp_path / "jupyter")
    os.makedirs(venv + "/bin")
    open(venv + "/pyvenv.cfg", "w").close()
    os.symlink("/usr/bin/python3", venv + "/bin/python")
    [item] = up.resolve([{"name": "jupyter"}], [jupyter_facts(venv)], DEFAULTS, SOURCES, os.path.lexists)
    assert item["kind"] == "pip" and item["detected"] is True
    assert item["pip"] == {"venv": venv, "package": "jupyter-server", "version": None, "constraint": None,
                           "extra_args": []}
    assert item["unit"] == "jupyter.service" and item["policy"] == "notify" and item["on_calendar"] == "daily"
    assert item["health"] == {"host": "127.0.0.1", "port": 8888, "url": None, "expect": None, "timeout": 120}
    assert item["venv_candidates"] == [venv]  # the package's prefix and the interpreter's, once
    assert up.runtime_errors([item], os.path.lexists) == []


def test_explicit_keys_win_over_the_facts():
    entry = {"name": "jupyter", "venv": "/srv/venv", "package": "notebook", "version": "7.1.0", "unit": "nb.service",
             "policy": "apply", "on_calendar": "weekly", "pip_extra_args": ["--index-url", "https://u:p@idx/simple"],
             "health": {"host": "::1", "port": 9999, "timeout": 30}}
    [item] = up.resolve([entry], [jupyter_facts()], DEFAULTS, SOURCES, never)
    assert item["pip"] == {"venv": "/srv/venv", "package": "notebook", "version": "7.1.0", "constraint": None,
                           "extra_args": ["--index-url", "https://u:p@idx/simple"]}
    assert (item["unit"], item["policy"], item["on_calendar"]) == ("nb.service", "apply", "weekly")
    assert item["health"] == {"host": "::1", "port": 9999, "url": None, "expect": None, "timeout": 30}
    assert up.runtime_errors([item], never) == ["aihost_updates_runtimes[jupyter].venv=/srv/venv has no bin/python"]


def test_the_instance_running_the_named_unit_is_the_one_managed():
    facts = [jupyter_facts("/opt/a", unit="a.service", port=8888), jupyter_facts("/opt/b", unit="b.service", port=8890)]
    [first] = up.resolve([{"name": "jupyter"}], facts, DEFAULTS, SOURCES, never)
    [second] = up.resolve([{"name": "jupyter", "unit": "b.service"}], facts, DEFAULTS, SOURCES, never)
    assert first["venv_candidates"] == ["/opt/a"] and first["health"]["port"] == 8888
    assert second["venv_candidates"] == ["/opt/b"] and second["health"]["port"] == 8890


@pytest.mark.parametrize("listen, host", [
    ({"scope": "specific", "address": "10.0.0.5", "family": "ipv4"}, "10.0.0.5"),
    ({"scope": "all", "address": "::", "family": "ipv6"}, "::1"),
    ({"scope": "all", "address": "0.0.0.0", "family": "ipv4"}, "127.0.0.1"),
])
def test_the_health_check_goes_where_the_runtime_listens(listen, host):
    facts = jupyter_facts()
    facts["listen"] = [dict(listen, protocol="tcp", port=8888)]
    [item] = up.resolve([{"name": "jupyter"}], [facts], DEFAULTS, SOURCES, never)
    assert item["health"]["host"] == host


def test_ollama_takes_the_install_script_sources():
    [item] = up.resolve([{"name": "ollama", "policy": "apply"}], [], DEFAULTS, SOURCES, never)
    assert item["kind"] == "binary" and item["detected"] is False
    assert item["binary"]["path"] == "/usr/local/bin/ollama"
    assert item["binary"]["version_command"] == ["/usr/local/bin/ollama", "-v"]
    assert item["binary"]["archive_members"] == ["bin/ollama", "lib/ollama"]
    assert up.runtime_errors([item], never) == []


def test_a_container_runtime_takes_its_container_from_the_facts():
    facts = {"name": "open_webui", "containers": [{"name": "open-webui", "image": "ghcr.io/open-webui/open-webui"}]}
    [item] = up.resolve([{"name": "open_webui"}], [facts], DEFAULTS, SOURCES, never)
    assert item["kind"] == "container" and item["container"]["name"] == "open-webui"
    assert item["container"]["docker_socket"] == "/var/run/docker.sock"


@pytest.mark.parametrize("entry, facts, message", [
    ({"name": "ray"}, [], "aihost_updates_runtimes[ray]: not detected and the role cannot tell how it is installed"),
    ({"name": "ray"}, [{"name": "ray"}], "aihost_updates_runtimes[ray]: detected, but the role cannot tell"),
    ({"name": "vllm", "kind": "pip"}, [], "aihost_updates_runtimes[vllm].venv: no virtual environment found in the "
                                          "runtime's command line (no process): set venv"),
    ({"name": "x", "kind": "container"}, [], "aihost_updates_runtimes[x].container: no container found"),
    ({"name": "x", "kind": "binary"}, [], "aihost_updates_runtimes[x].binary: set the path"),
    ({"name": "x", "binary": "/usr/bin/x", "policy": "apply", "version": "1"}, [],
     "aihost_updates_runtimes[x].url: policy apply needs a download URL"),
])
def test_what_stops_an_update_is_named(entry, facts, message):
    [item] = up.resolve([entry], facts, DEFAULTS, SOURCES, never)
    errors = up.runtime_errors([item], never)
    assert errors and errors[0].startswith(message), errors


def test_a_venv_without_pyvenv_cfg_is_not_taken(tmp_path):
    venv = str(tmp_path / "notavenv")
    os.makedirs(venv + "/bin")
    [item] = up.resolve([{"name": "jupyter"}], [jupyter_facts(venv)], DEFAULTS, SOURCES, os.path.lexists)
    assert item["pip"]["venv"] == ""
    assert up.runtime_errors([item], os.path.lexists) == [
        "aihost_updates_runtimes[jupyter].venv: no virtual environment found in the runtime's command line (%s): "
        "set venv" % venv]


def test_no_message_quotes_an_entry_credentials():
    entry = {"name": "vllm", "kind": "pip", "pip_extra_args": ["--index-url", "https://user:s3cret@idx/simple"],
             "url": "https://x/?token=s3cret"}
    [item] = up.resolve([entry], [], DEFAULTS, SOURCES, never)
    assert all("s3cret" not in error for error in up.runtime_errors([item], never))
