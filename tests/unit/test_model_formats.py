"""Format detection and pickle disassembly on a generated corpus (tests/unit/model_corpus.py).

Nothing here unpickles: every assertion is about what the scanner reads from the bytes.
"""
import io
import json
import os
import pickle
import struct
import zipfile

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import model_formats, pickle_scan
from model_corpus import build_corpus, gguf, npy, safetensors, stack_global_via_memo, torch_state_dict_pickle, torch_zip
from bypass_corpus import build_bypass_corpus

CORPUS = build_corpus()


def inspect(data, **options):
    return model_formats.inspect_stream(io.BytesIO(data), len(data), options)


@pytest.mark.parametrize("sample", CORPUS, ids=[s.name for s in CORPUS])
def test_corpus_verdict_matches_what_loading_the_file_would_do(sample):
    """Every malicious sample is 'malicious', every benign one 'clean', the odd ones 'suspicious'."""
    result = inspect(sample.data)
    assert result["verdict"] == sample.expect, (sample.note, result["findings"])


@pytest.mark.parametrize("name, fmt", [
    ("model.safetensors", "safetensors"), ("model.gguf", "gguf"), ("state_dict.pt", "pytorch_zip"),
    ("legacy_state_dict.pt", "pytorch_legacy"), ("floats.npy", "numpy_npy"), ("evil_object.npy", "numpy_npy_object"),
    ("arrays.npz", "numpy_npz"), ("model.joblib", "joblib"), ("model_compressed.joblib", "joblib"),
    ("ordered_dict_p0.pkl", "pickle"), ("ordered_dict_p1.pkl", "pickle"), ("ordered_dict_p5.pkl", "pickle"),
    ("renamed_evil.safetensors", "pickle"), ("config.json", "unknown"),
])
def test_format_comes_from_the_bytes_not_the_name(name, fmt):
    sample = next(s for s in CORPUS if s.name == name)
    assert inspect(sample.data)["format"] == fmt


def test_stack_global_operands_are_resolved_through_the_memo():
    result = pickle_scan.scan_pickles(io.BytesIO(stack_global_via_memo()))
    imports = [r["global"] for r in result["pickles"][0]["imports"]]
    assert imports == ["os.system"]
    assert any("echo pwned" in f["detail"] for f in result["findings"]), "call context (arguments) is reported"


