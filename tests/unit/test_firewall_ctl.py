"""aihost-firewall-ctl (roles/firewall/templates/aihost-firewall-ctl.j2), rendered with Jinja2 and
run end to end with its paths in a temporary directory and stub nft, systemd-run, systemctl,
firewall-cmd and logger first on PATH (each stub records its argv).

What it proves: a rollback puts back the ruleset file (and the firewalld zone file) exactly as it
was before the apply. When the role did not change the file, `arm` snapshots the file as it is at
arm time itself, so `restore` keeps it (it used to get an empty --previous-file and delete it, so the
next boot had no table); when the role changed it, the previous content comes back from the
backup; when there was no file before, `restore` removes the new one."""
import os
import pathlib
import shlex
import stat
import subprocess

import jinja2
import pytest

TEMPLATE = pathlib.Path(__file__).resolve().parents[2] / "roles" / "firewall" / "templates" / "aihost-firewall-ctl.j2"

OLD = "table inet aihost {\n    # the confirmed rules\n}\n"
NEW = "table inet aihost {\n    # the rules of this apply\n}\n"
LIVE_TABLE = "table inet aihost {\n\tchain input {\n\t}\n}\n"

STUB = """#!/bin/sh
# Stub {name}: record argv, one line per call, arguments separated by tabs.
printf '%s' {name} >> "$STUB_LOG"
for arg in "$@"; do printf '\\t%s' "$arg" >> "$STUB_LOG"; done
printf '\\n' >> "$STUB_LOG"
{body}
exit 0
"""
STUB_BODIES = {
    # `nft list table inet aihost` prints a canned table; `nft -f FILE` keeps a copy of FILE.
    "nft": ('case " $* " in *" list "*) cat "$STUB_DIR/live-table.nft" ;; esac\n'
            '[ "$1" = -f ] && cp "$2" "$STUB_DIR/nft-loaded.nft"'),
    # No rollback timer is active.
    "systemctl": '[ "$1" = is-active ] && exit 3',
    "systemd-run": "",
    "logger": "",
    "firewall-cmd": '[ "$1" = --get-default-zone ] && echo public',
}


