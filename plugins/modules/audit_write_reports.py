#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented as an action plugin (plugins/action/audit_write_reports.py): it runs
# on the controller only.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: audit_write_reports
short_description: Write audit report files on the controller
version_added: 0.1.0
author:
  - aihost.hardening maintainers (@aihost)
description:
  - Writes files (name and content) into a directory on the Ansible controller, in the controller
    process, atomically (temporary file, then rename). Used by the C(aihost.hardening.audit) role to
    write every host's and the fleet's reports in one task.
  - Never touches a managed host and always reports C(changed=false) - a report on the controller is
    not a change to an audited host.
options:
  dest:
    description: Directory on the controller; created with mode C(0700) when missing. C(~) is expanded.
    type: path
    required: true
  files:
    description: File names (no directories) mapped to their text content; a final newline is added when missing.
    type: dict
    required: true
  mode:
    description: Mode of the written files.
    type: str
    default: "0600"
  fleet_html:
    description:
      - Also write C(fleet.html), the self-contained HTML fleet report, rendered from the C(fleet.json) in O(files)
        and compared with the previous fleet report (O(previous)), which is read before anything is written.
    type: bool
    default: false
    version_added: "0.2.0"
  previous:
    description:
      - The previous fleet JSON report that C(fleet.html) compares with. Default C(<dest>/fleet.json), the report
        this task replaces; an empty string compares with nothing. A missing or unreadable file, or one that is not
        a fleet report, is ignored.
    type: path
    version_added: "0.2.0"
attributes:
  check_mode:
    support: full
    description: Writes the files in check mode too (they live on the controller).
  diff_mode:
    support: none
    description: Report files are not diffed.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller.
"""

EXAMPLES = r"""
- name: Write two files on the controller
  aihost.hardening.audit_write_reports:
    dest: reports
    files:
      web1.md: "# Audit of web1\n"
      web1.json: "{{ report | to_nice_json }}"
  run_once: true
"""

RETURN = r"""
dest:
  description: Absolute directory the files were written to.
  returned: always
  type: str
  sample: /home/ops/reports
written:
  description: Paths written.
  returned: always
  type: list
  elements: str
  sample: [/home/ops/reports/web1.md]
previous_report:
  description: Whether C(fleet.html) was compared with a previous fleet report.
  returned: when O(fleet_html=true)
  type: bool
  sample: true
"""
