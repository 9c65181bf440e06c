"""plugins/module_utils/host_metrics.py: the aihost timers, the firewall table and the posture read
from captured host output (tests/unit/fixtures/host_metrics, labelled in its README) become the
Prometheus series the metrics role promises, in a text format node_exporter accepts; label values
from the host cannot break the format; the file is replaced atomically, mode 0644, never through a
symbolic link; a collector that fails leaves its series out and says so."""
import copy
import json
import os
import re
import stat

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import host_metrics as hm

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "host_metrics")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def series(text):
    """{(name, frozenset(labels)): value} of a text exposition; checks every line's shape."""
    out = {}
    helps, types = set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            types.add(line.split()[2])
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        assert match, line
        name, labels, value = match.groups()
        assert name.startswith("aihost_"), line
        assert name in helps and name in types, "no HELP/TYPE before %s" % line
        pairs = frozenset(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', labels or ""))
        out[(name, pairs)] = float(value)
    return out


def value(found, name, **labels):
    return found[(name, frozenset(labels.items()))]


def captured_timers():
    return hm.timer_states(hm.parse_systemctl_show(fixture("systemctl-show-timers.txt")),
                           hm.parse_systemctl_show(fixture("systemctl-show-services.txt")))


def test_timers_from_captured_systemctl_show():
    states = dict((state["timer"], state) for state in captured_timers())
    assert sorted(states) == ["aihost-model-verify.timer", "aihost-reboot-gate.timer", "aihost-update-ollama.timer"]
    verify = states["aihost-model-verify.timer"]
    assert verify["active"] and verify["success"] is True and verify["result"] == "success"
    assert verify["last_run"] == 1796660618.0            # Mon 2026-12-07 16:23:38 UTC
    assert verify["duration"] == pytest.approx(0.192624)  # monotonic exit - start, in microseconds
    assert verify["next_run"] == 1796688120.0            # Tue 2026-12-08 00:02:00 UTC
    gate = states["aihost-reboot-gate.timer"]
    assert gate["success"] is False and gate["result"] == "exit-code"
    assert gate["duration"] == pytest.approx(0.354656)
    never = states["aihost-update-ollama.timer"]
    assert never["last_run"] is None and never["success"] is None and never["result"] is None
    assert never["duration"] is None and never["active"]


def test_timestamps_in_both_systemd_formats():
    assert hm.parse_timestamp("Mon 2026-12-07 16:23:38 UTC") == 1796660618.0
    assert hm.parse_timestamp("@1796660618") == 1796660618.0
    for unset in ("", "n/a", "0", "Mon 2026-12-07 16:23:38 CET", "garbage"):
        assert hm.parse_timestamp(unset) is None


def test_persistent_timer_keeps_its_last_trigger_after_a_reboot():
    """After a reboot the service has no start time; a Persistent timer's LastTriggerUSec still tells."""
    timers = [{"Id": "aihost-update-ollama.timer", "LoadState": "loaded", "ActiveState": "active",
               "Unit": "aihost-update-ollama.service", "LastTriggerUSec": "Sun 2026-12-06 03:00:00 UTC"}]
    services = [{"Id": "aihost-update-ollama.service", "Result": "success", "ExecMainStartTimestamp": ""}]
    (state,) = hm.timer_states(timers, services)
    assert state["last_run"] == 1796526000.0 and state["success"] is None


def test_running_service_has_no_result_yet():
    timers = [{"Id": "aihost-model-verify.timer", "LoadState": "loaded", "ActiveState": "active",
               "Unit": "aihost-model-verify.service"}]
    services = [{"Id": "aihost-model-verify.service", "ActiveState": "activating", "Result": "success",
                 "ExecMainStartTimestamp": "@1796660618", "ExecMainStartTimestampMonotonic": "5",
                 "ExecMainExitTimestampMonotonic": "0"}]
    (state,) = hm.timer_states(timers, services)
    assert state["last_run"] == 1796660618.0 and state["success"] is None and state["duration"] is None


def test_hostile_unit_names_and_results_are_dropped():
    timers = [{"Id": 'evil"} 1\naihost_firewall_table_loaded 0 #.timer', "LoadState": "loaded"},
              {"Id": "not-loaded.timer", "LoadState": "not-found"},
              {"Id": "ok.timer", "LoadState": "loaded", "ActiveState": "active", "Unit": "ok.service"}]
    services = [{"Id": "ok.service", "Result": 'x"}\n', "ExecMainStartTimestamp": "@10"}]
    states = hm.timer_states(timers, services)
    assert [state["timer"] for state in states] == ["ok.timer"]
    assert states[0]["result"] is None


def test_firewall_from_captured_nft_json():
    state = hm.firewall_state(fixture("nft-table-aihost.json"))
    assert state["loaded"]
    chains = state["chains"]
    assert sorted(chains) == ["forward", "input", "published"]
    # input: three drop rules with counters and the counter before the drop policy; all four counted.
    assert (chains["input"]["counted"], chains["input"]["dropped_packets"], chains["input"]["dropped_bytes"]) == (4, 4, 240)
    assert (chains["published"]["counted"], chains["published"]["dropped_packets"]) == (1, 0)
    assert chains["forward"]["counted"] == 0            # policy accept, only a jump: nothing dropped there


def test_drop_rule_counters_add_to_the_policy_counter():
    data = json.loads(fixture("nft-table-aihost.json"))
    for item in data["nftables"]:
        rule = item.get("rule")
        if rule and rule["chain"] == "input" and "no valid connection" in rule.get("comment", ""):
            for statement in rule["expr"]:
                if "counter" in statement:
                    statement["counter"] = {"packets": 7, "bytes": 280}
    chains = hm.firewall_state(json.dumps(data))["chains"]
    assert (chains["input"]["dropped_packets"], chains["input"]["dropped_bytes"]) == (11, 520)


def test_a_counter_that_is_not_last_or_not_before_drop_is_not_a_drop():
    data = json.loads(fixture("nft-table-aihost.json"))
    accept_counter = {"rule": {"family": "inet", "table": "aihost", "chain": "input", "handle": 99,
                               "expr": [{"counter": {"packets": 1000, "bytes": 9999}}, {"accept": None}]}}
    data["nftables"].append(accept_counter)
    chains = hm.firewall_state(json.dumps(data))["chains"]
    # The policy counter is no longer the last rule, and the accept counter is not a drop.
    assert chains["input"]["dropped_packets"] == 0 and chains["input"]["counted"] == 3


def test_other_tables_do_not_count():
    other = {"nftables": [{"table": {"family": "ip", "name": "filter"}},
                          {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "hook": "input", "policy": "drop"}},
                          {"rule": {"family": "ip", "table": "filter", "chain": "INPUT",
                                    "expr": [{"counter": {"packets": 5, "bytes": 5}}, {"drop": None}]}}]}
    assert hm.firewall_state(json.dumps(other)) == {"loaded": False, "chains": {}}
    with pytest.raises(ValueError):
        hm.firewall_state('{"something": []}')


