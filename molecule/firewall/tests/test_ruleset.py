"""What the role leaves on each host: table inet aihost (input chain policy drop on the nftables
backend, forward filter for published ports on both), every accept carrying its written reason,
the file checked by nft, the boot unit enabled, and on the firewalld host a DROP zone as default."""
import pytest
import testinfra.utils.ansible_runner

from conftest import INVENTORY, aihost_table, backend_of

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("firewalled")


def verdict(rule):
    for statement in rule["expr"]:
        for key in ("accept", "drop", "return", "jump"):
            if key in statement:
                return key
    return None


def test_input_chain_drops_by_default_for_ipv4_and_ipv6(host):
    table = aihost_table(host)
    assert table["table"]["family"] == "inet"          # one chain covers IPv4 and IPv6
    if backend_of(host) == "firewalld":
        assert "input" not in table["chains"]          # firewalld's zone filters input there
        return
    chain = table["chains"]["input"]
    assert (chain["hook"], chain["policy"], chain["prio"]) == ("input", "drop", 0)


def test_forward_chain_runs_before_dockers_and_drops_undeclared(host):
    table = aihost_table(host)
    chain = table["chains"]["forward"]
    assert (chain["hook"], chain["policy"], chain["prio"]) == ("forward", "accept", -1)
    last = table["rules"]["published"][-1]
    assert verdict(last) == "drop"


def test_every_accept_rule_has_a_reason(host):
    table = aihost_table(host)
    accepts = [rule for rules in table["rules"].values() for rule in rules if verdict(rule) == "accept"]
    assert accepts
    for rule in accepts:
        assert rule.get("comment", "").startswith("aihost: "), rule


def test_declared_reasons_are_the_comments(host):
    comments = {rule.get("comment") for rules in aihost_table(host)["rules"].values() for rule in rules}
    assert "aihost: Test web app that only the scanner may reach." in comments
    # Double quotes cannot appear in an nftables comment: the filter turned them into single quotes.
    assert "aihost: mDNS-style UDP port from the admin network (a 'quoted' reason)." in comments


def test_loopback_only_entry_opens_nothing(host):
    """The Ollama entry has scope loopback: no rule mentions 11434."""
    assert "11434" not in host.check_output("nft list table inet aihost")


def test_ruleset_file_is_valid_and_owned_by_root(host):
    ruleset = host.file("/etc/aihost/firewall.nft")
    assert (ruleset.user, ruleset.group, ruleset.mode) == ("root", "root", 0o640)
    assert host.run("nft -c -f /etc/aihost/firewall.nft").rc == 0


def test_boot_unit_is_enabled_and_active(host):
    assert host.service("aihost-firewall.service").is_enabled
    assert host.run("systemctl is-active aihost-firewall.service").stdout.strip() == "active"


def test_no_rollback_is_pending(host):
    assert host.check_output("aihost-firewall-ctl status") == "no rollback pending"
    assert not host.file("/var/lib/aihost-firewall/armed").exists


def test_stock_nftables_service_was_not_enabled(host):
    """Its /etc/nftables.conf starts with "flush ruleset", which would wipe Docker's rules at boot."""
    assert not host.service("nftables.service").is_enabled


@pytest.mark.parametrize("check", ["default", "target"])
def test_firewalld_zone(host, check):
    if backend_of(host) != "firewalld":
        pytest.skip("nftables backend")
    if check == "default":
        assert host.check_output("firewall-cmd --get-default-zone") == "aihost"
    else:
        assert host.check_output("firewall-cmd --permanent --zone aihost --get-target") == "DROP"
        rich = host.check_output("firewall-cmd --zone aihost --list-rich-rules")
        assert 'port port="8443" protocol="tcp" accept' in rich
        assert 'port port="11434"' not in rich
