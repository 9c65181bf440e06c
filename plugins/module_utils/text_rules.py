# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What free text may hold before a role writes it into a unit, a deb822 .sources file or an APT file.

A newline would add a line or a field the role never meant to write, a space a word, '%' a systemd
specifier and '$' a variable. One set of rules for every role (updates, metrics, model_integrity),
checked by the ``text_errors`` filter and by the updates_plan module. ``\\Z``, not ``$``: Python's
``$`` also matches before a trailing newline.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

RULES = {
    "path": (r"^/[A-Za-z0-9._/+@:-]*\Z",
             "an absolute path of letters, digits and . _ / + @ : - (no whitespace, quote, backslash, % or $)"),
    "url": (r"^https?://[A-Za-z0-9._~:/?#@!&()*+,;=%-]+\Z",
            "a single http:// or https:// URL (no whitespace, quote, backslash or control character)"),
    "component": (r"^[A-Za-z0-9][A-Za-z0-9._/-]*\Z", "an APT component such as main or non-free-firmware"),
    "branch": (r"^([0-9]{1,4})?\Z", "a driver branch: the major version in digits, such as 550 (or empty)"),
    "systemd_time": (r"^[A-Za-z0-9 _*:,./~+-]+\Z",
                     "a systemd calendar expression or time span (letters, digits, spaces and _ * : , . / ~ + - only)"),
    "apt_string": (r'^[^"\\\x00-\x1f\x7f]*\Z',
                   "text for an APT configuration string (no double quote, backslash or control character)"),
    "timer": (r"^[A-Za-z0-9:_.@*?\[\]-]+[.]timer\Z",
              "a timer unit name or pattern ending in .timer (letters, digits and : _ . @ * ? [ ] - only)"),
}


def _expand(check):
    """(var, value, rule) triples from [var, value, rule] or {var, value | values, rule}."""
    if isinstance(check, dict):
        if "values" in check:
            return [("%s[%d]" % (check["var"], index), value, check["rule"])
                    for index, value in enumerate(check["values"] or [])]
        return [(check["var"], check.get("value"), check["rule"])]
    var, value, rule = check
    return [(var, value, rule)]


def text_errors(checks):
    """One message per value that breaks its rule: 'VAR="value" is not <what the rule allows>'."""
    errors = []
    for check in checks or []:
        for var, value, rule in _expand(check):
            if rule not in RULES:
                raise ValueError("unknown text rule %r (one of: %s)" % (rule, ", ".join(sorted(RULES))))
            pattern, what = RULES[rule]
            if not re.match(pattern, str(value)):
                errors.append("%s=%s is not %s" % (var, json.dumps(str(value)), what))
    return errors


def analyze_errors(results):
    """Messages for the systemd-analyze runs that failed, from a looped command's results.

    Each result's ``item`` has ``var`` and ``value``. A host without systemd-analyze ("No such file")
    is not an error: the characters were checked already.
    """
    errors = []
    for result in results or []:
        if result.get("rc", 0) != 0 and "No such file" not in (result.get("msg") or ""):
            item = result.get("item") or {}
            errors.append("%s=%s is invalid: %s" % (item.get("var"), json.dumps(item.get("value")),
                                                    (result.get("stderr") or result.get("stdout") or "").strip()))
    return errors