def test_posture_from_captured_facts():
    facts = json.loads(fixture("runtime-facts-ollama-root.json"))
    state = hm.posture(facts)
    assert state == {"exposed": [{"runtime": "ollama", "protocol": "tcp", "address": "0.0.0.0", "port": 11434}],
                     "root": {"ollama": 1}, "running": 1}


def test_posture_after_hardening_has_nothing_exposed_or_root():
    facts = json.loads(fixture("runtime-facts-ollama-root.json"))
    runtime = facts["runtimes"][0]
    runtime["listen"][0].update(address="127.0.0.1", scope="loopback")
    runtime["run_as"] = ["ollama"]
    assert hm.posture(facts) == {"exposed": [], "root": {}, "running": 1}


def test_published_container_ports_count_unless_on_loopback():
    facts = {"runtimes": [{"name": "open_webui", "listen": [], "run_as": ["root"], "processes": [],
                           "containers": [{"published": [
                               {"host_ip": "", "host_port": 3000, "protocol": "tcp"},
                               {"host_ip": "127.0.0.1", "host_port": 3001, "protocol": "tcp"},
                               {"host_ip": "::", "host_port": 3000, "protocol": "tcp"}]}]}]}
    state = hm.posture(facts)
    assert [(row["address"], row["port"]) for row in state["exposed"]] == [("0.0.0.0", 3000), ("::", 3000)]
    assert state["root"] == {"open_webui": 1} and state["running"] == 0


