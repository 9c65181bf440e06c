"""plugins/module_utils/host_config.py: the audit's host-configuration checks. The parsing is fed
text captured from a real Debian 12 container (tests/unit/fixtures/host_config); the reading runs
against a fake module and a temporary root, so it proves which commands run (argv lists, only the
tools that exist) without touching this machine."""
import os

from ansible_collections.aihost.hardening.plugins.module_utils import audit_policy
from ansible_collections.aihost.hardening.plugins.module_utils import host_config

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "host_config")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


class FakeModule(object):
    """get_bin_path from a dictionary; run_command answers from canned output by argv[0:2]."""

    def __init__(self, binaries, outputs):
        self.binaries = binaries
        self.outputs = outputs
        self.calls = []

    def get_bin_path(self, name):
        return self.binaries.get(name)

    def run_command(self, argv, check_rc=False):
        assert isinstance(argv, list) and check_rc is False
        self.calls.append(argv)
        return self.outputs.get(" ".join(os.path.basename(word) for word in argv[:2]), (1, "", "not found"))


DEBIAN_BINARIES = {"nft": "/usr/sbin/nft", "systemctl": "/usr/bin/systemctl", "apt-config": "/usr/bin/apt-config",
                   "dpkg-query": "/usr/bin/dpkg-query"}


def debian_module():
    return FakeModule(DEBIAN_BINARIES, {
        "nft list": (0, fixture("nft-input-drop.txt"), ""),
        "apt-config dump": (0, fixture("apt-config-dump-unattended.txt"), ""),
        "dpkg-query -W": (1, fixture("dpkg-query.txt"), "dpkg-query: no packages found matching docker.io\n"),
    })


def debian_root(tmp_path):
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    tool = tmp_path / "usr" / "bin" / "unattended-upgrade"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    models = tmp_path / "srv" / "models"
    models.mkdir(parents=True)
    models.chmod(0o777)
    return tmp_path


def test_the_captured_nftables_ruleset_filters_input():
    assert host_config.nft_filters_input(fixture("nft-input-drop.txt")) is True


def test_forward_only_and_accepting_input_chains_do_not_count_as_a_firewall():
    docker_only = "table ip filter {\n\tchain FORWARD {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n"
    accepting = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n"
    assert host_config.nft_filters_input(docker_only) is False
    assert host_config.nft_filters_input(accepting) is False
    assert host_config.nft_filters_input("") is False


def test_apt_periodic_keeps_only_named_periodic_settings():
    periodic = host_config.parse_apt_periodic(fixture("apt-config-dump-unattended.txt").splitlines())
    assert periodic == {"Update-Package-Lists": "1", "Unattended-Upgrade": "1"}


def test_dpkg_lines_of_known_but_absent_packages_are_dropped():
    lines = [line for line in fixture("dpkg-query.txt").splitlines() if host_config.keep_dpkg_line(line)]
    assert host_config.parse_packages(lines) == [
        {"manager": "dpkg", "name": "nftables", "version": "1.0.6-2+deb12u2"},
        {"manager": "dpkg", "name": "openssh-server", "version": "1:9.2p1-2+deb12u10"},
        {"manager": "dpkg", "name": "unattended-upgrades", "version": "2.9.1+nmu3"}]


def test_data_path_modes_get_four_octal_digits_and_keep_bars_in_paths():
    assert host_config.parse_data_path_modes(["1777|root|root|/tmp", "755|a|b|/x|y", "garbage"]) == [
        {"mode": "1777", "owner": "root", "group": "root", "path": "/tmp"},
        {"mode": "0755", "owner": "a", "group": "b", "path": "/x|y"}]


def test_read_sections_runs_only_the_tools_that_exist_and_only_reads(tmp_path):
    module = debian_module()
    root = debian_root(tmp_path)
    sections = host_config.read_sections(module, ["/srv/models", "/missing"], ["openssh-server", "nftables",
                                                                               "firewalld", "docker.io"], root=str(root))
    # No firewalld or dnf-automatic unit file under the root: systemctl is never asked; no ufw binary.
    assert [call[:2] for call in module.calls] == [["/usr/sbin/nft", "list"], ["/usr/bin/apt-config", "dump"],
                                                   ["/usr/bin/dpkg-query", "-W"]]
    assert module.calls[2] == ["/usr/bin/dpkg-query", "-W", "-f=dpkg|${Package}|${Version}\\n",
                               "openssh-server", "nftables", "firewalld", "docker.io"]
    assert sections["unattended_upgrades"] == ["present"]
    assert sections["data_paths"] == ["777|%s|%s|/srv/models" % (
        host_config._name_of(lambda uid: __import__("pwd").getpwuid(uid).pw_name, os.getuid()),
        host_config._name_of(lambda gid: __import__("grp").getgrgid(gid).gr_name, os.getgid()))]
    checks = host_config.summarize(sections)
    assert checks["firewall"]["active"] is True
    assert checks["firewall"]["nftables_tables"] == ["table inet filter {"]
    assert checks["automatic_updates"]["configured"] is True
    assert checks["data_path_modes"][0]["mode"] == "0777"
    assert [item["name"] for item in checks["packages"]] == ["nftables", "openssh-server", "unattended-upgrades"]


