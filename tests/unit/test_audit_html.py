"""Unit tests of the HTML fleet report (plugins/plugin_utils/audit_html.py): hostile strings from hosts
are escaped and never become markup, every host and finding is there, the sort script is the only
script (and the Content-Security-Policy allows only it), deltas against the previous report, and
fleets of zero, one and many hosts. The browser test (tests/browser) loads the same page in Chromium."""
import base64
import copy
import hashlib
import re
from html.parser import HTMLParser

import pytest

from ansible_collections.aihost.hardening.plugins.filter import audit as audit_filter
from ansible_collections.aihost.hardening.plugins.module_utils.audit_policy import SEVERITIES
from ansible_collections.aihost.hardening.plugins.plugin_utils import audit_html
from test_audit_reports import ADVISORIES, CHECKS, base_report

HOSTILE_HOST = "<img src=x onerror=document.title='pwned'>"
HOSTILE_SUBJECT = "<script>document.title='pwned'</script>"
HOSTILE_EVIDENCE = '"onload="document.title=\'pwned\'" x="'
HOSTILE_FIX = "</td></tr></table><svg onload=alert(1)>&amp;"
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "code", "table", "thead", "tbody",
        "tr", "th", "td", "button", "a", "span", "div", "section", "svg", "g", "rect", "text", "script"}


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and the scripts' content."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.tags, self.text, self.scripts, self._in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parse(document):
    page = Page()
    page.feed(document)
    page.close()
    return page


def host(name, exposed=True):
    return audit_filter.audit_evaluate(base_report(name, exposed), CHECKS, [], ADVISORIES, "high")


def fleet_of(*reports):
    return audit_filter.audit_fleet(list(reports), "high", "2026-11-26T09:00:01Z")


@pytest.fixture(scope="module")
def hostile_fleet():
    bad = host(HOSTILE_HOST)
    bad["host"]["hostname"] = HOSTILE_HOST
    bad["findings"][0]["subject"] = HOSTILE_SUBJECT
    bad["findings"][0]["evidence"] = HOSTILE_EVIDENCE
    bad["findings"][0]["remediation"] = HOSTILE_FIX
    bad["findings"][1]["title"] = HOSTILE_SUBJECT
    return fleet_of(bad, host("justified", exposed=False))


def test_hostile_strings_are_text_never_markup(hostile_fleet):
    document = audit_html.to_html(hostile_fleet)
    page = parse(document)
    assert set(tag for tag, _attrs in page.tags) <= TAGS
    # No handler attribute, no resource loaded, and the one script is the static sort script.
    assert not [(tag, name) for tag, attrs in page.tags for name in attrs if name.startswith("on")]
    assert [tag for tag, _attrs in page.tags].count("script") == 1 and page.scripts == [audit_html.SORT_SCRIPT]
    assert [tag for tag, _attrs in page.tags].count("img") == 0
    for raw in (HOSTILE_HOST, HOSTILE_SUBJECT, HOSTILE_FIX):
        assert raw not in document
    assert "&lt;img src=x onerror=document.title=&#x27;pwned&#x27;&gt;" in document
    # Shown to the reader exactly as the host wrote it.
    text = "".join(page.text)
    for raw in (HOSTILE_HOST, HOSTILE_SUBJECT, HOSTILE_EVIDENCE, HOSTILE_FIX):
        assert raw in text
    # The host name also sits in attributes: quoted and escaped, read back unchanged.
    assert [attrs["data-host"] for tag, attrs in page.tags if tag == "tr" and "data-host" in attrs] == [HOSTILE_HOST, "justified"]


def test_the_title_and_script_carry_no_host_data(hostile_fleet):
    document = audit_html.to_html(hostile_fleet)
    title = re.search(r"<title>(.*?)</title>", document).group(1)
    assert title == "Fleet audit (2 hosts)"
    assert "pwned" not in audit_html.SORT_SCRIPT and "innerHTML" not in audit_html.SORT_SCRIPT