def full_collection():
    return hm.collect({}, readers={
        "timers": captured_timers,
        "firewall": lambda: hm.firewall_state(fixture("nft-table-aihost.json")),
        "posture": lambda: hm.posture(json.loads(fixture("runtime-facts-ollama-root.json")))},
        clock=iter([1796660700.0, 1796660700.25]).__next__)


def test_rendered_series_and_values():
    found = series(hm.render(full_collection()))
    assert value(found, "aihost_timer_last_success", timer="aihost-model-verify.timer") == 1
    assert value(found, "aihost_timer_last_success", timer="aihost-reboot-gate.timer") == 0
    assert value(found, "aihost_timer_last_result", timer="aihost-reboot-gate.timer", result="exit-code") == 1
    assert value(found, "aihost_timer_last_run_timestamp_seconds", timer="aihost-update-ollama.timer") == 0
    assert ("aihost_timer_last_success", frozenset({("timer", "aihost-update-ollama.timer")})) not in found
    assert value(found, "aihost_timer_last_duration_seconds", timer="aihost-model-verify.timer") == pytest.approx(0.192624)
    assert value(found, "aihost_timer_next_run_timestamp_seconds", timer="aihost-model-verify.timer") == 1796688120
    assert value(found, "aihost_firewall_table_loaded") == 1
    assert value(found, "aihost_firewall_dropped_packets_total", chain="input") == 4
    assert value(found, "aihost_firewall_dropped_bytes_total", chain="input") == 240
    assert ("aihost_firewall_dropped_packets_total", frozenset({("chain", "forward")})) not in found
    assert value(found, "aihost_exposed_ai_ports") == 1
    assert value(found, "aihost_exposed_ai_port", runtime="ollama", protocol="tcp", address="0.0.0.0", port="11434") == 1
    assert value(found, "aihost_root_runtimes") == 1
    assert value(found, "aihost_root_runtime_instances", runtime="ollama") == 1
    assert value(found, "aihost_ai_runtimes_running") == 1
    for collector in ("timers", "firewall", "posture"):
        assert value(found, "aihost_metrics_collector_success", collector=collector) == 1
    assert value(found, "aihost_metrics_last_write_timestamp_seconds") == 1796660700.25
    assert value(found, "aihost_metrics_collect_duration_seconds") == 0.25


def test_each_family_has_help_and_type_once():
    text = hm.render(full_collection())
    for kind in ("HELP", "TYPE"):
        names = re.findall(r"^# %s (\S+)" % kind, text, re.M)
        assert len(names) == len(set(names))
    assert "# TYPE aihost_firewall_dropped_packets_total counter" in text
    assert "# TYPE aihost_exposed_ai_ports gauge" in text


def test_a_failed_collector_leaves_its_series_out_and_says_so():
    def broken():
        raise hm.CommandError("nft -j list table inet aihost failed: Operation not permitted")
    collected = hm.collect({}, readers={"firewall": broken, "timers": lambda: []}, clock=iter([1.0, 2.0]).__next__)
    found = series(hm.render(collected))
    assert value(found, "aihost_metrics_collector_success", collector="firewall") == 0
    assert value(found, "aihost_metrics_collector_success", collector="timers") == 1
    assert not [key for key in found if key[0].startswith("aihost_firewall_")]
    assert "Operation not permitted" in collected["errors"]["firewall"]


def test_label_values_are_escaped():
    collected = {"posture": {"exposed": [{"runtime": 'a"b\\c\nd\x1b', "protocol": "tcp", "address": "::", "port": 1}],
                             "root": {}, "running": 0}}
    text = hm.render(collected)
    assert 'runtime="a\\"b\\\\c\\nd"' in text
    series(text)


