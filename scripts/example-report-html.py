# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/examples/exposed-host/fleet.html and fleet.png from that directory's before.json and after.json.

The page is the audit's own fleet.html (plugins/plugin_utils/audit_html.py) of the audit after
site.yml, compared with the audit before it as the previous report; the screenshot is headless
Chromium's (scripts/headless_chromium.py) at 1280x1600. Called by scripts/example-report.sh after
a real run, and alone by `make example-report-html` (no Docker: it only rereads the JSON).

    python scripts/example-report-html.py docs/examples/exposed-host
"""

import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, ".collections"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import headless_chromium  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.aihost.hardening.plugins.module_utils.audit_reports import fleet_report  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.aihost.hardening.plugins.plugin_utils.audit_html import to_html  # noqa: E402  pylint: disable=wrong-import-position


def fleet_of(path):
    with open(path) as handle:
        report = json.load(handle)
    return fleet_report([report], report.get("fail_on") or "none", report.get("timestamp"))


def main(out):
    before, after = fleet_of(os.path.join(out, "before.json")), fleet_of(os.path.join(out, "after.json"))
    page = os.path.join(out, "fleet.html")
    with open(page, "w") as handle:
        handle.write(to_html(after, before))
    headless_chromium.screenshot(headless_chromium.file_url(page), os.path.join(out, "fleet.png"), size="1280,1600")
    print("wrote %s and %s" % (page, os.path.join(out, "fleet.png")))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "examples", "exposed-host"))
