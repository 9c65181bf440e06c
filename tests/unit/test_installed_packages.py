"""plugins/module_utils/packages.py and plugins/modules/installed_packages.py: the installed packages
are read from the dpkg database as text, or from `rpm -qa` under the C locale, in the shape
ansible.builtin.package_facts returns, with no Python binding on the host; the packages a role needs
and does not have are named; nothing changes, in check mode or not.

Fixtures: tests/unit/fixtures/packages/ (README.md there says which were captured and which written).
"""
import json
import os

import pytest
import yaml

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.aihost.hardening.plugins.module_utils import packages
from ansible_collections.aihost.hardening.plugins.modules import installed_packages as module

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "packages")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def dpkg_root(tmp_path, name):
    """A host root whose dpkg database is the named fixture."""
    status = tmp_path / "var" / "lib" / "dpkg" / "status"
    status.parent.mkdir(parents=True)
    status.write_text(fixture(name) if name else "")
    return str(tmp_path)


def run(capsys, monkeypatch, root, args=None, rpm=None, rpm_output="", rpm_rc=0):
    """Run the module against ROOT; RPM is the rpm path get_bin_path finds (None: not installed)."""
    calls = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return rpm if name == "rpm" else None

    def run_command(self, argv, **kwargs):
        calls.append({"argv": argv, "environ_update": kwargs.get("environ_update")})
        return rpm_rc, rpm_output, "rpmdb: damaged" if rpm_rc else ""

    monkeypatch.setattr(module, "HOST_ROOT", root)
    monkeypatch.setattr(AnsibleModule, "get_bin_path", get_bin_path)
    monkeypatch.setattr(AnsibleModule, "run_command", run_command)
    with patch_module_args(args or {}):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out), calls


# --- dpkg ------------------------------------------------------------------------------------------

def test_captured_debian_status_gives_package_facts_shape():
    """Every installed package of the captured file, keyed by name, one entry each, with dpkg's version."""
    found = packages.parse_dpkg_packages(fixture("debian12-dpkg-status"))
    assert sorted(found) == ["ca-certificates", "dpkg", "libc6", "nftables", "openssl", "python3", "tzdata"]
    assert found["nftables"] == [{"name": "nftables", "version": "1.0.6-2+deb12u2", "arch": "amd64",
                                  "category": "net", "source": "dpkg"}]
    assert found["ca-certificates"][0]["arch"] == "all"
    # Multi-line fields (Description, Conffiles) are not taken for fields.
    assert all(len(entries) == 1 for entries in found.values())


def test_only_installed_states_count():
    """installed, and the two trigger states, count; unpacked, config-files and not-installed do not.
    The selection (hold, deinstall) does not matter: a held or to-be-removed package is still there."""
    found = packages.parse_dpkg_packages(fixture("multiarch-and-states-dpkg-status"))
    assert "nvidia-kernel-dkms" in found           # hold ok installed
    assert "openssh-server" in found               # deinstall ok installed
    assert "nginx" in found                        # install ok triggers-pending
    assert "python3-apt" not in found              # install ok unpacked
    assert "gnupg" not in found                    # deinstall ok config-files
    assert "firewalld" not in found                # purge ok not-installed
    assert "not-a-package" not in found            # a continuation line of a Description


def test_foreign_architecture_is_name_colon_arch_like_python_apt():
    """dpkg's own architecture is the native one: libc6 (amd64) keeps its name, libc6 (i386) is
    libc6:i386, and an arch 'all' package keeps its name."""
    found = packages.parse_dpkg_packages(fixture("multiarch-and-states-dpkg-status"))
    assert found["libc6"] == [{"name": "libc6", "version": "2.36-9+deb12u14", "arch": "amd64",
                               "category": "libs", "source": "dpkg"}]
    assert found["libc6:i386"][0]["name"] == "libc6:i386" and found["libc6:i386"][0]["arch"] == "i386"
    assert found["netbase"][0]["arch"] == "all" and found["netbase"][0]["category"] is None
    # The epoch stays in the version, as python-apt reports it (the updates role strips it itself).
    assert found["openssh-server"][0]["version"] == "1:9.2p1-2+deb12u7"