def test_content_security_policy_allows_only_the_sort_script_and_the_style(hostile_fleet):
    page = parse(audit_html.to_html(hostile_fleet))
    policy = next(attrs["content"] for tag, attrs in page.tags if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy")
    digest = base64.b64encode(hashlib.sha256(audit_html.SORT_SCRIPT.encode()).digest()).decode()
    assert "default-src 'none'" in policy and "script-src 'sha256-%s'" % digest in policy
    assert "unsafe-inline" not in policy


def test_self_contained_no_external_resource(hostile_fleet):
    document = audit_html.to_html(hostile_fleet)
    page = parse(document)
    assert not [attrs for tag, attrs in page.tags if "src" in attrs or tag in ("link", "img", "iframe", "object")]
    assert all(attrs["href"].startswith("#host-") for tag, attrs in page.tags if "href" in attrs)
    assert "@import" not in document and "url(" not in document and "//cdn" not in document


def test_every_host_and_finding_with_its_evidence_and_fix():
    reports = [host("alpha"), host("bravo", exposed=False), host("charlie")]
    fleet = fleet_of(*reports)
    document = audit_html.to_html(fleet)
    page = parse(document)
    text = "".join(page.text)
    sections = [attrs["data-host"] for tag, attrs in page.tags if tag == "section"]
    rows = [attrs["data-host"] for tag, attrs in page.tags if tag == "tr" and "data-host" in attrs]
    assert sections == rows == ["alpha", "bravo", "charlie"]
    findings = [attrs["data-finding"] for tag, attrs in page.tags if tag == "tr" and "data-finding" in attrs]
    assert sorted(findings) == sorted(item["id"] for report in fleet["hosts"] for item in report["findings"])
    for report in fleet["hosts"]:
        for item in report["findings"]:
            for field in ("id", "title", "subject", "evidence", "remediation"):
                assert str(item[field]) in text


def test_host_table_has_a_sortable_header_per_severity_and_counts_per_host():
    fleet = fleet_of(host("alpha"), host("bravo", exposed=False))
    page = parse(audit_html.to_html(fleet))
    keys = [attrs["data-key"] for tag, attrs in page.tags if tag == "th" and "data-key" in attrs]
    assert keys == ["host", "severity"] + list(SEVERITIES) + ["total", "failing"]
    assert [tag for tag, _attrs in page.tags].count("button") == len(keys)
    assert "addEventListener(\"click\"" in page.scripts[0] and "URLSearchParams" in page.scripts[0]
    alpha = fleet["hosts"][0]
    counts = audit_html.host_counts(alpha)
    assert counts == alpha["summary"]["counts"]
    # The severity key orders critical first, then high, ...
    assert audit_html._severity_key({"critical": 1}) > audit_html._severity_key({"high": 999, "medium": 999})


def test_deltas_against_the_previous_report_per_severity_and_per_id():
    previous = fleet_of(host("alpha"), host("bravo"))
    current = fleet_of(host("alpha"), host("bravo", exposed=False), host("delta", exposed=False))
    changes = audit_html.deltas(current, previous)
    before, now = audit_html.fleet_totals(previous), audit_html.fleet_totals(current)
    assert [row[0] for row in changes["severity"]] == list(SEVERITIES)
    for name, was, is_now, delta in changes["severity"]:
        assert (was, is_now, delta) == (before["severity"][name], now["severity"][name], now["severity"][name] - before["severity"][name])
    by_id = dict((row[0], row[1:]) for row in changes["id"])
    assert set(by_id) == set(before["id"]) | set(now["id"])
    assert by_id["AIH-EXP-002"] == (2, 1, -1)
    assert changes["total"][2] < 0 and changes["hosts_added"] == ["delta"] and changes["hosts_removed"] == []
    page = parse(audit_html.to_html(current, previous))
    text = "".join(page.text)
    assert "Against the previous report" in text and previous["timestamp"] in text
    rows = [attrs["data-id"] for tag, attrs in page.tags if tag == "tr" and "data-id" in attrs]
    assert set(by_id) <= set(rows)
    bars = [attrs for tag, attrs in page.tags if tag == "g" and "data-before" in attrs]
    assert len(bars) == len(SEVERITIES) + len(by_id)
    assert "\u22121" in text and "Hosts new since the previous report: delta" in text


def test_no_previous_report_means_no_deltas():
    fleet = fleet_of(host("alpha"))
    assert audit_html.deltas(fleet, None) is None
    document = audit_html.to_html(fleet)
    assert "No previous report to compare with." in document and "data-before" not in document


def test_zero_findings_and_zero_hosts():
    clean = host("clean", exposed=False)
    clean["findings"], clean["summary"]["counts"] = [], dict((name, 0) for name in SEVERITIES)
    clean["summary"]["total"] = clean["summary"]["failing"] = 0
    page = parse(audit_html.to_html(fleet_of(clean), fleet_of(copy.deepcopy(clean))))
    text = "".join(page.text)
    assert "Fleet audit (1 host)" in text and "No findings." in text and "Findings: 0 (" in text
    assert not [attrs for tag, attrs in page.tags if "data-finding" in attrs]
    empty = parse(audit_html.to_html(fleet_of()))
    assert "No host reports." in "".join(empty.text) and "Fleet audit (0 hosts)" in "".join(empty.text)


def test_many_hosts():
    reports = [host("host-%03d" % index, exposed=index % 3 == 0) for index in range(60)]
    fleet = fleet_of(*reports)
    page = parse(audit_html.to_html(fleet))
    rows = [attrs["data-host"] for tag, attrs in page.tags if tag == "tr" and "data-host" in attrs]
    assert rows == sorted(report["host"]["name"] for report in reports)
    hrefs = [attrs["href"] for tag, attrs in page.tags if tag == "a"]
    assert hrefs == ["#host-%d" % index for index in range(60)]
    assert len(set(attrs["id"] for tag, attrs in page.tags if tag == "section")) == 60
