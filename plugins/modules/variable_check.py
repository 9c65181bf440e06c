#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented as an action plugin (plugins/action/variable_check.py): it runs
# on the controller only.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: variable_check
short_description: Warn about aihost_* variables that no argument spec knows
version_added: 0.1.0
author:
  - aihost.hardening maintainers (@aihost)
description:
  - Compares the names of the task's variables that start with C(aihost_) with the variables the
    collection knows, and warns about each unknown one, with the closest known name (a misspelt
    C(aihost_firewall_admin_netwroks) would otherwise be ignored without a word).
  - Known are every option of every role's C(meta/argument_specs.yml) and every C(aihost_*) name the
    collection's own playbooks, roles and plugins mention (playbook variables such as
    C(aihost_privileges_required) and C(aihost_site_fast_path), facts the roles set themselves, the
    facts of the facts modules). Names with a double underscore after the prefix
    (C(aihost_firewall__os_vars)) are private to a role and never reported.
  - Every role of the collection runs it first, and so does every playbook (C(playbooks/privileges.yml)).
  - Runs on the controller and reads variable names only, never their values. Warnings only; it never fails.
options: {}
attributes:
  check_mode:
    support: full
    description: Reads names only; the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
"""

EXAMPLES = r"""
- name: Warn about aihost_* variables that no argument spec knows
  aihost.hardening.variable_check:
"""

RETURN = r"""
unknown:
  description: The unknown names, sorted, each with the closest known name (null when none is close).
  type: list
  elements: dict
  returned: always
  sample: [{"name": "aihost_firewall_admin_netwroks", "closest": "aihost_firewall_admin_networks"}]
"""
