# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over module_utils/text_rules.py: the one set of rules for text that roles write into units
and APT files, and the messages of failed systemd-analyze checks. Documentation in ``text_errors.yml``
and ``systemd_analyze_errors.yml``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.aihost.hardening.plugins.module_utils import text_rules


def text_errors(checks):
    try:
        return text_rules.text_errors(checks)
    except (ValueError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("text_errors: %s" % exc)


def systemd_analyze_errors(results):
    return text_rules.analyze_errors(results)


class FilterModule(object):
    """aihost.hardening filters for free text that goes into units and APT files."""

    def filters(self):
        return {"text_errors": text_errors, "systemd_analyze_errors": systemd_analyze_errors}
