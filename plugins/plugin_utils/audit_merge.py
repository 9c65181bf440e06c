# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One fleet report from the host reports in a report directory (controller only).

A sliced AWX job runs the audit once per slice; each slice writes its hosts' ``<host>.json`` and
a ``fleet.json`` of its own slice into the same directory. ``merge_directory`` reads every host
report there and builds the fleet with the same code a single run uses
(module_utils/audit_reports.fleet_report), so the merged fleet equals the fleet of one unsliced run.
Nothing on a host is read or changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.aihost.hardening.plugins.module_utils.audit_policy import SEVERITIES
from ansible_collections.aihost.hardening.plugins.module_utils.audit_reports import TOOL_NAME, fleet_report


class MergeError(Exception):
    """The directory's host reports cannot be merged into one fleet report (the message says why)."""


def is_host_report(report):
    """An audit host report: written by the audit, with a host name and findings, not a fleet report."""
    return (isinstance(report, dict) and report.get("generator") == TOOL_NAME and report.get("kind") != "fleet"
            and isinstance(report.get("host"), dict) and bool(report["host"].get("name"))
            and isinstance(report.get("findings"), list) and isinstance(report.get("summary"), dict))


def read_host_reports(directory):
    """Every host report (``*.json``) in DIRECTORY -> (reports, skipped file names with the reason).

    The audit's own fleet files (``fleet.*``, a slice's fleet) and hidden files (an interrupted
    atomic write) are passed over in silence; other JSON files that are not host reports are skipped
    and listed. Two reports of the same host are an error.
    """
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise MergeError("cannot read the report directory %s: %s" % (directory, exc))
    reports, skipped, seen = [], [], {}
    for name in names:
        path = os.path.join(directory, name)
        if not name.endswith(".json") or name.startswith((".", "fleet.")) or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as handle:
                report = json.loads(handle.read().decode("utf-8"))
        except (IOError, OSError, ValueError) as exc:
            skipped.append((name, "not readable as JSON: %s" % exc))
            continue
        if isinstance(report, dict) and report.get("kind") == "fleet":
            skipped.append((name, "a fleet report"))
            continue
        if not is_host_report(report):
            skipped.append((name, "not an audit host report"))
            continue
        host = str(report["host"]["name"])
        if host in seen:
            raise MergeError("two reports of host %s: %s and %s" % (host, seen[host], name))
        seen[host] = name
        reports.append(report)
    return reports, skipped


def merge_reports(host_reports, fail_on=None, timestamp=None):
    """The fleet report of HOST_REPORTS, as one run over all of them would write it.

    ``fail_on`` defaults to the host reports' own (they must agree: slices of one job share their
    variables); ``timestamp`` to the latest host report's.
    """
    if not host_reports:
        raise MergeError("no host reports to merge")
    if fail_on and fail_on not in SEVERITIES + ("none",):
        raise MergeError("fail_on %r is not one of %s" % (fail_on, ", ".join(SEVERITIES + ("none",))))
    if not fail_on:
        thresholds = sorted(set(str(report.get("fail_on")) for report in host_reports))
        if len(thresholds) != 1:
            raise MergeError("the host reports were written with different fail_on values (%s); "
                             "name the one the fleet report should record" % ", ".join(thresholds))
        fail_on = thresholds[0]
    if not timestamp:
        timestamp = max(str(report.get("timestamp") or "") for report in host_reports) or None
    return fleet_report(host_reports, fail_on, timestamp)


def merge_directory(directory, fail_on=None, timestamp=None):
    """(fleet report of every host report in DIRECTORY, skipped files with the reason)."""
    reports, skipped = read_host_reports(directory)
    if not reports:
        raise MergeError("no audit host reports (<host>.json) in %s" % directory)
    return merge_reports(reports, fail_on, timestamp), skipped