def test_without_dpkg_in_the_database_no_name_gets_an_arch_suffix():
    text = "Package: libc6\nStatus: install ok installed\nArchitecture: i386\nVersion: 2.36\n"
    assert list(packages.parse_dpkg_packages(text)) == ["libc6"]


def test_parse_dpkg_status_by_name_is_the_one_runtime_detect_uses():
    """runtime_detect imports this parser (one dpkg parser in the collection)."""
    from ansible_collections.aihost.hardening.plugins.module_utils import runtime_detect
    assert runtime_detect.parse_dpkg_status is packages.parse_dpkg_status
    text = fixture("multiarch-and-states-dpkg-status")
    assert packages.parse_dpkg_status(text, ["nginx", "python3-apt", "gnupg", "nvidia-kernel-dkms", "absent"]) == {
        "nginx": "1.22.1-9+deb12u2", "nvidia-kernel-dkms": "535.247.01-1~deb12u1"}
    assert packages.parse_dpkg_status(text, []) == {}


@pytest.mark.parametrize("text", ["", "\x00junk\n\n\n", "Status: install ok installed\nVersion: 1\n",
                                  "Package: x\nStatus: install ok installed\n"])
def test_empty_or_damaged_text_gives_no_package(text):
    assert packages.parse_dpkg_packages(text) == {}


def test_missing_keeps_order_and_names_each_once():
    found = {"nftables": [{}]}
    assert packages.missing_packages(found, ["nginx", "nftables", "openssl", "nginx"]) == ["nginx", "openssl"]
    assert packages.missing_packages(found, []) == []


def test_installer_dependencies_come_only_with_something_to_install():
    """python3-apt is added (once, last) on a dpkg host that lacks it, only when something else is
    missing: with nothing to install, ansible.builtin.apt is not called and needs nothing."""
    found = {"nftables": [{}]}
    assert packages.packages_to_install(found, ["nginx"], "dpkg", True) == ["nginx", "python3-apt"]
    assert packages.packages_to_install(found, ["nftables"], "dpkg", True) == []
    assert packages.packages_to_install(found, ["python3-apt", "nginx"], "dpkg", True) == ["python3-apt", "nginx"]
    assert packages.packages_to_install(dict(found, **{"python3-apt": [{}]}), ["nginx"], "dpkg", True) == ["nginx"]
    assert packages.packages_to_install(found, ["nginx"], "dpkg", False) == ["nginx"]
    assert packages.packages_to_install(found, ["nginx"], "rpm", True) == ["nginx"]


# --- rpm -------------------------------------------------------------------------------------------

def test_rpm_output_gives_package_facts_shape():
    found = packages.parse_rpm_packages(fixture("rpm-qa-queryformat.txt"))
    assert [entry["release"] for entry in found["kernel"]] == ["427.13.1.el9_4", "503.14.1.el9_5"]
    assert found["shadow-utils"] == [{"name": "shadow-utils", "version": "4.9", "release": "9.el9", "epoch": "2",
                                      "arch": "x86_64", "source": "rpm"}]
    assert found["bash"][0]["epoch"] is None
    assert sorted(entry["arch"] for entry in found["glibc"]) == ["i686", "x86_64"]
    assert found["gpg-pubkey"][0]["arch"] is None
    assert "a line without tabs" not in found and len(found) == 7


# --- the module ------------------------------------------------------------------------------------

def test_module_reads_dpkg_and_names_what_is_missing(tmp_path, capsys, monkeypatch):
    root = dpkg_root(tmp_path, "debian12-dpkg-status")
    result, calls = run(capsys, monkeypatch, root, {"required": ["nftables", "nginx", "openssl", "python3-apt"]})
    assert result.get("failed") is not True and result["changed"] is False
    assert result["manager"] == "dpkg"
    assert result["missing"] == ["nginx", "python3-apt"]
    assert result["ansible_facts"]["packages"] == packages.parse_dpkg_packages(fixture("debian12-dpkg-status"))
    assert calls == [], "reading dpkg runs no command"


