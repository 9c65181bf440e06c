"""Secrets read from a hostile host never leave detection: the aihost_runtime facts (which the
audit's reports, Ansible's output and every diff are made of) carry no API key, token or URL
password, while the facts derived from them (auth on or off) still see the raw values.

SYNTHETIC process tables and /proc trees written here, shaped like a vLLM server started by an
unprivileged user with `--api-key` in argv and HF_TOKEN in its environment.
"""
import json
import os

from ansible_collections.aihost.hardening.plugins.module_utils import procfs
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_detect as rd
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_facts
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import load_catalog

CATALOG = load_catalog()[0]
SECRETS = ("sk-live-123", "hf_abc", "pg-pass-9", "jt-secret")


def process(pid, cmdline, uid=1000, sockets=(), unit=None):
    return {"pid": pid, "name": os.path.basename(cmdline[0])[:15], "ppid": 1, "uid": uid, "gid": uid,
            "cmdline": cmdline, "exe": None, "cwd": "/home/ai", "unit": unit, "container_id": None,
            "container_runtime": None, "sockets": set(sockets), "fd_readable": True}


def listener(port, inode, address="0.0.0.0"):
    return {"protocol": "tcp", "family": "ipv4", "address": address, "port": port,
            "scope": procfs.address_scope(address), "state": 10, "uid": 1000, "inode": inode}


def build(processes, listeners, environ, catalog=None):
    catalog = CATALOG if catalog is None else catalog
    view = rd.HostView(root="/nonexistent", listeners=listeners,
                       processes=dict((p["pid"], p) for p in processes),
                       users={0: ("root", "/root"), 1000: ("ai", "/home/ai")}, environ_reader=environ.get)
    return rd.build_facts(view, catalog)


def assert_no_secret(facts):
    text = json.dumps(facts)
    for secret in SECRETS:
        assert secret not in text, "%s leaked into the facts" % secret


def test_api_key_in_argv_and_token_in_environ_stay_out_of_the_facts_but_auth_sees_them():
    facts = build([process(10, ["/opt/vllm/bin/vllm", "serve", "m", "--api-key", "sk-live-123", "--host", "0.0.0.0"],
                           sockets=[1])],
                  [listener(8000, 1)], {10: {"HF_TOKEN": "hf_abc", "HOME": "/home/ai"}})
    assert_no_secret(facts)
    vllm = facts["runtimes"][0]
    assert vllm["name"] == "vllm" and vllm["exposure"] == "all"
    assert vllm["auth"]["enabled"] is True and vllm["auth"]["evidence"].startswith("flag --api-key is set")
    assert vllm["processes"][0]["cmdline"] == ["/opt/vllm/bin/vllm", "serve", "m", "--api-key", "<redacted>",
                                               "--host", "0.0.0.0"]
    assert facts["listeners"][0]["cmdline"] == vllm["processes"][0]["cmdline"]


def test_equals_form_and_the_environment_variable_of_the_key():
    facts = build([process(10, ["vllm", "serve", "m", "--api-key=sk-live-123"], sockets=[1])],
                  [listener(8000, 1)], {10: {"VLLM_API_KEY": "sk-live-123"}})
    assert_no_secret(facts)
    assert facts["runtimes"][0]["auth"]["enabled"] is True
    assert facts["runtimes"][0]["processes"][0]["cmdline"][-1] == "--api-key=<redacted>"


def test_an_empty_jupyter_token_stays_visible_as_no_auth_and_a_set_one_is_hidden():
    facts = build([process(20, ["/opt/j/bin/jupyter-lab", "--ServerApp.token=", "--ip=0.0.0.0"], sockets=[2]),
                   process(30, ["/opt/j/bin/jupyter-lab", "--ServerApp.token", "jt-secret", "--port", "8889"],
                           sockets=[3])],
                  [listener(8888, 2), listener(8889, 3)], {})
    assert_no_secret(facts)
    no_auth, token = [item for item in facts["runtimes"] if item["name"] == "jupyter"]
    assert no_auth["auth"]["enabled"] is False and no_auth["processes"][0]["cmdline"][1] == "--ServerApp.token="
    assert token["processes"][0]["cmdline"][1:3] == ["--ServerApp.token", "<redacted>"]
    assert token["auth"]["enabled"] is True


