# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replace a file atomically: readers see the old content or the new, never a torn write.

Used by modules on targets (model_scan, service_data_tree) and by the audit_write_reports action
plugin on the controller. Standard library only.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def atomic_write(path, data, mode):
    """Write DATA (bytes) to PATH with permission bits MODE (an int such as 0o600).

    The content goes to a temporary file in the same directory (so the rename stays on one file
    system), is flushed to disk, gets its mode, then replaces PATH in one rename. On any error the
    temporary file is removed and PATH is left as it was.
    """
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
