# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tell a model file's format from its bytes and look inside it for code, without loading it.

``inspect_stream(fileobj, size, options)`` takes an open binary file object (a real file, a
zip member, ``io.BytesIO`` in tests) and returns ``{"format", "code_capable", "details",
"findings"}``. Names never decide: a pickle called ``config.json`` is a pickle.

Formats and what is checked (every check reads; nothing is imported or unpickled):

=================  ==========================================================================
safetensors        8-byte little-endian header length + JSON header; every tensor's dtype,
                   shape and data_offsets inside the file. No code path in the format.
gguf               ``GGUF`` magic, version 1-3, metadata and tensor table walked with bounds;
                   the Jinja ``tokenizer.chat_template`` is checked for template-injection
                   patterns (llama-cpp-python CVE-2024-34359). Malformed headers are
                   suspicious (GGUF parsers have had heap overflows).
pickle             protocol 0-5, see ``pickle_scan``; several stacked pickles (legacy
                   ``torch.save``) are all scanned.
pytorch_zip        zip with ``*/data.pkl`` (torch.save >= 1.6); every ``.pkl`` member scanned,
torchscript        plus ``code/`` (TorchScript) noted.
pytorch_tar        torch 0.1.x tar (``sys_info``, ``pickle``, ``storages``, ``tensors``).
numpy_npy          ``\\x93NUMPY`` header; an object dtype means a pickle follows: scanned.
numpy_npz          zip of ``.npy`` members, each checked as above.
joblib             a pickle with joblib's array wrappers (raw array bytes are skipped), plain
                   or compressed (zlib, gzip, bz2, xz, lzma).
onnx / tf_saved_model  protobuf heuristics (first field); SavedModels are searched for file
                   and Python-calling ops (``ReadFile``, ``WriteFile``, ``PyFunc``...).
hdf5 / keras_h5    HDF5 signature (offset 0 or a 512-byte-multiple user block); Keras configs
                   searched for ``Lambda`` layers (marshalled Python bytecode).
keras_v3           zip with ``config.json`` + ``model.weights.h5``; ``Lambda`` layers and
                   ``module`` fields outside Keras (imported on load) reported.
zip / tar / compressed / empty / unknown
=================  ==========================================================================

Caps (``DEFAULT_OPTIONS``) bound everything an attacker controls: zip members scanned and their
uncompressed size (zip bombs), decompressed bytes, pickle opcodes, GGUF metadata sizes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bz2
import io
import json
import re
import struct
import tarfile
import zipfile
import zlib

try:
    import lzma
except ImportError:  # pragma: no cover - Python built without liblzma
    lzma = None

try:
    from .pickle_scan import (PickleLimit, SEVERITY_RANK, classify_global, looks_like_pickle, max_severity,
                              opcode_start, scan_pickles)
except ImportError:  # pragma: no cover - loaded as a top-level module (benchmarks, any revision)
    from pickle_scan import (PickleLimit, SEVERITY_RANK, classify_global, looks_like_pickle, max_severity,
                             opcode_start, scan_pickles)

FORMAT_VERSION = 2

DEFAULT_OPTIONS = {
    "allow_globals": [],
    "max_pickle_ops": 10 * 1000 * 1000,
    "max_member_bytes": 1 << 30,            # a zip/tar member larger than this is not scanned
    "max_members": 10000,                   # zip/tar members scanned
    "max_decompressed_bytes": 4 << 30,      # compressed pickles
    "max_search_bytes": 4 << 30,            # byte-pattern searches (HDF5, SavedModel)
}

CODE_CAPABLE = frozenset(["pickle", "pytorch_zip", "torchscript", "pytorch_legacy", "pytorch_tar", "joblib",
                          "compressed_pickle", "numpy_npy_object", "keras_h5", "keras_v3", "tf_saved_model"])

SAFETENSORS_DTYPES = frozenset(["BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F16", "BF16",
                                "F32", "F64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
                                "C64", "E4M3", "E5M2"])
MAX_LZ4_BYTES = 256 << 20                    # decoded in pure Python: slow, so bounded
MAX_SAFETENSORS_HEADER = 100 * 1000 * 1000   # the safetensors reference implementation's own limit

GGUF_MAGIC = b"GGUF"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

# Jinja: the code inside {{ }} and {% %} (what a template engine evaluates), its string literals,
# and names. Text outside the blocks is printed, never evaluated.
_JINJA_CODE = re.compile(r"\{\{-?(.*?)-?\}\}|\{%-?(.*?)-?%\}", re.S)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_JINJA_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", re.S)
_JINJA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# TensorFlow ops that read/write files or call back into Python (modelscan's list + PyFunc).
_TF_UNSAFE_OPS = (b"ReadFile", b"WriteFile", b"PyFunc", b"PyFuncStateless", b"EagerPyFunc",
                  b"MatchingFiles", b"Save", b"SaveV2", b"ImmutableConst")
_TF_OP_SEVERITY = {b"ReadFile": "high", b"WriteFile": "high", b"PyFunc": "critical", b"PyFuncStateless": "critical",
                   b"EagerPyFunc": "critical", b"MatchingFiles": "medium", b"Save": "medium", b"SaveV2": "low",
                   b"ImmutableConst": "medium"}
