# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit as one self-contained HTML page (controller only).

``to_html(fleet, previous)`` renders a fleet report (module_utils/audit_reports.fleet_report) and,
when there is one, the previous fleet report of the same directory: a host x severity table that
sorts when a header is clicked (or from ``?sort=<column>&dir=asc|desc`` in the URL), inline SVG
charts of the findings by severity and by finding ID (with the previous report's counts and the
deltas), and every host's findings with their ID, title, subject, evidence and fix.

Everything in a report came from a host, and hosts are attacker input: every string is
HTML-escaped (quotes included) on its way into text or an attribute, host data never reaches the
script, and the script only moves existing rows (no innerHTML). A Content-Security-Policy with the
hashes of the one script and the one style block is the second line: an injected handler or script
would not run even if escaping failed. No external resource (script, font, style, image) is used.
Only the fields named above are shown; no raw fact is added (they are redacted at detection anyway).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
from html import escape

from ansible_collections.aihost.hardening.plugins.module_utils.audit_policy import RULES, SEVERITIES

GENERATOR = "aihost.hardening.audit"
COLOURS = {"critical": "#8e0000", "high": "#d84315", "medium": "#c98a00", "low": "#1565c0", "info": "#607d8b"}
PREVIOUS_COLOUR = "#b0b7bf"

