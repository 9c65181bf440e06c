"""aihost-updater and pip index credentials (issue #16's review): a URL with user:password@ or a
token as the user never goes on pip's command line, which every local user reads in
/proc/<pid>/cmdline. It goes into a pip configuration file that only root can read, for the
duration of the call (PIP_CONFIG_FILE). A virtualenv owned by a user runs pip as that user, who
could read its argv, environment and files: such a run gets no credentials at all.

The root-owned venv's pip is a stub shell script that records what the process exposes (its
/proc/self/cmdline, the configuration file it was handed, that file's mode and owner) and
answers like pip. The tests need root (chown, a root-only tree); they are skipped without it."""
import json
import os

import pytest

from test_fs_trust import make_dir, root_tree  # noqa: F401 pylint: disable=unused-import

from ansible_collections.aihost.hardening.plugins.module_utils import updater

PASSWORD = "s3cretPassw0rd"
TOKEN = "ci-token-5f4dcc3b5aa765d61d8327deb882cf99"
INDEX = "https://deploy:%s@pypi.example/simple" % PASSWORD
MIRROR = "https://%s@mirror.example/simple" % TOKEN


# `python -m pip ...`: records the process's command line and the configuration file it was given,
# then answers show / install --dry-run --report - / install / freeze for package fakeai.
STUB_PIP = r"""#!/bin/sh
rec=%(rec)s
{ echo '--- call'; tr '\0' '\n' < /proc/$$/cmdline; } >> "$rec/cmdline"
echo "PIP_EXTRA_INDEX_URL=${PIP_EXTRA_INDEX_URL-<unset>}" >> "$rec/environ"
if [ -n "$PIP_CONFIG_FILE" ]; then
  echo "$PIP_CONFIG_FILE" >> "$rec/config-paths"
  stat -c '%%a %%u' "$PIP_CONFIG_FILE" >> "$rec/config-stat"
  cat "$PIP_CONFIG_FILE" >> "$rec/config"
fi
shift 2
case "$1" in
  show) echo "Name: fakeai"; echo "Version: $(cat "$rec/version")" ;;
  freeze) echo "fakeai==$(cat "$rec/version")" ;;
  install)
    case " $* " in
      *" --dry-run "*) echo '{"install": [{"metadata": {"name": "fakeai", "version": "2.0.0"}}]}' ;;
      *) [ -e "$rec/install-fails" ] && { echo 'ERROR: no such index' >&2; exit 1; }
         echo 2.0.0 > "$rec/version" ;;
    esac ;;
esac
"""


def _root_venv(root, rec):
    """A root-owned venv whose bin/python is the stub (root-owned, root-only tree: pip runs as root)."""
    venv = make_dir(os.path.join(root, "venv"))
    make_dir(os.path.join(venv, "bin"))
    make_dir(os.path.join(venv, "lib", "python3.11", "site-packages"))
    stub = os.path.join(venv, "bin", "python")
    with open(stub, "w") as handle:
        handle.write(STUB_PIP % {"rec": rec})
    os.chmod(stub, 0o755)
    with open(os.path.join(rec, "version"), "w") as handle:
        handle.write("1.0.0\n")
    return venv


def _cfg(tmp_path, venv, extra_args, environment=None, policy="apply"):
    cfg = {"name": "fakeai", "kind": "pip", "policy": policy, "unit": None, "health": {},
           "status_dir": str(tmp_path / "status"), "environment": environment or {},
           "pip": {"venv": venv, "package": "fakeai", "extra_args": extra_args}}
    os.makedirs(cfg["status_dir"], exist_ok=True)
    return cfg


