"""Stand-in for the get-pip.py bootstrap that ansible-test downloads from ci-files.testing.ansible.com
to put pip into its sanity virtualenvs. That host is unreachable here; ensurepip plus a normal
`pip install` of the requested pip version from PyPI give the venv the same pip.
scripts/sanity.sh copies this file into ansible-test's cache path when the real script is absent."""
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                      stdout=subprocess.DEVNULL)
# get-pip.py options that plain `pip install` does not know.
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)