# Static: no report data is ever placed in the script. It reorders existing rows only.
SORT_SCRIPT = r"""
(function () {
  "use strict";
  var table = document.getElementById("hosts");
  if (!table || !table.tHead || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var headers = table.tHead.rows[0].cells;
  function value(row, col) {
    var cell = row.cells[col];
    var sortKey = cell.getAttribute("data-sort");
    return sortKey === null ? cell.textContent : sortKey;
  }
  function compare(x, y, numeric) {
    if (numeric) { return Number(x) - Number(y); }
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  function sortBy(col, dir) {
    var numeric = headers[col].getAttribute("data-type") === "number";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var order = compare(value(a, col), value(b, col), numeric);
      if (dir === "desc") { order = -order; }
      /* ties: host name, ascending */
      return order || compare(value(a, 0), value(b, 0), false);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    for (var i = 0; i < headers.length; i++) {
      headers[i].setAttribute("aria-sort", i === col ? (dir === "asc" ? "ascending" : "descending") : "none");
    }
    table.setAttribute("data-sorted", headers[col].getAttribute("data-key") + ":" + dir);
  }
  Array.prototype.forEach.call(headers, function (header, col) {
    var button = header.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var now = header.getAttribute("aria-sort");
      var dir = now === "ascending" ? "desc" : (now === "descending" ? "asc" : header.getAttribute("data-dir"));
      sortBy(col, dir);
    });
  });
  var params = new URLSearchParams(window.location.search);
  var wanted = params.get("sort");
  if (wanted) {
    Array.prototype.forEach.call(headers, function (header, col) {
      if (header.getAttribute("data-key") === wanted) {
        var dir = params.get("dir");
        sortBy(col, dir === "asc" || dir === "desc" ? dir : header.getAttribute("data-dir"));
      }
    });
  }
  table.setAttribute("data-script", "ran");
})();
"""

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem auto; max-width: 1200px;
  padding: 0 1rem; color: #1d2329; background: #fff; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .3rem; } .meta { color: #57606a; margin: .2rem 0; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { border: 1px solid #d0d7de; padding: .25rem .5rem;
  text-align: left; vertical-align: top; } th { background: #f6f8fa; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } td.zero { color: #8c959f; }
th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort=ascending] button::after { content: " \\25B2"; } th[aria-sort=descending] button::after { content: " \\25BC"; }
.sev { display: inline-block; min-width: 4.5em; padding: 0 .4em; border-radius: 3px; color: #fff; font-size: .85em; }
.sev-critical { background: #8e0000; } .sev-high { background: #d84315; } .sev-medium { background: #c98a00; }
.sev-low { background: #1565c0; } .sev-info { background: #607d8b; } .sev-none { background: #2e7d32; }
table.findings td { max-width: 28rem; overflow-wrap: anywhere; } code { font-size: .9em; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; } .chart { flex: 1 1 540px; }
.up { color: #b71c1c; } .down { color: #2e7d32; } .same { color: #57606a; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2329; }
"""


def _text(value):
    """Any value as escaped HTML text, safe in text and in a double-quoted attribute."""
    return escape("" if value is None else str(value), quote=True)


def _csp_hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _hosts(fleet):
    return list((fleet or {}).get("hosts") or [])


def _host_name(report):
    return str(((report or {}).get("host") or {}).get("name"))


def _findings(report):
    return [item for item in (report or {}).get("findings") or [] if isinstance(item, dict)]


def _severity_index(severity):
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def host_counts(report):
    """Findings of one host per severity, counted from its findings (every severity present, 0 too)."""
    counts = dict((name, 0) for name in SEVERITIES)
    for item in _findings(report):
        if item.get("severity") in counts:
            counts[item["severity"]] += 1
    return counts


def fleet_totals(fleet):
    """Findings of the whole fleet per severity and per finding ID, and the hosts each ID was found on."""
    by_severity = dict((name, 0) for name in SEVERITIES)
    by_id = {}
    hosts_by_id = {}
    for report in _hosts(fleet):
        for item in _findings(report):
            severity = item.get("severity")
            if severity in by_severity:
                by_severity[severity] += 1
            rule_id = str(item.get("id"))
            by_id[rule_id] = by_id.get(rule_id, 0) + 1
            hosts_by_id.setdefault(rule_id, set()).add(_host_name(report))
    return {"severity": by_severity, "id": by_id, "hosts": dict((key, len(value)) for key, value in hosts_by_id.items())}


def _rule_order(rule_id):
    rule = RULES.get(rule_id) or {}
    return (_severity_index(rule.get("severity")), rule_id)


def deltas(fleet, previous):
    """The fleet against the previous fleet report: per severity and per finding ID, (before, now, delta).

    ``None`` when there is no previous report. IDs are those of either report, most severe rule first.
    """
    if not previous:
        return None
    now, before = fleet_totals(fleet), fleet_totals(previous)
    ids = sorted(set(now["id"]) | set(before["id"]), key=_rule_order)
    now_hosts = set(_host_name(report) for report in _hosts(fleet))
    before_hosts = set(_host_name(report) for report in _hosts(previous))
    return {
        "timestamp": previous.get("timestamp"),
        "severity": [(name, before["severity"][name], now["severity"][name], now["severity"][name] - before["severity"][name])
                     for name in SEVERITIES],
        "id": [(rule_id, before["id"].get(rule_id, 0), now["id"].get(rule_id, 0),
                now["id"].get(rule_id, 0) - before["id"].get(rule_id, 0)) for rule_id in ids],
        "total": (sum(before["severity"].values()), sum(now["severity"].values()),
                  sum(now["severity"].values()) - sum(before["severity"].values())),
        "hosts_added": sorted(now_hosts - before_hosts),
        "hosts_removed": sorted(before_hosts - now_hosts),
    }


def _delta_text(delta):
    if delta > 0:
        return "+%d" % delta
    if delta < 0:
        return "\u2212%d" % -delta
    return "\u00b10"


def _delta_class(delta):
    return "up" if delta > 0 else ("down" if delta < 0 else "same")


def _severity_key(counts):
    """One number that orders hosts by their worst findings: critical count first, then high, ..."""
    key = 0
    for name in SEVERITIES:
        key = key * 1000 + min(int(counts.get(name, 0)), 999)
    return key


def _worst(counts):
    for name in SEVERITIES:
        if counts.get(name):
            return name
    return None


def bar_chart(chart_id, title, rows):
    """A horizontal bar chart as inline SVG.

    ``rows``: (label, now, before or None, colour). With a ``before``, a grey bar under the current one
    shows the previous count and the delta is written after the bar.
    """
    label_width, bar_width, row_height = 150, 330, 26
    scale = max([1] + [row[1] for row in rows] + [row[2] for row in rows if row[2] is not None])
    height = row_height * max(len(rows), 1) + 30
    parts = ['<svg id="%s" class="chart-svg" role="img" aria-labelledby="%s-title" width="%d" height="%d" '
             'viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">' % (
                 _text(chart_id), _text(chart_id), label_width + bar_width + 110, height,
                 label_width + bar_width + 110, height),
             '<title id="%s-title">%s</title>' % (_text(chart_id), _text(title))]
    if not rows:
        parts.append('<text x="0" y="18">No findings.</text>')
    for index, (label, now, before, colour) in enumerate(rows):
        top = 6 + index * row_height
        width = int(round(bar_width * now / float(scale)))
        parts.append('<g class="bar" data-label="%s" data-now="%d"%s>' % (
            _text(label), now, "" if before is None else ' data-before="%d"' % before))
        parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (label_width - 8, top + 13, _text(label)))
        parts.append('<rect x="%d" y="%d" width="%d" height="14" fill="%s"/>' % (label_width, top, width, _text(colour)))
        if before is not None:
            parts.append('<rect x="%d" y="%d" width="%d" height="5" fill="%s"/>' % (
                label_width, top + 16, int(round(bar_width * before / float(scale))), PREVIOUS_COLOUR))
        text = str(now)
        if before is not None:
            text += " (%s)" % _delta_text(now - before)
        parts.append('<text x="%d" y="%d">%s</text>' % (label_width + max(width, 0) + 6, top + 12, _text(text)))
        parts.append("</g>")
    if any(row[2] is not None for row in rows):
        parts.append('<rect x="%d" y="%d" width="14" height="5" fill="%s"/><text x="%d" y="%d">previous report</text>' % (
            label_width, height - 14, PREVIOUS_COLOUR, label_width + 20, height - 8))
    parts.append("</svg>")
    return "".join(parts)


def _gate(fail_on):
    if fail_on in (None, "", "none"):
        return "gate off (fail_on: none)"
    return "gate: fail on %s and above" % fail_on


def _hosts_table(fleet):
    columns = [("host", "Host", "text", "asc"), ("severity", "Worst", "number", "desc")]
    columns += [(name, name, "number", "desc") for name in SEVERITIES]
    columns += [("total", "Total", "number", "desc"), ("failing", "Failing", "number", "desc")]
    lines = ['<table id="hosts" class="hosts">', "<thead><tr>"]
    for key, label, kind, direction in columns:
        lines.append('<th scope="col" data-key="%s" data-type="%s" data-dir="%s" aria-sort="none"><button type="button">%s</button></th>' % (
            key, kind, direction, _text(label)))
    lines.append("</tr></thead><tbody>")
    for index, report in enumerate(_hosts(fleet)):
        counts = host_counts(report)
        worst = _worst(counts)
        failing = ((report.get("summary") or {}).get("failing")) or 0
        cells = ['<th scope="row" data-sort="%s"><a href="#host-%d">%s</a></th>' % (
            _text(_host_name(report)), index, _text(_host_name(report)))]
        cells.append('<td data-sort="%d"><span class="sev sev-%s">%s</span></td>' % (
            _severity_key(counts), worst or "none", _text(worst or "none")))
        for name in SEVERITIES:
            cells.append('<td class="n%s" data-sort="%d">%d</td>' % ("" if counts[name] else " zero", counts[name], counts[name]))
        cells.append('<td class="n" data-sort="%d">%d</td>' % (sum(counts.values()), sum(counts.values())))
        cells.append('<td class="n" data-sort="%d">%d</td>' % (int(failing), int(failing)))
        lines.append('<tr data-host="%s">%s</tr>' % (_text(_host_name(report)), "".join(cells)))
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _delta_tables(changes):
    lines = ['<table id="delta-severity" class="delta"><thead><tr><th>Severity</th><th>Previous</th><th>Now</th><th>Change</th>'
             '</tr></thead><tbody>']
    for name, before, now, delta in changes["severity"]:
        lines.append('<tr data-severity="%s"><td><span class="sev sev-%s">%s</span></td><td class="n">%d</td><td class="n">%d</td>'
                     '<td class="n %s">%s</td></tr>' % (name, name, name, before, now, _delta_class(delta), _delta_text(delta)))
    before, now, delta = changes["total"]
    lines.append('<tr data-severity="total"><td>total</td><td class="n">%d</td><td class="n">%d</td><td class="n %s">%s</td></tr>' % (
        before, now, _delta_class(delta), _delta_text(delta)))
    lines.append("</tbody></table>")
    lines.append('<table id="delta-id" class="delta"><thead><tr><th>Finding</th><th>Title</th><th>Previous</th><th>Now</th>'
                 '<th>Change</th></tr></thead><tbody>')
    for rule_id, before, now, delta in changes["id"]:
        title = (RULES.get(rule_id) or {}).get("title", "")
        lines.append('<tr data-id="%s"><td><code>%s</code></td><td>%s</td><td class="n">%d</td><td class="n">%d</td>'
                     '<td class="n %s">%s</td></tr>' % (_text(rule_id), _text(rule_id), _text(title), before, now,
                                                        _delta_class(delta), _delta_text(delta)))
    if not changes["id"]:
        lines.append('<tr><td colspan="5">No findings in either report.</td></tr>')
    lines.append("</tbody></table>")
    for label, names in (("Hosts new since the previous report", changes["hosts_added"]),
                         ("Hosts in the previous report only", changes["hosts_removed"])):
        if names:
            lines.append('<p class="meta">%s: %s</p>' % (label, ", ".join(_text(name) for name in names)))
    return "\n".join(lines)


def _host_section(index, report):
    host = report.get("host") or {}
    counts = host_counts(report)
    summary = report.get("summary") or {}
    lines = ['<section class="host" id="host-%d" data-host="%s">' % (index, _text(_host_name(report))),
             "<h3>%s</h3>" % _text(_host_name(report))]
    facts = [value for value in (host.get("hostname"), host.get("os"), ("kernel %s" % host["kernel"]) if host.get("kernel") else None,
                                 host.get("architecture")) if value]
    lines.append('<p class="meta">%s</p>' % _text(" \u00b7 ".join(str(value) for value in facts) or "host details unknown"))
    lines.append('<p class="meta">Audited %s; %s; %s; %s at or above the gate</p>' % (
        _text(report.get("timestamp") or "-"), _text(", ".join("%s %d" % (name, counts[name]) for name in SEVERITIES)),
        _text(_gate(report.get("fail_on"))), _text(summary.get("failing", 0))))
    findings = sorted(_findings(report), key=lambda item: (_severity_index(item.get("severity")), str(item.get("id"))))
    if not findings:
        lines.append('<p class="none">No findings.</p>')
    else:
        lines.append('<table class="findings"><thead><tr><th>ID</th><th>Severity</th><th>Title</th><th>Subject</th><th>Evidence</th>'
                     "<th>Fix</th></tr></thead><tbody>")
        for item in findings:
            severity = item.get("severity") if item.get("severity") in SEVERITIES else "info"
            lines.append('<tr data-finding="%s"><td><code>%s</code></td><td><span class="sev sev-%s">%s</span></td><td>%s</td><td>%s</td>'
                         "<td>%s</td><td>%s</td></tr>" % (
                             _text(item.get("id")), _text(item.get("id")), severity, _text(item.get("severity")),
                             _text(item.get("title")), _text(item.get("subject")), _text(item.get("evidence")),
                             _text(item.get("remediation"))))
        lines.append("</tbody></table>")
    lines.append("</section>")
    return "\n".join(lines)


def to_html(fleet, previous=None):
    """The fleet report (and the previous one, if any) as one self-contained HTML document (text)."""
    hosts = _hosts(fleet)
    totals = fleet_totals(fleet)
    changes = deltas(fleet, previous)
    before = fleet_totals(previous) if changes else None
    total = sum(totals["severity"].values())
    hosts_failing = sum(1 for report in hosts if ((report.get("summary") or {}).get("failing") or 0) > 0)
    policy = "; ".join([
        "default-src 'none'", "script-src %s" % _csp_hash(SORT_SCRIPT), "style-src %s" % _csp_hash(STYLE),
        "img-src data:", "base-uri 'none'", "form-action 'none'"])
    severity_rows = [(name, totals["severity"][name], before["severity"][name] if before else None, COLOURS[name])
                     for name in SEVERITIES]
    ids = sorted(set(totals["id"]) | set(before["id"] if before else []), key=_rule_order)
    id_rows = [(rule_id, totals["id"].get(rule_id, 0), before["id"].get(rule_id, 0) if before else None,
                COLOURS.get((RULES.get(rule_id) or {}).get("severity"), COLOURS["info"])) for rule_id in ids]
    noun = "host" if len(hosts) == 1 else "hosts"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="%s">' % _text(policy),
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="%s">' % GENERATOR,
        "<title>Fleet audit (%d %s)</title>" % (len(hosts), noun),
        "<style>%s</style>" % STYLE,
        "</head>",
        "<body>",
        "<h1>Fleet audit (%d %s)</h1>" % (len(hosts), noun),
        '<p class="meta">Generated %s by %s (report schema %s); %s; %d %s failing.</p>' % (
            _text((fleet or {}).get("timestamp") or "-"), GENERATOR, _text((fleet or {}).get("schema_version", 2)),
            _text(_gate((fleet or {}).get("fail_on"))), hosts_failing, "host" if hosts_failing == 1 else "hosts"),
        '<p class="meta" id="totals">Findings: %d (%s).</p>' % (
            total, _text(", ".join("%s %d" % (name, totals["severity"][name]) for name in SEVERITIES))),
    ]
    if changes:
        out.append('<p class="meta" id="previous">Compared with the previous report of %s: %d findings then, %d now (%s).</p>' % (
            _text(changes["timestamp"] or "unknown time"), changes["total"][0], changes["total"][1], _delta_text(changes["total"][2])))
    else:
        out.append('<p class="meta" id="previous">No previous report to compare with.</p>')
    out += ["<h2>Hosts</h2>", '<p class="meta">Click a header to sort; the page also sorts from the address, '
            "<code>?sort=severity</code> (or host, critical, &#8230;, total, failing) and <code>&amp;dir=asc</code>.</p>",
            _hosts_table(fleet), "<h2>Charts</h2>", '<div class="charts">',
            '<div class="chart"><h3>Findings by severity</h3>%s</div>' % bar_chart("chart-severity", "Findings by severity", severity_rows),
            '<div class="chart"><h3>Findings by ID, across hosts</h3>%s</div>' % bar_chart("chart-id", "Findings by finding ID", id_rows),
            "</div>"]
    if ids:
        out.append('<table id="ids"><thead><tr><th>Finding</th><th>Title</th><th>Findings</th><th>Hosts</th></tr></thead><tbody>')
        for rule_id in ids:
            if totals["id"].get(rule_id):
                out.append('<tr data-id="%s"><td><code>%s</code></td><td>%s</td><td class="n">%d</td><td class="n">%d</td></tr>' % (
                    _text(rule_id), _text(rule_id), _text((RULES.get(rule_id) or {}).get("title", "")), totals["id"][rule_id],
                    totals["hosts"][rule_id]))
        out.append("</tbody></table>")
    if changes:
        out += ["<h2>Against the previous report</h2>", _delta_tables(changes)]
    out.append("<h2>Hosts in detail</h2>")
    if not hosts:
        out.append('<p class="none">No host reports.</p>')
    out += [_host_section(index, report) for index, report in enumerate(hosts)]
    out += ["<script>%s</script>" % SORT_SCRIPT, "</body>", "</html>", ""]
    return "\n".join(out)