def _read(path):
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("install_fails", [False, True], ids=["install succeeds", "install fails"])
def test_index_credentials_reach_pip_only_through_a_root_only_config_file_that_is_removed_afterwards(
        tmp_path, root_tree, monkeypatch, install_fails):
    rec = tmp_path / "rec"
    rec.mkdir()
    if install_fails:
        (rec / "install-fails").touch()
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://pypi.org/simple")
    cfg = _cfg(tmp_path, _root_venv(root_tree, str(rec)),
               ["--index-url", INDEX, "--extra-index-url=" + MIRROR, "--trusted-host", "mirror.example"])
    code, status = updater.execute(cfg, "run")

    if install_fails:
        assert (code, status["result"], status["current"]) == (1, "rolled_back", "1.0.0")
    else:
        assert (code, status["result"], status["current"]) == (0, "updated", "2.0.0")
    cmdlines = _read(rec / "cmdline")
    assert cmdlines.count("--- call") >= 4  # show, install --dry-run, freeze, install, ...
    # Nothing another user can read in /proc/<pid>/cmdline carries a credential...
    assert PASSWORD not in cmdlines and TOKEN not in cmdlines and "@" not in cmdlines
    # ...the options without credentials stay where they were.
    assert "--trusted-host\nmirror.example\n" in cmdlines
    # Each call that reaches the index got a pip.conf that only root can read, with every index URL
    # (PIP_EXTRA_INDEX_URL folded in first, as pip added the command line's to it).
    paths = _read(rec / "config-paths").split()
    assert len(paths) >= 2
    assert set(_read(rec / "config-stat").splitlines()) == {"600 0"}
    assert _read(rec / "config") == ("[global]\nindex-url = %s\nextra-index-url =\n    https://pypi.org/simple\n"
                                     "    %s\n" % (INDEX, MIRROR)) * len(paths)
    assert set(_read(rec / "environ").splitlines()) >= {"PIP_EXTRA_INDEX_URL=<unset>"}
    # The file sat in a root-only directory and is gone once pip has returned.
    for path in paths:
        assert os.path.dirname(path) == os.path.join(cfg["status_dir"], "fakeai")
        assert not os.path.exists(path)
    assert (os.stat(os.path.dirname(paths[0])).st_mode & 0o777) == 0o700
    assert not [name for name in os.listdir(os.path.dirname(paths[0])) if name.startswith(".pip-")]
    assert PASSWORD not in json.dumps(status) and TOKEN not in json.dumps(status)


def test_calls_that_need_no_index_get_no_credentials(tmp_path, root_tree):
    rec = tmp_path / "rec"
    rec.mkdir()
    cfg = _cfg(tmp_path, _root_venv(root_tree, str(rec)), ["--index-url", INDEX], policy="notify")
    code, status = updater.execute(cfg, "run")
    assert (code, status["result"]) == (0, "update_available")
    calls = _read(rec / "cmdline").split("--- call\n")[1:]
    assert [call.split("\n")[4] for call in calls] == ["show", "install"]  # sh, stub, -m, pip, <command>
    assert len(_read(rec / "config-paths").split()) == 1  # only the install --dry-run
    assert PASSWORD not in _read(rec / "cmdline")


@pytest.mark.parametrize("extra_args,environment,found", [
    (["--index-url", INDEX], {}, "pip_extra_args --index-url"),
    (["--extra-index-url=" + MIRROR, "-i", "https://pypi.org/simple"], {},
     "pip_extra_args --extra-index-url"),
    ([], {"PIP_INDEX_URL": INDEX}, "environment PIP_INDEX_URL"),
    ([], {"HTTPS_PROXY": "http://proxyuser:%s@proxy.example:3128" % PASSWORD, "NO_PROXY": "localhost"},
     "environment HTTPS_PROXY"),
    (["-i", INDEX], {"HF_TOKEN": TOKEN}, "pip_extra_args --index-url; environment HF_TOKEN"),
], ids=["index-url", "extra-index-url", "PIP_INDEX_URL", "proxy password", "both"])
def test_a_venv_owned_by_a_user_gets_no_credentials(tmp_path, root_tree, monkeypatch, extra_args, environment, found):
    ran = []
    monkeypatch.setattr(updater, "run", lambda argv, **kwargs: ran.append(argv) or (0, "Version: 1.0.0\n", ""))
    venv = make_dir(os.path.join(root_tree, "home", "bob", "venv"), uid=1000)
    make_dir(os.path.join(venv, "bin"), uid=1000)
    with open(os.path.join(venv, "bin", "python"), "w") as handle:
        handle.write("#!/bin/sh\n")
    cfg = _cfg(tmp_path, venv, extra_args, environment)
    for mode in ("run", "check", "rollback"):
        code, status = updater.execute(cfg, mode)
        assert (code, status["result"]) == (2, "error")
        assert status["message"] == (
            "pip runtime fakeai: not passing credentials (%s) to pip of %s: that virtualenv is owned by uid 1000, "
            "pip runs as that user, and the user could read them from the process; use a root-owned virtualenv "
            "or an index without credentials" % (found, venv))
    assert ran == []


