#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install the collection's module_utils on a host as one versioned package for the host timers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_library
short_description: Install the collection's target library on a host, one version directory and a current link
description:
  - The host timers of the C(metrics), C(model_integrity) and C(updates) roles are thin command lines over the
    collection's C(plugins/module_utils) code, the same code the modules run. This module puts that code on the
    host once, as the package C(ansible_collections.aihost.hardening.plugins.module_utils) under
    O(path)C(/<version>/), and points O(path)C(/current) at it. A timer puts O(path)C(/current) on C(sys.path).
  - The action plugin of the same name reads every C(*.py) file of the collection's C(plugins/module_utils) on the
    controller and passes their text and digest (the version). Nothing else is read or sent.
  - A new version is written to a staging directory beside the old ones, renamed into place, and C(current) is
    switched with one rename, so a timer imports the old code or the new, never a mix. The previous version is
    kept (a timer may be importing it) and older ones are removed. A version directory whose files differ from
    what they should be (edited by hand, half-written) is replaced.
  - O(path) and every directory above it must be owned by root and writable by root only; otherwise nothing is
    written and the module fails, naming the entry.
version_added: "0.3.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  path:
    description: The directory that holds the version directories and the C(current) link.
    type: path
    default: /usr/local/lib/aihost
  files:
    description: Set by the action plugin, not by users. The text of each module file of the library, by file name.
    type: dict
  version:
    description: Set by the action plugin, not by users. The digest of O(files) (C(host_library.version_of)).
    type: str
attributes:
  check_mode:
    support: full
    description: Reports whether the library would be written or switched, and writes nothing.
  diff_mode:
    support: full
    description: The version C(current) names, before and after.
  platform:
    support: full
    platforms: [posix]
    description: Needs a POSIX file system with symbolic links and C(O_NOFOLLOW).
"""

EXAMPLES = r"""
- name: Install the collection's library for the host timers
  aihost.hardening.host_library:
    path: /usr/local/lib/aihost
  register: aihost_metrics__library

# The timer's command line then runs with --lib {{ aihost_metrics__library.lib_dir }}
"""

RETURN = r"""
lib_dir:
  description: The directory to put on C(sys.path) (O(path)C(/current)).
  returned: always
  type: str
  sample: /usr/local/lib/aihost/current
version:
  description: The version installed.
  returned: always
  type: str
  sample: 3f1c0a9be2d47c11
previous:
  description: The version C(current) named before, or null.
  returned: always
  type: str
removed:
  description: Older version directories removed (or that would be).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils import fs_trust
from ansible_collections.aihost.hardening.plugins.module_utils import host_library


def untrusted_root(path):
    """Why PATH (or, while it does not exist, its nearest existing parent) is not root's alone, or None."""
    existing = path
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    return fs_trust.untrusted_reason(existing, want_dir=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/usr/local/lib/aihost"),
            # no_log: the result's invocation would otherwise echo the whole library back.
            files=dict(type="dict", no_log=True),
            version=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    root = module.params["path"]
    if not root.startswith("/") or os.path.normpath(root) == "/":
        module.fail_json(msg="path: %r must be an absolute directory below /" % root)
    root = os.path.normpath(root)
    problem = host_library.bad_input(module.params["files"], module.params["version"])
    if problem:
        module.fail_json(msg="host_library: %s (run it through its action plugin, which sends the files)" % problem)
    problem = untrusted_root(root)
    if problem:
        module.fail_json(msg="path: refusing to install the library under %s: %s" % (root, problem))
    files, version = module.params["files"], module.params["version"]
    steps = host_library.plan(root, files, version)
    changed = steps["write"] or steps["switch"] or bool(steps["remove"])
    if changed and not module.check_mode:
        try:
            host_library.apply(root, files, version, steps)
        except OSError as exc:
            module.fail_json(msg="cannot install the library under %s: %s" % (root, exc))
    link = os.path.join(root, host_library.CURRENT)
    diff = {"before_header": link, "after_header": link,
            "before": "%s\n" % (steps["previous"] or "(none)"), "after": "%s\n" % version}
    if steps["write"] and not steps["switch"]:
        diff["after"] = "%s (rewritten: its files differed)\n" % version
    module.exit_json(changed=changed, diff=diff, lib_dir=link, version=version, previous=steps["previous"],
                     removed=steps["remove"])


if __name__ == "__main__":
    main()
