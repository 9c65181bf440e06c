"""The Ollama stand-in must resolve OLLAMA_HOST the way Ollama's envconfig.Host() does, or the
loopback role would be tested against the wrong behaviour."""
import importlib.util
import os

import pytest

_PATH = os.path.join(os.path.dirname(__file__), "..", "standins", "ollama.py")
_spec = importlib.util.spec_from_file_location("ollama_standin", _PATH)
standin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standin)


@pytest.mark.parametrize("value, expected", [
    ("", ("http", "127.0.0.1", 11434)),                 # unset: loopback default
    ("0.0.0.0", ("http", "0.0.0.0", 11434)),            # host only keeps the default port
    ("0.0.0.0:11434", ("http", "0.0.0.0", 11434)),
    ("127.0.0.1:12000", ("http", "127.0.0.1", 12000)),
    ("http://0.0.0.0", ("http", "0.0.0.0", 80)),         # scheme changes the default port
    ("https://ollama.lan", ("https", "ollama.lan", 443)),
    ("http://10.0.0.1:11434/api", ("http", "10.0.0.1", 11434)),  # path dropped
    (":11434", ("http", "", 11434)),                     # empty host = all interfaces
    ("[::]:11434", ("http", "::", 11434)),
    ("::1", ("http", "::1", 11434)),                     # bare IPv6 address, default port
    ("127.0.0.1:99999", ("http", "127.0.0.1", 11434)),  # invalid port falls back
])
def test_ollama_host_is_parsed_like_envconfig_host(value, expected):
    assert standin.parse_ollama_host(value) == expected


def test_gpu_devices_are_opened_and_held_or_named_with_their_errno(tmp_path):
    """AIHOST_STANDIN_GPU_DEVICES: a node that opens stays open; one that does not is logged by errno name."""
    node = tmp_path / "nvidiactl"
    node.write_text("")
    held_before = len(standin._HELD_GPU_NODES)
    lines = standin.open_gpu_devices([str(node), str(tmp_path / "nvidia-uvm")])
    try:
        assert lines == ["gpu device %s: open (held)" % node,
                         "gpu device %s: ENOENT (No such file or directory)" % (tmp_path / "nvidia-uvm")]
        assert len(standin._HELD_GPU_NODES) == held_before + 1
    finally:
        while len(standin._HELD_GPU_NODES) > held_before:
            os.close(standin._HELD_GPU_NODES.pop())
