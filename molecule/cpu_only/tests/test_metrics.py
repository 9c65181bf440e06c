"""The metrics role on the cpu_only hosts, proved with Debian's REAL prometheus-node-exporter, which
prepare installed as an administrator would (apt-get, the package's own unit and its default textfile
directory /var/lib/prometheus/node-exporter).

After site.yml, a model verify run, a few packets from the peer to a closed port and one run of
aihost-metrics.service, node_exporter on 127.0.0.1:9100 must serve the aihost_* series, each with
HELP and TYPE, with values that match what the host itself says: the timers systemd has loaded and
the verify service's result, the firewall table and its growing drop counter, the AI ports that
still listen beyond loopback (MLflow's declared 5000, Ray's GCS on 6379) and no runtime as root.
"""
import json
import os
import re
import shlex

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("cpu_only")

TEXTFILE = "/var/lib/prometheus/node-exporter/aihost.prom"
TIMER_PATTERNS = ["aihost-update-*.timer", "aihost-reboot-gate.timer", "aihost-model-verify.timer"]
# Ports site.yml moved to loopback (tests/test_cpu_only.py); none of them may be reported as exposed.
REBOUND = {11434, 8001, 8888, 7860, 8265, 8000, 8080}
LABELS = {"timer", "result", "chain", "runtime", "protocol", "address", "port", "collector"}
KNOCKS = 3


