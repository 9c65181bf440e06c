# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where systemd finds system unit files, for every module that looks for one.

``UNIT_DIRS`` is systemd's own search order for system units (systemd.unit(5), "System Unit Search
Path"), without the generator directories, relative to a root so that detection can read a fixture
tree or a container's files. The first directory that holds a unit wins; drop-ins (``<unit>.d``)
from every directory apply. ``lib/systemd/system`` comes last: on merged-/usr systems it is
``usr/lib/systemd/system`` again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

UNIT_DIRS = ("etc/systemd/system", "run/systemd/transient", "run/systemd/system",
             "usr/local/lib/systemd/system", "usr/lib/systemd/system", "lib/systemd/system")
# Where administrators and installers put their own units; the others hold the distribution's.
ADMIN_UNIT_DIRS = UNIT_DIRS[:4]


def unit_dirs(root="/"):
    """UNIT_DIRS as paths under ROOT."""
    return tuple(os.path.join(root, directory) for directory in UNIT_DIRS)