@pytest.fixture
def ctl(tmp_path):
    """Render the helper into TMP_PATH and return a runner: ctl(*args) -> CompletedProcess."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, body in STUB_BODIES.items():
        path = stubs / name
        path.write_text(STUB.format(name=name, body=body))
        path.chmod(0o755)
    (stubs / "live-table.nft").write_text(LIVE_TABLE)
    for folder in ("etc", "zones", "state", "run"):
        (tmp_path / folder).mkdir()
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["quote"] = lambda value: shlex.quote(str(value))
    script = environment.from_string(TEMPLATE.read_text()).render(
        ansible_managed="Ansible managed (unit test)",
        aihost_firewall__nft_bin=str(stubs / "nft"),
        aihost_firewall__table="aihost",
        aihost_firewall__ruleset_path=str(tmp_path / "etc" / "firewall.nft"),
        aihost_firewall__state_dir=str(tmp_path / "state"),
        aihost_firewall__run_dir=str(tmp_path / "run"),
        aihost_firewall__rollback_unit="aihost-firewall-rollback",
        aihost_firewall__zone_dir=str(tmp_path / "zones"),
    )
    path = tmp_path / "aihost-firewall-ctl"
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PATH="%s:%s" % (stubs, os.environ.get("PATH", "/usr/bin:/bin")),
               STUB_LOG=str(stubs / "calls.log"), STUB_DIR=str(stubs))

    def run(*args, check=True):
        result = subprocess.run([str(path)] + list(args), env=env, capture_output=True, text=True, timeout=30,
                                check=False)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run.tmp = tmp_path
    run.ruleset = tmp_path / "etc" / "firewall.nft"
    run.zone = tmp_path / "zones" / "aihost.xml"
    run.calls = lambda: (stubs / "calls.log").read_text().splitlines() if (stubs / "calls.log").exists() else []
    return run


def test_restore_after_an_unchanged_file_keeps_the_file(ctl):
    """The role did not change the file: it passes no previous file, arm copies the current one."""
    ctl.ruleset.write_text(OLD)
    ctl("arm", "--seconds", "90", "--backend", "nftables")
    ctl("restore")
    assert ctl.ruleset.exists(), "restore deleted the ruleset file: the next boot would load no table"
    assert ctl.ruleset.read_text() == OLD
    # The live table snapshot taken at arm time is what restore loads.
    assert "nft\t-f\t%s" % (ctl.tmp / "state" / "previous-table.nft") in ctl.calls()
    assert LIVE_TABLE in (ctl.tmp / "state" / "previous-table.nft").read_text()
    # Run by hand, restore also cancels the pending timer, so the next arm is not refused.
    assert "systemctl\tstop\taihost-firewall-rollback.timer" in ctl.calls()


def test_restore_after_a_changed_file_brings_back_the_backup(ctl):
    """The role changed the file (its copy task wrote NEW and kept OLD as a backup)."""
    backup = ctl.tmp / "etc" / "firewall.nft.1234.2025-01-01@00:00:00~"
    backup.write_text(OLD)
    ctl.ruleset.write_text(NEW)
    ctl("arm", "--seconds", "90", "--backend", "nftables", "--previous-file", str(backup))
    ctl("restore")
    assert ctl.ruleset.read_text() == OLD


def test_restore_after_a_first_apply_removes_the_new_file(ctl):
    """There was no ruleset file before this apply: the role says so, restore removes the new file."""
    ctl.ruleset.write_text(NEW)
    ctl("arm", "--seconds", "90", "--backend", "nftables", "--no-previous-file")
    ctl("restore")
    assert not ctl.ruleset.exists()


def test_arm_without_a_file_records_that_there_was_none(ctl):
    ctl("arm", "--seconds", "90", "--backend", "nftables")
    ctl.ruleset.write_text(NEW)
    ctl("restore")
    assert not ctl.ruleset.exists()


NFT = ["--seconds", "90", "--backend", "nftables"]


@pytest.mark.parametrize("args, message", [
    (NFT + ["--previous-file", ""], "--previous-file"),
    (NFT + ["--previous-file", "/nonexistent/firewall.nft.bak"], "/nonexistent/firewall.nft.bak"),
    (NFT + ["--previous-file", "/etc/hostname", "--no-previous-file"], "--no-previous-file"),
    (["--seconds", "soon", "--backend", "nftables"], "--seconds"),
    (["--seconds", "90", "--backend", "iptables"], "iptables"),
    (["--seconds", "90", "--backend", "firewalld"], "--zone"),
    (["--seconds", "90", "--backend", "firewalld", "--zone", "../../etc/passwd"], "../../etc/passwd"),
])
def test_arm_refuses_bad_arguments_before_any_change(ctl, args, message):
    """An empty or missing backup used to mean "there was no file", so restore deleted the ruleset."""
    ctl.ruleset.write_text(OLD)
    result = ctl("arm", *args, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert sorted(os.listdir(ctl.tmp / "state")) == []
    assert not any(call.startswith("systemd-run") for call in ctl.calls())
    assert ctl.ruleset.read_text() == OLD


def test_firewalld_zone_file_unchanged_is_kept(ctl):
    ctl.ruleset.write_text(OLD)
    ctl.zone.write_text("<zone>old</zone>\n")
    ctl("arm", "--seconds", "90", "--backend", "firewalld", "--zone", "aihost")
    ctl("restore")
    assert ctl.zone.read_text() == "<zone>old</zone>\n"
    assert ctl.ruleset.read_text() == OLD
    assert "firewall-cmd\t--set-default-zone=public" in ctl.calls()


def test_firewalld_zone_file_changed_or_new(ctl):
    backup = ctl.tmp / "zones" / "aihost.xml.99.bak~"
    backup.write_text("<zone>old</zone>\n")
    ctl.zone.write_text("<zone>new</zone>\n")
    ctl.ruleset.write_text(OLD)
    ctl("arm", "--seconds", "90", "--backend", "firewalld", "--zone", "aihost", "--previous-zone-file", str(backup))
    ctl("restore")
    assert ctl.zone.read_text() == "<zone>old</zone>\n"

    ctl.zone.write_text("<zone>new</zone>\n")
    ctl("arm", "--seconds", "90", "--backend", "firewalld", "--zone", "aihost", "--no-previous-zone-file")
    ctl("restore")
    assert not ctl.zone.exists()
    assert ctl.ruleset.read_text() == OLD


def test_boot_rolls_back_the_files_of_an_unconfirmed_apply(ctl):
    """A host that went down before confirming: at boot (run dir empty) the files come back."""
    ctl.ruleset.write_text(OLD)
    ctl("arm", "--seconds", "90", "--backend", "nftables")
    ctl.ruleset.write_text(NEW)          # an apply written after arm, never confirmed
    (ctl.tmp / "run" / "armed").unlink()  # /run is empty after a reboot
    ctl("boot")
    assert ctl.ruleset.read_text() == OLD
    assert not (ctl.tmp / "state" / "armed").exists()


def test_confirm_cancels_the_rollback(ctl):
    ctl.ruleset.write_text(OLD)
    ctl("arm", "--seconds", "90", "--backend", "nftables")
    ctl("confirm")
    ctl.ruleset.write_text(NEW)
    result = ctl("restore")
    assert "nothing pending" in result.stderr
    assert ctl.ruleset.read_text() == NEW
    assert (ctl.tmp / "state" / "loaded.nft").read_text() == LIVE_TABLE


# --- the arguments roles/firewall/tasks/apply.yml gives arm, rendered by Ansible's own templar -----

APPLY = TEMPLATE.parents[1] / "tasks" / "apply.yml"


def role_arm_argv(existed, ruleset_result, zone_result, backend):
    """Render the argv of apply.yml's arm task for one situation of render.yml's results."""
    yaml = pytest.importorskip("yaml")
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    task = [task for task in yaml.safe_load(APPLY.read_text()) if task["name"].startswith("Schedule the rollback")][0]
    variables = {
        "aihost_firewall__files_before": {"results": [{"stat": {"exists": value}} for value in existed]},
        "aihost_firewall__ruleset_file": ruleset_result,
        "aihost_firewall__zone_file": zone_result,
        "aihost_firewall__backend": backend,
        "aihost_firewall_firewalld_zone": "aihost",
        "aihost_firewall__ctl_path": "aihost-firewall-ctl",
        "aihost_firewall_rollback_seconds": 90,
    }
    variables.update((name, trust_as_template(value)) for name, value in (task.get("vars") or {}).items())
    argv = Templar(loader=DataLoader(), variables=variables).template(
        trust_as_template(task["ansible.builtin.command"]["argv"]))
    return [str(arg) for arg in argv]


BACKUP = "/etc/aihost/firewall.nft.1234.2025-01-01@00:00:00~"
ZONE_BACKUP = "/etc/firewalld/zones/aihost.xml.1234.2025-01-01@00:00:00~"


@pytest.mark.parametrize("existed, ruleset_result, zone_result, backend, expected", [
    # Unchanged file (only the live table drifted): arm keeps the file as it is.
    ([True], {"changed": False}, {"skipped": True}, "nftables", []),
    # Changed content: the copy task's backup.
    ([True], {"changed": True, "backup_file": BACKUP}, {"skipped": True}, "nftables", ["--previous-file", BACKUP]),
    # Only the mode changed (no backup, the file existed): keep the file as it is.
    ([True], {"changed": True}, {"skipped": True}, "nftables", []),
    # First apply: there was no file.
    ([False], {"changed": True}, {"skipped": True}, "nftables", ["--no-previous-file"]),
    ([True, True], {"changed": False}, {"changed": True, "backup_file": ZONE_BACKUP}, "firewalld",
     ["--zone", "aihost", "--previous-zone-file", ZONE_BACKUP]),
    ([True, True], {"changed": False}, {"changed": False}, "firewalld", ["--zone", "aihost"]),
    ([False, False], {"changed": True}, {"changed": True}, "firewalld",
     ["--no-previous-file", "--zone", "aihost", "--no-previous-zone-file"]),
])
def test_role_tells_arm_what_to_restore(existed, ruleset_result, zone_result, backend, expected):
    argv = role_arm_argv(existed, ruleset_result, zone_result, backend)
    assert argv == ["aihost-firewall-ctl", "arm", "--seconds", "90", "--backend", backend] + expected
    assert "" not in argv


def test_role_arguments_keep_an_unchanged_file_end_to_end(ctl):
    """The whole chain for the reported bug: the role's argv for an unchanged file, then restore."""
    ctl.ruleset.write_text(OLD)
    argv = role_arm_argv([True], {"changed": False}, {"skipped": True}, "nftables")
    ctl(*argv[1:])
    ctl("restore")
    assert ctl.ruleset.read_text() == OLD