def parse(text):
    """{(name, frozenset(labels)): float} of the aihost_* samples of a scrape, plus the HELP/TYPE names."""
    samples, described = {}, set()
    for line in text.splitlines():
        match = re.match(r"^# (HELP|TYPE) (aihost_\S+)", line)
        if match:
            described.add((match.group(1), match.group(2)))
            continue
        match = re.match(r'^(aihost_[a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        if match:
            labels = frozenset(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples, described


def of(samples, name):
    """{labels dict as a sorted tuple: value} of one family."""
    return dict((tuple(sorted(labels)), value) for (family, labels), value in samples.items() if family == name)


def drops(host, chain):
    """Packets counted by every counter of the chain, read from nft's own JSON (in the firewall role's
    input chain only the drop rules and the counter before the drop policy carry one)."""
    data = json.loads(host.check_output("nft -j list table inet aihost"))["nftables"]
    return sum(statement["counter"]["packets"] for item in data if item.get("rule", {}).get("chain") == chain
               for statement in item["rule"]["expr"] if "counter" in statement)


@pytest.fixture(scope="module")
def scrape(host):
    """Run the verify timer's service, knock from the peer, collect once, then scrape node_exporter."""
    peer = testinfra.get_host("ansible://cpu-only-peer?ansible_inventory=%s" % INVENTORY)
    started = int(host.check_output("date +%s"))
    verify = host.run("systemctl start aihost-model-verify.service")
    input_before = drops(host, "input")
    knock = "import socket\nfor _ in range(%d):\n    s = socket.socket(); s.settimeout(1); s.connect_ex((%r, 11434)); s.close()" % (
        KNOCKS, host.backend.host)
    peer.run("python3 -c %s" % shlex.quote(knock))
    collect = host.run("systemctl start aihost-metrics.service")
    assert collect.rc == 0, host.run("journalctl -u aihost-metrics --no-pager -n 20").stdout
    text = host.check_output("curl -sf --max-time 20 http://127.0.0.1:9100/metrics")
    samples, described = parse(text)
    # The same collector outside its sandbox, as root: what the sandbox must not hide.
    unsandboxed = parse(host.check_output("python3 /usr/local/sbin/aihost-metrics --stdout"))[0]
    return {"started": started, "verify_rc": verify.rc, "input_before": input_before, "text": text,
            "samples": samples, "described": described, "unsandboxed": unsandboxed}


def test_debians_node_exporter_reads_the_file_the_role_wrote(host, scrape):
    assert host.package("prometheus-node-exporter").is_installed
    assert host.service("prometheus-node-exporter").is_running
    textfile = host.file(TEXTFILE)
    assert (textfile.user, textfile.group, textfile.mode) == ("root", "root", 0o644)
    assert "node_textfile_scrape_error 0" in scrape["text"]
    assert 'node_textfile_mtime_seconds{file="%s"}' % TEXTFILE in scrape["text"]
    # Written atomically: no temporary file is left in node_exporter's directory.
    assert host.check_output("ls -A /var/lib/prometheus/node-exporter") == "aihost.prom"


def test_every_series_is_aihost_with_help_and_type_and_known_labels(scrape):
    samples = scrape["samples"]
    assert len(samples) >= 10
    for family in set(name for name, _labels in samples):
        assert ("HELP", family) in scrape["described"] and ("TYPE", family) in scrape["described"], family
    for (_family, labels) in samples:
        assert set(key for key, _value in labels) <= LABELS
    for collector in ("timers", "firewall", "posture"):
        assert of(samples, "aihost_metrics_collector_success")[(("collector", collector),)] == 1, collector
    assert of(samples, "aihost_metrics_last_write_timestamp_seconds")[()] >= scrape["started"]


def test_timers_are_the_ones_systemd_has_loaded(host, scrape):
    listed = host.check_output("systemctl list-units --all --plain --no-legend --type=timer %s"
                               % " ".join(shlex.quote(pattern) for pattern in TIMER_PATTERNS))
    loaded = set(line.split()[0] for line in listed.splitlines() if line.strip())
    assert "aihost-model-verify.timer" in loaded            # not vacuous: the model_integrity role's timer
    active = of(scrape["samples"], "aihost_timer_active")
    assert set(dict(labels)["timer"] for labels in active) == loaded


def test_the_verify_run_is_reported_as_systemd_saw_it(host, scrape):
    samples, timer = scrape["samples"], (("timer", "aihost-model-verify.timer"),)
    result = host.check_output("systemctl show -p Result --value aihost-model-verify.service")
    status = host.check_output("systemctl show -p ExecMainStatus --value aihost-model-verify.service")
    assert (result == "success" and status == "0") == (scrape["verify_rc"] == 0)
    assert of(samples, "aihost_timer_last_success")[timer] == (1 if scrape["verify_rc"] == 0 else 0)
    assert of(samples, "aihost_timer_last_result")[(("result", result),) + timer] == 1
    assert scrape["started"] - 1 <= of(samples, "aihost_timer_last_run_timestamp_seconds")[timer] <= scrape["started"] + 600
    assert 0 < of(samples, "aihost_timer_last_duration_seconds")[timer] < 600
    assert of(samples, "aihost_timer_next_run_timestamp_seconds")[timer] > scrape["started"]


def test_firewall_table_and_its_drops(scrape):
    samples = scrape["samples"]
    assert of(samples, "aihost_firewall_table_loaded")[()] == 1
    dropped = of(samples, "aihost_firewall_dropped_packets_total")
    assert dropped[(("chain", "input"),)] >= scrape["input_before"] + KNOCKS, (dropped, scrape["input_before"])
    assert (("chain", "published"),) in dropped
    assert of(samples, "aihost_firewall_dropped_bytes_total")[(("chain", "input"),)] > 0


def test_exposed_ai_ports_are_the_non_loopback_listeners(host, scrape):
    samples = scrape["samples"]
    exposed = [dict(labels) for labels in of(samples, "aihost_exposed_ai_port")]
    ports = set((row["runtime"], int(row["port"])) for row in exposed)
    assert {("mlflow", 5000), ("ray", 6379)} <= ports, ports    # declared, and Ray's GCS that binds every interface
    assert not REBOUND & set(port for _runtime, port in ports), ports
    assert of(samples, "aihost_exposed_ai_ports")[()] == len(exposed)
    listening = set()
    for line in host.check_output("ss -ltnH").splitlines():
        address, port = line.split()[3].rsplit(":", 1)
        listening.add((address.strip("[]").replace("*", "0.0.0.0"), int(port)))
    for row in exposed:
        if row["protocol"] == "tcp":
            assert (row["address"], int(row["port"])) in listening or ("0.0.0.0", int(row["port"])) in listening, row


def test_no_runtime_runs_as_root_after_site(scrape):
    samples = scrape["samples"]
    assert of(samples, "aihost_root_runtimes")[()] == 0, of(samples, "aihost_root_runtime_instances")
    running = of(samples, "aihost_ai_runtimes_running")[()]
    assert running == of(scrape["unsandboxed"], "aihost_ai_runtimes_running")[()], "the unit's sandbox hides a runtime"
    assert running >= 7      # the seven units of prepare, running
