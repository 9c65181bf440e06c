"""Validate audit reports written by the installed collection (scripts/test-installed.sh runs this).

    python3 check_report.py SCHEMA HOST REPORT_DIR...

Each REPORT_DIR must hold HOST.json, valid against SCHEMA (the installed role's
files/report.schema.json) and written by the audit role for HOST; the other formats of the host
(HOST.txt, HOST.md, HOST.sarif as JSON, HOST.junit.xml as XML) and the fleet reports (fleet.json,
fleet.md, fleet.html, fleet.sarif, fleet.junit.xml), each non-empty and parseable.
"""
from __future__ import annotations

import json
import os
import sys
from xml.etree import ElementTree

import jsonschema


def check(schema, host, report_dir):
    problems = []
    json_path = os.path.join(report_dir, host + ".json")
    if not os.path.isfile(json_path):
        return ["%s: missing (the report went somewhere else?)" % json_path]
    with open(json_path) as handle:
        report = json.load(handle)
    try:
        jsonschema.validate(report, schema)
    except jsonschema.ValidationError as exc:
        problems.append("%s: not valid against the report schema: %s" % (json_path, exc.message))
    if report.get("generator") != "aihost.hardening.audit":
        problems.append("%s: generator is %r" % (json_path, report.get("generator")))
    if (report.get("host") or {}).get("name") != host:
        problems.append("%s: host.name is %r, expected %r" % (json_path, (report.get("host") or {}).get("name"), host))
    for name in (host + ".txt", host + ".md", host + ".sarif", host + ".junit.xml",
                 "fleet.json", "fleet.md", "fleet.html", "fleet.sarif", "fleet.junit.xml"):
        path = os.path.join(report_dir, name)
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            problems.append("%s: missing or empty" % path)
            continue
        try:
            if name.endswith((".json", ".sarif")):
                with open(path) as handle:
                    json.load(handle)
            elif name.endswith(".xml"):
                ElementTree.parse(path)
            elif name.endswith(".html"):
                with open(path) as handle:
                    page = handle.read()
                if not page.startswith("<!DOCTYPE html>") or 'data-host="%s"' % host not in page:
                    problems.append("%s: not the fleet page, or %s is not in it" % (path, host))
        except (ValueError, ElementTree.ParseError) as exc:
            problems.append("%s: does not parse: %s" % (path, exc))
    return problems


def main(argv):
    schema_path, host, report_dirs = argv[0], argv[1], argv[2:]
    with open(schema_path) as handle:
        schema = json.load(handle)
    problems = []
    for report_dir in report_dirs:
        found = check(schema, host, report_dir)
        problems.extend(found)
        if not found:
            print("report %s/%s.json: valid (%s)" % (report_dir, host, os.path.basename(schema_path)))
    for problem in problems:
        print("FAIL: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
