"""These tests install nothing on the host: the bare image has no iproute2, so the listening
addresses come from the kernel's socket tables (verify_tools.tcp_listen_addresses), nmap from
prepare (an admin's install) and HTTP from python3's urllib. Installing packages in verify would also
change the dpkg database and /etc, which test_site_rerun.py's fast-path runs compare with the stamp."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared"))
