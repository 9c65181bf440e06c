"""The host library install (module_utils/host_library.py, modules/host_library.py, action/host_library.py)."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import host_library as lib
from ansible_collections.aihost.hardening.plugins.modules import host_library as module
from ansible_collections.aihost.hardening.plugins.action import host_library as action

FILES = {"alpha.py": "A = 1\n", "beta.py": "from ansible_collections.aihost.hardening.plugins.module_utils import alpha\nB = alpha.A + 1\n"}
PACKAGE_DIR = os.path.join(*lib.PACKAGE)


def install(root, files):
    version = lib.version_of(files)
    steps = lib.plan(root, files, version)
    lib.apply(root, files, version, steps)
    return version, steps


def test_version_is_a_digest_of_names_and_contents():
    assert lib.version_of(FILES) == lib.version_of(dict(reversed(list(FILES.items()))))
    assert lib.VERSION_NAME.match(lib.version_of(FILES))
    assert lib.version_of(FILES) != lib.version_of(dict(FILES, **{"alpha.py": "A = 2\n"}))
    # A name and content boundary cannot be shifted into the same digest.
    assert lib.version_of({"a.py": "x.py"}) != lib.version_of({"a.pyx.py": ""})


@pytest.mark.parametrize("files, message", [
    ({}, "non-empty"),
    ({"../evil.py": ""}, "not a module file name"),
    ({"__init__.py": ""}, "not a module file name"),
    ({"x.sh": ""}, "not a module file name"),
    ({"x.py": 1}, "not text"),
])
def test_bad_input_is_refused(files, message):
    assert message in lib.bad_input(files, "0" * 16)


def test_a_version_that_is_not_the_digest_is_refused():
    assert "transfer was altered" in lib.bad_input(FILES, "0" * 16)
    assert lib.bad_input(FILES, lib.version_of(FILES)) is None


def test_fresh_install_writes_a_package_and_the_current_link(tmp_path):
    root = str(tmp_path / "aihost")
    version, steps = install(root, FILES)
    assert steps == {"write": True, "switch": True, "remove": [], "previous": None}
    assert os.readlink(os.path.join(root, "current")) == version
    package = os.path.join(root, "current", PACKAGE_DIR)
    with open(os.path.join(package, "beta.py")) as handle:
        assert handle.read() == FILES["beta.py"]
    for depth in range(1, len(lib.PACKAGE) + 1):
        init = os.path.join(root, version, *(lib.PACKAGE[:depth] + ("__init__.py",)))
        assert os.path.getsize(init) == 0
    assert oct(os.stat(os.path.join(package, "alpha.py")).st_mode & 0o777) == "0o644"
    assert oct(os.stat(package).st_mode & 0o777) == "0o755"
    assert not [name for name in os.listdir(root) if name.startswith(".")]


def test_the_installed_package_imports_as_the_collection(tmp_path):
    root = str(tmp_path / "aihost")
    install(root, FILES)
    code = ("import sys; sys.path.insert(0, %r); "
            "from ansible_collections.aihost.hardening.plugins.module_utils import beta; print(beta.B)"
            % os.path.join(root, "current"))
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "2", out.stderr


def test_second_install_plans_nothing(tmp_path):
    root = str(tmp_path / "aihost")
    version = install(root, FILES)[0]
    # A command that imported the library as root left byte-code caches: not a difference.
    cache = os.path.join(root, version, PACKAGE_DIR, "__pycache__")
    os.mkdir(cache)
    with open(os.path.join(cache, "alpha.cpython-311.pyc"), "wb") as handle:
        handle.write(b"\0")
    assert lib.plan(root, FILES, version) == {"write": False, "switch": False, "remove": [], "previous": version}


def test_new_version_keeps_the_previous_and_removes_older(tmp_path):
    root = str(tmp_path / "aihost")
    first = install(root, FILES)[0]
    second, steps = install(root, dict(FILES, **{"alpha.py": "A = 2\n"}))
    assert steps["previous"] == first and steps["remove"] == []
    third, steps = install(root, dict(FILES, **{"alpha.py": "A = 3\n"}))
    assert steps == {"write": True, "switch": True, "remove": [first], "previous": second}
    assert sorted(os.listdir(root)) == sorted(["current", second, third])
    assert os.readlink(os.path.join(root, "current")) == third


def test_an_edited_version_directory_is_rewritten(tmp_path):
    root = str(tmp_path / "aihost")
    version = install(root, FILES)[0]
    with open(os.path.join(root, version, PACKAGE_DIR, "alpha.py"), "w") as handle:
        handle.write("import os; os.system('id')\n")
    steps = lib.plan(root, FILES, version)
    assert steps["write"] and not steps["switch"]
    lib.apply(root, FILES, version, steps)
    with open(os.path.join(root, "current", PACKAGE_DIR, "alpha.py")) as handle:
        assert handle.read() == FILES["alpha.py"]
    assert lib.plan(root, FILES, version)["write"] is False


def test_a_link_or_extra_file_in_a_version_directory_is_rewritten(tmp_path):
    root = str(tmp_path / "aihost")
    version = install(root, FILES)[0]
    target = os.path.join(root, version, PACKAGE_DIR, "alpha.py")
    os.unlink(target)
    os.symlink("/etc/passwd", target)
    assert lib.plan(root, FILES, version)["write"] is True
    lib.apply(root, FILES, version, lib.plan(root, FILES, version))
    assert not os.path.islink(target)
    with open(os.path.join(root, version, PACKAGE_DIR, "extra.py"), "w") as handle:
        handle.write("")
    assert lib.plan(root, FILES, version)["write"] is True


def test_the_module_refuses_a_root_others_can_write():
    if os.geteuid() != 0 or module.untrusted_root("/var/lib") is not None:
        pytest.skip("needs root and a root-only /var/lib")
    base = tempfile.mkdtemp(prefix="aihost-host-library-", dir="/var/lib")
    try:
        assert module.untrusted_root(os.path.join(base, "aihost")) is None
        os.chmod(base, 0o777)
        reason = module.untrusted_root(os.path.join(base, "aihost", "lib"))
        assert reason == "%s is writable by group and others (mode 0777)" % base
    finally:
        shutil.rmtree(base)


def test_the_action_plugin_sends_the_collections_module_files():
    files = action.library_files()
    assert "host_library.py" in files and "versions.py" in files and "__init__.py" not in files
    assert lib.bad_input(files, lib.version_of(files)) is None


@pytest.mark.parametrize("command, role, source", [
    ("aihost-updater", "updates", "aihost-updates-command"),
    ("aihost-reboot-gate", "updates", "aihost-updates-command"),
    ("aihost-model-verify", "model_integrity", "aihost-model-verify"),
    ("aihost-metrics", "metrics", "aihost-metrics")])
def test_each_host_command_runs_from_an_installed_library(tmp_path, command, role, source):
    """The thin commands, installed under their names, find their code only in the library
    host_library laid out (--lib), not in the checkout: a missing config is reported by the
    library's own code, exit status 2."""
    root = str(tmp_path / "aihost")
    install(root, action.library_files())
    script = str(tmp_path / command)
    shutil.copy(os.path.join(os.path.dirname(action.MODULE_UTILS), "..", "roles", role, "files", source), script)
    out = subprocess.run([sys.executable, "-I", script, "--lib", os.path.join(root, "current"),
                          "--config", str(tmp_path / "missing.json")], capture_output=True, text=True, check=False)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "cannot load" not in out.stdout + out.stderr
    assert "missing.json" in out.stdout + out.stderr
    out = subprocess.run([sys.executable, "-I", script, "--lib", str(tmp_path / "nowhere"),
                          "--config", str(tmp_path / "missing.json")], capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "cannot load" in out.stdout + out.stderr


def test_the_updates_command_refuses_an_unknown_name(tmp_path):
    script = str(tmp_path / "aihost-something")
    shutil.copy(os.path.join(os.path.dirname(action.MODULE_UTILS), "..", "roles", "updates", "files",
                             "aihost-updates-command"), script)
    out = subprocess.run([sys.executable, "-I", script], capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "install this file as one of aihost-reboot-gate, aihost-updater" in out.stdout