def test_read_firewall_table_missing_and_nft_missing(tmp_path):
    nft = tmp_path / "nft"
    nft.write_text("")

    def runner(argv):
        assert argv == [str(nft), "-j", "list", "table", "inet", "aihost"]
        return 1, "", "Error: No such file or directory\nlist table inet aihost\n                ^^^^^^\n"
    assert hm.read_firewall(str(nft), runner=runner) == {"loaded": False, "chains": {}}
    assert hm.read_firewall(str(tmp_path / "absent"), runner=runner) == {"loaded": False, "chains": {}}

    def denied(argv):
        return 1, "", "Error: Operation not permitted\n"
    with pytest.raises(hm.CommandError):
        hm.read_firewall(str(nft), runner=denied)


def test_read_timers_runs_systemctl_with_the_patterns():
    calls = []

    def runner(argv):
        calls.append(argv)
        return 0, fixture("systemctl-show-timers.txt" if len(calls) == 1 else "systemctl-show-services.txt"), ""
    states = hm.read_timers("/usr/bin/systemctl", ["aihost-update-*.timer", "bad name;.timer", "x.service"], runner=runner)
    assert calls[0][-2:] == ["--", "aihost-update-*.timer"]
    assert calls[1][-3:] == ["aihost-model-verify.service", "aihost-reboot-gate.service", "aihost-update-ollama.service"]
    assert len(states) == 3


def test_run_refuses_a_command_a_user_can_change():
    with pytest.raises(hm.CommandError, match="not run"):
        hm.run(["/tmp/nft"], untrusted=lambda path: "%s is owned by uid 1000" % path)


def test_write_textfile_replaces_atomically_with_mode_0644(tmp_path):
    hm.write_textfile(str(tmp_path), "aihost.prom", "aihost_x 1\n")
    hm.write_textfile(str(tmp_path), "aihost.prom", "aihost_x 2\n")
    target = tmp_path / "aihost.prom"
    assert target.read_text() == "aihost_x 2\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(str(tmp_path)) == ["aihost.prom"]      # no temporary file left behind


def test_write_textfile_never_through_a_symbolic_link(tmp_path):
    real = tmp_path / "elsewhere"
    real.mkdir()
    (tmp_path / "textfile").symlink_to(real)
    with pytest.raises(OSError):
        hm.write_textfile(str(tmp_path / "textfile"), "aihost.prom", "aihost_x 1\n")
    assert os.listdir(str(real)) == []
    # A link planted at the final name is replaced, not followed.
    victim = tmp_path / "victim"
    victim.write_text("keep")
    directory = tmp_path / "dir"
    directory.mkdir()
    (directory / "aihost.prom").symlink_to(victim)
    hm.write_textfile(str(directory), "aihost.prom", "aihost_x 1\n")
    assert victim.read_text() == "keep"
    assert not (directory / "aihost.prom").is_symlink()
    with pytest.raises(ValueError):
        hm.write_textfile(str(directory), "../x.prom", "")


def test_output_carries_no_command_line_or_environment():
    facts = json.loads(fixture("runtime-facts-ollama-root.json"))
    facts["runtimes"][0]["processes"][0]["cmdline"] = ["/usr/local/bin/ollama", "serve", "--token", "s3cret"]
    text = hm.render({"posture": hm.posture(copy.deepcopy(facts))})
    assert "s3cret" not in text and "cmdline" not in text


def test_dashboard_and_docs_cover_every_series():
    """docs/grafana/aihost-dashboard.json queries every family (through the DS_PROMETHEUS input) and
    docs/metrics.md describes every family."""
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    with open(os.path.join(root, "docs", "grafana", "aihost-dashboard.json")) as handle:
        dashboard = json.load(handle)
    assert [item["name"] for item in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    expressions = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", []))
    assert all(panel["datasource"]["uid"] == "${DS_PROMETHEUS}" for panel in dashboard["panels"] if panel["type"] != "row")
    with open(os.path.join(root, "docs", "metrics.md")) as handle:
        docs = handle.read()
    for family, _kind, _help in hm.FAMILIES:
        assert re.search(r"\b%s\b" % family, expressions), "no panel for %s" % family
        assert "`%s`" % family in docs, "docs/metrics.md does not describe %s" % family
