"""model_integrity on a generated store: findings, manifest, modes, timer, tamper detection, and the
audit reading what the role and its timer found."""
import json
import os
import subprocess

STATE = "/var/lib/aihost/model_integrity"
STORE = "/srv/models"


def manifest_of(host, store):
    findings = json.loads(host.file(STATE + "/findings.json").content_string)
    entry = next(s for s in findings["stores"] if s["path"] == store)
    return json.loads(host.file(entry["manifest"]).content_string), entry


def test_malicious_pickle_is_reported_and_never_loaded(host):
    """The os.system pickle is 'malicious' with its call; the benign pickle is clean; nothing ran it."""
    _manifest, entry = manifest_of(host, STORE)
    bad = dict((f["path"], f) for f in entry["findings"])
    assert bad["checkpoints/evil.pt"]["verdict"] == "malicious"
    assert bad["checkpoints/evil.pt"]["findings"][0]["global"] == "posix.system"
    assert "touch /tmp/pwned" in bad["checkpoints/evil.pt"]["findings"][0]["detail"]
    assert "checkpoints/optimizer.pkl" not in bad
    assert not host.file("/tmp/pwned").exists


def test_manifest_hashes_match_sha256sum(host):
    manifest, _entry = manifest_of(host, STORE)
    files = dict((f["path"], f) for f in manifest["files"])
    assert sorted(files) == ["checkpoints/evil.pt", "checkpoints/optimizer.pkl", "weights/big.bin",
                             "weights/model.gguf", "weights/model.safetensors"]
    for path, record in files.items():
        out = host.check_output("sha256sum %s/%s", STORE, path)
        assert out.split()[0] == record["sha256"], path
    assert files["weights/model.safetensors"]["format"] == "safetensors"
    assert files["weights/model.gguf"]["format"] == "gguf"
    assert files["weights/big.bin"]["size"] == 128 << 20
    # The Hugging Face-style link is recorded, not followed.
    assert manifest["symlinks"] == [{"path": "snapshots/main/model.safetensors",
                                     "target": "../../weights/model.safetensors", "inside": True}]


def test_manifest_is_signed_with_a_private_key(host):
    key = host.file("/etc/aihost/model-integrity.key")
    assert key.mode == 0o600 and key.user == "root"
    sig = json.loads(host.file(STATE + "/srv_models-77e26ac6.json.sig").content_string)
    assert sig["algorithm"] == "hmac-sha256" and len(sig["mac"]) == 64


def test_store_is_read_only_to_the_service_group(host):
    """Loose download modes (0666/0777) are now root:aimodels 0640/0750; the locked store 0440."""
    for path in ("/srv/models", "/srv/models/weights", "/srv/models/checkpoints"):
        d = host.file(path)
        assert (d.user, d.group, d.mode) == ("root", "aimodels", 0o750), path
    for path in ("weights/model.gguf", "weights/big.bin", "checkpoints/evil.pt"):
        f = host.file(STORE + "/" + path)
        assert (f.user, f.group, f.mode) == ("root", "aimodels", 0o640), path
    locked = host.file("/srv/locked-model.gguf")
    assert (locked.user, locked.group, locked.mode) == ("root", "aimodels", 0o440)
    assert host.file(STORE + "/snapshots/main/model.safetensors").is_symlink
    # The service user (in group aimodels) can read but not write; others cannot even read.
    assert host.run("runuser -u aimodels -- cat %s/weights/model.gguf", STORE).rc == 0
    assert host.run("runuser -u aimodels -- sh -c 'echo x >> %s/weights/model.gguf'", STORE).rc != 0
    assert host.run("runuser -u aimodels -- touch %s/weights/new.bin", STORE).rc != 0
    assert host.run("runuser -u nobody -- cat %s/weights/model.gguf", STORE).rc != 0


