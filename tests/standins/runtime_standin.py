#!/usr/bin/env python
"""STAND-IN for the HTTP servers of vLLM and llama.cpp, for tests only. It runs no model.

Neither runtime can be installed from the registries reachable here (vLLM needs CUDA wheels,
llama.cpp is a C++ build), so the Molecule scenario installs this one file under each runtime's
binary name: /usr/local/bin/vllm and /usr/local/bin/llama-server. The kernel names a process after
the script it executes, so /proc/<pid>/comm reads "vllm" or "llama-server", and the command line
has the same shape as the real entry points (vLLM is itself a Python console script). Faithful to the
documented behaviour the collection relies on:

* vllm serve MODEL [--host H] [--port P] [--api-key K]: binds all interfaces when --host is not
  given, port 8000; GET /health, GET /version -> {"version": ...}; GET /v1/models. The API key
  (--api-key or VLLM_API_KEY) guards /v1/* only, as in vLLM.
* llama-server [-m MODEL] [--host H] [--port P] [--api-key K]: binds 127.0.0.1:8080 by default
  (LLAMA_ARG_HOST / LLAMA_ARG_PORT also read); GET /health -> {"status": "ok"} with a
  "Server: llama.cpp" header; GET /v1/models. The API key (or LLAMA_API_KEY; several keys separated
  by commas, as llama-server splits them) guards all but /health, as "Authorization: Bearer <key>".
  POST /completion (and its alias /completions), llama-server's native completion endpoint: a JSON
  body with "prompt" (a missing one answers 400 with an invalid_request_error, as the real server's
  error format has it) and "n_predict" (-1, the default, means "until the end": the stand-in stops at
  16); the answer has the real one's basic fields: "content", "tokens_predicted",
  "tokens_evaluated", "stop": true, "stop_type" ("limit" when n_predict was reached), "model",
  "truncated". The content is made of the word " standin", one per token: no model runs.

Every response carries "X-Aihost-Standin: <name>" so nobody mistakes it for the real thing.
Install it with the interpreter written into the shebang (#!/usr/bin/python3): through
/usr/bin/env the process would be named after the interpreter instead.
"""
import argparse
import json
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STANDIN_VERSION = "0.0.0+aihost.standin"

FLAVOURS = {
    # name: (default host, default port, host env, port env, api-key env, model owner, public paths, guarded prefix)
    "vllm": ("", 8000, None, None, "VLLM_API_KEY", "vllm", ("/health", "/version"), "/v1/"),
    "llama-server": ("127.0.0.1", 8080, "LLAMA_ARG_HOST", "LLAMA_ARG_PORT", "LLAMA_API_KEY", "llamacpp", ("/health",), "/"),
}


def parse(flavour, argv):
    default_host, default_port, host_env, port_env, key_env = FLAVOURS[flavour][:5]
    parser = argparse.ArgumentParser(prog=flavour, description="aihost test stand-in for " + flavour)
    if flavour == "vllm":
        parser.add_argument("command", choices=["serve"])
        parser.add_argument("model")
    else:
        parser.add_argument("-m", "--model", default="model.gguf")
    # vLLM prints the bare version; llama-server prints "version: <build> (<commit>)".
    shown = STANDIN_VERSION if flavour == "vllm" else "version: 0 (aihost-standin)"
    parser.add_argument("--version", action="version", version=shown)
    parser.add_argument("--host", default=os.environ.get(host_env, default_host) if host_env else default_host)
    parser.add_argument("--port", type=int, default=int(os.environ.get(port_env, default_port)) if port_env else default_port)
    parser.add_argument("--api-key", default=os.environ.get(key_env) or None)
    return parser.parse_args(argv)


def make_handler(flavour, args):
    owner, public, guarded = FLAVOURS[flavour][5:]

    class Handler(BaseHTTPRequestHandler):
        server_version = "llama.cpp" if flavour == "llama-server" else "uvicorn"
        sys_version = ""

        def _send(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Aihost-Standin", flavour)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 (http.server naming)
            path = self.path.split("?", 1)[0]
            if not self._authorised(path):
                return self._send(401, {"error": "Unauthorized"})
            if path == "/health":
                return self._send(200, {"status": "ok"} if flavour == "llama-server" else {})
            if path == "/version" and flavour == "vllm":
                return self._send(200, {"version": STANDIN_VERSION})
            if path == "/v1/models":
                return self._send(200, {"object": "list", "data": [{"id": args.model, "object": "model", "owned_by": owner}]})
            return self._send(404, {"error": "Not Found"})

        def do_POST(self):  # noqa: N802 (http.server naming)
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not self._authorised(path):
                return self._send(401, {"error": {"code": 401, "message": "Invalid API Key",
                                                  "type": "authentication_error"}})
            if flavour == "llama-server" and path in ("/completion", "/completions"):
                return self._completion(raw)
            return self._send(404, {"error": "Not Found"})

        def _authorised(self, path):
            if not args.api_key or path in public or not path.startswith(guarded):
                return True
            keys = [key.strip() for key in args.api_key.split(",")] if flavour == "llama-server" else [args.api_key]
            header = self.headers.get("Authorization", "")
            return header.startswith("Bearer ") and header[len("Bearer "):] in keys

        def _completion(self, raw):
            try:
                request = json.loads(raw.decode("utf-8") or "null")
            except ValueError:
                request = None
            if not isinstance(request, dict) or "prompt" not in request:
                return self._send(400, {"error": {"code": 400, "message": "\"prompt\" must be provided",
                                                  "type": "invalid_request_error"}})
            n_predict = request.get("n_predict", -1)
            if not isinstance(n_predict, int) or isinstance(n_predict, bool):
                n_predict = -1
            produced = 16 if n_predict < 0 else min(n_predict, 16)
            prompt = request["prompt"] if isinstance(request["prompt"], str) else " ".join(map(str, request["prompt"]))
            return self._send(200, {
                "content": " standin" * produced,
                "tokens_predicted": produced,
                "tokens_evaluated": max(1, len(prompt.split())),
                "stop": True,
                "stop_type": "limit" if n_predict >= 0 and produced == n_predict else "eos",
                "model": args.model,
                "truncated": False,
            })

        def log_message(self, fmt, *fmt_args):
            sys.stderr.write("%s STAND-IN %s\n" % (flavour, fmt % fmt_args))

    return Handler


def main(argv):
    flavour = os.path.basename(argv[0])
    if flavour not in FLAVOURS:
        sys.stderr.write("install this stand-in as one of: %s\n" % ", ".join(sorted(FLAVOURS)))
        return 2
    args = parse(flavour, argv[1:])
    server_class = ThreadingHTTPServer
    if ":" in args.host:
        server_class = type("V6Server", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
    server = server_class((args.host, args.port), make_handler(flavour, args))
    sys.stderr.write("%s STAND-IN listening on %s:%d\n" % (flavour, args.host or "0.0.0.0", args.port))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
