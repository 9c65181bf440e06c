"""Tools the attacks and checks run on hostile-site that the bare image does not carry: ss (iproute2)
to wait for the peer's SSH session, and the kill executable (procps) that `runuser -u <runtime> --
kill -USR1` runs as the runtime's user. The roles must not rely on either, so prepare leaves them
out; they are installed when verify starts (molecule/shared/verify_tools.py), before the first
audit and site.yml runs and the first ownership snapshot of the host."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared"))
from verify_tools import install_tools  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def verifier_tools():
    return install_tools(["hostile-site"], ["ss", "kill"])