def test_benign_checkpoint_imports_are_all_on_the_allowlist():
    result = pickle_scan.scan_pickles(io.BytesIO(torch_state_dict_pickle()))
    imports = set(r["global"] for r in result["pickles"][0]["imports"])
    assert imports == {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"}
    assert result["findings"] == []
    assert result["pickles"][0]["persistent_ids"] == 2


@pytest.mark.parametrize("cut", [3, 10, 25, 40, 60])
def test_truncated_pickles_are_malformed_not_crashes(cut):
    data = torch_state_dict_pickle()[:cut]
    result = inspect(data)
    kinds = [f["kind"] for f in result["findings"]]
    assert result["format"] == "pickle"
    assert "malformed" in kinds
    assert result["verdict"] in ("suspicious", "malicious")


@pytest.mark.parametrize("junk", [
    b"\x80\x05" + b"\xff" * 10,                       # bad opcode
    b"\x80\x02h\x07.",                                # BINGET of a slot never stored
    b"\x80\x02e.",                                    # APPENDS without MARK
    b"\x80\x02\x8b\xff\xff\xff\x7f.",                 # LONG4 length far past the end
    b"\x80\x04\x8e" + struct.pack("<Q", 1 << 40),     # BINBYTES8 of 1 TiB in a 12-byte file
    b"\x80\x02.",                                     # STOP on an empty stack
])
def test_malformed_streams_are_reported(junk):
    result = inspect(junk)
    assert result["verdict"] == "suspicious"
    assert any(f["kind"] == "malformed" for f in result["findings"])


def test_protocol0_text_that_is_not_a_pickle_is_unknown():
    # \x80\x09: protocol 9 does not exist, the unpickler refuses it, so it is not a pickle either.
    for text in (b"hello.", b"# README\nsome text\n", b"cat\ndog\n", b"{}", b"\x80\x09N."):
        assert inspect(text)["format"] in ("unknown",), text


def test_attribute_path_bypass_is_critical():
    # Protocol 4 resolves dotted names with getattr: torch.serialization.os.system is os.system.
    data = b"\x80\x04\x8c\x13torch.serialization\x8c\tos.system\x93\x8c\x02id\x85R."
    result = inspect(data)
    assert result["verdict"] == "malicious"


def test_allow_globals_silences_unknown_but_never_critical_imports():
    unknown = b"\x80\x02cmylab.models\nTinyNet\n)\x81."
    assert inspect(unknown)["verdict"] == "suspicious"
    assert inspect(unknown, allow_globals=["mylab.*"])["verdict"] == "clean"
    evil = pickle.dumps(next(s for s in CORPUS if s.name == "os_system_p2.pkl").data)  # noqa: F841 - bytes only
    os_pickle = next(s for s in CORPUS if s.name == "os_system_p2.pkl").data
    assert inspect(os_pickle, allow_globals=["posix.*", "os.*"])["verdict"] == "malicious"


def test_an_allow_list_decides_anything_outside_it_is_at_least_medium():
    # Estimator classes restore attributes only: allowed. Everything else outside the allow-list
    # is at least "medium" (suspicious), whatever library it comes from.
    assert pickle_scan.classify_global("sklearn.linear_model._base", "LinearRegression") is None
    assert pickle_scan.classify_global("numpy.random._pickle", "__randomstate_ctor") is None
    assert pickle_scan.classify_global("transformers.training_args", "TrainingArguments")[0] == "medium"
    assert pickle_scan.classify_global("numpy.random", "seed")[0] == "medium"
    assert pickle_scan.classify_global("scipy.io", "FortranFile")[0] == "critical"
    assert pickle_scan.classify_global("torch.distributed", "TCPStore")[0] == "critical"
    assert pickle_scan.classify_global("torch.fx.graph_module", "reduce_graph_module")[0] == "critical"
    assert pickle_scan.classify_global("codecs", "open")[0] == "critical"
    assert pickle_scan.classify_global("argparse", "_os.posix_spawnp")[0] == "critical"
    assert pickle_scan.classify_global("sklearn.datasets", "fetch_openml")[0] == "critical"
    assert pickle_scan.classify_global("mylab.models", "Net")[0] == "high"
    assert pickle_scan.classify_global("numpy", "load")[0] == "critical"
    assert pickle_scan.classify_global("torch.hub", "load")[0] == "critical"
    assert pickle_scan.classify_global("__builtin__", "eval") is not None
    assert pickle_scan.classify_global("collections", "OrderedDict") is None


def test_python2_names_are_mapped_like_the_unpickler():
    data = b"c__builtin__\neval\n(S'1+1'\ntR."
    result = inspect(data)
    assert result["verdict"] == "malicious"
    assert any(f.get("global") == "builtins.eval" for f in result["findings"])


def test_pickle_op_limit_reports_partial_inspection():
    data = pickle.dumps(list(range(5000)), protocol=0)
    result = inspect(data, max_pickle_ops=100)
    assert any(f["kind"] == "limit" for f in result["findings"])
    assert result["verdict"] == "suspicious"


def test_big_blobs_are_skipped_not_read():
    blob = b"\x00" * (3 << 20)  # larger than MAX_KEPT_BYTES
    data = pickle.dumps({"w": blob}, protocol=4)
    result = inspect(data)
    assert result["verdict"] == "clean" and result["format"] == "pickle"


def test_zip_members_over_the_cap_are_not_inspected():
    data = torch_zip(torch_state_dict_pickle())
    result = inspect(data, max_member_bytes=10)
    assert any(f["kind"] == "limit" for f in result["findings"])


def test_zip_bomb_shaped_member_is_flagged_without_decompressing():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x00" * (80 << 20))
    result = inspect(buf.getvalue())
    assert any(f["kind"] == "zip_bomb" for f in result["findings"])


def test_duplicate_zip_members_are_high():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("archive/data.pkl", torch_state_dict_pickle())
        with pytest.warns(UserWarning):
            archive.writestr("archive/data.pkl", torch_state_dict_pickle())
    result = inspect(buf.getvalue())
    assert any(f["kind"] == "duplicate_members" for f in result["findings"])


def test_gguf_header_details_are_read():
    result = inspect(gguf(chat_template="{{ bos_token }}"))
    assert result["format"] == "gguf"
    assert result["details"]["version"] == 3
    assert result["details"]["architecture"] == "llama"
    assert result["details"]["chat_template"] is True


def test_safetensors_header_is_checked():
    assert inspect(safetensors())["details"]["tensors"] == 1
    bad = safetensors(metadata={"format": "pt"})
    broken = bad[:8] + b"{" + b"x" * (len(bad) - 9)
    assert inspect(broken)["verdict"] == "suspicious"


def test_npy_with_bad_header_is_malformed():
    data = npy("<f4", (1,), b"\x00" * 4).replace(b"'descr'", b"'dexcr'")
    result = inspect(data)
    assert result["verdict"] == "suspicious"


def test_tf_saved_model_ops_are_found():
    body = b"\x08\x01\x12\x20" + b"\x0a\x08ReadFile" + b"\x0a\x06PyFunc" + b"\x00" * 16
    result = inspect(body)
    assert result["format"] == "tf_saved_model"
    assert {f["detail"].split()[4] for f in result["findings"]} >= {"ReadFile", "PyFunc"}


def test_keras_v3_lambda_and_foreign_module_are_reported():
    import json
    config = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "Lambda", "module": "keras.layers", "config": {"function": "base64bytecode"}},
        {"class_name": "Evil", "module": "evilpkg.layers", "config": {}}]}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", "{}")
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    result = inspect(buf.getvalue())
    assert result["format"] == "keras_v3"
    assert {f["kind"] for f in result["findings"]} == {"keras_lambda", "keras_module"}