_KERAS_LAMBDA = (b'"class_name": "Lambda"', b'"class_name":"Lambda"')
_KERAS_SAFE_MODULES = ("keras", "keras_hub", "keras_nlp", "keras_cv", "tensorflow", "tf_keras")
# Keras preprocessing layers whose config may name a file on the host that loading reads.
_KERAS_FILE_KEYS = ("vocabulary", "vocabulary_path", "vocabulary_file", "idf_weights", "file_path", "filepath")
# Compressions a loader may know (joblib: lz4; archives: 7z, rar; zstd) that the stdlib cannot read.
_UNREADABLE_COMPRESSION = ((b"\x04\x22\x4d\x18", "lz4"), (b"\x02\x21\x4c\x18", "lz4 (legacy frame)"),
                           (b"\x28\xb5\x2f\xfd", "zstd"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!\x1a\x07", "rar"),
                           (b"\x89LZO\x00", "lzo"), (b"sNaPpY", "snappy"))


def _finding(severity, kind, detail, **extra):
    item = {"severity": severity, "kind": kind, "detail": detail}
    item.update(extra)
    return item


def _options(options):
    merged = dict(DEFAULT_OPTIONS)
    merged.update(dict((k, v) for k, v in (options or {}).items() if v is not None))
    return merged


class LimitedStream(object):
    """Read-only stream wrapper that stops (PickleLimit) after ``cap`` bytes."""

    def __init__(self, raw, cap):
        self._raw = raw
        self._cap = cap
        self._pos = 0

    def _account(self, data):
        self._pos += len(data)
        if self._pos > self._cap:
            raise PickleLimit("more than %d decompressed bytes" % self._cap)
        return data

    def read(self, size=-1):
        return self._account(self._raw.read(size))

    def readline(self, size=-1):
        return self._account(self._raw.readline(size))

    def tell(self):
        return self._pos

    def seek(self, offset, whence=0):
        if whence != 0 or offset < self._pos:
            raise io.UnsupportedOperation("forward seek only")
        while self._pos < offset:
            if not self.read(min(offset - self._pos, 1 << 20)):
                break
        return self._pos


class ZlibStream(io.RawIOBase):
    """A zlib stream (joblib's 'zlib' compressor) as a readable file object."""

    def __init__(self, raw, wbits=zlib.MAX_WBITS, members=False):
        super(ZlibStream, self).__init__()
        self._raw = raw
        self._wbits = wbits
        self._members = members  # gzip: another member may follow the first (gzip -c a b > ab.gz)
        self._z = zlib.decompressobj(wbits)
        self._buf = b""
        self._eof = False

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self._buf and not self._eof:
            data = self._z.unconsumed_tail
            if not data:
                data = self._raw.read(1 << 16)
                if not data:
                    self._buf = self._z.flush()
                    self._eof = True
                    break
            self._buf = self._z.decompress(data, 1 << 20)
            if self._z.eof and not self._z.unconsumed_tail:
                rest = self._z.unused_data + self._raw.read(2) if self._members else b""
                if rest[:2] == b"\x1f\x8b":
                    self._z = zlib.decompressobj(self._wbits)
                    self._buf += self._z.decompress(rest, 1 << 20)
                else:
                    self._eof = True
        n = min(len(buffer), len(self._buf))
        buffer[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class Lz4FrameStream(io.RawIOBase):
    """An LZ4 frame (joblib's 'lz4' compressor, ``lz4.frame``) decoded in pure Python, block by block.

    Slow next to liblz4, so joblib files compressed this way are read up to ``cap`` decompressed
    bytes; the caller reports the rest as not inspected."""

    def __init__(self, raw, cap):
        super(Lz4FrameStream, self).__init__()
        self._raw = raw
        self._cap = cap
        self._out = 0
        self._history = b""
        self._buf = b""
        self._eof = False
        magic = self._take(4)
        if magic != b"\x04\x22\x4d\x18":
            raise ValueError("not an LZ4 frame")
        flags = self._take(2)[0]
        if flags >> 6 != 1:
            raise ValueError("LZ4 frame version %d" % (flags >> 6))
        self._linked = not flags & 0x20
        self._block_checksum = bool(flags & 0x10)
        self._take((8 if flags & 0x08 else 0) + (4 if flags & 0x01 else 0) + 1)

    def _take(self, count):
        data = self._raw.read(count)
        if len(data) != count:
            raise ValueError("LZ4 frame ends early")
        return data

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self._buf and not self._eof:
            size = struct.unpack("<I", self._take(4))[0]
            if size == 0:
                self._eof = True
                break
            stored = size & 0x80000000
            data = self._take(size & 0x7FFFFFFF)
            if self._block_checksum:
                self._take(4)
            block = data if stored else lz4_block(data, self._history if self._linked else b"")
            self._out += len(block)
            if self._out > self._cap:
                raise PickleLimit("more than %d bytes decompressed from LZ4 in pure Python" % self._cap)
            self._history = (self._history + block)[-65536:]
            self._buf = block
        n = min(len(buffer), len(self._buf))
        buffer[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def lz4_block(src, prefix=b""):
    """Decode one LZ4 block (sequences of literals and back-references; ``prefix``: the previous
    blocks' last 64 KiB, which linked blocks may refer to)."""
    dst = bytearray(prefix)
    start = len(prefix)
    i = 0
    end = len(src)
    while i < end:
        token = src[i]
        i += 1
        literals, i = _lz4_length(src, i, token >> 4)
        dst += src[i:i + literals]
        i += literals
        if i >= end:
            break
        offset = src[i] | src[i + 1] << 8
        i += 2
        length, i = _lz4_length(src, i, token & 15)
        length += 4
        pos = len(dst) - offset
        if offset == 0 or pos < 0:
            raise ValueError("LZ4 back-reference before the start of the data")
        if offset >= length:
            dst += dst[pos:pos + length]
        else:  # overlapping copy: the pattern repeats
            while length > 0:
                chunk = dst[pos:pos + min(offset, length)]
                dst += chunk
                length -= len(chunk)
    return bytes(dst[start:])


def _lz4_length(src, i, nibble):
    """An LZ4 length: the token's nibble, extended by following bytes while they are 255 (when the
    nibble is 15). Returns (length, index after it)."""
    length = nibble
    if nibble == 15:
        while True:
            extra = src[i]
            i += 1
            length += extra
            if extra != 255:
                break
    return length, i


class _Prepend(object):
    """Put already-read bytes back in front of a stream."""

    def __init__(self, head, raw):
        self._head = head
        self._raw = raw

    def read(self, size=-1):
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:  # a read that spans the boundary continues in the stream
                data += self._raw.read(size - len(data))
            return data
        return self._raw.read(size)

    def readline(self, size=-1):
        if self._head:
            cut = self._head.find(b"\n")
            if cut >= 0 and (size is None or size < 0 or cut < size):
                data, self._head = self._head[:cut + 1], self._head[cut + 1:]
                return data
            if size is not None and 0 <= size <= len(self._head):
                data, self._head = self._head[:size], self._head[size:]
                return data
            data, self._head = self._head, b""
            rest = self._raw.readline(-1 if size is None or size < 0 else size - len(data))
            return data + rest
        return self._raw.readline(size)


def _decompressor(kind, fileobj):
    if kind == "gzip":
        # zlib's own gzip reader, not GzipFile: a stream cut before its trailer still yields what it
        # holds (GzipFile raises and drops the last block), as a streaming loader would read it.
        return io.BufferedReader(ZlibStream(fileobj, 16 + zlib.MAX_WBITS, members=True), 1 << 16)
    if kind == "bz2":
        return bz2.BZ2File(fileobj, mode="rb")
    if kind in ("xz", "lzma") and lzma is not None:
        return lzma.LZMAFile(fileobj, mode="rb", format=lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)
    if kind == "zlib":
        return io.BufferedReader(ZlibStream(fileobj), 1 << 16)
    if kind == "lz4":
        return io.BufferedReader(Lz4FrameStream(fileobj, MAX_LZ4_BYTES), 1 << 16)
    return None


def compression_of(head):
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh" and head[3:4].isdigit():
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"\x5d\x00\x00":
        return "lzma"
    if len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x5e, 0x9c, 0xda) and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    for magic, kind in _UNREADABLE_COMPRESSION:
        if head.startswith(magic):
            return kind
    return None


# ---------------------------------------------------------------------------------------------
# Format detection
# ---------------------------------------------------------------------------------------------
def sniff(head, size):
    """Format guess from the first bytes (up to 64 KiB). Deeper checks happen in inspect_stream."""
    if size == 0:
        return "empty"
    if head[:4] == GGUF_MAGIC:
        return "gguf"
    if head[:6] == NPY_MAGIC:
        return "numpy_npy"
    if head[:8] == HDF5_SIGNATURE:
        return "hdf5"
    if head[:4] in ZIP_MAGICS:
        return "zip"
    if len(head) >= 10 and (_safetensors_header_len(head, size) is not None or head[8:9] == b"{"):
        return "safetensors"  # a header length that does not fit is checked (and reported) there
    if len(head) >= 2 and head[0:1] == b"\x80" and head[1] in (1, 2, 3, 4, 5):
        return "pickle"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    comp = compression_of(head)
    if comp:
        return "compressed"
    proto = _protobuf_kind(head)
    if proto:
        return proto
    if looks_like_pickle(head):
        return "pickle"
    if opcode_start(head):
        return "maybe_pickle"  # too long to tell from the head: inspect_stream reads it all
    return "unknown"


def _safetensors_header_len(head, size):
    length = struct.unpack("<Q", head[:8])[0]
    if length < 2 or length > MAX_SAFETENSORS_HEADER or 8 + length > size:
        return None
    if head[8:9] != b"{":
        return None
    return length


def _read_varint(data, pos):
    value = 0
    shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None, pos


def _protobuf_kind(head):
    """ONNX ModelProto starts with ir_version (field 1, varint, 3..20); a SavedModel with
    saved_model_schema_version 1 then meta_graphs (field 2)."""
    if len(head) < 4 or head[0] != 0x08:
        return None
    value, pos = _read_varint(head, 1)
    if value is None or pos >= len(head):
        return None
    nxt = head[pos]
    if value == 1 and nxt == 0x12:
        return "tf_saved_model"
    if 3 <= value <= 20 and nxt in (0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72, 0x7A):
        return "onnx"
    return None


# ---------------------------------------------------------------------------------------------
# Per-format checks
# ---------------------------------------------------------------------------------------------
def _check_safetensors(f, size):
    head = f.read(8)
    length = struct.unpack("<Q", head)[0]
    if _safetensors_header_len(head + f.read(1), size) is None:
        return {"tensors": 0}, [_finding("high", "malformed", "safetensors header length %d does not fit a file "
                                         "of %d bytes (limit %d)" % (length, size, MAX_SAFETENSORS_HEADER))]
    f.seek(8)
    raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return {"tensors": 0}, [_finding("high", "malformed", "safetensors header is not JSON: %s"
                                         % (str(exc)[:200] or exc.__class__.__name__))]
    if not isinstance(header, dict):
        return {"tensors": 0}, [_finding("high", "malformed", "safetensors header is not a JSON object")]
    data_len = size - 8 - length
    tensors = 0
    bad = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                bad.append("__metadata__ must map strings to strings")
            continue
        tensors += 1
        if not isinstance(entry, dict):
            bad.append("%s: entry is not an object" % name)
            continue
        offsets = entry.get("data_offsets")
        shape = entry.get("shape")
        dtype = entry.get("dtype")
        if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPES:
            bad.append("%s: unknown dtype %s" % (name, json.dumps(dtype)[:40] if _plain_json(dtype) else type(dtype).__name__))
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            bad.append("%s: bad shape" % name)
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_len):
            bad.append("%s: data_offsets outside the %d data bytes" % (name, data_len))
    if bad:
        return {"tensors": tensors, "header_bytes": length}, [
            _finding("high", "malformed", "safetensors header inconsistent: %s%s"
                     % ("; ".join(bad[:5]), " (+%d more)" % (len(bad) - 5) if len(bad) > 5 else ""))]
    return {"tensors": tensors, "header_bytes": length}, []


def _plain_json(value):
    return value is None or isinstance(value, (str, int, float, bool))


class _GGUFReader(object):
    def __init__(self, f, size):
        self.f = f
        self.size = size
        self.problems = []

    def read(self, n):
        data = self.f.read(n)
        if len(data) != n:
            raise ValueError("GGUF ends inside the header")
        return data

    def u(self, fmt):
        return struct.unpack("<" + fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self, keep=True, cap=1 << 24):
        length = self.u("Q")
        if length > cap or self.f.tell() + length > self.size:
            raise ValueError("GGUF string of %d bytes" % length)
        if keep:
            raw = self.read(length)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.problems.append("a string that is not UTF-8 (%s)" % exc.reason)
                return raw.decode("utf-8", "replace")
        self.f.seek(length, 1)
        return None


_GGUF_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def _gguf_value(r, vtype, keep):
    if vtype in _GGUF_SCALAR:
        return r.u(_GGUF_SCALAR[vtype])
    if vtype == 8:
        return r.string(keep=keep)
    if vtype == 9:
        item_type = r.u("I")
        count = r.u("Q")
        if count > 1 << 26:
            raise ValueError("GGUF array of %d items" % count)
        if item_type in _GGUF_SCALAR:
            width = struct.calcsize(_GGUF_SCALAR[item_type])
            if r.f.tell() + width * count > r.size:
                raise ValueError("GGUF array runs past the end of the file")
            r.f.seek(width * count, 1)
        elif item_type == 8:
            for _index in range(count):
                r.string(keep=False)
        else:
            raise ValueError("GGUF array of type %d" % item_type)
        return None
    raise ValueError("unknown GGUF value type %d" % vtype)


def _check_gguf(f, size):
    r = _GGUFReader(f, size)
    details = {}
    findings = []
    try:
        r.read(4)
        version = r.u("I")
        details["version"] = version
        if version not in (1, 2, 3):
            raise ValueError("GGUF version %d" % version)
        count_fmt = "I" if version == 1 else "Q"
        n_tensors = r.u(count_fmt)
        n_kv = r.u(count_fmt)
        details["tensors"] = n_tensors
        details["metadata_keys"] = n_kv
        if n_kv > 1 << 20 or n_tensors > 1 << 24:
            raise ValueError("GGUF header counts %d tensors / %d keys" % (n_tensors, n_kv))
        for _index in range(n_kv):
            key = r.string()
            vtype = r.u("I")
            keep = key in ("general.architecture", "general.name", "tokenizer.chat_template") or \
                key.startswith("tokenizer.chat_template.")
            value = _gguf_value(r, vtype, keep)
            if key == "general.architecture":
                details["architecture"] = value
            elif key.startswith("tokenizer.chat_template") and isinstance(value, str):
                details["chat_template"] = True
                findings.extend(template_findings(value, key))
        for _index in range(n_tensors):
            r.string(keep=False, cap=1 << 16)
            n_dims = r.u("I")
            if n_dims > 8:
                raise ValueError("GGUF tensor with %d dimensions" % n_dims)
            r.read(8 * n_dims)
            r.u("I")
            offset = r.u("Q")
            if offset > size:
                raise ValueError("GGUF tensor offset %d past the end of the file" % offset)
    except (ValueError, struct.error, OverflowError, MemoryError) as exc:
        findings.append(_finding("high", "malformed", "malformed GGUF header: %s (GGUF parsers have had "
                                 "memory-safety bugs on such input)" % exc))
    for problem in sorted(set(r.problems)):
        findings.append(_finding("medium", "malformed", "GGUF metadata holds %s" % problem))
    return details, findings


def _unescape(body):
    """A Jinja string literal's value: Python escapes (\\x5f, \\u005f, \\137, \\N{...}) resolved."""
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except (UnicodeDecodeError, UnicodeEncodeError, ValueError):
        return body


def template_findings(template, key="chat template"):
    """Sandbox escapes in a Jinja template, found on its tokens rather than its text.

    Every escape from Jinja's sandbox (llama-cpp-python CVE-2024-34359 and its variants) walks
    Python's object graph through dunder attributes (``__class__``, ``__globals__``...) or
    reaches them with a computed name (the ``attr`` filter, strings built with ``~``, ``*``,
    ``join``, ``format``, escapes). Genuine chat templates do none of that. Only the code in
    ``{{ }}``/``{% %}`` is evaluated, so only it is read; escapes in string literals are resolved
    and the literals of one block are joined, so a dunder split or encoded across them shows."""
    reasons = []
    template = _JINJA_COMMENT.sub(" ", template[:1 << 22])  # {# comments #} are never evaluated
    for match in _JINJA_CODE.finditer(template):
        code = match.group(1) if match.group(1) is not None else match.group(2)
        literals = [_unescape(m.group(1) if m.group(1) is not None else m.group(2))
                    for m in _JINJA_STRING.finditer(code)]
        bare = _JINJA_STRING.sub(" '' ", code)
        names = set(_JINJA_NAME.findall(bare))
        for name in sorted(names):
            if "__" in name:
                reasons.append("name %s" % name)
        for text in literals:
            if "__" in text:
                reasons.append("string %r" % text[:40])
        if "__" in "".join(literals) and not any("__" in text for text in literals):
            reasons.append("strings that join into a dunder name")
        if re.search(r"\|\s*attr\b|\battr\s*\(", bare):
            reasons.append("the attr filter (attribute access by a computed name)")
        if any(text and not text.strip("_") for text in literals) and re.search(r"''\s*\*|\*\s*''", bare):
            reasons.append("underscores multiplied into a name")
        if "%c" in "".join(literals) and "format" in names:
            reasons.append("characters built with format('%c')")
        if match.group(2) is not None and re.match(r"\s*(import|include|extends|from)\b", code):
            reasons.append("a template statement that loads another template (%s)" % code.split()[0])
    reasons = sorted(set(reasons))
    if not reasons:
        return []
    loads = all(r.startswith("a template statement") for r in reasons)
    return [_finding("high" if loads else "critical", "template_injection",
                     "%s reaches Python objects from Jinja (sandbox escape, CVE-2024-34359 class): %s"
                     % (key, "; ".join(reasons[:5])))]


def _npy_header(f):
    magic = f.read(8)
    if magic[:6] != NPY_MAGIC or len(magic) < 8:
        raise ValueError("not an npy header")
    major = magic[6]
    if major == 1:
        hlen = struct.unpack("<H", f.read(2))[0]
    elif major in (2, 3):
        hlen = struct.unpack("<I", f.read(4))[0]
    else:
        raise ValueError("npy format version %d" % major)
    if hlen > 1 << 20:
        raise ValueError("npy header of %d bytes" % hlen)
    text = f.read(hlen).decode("latin-1")
    import ast
    header = ast.literal_eval(text)  # a dict literal; literal_eval never runs code
    if not isinstance(header, dict) or "descr" not in header:
        raise ValueError("npy header without descr")
    return header


def _descr_has_object(descr):
    """Whether numpy would read this descr as a dtype holding Python objects (so a pickle follows).

    Decided the safe way round: only descrs known to be plain data are plain. numpy accepts
    ``'O'``, ``'|O8'``, ``'object'``, ``'object_'`` and fields such as ``[('x', 'O')]``."""
    if isinstance(descr, str):
        return not (_NPY_PLAIN_DESCR.match(descr) or descr.lstrip("<>|=") in _NPY_PLAIN_NAMES)
    if isinstance(descr, list):
        for field in descr:
            if not isinstance(field, tuple) or len(field) < 2 or _descr_has_object(field[1]):
                return True
        return False
    return True


_NPY_PLAIN_DESCR = re.compile(r"^[<>|=]?(?:[biufcSUVa?]\d*|[mM]8(?:\[\w+\])?)$")
_NPY_PLAIN_NAMES = frozenset(["bool", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                              "float16", "float32", "float64", "float128", "complex64", "complex128", "complex256",
                              "half", "single", "double", "longdouble", "int", "float", "complex", "byte", "ubyte",
                              "short", "ushort", "intc", "uintc", "long", "ulong", "longlong", "ulonglong", "str",
                              "bytes", "str_", "bytes_", "void", "datetime64", "timedelta64"])


def _check_npy(f, size, opts, where=""):
    try:
        header = _npy_header(f)
    except (ValueError, SyntaxError, struct.error, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        return "numpy_npy", {}, [_finding("high", "malformed", "%smalformed npy header: %s" % (where, exc))]
    details = {"descr": str(header.get("descr"))[:80], "shape": str(header.get("shape"))[:80]}
    if not _descr_has_object(header.get("descr")):
        return "numpy_npy", details, []
    # Object arrays are stored as a pickle right after the header (numpy.load(allow_pickle=True)).
    result = scan_pickles(f, allow=opts["allow_globals"], max_ops=opts["max_pickle_ops"], max_pickles=1, size=size)
    findings = [_with_member(item, where) for item in result["findings"]]
    # The pickle inside decides the verdict; the note says why it was read at all.
    findings.append(_finding("low", "object_array", "%sobject-dtype array: a pickle, loading needs allow_pickle=True"
                             % where))
    return "numpy_npy_object", details, findings


def _with_member(item, where):
    if not where:
        return item
    item = dict(item)
    item["detail"] = where + item["detail"]
    return item


def _search(f, patterns, limit, start=0):
    """Return the set of byte patterns found in the stream (chunked, with overlap)."""
    found = set()
    overlap = max(len(p) for p in patterns)
    f.seek(start)
    tail = b""
    read = 0
    while read < limit:
        chunk = f.read(min(8 << 20, limit - read))
        if not chunk:
            break
        read += len(chunk)
        window = tail + chunk
        for pattern in patterns:
            if pattern not in found and pattern in window:
                found.add(pattern)
        tail = window[-overlap:]
    return found


def _json_objects(f, limit, max_objects=64, max_object_bytes=16 << 20):
    """JSON objects embedded in a binary file (a Keras HDF5 file's ``model_config`` attribute):
    every ``{"`` is tried with a JSON decoder, so escapes such as ``\\u004cambda`` are read as the
    loader reads them."""
    decoder = json.JSONDecoder()
    found = []
    pos = 0
    f.seek(0)
    data = f.read(min(limit, 64 << 20))
    tried = 0
    while len(found) < max_objects and tried < 20000:
        at = data.find(b'{"', pos)
        if at < 0:
            break
        tried += 1
        window = 4096
        while True:
            text = data[at:at + window].decode("utf-8", "replace")
            try:
                value, end = decoder.raw_decode(text)
            except ValueError as exc:
                if getattr(exc, "pos", 0) >= len(text) - 2 and window < max_object_bytes and at + window < len(data):
                    window *= 16
                    continue
                value = None
            except RecursionError:
                value = None
            break
        if isinstance(value, dict):
            found.append(value)
            pos = at + max(len(text[:end].encode("utf-8", "replace")), 2)
        else:
            pos = at + 2
    return found


def _check_hdf5(f, size, opts):
    hits = _search(f, _KERAS_LAMBDA + (b"keras_version", b"model_config"), opts["max_search_bytes"])
    fmt = "keras_h5" if (b"keras_version" in hits or b"model_config" in hits) else "hdf5"
    findings = []
    configs = [obj for obj in _json_objects(f, opts["max_search_bytes"]) if "class_name" in obj or "config" in obj]
    for config in configs:
        _walk_keras_config(config, findings, "model_config")
    if any(p in hits for p in _KERAS_LAMBDA) and not any(item["kind"] == "keras_lambda" for item in findings):
        findings.append(_finding("high", "keras_lambda", "Keras Lambda layer: its Python bytecode is "
                                 "deserialized and run when the model is loaded"))
    if size > opts["max_search_bytes"]:
        findings.append(_finding("low", "limit", "only the first %d bytes searched" % opts["max_search_bytes"]))
    return fmt, {}, findings


def _check_saved_model(f, size, opts):
    patterns = tuple(bytes([len(op)]) + op for op in _TF_UNSAFE_OPS)  # op names as protobuf strings
    hits = _search(f, patterns, opts["max_search_bytes"])
    findings = []
    for op in _TF_UNSAFE_OPS:
        if bytes([len(op)]) + op in hits:
            findings.append(_finding(_TF_OP_SEVERITY[op], "tf_op", "TensorFlow graph uses op %s (files or Python "
                                     "callbacks at run time)" % op.decode()))
    return {}, findings


def _keras_reference(node):
    """(module, name) a Keras config entry makes the loader import, or None."""
    module = node.get("module")
    name = node.get("class_name")
    if not isinstance(module, str) or not module or not isinstance(name, str):
        return None
    if name == "function" and isinstance(node.get("config"), str):  # a function reference: module.config
        name = node["config"]
    return module, name


def _walk_keras_config(node, findings, path="config", depth=0):
    """Walk a parsed Keras config as ``keras.saving`` deserializes it: Lambda layers carry
    marshalled Python bytecode; every ``module``/``class_name`` pair is an import (and a call);
    preprocessing layers may name a host file to read."""
    if depth > 200:
        findings.append(_finding("medium", "malformed", "Keras config nested deeper than 200 levels at %s" % path))
        return
    if isinstance(node, dict):
        class_name = node.get("class_name")
        config = node.get("config") if isinstance(node.get("config"), dict) else {}
        if class_name in ("Lambda", "__lambda__") or node.get("registered_name") == "__lambda__":
            function = config.get("function", config.get("code"))
            if class_name == "__lambda__" or isinstance(function, (list, str)) or \
                    (isinstance(function, dict) and function.get("class_name") == "__lambda__"):
                findings.append(_finding("critical", "keras_lambda", "Keras Lambda at %s holds Python bytecode: "
                                         "it runs when a legacy loader, or safe_mode=False, loads the model" % path))
            else:
                findings.append(_finding("high", "keras_lambda", "Keras Lambda layer at %s: Python code in the "
                                         "model (refused only while safe_mode is on)" % path))
        reference = _keras_reference(node)
        if reference is not None:
            module, name = reference
            verdict = classify_global(module, name)
            if verdict is not None and verdict[0] == "critical":
                findings.append(_finding("critical", "keras_module", "Keras config at %s: %s" % (path, verdict[1])))
            elif module.split(".", 1)[0] not in _KERAS_SAFE_MODULES:
                findings.append(_finding("high", "keras_module", "Keras object at %s names %s.%s: imported and "
                                         "called when the model is loaded" % (path, module, name)))
        for key in _KERAS_FILE_KEYS:
            value = config.get(key)
            if isinstance(value, str) and value.strip():
                findings.append(_finding("critical", "keras_file", "Keras layer %s at %s reads %s %r from the "
                                         "host when loaded" % (class_name, path, key, value[:120])))
        for key, value in node.items():
            _walk_keras_config(value, findings, "%s.%s" % (path, key), depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node[:10000]):
            _walk_keras_config(value, findings, "%s[%d]" % (path, index), depth + 1)


class _Window(object):
    """A byte range of a seekable file as a file object of its own (forward seeks only)."""

    def __init__(self, raw, start, length):
        self._raw = raw
        self._start = start
        self._length = length
        self._pos = 0

    def read(self, size=-1):
        left = self._length - self._pos
        size = left if size is None or size < 0 else min(size, left)
        if size <= 0:
            return b""
        self._raw.seek(self._start + self._pos)
        data = self._raw.read(size)
        self._pos += len(data)
        return data

    def readline(self, size=-1):
        self._raw.seek(self._start + self._pos)
        left = self._length - self._pos
        data = self._raw.readline(left if size is None or size < 0 else min(size, left))
        self._pos += len(data)
        return data

    def tell(self):
        return self._pos

    def seek(self, offset, whence=0):
        self._pos = max(0, min(offset if whence == 0 else self._pos + offset, self._length))
        return self._pos


def _zip_member(f, info, cap):
    """A member's bytes as torch's reader (miniz) gets them: from the central directory's offset and
    sizes, whatever the local header's name, CRC or flag bits (encryption...) say. zipfile refuses
    such members; the loader does not."""
    f.seek(info.header_offset)
    local = f.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise ValueError("no local file header at offset %d" % info.header_offset)
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    window = _Window(f, info.header_offset + 30 + name_len + extra_len, info.compress_size)
    if info.compress_type == zipfile.ZIP_STORED:
        return LimitedStream(window, cap)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        return LimitedStream(io.BufferedReader(ZlibStream(window, -zlib.MAX_WBITS), 1 << 16), cap)
    return None


def _inspect_zip(f, size, opts):
    """Every member is read by content, never by name: torch loads a pickle under any member name
    (``pickle_file``), numpy loads an npz member without the ``.npy`` suffix, and members Python's
    zipfile rejects are still read by torch's own reader."""
    findings = []
    try:
        archive = zipfile.ZipFile(f)
        infos = archive.infolist()
    except Exception as exc:  # pylint: disable=broad-except
        return "zip", {}, [_finding("medium", "malformed", "zip archive cannot be read: %s" % exc)]
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        findings.append(_finding("high", "duplicate_members", "zip has duplicate member names: a loader may "
                                 "read another copy than the one scanned"))
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        fmt = "torchscript" if any("/code/" in n or n.endswith("constants.pkl") for n in names) else "pytorch_zip"
    elif "config.json" in names and ("model.weights.h5" in names or "metadata.json" in names):
        fmt = "keras_v3"
    else:
        fmt = "zip"
    kinds = []
    scanned = 0
    for info in infos:
        name = info.filename
        if info.is_dir() or info.file_size == 0 and info.compress_size == 0:
            continue
        scanned += 1
        if scanned > opts["max_members"]:
            findings.append(_finding("medium", "limit", "more than %d members: the rest not inspected"
                                     % opts["max_members"]))
            break
        where = "%s: " % name
        if info.file_size > opts["max_member_bytes"]:
            findings.append(_finding("medium", "limit", "%smember of %d bytes not inspected (cap %d)"
                                     % (where, info.file_size, opts["max_member_bytes"])))
            continue
        if info.compress_size and info.file_size > (64 << 20) and info.file_size // max(info.compress_size, 1) > 1000:
            findings.append(_finding("high", "zip_bomb", "%scompression ratio over 1000:1" % where))
            continue
        try:
            kinds.append(_inspect_zip_member(archive, f, info, fmt, opts, findings))
        except PickleLimit as exc:
            findings.append(_finding("medium", "limit", "%s%s" % (where, exc)))
        except Exception as exc:  # pylint: disable=broad-except
            findings.append(_finding("medium", "malformed", "%smember cannot be read: %s"
                                     % (where, str(exc)[:200] or exc.__class__.__name__)))
    if fmt == "zip" and kinds and all(kind == "npy" for kind in kinds):
        fmt = "numpy_npz"
    details = {"members": len(infos), "pickles": kinds.count("pickle")}
    if fmt == "torchscript":
        findings.append(_finding("info", "torchscript", "TorchScript archive: code/ holds TorchScript source "
                                 "compiled on load"))
    return fmt, details, findings


def _inspect_zip_member(archive, f, info, fmt, opts, findings):
    """Inspect one member by its content; return what it was (npy, pickle, config, data)."""
    name = info.filename
    where = "%s: " % name
    stream = _zip_member(f, info, opts["max_member_bytes"])
    if stream is None:  # bzip2/lzma members: the stdlib reader has the codec
        stream = LimitedStream(archive.open(info), opts["max_member_bytes"])
    head = stream.read(4096)
    if head[:6] == NPY_MAGIC:
        stream = _Prepend(head, stream)
        findings.extend(_check_npy(stream, None, opts, where)[2])
        return "npy"
    if fmt == "keras_v3" and name == "config.json":
        try:
            # bytes, as Keras passes them: json.loads detects UTF-16 and UTF-32 from the BOM.
            _walk_keras_config(json.loads(head + stream.read()), findings)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            findings.append(_finding("medium", "malformed", "%snot JSON: %s" % (where, str(exc)[:200])))
        return "config"
    held = _scan_member_pickles(head, stream, opts, where, findings, name.endswith((".pkl", ".pickle")))
    return "pickle" if held else "data"


def _scan_member_pickles(head, stream, opts, where, findings, named_pickle=False, max_pickles=64):
    """One archive member read by its content, whatever its name: a pickle by name or by its first
    bytes is scanned strictly; a member that merely starts with an opcode byte (a serialization id,
    tensor bytes) leniently, so it reports only imports the unpickler would really make. ``head``:
    the bytes already read from ``stream``. Returns whether the member held a pickle."""
    strict = named_pickle or looks_like_pickle(head)
    if not (strict or opcode_start(head)):
        return False
    result = scan_pickles(LimitedStream(_Prepend(head, stream), opts["max_member_bytes"]), allow=opts["allow_globals"],
                          max_ops=opts["max_pickle_ops"], max_pickles=max_pickles, lenient=not strict)
    findings.extend(_with_member(item, where) for item in result["findings"])
    return strict or bool(result["pickles"]) and result["pickles"][0]["complete"]


def _inspect_tar(f, size, opts):
    findings = []
    try:
        archive = tarfile.open(fileobj=f, mode="r:")
        members = archive.getmembers()
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        return "tar", {}, [_finding("medium", "malformed", "tar archive cannot be read: %s" % exc)]
    names = set(m.name for m in members)
    fmt = "pytorch_tar" if {"sys_info", "pickle", "storages"} <= names else "tar"
    for member in members[:opts["max_members"]]:
        if not member.isfile() or member.size == 0:
            continue
        where = "%s: " % member.name
        if member.size > opts["max_member_bytes"]:
            findings.append(_finding("medium", "limit", "%smember of %d bytes not inspected" % (where, member.size)))
            continue
        handle = archive.extractfile(member)
        _scan_member_pickles(handle.read(4096), handle, opts, where, findings,
                             member.name in ("sys_info", "pickle", "storages", "tensors"), max_pickles=1)
    return fmt, {"members": len(members)}, findings


def _inspect_compressed(f, size, opts):
    f.seek(0)
    kind = compression_of(f.read(8))
    f.seek(0)
    stream = _decompressor(kind, f)
    details = {"compression": kind}
    if stream is None:
        # Archivers open 7z and rar, pandas zstd: the loader can, we cannot, so never "clean". Stored
        # (uncompressed) content is still visible: every pickle header in the raw bytes is scanned.
        findings = _embedded_pickles(f, size, opts)
        findings.append(_finding("medium", "uninspectable", "compressed with %s: the standard library cannot "
                                 "decompress it, so only its uncompressed parts were inspected" % kind))
        return "compressed", details, findings
    findings = []
    fmt = "compressed"
    head, error = _read_tolerant(LimitedStream(stream, opts["max_decompressed_bytes"]), 65536)
    if error is not None:
        # The stream broke early (a missing gzip trailer, a corrupt xz tail): what did decompress is
        # what a streaming loader gets before it fails, so it is scanned.
        findings.append(_finding("medium", "malformed", "cannot decompress past byte %d: %s" % (len(head), error)))
        rest = io.BytesIO(head)
    else:
        rest = _Prepend(head, stream)
    try:
        if len(head) >= 262 and head[257:262] == b"ustar":
            # pandas.read_pickle('model.pkl.tar.gz') decompresses, then opens the tar.
            fmt, details["archive"], inner = _inspect_tar_stream(rest, opts)
            return fmt, details, findings + inner
        if compression_of(head) or head[:4] in ZIP_MAGICS:
            return "compressed", details, findings + [_finding(
                "medium", "nested_compression", "compressed data inside compressed data: not followed further")]
        if not looks_like_pickle(head) and not opcode_start(head):
            return "compressed", details, findings
        limited = LimitedStream(rest, opts["max_decompressed_bytes"])
        result = scan_pickles(limited, allow=opts["allow_globals"], max_ops=opts["max_pickle_ops"], max_pickles=1)
        findings.extend(result["findings"])
        fmt = "joblib" if any(r["module"].startswith("joblib") for p in result["pickles"] for r in p["imports"]) \
            else "compressed_pickle"
    except PickleLimit as exc:
        return "compressed_pickle", details, findings + [_finding("medium", "limit", "not fully inspected: %s" % exc)]
    except Exception as exc:  # pylint: disable=broad-except
        return fmt, details, findings + [_finding("medium", "malformed", "cannot decompress: %s"
                                                  % (str(exc)[:200] or exc.__class__.__name__))]
    return fmt, details, findings


def _read_tolerant(stream, size):
    """Up to ``size`` bytes, and the error that stopped the read early (or None)."""
    chunks = []
    got = 0
    while got < size:
        try:
            chunk = stream.read(min(8192, size - got))
        except PickleLimit:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            return b"".join(chunks), "%s: %s" % (exc.__class__.__name__, str(exc)[:200])
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks), None


def _inspect_tar_stream(stream, opts):
    """A tar read front to back from a decompressed stream: every member that holds a pickle is scanned."""
    findings = []
    archive = tarfile.open(fileobj=stream, mode="r|")
    count = 0
    for member in archive:
        count += 1
        if count > opts["max_members"]:
            findings.append(_finding("medium", "limit", "more than %d members: the rest not inspected" % opts["max_members"]))
            break
        if not member.isfile() or member.size == 0:
            continue
        where = "%s: " % member.name
        if member.size > opts["max_member_bytes"]:
            findings.append(_finding("medium", "limit", "%smember of %d bytes not inspected" % (where, member.size)))
            continue
        handle = archive.extractfile(member)
        _scan_member_pickles(handle.read(min(member.size, 65536)), handle, opts, where, findings, max_pickles=1)
    return "compressed_tar", {"members": count}, findings


def _embedded_pickles(f, size, opts, limit=64 << 20, max_starts=256):
    """Findings of every protocol 2-5 pickle whose header appears in the first ``limit`` bytes
    (content stored uncompressed inside a container we cannot decode), read leniently."""
    f.seek(0)
    data = f.read(min(size or limit, limit))
    findings = []
    starts = 0
    for match in re.finditer(b"\x80[\x02-\x05]", data):
        starts += 1
        if starts > max_starts:
            break
        f.seek(match.start())
        result = scan_pickles(f, allow=opts["allow_globals"], max_ops=opts["max_pickle_ops"], size=size,
                              max_pickles=1, lenient=True)
        for item in result["findings"]:
            item = dict(item, detail="pickle at byte %d: %s" % (match.start(), item["detail"]))
            if item not in findings:
                findings.append(item)
    return findings


def _inspect_pickle(f, size, opts, probe=False):
    """A pickle, read the ways it can be loaded: as repeated ``pickle.load`` calls, and, when it
    holds joblib array wrappers, both as ``joblib.load`` (array bytes follow each wrapper) and as
    plain ``pickle.load`` (the same bytes are opcodes)."""
    result = scan_pickles(f, allow=opts["allow_globals"], max_ops=opts["max_pickle_ops"], size=size)
    first = result["pickles"][0] if result["pickles"] else None
    if probe and not (first and (first["complete"] or first["ops"] >= 3 and first["imports"])):
        return "unknown", {}, []
    fmt = "pickle"
    imports = set(r["global"] for p in result["pickles"] for r in p["imports"])
    findings = list(result["findings"])
    if result["legacy_torch"]:
        fmt = "pytorch_legacy"
    elif any(name.startswith("joblib.") for name in imports):
        fmt = "joblib"
        f.seek(0)
        plain = scan_pickles(f, allow=opts["allow_globals"], max_ops=opts["max_pickle_ops"], size=size,
                             joblib_arrays=False, lenient=True)
        for item in plain["findings"]:
            if item["kind"] not in ("malformed", "limit") and item not in findings:
                findings.append(dict(item, detail="read by plain pickle.load: %s" % item["detail"]))
    details = {"pickles": len(result["pickles"]),
               "protocol": max([p["protocol"] for p in result["pickles"]] or [0]),
               "imports": sorted(imports)[:50]}
    try:  # pickle/zip polyglot: torch.load picks the zip reader only when the file starts with PK
        f.seek(0)
        if zipfile.is_zipfile(f):
            findings.append(_finding("medium", "polyglot", "file is both a pickle and a zip archive: "
                                     "different loaders see different content"))
    except (OSError, ValueError):
        pass
    return fmt, details, findings


def inspect_stream(f, size, options=None):
    """Classify and inspect one file. ``f``: seekable binary file object at any position.

    Never raises on what the file holds: whatever stops a parser becomes a suspicious finding that
    says where, next to every finding made before it."""
    opts = _options(options)
    f.seek(0)
    head = f.read(65536)
    fmt = sniff(head, size)
    details = {}
    findings = []
    f.seek(0)
    try:
        if fmt == "safetensors":
            details, findings = _check_safetensors(f, size)
        elif fmt == "gguf":
            details, findings = _check_gguf(f, size)
        elif fmt == "numpy_npy":
            fmt, details, findings = _check_npy(f, size, opts)
        elif fmt == "hdf5":
            fmt, details, findings = _check_hdf5(f, size, opts)
        elif fmt == "zip":
            fmt, details, findings = _inspect_zip(f, size, opts)
        elif fmt == "tar":
            fmt, details, findings = _inspect_tar(f, size, opts)
        elif fmt == "compressed":
            fmt, details, findings = _inspect_compressed(f, size, opts)
        elif fmt == "pickle":
            fmt, details, findings = _inspect_pickle(f, size, opts)
        elif fmt == "maybe_pickle":
            fmt, details, findings = _inspect_pickle(f, size, opts, probe=True)
        elif fmt == "tf_saved_model":
            details, findings = _check_saved_model(f, size, opts)
    except PickleLimit as exc:
        findings = list(findings) + [_finding("medium", "limit", "not fully inspected: %s" % exc)]
    except Exception as exc:  # pylint: disable=broad-except
        findings = list(findings) + [_finding("medium", "parse_error", "%s inspection stopped at byte %s: %s: %s" % (
            fmt, _position(f), exc.__class__.__name__, str(exc)[:200]))]
    return {"format": fmt, "code_capable": fmt in CODE_CAPABLE, "details": details, "findings": findings,
            "severity": max_severity(findings), "verdict": verdict_of(findings)}


def _position(f):
    try:
        return f.tell()
    except Exception:  # pylint: disable=broad-except
        return "?"


def verdict_of(findings):
    """clean (nothing, or info/low), suspicious (medium/high), malicious (critical)."""
    worst = max_severity(findings)
    if worst == "critical":
        return "malicious"
    if worst is not None and SEVERITY_RANK[worst] >= SEVERITY_RANK["medium"]:
        return "suspicious"
    return "clean"
