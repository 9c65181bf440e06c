"""Store walking, hashing, manifests, verify and the model_scan module, on generated stores."""
import hashlib
import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.aihost.hardening.plugins.module_utils import model_store
from ansible_collections.aihost.hardening.plugins.modules import model_scan
from model_corpus import gguf, safetensors, torch_state_dict_pickle, torch_zip

EVIL = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R."


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "models"
    (root / "blobs").mkdir(parents=True)
    (root / "blobs" / "model.safetensors").write_bytes(safetensors())
    (root / "blobs" / "model.gguf").write_bytes(gguf())
    (root / "blobs" / "ckpt.pt").write_bytes(torch_zip(torch_state_dict_pickle()))
    (root / "evil.bin").write_bytes(EVIL)
    (root / "big.bin").write_bytes(os.urandom(3 << 20))
    return root


def run_module(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            model_scan.main()
    out = json.loads(capsys.readouterr().out)
    out["_rc"] = exit_info.value.code
    return out


def test_hashes_match_hashlib(store):
    result = model_store.scan_store(str(store), workers=2, read_size=1 << 20)
    for record in result["records"]:
        expected = hashlib.sha256((store / record["path"]).read_bytes()).hexdigest()
        assert record["sha256"] == expected, record["path"]
    assert result["stats"]["files"] == 5 and result["problems"] == []


def test_symlinks_are_recorded_not_followed_and_loops_reported(store, tmp_path):
    (tmp_path / "outside.pkl").write_bytes(EVIL)
    os.symlink(str(tmp_path / "outside.pkl"), str(store / "escape.pkl"))
    os.symlink("blobs/model.gguf", str(store / "alias.gguf"))
    os.symlink("loop_b", str(store / "loop_a"))
    os.symlink("loop_a", str(store / "loop_b"))
    os.symlink("..", str(store / "blobs" / "up"))
    files, links, problems = model_store.walk_store(str(store))
    reasons = dict((p["path"], p["reason"]) for p in problems)
    assert reasons == {"escape.pkl": "symlink_outside_store", "loop_a": "symlink_loop", "loop_b": "symlink_loop"}
    assert {link["path"] for link in links} == {"escape.pkl", "alias.gguf", "loop_a", "loop_b", "blobs/up"}
    assert "escape.pkl" not in [f["path"] for f in files], "links are not followed by default"


def test_following_symlinks_ends_directory_loops(store):
    os.symlink("..", str(store / "blobs" / "up"))
    files, _links, problems = model_store.walk_store(str(store), follow_symlinks=True)
    assert any(p["reason"] == "symlink_loop" and p["path"] == "blobs/up" for p in problems)
    assert len(files) == 5


def test_unreadable_files_are_reported_and_skipped(store, monkeypatch):
    real_open = os.open

    def deny(path, flags, *args):
        if path.endswith("model.gguf"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)
    monkeypatch.setattr(os, "open", deny)
    result = model_store.scan_store(str(store), workers=1)
    assert [(p["path"], p["reason"]) for p in result["problems"]] == [("blobs/model.gguf", "unreadable")]
    assert len(result["records"]) == 4


def test_file_changing_during_the_scan_is_skipped(store, monkeypatch):
    real_hash = model_store.hash_fd

    def hash_and_grow(fd, read_size=model_store.DEFAULT_READ_SIZE, on_read=None):
        digest = real_hash(fd, read_size, on_read)
        if os.fstat(fd).st_size == 3 << 20:  # big.bin: a download still being written
            with open(str(store / "big.bin"), "ab") as handle:
                handle.write(b"more")
        return digest
    monkeypatch.setattr(model_store, "hash_fd", hash_and_grow)
    result = model_store.scan_store(str(store), workers=1)
    assert [(p["path"], p["reason"]) for p in result["problems"]] == [("big.bin", "changed_during_scan")]


def test_special_files_are_skipped(store):
    os.mkfifo(str(store / "fifo"))
    result = model_store.scan_store(str(store), workers=1)
    assert [(p["path"], p["reason"]) for p in result["problems"]] == [("fifo", "special_file")]


def test_manifest_is_deterministic_and_unchanged_files_are_reused(store):
    first = model_store.scan_store(str(store))
    manifest = model_store.build_manifest(str(store), first["records"], first["links"], [], False)
    again = model_store.scan_store(str(store), previous=manifest)
    assert again["stats"]["files_reused"] == 5 and again["stats"]["files_read"] == 0
    rebuilt = model_store.build_manifest(str(store), again["records"], again["links"], [], False)
    assert model_store.canonical_json(rebuilt) == model_store.canonical_json(manifest)


def test_compare_reports_added_removed_changed(store):
    first = model_store.scan_store(str(store))
    manifest = model_store.build_manifest(str(store), first["records"], first["links"], [], False)
    (store / "evil.bin").unlink()
    (store / "new.pkl").write_bytes(EVIL)
    with open(str(store / "blobs" / "model.gguf"), "r+b") as handle:
        handle.seek(100)
        handle.write(b"X")
    now = model_store.scan_store(str(store), previous=manifest)
    drift = model_store.compare(manifest, now["records"], now["links"])
    assert drift["added"] == ["new.pkl"] and drift["removed"] == ["evil.bin"]
    assert [c["path"] for c in drift["changed"]] == ["blobs/model.gguf"] and drift["drift"]


def test_signature_round_trip():
    key = b"k" * 32
    data = b'{"files": []}\n'
    sig = model_store.signature_for(data, key)
    assert model_store.check_signature(data, sig, key)[0] is True
    assert model_store.check_signature(data + b" ", sig, key)[0] is False
    assert model_store.check_signature(data, sig, b"x" * 32)[0] is False
    assert model_store.check_signature(data, b"garbage", key)[0] is False


# -- the module --------------------------------------------------------------------------------
def test_module_manifest_is_idempotent_and_check_mode_writes_nothing(store, tmp_path, capsys):
    manifest = str(tmp_path / "m.json")
    args = {"path": str(store), "mode": "manifest", "manifest": manifest}
    checked = run_module(capsys, dict(args, _ansible_check_mode=True))
    assert checked["changed"] is True and not os.path.exists(manifest)
    first = run_module(capsys, args)
    assert first["changed"] is True and os.path.exists(manifest)
    assert oct(os.stat(manifest).st_mode & 0o777) == "0o640"
    assert first["verdicts"] == {"clean": 4, "suspicious": 0, "malicious": 1}
    assert first["findings"][0]["path"] == "evil.bin"
    second = run_module(capsys, args)
    assert second["changed"] is False and second["stats"]["files_read"] == 0
    assert run_module(capsys, dict(args, _ansible_check_mode=True))["changed"] is False


def test_module_verify_reports_tampering_and_signature(store, tmp_path, capsys):
    manifest = str(tmp_path / "m.json")
    key = tmp_path / "key"
    key.write_bytes(os.urandom(32).hex().encode())
    base = {"path": str(store), "manifest": manifest, "signing_key_file": str(key)}
    run_module(capsys, dict(base, mode="manifest"))
    ok = run_module(capsys, dict(base, mode="verify", require_signature=True))
    assert ok["verify_ok"] is True and ok["signature"]["valid"] is True and ok["changed"] is False
    with open(str(store / "blobs" / "model.safetensors"), "ab") as handle:
        handle.write(b"tampered")
    bad = run_module(capsys, dict(base, mode="verify"))
    assert bad["verify_ok"] is False and [c["path"] for c in bad["drift"]["changed"]] == ["blobs/model.safetensors"]
    # A forged manifest (re-pinned without the key) fails the signature.
    data = json.load(open(manifest))
    data["files"] = [f for f in data["files"] if f["path"] != "evil.bin"]
    open(manifest, "w").write(json.dumps(data))
    forged = run_module(capsys, dict(base, mode="verify", require_signature=True))
    assert forged["signature"]["valid"] is False and forged["verify_ok"] is False


def test_module_verify_without_manifest_is_not_ok(store, tmp_path, capsys):
    result = run_module(capsys, {"path": str(store), "mode": "verify", "manifest": str(tmp_path / "none.json")})
    assert result["verify_ok"] is False and "run mode=manifest first" in result["manifest_error"]


def test_module_fails_cleanly_on_a_missing_store(tmp_path, capsys):
    result = run_module(capsys, {"path": str(tmp_path / "nope")})
    assert result["failed"] is True and "does not exist" in result["msg"]


def test_module_writes_progress_file(store, tmp_path, capsys):
    progress = tmp_path / "progress.json"
    run_module(capsys, {"path": str(store), "progress_file": str(progress), "progress_interval": 0})
    state = json.loads(progress.read_text())
    assert state["files_read"] == state["files_to_read"] == 5


def _run_timer(tmp_path, capsys, config):
    """The aihost-model-verify CLI, with the checkout's collections path (as host_library lays it out) as its --lib."""
    import importlib.machinery
    import importlib.util
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(repo, "roles", "model_integrity", "files", "aihost-model-verify")
    loader = importlib.machinery.SourceFileLoader("aihost_model_verify", path)
    spec = importlib.util.spec_from_loader("aihost_model_verify", loader)
    cli = importlib.util.module_from_spec(spec)
    loader.exec_module(cli)
    config_path = tmp_path / "verify.json"
    config_path.write_text(json.dumps(config))
    status = cli.main(["--config", str(config_path), "--lib", os.path.join(repo, ".collections")])
    capsys.readouterr()  # its log lines are not the next module run's JSON
    return status


@pytest.mark.parametrize("require_signature", [False, True])
def test_module_and_timer_give_one_verdict_on_an_altered_signature(store, tmp_path, capsys, require_signature):
    # With a key, a signature that no longer matches fails both, required or not (it used to pass
    # the module and fail the timer).
    manifest = str(tmp_path / "m.json")
    key = tmp_path / "key"
    key.write_bytes(os.urandom(32).hex().encode())
    base = {"path": str(store), "manifest": manifest, "signing_key_file": str(key)}
    run_module(capsys, dict(base, mode="manifest"))
    config = {"stores": [{"path": str(store), "manifest": manifest}], "key_file": str(key),
              "require_signature": require_signature, "rehash": False}
    assert run_module(capsys, dict(base, mode="verify", require_signature=require_signature))["verify_ok"] is True
    assert _run_timer(tmp_path, capsys, config) == 0
    sig = json.loads(open(manifest + ".sig").read())
    sig["mac"] = "0" * 64
    open(manifest + ".sig", "w").write(json.dumps(sig))
    module = run_module(capsys, dict(base, mode="verify", require_signature=require_signature))
    assert module["verify_ok"] is False and module["signature"]["valid"] is False
    assert _run_timer(tmp_path, capsys, config) == 1
    capsys.readouterr()


def test_a_missing_signature_fails_module_and_timer_only_when_required(store, tmp_path, capsys):
    manifest = str(tmp_path / "m.json")
    key = tmp_path / "key"
    key.write_bytes(os.urandom(32).hex().encode())
    base = {"path": str(store), "manifest": manifest, "signing_key_file": str(key)}
    run_module(capsys, dict(base, mode="manifest"))
    os.unlink(manifest + ".sig")
    for required, expected in ((False, True), (True, False)):
        assert run_module(capsys, dict(base, mode="verify", require_signature=required))["verify_ok"] is expected
        config = {"stores": [{"path": str(store), "manifest": manifest}], "key_file": str(key),
                  "require_signature": required, "rehash": False}
        assert _run_timer(tmp_path, capsys, config) == (0 if expected else 1)
    capsys.readouterr()
