"""OS security updates: unattended-upgrades installed and configured by the role's own files,
security origins only, its timers active in the configured window, and a real dry run against the
Debian mirror."""
import re
import time

UU_CONF = "/etc/apt/apt.conf.d/52aihost-unattended-upgrades"


def codename(host):
    return host.system_info.codename


def test_unattended_upgrades_installed(host):
    assert host.package("unattended-upgrades").is_installed


def test_own_file_leaves_the_distribution_file_untouched(host):
    """The role writes 52aihost-unattended-upgrades; the packaged 50unattended-upgrades is unmodified."""
    assert host.file(UU_CONF).exists
    assert host.file(UU_CONF).mode == 0o644
    verify = host.run("dpkg --verify unattended-upgrades")
    assert "50unattended-upgrades" not in verify.stdout, verify.stdout


def test_only_security_origins_are_effective(host):
    """The #clear lines drop the packaged origins: only <codename>-security remains."""
    dump = host.check_output("apt-config dump Unattended-Upgrade::Origins-Pattern")
    patterns = re.findall(r'Origins-Pattern:: "([^"]+)"', dump)
    assert patterns == ["origin=Debian,codename=${distro_codename}-security,label=Debian-Security"], dump
    # Negative: the point-release origin of the packaged file is gone.
    assert "label=Debian\"" not in dump
    assert "Allowed-Origins::" not in host.check_output("apt-config dump Unattended-Upgrade::Allowed-Origins")


def test_periodic_runs_enabled_and_no_own_reboot(host):
    dump = host.check_output("apt-config dump")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
    assert 'APT::Periodic::Update-Package-Lists "1";' in dump
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in dump


def test_apt_timers_active_listed_and_in_the_window(host):
    listed = host.check_output("systemctl list-timers --all --no-pager")
    for timer, calendar in (("apt-daily.timer", "01:00:00"), ("apt-daily-upgrade.timer", "02:00:00")):
        assert host.run("systemctl is-active %s" % timer).stdout.strip() == "active"
        assert host.run("systemctl is-enabled %s" % timer).stdout.strip() == "enabled"
        assert timer in listed
        show = host.check_output("systemctl show %s -p TimersCalendar -p RandomizedDelayUSec -p Persistent" % timer)
        assert calendar in show, show
        # Negative: the packaged schedule (06:00 / 6,18:00) was replaced, not added to.
        assert "06:00:00" not in show and "18:00:00" not in show, show
        assert "RandomizedDelayUSec=30min" in show
        assert "Persistent=yes" in show


def test_security_source_added_when_missing(host):
    """The lab image lists only <codename> main: the role added <codename>-security."""
    sources = host.file("/etc/apt/sources.list.d/aihost-debian-security.sources")
    assert sources.exists
    assert "Suites: %s-security" % codename(host) in sources.content_string


def _wait_for_apt_idle(host, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        busy = [u for u in ("apt-daily.service", "apt-daily-upgrade.service")
                if host.run("systemctl is-active %s" % u).stdout.strip() in ("active", "activating")]
        if not busy:
            return
        time.sleep(5)
    raise AssertionError("apt timers still running after %ss" % timeout)


def test_unattended_upgrade_dry_run_against_the_mirror(host):
    """A real dry run: refreshes from deb.debian.org and evaluates the security origin."""
    _wait_for_apt_idle(host)
    update = host.run("apt-get update -q")
    assert update.rc == 0, update.stderr
    assert "%s-security" % codename(host) in update.stdout
    run = host.run("unattended-upgrade --dry-run -v")
    assert run.rc == 0, run.stdout + run.stderr
    assert "Allowed origins are: origin=Debian,codename=%s-security,label=Debian-Security" % codename(host) in run.stdout
