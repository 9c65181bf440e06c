"""The tools these tests use inside the hardened hosts (ss, ps, curl) are not on the bare images and
must not be something the roles rely on: they are installed on the hosts when verify starts
(molecule/shared/verify_tools.py), after check, converge and idempotence ran without them. nmap
comes from prepare (an admin's install, also used for the scan before converge)."""
import os
import sys

import pytest
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared"))
from verify_tools import install_tools  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def verifier_tools():
    hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("cpu_only")
    return install_tools(hosts, ["ss", "ps", "curl"])