def test_url_passwords_risky_values_and_auth_evidence_are_redacted():
    catalog = load_catalog({"demo": {
        "display_name": "Demo", "match": {"processes": [{"argv": ["demo-server"]}]},
        "auth": {"default": False, "rules": [{"env": "DEMO_AUTH", "when": "equals", "value": ["jt-secret"], "enabled": True}]},
        "risky_flags": [{"flag": "--db-password", "reason": "a password on the command line"},
                        {"env": "DEMO_UPSTREAM", "reason": "forwards to another server"}]}})[0]
    facts = build([process(40, ["/usr/bin/demo-server", "--db-password", "pg-pass-9",
                                "--store", "postgresql://demo:pg-pass-9@db/demo"], sockets=[4])],
                  [listener(9000, 4)],
                  {40: {"DEMO_AUTH": "jt-secret", "DEMO_UPSTREAM": "https://bot:hf_abc@up.example/v1"}}, catalog)
    assert_no_secret(facts)
    demo = facts["runtimes"][0]
    assert demo["auth"] == {"enabled": True, "evidence": "env DEMO_AUTH=<redacted>"}
    assert [(item["flag"], item["value"]) for item in demo["risky_flags"]] == [
        ("--db-password", "<redacted>"), ("DEMO_UPSTREAM", "https://bot:<redacted>@up.example/v1")]
    assert demo["processes"][0]["cmdline"][-1] == "postgresql://demo:<redacted>@db/demo"


def test_a_stopped_unit_with_secrets_in_exec_start_and_environment(tmp_path):
    unit_dir = tmp_path / "etc" / "systemd" / "system"
    unit_dir.mkdir(parents=True)
    (unit_dir / "vllm.service").write_text(
        "[Service]\nUser=ai\nEnvironment=HF_TOKEN=hf_abc\n"
        "ExecStart=/opt/vllm/bin/vllm serve m --api-key sk-live-123 --host 0.0.0.0\n")
    (tmp_path / "proc" / "net").mkdir(parents=True)
    view = rd.HostView(root=str(tmp_path))
    facts = rd.build_facts(view, CATALOG, units=rd.scan_units(CATALOG, str(tmp_path)))
    assert_no_secret(facts)
    vllm = [item for item in facts["runtimes"] if item["name"] == "vllm"][0]
    assert vllm["units"][0]["exec_start"][3:5] == ["--api-key", "<redacted>"]
    assert vllm["auth"]["enabled"] is True


def test_the_whole_read_from_proc_to_facts(tmp_path):
    """runtime_facts.gather (what ai_runtime_facts and host_audit_facts run) on a /proc tree."""
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    (proc / "net" / "tcp").write_text(
        header + "   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1\n")
    pid = proc / "4242"
    (pid / "fd").mkdir(parents=True)
    (pid / "status").write_text("Name:\tvllm\nUmask:\t0022\nState:\tS\nTgid:\t4242\nNgid:\t0\nPid:\t4242\n"
                                "PPid:\t1\nTracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n")
    (pid / "cmdline").write_bytes(b"\0".join([b"/opt/vllm/bin/vllm", b"serve", b"m", b"--api-key", b"sk-live-123",
                                              b"--host", b"0.0.0.0", b""]))
    (pid / "environ").write_bytes(b"HF_TOKEN=hf_abc\0HOME=/home/ai\0")
    (pid / "cgroup").write_text("0::/user.slice/user-1000.slice/session-1.scope\n")
    os.symlink("socket:[777]", str(pid / "fd" / "3"))
    facts = runtime_facts.gather(CATALOG, root=str(tmp_path), collect_versions=False)
    assert_no_secret(facts)
    vllm = [item for item in facts["runtimes"] if item["name"] == "vllm"][0]
    assert vllm["auth"]["enabled"] is True and vllm["exposure"] == "all"
    assert "<redacted>" in vllm["processes"][0]["cmdline"]
