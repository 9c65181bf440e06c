"""Check mode tells the truth: with one more entry, --check --diff prints the exact new rule lines of
/etc/aihost/firewall.nft and changes nothing on the host."""
import os
import re

import testinfra.utils.ansible_runner

from conftest import INVENTORY, run_playbook

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("fw-nft-d12")

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTRA = os.path.join(SCENARIO, "tests", "check_mode_extra.yml")


def state(host):
    return host.check_output("sha256sum /etc/aihost/firewall.nft; nft -s list table inet aihost")


def test_check_mode_shows_the_ruleset_diff_and_changes_nothing(host):
    before = state(host)
    result = run_playbook("--check", "--diff", "--limit", "fw-nft-d12,localhost",
                          "-e", "@" + EXTRA, os.path.join(SCENARIO, "converge.yml"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '+        tcp dport 9999 ip saddr 198.51.100.0/24 accept comment "aihost: Check-mode probe."' in result.stdout
    assert "-        tcp dport 8443" not in result.stdout      # the existing rules are unchanged
    # Only the ruleset file would change; nothing is loaded in check mode.
    assert re.search(r"fw-nft-d12\s+: ok=\d+\s+changed=1\s+unreachable=0\s+failed=0", result.stdout), result.stdout[-2000:]
    assert state(host) == before
