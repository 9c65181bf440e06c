#!/usr/bin/python3
"""Generate the Molecule model stores from bytes (standard library only; nothing is ever unpickled).

/srv/models: weights/model.safetensors, weights/model.gguf, checkpoints/optimizer.pkl (benign
OrderedDict), checkpoints/evil.pt (os.system via REDUCE: it would run `touch /tmp/pwned` if loaded),
weights/big.bin (128 MiB), snapshots/main/model.safetensors -> ../../weights/model.safetensors
(a Hugging Face-style link). Modes are loose on purpose (0666 files, 0777 directories).
/srv/locked-model.gguf: a single-file store. --ollama DIR: an Ollama-style blob + manifest.
"""
import collections
import hashlib
import json
import os
import pickle
import struct
import sys


def safetensors():
    header = json.dumps({"weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                         "__metadata__": {"format": "pt"}}, separators=(",", ":")).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<4f", 1, 2, 3, 4)


def gguf_str(text):
    return struct.pack("<Q", len(text)) + text.encode()


def gguf():
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
    out += gguf_str("general.architecture") + struct.pack("<I", 8) + gguf_str("llama")
    out += gguf_str("token_embd.weight") + struct.pack("<IQQIQ", 2, 2, 2, 0, 0)
    out += b"\x00" * ((32 - len(out) % 32) % 32)
    return out + struct.pack("<4f", 1, 2, 3, 4)


def write(path, data, mode=0o666):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--ollama":
        root = sys.argv[2]
        blob = gguf()
        digest = hashlib.sha256(blob).hexdigest()
        write(os.path.join(root, "blobs", "sha256-" + digest), blob, 0o644)
        write(os.path.join(root, "manifests", "registry.ollama.ai", "library", "tiny", "latest"),
              json.dumps({"layers": [{"digest": "sha256:" + digest}]}).encode(), 0o644)
        for dirpath, _dirs, _files in os.walk(root):
            os.chown(dirpath, *owner("ollama"))
            for name in _files:
                os.chown(os.path.join(dirpath, name), *owner("ollama"))
        return
    root = "/srv/models"
    write(root + "/weights/model.safetensors", safetensors())
    write(root + "/weights/model.gguf", gguf())
    write(root + "/checkpoints/optimizer.pkl",
          pickle.dumps(collections.OrderedDict([("lr", 0.001), ("step", 1000)]), protocol=4))
    # os.system("touch /tmp/pwned") as pickle opcodes, written as bytes.
    write(root + "/checkpoints/evil.pt", b"\x80\x02cposix\nsystem\nX\x10\x00\x00\x00touch /tmp/pwned\x85R.")
    with open(root + "/weights/big.bin", "wb") as handle:
        block = os.urandom(1 << 20)
        for _block in range(128):
            handle.write(block)
    os.chmod(root + "/weights/big.bin", 0o666)
    os.makedirs(root + "/snapshots/main", exist_ok=True)
    os.symlink("../../weights/model.safetensors", root + "/snapshots/main/model.safetensors")
    for dirpath, _dirs, _files in os.walk(root):
        os.chmod(dirpath, 0o777)
    write("/srv/locked-model.gguf", gguf())


def owner(name):
    import pwd
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


if __name__ == "__main__":
    main()