def test_hdf5_keras_lambda_is_found():
    data = b"\x89HDF\r\n\x1a\n" + b"\x00" * 100 + b'{"keras_version": "2.15", "class_name": "Lambda"}'
    result = inspect(data)
    assert result["format"] == "keras_h5" and result["verdict"] == "suspicious"


def test_pytorch_tar_legacy_is_scanned():
    import tarfile
    evil = next(s for s in CORPUS if s.name == "os_system_p2.pkl").data
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, data in (("sys_info", pickle.dumps({"little_endian": True}, protocol=2)), ("pickle", evil),
                           ("storages", pickle.dumps(0, protocol=2)), ("tensors", pickle.dumps(0, protocol=2))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    result = inspect(buf.getvalue())
    assert result["format"] == "pytorch_tar" and result["verdict"] == "malicious"


def test_nothing_is_ever_unpickled(monkeypatch):
    """Loading functions are booby-trapped while the whole corpus is inspected."""
    def trap(*args, **kwargs):
        raise AssertionError("the scanner tried to unpickle")
    monkeypatch.setattr(pickle, "loads", trap)
    monkeypatch.setattr(pickle, "load", trap)
    monkeypatch.setattr(pickle, "Unpickler", trap)
    monkeypatch.setattr(os, "system", trap)
    for sample in CORPUS:
        inspect(sample.data)


LZ4_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "models", "lz4")


def test_lz4_frames_from_the_real_library_are_decoded_and_scanned():
    # Made by the real lz4 library (README beside them): linked 64 KiB blocks, back-references
    # across blocks, a content checksum. joblib loads such files, so they are read, not skipped.
    with open(os.path.join(LZ4_FIXTURES, "linked_blocks_os_system.pkl.lz4"), "rb") as handle:
        evil = handle.read()
    with open(os.path.join(LZ4_FIXTURES, "linked_blocks_benign.pkl.lz4"), "rb") as handle:
        benign = handle.read()
    assert inspect(evil)["verdict"] == "malicious"
    result = inspect(benign)
    assert (result["format"], result["verdict"]) == ("compressed_pickle", "clean")


def test_a_compression_the_stdlib_cannot_read_is_never_clean():
    zstd_frame = b"\x28\xb5\x2f\xfd" + os.urandom(64)
    result = inspect(zstd_frame)
    assert result["verdict"] == "suspicious" and "zstd" in result["findings"][-1]["detail"]


def test_a_crash_inside_a_parser_keeps_the_findings_made_before_it(monkeypatch):
    # The sibling member's critical import survives a member that breaks the reader.
    evil = next(s for s in CORPUS if s.name == "os_system_p2.pkl").data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("archive/data.pkl", evil)
        archive.writestr("archive/data/0", b"\x00" * 64)
    real = model_formats._inspect_zip_member

    def explode(archive, f, info, fmt, opts, findings):
        if info.filename.endswith("/0"):
            raise model_formats.lzma.LZMAError("Corrupt input data")
        return real(archive, f, info, fmt, opts, findings)
    monkeypatch.setattr(model_formats, "_inspect_zip_member", explode)
    result = inspect(buf.getvalue())
    assert result["verdict"] == "malicious"
    assert any("archive/data/0" in f["detail"] and "Corrupt input data" in f["detail"] for f in result["findings"])


