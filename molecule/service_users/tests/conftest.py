"""curl, which these tests use to call the runtimes on loopback, is not on the bare lab images and
must not be something the role relies on: it is installed on the hosts when verify starts
(molecule/shared/verify_tools.py), after check, converge, idempotence and side_effect ran without it."""
import os
import sys

import pytest
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared"))
from verify_tools import install_tools  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def verifier_tools():
    hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")
    return install_tools(hosts, ["curl"])
