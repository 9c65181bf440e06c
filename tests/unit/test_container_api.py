"""container_api reads each container's networks and where a network binds ports published without
an address; the loopback planner's finding then names the right fix. Fed with Docker Engine API
answers captured from a real Docker 20.10 (tests/unit/fixtures/container_api/README.md)."""
import json
import os

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import container_api
from ansible_collections.aihost.hardening.plugins.module_utils import loopback_plan

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "container_api")


USERNET = "c9ee05e483a0a987e80f6dc92c679900ca359742a1bf1c16d2868111bfa3997f"


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


@pytest.fixture
def containers():
    found = {}
    for item in fixture("containers.json"):
        container = container_api.parse_container_summary(item, "docker")
        found[container["name"]] = container
    container_api.annotate_networks(found.values(), container_api.parse_networks(fixture("networks.json")))
    return found


def test_networks_and_their_host_binding(containers):
    assert containers["web-user"]["networks"] == [{
        "name": "usernet", "id": USERNET,
        "default_bridge": False, "host_binding_ipv4": None}]
    assert containers["web-local"]["networks"][0]["host_binding_ipv4"] == "127.0.0.1"
    bridge = containers["web-explicit"]["networks"][0]
    assert (bridge["name"], bridge["default_bridge"], bridge["host_binding_ipv4"]) == ("bridge", True, "127.0.0.1")


def test_the_single_network_reads_agree_with_the_list():
    listed = container_api.parse_networks(fixture("networks.json"))
    for name in ("bridge", "usernet", "localnet"):
        one = fixture("network-%s.json" % name)
        assert container_api.parse_networks([one]) == {one["Id"]: listed[one["Id"]]}


def test_unknown_networks_stay_unknown():
    container = container_api.parse_container_summary(fixture("containers.json")[0], "docker")
    container_api.annotate_networks([container], {})
    assert container["networks"][0]["default_bridge"] is None
    assert container_api.parse_networks({"message": "not a list"}) == {}
    assert container_api.parse_networks([{"Id": "x", "Options": None}]) == {
        "x": {"name": None, "default_bridge": False, "host_binding_ipv4": None}}


def findings(container):
    return loopback_plan.container_findings({"name": "ollama", "containers": [container]})


def test_a_user_network_port_names_the_network_option_not_daemon_json(containers):
    messages = [f["message"] for f in findings(containers["web-user"])]
    assert len(messages) == 1
    assert messages[0].startswith('container "web-user" ("ollama/ollama:stand-in") publishes 0.0.0.0:11434 -> 8080/tcp')
    assert 'user-defined network "usernet", where daemon.json\'s "ip" does not apply' in messages[0]
    assert "-p 127.0.0.1:11434:8080" in messages[0]
    assert 'com.docker.network.bridge.host_binding_ipv4: "127.0.0.1"' in messages[0]
    assert "default bridge" not in messages[0]


def test_a_default_bridge_port_says_recreate(containers):
    messages = [f["message"] for f in findings(containers["web-explicit"])]
    assert len(messages) == 1
    assert "Docker's default bridge" in messages[0] and "recreate it with -p 127.0.0.1:9091:8080" in messages[0]
    assert "host_binding_ipv4" not in messages[0]


def test_ports_already_on_loopback_are_no_finding(containers):
    assert findings(containers["web-local"]) == [] and findings(containers["web-bridge"]) == []


def test_hostile_names_are_quoted_and_inert():
    # SYNTHETIC: names a local user could give a container or network through the API.
    container = {"name": "x\n[ALERT] \x1b[31mok", "image": "i\"mg", "networks": [
        {"name": "n\"et\r\n", "default_bridge": False}],
        "published": [{"host_ip": "0.0.0.0; rm -rf /", "host_port": "80 && x", "container_port": 80}]}
    message = findings(container)[0]["message"]
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    assert '"x?[ALERT] ?[31mok"' in message and '"i\\"mg"' in message
    assert '"0.0.0.0; rm -rf /"' in message and '"80 && x"' in message
