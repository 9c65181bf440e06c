"""plugins/module_utils/host_config.py: the audit's host-configuration checks. The parsing is fed
text captured from a real Debian 12 container (tests/unit/fixtures/host_config); the reading runs
against a fake module and a temporary root, so it proves which commands run (argv lists, only the
tools that exist) without touching this machine."""
import pytest
import json
import os

from ansible_collections.aihost.hardening.plugins.module_utils import audit_policy
from ansible_collections.aihost.hardening.plugins.module_utils import host_config
from ansible_collections.aihost.hardening.plugins.module_utils import service_users

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
        "nft -j": (0, fixture("nft-policydrop.json"), ""),
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
    assert [call[:2] for call in module.calls] == [["/usr/sbin/nft", "list"], ["/usr/sbin/nft", "-j"],
                                                   ["/usr/bin/apt-config", "dump"], ["/usr/bin/dpkg-query", "-W"]]
    assert module.calls[1] == ["/usr/sbin/nft", "-j", "list", "ruleset"]
    assert module.calls[3] == ["/usr/bin/dpkg-query", "-W", "-f=dpkg|${Package}|${Version}\\n",
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


# ---------------------------------------------------------------------------------------------
# The model_integrity role's results. The documents have the shapes the role writes (findings.json:
# tasks/scan.yml from model_scan's RETURN) and its verify timer writes (last-verify.json:
# files/aihost-model-verify); the model_integrity scenario runs the audit against the real files.

EVIL = {"path": "checkpoints/evil.pt", "format": "pickle", "verdict": "malicious", "severity": "critical",
        "sha256": "ab" * 32, "findings": [{"severity": "critical", "kind": "import", "global": "posix.system",
                                           "detail": "imports posix.system: runs commands"}]}
ODD = {"path": "extra.pkl", "format": "pickle", "verdict": "suspicious", "severity": "medium", "sha256": "cd" * 32,
       "findings": [{"severity": "medium", "kind": "import", "global": "collections.OrderedDict", "detail": "unlisted import"}]}
NOTE_ONLY = {"path": "model.gguf", "format": "gguf", "verdict": "clean", "severity": "info", "sha256": "ef" * 32,
             "findings": [{"severity": "info", "kind": "template_injection", "detail": "chat template reviewed"}]}
ROLE_RUN = {"schema_version": 1, "generator": "aihost.hardening.model_integrity",
            "stores": [{"path": "/srv/models", "id": "srv_models-77e26ac6", "runtime": None,
                        "manifest": "/var/lib/aihost/model_integrity/srv_models-77e26ac6.json",
                        "formats": {"pickle": 2, "gguf": 1}, "verdicts": {"clean": 1, "malicious": 1, "suspicious": 1},
                        "findings": [EVIL, ODD, NOTE_ONLY], "problems": []}]}
VERIFY_RUN = {"finished": "2026-12-06T03:30:12Z", "elapsed_s": 0.4, "ok": False, "stores": [
    {"path": "/srv/models", "manifest": "/var/lib/aihost/model_integrity/srv_models-77e26ac6.json", "ok": False,
     "drift": {"added": ["new.bin"], "removed": [], "changed": [{"path": "model.gguf", "fields": ["sha256"]}],
               "symlinks_changed": []},
     "signature": {"valid": True, "detail": "HMAC-SHA256 matches"}, "findings": [EVIL], "stats": {"files": 3}},
    {"path": "/srv/gone", "manifest": "/var/lib/aihost/model_integrity/srv_gone-1.json", "ok": False,
     "error": "store /srv/gone does not exist"}]}


def write_state(root, documents, mtimes):
    state = root / "var" / "lib" / "aihost" / "model_integrity"
    state.mkdir(parents=True)
    for name, content in documents.items():
        path = state / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        os.utime(str(path), (mtimes[name], mtimes[name]))
    return "/var/lib/aihost/model_integrity"


def test_model_integrity_is_null_when_the_role_never_ran(tmp_path):
    assert host_config.read_model_integrity("/var/lib/aihost/model_integrity", str(tmp_path)) is None


def test_a_role_run_alone_lists_the_files_that_are_not_clean(tmp_path):
    state_dir = write_state(tmp_path, {"findings.json": ROLE_RUN}, {"findings.json": 1764991812})
    result = host_config.read_model_integrity(state_dir, str(tmp_path))
    assert result["pinned_at"] == "2025-12-06T03:30:12Z" and result["verified_at"] is None
    store = result["stores"][0]
    assert [item["path"] for item in store["files"]] == ["checkpoints/evil.pt", "extra.pkl"]   # the clean note is left out
    assert store["files"][0] == {"path": "checkpoints/evil.pt", "verdict": "malicious", "format": "pickle",
                                 "severity": "critical", "sha256": "ab" * 32, "detail": "imports posix.system: runs commands"}
    assert "ok" not in store, "a role run re-pins the store: only a verify says whether it drifted"


def test_a_verify_after_the_pin_adds_its_drift_and_the_files_it_inspected(tmp_path):
    """The verify lists only files added or changed since the pin: evil.pt, pinned earlier, stays;
    extra.pkl, which the verify found changed (and now clean), goes; new.bin's verdict comes in."""
    verify = json.loads(json.dumps(VERIFY_RUN))
    verify["stores"][0]["drift"]["changed"] = [{"path": "extra.pkl", "fields": ["sha256"]}]
    verify["stores"][0]["findings"] = [dict(ODD, path="new.bin")]
    state_dir = write_state(tmp_path, {"findings.json": ROLE_RUN, "last-verify.json": verify},
                            {"findings.json": 1000, "last-verify.json": 2000})
    result = host_config.read_model_integrity(state_dir, str(tmp_path))
    assert result["verified_at"] == "2026-12-06T03:30:12Z"
    models, gone = result["stores"]
    assert [item["path"] for item in models["files"]] == ["checkpoints/evil.pt", "new.bin"]
    assert models["ok"] is False and models["drift"] == {"added": 1, "removed": 0, "changed": 1, "symlinks_changed": 0}
    assert models["signature_valid"] is True
    assert gone["error"] == "store /srv/gone does not exist" and gone["files"] == []


def test_a_role_run_after_the_verify_settles_its_drift(tmp_path):
    state_dir = write_state(tmp_path, {"findings.json": ROLE_RUN, "last-verify.json": VERIFY_RUN},
                            {"findings.json": 3000, "last-verify.json": 2000})
    result = host_config.read_model_integrity(state_dir, str(tmp_path))
    assert result["verified_at"] is None and [store["path"] for store in result["stores"]] == ["/srv/models"]
    assert "ok" not in result["stores"][0]


def test_a_broken_results_file_is_reported_not_fatal(tmp_path):
    state_dir = write_state(tmp_path, {"findings.json": "{not json", "last-verify.json": VERIFY_RUN},
                            {"findings.json": 3000, "last-verify.json": 2000})
    result = host_config.read_model_integrity(state_dir, str(tmp_path))
    assert result["pinned_at"] is None and result["verified_at"] == "2026-12-06T03:30:12Z"
    assert result["errors"] and result["errors"][0].startswith("findings.json: not valid JSON")


def test_a_store_full_of_bad_files_keeps_fifty_and_counts_the_rest(tmp_path):
    many = dict(ROLE_RUN, stores=[dict(ROLE_RUN["stores"][0], findings=[dict(EVIL, path="f%03d.pt" % n) for n in range(60)])])
    state_dir = write_state(tmp_path, {"findings.json": many}, {"findings.json": 1000})
    store = host_config.read_model_integrity(state_dir, str(tmp_path))["stores"][0]
    assert len(store["files"]) == 50 and store["files_not_listed"] == 10


# ---------------------------------------------------------------------------------------------
# The service_users role's sandboxes. service_users.json as roles/service_users/tasks/report.yml
# writes it; drop-ins as plugins/module_utils/service_users.render_dropin writes them.

DIRECTIVES = [["User", "ollama"], ["Group", "ollama"], ["NoNewPrivileges", "yes"], ["ProtectSystem", "strict"]]


def write_service_users(root, dropin_text=None, unit_file=True):
    state = root / "var" / "lib" / "aihost"
    state.mkdir(parents=True)
    record = {"runtime": "ollama", "user": "ollama", "group": "ollama",
              "dropin": "/etc/systemd/system/ollama.service.d/aihost-sandbox.conf",
              "directives": ["=".join(pair) for pair in DIRECTIVES], "score_after": 1.4, "meets_target": True}
    (state / "service_users.json").write_text(json.dumps({"schema_version": 1, "units": {"ollama.service": record}}))
    units = root / "etc" / "systemd" / "system"
    (units / "ollama.service.d").mkdir(parents=True)
    if unit_file:
        (units / "ollama.service").write_text("[Service]\nExecStart=/usr/local/bin/ollama serve\n")
    if dropin_text is not None:
        (units / "ollama.service.d" / "aihost-sandbox.conf").write_text(dropin_text)
    return "/var/lib/aihost/service_users.json"


def test_an_intact_sandbox_has_nothing_missing(tmp_path):
    state_file = write_service_users(tmp_path, service_users.render_dropin("ollama", "default", DIRECTIVES))
    unit = host_config.read_service_users(state_file, str(tmp_path))["units"][0]
    assert unit["unit_present"] and unit["dropin_present"] and unit["missing_directives"] == []


def test_an_edited_or_removed_drop_in_is_noticed(tmp_path):
    edited = service_users.render_dropin("ollama", "default", DIRECTIVES).replace("User=ollama", "User=root")
    state_file = write_service_users(tmp_path, edited)
    unit = host_config.read_service_users(state_file, str(tmp_path))["units"][0]
    assert unit["missing_directives"] == ["User=ollama"]
    os.remove(str(tmp_path / "etc/systemd/system/ollama.service.d/aihost-sandbox.conf"))
    unit = host_config.read_service_users(state_file, str(tmp_path))["units"][0]
    assert unit["dropin_present"] is False


def test_no_state_file_means_the_role_never_ran(tmp_path):
    assert host_config.read_service_users("/var/lib/aihost/service_users.json", str(tmp_path)) is None


def test_refused_data_directories_are_passed_on_with_known_fields_only(tmp_path):
    """The role's state lists what it did not hand over; the reader keeps known fields, caps strings
    (they quote what a runtime said about itself) and drops malformed entries."""
    state_file = write_service_users(tmp_path, service_users.render_dropin("ollama", "default", DIRECTIVES))
    path = tmp_path / state_file.lstrip("/")
    document = json.loads(path.read_text())
    document["refused"] = [
        {"runtime": "ollama", "units": ["ollama.service"], "path": "/var/lib/dpkg", "kind": "system",
         "reason": "/var/lib/dpkg is in /var/lib/dpkg, which holds the system's own state", "adopted": True,
         "variable": "aihost_service_users_data_dirs.ollama", "extra": "dropped"},
        {"runtime": "jupyter", "units": ["jupyter.service"], "path": "/srv", "kind": "allowed_root",
         "reason": "x" * 5000, "variable": "aihost_service_users_data_dirs.jupyter", "adopted": False},
        {"runtime": "broken"}, "not a dict"]
    path.write_text(json.dumps(document))
    refused = host_config.read_service_users(state_file, str(tmp_path))["refused"]
    assert [(r["runtime"], r["path"], r["kind"], r["adopted"]) for r in refused] == [
        ("ollama", "/var/lib/dpkg", "system", True), ("jupyter", "/srv", "allowed_root", False)]
    assert "extra" not in refused[0] and refused[0]["variable"] == "aihost_service_users_data_dirs.ollama"
    assert len(refused[1]["reason"]) < 1100


def test_a_state_file_without_refusals_has_an_empty_list(tmp_path):
    state_file = write_service_users(tmp_path, service_users.render_dropin("ollama", "default", DIRECTIVES))
    assert host_config.read_service_users(state_file, str(tmp_path))["refused"] == []


@pytest.mark.parametrize("name,denies", [("f2b", False), ("catchall", True), ("policydrop", True)])
def test_only_an_input_chain_that_denies_by_default_is_a_firewall(name, denies):
    # Captured from nft 1.0.6 in a private network namespace (fixtures/host_config/README.md):
    # a fail2ban-style ban chain and a lone "ct state invalid drop" (f2b) drop some packets but let
    # everything else in; a last rule that drops everything, or policy drop, is a default deny.
    assert host_config.nft_json_filters_input(fixture("nft-%s.json" % name)) is denies
    assert host_config.nft_filters_input(fixture("nft-%s.txt" % name)) is denies


def test_the_json_ruleset_decides_when_the_host_gives_it():
    sections = {"nft_ruleset": fixture("nft-catchall.txt").splitlines(), "nft_ruleset_json": [fixture("nft-f2b.json")]}
    assert host_config.summarize(sections)["firewall"]["active"] is False
    sections["nft_ruleset_json"] = ["not json"]
    assert host_config.summarize(sections)["firewall"]["active"] is True


def test_an_iptables_input_chain_counts_only_with_a_default_deny():
    ban_only = ["-P INPUT ACCEPT", "-A INPUT -s 192.0.2.7/32 -j DROP", "-A INPUT -p tcp --dport 22 -j ACCEPT"]
    catch_all = ["-P INPUT ACCEPT", "-A INPUT -p tcp --dport 22 -j ACCEPT", '-A INPUT -m comment --comment "rest" -j DROP']
    assert host_config.summarize({"iptables": ban_only})["firewall"]["active"] is False
    assert host_config.summarize({"iptables": catch_all})["firewall"]["active"] is True
    assert host_config.summarize({"iptables": ["-P INPUT DROP"]})["firewall"]["active"] is True
