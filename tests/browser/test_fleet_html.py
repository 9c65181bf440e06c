"""The HTML fleet report in headless Chromium (Debian's chromium): generated from fixture facts whose
names are hostile, loaded from file://, and read back as the DOM after the page's script ran.

Proves: every host and every finding ID is in the rendered page; the sort works (from ?sort= in the
address, and through real clicks on the headers, by a harness script the test adds); no markup from
a host ran (a host named <img src=x onerror=document.title='pwned'> leaves the title alone and
creates no element); and a screenshot is saved (.cache/browser/fleet.png)."""
import base64
import hashlib
import os
import shutil
from html.parser import HTMLParser

import pytest
import yaml

from ansible_collections.aihost.hardening.plugins.filter import audit as audit_filter
from ansible_collections.aihost.hardening.plugins.plugin_utils import audit_html

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCREENSHOT_DIR = os.path.join(ROOT, ".cache", "browser")
with open(os.path.join(ROOT, "roles", "audit", "files", "advisories.yml")) as _handle:
    ADVISORIES = yaml.safe_load(_handle)
HOSTILE_HOST = "<img src=x onerror=document.title='pwned'>"
HOSTILE_PATH = "/srv/<script>document.title='pwned'</script>"
HOSTILE_UNIT = '"onmouseover="document.title=\'pwned\'".service'
CHECKS = "\n".join(["@@nft_ruleset", "@@firewalld", "inactive", "@@ufw", "@@apt_periodic", "@@unattended_upgrades",
                    "@@dnf_timers", "@@data_paths", "777|root|root|/srv/models", "@@packages", "dpkg|nftables|1.0.6-2"])
GOOD_CHECKS = CHECKS.replace("@@firewalld\ninactive", "@@firewalld\nactive").replace("777|", "755|").replace(
    "@@unattended_upgrades", 'APT::Periodic::Unattended-Upgrade "1";\n@@unattended_upgrades\npresent')


def facts(name, exposed, process="ollama", unit="ollama.service", version="0.12.3"):
    """A host's facts as ai_runtime_facts and gpu_facts return them (one Ollama, root or not)."""
    address, scope = ("0.0.0.0", "all") if exposed else ("127.0.0.1", "loopback")
    listener = {"protocol": "tcp", "family": "ipv4", "address": address, "port": 11434, "scope": scope, "pid": 10,
                "process": process, "user": "root" if exposed else "ollama", "unit": unit, "container": None, "runtime": "ollama"}
    runtime = {"name": "ollama", "display_name": "Ollama", "version": version, "version_source": "command", "exposure": scope,
               "auth": {"enabled": False, "evidence": "none"}, "run_as": ["root" if exposed else "ollama"],
               "processes": [{"pid": 10, "name": process}], "units": [{"name": unit}], "containers": [],
               "listen": [dict(listener)], "data_paths": ["/srv/models"], "risky_flags": [], "packages": []}
    return {"schema_version": 1, "generator": "aihost.hardening.audit", "timestamp": "2026-11-26T09:00:00Z",
            "host": {"name": name, "address": "192.0.2.10", "hostname": name, "fqdn": None, "os": "Debian 12",
                     "kernel": "6.1", "architecture": "x86_64"},
            "aihost_runtime": {"schema_version": 1, "listeners": [listener], "runtimes": [runtime], "warnings": []},
            "aihost_gpu": {"schema_version": 1, "present": False, "gpus": [], "accelerators": [], "device_nodes": [],
                           "summary": "CPU-only host"}}


def evaluate(base, checks=CHECKS):
    return audit_filter.audit_evaluate(base, checks, [], ADVISORIES, "high")