def test_detected_ollama_store_is_pinned_but_not_chowned(host):
    """Ollama (STAND-IN) writes its store when it pulls: pinned, ownership left alone."""
    manifest, entry = manifest_of(host, "/usr/share/ollama/.ollama/models")
    assert entry["runtime"] == "ollama"
    assert any(f["path"].startswith("blobs/sha256-") and f["format"] == "gguf" for f in manifest["files"])
    assert host.file("/usr/share/ollama/.ollama/models/blobs").user == "ollama"


def test_timer_is_enabled_and_the_verifier_passes(host):
    timer = host.service("aihost-model-verify.timer")
    assert timer.is_enabled and timer.is_running
    assert "*-*-* 03:30" in host.check_output("systemctl show -p TimersCalendar --value aihost-model-verify.timer")
    run = host.run("systemctl start aihost-model-verify.service")
    assert run.rc == 0, run.stderr
    log = host.check_output("journalctl -u aihost-model-verify.service --no-pager -o cat")
    assert "/srv/models: verified: 5 files, 0 added, 0 removed, 0 changed, 0 links changed, signature valid" in log


def test_tampered_file_is_reported_by_verify(host):
    """Swap bytes inside a weight file (same size): the service fails and the journal names the file."""
    target = STORE + "/weights/model.gguf"
    original = host.check_output("base64 -w0 %s", target)
    try:
        host.run_test("printf 'XXXX' | dd of=%s bs=1 seek=40 conv=notrunc status=none", target)
        run = host.run("systemctl start aihost-model-verify.service")
        assert run.rc != 0
        log = host.check_output("journalctl -u aihost-model-verify.service --no-pager -o cat")
        assert "/srv/models: changed weights/model.gguf (sha256)" in log
        report = json.loads(host.file(STATE + "/last-verify.json").content_string)
        assert report["ok"] is False
    finally:
        host.run_test("echo %s | base64 -d > %s", original, target)
    assert host.run("systemctl start aihost-model-verify.service").rc == 0


PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]


