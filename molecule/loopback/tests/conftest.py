"""The tools these tests use inside the hosts (ss, ip, curl) are not on the bare lab images and must
not be something the role relies on: they are installed on the hosts when verify starts
(molecule/shared/verify_tools.py), after check, converge and idempotence ran without them
(side_effect, which runs after verify, uses `hostname -I`, not `ip`). The scanner's nmap and curl
come from prepare."""
import os
import sys

import pytest
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared"))
from verify_tools import install_tools  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def verifier_tools():
    hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("aihost_hosts")
    return install_tools(hosts, ["ss", "ip", "curl"])