def test_a_venv_owned_by_a_user_without_credentials_still_runs_as_its_owner(tmp_path, root_tree, monkeypatch):
    calls = []

    def fake_run(argv, **kwargs):
        calls.append((argv, kwargs))
        if "--dry-run" in argv:
            return 0, '{"install": [{"metadata": {"name": "fakeai", "version": "2.0.0"}}]}', ""
        return 0, "Version: 1.0.0\n", ""
    monkeypatch.setattr(updater, "run", fake_run)
    venv = make_dir(os.path.join(root_tree, "home", "bob", "venv"), uid=1000)
    make_dir(os.path.join(venv, "bin"), uid=1000)
    with open(os.path.join(venv, "bin", "python"), "w") as handle:
        handle.write("#!/bin/sh\n")
    cfg = _cfg(tmp_path, venv, ["--index-url", "https://pypi.example/simple"],
               {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "localhost"}, policy="notify")
    code, status = updater.execute(cfg, "run")
    assert (code, status["result"], status["available"]) == (0, "update_available", "2.0.0")
    python = os.path.join(venv, "bin", "python")
    assert [argv for argv, kwargs in calls] == [
        [python, "-m", "pip", "show", "fakeai"],
        [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps", "--quiet", "--report", "-",
         "fakeai", "--index-url", "https://pypi.example/simple"]]
    assert all(kwargs["user"][0] == 1000 and "PIP_CONFIG_FILE" not in kwargs["env"] for argv, kwargs in calls)


@pytest.mark.parametrize("args,argv,config", [
    (["--index-url", "https://pypi.example/simple", "--no-cache-dir"],
     ["--index-url", "https://pypi.example/simple", "--no-cache-dir"], []),
    (["-i" + INDEX, "--extra-index-url", "https://pypi.org/simple", "--trusted-host", "pypi.example"],
     ["--extra-index-url", "https://pypi.org/simple", "--trusted-host", "pypi.example"],
     [("index-url", False, [INDEX])]),
    (["--extra-index-url", "https://pypi.org/simple", "--extra-index-url", MIRROR, "--find-links=" + MIRROR],
     [], [("extra-index-url", True, ["https://pypi.org/simple", MIRROR]), ("find-links", True, [MIRROR])]),
    (["--index-url", "https://pypi.org/simple", "--index-url", INDEX], [], [("index-url", False, [INDEX])]),
])
def test_split_pip_credentials_moves_every_value_of_an_option_that_has_one_with_credentials(args, argv, config):
    assert updater.split_pip_credentials(args) == (argv, config)


@pytest.mark.parametrize("args", [
    ["--trusted-host", INDEX], ["fakeai @ https://deploy:%s@files.example/fakeai.whl" % PASSWORD],
    ["--extra-index", MIRROR],  # pip would take the abbreviation; the updater does not guess
])
def test_credentials_the_updater_cannot_move_are_refused_without_showing_them(tmp_path, root_tree, args):
    rec = tmp_path / "rec"
    rec.mkdir()
    cfg = _cfg(tmp_path, _root_venv(root_tree, str(rec)), args)
    code, status = updater.execute(cfg, "run")
    assert (code, status["result"]) == (2, "error")
    assert status["message"].startswith("pip runtime fakeai: pip_extra_args: credentials in ")
    assert "they would be on the command line" in status["message"]
    assert PASSWORD not in status["message"] and TOKEN not in status["message"]
    assert not (rec / "cmdline").exists()


def test_the_environment_carries_credentials_when_a_url_has_a_user_or_a_name_says_secret():
    assert updater.is_secret_variable("PIP_INDEX_URL", INDEX)
    assert updater.is_secret_variable("PIP_EXTRA_INDEX_URL", "https://pypi.org/simple " + MIRROR)
    assert updater.is_secret_variable("HF_TOKEN", TOKEN)
    assert updater.is_secret_variable("ARTIFACTORY_PASSWORD", PASSWORD)
    assert not updater.is_secret_variable("PIP_INDEX_URL", "https://pypi.example/simple")
    assert not updater.is_secret_variable("HTTPS_PROXY", "http://proxy.example:3128")
    assert not updater.is_secret_variable("HF_TOKEN", "")
    assert not updater.is_secret_variable("NO_AUTH", "secret")
    assert not updater.is_secret_variable("SSL_CERT_FILE", "/etc/aihost/updates/ca.crt")


@pytest.mark.parametrize("extra_args,environ,why", [
    (["--index-url", INDEX], {"PIP_CONFIG_FILE": "/etc/pip-team.conf"},
     "PIP_CONFIG_FILE is set, and the index credentials in pip_extra_args would go into a configuration file "
     "of their own: put them in that file"),
    (["--index-url", INDEX, "--isolated"], {},
     "--isolated makes pip ignore the configuration file that carries the index credentials"),
])
def test_credentials_pip_would_not_read_from_the_updaters_file_are_refused(
        tmp_path, root_tree, monkeypatch, extra_args, environ, why):
    rec = tmp_path / "rec"
    rec.mkdir()
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    cfg = _cfg(tmp_path, _root_venv(root_tree, str(rec)), extra_args)
    code, status = updater.execute(cfg, "run")
    assert (code, status["result"], status["current"]) == (1, "error", "1.0.0")
    assert status["message"] == "pip runtime fakeai: " + why
    assert "install" not in _read(rec / "cmdline")  # only `pip show` ran, without the credentials
