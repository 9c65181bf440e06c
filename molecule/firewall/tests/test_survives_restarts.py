"""Persistence. The hosts were rebooted (docker restart) in side_effect, so every other test already
ran against the rules the boot loaded. Here: restarts and reloads of the services that could drop
them, and the boot-time rollback of an apply that was never confirmed. Runs last: restarting the
stock nftables.service flushes every table (Debian's /etc/nftables.conf), Docker's included."""
import time

import pytest
import testinfra.utils.ansible_runner

from conftest import INVENTORY, backend_of, probe_tcp

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("firewalled")

LISTING = "nft -s list table inet aihost"


@pytest.fixture(scope="module")
def loaded(host):
    return host.check_output(LISTING)


def test_the_boot_loaded_the_recorded_table(host, loaded):
    assert loaded + "\n" == host.file("/var/lib/aihost-firewall/loaded.nft").content_string


def test_unconfirmed_apply_was_rolled_back_at_boot(host):
    if host.backend.get_hostname() != "fw-nft-d13":
        pytest.skip("side_effect left an unconfirmed apply on fw-nft-d13 only")
    expected = host.file("/root/fw-confirmed.sha256").content_string.strip()
    assert host.file("/etc/aihost/firewall.nft").sha256sum == expected
    assert "UNCONFIRMED CHANGE" not in host.check_output("nft list table inet aihost")
    assert not host.file("/var/lib/aihost-firewall/armed").exists


def test_table_and_filtering_survive_a_docker_restart(host, loaded, scanner):
    """dockerd recreates its chains and restarts its containers (restart policy always); table inet
    aihost is untouched and still filters the ports Docker publishes again."""
    name = host.backend.get_hostname()
    assert host.run("systemctl restart docker.service").rc == 0
    host.run("for i in $(seq 1 60); do [ $(docker ps -q | wc -l) = 2 ] && break; sleep 0.5; done")
    assert host.check_output(LISTING) == loaded
    for _attempt in range(20):      # docker-proxy listens before the container's httpd answers
        if probe_tcp(host, "127.0.0.1", [9080, 9081, 11435]) == {9080: "open", 9081: "open", 11435: "open"}:
            break
        time.sleep(0.5)
    assert probe_tcp(host, "127.0.0.1", [9080, 9081, 11435]) == {9080: "open", 9081: "open", 11435: "open"}
    assert probe_tcp(scanner, name, [9080, 9081, 11435]) == {9080: "timeout", 9081: "open", 11435: "timeout"}


@pytest.mark.parametrize("command", [
    "systemctl restart aihost-firewall.service",
    "systemctl daemon-reexec",
    "systemctl restart nftables.service",
    "systemctl reload nftables.service",
])
def test_table_survives_nftables_service_restarts(host, loaded, command):
    if backend_of(host) != "nftables":
        pytest.skip("firewalld host")
    assert host.run(command).rc == 0
    # `systemctl restart nftables.service` returns when nftables.service is up; the restart it
    # propagates to aihost-firewall.service (PartOf=, ReloadPropagatedFrom=) may still be queued or
    # running. Wait (bounded) until systemd has no jobs left, then the table must be back in full.
    host.run("for i in $(seq 1 120); do [ -z \"$(systemctl list-jobs --no-legend)\" ] && break; sleep 0.5; done")
    assert host.check_output(LISTING) == loaded


@pytest.mark.parametrize("command", ["firewall-cmd --reload", "systemctl restart firewalld.service"])
def test_zone_and_table_survive_firewalld_restarts(host, loaded, command):
    if backend_of(host) != "firewalld":
        pytest.skip("nftables host")
    assert host.run(command).rc == 0
    assert host.check_output("firewall-cmd --get-default-zone") == "aihost"
    assert host.check_output(LISTING) == loaded
