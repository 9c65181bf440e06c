"""A generated corpus of benign and malicious model files, for tests and benchmarks/model_scanners.py.

Everything is built here from the standard library: nothing is downloaded, no model library is
imported. Where a file must name a library's globals (torch, numpy, joblib), the corpus installs
stand-in modules in ``sys.modules`` for the time of ``pickle.dumps`` only, so the standard pickler
writes exactly the GLOBAL/STACK_GLOBAL/BINPERSID opcodes the real library's pickles contain (the
pickler only checks that ``module.name`` resolves to the object it saves). The malicious payloads
are never executed: pickling a reference to ``os.system`` does not call it.

``build_corpus()`` returns a list of ``Sample(name, data, expect, note)``; ``expect`` is the
verdict a correct scanner gives: ``malicious`` (runs commands/code on load), ``suspicious``
(unknown code or malformed) or ``clean``. File names carry the extensions other scanners select
files by (picklescan and modelscan look at names; we do not).
"""
import builtins
import collections
import contextlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import types
import zipfile
import zlib


class Sample(object):
    def __init__(self, name, data, expect, note):
        self.name = name
        self.data = data
        self.expect = expect
        self.note = note

    def __repr__(self):
        return "Sample(%s, %s)" % (self.name, self.expect)


@contextlib.contextmanager
def stand_in_modules(spec):
    """spec: {"torch._utils": {"_rebuild_tensor_v2": obj, ...}, ...}: temporary sys.modules entries."""
    saved = {}
    try:
        for modname, attrs in spec.items():
            parts = modname.split(".")
            for i in range(1, len(parts) + 1):
                name = ".".join(parts[:i])
                if name not in sys.modules or name in saved:
                    if name not in saved:
                        saved[name] = sys.modules.get(name)
                        sys.modules[name] = types.ModuleType(name)
                    if i > 1:
                        setattr(sys.modules[".".join(parts[:i - 1])], parts[i - 1], sys.modules[name])
            module = sys.modules[modname]
            for attr, value in attrs.items():
                setattr(module, attr, value)
                if hasattr(value, "__module__"):
                    try:
                        value.__module__ = modname
                        value.__qualname__ = attr
                    except (AttributeError, TypeError):
                        pass
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _reducer(func, args):
    class Payload(object):
        def __reduce__(self):
            return func, args
    return Payload()


def _fn(name):
    def stub(*args, **kwargs):
        raise RuntimeError("stand-in %s must never be called" % name)
    stub.__name__ = name
    return stub


def _cls(name):
    return type(name, (object,), {})


# ---------------------------------------------------------------------------------------------
# torch-like checkpoints (no torch)
# ---------------------------------------------------------------------------------------------
def _torch_spec():
    return {"torch._utils": {"_rebuild_tensor_v2": _fn("_rebuild_tensor_v2"),
                             "_rebuild_parameter": _fn("_rebuild_parameter")},
            "torch": {"FloatStorage": _cls("FloatStorage"), "HalfStorage": _cls("HalfStorage")}}


class _TorchPickler(pickle.Pickler):
    """Writes storages as persistent ids, like torch.save's pickler."""

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel)
        return None


class _Storage(object):
    def __init__(self, kind, key, numel):
        self.kind = kind
        self.key = key
        self.numel = numel


def torch_state_dict_pickle(protocol=2, extra=None):
    """The data.pkl of torch.save({'weight': tensor, 'bias': tensor}) with stand-in globals."""
    with stand_in_modules(_torch_spec()):
        torch_utils = sys.modules["torch._utils"]
        storage_cls = sys.modules["torch"].FloatStorage

        class Tensor(object):
            def __init__(self, key, shape):
                self.key, self.shape = key, shape

            def __reduce__(self):
                numel = 1
                for d in self.shape:
                    numel *= d
                stride = tuple(int(x) for x in _strides(self.shape))
                return (torch_utils._rebuild_tensor_v2,
                        (_Storage(storage_cls, self.key, numel), 0, self.shape, stride, False,
                         collections.OrderedDict()))

        state = collections.OrderedDict([("weight", Tensor("0", (4, 4))), ("bias", Tensor("1", (4,)))])
        if extra is not None:
            state["extra"] = extra
        buf = io.BytesIO()
        _TorchPickler(buf, protocol=protocol).dump(state)
        return buf.getvalue()