def test_units_with_a_unit_file_are_asked_and_an_enabled_dnf_timer_counts(tmp_path):
    units = tmp_path / "usr" / "lib" / "systemd" / "system"
    units.mkdir(parents=True)
    (units / "firewalld.service").write_text("[Unit]\n")
    (units / "dnf-automatic.timer").write_text("[Unit]\n")
    module = FakeModule({"systemctl": "/usr/bin/systemctl", "rpm": "/usr/bin/rpm"}, {
        "systemctl is-active": (0, "active\n", ""),
        "systemctl is-enabled": (0, "enabled\n", ""),
        "rpm -q": (1, "rpm|nftables|1.0.9-3.el9\npackage ufw is not installed\n", ""),
    })
    checks = host_config.collect(module, [], ["nftables", "ufw"], root=str(tmp_path))
    assert ["/usr/bin/systemctl", "is-enabled", "dnf-automatic.timer"] in module.calls
    assert not any("dnf5-automatic.timer" in call for call in module.calls)
    assert checks["firewall"]["firewalld_active"] is True and checks["firewall"]["active"] is True
    assert checks["automatic_updates"]["dnf_timers"] == ["dnf-automatic.timer"]
    assert checks["packages"] == [{"manager": "rpm", "name": "nftables", "version": "1.0.9-3.el9"}]


def test_no_tools_and_no_packages_mean_no_firewall_no_updates_and_no_command(tmp_path):
    module = FakeModule({}, {})
    checks = host_config.collect(module, ["/nowhere"], [], root=str(tmp_path))
    assert module.calls == []
    assert checks["firewall"]["active"] is False and checks["automatic_updates"]["configured"] is False
    assert checks["data_path_modes"] == [] and checks["packages"] == []


def test_a_command_that_cannot_start_leaves_its_section_empty(tmp_path):
    class Broken(FakeModule):
        def run_command(self, argv, check_rc=False):
            raise OSError("exec format error")
    checks = host_config.collect(Broken(DEBIAN_BINARIES, {}), [], ["nftables"], root=str(tmp_path))
    assert checks["firewall"]["active"] is False and checks["packages"] == []


def test_a_symlinked_data_path_is_reported_as_the_link_itself(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real").chmod(0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert host_config.stat_line("/link", str(tmp_path)).startswith("777|")
    assert host_config.stat_line("/real", str(tmp_path)).startswith("700|")


def test_the_text_form_and_the_module_form_give_the_same_report_section(tmp_path):
    """audit_evaluate accepts both: the @@section text (older callers) and the module's dictionary."""
    sections = host_config.read_sections(debian_module(), ["/srv/models"], ["nftables"], root=str(debian_root(tmp_path)))
    text = "\n".join("@@%s\n%s" % (name, "\n".join(lines)) for name, lines in sections.items())
    assert audit_policy.parse_host_checks(text) == host_config.summarize(sections)
    assert audit_policy.parse_host_checks(host_config.summarize(sections)) == host_config.summarize(sections)


DEBIAN12_OS_RELEASE = '''PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
'''
UBUNTU_OS_RELEASE = 'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n'
ROCKY_OS_RELEASE = "NAME='Rocky Linux'\nVERSION_ID='9.4'\nID=\"rocky\"\n"


def test_the_os_string_is_the_one_setup_reports_on_debian_ubuntu_and_rocky():
    # Debian 12 (aihost-debian12 image: /etc/debian_version 12.15): setup said "Debian 12.15".
    assert host_config.os_words(host_config.parse_os_release(DEBIAN12_OS_RELEASE), "12.15\n") == "Debian 12.15"
    # A testing/sid debian_version ("trixie/sid") has no point release: VERSION_ID stays.
    assert host_config.os_words(host_config.parse_os_release(DEBIAN12_OS_RELEASE), "trixie/sid\n") == "Debian 12"
    assert host_config.os_words(host_config.parse_os_release(UBUNTU_OS_RELEASE), None) == "Ubuntu 24.04"
    assert host_config.os_words(host_config.parse_os_release(ROCKY_OS_RELEASE), None) == "Rocky 9.4"
    assert host_config.os_words(host_config.parse_os_release('NAME="Acme OS"\nID=acme\n')) == "Acme OS"
    assert host_config.os_words({}) is None


def test_architecture_names_follow_setup():
    assert host_config.architecture("x86_64") == "x86_64"
    assert host_config.architecture("i686") == "i386"
    assert host_config.architecture("aarch64") == "aarch64"
    assert host_config.architecture("") is None


def test_the_header_reads_os_release_under_the_root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text(DEBIAN12_OS_RELEASE)
    (tmp_path / "etc" / "debian_version").write_text("12.15\n")
    header = host_config.read_header(str(tmp_path))
    assert header["os"] == "Debian 12.15"
    assert set(header) == {"hostname", "fqdn", "os", "kernel", "architecture"} and header["kernel"]