class Rows(HTMLParser):
    """The host table's row order, the finding rows per host section, every element name and the title."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.order, self.findings, self.tags, self.title, self.table = [], {}, [], "", {}
        self._section, self._in_title, self._in_hosts, self._title_done = None, False, False, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "table" and attrs.get("id") == "hosts":
            self._in_hosts, self.table = True, attrs
        if tag == "tr" and self._in_hosts and "data-host" in attrs:
            self.order.append(attrs["data-host"])
        if tag == "section":
            self._section = attrs.get("data-host")
            self.findings[self._section] = []
        if tag == "tr" and self._section is not None and "data-finding" in attrs:
            self.findings[self._section].append(attrs["data-finding"])
        # The document's title (the first); SVG charts have titles of their own.
        self._in_title = tag == "title" and not self._title_done

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_hosts = False
        if tag == "section":
            self._section = None
        if tag == "title" and self._in_title:
            self._in_title, self._title_done = False, True

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def rendered(dom):
    rows = Rows()
    rows.feed(dom)
    rows.close()
    return rows


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """fleet.html of four hosts (one named like an XSS payload, one with a hostile unit name and data path)
    and the previous fleet.json it is compared with."""
    hosts = [
        evaluate(facts(HOSTILE_HOST, exposed=True)),
        evaluate(facts("alpha", exposed=False, version="0.17.1"), GOOD_CHECKS),
        evaluate(facts("bravo", exposed=True, unit=HOSTILE_UNIT), CHECKS.replace("/srv/models", HOSTILE_PATH)),
        evaluate(facts("charlie", exposed=False)),
    ]
    previous = audit_filter.audit_fleet(hosts[1:3], "high", "2026-11-25T09:00:00Z")
    fleet = audit_filter.audit_fleet(hosts, "high", "2026-11-26T09:00:01Z")
    directory = tmp_path_factory.mktemp("fleet")
    path = directory / "fleet.html"
    path.write_text(audit_html.to_html(fleet, previous))
    return {"path": str(path), "fleet": fleet, "dir": directory}


def expected_by_severity(fleet):
    keyed = [(-audit_html._severity_key(audit_html.host_counts(item)), item["host"]["name"]) for item in fleet["hosts"]]
    return [name for _key, name in sorted(keyed)]


def with_harness(report, script):
    """A copy of the page with one more script (the test's), allowed by adding its hash to the CSP."""
    text = open(report["path"]).read()
    digest = "'sha256-%s'" % base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    text = text.replace("script-src ", "script-src %s " % digest, 1).replace("</body>", "<script>%s</script></body>" % script)
    path = report["dir"] / ("harness-%s.html" % hashlib.sha256(script.encode()).hexdigest()[:8])
    path.write_text(text)
    return str(path)


def test_every_host_and_finding_is_rendered_and_no_host_markup_runs(chromium, report):
    dom = chromium.dump_dom(chromium.file_url(report["path"]))
    page = rendered(dom)
    fleet = report["fleet"]
    names = [item["host"]["name"] for item in fleet["hosts"]]
    assert page.table.get("data-script") == "ran"                   # the page's own script ran
    assert page.order == names                                      # unsorted: the report's order
    for item in fleet["hosts"]:
        assert sorted(page.findings[item["host"]["name"]]) == sorted(finding["id"] for finding in item["findings"])
    assert sum(len(ids) for ids in page.findings.values()) > 10
    # The hostile names are text: the title is the page's, and no element came from a host.
    assert page.title == "Fleet audit (4 hosts)" and "pwned" not in page.title
    assert "img" not in page.tags and page.tags.count("script") == 1
    assert "&lt;img src=x onerror=document.title='pwned'&gt;" in dom
    assert "/srv/&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "ollama (\"onmouseover=\"document.title='pwned'\".service)" in dom


def test_sort_from_the_address(chromium, report):
    fleet = report["fleet"]
    by_severity = expected_by_severity(fleet)
    assert by_severity != [item["host"]["name"] for item in fleet["hosts"]]   # the sort has something to do
    page = rendered(chromium.dump_dom(chromium.file_url(report["path"], "sort=severity")))
    assert page.table.get("data-sorted") == "severity:desc" and page.order == by_severity
    page = rendered(chromium.dump_dom(chromium.file_url(report["path"], "sort=host&dir=desc")))
    assert page.order == sorted((item["host"]["name"] for item in fleet["hosts"]), reverse=True)


def test_sort_by_clicking_the_headers(chromium, report):
    """Real click events on the header buttons, from a harness script the test adds to a copy."""
    fleet = report["fleet"]
    click = "document.querySelector('th[data-key=\"%s\"] button').click();"
    page = rendered(chromium.dump_dom(chromium.file_url(with_harness(report, click % "severity"))))
    assert page.table.get("data-sorted") == "severity:desc" and page.order == expected_by_severity(fleet)
    page = rendered(chromium.dump_dom(chromium.file_url(with_harness(report, (click % "host") * 2))))
    assert page.table.get("data-sorted") == "host:desc"
    assert page.order == sorted((item["host"]["name"] for item in fleet["hosts"]), reverse=True)


def test_an_injected_script_would_not_run_either(chromium, report):
    """The CSP is the second line: a script the page does not list by hash (as if escaping failed) is blocked."""
    text = open(report["path"]).read().replace("</body>", "<script>document.title='pwned'</script></body>")
    path = report["dir"] / "injected.html"
    path.write_text(text)
    assert rendered(chromium.dump_dom(chromium.file_url(str(path)))).title == "Fleet audit (4 hosts)"


def test_screenshot(chromium, report):
    png = report["dir"] / "fleet.png"
    chromium.screenshot(chromium.file_url(report["path"], "sort=severity"), str(png))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000
    if not os.path.isdir(SCREENSHOT_DIR):
        os.makedirs(SCREENSHOT_DIR)
    shutil.copy(str(png), os.path.join(SCREENSHOT_DIR, "fleet.png"))