def _strides(shape):
    out, acc = [], 1
    for dim in reversed(shape):
        out.append(acc)
        acc *= dim
    return reversed(out)


def torch_zip(data_pkl, name="archive"):
    """torch.save's zip layout: <name>/data.pkl, <name>/data/<key>, <name>/version (stored, no compression)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("%s/data.pkl" % name, data_pkl)
        archive.writestr("%s/byteorder" % name, "little")
        archive.writestr("%s/data/0" % name, struct.pack("<16f", *range(16)))
        archive.writestr("%s/data/1" % name, struct.pack("<4f", 1, 2, 3, 4))
        archive.writestr("%s/version" % name, "3\n")
        archive.writestr("%s/.data/serialization_id" % name, "0123456789")
    return buf.getvalue()


def torch_legacy(main_pickle):
    """Legacy torch.save: magic number, protocol version, sys_info, the object, storage keys, raw data."""
    parts = [pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2), pickle.dumps(1001, protocol=2),
             pickle.dumps({"protocol_version": 1001, "little_endian": True,
                           "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2),
             main_pickle, pickle.dumps(["0", "1"], protocol=2),
             struct.pack("<q", 16) + struct.pack("<16f", *range(16))]
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------
# numpy-like arrays (no numpy)
# ---------------------------------------------------------------------------------------------
def _numpy_spec():
    return {"numpy.core.multiarray": {"_reconstruct": _fn("_reconstruct")},
            "numpy": {"ndarray": _cls("ndarray"), "dtype": _cls("dtype")}}


def numpy_array_pickle(protocol=2):
    """pickle.dumps(numpy.arange(4.0)) with stand-in globals (ndarray.__reduce__'s shape)."""
    with stand_in_modules(_numpy_spec()):
        np = sys.modules["numpy"]
        recon = sys.modules["numpy.core.multiarray"]._reconstruct

        class DType(object):
            def __reduce__(self):
                return (np.dtype, ("f8", False, True), (3, "<", None, None, None, -1, -1, 0))

        class Array(object):
            def __reduce__(self):
                return (recon, (np.ndarray, (0,), b"b"),
                        (1, (4,), DType(), False, struct.pack("<4d", 0, 1, 2, 3)))
        return pickle.dumps(Array(), protocol=protocol)


def npy(descr, shape, body):
    header = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (descr, shape)
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1") + body


def npz(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# joblib-like (no joblib): NumpyArrayWrapper followed by the raw array bytes, as joblib >= 1.2 writes
# ---------------------------------------------------------------------------------------------
class _JoblibPickler(pickle._Pickler):
    def __init__(self, file, protocol):
        pickle._Pickler.__init__(self, file, protocol=protocol)
        self.file_handle = file

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _RawArray):
            np = sys.modules["numpy"]
            wrapper = sys.modules["joblib.numpy_pickle"].NumpyArrayWrapper()
            wrapper.subclass = np.ndarray
            wrapper.shape = obj.shape
            wrapper.order = "C"
            wrapper.dtype = obj.dtype
            wrapper.allow_mmap = False
            wrapper.numpy_array_alignment_bytes = 16
            pickle._Pickler.save(self, wrapper)
            if self.proto >= 4:
                self.framer.commit_frame(force=True)
            # Like joblib: padding length byte, padding, then the array bytes, straight to the file.
            padding = 16 - ((self.file_handle.tell() + 1) % 16)
            self.file_handle.write(bytes([padding]) + b"\xff" * padding)
            self.file_handle.write(obj.data)
            return
        pickle._Pickler.save(self, obj, save_persistent_id)


class _RawArray(object):
    def __init__(self, shape, dtype, data):
        self.shape, self.dtype, self.data = shape, dtype, data


def joblib_pickle(extra=None, protocol=4):
    spec = _numpy_spec()
    spec["joblib.numpy_pickle"] = {"NumpyArrayWrapper": _cls("NumpyArrayWrapper")}
    with stand_in_modules(spec):
        np = sys.modules["numpy"]

        class DType(object):
            def __reduce__(self):
                return (np.dtype, ("f8", False, True), (3, "<", None, None, None, -1, -1, 0))
        model = {"coef_": _RawArray((3,), DType(), struct.pack("<3d", 1.5, 2.5, 3.5)), "n_features_in_": 3}
        if extra is not None:
            model["extra"] = extra
        buf = io.BytesIO()
        _JoblibPickler(buf, protocol=protocol).dump(model)
        return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# safetensors, GGUF
# ---------------------------------------------------------------------------------------------
def safetensors(tensors=None, metadata=None, corrupt=False):
    tensors = tensors or {"weight": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4))}
    header, body, offset = {}, b"", 0
    for name, (dtype, shape, data) in sorted(tensors.items()):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data) + (64 if corrupt else 0)]}
        body += data
        offset += len(data)
    header["__metadata__"] = metadata or {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


def _gguf_str(text):
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf(chat_template=None, truncate=None):
    kvs = [("general.architecture", 8, _gguf_str("llama")),
           ("llama.context_length", 4, struct.pack("<I", 2048)),
           ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + b"".join(_gguf_str(t) for t in ("<s>", "a", "b")))]
    if chat_template is not None:
        kvs.append(("tokenizer.chat_template", 8, _gguf_str(chat_template)))
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs))
    for key, vtype, value in kvs:
        out += _gguf_str(key) + struct.pack("<I", vtype) + value
    out += _gguf_str("token_embd.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 2, 2) + struct.pack("<IQ", 0, 0)
    out += b"\x00" * ((32 - len(out) % 32) % 32) + struct.pack("<4f", 1, 2, 3, 4)
    return out[:truncate] if truncate else out


# ---------------------------------------------------------------------------------------------
# Hand-written opcode streams
# ---------------------------------------------------------------------------------------------
def _su(text):  # SHORT_BINUNICODE
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def stack_global_via_memo():
    """Protocol 4: 'os' and 'system' memoized, popped, fetched back with BINGET, then STACK_GLOBAL."""
    return (b"\x80\x04" + _su("os") + b"\x94" + _su("system") + b"\x94" + b"00"
            + b"h\x00h\x01\x93" + _su("echo pwned") + b"\x85R.")


def stack_global_split_strings():
    """Protocol 4: module name built from a BINUNICODE (long form) with the name behind a dummy memo slot."""
    mod = b"X" + struct.pack("<I", 10) + b"subprocess"
    return (b"\x80\x04" + _su("decoy") + b"q\x05" + mod + b"q\x07" + b"0" + _su("check_output") + b"q\x09"
            + b"0h\x07h\x09\x93" + _su("id") + b"\x85\x85R.")


def getattr_chain():
    """builtins.getattr(builtins.__import__('os'), 'system')('id'), no 'os' global at all."""
    return (b"\x80\x02cbuiltins\ngetattr\n" + b"cbuiltins\n__import__\n" + b"X\x02\x00\x00\x00os\x85R"
            + b"X\x06\x00\x00\x00system\x86R" + b"X\x02\x00\x00\x00id\x85R.")


def dynamic_stack_global():
    """STACK_GLOBAL whose module name is the result of a call (str.join): not a constant."""
    return (b"\x80\x04cbuiltins\nstr\n" + _su("o") + b"\x85R" + _su("system") + b"\x93" + _su("id") + b"\x85R.")


def nested_pickle():
    inner = pickle.dumps(_reducer(os.system, ("id",)), protocol=2)
    return pickle.dumps(_reducer(pickle.loads, (inner,)), protocol=2)


def build_corpus():
    samples = []
    add = samples.append
    # -- malicious ---------------------------------------------------------------------------
    for proto in range(6):
        add(Sample("os_system_p%d.pkl" % proto, pickle.dumps(_reducer(os.system, ("echo pwned",)), protocol=proto),
                   "malicious", "os.system via REDUCE, protocol %d" % proto))
    for proto in (0, 2, 4):
        add(Sample("exec_p%d.pkl" % proto, pickle.dumps(_reducer(builtins.exec, ("print(1)",)), protocol=proto),
                   "malicious", "builtins.exec, protocol %d" % proto))
    add(Sample("eval_p3.pkl", pickle.dumps(_reducer(builtins.eval, ("1+1",)), protocol=3), "malicious", "builtins.eval"))
    add(Sample("subprocess_p2.pkl", pickle.dumps(_reducer(subprocess.check_output, (["id"],)), protocol=2),
               "malicious", "subprocess.check_output"))
    add(Sample("subprocess_popen_p5.pkl", pickle.dumps(_reducer(subprocess.Popen, (["id"],)), protocol=5),
               "malicious", "subprocess.Popen, protocol 5"))
    add(Sample("stack_global_memo.pkl", stack_global_via_memo(), "malicious",
               "os.system through STACK_GLOBAL with operands fetched back from the memo"))
    add(Sample("stack_global_split.pkl", stack_global_split_strings(), "malicious",
               "subprocess.check_output through STACK_GLOBAL, BINUNICODE + BINPUT/BINGET decoys"))
    add(Sample("getattr_chain.pkl", getattr_chain(), "malicious", "getattr(__import__('os'), 'system')"))
    add(Sample("dynamic_global.pkl", dynamic_stack_global(), "malicious", "STACK_GLOBAL of a computed module name"))
    add(Sample("nested.pkl", nested_pickle(), "malicious", "pickle.loads of an embedded os.system pickle"))
    import runpy
    import socket
    import shutil
    import webbrowser
    import importlib
    import operator
    add(Sample("runpy.pkl", pickle.dumps(_reducer(runpy.run_path, ("/tmp/x.py",)), protocol=2), "malicious", "runpy.run_path"))
    add(Sample("socket.pkl", pickle.dumps(_reducer(socket.create_connection, (("127.0.0.1", 9),)), protocol=3),
               "malicious", "socket.create_connection"))
    add(Sample("shutil.pkl", pickle.dumps(_reducer(shutil.rmtree, ("/srv/models",)), protocol=4), "malicious", "shutil.rmtree"))
    add(Sample("webbrowser.pkl", pickle.dumps(_reducer(webbrowser.open, ("http://127.0.0.1/",)), protocol=2),
               "malicious", "webbrowser.open"))
    add(Sample("importlib.pkl", pickle.dumps(_reducer(importlib.import_module, ("os",)), protocol=4),
               "malicious", "importlib.import_module"))
    add(Sample("attrgetter.pkl", pickle.dumps(_reducer(operator.attrgetter, ("system",)), protocol=4),
               "malicious", "operator.attrgetter (getattr without getattr)"))
    with stand_in_modules({"pip": {"main": _fn("main")}}):
        add(Sample("pip_main.pkl", pickle.dumps(_reducer(sys.modules["pip"].main, (["install", "x"],)), protocol=4),
                   "malicious", "pip.main (picklescan CVE-2025-1716 bypass)"))
    with stand_in_modules({"torch._inductor.codecache": {"compile_file": _fn("compile_file")}}):
        add(Sample("torch_inductor.pt", pickle.dumps(
            _reducer(sys.modules["torch._inductor.codecache"].compile_file, ("x",)), protocol=2),
            "malicious", "torch._inductor.codecache.compile_file (compiles and loads code)"))
    evil_state = torch_state_dict_pickle(extra=_reducer(os.system, ("echo pwned",)))
    add(Sample("evil_checkpoint.pt", torch_zip(evil_state), "malicious", "PyTorch zip whose data.pkl calls os.system"))
    add(Sample("evil_legacy.pt", torch_legacy(evil_state), "malicious", "legacy torch.save, os.system in the 4th pickle"))
    evil_obj = pickle.dumps(_reducer(os.system, ("echo pwned",)), protocol=2)
    add(Sample("evil_object.npy", npy("|O", (1,), evil_obj), "malicious", "numpy object array whose pickle calls os.system"))
    add(Sample("evil_arrays.npz", npz([("a.npy", npy("<f8", (2,), struct.pack("<2d", 1, 2))),
                                       ("b.npy", npy("|O", (1,), evil_obj))]), "malicious", "npz with an evil object array"))
    add(Sample("evil_model.joblib", joblib_pickle(extra=_reducer(os.system, ("echo pwned",))), "malicious",
               "joblib stream, os.system after the raw array bytes"))
    add(Sample("evil_compressed.joblib", zlib.compress(evil_obj), "malicious", "zlib-compressed pickle (joblib compress=True)"))
    add(Sample("truncated_evil_p0.pkl", pickle.dumps(_reducer(os.system, ("id",)), protocol=0)[:-4], "malicious",
               "protocol 0 os.system, truncated before STOP"))
    add(Sample("renamed_evil.safetensors", evil_obj, "malicious", "a pickle wearing a safetensors name"))
    # -- suspicious --------------------------------------------------------------------------
    with stand_in_modules({"evilpkg.payload": {"run": _fn("run")}}):
        add(Sample("unknown_module.pkl", pickle.dumps(_reducer(sys.modules["evilpkg.payload"].run, ()), protocol=2),
                   "suspicious", "call into a module nobody knows"))
    add(Sample("main_class.pkl", b"\x80\x02c__main__\nPayload\n)\x81.", "suspicious", "object of a __main__ class"))
    add(Sample("malformed.pkl", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\xff\xfe\xfd", "suspicious",
               "protocol 4 header followed by garbage"))
    add(Sample("bad_header.safetensors", safetensors(corrupt=True), "suspicious", "safetensors offsets past the end"))
    add(Sample("ssti.gguf", gguf(chat_template="{{ ''.__class__.__mro__[1].__subclasses__() }}"), "malicious",
               "GGUF chat template with a Jinja sandbox escape (runs code when rendered: CVE-2024-34359)"))
    add(Sample("truncated.gguf", gguf(truncate=60), "suspicious", "GGUF cut inside its metadata"))
    # -- clean -------------------------------------------------------------------------------
    for proto in range(6):
        add(Sample("ordered_dict_p%d.pkl" % proto,
                   pickle.dumps(collections.OrderedDict([("lr", 0.001), ("steps", [1, 2, 3]), ("name", "run")]),
                                protocol=proto), "clean", "OrderedDict of plain values, protocol %d" % proto))
    add(Sample("state_dict.pt", torch_zip(torch_state_dict_pickle()), "clean",
               "PyTorch zip state dict (tensor rebuild + storages, built without torch)"))
    add(Sample("state_dict_raw.pkl", torch_state_dict_pickle(protocol=2), "clean", "bare torch data.pkl stream"))
    add(Sample("legacy_state_dict.pt", torch_legacy(torch_state_dict_pickle()), "clean", "legacy stacked-pickle torch.save"))
    add(Sample("array.pkl", numpy_array_pickle(), "clean", "pickled numpy array (_reconstruct, ndarray, dtype)"))
    add(Sample("floats.npy", npy("<f4", (4,), struct.pack("<4f", 1, 2, 3, 4)), "clean", "numeric .npy"))
    add(Sample("arrays.npz", npz([("x.npy", npy("<i8", (2,), struct.pack("<2q", 1, 2)))]), "clean", "numeric .npz"))
    add(Sample("model.joblib", joblib_pickle(), "clean", "joblib stream with raw array bytes"))
    add(Sample("model_compressed.joblib", zlib.compress(joblib_pickle()), "clean", "zlib-compressed joblib"))
    add(Sample("model.safetensors", safetensors(), "clean", "safetensors"))
    add(Sample("model.gguf", gguf(chat_template="{% for m in messages %}{{ m['content'] }}{% endfor %}"), "clean",
               "GGUF with an ordinary chat template"))
    add(Sample("config.json", b'{"architectures": ["LlamaForCausalLM"]}', "clean", "JSON config"))
    return samples


def write_samples(directory, samples):
    """Write each sample's bytes under its name in DIRECTORY; return the samples."""
    os.makedirs(directory, exist_ok=True)
    for sample in samples:
        with open(os.path.join(directory, sample.name), "wb") as handle:
            handle.write(sample.data)
    return samples


def write_corpus(directory):
    return write_samples(directory, build_corpus())


if __name__ == "__main__":
    for item in write_corpus(sys.argv[1] if len(sys.argv) > 1 else "model-corpus"):
        print("%-28s %-10s %s" % (item.name, item.expect, item.note))
