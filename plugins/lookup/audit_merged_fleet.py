# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: audit_merged_fleet
short_description: One fleet report from every audit host report in a directory
version_added: "0.2.0"
author:
  - aihost.hardening maintainers (@aihost)
description:
  - Reads every C(<host>.json) audit host report in a report directory on the controller and returns the fleet
    report of all of them, built by the same code as the audit role's own fleet report, so the fleet of a sliced
    AWX job's slices equals that of one unsliced run.
  - Passes over the audit's own fleet files (C(fleet.json) is a slice's fleet) and hidden files, and skips other JSON
    files that are not host reports with a warning naming each. Fails on
    two reports of the same host, on host reports written with different O(fail_on) values, and on a directory
    without host reports.
  - Reads the controller only; no host is contacted.
options:
  _terms:
    description: The report directory (one).
    type: list
    elements: path
    required: true
  fail_on:
    description:
      - Severity threshold the fleet report records (V(critical), V(high), V(medium), V(low), V(info) or V(none)).
      - Empty (the default) takes the one the host reports share.
    type: str
    default: ""
  timestamp:
    description: Timestamp of the fleet report. Default the latest host report's.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Merge the host reports in reports/
  ansible.builtin.debug:
    msg: "{{ query('aihost.hardening.audit_merged_fleet', 'reports') | first | aihost.hardening.audit_markdown }}"
"""

RETURN = r"""
_raw:
  description: One element, the fleet report (report schema 2, C(kind=fleet)).
  type: list
  elements: dict
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible_collections.aihost.hardening.plugins.plugin_utils.audit_merge import MergeError, merge_directory

display = Display()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms or []) != 1:
            raise AnsibleLookupError("audit_merged_fleet: give exactly one report directory, not %d" % len(terms or []))
        directory = os.path.abspath(os.path.expanduser(to_text(terms[0])))
        try:
            fleet, skipped = merge_directory(directory, self.get_option("fail_on"), self.get_option("timestamp"))
        except MergeError as exc:
            raise AnsibleLookupError("audit_merged_fleet: %s" % to_text(exc))
        for name, reason in skipped:
            display.warning("audit_merged_fleet: skipped %s in %s: %s" % (name, directory, reason))
        return [fleet]