def test_an_unexpected_error_anywhere_is_a_suspicious_verdict_that_says_where(monkeypatch):
    def explode(*args):
        raise TypeError("unhashable type: 'list'")
    monkeypatch.setattr(model_formats, "_check_gguf", explode)
    result = inspect(gguf())
    assert result["verdict"] == "suspicious"
    assert result["findings"][0]["kind"] == "parse_error" and "TypeError" in result["findings"][0]["detail"]


@pytest.mark.parametrize("template", [
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] | trim + '<|im_end|>\\n' }}{% endfor %}",
    "{%- set ns = namespace(system='') %}{%- if tools %}{{ tools | tojson(indent=2) }}{%- endif %}{{ raise_exception('x') "
    "if messages[0]['role'] == 'user_' }}",
    "Text outside blocks may say __init__ or __class__: it is printed, never evaluated. {{ bos_token }}",
])
def test_genuine_chat_templates_are_clean(template):
    assert model_formats.template_findings(template) == []


@pytest.mark.parametrize("template", [
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ ''|attr('\\u005f\\u005fclass\\u005f\\u005f') }}",
    "{{ ''|attr('\\137\\137class\\137\\137') }}",
    "{{ ('_' ~ '_' ~ 'class' ~ '_' ~ '_') }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{% set c = '%c%c'|format(95, 95) ~ 'class' %}{{ c }}",
])
def test_sandbox_escapes_are_found_however_the_dunder_is_built(template):
    assert model_formats.template_findings(template)[0]["severity"] == "critical"


def test_joblib_bytes_are_read_both_ways_they_can_be_loaded():
    # joblib.load skips the array bytes after a wrapper; pickle.load reads them as opcodes.
    sample = next(s for s in build_bypass_corpus() if s.name == "l1_joblib_array_is_opcodes.pkl")
    result = inspect(sample.data)
    assert result["format"] == "joblib" and result["verdict"] == "malicious"
    assert any(f["detail"].startswith("read by plain pickle.load") for f in result["findings"])


def test_real_sklearn_and_joblib_dumps_import_only_allowed_names():
    # numpy's RandomState constructors and a LabelEncoder's object array used to be flagged.
    real = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "models", "real")
    for name in sorted(os.listdir(real)):
        if name.endswith((".pkl", ".joblib")):
            with open(os.path.join(real, name), "rb") as handle:
                result = inspect(handle.read())
            assert result["verdict"] == "clean", (name, result["findings"])


EVIL_P2 = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R."


def test_a_jinja_comment_is_never_evaluated():
    assert model_formats.template_findings("{# {{ ''.__class__.__mro__ }} #}{{ bos_token }}") == []


def test_a_gzip_stream_cut_before_its_trailer_still_yields_its_pickle():
    import gzip
    cut = gzip.compress(EVIL_P2)[:-8]  # no CRC/size trailer: GzipFile raises, a streaming reader gets the data
    assert inspect(cut)["verdict"] == "malicious"


def test_a_pickle_in_a_tar_in_gzip_is_scanned_like_pandas_reads_it():
    import gzip
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        info = tarfile.TarInfo("model.pkl")
        info.size = len(EVIL_P2)
        archive.addfile(info, io.BytesIO(EVIL_P2))
    assert inspect(gzip.compress(buf.getvalue()))["verdict"] == "malicious"


def test_compression_inside_compression_is_not_clean():
    import gzip
    import lzma
    assert inspect(gzip.compress(lzma.compress(EVIL_P2)))["verdict"] == "suspicious"


def test_a_keras_config_in_utf16_is_read_like_json_loads_reads_bytes():
    config = json.dumps({"class_name": "Functional", "config": {"layers": [
        {"class_name": "Lambda", "config": {"function": ["4wEAAAAA", None, None]}}]}})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("config.json", config.encode("utf-16"))
        archive.writestr("metadata.json", "{}")
        archive.writestr("model.weights.h5", b"")
    assert inspect(buf.getvalue())["verdict"] == "malicious"


def test_a_gguf_template_that_is_not_utf8_is_suspicious():
    data = gguf(chat_template="{{ bos_token }}")
    data = data.replace(b"{{ bos_token }}", b"{{ bos_t\xffken }}")
    assert inspect(data)["verdict"] == "suspicious"