def test_module_adds_python3_apt_where_apt_will_need_it(tmp_path, capsys, monkeypatch):
    """The captured host has no python3-apt (a minimal Debian): asked for, it comes after nginx."""
    root = dpkg_root(tmp_path, "debian12-dpkg-status")
    result = run(capsys, monkeypatch, root, {"required": ["nftables", "nginx"], "installer_dependencies": True})[0]
    assert result["missing"] == ["nginx", "python3-apt"]
    result = run(capsys, monkeypatch, root, {"required": ["nftables"], "installer_dependencies": True})[0]
    assert result["missing"] == []


def test_check_mode_gives_the_same_result(tmp_path, capsys, monkeypatch):
    root = dpkg_root(tmp_path, "multiarch-and-states-dpkg-status")
    normal = run(capsys, monkeypatch, root, {"required": ["nginx", "gnupg"]})[0]
    checked = run(capsys, monkeypatch, root, {"required": ["nginx", "gnupg"], "_ansible_check_mode": True})[0]
    assert checked == normal and checked["changed"] is False and checked["missing"] == ["gnupg"]


def test_module_runs_rpm_as_an_argument_list_under_the_c_locale(tmp_path, capsys, monkeypatch):
    """No dpkg database: rpm -qa with the query format, argv not a string, LC_ALL=C."""
    result, calls = run(capsys, monkeypatch, str(tmp_path), {"required": ["dnf-utils", "nginx"]},
                        rpm="/usr/bin/rpm", rpm_output=fixture("rpm-qa-queryformat.txt"))
    assert result["manager"] == "rpm" and result["missing"] == ["nginx"]
    assert calls == [{"argv": ["/usr/bin/rpm", "-qa", "--qf", packages.RPM_QUERYFORMAT],
                      "environ_update": {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}}]
    assert len(result["ansible_facts"]["packages"]["kernel"]) == 2


def test_an_empty_dpkg_database_on_an_rpm_host_is_not_taken_for_dpkg(tmp_path, capsys, monkeypatch):
    root = dpkg_root(tmp_path, None)
    result = run(capsys, monkeypatch, root, rpm="/usr/bin/rpm", rpm_output="bash\t(none)\t5.1.8\t9.el9\tx86_64\n")[0]
    assert result["manager"] == "rpm" and list(result["ansible_facts"]["packages"]) == ["bash"]


@pytest.mark.parametrize("args, rpm, rpm_rc, message", [
    ({}, None, 0, "found neither the dpkg database (/var/lib/dpkg/status) nor the rpm command"),
    ({"manager": "rpm"}, None, 0, "the rpm command was not found"),
    ({"manager": "rpm"}, "/usr/bin/rpm", 1, "rpm -qa failed (rc 1): rpmdb: damaged"),
    ({"manager": "dpkg"}, None, 0, "cannot read the dpkg database /var/lib/dpkg/status"),
    ({"manager": "apt"}, None, 0, "value of manager must be one of: auto, dpkg, rpm"),
])
def test_failures_say_what_is_missing(tmp_path, capsys, monkeypatch, args, rpm, rpm_rc, message):
    result = run(capsys, monkeypatch, str(tmp_path), args, rpm=rpm, rpm_rc=rpm_rc)[0]
    assert result["failed"] is True and message in result["msg"] and "exception" not in result


def test_documentation_lists_every_option_and_returned_key():
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert set(doc["options"]) == set(module.argument_spec())
    assert set(doc["attributes"]) >= {"check_mode", "diff_mode", "platform"}
    returned = yaml.safe_load(module.RETURN)
    assert set(returned) == {"ansible_facts", "manager", "missing"}
    fields = set(returned["ansible_facts"]["contains"]["packages"]["contains"])
    dpkg_entry = packages.parse_dpkg_packages(fixture("debian12-dpkg-status"))["dpkg"][0]
    rpm_entry = packages.parse_rpm_packages(fixture("rpm-qa-queryformat.txt"))["bash"][0]
    assert set(dpkg_entry) | set(rpm_entry) == fields
