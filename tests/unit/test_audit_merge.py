"""Unit tests of the report merge for sliced AWX jobs (plugins/plugin_utils/audit_merge.py, the
aihost.hardening.audit_merged_fleet lookup and playbooks/merge_reports.yml): two slices write their
hosts' JSON (and each its own slice's fleet.json) into one directory; the merge of that directory
equals the fleet report of one unsliced run."""
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.aihost.hardening.plugins.filter import audit as audit_filter
from ansible_collections.aihost.hardening.plugins.plugin_utils import audit_merge
from test_audit_reports import ADVISORIES, CHECKS, base_report

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAMES = ["gpu-01", "gpu-02", "cpu-01", "cpu-02", "edge-01"]


def host(name, exposed=True, fail_on="high"):
    return audit_filter.audit_evaluate(base_report(name, exposed), CHECKS, [], ADVISORIES, fail_on)


def write_slice(directory, reports):
    """What one slice's audit writes: every host's JSON (to_nice_json) and the fleet of its own slice."""
    for report in reports:
        (directory / ("%s.json" % report["host"]["name"])).write_text(json.dumps(report, indent=2) + "\n")
    fleet = audit_filter.audit_fleet(reports, "high", reports[0]["timestamp"])
    (directory / "fleet.json").write_text(json.dumps(fleet, indent=2) + "\n")
    (directory / "fleet.md").write_text(audit_filter.audit_markdown(fleet))


@pytest.fixture
def reports():
    return [host(name, exposed=index % 2 == 0) for index, name in enumerate(NAMES)]


def test_two_slices_merge_into_the_fleet_of_one_unsliced_run(tmp_path, reports):
    unsliced = audit_filter.audit_fleet(reports, "high", reports[0]["timestamp"])
    write_slice(tmp_path, reports[0::2])
    write_slice(tmp_path, reports[1::2])
    # The directory's fleet.json is the last slice's only: the reason for the merge.
    assert json.loads((tmp_path / "fleet.json").read_text())["summary"]["hosts"] == 2
    merged, skipped = audit_merge.merge_directory(str(tmp_path))
    assert merged == json.loads(json.dumps(unsliced)) and skipped == []
    assert merged["summary"]["hosts"] == len(NAMES) and [item["host"]["name"] for item in merged["hosts"]] == sorted(NAMES)


def test_timestamp_is_the_latest_host_report_and_can_be_given(tmp_path, reports):
    reports[3]["timestamp"] = "2026-11-27T10:00:00Z"
    write_slice(tmp_path, reports)
    assert audit_merge.merge_directory(str(tmp_path))[0]["timestamp"] == "2026-11-27T10:00:00Z"
    assert audit_merge.merge_directory(str(tmp_path), timestamp="2026-12-01T00:00:00Z")[0]["timestamp"] == "2026-12-01T00:00:00Z"


def test_other_files_are_skipped_and_named(tmp_path, reports):
    write_slice(tmp_path, reports[:2])
    (tmp_path / ".gpu-03.json.x1y2").write_text("{")           # an interrupted atomic write
    (tmp_path / "notes.json").write_text('{"kind": "notes"}')
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "fleet.gl-sast.json").write_text("{}")          # the audit's own fleet files
    merged, skipped = audit_merge.merge_directory(str(tmp_path))
    assert merged["summary"]["hosts"] == 2
    assert [name for name, _reason in skipped] == ["broken.json", "notes.json"]


def test_refuses_duplicates_mixed_gates_and_an_empty_directory(tmp_path, reports):
    with pytest.raises(audit_merge.MergeError, match="no audit host reports"):
        audit_merge.merge_directory(str(tmp_path))
    write_slice(tmp_path, reports[:2])
    (tmp_path / "copy-of-gpu-01.json").write_text(json.dumps(reports[0]))
    with pytest.raises(audit_merge.MergeError, match="two reports of host gpu-01"):
        audit_merge.merge_directory(str(tmp_path))
    os.remove(str(tmp_path / "copy-of-gpu-01.json"))
    (tmp_path / "late.json").write_text(json.dumps(host("late", fail_on="critical")))
    with pytest.raises(audit_merge.MergeError, match="different fail_on values \\(critical, high\\)"):
        audit_merge.merge_directory(str(tmp_path))
    assert audit_merge.merge_directory(str(tmp_path), fail_on="medium")[0]["fail_on"] == "medium"
    with pytest.raises(audit_merge.MergeError, match="not one of"):
        audit_merge.merge_directory(str(tmp_path), fail_on="hgih")


def test_merge_playbook_writes_one_fleet_of_every_format_and_touches_no_host(tmp_path, reports):
    reports_dir, out = tmp_path / "reports", tmp_path / "merged"
    reports_dir.mkdir()
    write_slice(reports_dir, reports[:3])
    write_slice(reports_dir, reports[3:])
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(ROOT, "playbooks", "merge_reports.yml"),
               "-e", "aihost_merge_reports_dir=%s" % reports_dir, "-e", "aihost_merge_reports_dest=%s" % out]
    run = subprocess.run(command, env=env, cwd=str(tmp_path), capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Merged 5 hosts" in run.stdout and "no previous report compared" in run.stdout
    assert "changed=0" in run.stdout and "unreachable=0" in run.stdout
    fleet = json.loads((out / "fleet.json").read_text())
    assert fleet == json.loads(json.dumps(audit_filter.audit_fleet(reports, "high", reports[0]["timestamp"])))
    for name in ("fleet.md", "fleet.html", "fleet.sarif", "fleet.junit.xml"):
        assert oct((out / name).stat().st_mode & 0o777) == "0o600"
    assert oct(out.stat().st_mode & 0o777) == "0o700"
    html = (out / "fleet.html").read_text()
    assert all('data-host="%s"' % name in html for name in NAMES) and "No previous report" in html
    # Second merge into the same dest: the fleet.json it replaces is the previous report.
    run = subprocess.run(command + ["-e", "aihost_merge_reports_previous=%s" % (out / "fleet.json")], env=env, cwd=str(tmp_path),
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "compared with" in run.stdout and 'id="delta-severity"' in (out / "fleet.html").read_text()
