"""model_integrity on a generated store: findings, manifest, modes, timer, and tamper detection."""
import json

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
