"""The tools these tests compare the audit with (ss, ps, ip through testinfra's interface, curl) are
not on the bare images and must not be something the roles or the audit rely on: they are installed
on the hosts when verify starts (molecule/shared/verify_tools.py), after check, converge and
idempotence ran on hosts without them."""
import os
import sys

import pytest
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared"))
from verify_tools import install_tools  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def verifier_tools():
    hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")
    return install_tools(hosts, ["ss", "ip", "ps", "curl"])