def audit_findings(host, tmp_path):
    """Run playbooks/audit.yml (report only) against this host; return its findings by id."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, ".collections"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], os.path.join(PROJECT, "playbooks", "audit.yml"),
         "-e", "aihost_audit_report_dir=%s" % tmp_path, "-e", "aihost_audit_fail_on=none",
         "-e", "aihost_audit_print_summary=false"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / ("%s.json" % host.backend.host)).read_text())
    by_id = {}
    for item in report["findings"]:
        by_id.setdefault(item["id"], []).append(item)
    return report, by_id


def test_the_audit_reports_the_malicious_file_and_a_tampered_store(host, tmp_path):
    """After a verify that caught a change, the audit names evil.pt (critical) and the drifted store;
    once the file is back and verify passes, only evil.pt remains."""
    target = STORE + "/weights/model.gguf"
    original = host.check_output("base64 -w0 %s", target)
    try:
        host.run_test("printf 'YYYY' | dd of=%s bs=1 seek=48 conv=notrunc status=none", target)
        assert host.run("systemctl start aihost-model-verify.service").rc != 0
        report, by_id = audit_findings(host, tmp_path)
        assert report["host_checks"]["model_integrity"]["verified_at"], "the verify ran after the last pin"
        evil = [item for item in by_id["AIH-MOD-001"] if item["subject"] == STORE + "/checkpoints/evil.pt"]
        assert evil and evil[0]["severity"] == "critical" and "posix.system" in evil[0]["evidence"]
        drift = [item for item in by_id.get("AIH-MOD-002", []) if item["subject"] == STORE]
        assert drift and drift[0]["evidence"].startswith("0 added, 0 removed, 1 changed"), by_id.get("AIH-MOD-002")
    finally:
        host.run_test("echo %s | base64 -d > %s", original, target)
    assert host.run("systemctl start aihost-model-verify.service").rc == 0
    _report, by_id = audit_findings(host, tmp_path)
    assert "AIH-MOD-002" not in by_id
    assert [item["subject"] for item in by_id["AIH-MOD-001"]] == [STORE + "/checkpoints/evil.pt"]


def test_forged_manifest_fails_the_signature(host):
    """Someone who drops evil.pt from the manifest without the key is caught."""
    path = STATE + "/srv_models-77e26ac6.json"
    saved = host.check_output("base64 -w0 %s", path)
    try:
        host.run_test("python3 -c \"import json,sys; p=sys.argv[1]; m=json.load(open(p)); "
                      "m['files']=[f for f in m['files'] if f['path']!='checkpoints/evil.pt']; "
                      "json.dump(m, open(p,'w'))\" %s", path)
        run = host.run("%s --config /etc/aihost/model-integrity.json", "/usr/local/sbin/aihost-model-verify")
        assert run.rc == 1
        assert "signature: HMAC-SHA256 does not match" in run.stdout
    finally:
        host.run_test("echo %s | base64 -d > %s", saved, path)


RECORD = STATE + "/original_permissions.json"


def snapshot(host, path):
    """Lines `<path> <uid> <gid> <octal mode>` as prepare and the side effect wrote them."""
    out = {}
    for line in host.file(path).content_string.splitlines():
        name, uid, gid, mode = line.rsplit(" ", 3)
        out[name] = (int(uid), int(gid), int(mode, 8))
    return out


def recorded(record):
    return dict((path, (entry["uid"], entry["gid"], int(entry["mode"], 8)))
                for path, entry in record["paths"].items())


def test_original_permissions_were_recorded_before_the_first_change(host):
    """The record holds exactly what prepare left (0777/0666, ollama:nogroup 0604), not the new modes;
    it is root's alone. Only the re-permissioned stores are in it, not the detected Ollama store."""
    record_file = host.file(RECORD)
    assert (record_file.user, record_file.group, record_file.mode) == ("root", "root", 0o600)
    record = json.loads(record_file.content_string)
    before = snapshot(host, "/root/permissions.before")
    paths = recorded(record)
    assert paths.pop("/srv/models/incoming") == (0, 0, 0o777)  # added by the side effect
    assert paths == before
    optimizer = record["paths"]["/srv/models/checkpoints/optimizer.pkl"]
    assert (optimizer["owner"], optimizer["group"], optimizer["mode"], optimizer["type"]) == \
        ("ollama", "nogroup", "0604", "file")
    assert record["paths"]["/srv/models/weights"]["type"] == "directory"
    assert not any(path.startswith("/usr/share/ollama") for path in record["paths"])


def test_restore_put_back_every_original_owner_and_mode(host):
    """aihost_model_integrity_restore_permissions=true: each entry as prepare left it (uid, gid, mode)."""
    assert snapshot(host, "/root/permissions.restored") == snapshot(host, "/root/permissions.before")


def test_check_mode_records_and_changes_nothing(host):
    """The role in check mode after the administrator's changes: the record lacks the new directory,
    and the modes are still the restored ones."""
    record = json.loads(host.file("/root/record.after-check").content_string)
    assert "/srv/models/incoming" not in record["paths"]
    after_check = snapshot(host, "/root/permissions.after-check")
    assert after_check["/srv/models/weights/model.gguf"][2] == 0o700
    assert after_check["/srv/models/incoming"] == (0, 0, 0o777)


def test_later_runs_keep_the_first_record_and_only_add_new_paths(host):
    """After the administrator's chmod 0700 and a new run, the record still says 0666 for the file the
    role first changed, and the new directory was added with its own original mode."""
    record = json.loads(host.file(RECORD).content_string)
    assert record["paths"]["/srv/models/weights/model.gguf"]["mode"] == "0666"
    assert record["paths"]["/srv/models/incoming"]["mode"] == "0777"
    assert host.file("/srv/models/weights/model.gguf").mode == 0o640
    incoming = host.file("/srv/models/incoming")
    assert (incoming.user, incoming.group, incoming.mode) == ("root", "aimodels", 0o750)
