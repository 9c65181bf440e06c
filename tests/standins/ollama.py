#!/usr/bin/env python3
"""STAND-IN for Ollama's server, for tests only. It is not Ollama and runs no model.

Ollama is a single Go binary that cannot be installed from the registries reachable here, so the
Molecule scenarios run this stand-in under the name `ollama`: install it as /usr/local/bin/ollama
with its first line changed to `#!/usr/bin/python3`, so that the kernel runs the interpreter directly
and /proc/<pid>/comm reads "ollama", as the real binary's does (through /usr/bin/env it would read
"python3"). It is faithful to the parts of the
real server that the collection depends on:

* `ollama serve` binds the address that OLLAMA_HOST names, parsed exactly as Ollama's
  envconfig.Host() does: surrounding spaces and quotes trimmed; optional scheme ("http://" makes the
  default port 80, "https://" 443, none keeps 11434); an optional "/path" dropped; a value without a
  port keeps the host and takes the default port; an empty value means 127.0.0.1:11434; an invalid
  port falls back to the default with a warning. An empty host or "::" listens on all interfaces,
  IPv4 and IPv6 (Go's dual-stack behaviour); "0.0.0.0" on all IPv4 interfaces.
* GET/HEAD /            -> 200 "Ollama is running"
* GET /api/version      -> {"version": "<version>"}
* GET /api/tags         -> {"models": [...]} from the manifests under OLLAMA_MODELS
                           (default ~/.ollama/models)
* anything else         -> 404 "404 page not found"
* `ollama -v` / `ollama --version` prints "ollama version is <version>".

The version defaults to 0.12.3 (an old release, so audits have something to find); set
AIHOST_STANDIN_OLLAMA_VERSION to change it.

Optional, stand-in only: AIHOST_STANDIN_GPU_DEVICES (colon-separated device paths, unset by default)
makes `ollama serve` open each node read-write at start-up, as Ollama's GPU discovery does through
the CUDA and NVML libraries (/dev/nvidiactl, /dev/nvidia0, /dev/nvidia-uvm), keep open the ones that
open, and log one line per node to stderr:
    gpu device /dev/nvidiactl: open (held)
    gpu device /dev/nvidiactl: EPERM (Operation not permitted)
Without a loaded driver the kernel refuses every open (ENXIO, or EPERM from a container's device
cgroup); ENOENT means the node is not visible to the process at all (for example PrivateDevices=yes).
"""
import errno
import ipaddress
import json
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("AIHOST_STANDIN_OLLAMA_VERSION", "0.12.3")
DEFAULT_PORT = 11434


def _env(name):
    # envconfig.Var: TrimSpace, then Trim the quote characters.
    return os.environ.get(name, "").strip().strip("\"'")


def _split_host_port(hostport):
    """Mimic Go's net.SplitHostPort: return (host, port) or raise ValueError."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or not hostport[end + 1:].startswith(":"):
            raise ValueError("missing port")
        return hostport[1:end], hostport[end + 2:]
    if hostport.count(":") != 1:
        raise ValueError("missing port or too many colons")
    host, port = hostport.split(":")
    return host, port


def parse_ollama_host(value):
    """Return (scheme, host, port) the way envconfig.Host() resolves OLLAMA_HOST."""
    default_port = str(DEFAULT_PORT)
    value = value.strip()
    if "://" in value:
        scheme, hostport = value.split("://", 1)
        if scheme == "http":
            default_port = "80"
        elif scheme == "https":
            default_port = "443"
    else:
        scheme, hostport = "http", value
    hostport = hostport.split("/", 1)[0]
    try:
        host, port = _split_host_port(hostport)
    except ValueError:
        host, port = "127.0.0.1", default_port
        bare = hostport.strip("[]")
        try:
            host = str(ipaddress.ip_address(bare))
        except ValueError:
            if hostport:
                host = hostport
    try:
        number = int(port)
        if number < 0 or number > 65535:
            raise ValueError
    except ValueError:
        sys.stderr.write("level=WARN msg=\"invalid port, using default\" port=%s default=%s\n" % (port, default_port))
        port = default_port
    return scheme, host, int(port)


def _models_dir():
    return _env("OLLAMA_MODELS") or os.path.join(os.path.expanduser("~"), ".ollama", "models")


def _list_models():
    root = os.path.join(_models_dir(), "manifests")
    models = []
    for dirpath, _dirs, files in os.walk(root):
        for tag in files:
            rel = os.path.relpath(os.path.join(dirpath, tag), root).split(os.sep)
            # registry/namespace/model/tag; the library namespace is shown without a prefix.
            name = rel[-2] if rel[1:2] == ["library"] else "/".join(rel[1:-1])
            path = os.path.join(dirpath, tag)
            models.append({"name": "%s:%s" % (name, tag), "model": "%s:%s" % (name, tag),
                           "size": os.path.getsize(path), "digest": ""})
    return models


class Handler(BaseHTTPRequestHandler):
    server_version = "ollama-standin"

    def _send(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(200, "Ollama is running", "text/plain; charset=utf-8")
        elif path == "/api/version":
            self._send(200, json.dumps({"version": VERSION}), "application/json; charset=utf-8")
        elif path == "/api/tags":
            self._send(200, json.dumps({"models": _list_models()}), "application/json; charset=utf-8")
        else:
            self._send(404, "404 page not found", "text/plain")

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        sys.stderr.write("[GIN] %s | %s\n" % (self.client_address[0], fmt % args))


class DualStackServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


# File descriptors of the GPU nodes held open for the life of the server (AIHOST_STANDIN_GPU_DEVICES).
_HELD_GPU_NODES = []


def open_gpu_devices(paths):
    """Open each node read-write, keep the descriptors that open; return one log line per node."""
    lines = []
    for path in paths:
        try:
            _HELD_GPU_NODES.append(os.open(path, os.O_RDWR | os.O_CLOEXEC))
            lines.append("gpu device %s: open (held)" % path)
        except OSError as exc:
            name = errno.errorcode.get(exc.errno, str(exc.errno))
            lines.append("gpu device %s: %s (%s)" % (path, name, exc.strerror))
    return lines


def serve():
    _scheme, host, port = parse_ollama_host(_env("OLLAMA_HOST"))
    gpu_paths = [path for path in _env("AIHOST_STANDIN_GPU_DEVICES").split(":") if path]
    for line in open_gpu_devices(gpu_paths):
        sys.stderr.write(line + "\n")
    if host in ("", "::"):
        server = DualStackServer(("::", port), Handler)
    elif ":" in host:
        server_class = type("V6Server", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
        server = server_class((host, port), Handler)
    else:
        server = ThreadingHTTPServer((host, port), Handler)
    sys.stderr.write("Listening on %s:%d (version %s, STAND-IN)\n" % (host or "[::]", port, VERSION))
    server.serve_forever()


def main(argv):
    if argv[1:2] in (["-v"], ["--version"]):
        print("ollama version is %s" % VERSION)
        return 0
    if argv[1:2] == ["serve"]:
        serve()
        return 0
    sys.stderr.write("usage: ollama serve | ollama -v   (aihost test stand-in)\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
