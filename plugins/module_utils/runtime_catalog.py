# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog of local-AI runtimes, as data, and its validator.

Adding a runtime means adding an entry to ``CATALOG``; detection code has no per-runtime branch.
Users add or override entries through ``load_catalog(user_entries)`` (the ``catalog_extra``
option of ``aihost.hardening.ai_runtime_facts``), validated by the same rules.

Entry fields (all validated, unknown fields are rejected):

display_name   str, required for new entries.
category       llm_server | llm_ui | image_ui | inference_server | distributed | notebook |
               ml_platform | app_framework | vector_db
generic        bool (default false): matched only after every specific entry (e.g. plain Gradio
               apps, which any Python script can be).
match          dict, required for new entries:
  processes    list of alternatives; each is a dict whose conditions must ALL hold:
                 comm: [names]   /proc/<pid>/comm (compared on the kernel's 15-character cut)
                 argv: [names]   basename of the program: argv[0], or the script an interpreter
                                 (python, node, sh, java...) runs, or the module of "python -m"
                 cmdline: regex  searched in the space-joined command line
                 cwd: regex      searched in the process's working directory
  env          [names]: env vars that mark the runtime in an interpreter process (weak evidence)
  port_fallback bool: an otherwise unmatched interpreter process listening on one of the
               default ports counts (weak evidence, generic entries only)
  units        [systemd unit names]
  images       [container image repositories, without tag; registry mirrors also match]
  pip          [Python distribution names]
  dpkg         [Debian package names]
  binaries     [program names looked up in the usual bin directories, or absolute paths]
default_ports  [int]
default_bind   str: the address the runtime binds when nobody configures it
bind_knob      dict: kind (env|flag|config|none), name, loopback_value (text with {port}), action
               (set|remove: "remove" means drop the flag to get loopback), alternatives [str],
               read_only [str], note, ports [int] (the only ports the knob moves, for runtimes
               that bind some listeners to every interface whatever their settings; null: all of
               its ports).
               alternatives: other settings of where the API listens, which override or stand in
               for the knob (its flag or variable spelling, the listen address of a second
               protocol of the same API); the loopback role rewrites those it finds in use.
               auth_fixes: settings that open the API to anyone who reaches it, which the loopback
               role fixes in the same drop-in (also for runtimes already on loopback): list of
               {kind: env|flag, name, alternatives [flags], match (regex the current value must
               match, "^$": empty), action (flag: remove, or move: its value goes to the variable
               move_to_env in a root-only EnvironmentFile=; env: set), value_from (env: the name of
               a role setting whose list, comma-joined, is the new value), token_env (a variable
               the drop-in points at a root-owned token file the role creates), reason}.
               read_only: settings that carry an address but are not a listen address of the API
               (Ray's --node-ip-address: where the other nodes reach this one); they are only read,
               never rewritten, and may not also be the name or an alternative.
auth           dict: default (true|false|null), builtin (sentence), rules: list of
               {flag|env|file: name, regex (file only), when: set|empty|equals|present,
                value: [str], enabled: bool, note}; the first rule that matches decides
version        dict: pip [dist], dpkg [pkg], file {path, regex} (path relative to the process's
               working directory unless absolute), command [argv] (run only when allowed)
data_paths     [paths]: "~" is the process user's home, "$VAR" a variable of the process's
               environment, a relative path is relative to the process's working directory
data_flags     [flags] whose value is a data/model path
risky_flags    list of {flag|env: name, value: regex (optional), unless_auth: bool (not risky
               when auth is on), root_only: bool (risky only when the process runs as root), reason}
sandbox_profile default | jit (jit: needs writable+executable memory: JIT compilers, CUDA, JVM)
health         dict, optional: a cheap call that exercises the runtime's real work, made by the
               service_users role after it restarted the runtime under a new sandbox
               (plugins/module_utils/runtime_health.py runs it; null: ports only):
  steps        list, required, run in order against each port the runtime listens on:
                 method   GET | HEAD | POST | PUT | PATCH | DELETE
                 path     str starting with "/" (after the base_url below)
                 body     JSON value sent as application/json (optional)
                 headers  {name: str} (optional)
                 expect   {status: [int], json_keys: [str] (top-level keys the JSON answer has)}
                 save     {variable: key}: top-level answer keys later steps and cleanups use
                 retry_status [int]: answers that mean "not ready yet" (retried until the timeout)
                 timeout  seconds for this call (optional; default the module's request_timeout)
                 writes   bool (default true for POST, PUT, PATCH, DELETE): a step that writes
                          must carry a cleanup
                 cleanup  {method, path, body, headers, expect {status}}: undoes the step; run
                          whenever the step was sent, even when a later step failed
               Strings of path, body and headers may use {name} (aihost-health-<random hex>, the
               name of the object the check creates), {nonce} (random hex) and saved variables.
  processes    alternatives as in match.processes: the check applies only to main processes that
               match one (others are noted, not failed)
  credential   where the runtime's own secret is read on the host: files [{path, key}] (JSON
               files; "{pid}" is the main process, "$VAR" and "~" as in data_paths, only files
               its user owns), then flags [names], then env [names]; header (name), scheme (put
               before the secret), separator (the first item of a list value). The secret is
               sent in that header and never returned. Without one, a runtime whose auth is on
               is skipped with a note.
  base_url     where the API is mounted: files, flags, env as in credential (first found)
  note         str
notes          str
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

try:
    from ansible.module_utils.six import string_types
except ImportError:  # pragma: no cover - outside Ansible
    string_types = (str,)

SCHEMA_VERSION = 1

CATEGORIES = ("llm_server", "llm_ui", "image_ui", "inference_server", "distributed", "notebook",
              "ml_platform", "app_framework", "vector_db")

# --------------------------------------------------------------------------------------------
# The catalog. Facts come from ../shared/reference/runtime-facts.md (ports, flags, env vars).
# --------------------------------------------------------------------------------------------
# Where Jupyter Server (jpserver-<pid>.json) and Notebook < 7 (nbserver-<pid>.json) record the
# token and base URL they resolved (jupyter_core's jupyter_runtime_dir(): $JUPYTER_RUNTIME_DIR, else
# $JUPYTER_DATA_DIR/runtime, else $XDG_DATA_HOME/jupyter/runtime, else ~/.local/share/jupyter/runtime).
_JUPYTER_RUNTIME_DIRS = ("$JUPYTER_RUNTIME_DIR", "$JUPYTER_DATA_DIR/runtime", "$XDG_DATA_HOME/jupyter/runtime",
                         "~/.local/share/jupyter/runtime")


def _jupyter_runtime_files(key):
    return [{"path": "%s/%s-{pid}.json" % (directory, prefix), "key": key}
            for directory in _JUPYTER_RUNTIME_DIRS for prefix in ("jpserver", "nbserver")]


# A file written through the contents API and deleted again. Jupyter moves deleted files to its
# user's trash when FileContentsManager.delete_to_trash is on (the default), so say what it is.
_JUPYTER_CHECK_FILE = "aihost.hardening health check: written and deleted through the contents API, safe to delete\n"
# tornado's XSRF check compares the _xsrf cookie with the X-XSRFToken header; token-authenticated
# requests skip it, a server without authentication does not.
_JUPYTER_XSRF = {"Cookie": "_xsrf={nonce}", "X-XSRFToken": "{nonce}"}

CATALOG = {
    "ollama": {
        "display_name": "Ollama",
        "category": "llm_server",
        "match": {
            "processes": [{"comm": ["ollama", "ollama_llama_server"]}, {"argv": ["ollama", "ollama_llama_server"]}],
            "units": ["ollama.service"],
            "images": ["ollama/ollama"],
            "binaries": ["ollama"],
        },
        "default_ports": [11434],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "env", "name": "OLLAMA_HOST", "loopback_value": "127.0.0.1:{port}",
                      "action": "set",
                      # Ollama adds OLLAMA_ORIGINS (comma-separated) to its own list, which already
                      # allows http(s)://localhost, 127.0.0.1 and 0.0.0.0 on any port (envconfig).
                      "auth_fixes": [{"kind": "env", "name": "OLLAMA_ORIGINS", "match": r"\*", "action": "set",
                                      "value_from": "ollama_origins",
                                      "reason": "a wildcard origin lets any web page drive the API"}],
                      "note": "The official Docker image sets OLLAMA_HOST=0.0.0.0:11434; publish on 127.0.0.1 instead."},
        "auth": {"default": False, "builtin": "none: the local REST API has no authentication", "rules": []},
        "version": {"command": ["ollama", "--version"]},
        "data_paths": ["$OLLAMA_MODELS", "/usr/share/ollama/.ollama/models", "~/.ollama/models"],
        "risky_flags": [
            {"env": "OLLAMA_ORIGINS", "value": r"\*", "reason": "CORS allows any web origin to drive the API"},
            {"env": "OLLAMA_DEBUG_LOG_REQUESTS", "value": r"^(1|true|yes)$",
             "reason": "logs full request bodies (prompts) to a temporary directory"},
        ],
        "sandbox_profile": "jit",
        # GET /api/tags lists the local models: it reads every manifest under OLLAMA_MODELS.
        "health": {"steps": [{"method": "GET", "path": "/api/tags",
                              "expect": {"status": [200], "json_keys": ["models"]}}]},
    },
    "vllm": {
        "display_name": "vLLM",
        "category": "llm_server",
        "match": {
            "processes": [{"argv": ["vllm"]}, {"cmdline": r"\bvllm\.entrypoints\b"}],
            "images": ["vllm/vllm-openai"],
            "pip": ["vllm"],
        },
        "default_ports": [8000],
        "default_bind": "0.0.0.0",
        "bind_knob": {"kind": "flag", "name": "--host", "loopback_value": "127.0.0.1", "action": "set",
                      "note": "Without --host vLLM binds every interface; --uds serves on a UNIX socket instead.",
                      "auth_fixes": [{"kind": "flag", "name": "--api-key", "match": ".", "action": "move",
                                      "move_to_env": "VLLM_API_KEY",
                                      "reason": "a key on the command line is shown to every local user by ps "
                                                "and systemctl show"}]},
        "auth": {"default": False, "builtin": "--api-key / VLLM_API_KEY, off by default; it covers only /v1, /v2 and /inference",
                 "rules": [
                     {"flag": "--api-key", "when": "set", "enabled": True, "note": "partial: /invocations, /tokenize, /metrics stay open"},
                     {"env": "VLLM_API_KEY", "when": "set", "enabled": True, "note": "partial: /invocations, /tokenize, /metrics stay open"},
                 ]},
        "version": {"pip": ["vllm"], "command": ["vllm", "--version"]},
        "data_paths": ["$HF_HOME", "~/.cache/huggingface"],
        "risky_flags": [
            {"flag": "--trust-remote-code", "reason": "executes Python code shipped with the model repository"},
            {"env": "VLLM_SERVER_DEV_MODE", "value": r"^1$", "reason": "adds unauthenticated /collective_rpc, /sleep and /reset_* endpoints"},
            {"flag": "--tool-server", "value": r"demo", "reason": "the demo tool server runs model-written code without network isolation"},
        ],
        "sandbox_profile": "jit",
    },
    "llama_cpp": {
        "display_name": "llama.cpp server",
        "category": "llm_server",
        "match": {
            "processes": [{"argv": ["llama-server", "rpc-server"]}, {"cmdline": r"(^|/)llama serve\b"},
                          {"cmdline": r"\bllama_cpp\.server\b"}],
            "images": ["ghcr.io/ggml-org/llama.cpp", "ghcr.io/ggerganov/llama.cpp"],
            "pip": ["llama-cpp-python"],
            "binaries": ["llama-server", "rpc-server"],
        },
        "default_ports": [8080, 9931, 50052],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "flag", "name": "--host", "loopback_value": "127.0.0.1", "action": "set",
                      "alternatives": ["LLAMA_ARG_HOST"],
                      "note": "rpc-server (port 50052) has no authentication at all: keep it on loopback or a private link."},
        "auth": {"default": False, "builtin": "--api-key / LLAMA_API_KEY / --api-key-file, off by default",
                 "rules": [
                     {"flag": "--api-key", "when": "set", "enabled": True},
                     {"flag": "--api-key-file", "when": "set", "enabled": True},
                     {"env": "LLAMA_API_KEY", "when": "set", "enabled": True},
                     {"env": "LLAMA_ARG_API_KEY_FILE", "when": "set", "enabled": True},
                 ]},
        "version": {"pip": ["llama-cpp-python"], "command": ["llama-server", "--version"]},
        "data_paths": ["~/.cache/llama.cpp", "$LLAMA_CACHE"],
        "data_flags": ["--model", "-m", "--slot-save-path"],
        "risky_flags": [
            {"flag": "--tools", "reason": "lets the model read/write files and run shell commands"},
            {"flag": "--agent", "reason": "agent mode runs tools chosen by the model"},
            {"flag": "--mcp-servers-config", "reason": "spawns MCP server child processes"},
            {"flag": "--mcp-servers-json", "reason": "spawns MCP server child processes"},
            {"flag": "--ui-mcp-proxy", "reason": "proxies browser requests to MCP servers"},
            {"flag": "--props", "reason": "allows changing server settings through POST /props"},
        ],
        "sandbox_profile": "jit",
        # llama-server's native completion endpoint: one token proves the model is loaded and runs.
        # 503 means "Loading model"; rpc-server and llama-cpp-python's server do not serve it.
        "health": {
            "processes": [{"argv": ["llama-server"]}],
            "credential": {"flags": ["--api-key"], "env": ["LLAMA_API_KEY"], "header": "Authorization",
                           "scheme": "Bearer", "separator": ","},
            "base_url": {"flags": ["--api-prefix"], "env": ["LLAMA_ARG_API_PREFIX"]},
            "steps": [{"method": "POST", "path": "/completion", "body": {"prompt": "hi", "n_predict": 1},
                       "writes": False, "expect": {"status": [200], "json_keys": ["content"]},
                       "retry_status": [503], "timeout": 60}],
        },
    },
    "localai": {
        "display_name": "LocalAI",
        "category": "llm_server",
        "match": {
            "processes": [{"argv": ["local-ai", "localai"]}, {"comm": ["local-ai"]}],
            "units": ["local-ai.service", "localai.service"],
            "images": ["localai/localai", "quay.io/go-skynet/local-ai"],
            "binaries": ["local-ai"],
        },
        "default_ports": [8080],
        "default_bind": "0.0.0.0",
        "bind_knob": {"kind": "env", "name": "LOCALAI_ADDRESS", "loopback_value": "127.0.0.1:{port}", "action": "set",
                      "alternatives": ["ADDRESS", "--address"]},
        "auth": {"default": False, "builtin": "API keys (LOCALAI_API_KEY/API_KEY) or the user system (LOCALAI_AUTH=true); open when neither is configured",
                 "rules": [
                     {"env": "LOCALAI_API_KEY", "when": "set", "enabled": True},
                     {"env": "API_KEY", "when": "set", "enabled": True},
                     {"flag": "--api-keys", "when": "set", "enabled": True},
                     {"env": "LOCALAI_AUTH", "when": "equals", "value": ["true", "1"], "enabled": True},
                 ]},
        "version": {"command": ["local-ai", "--version"]},
        "data_paths": ["$LOCALAI_MODELS_PATH", "$MODELS_PATH", "/var/lib/local-ai/models", "models"],
        "risky_flags": [
            {"env": "LOCALAI_P2P", "value": r"^(1|true)$", "reason": "joins a peer-to-peer network of workers"},
            {"env": "LOCALAI_DISABLE_API_KEY_REQUIREMENT_FOR_HTTP_GET", "value": r"^(1|true)$",
             "reason": "GET requests work without an API key"},
        ],
        "sandbox_profile": "jit",
    },
    "text_generation_webui": {
        "display_name": "text-generation-webui",
        "category": "llm_ui",
        "match": {
            "processes": [{"cmdline": r"text-generation-webui[^ ]*/(server|one_click)\.py"},
                          {"cmdline": r"(^|[ /])(server|one_click)\.py( |$)", "cwd": r"text-generation-webui"}],
        },
        "default_ports": [7860, 5000],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "flag", "name": "--listen", "loopback_value": None, "action": "remove",
                      "alternatives": ["--listen-host"],
                      "note": "Drop --listen and --listen-host (also from CMD_FLAGS.txt) to serve on loopback."},
        "auth": {"default": False, "builtin": "--gradio-auth for the UI, --api-key for the API; off by default",
                 "rules": [
                     {"flag": "--gradio-auth", "when": "set", "enabled": True},
                     {"flag": "--gradio-auth-path", "when": "set", "enabled": True},
                     {"flag": "--api-key", "when": "set", "enabled": True},
                 ]},
        "version": {},
        "data_paths": ["user_data", "models"],
        "data_flags": ["--model-dir"],
        "risky_flags": [
            {"flag": "--share", "reason": "opens a public Gradio share tunnel"},
            {"flag": "--public-api", "reason": "opens a public Cloudflare tunnel to the API"},
            {"flag": "--listen", "unless_auth": True, "reason": "serves every interface without authentication"},
            {"flag": "--trust-remote-code", "reason": "executes Python code shipped with the model repository"},
        ],
        "sandbox_profile": "jit",
    },
    "comfyui": {
        "display_name": "ComfyUI",
        "category": "image_ui",
        "match": {
            "processes": [{"cmdline": r"(?i)comfyui[^ ]*/main\.py"},
                          {"cmdline": r"(^|[ /])main\.py( |$)", "cwd": r"(?i)comfyui"},
                          {"argv": ["comfy"], "cmdline": r"\blaunch\b"}],
            "units": ["comfyui.service"],
            "pip": ["comfy-cli"],
        },
        "default_ports": [8188],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "flag", "name": "--listen", "loopback_value": None, "action": "remove",
                      "note": "A bare --listen binds 0.0.0.0 and ::; drop it to serve on loopback."},
        "auth": {"default": False, "builtin": "none: anyone who reaches the port is trusted (--multi-user is not authentication)",
                 "rules": []},
        "version": {"file": {"path": "comfyui_version.py", "regex": r"__version__\s*=\s*[\"']([^\"']+)"}},
        "data_paths": ["models", "custom_nodes", "input", "output", "user"],
        "risky_flags": [
            {"flag": "--listen", "reason": "serves the network and ComfyUI has no authentication"},
            {"flag": "--enable-cors-header", "reason": "allows cross-origin requests from web pages"},
        ],
        "sandbox_profile": "jit",
    },
    "open_webui": {
        "display_name": "Open WebUI",
        "category": "llm_ui",
        "match": {
            "processes": [{"argv": ["open-webui"]}, {"cmdline": r"\bopen_webui\.main:app\b"}],
            "units": ["open-webui.service"],
            "images": ["ghcr.io/open-webui/open-webui"],
            "pip": ["open-webui"],
        },
        "default_ports": [8080],
        "default_bind": "0.0.0.0",
        "bind_knob": {"kind": "flag", "name": "--host", "loopback_value": "127.0.0.1", "action": "set",
                      "note": "open-webui serve --host 127.0.0.1; in Docker publish -p 127.0.0.1:3000:8080."},
        "auth": {"default": True, "builtin": "user accounts; a fresh install lets the first visitor create the admin account",
                 "rules": [{"env": "WEBUI_AUTH", "when": "equals", "value": ["false", "0", "no"], "enabled": False}]},
        "version": {"pip": ["open-webui"]},
        "data_paths": ["$DATA_DIR", "/app/backend/data"],
        "risky_flags": [
            {"env": "ENABLE_SIGNUP", "value": r"(?i)^true$", "reason": "anyone who reaches the UI can create an account"},
        ],
        "sandbox_profile": "default",
    },
    "lm_studio": {
        "display_name": "LM Studio",
        "category": "llm_server",
        "match": {
            "processes": [{"argv": ["lms", "llmster", "lm-studio", "LM Studio", "LM-Studio"]},
                          {"comm": ["llmster", "lm-studio", "LM Studio"]}],
            "units": ["lmstudio.service", "lm-studio.service"],
        },
        "default_ports": [1234],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "flag", "name": "--bind", "loopback_value": "127.0.0.1", "action": "set",
                      "note": "lms server start --bind 127.0.0.1; in the app turn off 'Serve on Local Network'."},
        "auth": {"default": False, "builtin": "API tokens ('Require Authentication', LM Studio >= 0.4.0), off by default",
                 "rules": []},
        "version": {"command": ["lms", "version"]},
        "data_paths": ["~/.lmstudio/models", "~/.cache/lm-studio/models"],
        "risky_flags": [{"flag": "--cors", "reason": "allows cross-origin requests from web pages"}],
        "sandbox_profile": "jit",
    },
    "jan": {
        "display_name": "Jan",
        "category": "llm_ui",
        "match": {
            "processes": [{"argv": ["jan", "Jan", "cortex-server"]}, {"comm": ["jan", "Jan", "cortex-server"]}],
        },
        "default_ports": [1337, 39281],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "config", "name": "Local API Server > Server Host", "loopback_value": "127.0.0.1",
                      "action": "set"},
        "auth": {"default": True, "builtin": "current Jan requires an API key before the local server starts", "rules": []},
        "version": {},
        "data_paths": ["~/jan", "~/.config/Jan", "~/.local/share/Jan"],
        "risky_flags": [],
        "sandbox_profile": "jit",
    },
    "koboldcpp": {
        "display_name": "KoboldCpp",
        "category": "llm_server",
        "match": {
            "processes": [{"cmdline": r"(?i)(^|/)koboldcpp[^/ ]*( |$)"}],
            "images": ["koboldai/koboldcpp"],
            "binaries": ["koboldcpp"],
        },
        "default_ports": [5001],
        "default_bind": "0.0.0.0",
        "bind_knob": {"kind": "flag", "name": "--host", "loopback_value": "127.0.0.1", "action": "set"},
        "auth": {"default": False, "builtin": "--password protects text endpoints only; image endpoints stay open",
                 "rules": [{"flag": "--password", "when": "set", "enabled": True, "note": "partial: image endpoints are not covered"}]},
        "version": {},
        "data_paths": [],
        "data_flags": ["--model"],
        "risky_flags": [{"flag": "--remotetunnel", "reason": "opens a public Cloudflare tunnel"}],
        "sandbox_profile": "jit",
    },
    "tgi": {
        "display_name": "Hugging Face TGI",
        "category": "inference_server",
        "match": {
            "processes": [{"argv": ["text-generation-launcher", "text-generation-router", "text-generation-server"]}],
            "images": ["ghcr.io/huggingface/text-generation-inference"],
            "binaries": ["text-generation-launcher"],
        },
        "default_ports": [3000, 9000],
        "default_bind": "0.0.0.0",
        "bind_knob": {"kind": "env", "name": "HOSTNAME", "loopback_value": "127.0.0.1", "action": "set",
                      "alternatives": ["--hostname"],
                      "note": "The bind variable is literally HOSTNAME, which shells and containers often set to the host name."},
        "auth": {"default": False, "builtin": "--api-key / API_KEY, off by default",
                 "rules": [{"flag": "--api-key", "when": "set", "enabled": True},
                           {"env": "API_KEY", "when": "set", "enabled": True}]},
        "version": {"command": ["text-generation-launcher", "--version"]},
        "data_paths": ["$HF_HOME", "/data", "~/.cache/huggingface"],
        "risky_flags": [{"flag": "--trust-remote-code", "reason": "executes Python code shipped with the model repository"}],
        "sandbox_profile": "jit",
    },
    "sglang": {
        "display_name": "SGLang",
        "category": "llm_server",
        "match": {
            "processes": [{"cmdline": r"\bsglang\.launch_server\b"}, {"cmdline": r"(^|/)sglang serve\b"}],
            "images": ["lmsysorg/sglang"],
            "pip": ["sglang"],
        },
        "default_ports": [30000],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "flag", "name": "--host", "loopback_value": "127.0.0.1", "action": "set",
                      "note": "Official examples pass --host 0.0.0.0; the ZMQ scheduler binds --host too."},
        "auth": {"default": False, "builtin": "--api-key, off by default",
                 "rules": [{"flag": "--api-key", "when": "set", "enabled": True},
                           {"flag": "--admin-api-key", "when": "set", "enabled": True}]},
        "version": {"pip": ["sglang"]},
        "data_paths": ["$HF_HOME", "~/.cache/huggingface"],
        "risky_flags": [
            {"flag": "--enable-custom-logit-processor", "reason": "deserialises client-supplied code (dill)"},
            {"flag": "--trust-remote-code", "reason": "executes Python code shipped with the model repository"},
        ],
        "sandbox_profile": "jit",
    },
    "triton": {
        "display_name": "NVIDIA Triton Inference Server",
        "category": "inference_server",
        "match": {
            "processes": [{"argv": ["tritonserver"]}, {"comm": ["tritonserver"]}],
            "images": ["nvcr.io/nvidia/tritonserver"],
            "binaries": ["tritonserver", "/opt/tritonserver/bin/tritonserver"],
        },
        "default_ports": [8000, 8001, 8002],
        "default_bind": "0.0.0.0",
        "bind_knob": {"kind": "flag", "name": "--http-address", "loopback_value": "127.0.0.1", "action": "set",
                      "alternatives": ["--grpc-address", "--metrics-address"]},
        "auth": {"default": False, "builtin": "none; --http-restricted-api / --grpc-restricted-protocol require a header for API groups",
                 "rules": [{"flag": "--http-restricted-api", "when": "set", "enabled": True, "note": "header key restriction, not user authentication"},
                           {"flag": "--grpc-restricted-protocol", "when": "set", "enabled": True, "note": "header key restriction, not user authentication"}]},
        "version": {"command": ["tritonserver", "--version"]},
        "data_paths": [],
        "data_flags": ["--model-repository", "--model-store"],
        "risky_flags": [{"flag": "--model-control-mode", "value": r"^explicit$", "reason": "clients can load and unload models through the API"}],
        "sandbox_profile": "jit",
    },
    "torchserve": {
        "display_name": "TorchServe",
        "category": "inference_server",
        "match": {
            "processes": [{"argv": ["torchserve"]}, {"cmdline": r"\borg\.pytorch\.serve\.ModelServer\b"}],
            "images": ["pytorch/torchserve"],
            "pip": ["torchserve"],
        },
        "default_ports": [8080, 8081, 8082, 7070, 7071],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "config", "name": "inference_address", "loopback_value": "http://127.0.0.1:{port}", "action": "set",
                      "alternatives": ["management_address", "metrics_address", "grpc_inference_address", "grpc_management_address"],
                      "note": "Keys of config.properties (--ts-config); the Docker image's config binds 0.0.0.0. TorchServe is unmaintained."},
        "auth": {"default": True, "builtin": "token authorization on by default (key_file.json in the working directory)",
                 "rules": [{"flag": "--disable-token-auth", "when": "present", "enabled": False},
                           {"env": "TS_DISABLE_TOKEN_AUTHORIZATION", "when": "equals", "value": ["true"], "enabled": False}]},
        "version": {"pip": ["torchserve"]},
        "data_paths": [],
        "data_flags": ["--model-store"],
        "risky_flags": [
            {"flag": "--disable-token-auth", "reason": "turns token authorization off"},
            {"flag": "--enable-model-api", "reason": "clients can register models from URLs (arbitrary code in .mar files)"},
        ],
        "sandbox_profile": "jit",
    },
    "ray": {
        "display_name": "Ray",
        "category": "distributed",
        "match": {
            "processes": [{"argv": ["raylet", "gcs_server"]}, {"comm": ["raylet", "gcs_server"]},
                          {"cmdline": r"ray/dashboard/dashboard\.py"}, {"cmdline": r"(^|/)ray start\b"},
                          {"cmdline": r"^ray::"}],
            "images": ["rayproject/ray"],
            "pip": ["ray"],
        },
        "default_ports": [6379, 8265, 10001, 52365],
        "default_bind": "mixed: dashboard 127.0.0.1, GCS/client server on the node IP or all interfaces",
        # Measured with Ray 2.60: --dashboard-host moves the dashboard (its job API runs any command);
        # the GCS, raylet and agents keep 0.0.0.0 or the node address whatever the flags say.
        "bind_knob": {"kind": "flag", "name": "--dashboard-host", "loopback_value": "127.0.0.1", "action": "set",
                      "alternatives": [], "ports": [8265],
                      # The address the other nodes of the cluster reach this one at: 127.0.0.1
                      # there cuts a multi-node head off its workers.
                      "read_only": ["--node-ip-address"],
                      "note": "Only the dashboard (8265) moves to loopback; the GCS (6379), raylet and agents "
                              "listen on every interface whatever the flags say: the firewall must keep them closed."},
        "auth": {"default": False, "builtin": "token auth since 2.52 (RAY_AUTH_MODE=token), off by default before 2.59",
                 "rules": [{"env": "RAY_AUTH_MODE", "when": "equals", "value": ["token"], "enabled": True}]},
        "version": {"pip": ["ray"], "command": ["ray", "--version"]},
        "data_paths": ["/tmp/ray"],
        "risky_flags": [{"flag": "--dashboard-host", "value": r"^(0\.0\.0\.0|::)$",
                         "reason": "the dashboard's job API runs arbitrary commands for anyone who reaches it"}],
        "sandbox_profile": "jit",
    },
    "jupyter": {
        "display_name": "Jupyter",
        "category": "notebook",
        "match": {
            "processes": [{"argv": ["jupyter-lab", "jupyter-notebook", "jupyter-server", "jupyterhub",
                                    "jupyterlab", "notebook", "jupyter_server"]},
                          {"argv": ["jupyter"], "cmdline": r"\bjupyter[ -](lab|notebook|server)\b"}],
            "units": ["jupyter.service", "jupyterlab.service", "jupyterhub.service"],
            "pip": ["jupyter-server", "notebook", "jupyterlab"],
            "dpkg": ["jupyter-notebook", "python3-notebook", "python3-jupyter-server"],
            "binaries": ["jupyter-lab", "jupyter-server", "jupyter-notebook"],
        },
        "default_ports": [8888],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "flag", "name": "--ip", "loopback_value": "127.0.0.1", "action": "set",
                      "alternatives": ["c.ServerApp.ip", "c.NotebookApp.ip"],
                      # Jupyter Server 2 reads the token from $JUPYTER_TOKEN_FILE (auth/identity.py).
                      "auth_fixes": [
                          {"kind": "flag", "name": "--ServerApp.token",
                           "alternatives": ["--NotebookApp.token", "--IdentityProvider.token"],
                           "match": "^$", "action": "remove", "token_env": "JUPYTER_TOKEN_FILE",
                           "reason": "an empty token turns authentication off"},
                          {"kind": "flag", "name": "--ServerApp.password",
                           "alternatives": ["--NotebookApp.password", "--PasswordIdentityProvider.hashed_password"],
                           "match": "^$", "action": "remove",
                           "reason": "an empty password is no password"},
                      ]},
        "auth": {"default": True, "builtin": "token authentication on by default",
                 "rules": [
                     {"flag": "--ServerApp.password", "when": "set", "enabled": True},
                     {"flag": "--PasswordIdentityProvider.hashed_password", "when": "set", "enabled": True},
                     {"flag": "--IdentityProvider.token", "when": "empty", "enabled": False},
                     {"flag": "--ServerApp.token", "when": "empty", "enabled": False},
                     {"flag": "--NotebookApp.token", "when": "empty", "enabled": False},
                     {"env": "JUPYTER_TOKEN", "when": "set", "enabled": True},
                     {"file": "~/.jupyter/jupyter_server_config.py",
                      "regex": r"(?m)^\s*c\.(ServerApp|IdentityProvider)\.token\s*=\s*(''|\"\")\s*$", "enabled": False},
                     {"file": "~/.jupyter/jupyter_notebook_config.py",
                      "regex": r"(?m)^\s*c\.NotebookApp\.token\s*=\s*(''|\"\")\s*$", "enabled": False},
                 ]},
        "version": {"pip": ["jupyter-server", "notebook"], "command": ["jupyter", "--version"]},
        "data_paths": ["~/.jupyter", "~/.local/share/jupyter"],
        "data_flags": ["--notebook-dir", "--ServerApp.root_dir"],
        "risky_flags": [
            {"flag": "--allow-root", "root_only": True, "reason": "notebooks run arbitrary code as root"},
            {"flag": "--ServerApp.allow_origin", "value": r"^\*$", "reason": "allows cross-origin requests from any web page"},
            {"flag": "--ServerApp.disable_check_xsrf", "value": r"(?i)^true$", "reason": "turns off XSRF protection"},
        ],
        "sandbox_profile": "jit",
        # Save a text file in the root directory through the contents API, then delete it.
        "health": {
            "credential": {"files": _jupyter_runtime_files("token"),
                           "flags": ["--IdentityProvider.token", "--ServerApp.token", "--NotebookApp.token"],
                           "env": ["JUPYTER_TOKEN"], "header": "Authorization", "scheme": "token"},
            "base_url": {"files": _jupyter_runtime_files("base_url"),
                         "flags": ["--ServerApp.base_url", "--NotebookApp.base_url"]},
            "steps": [{"method": "PUT", "path": "/api/contents/{name}.txt", "headers": _JUPYTER_XSRF,
                       "body": {"type": "file", "format": "text", "content": _JUPYTER_CHECK_FILE},
                       "expect": {"status": [200, 201], "json_keys": ["path"]},
                       "cleanup": {"method": "DELETE", "path": "/api/contents/{name}.txt", "headers": _JUPYTER_XSRF,
                                   "expect": {"status": [204]}}}],
            "note": "Jupyter keeps deleted files in its user's trash while FileContentsManager.delete_to_trash is on.",
        },
    },
    "a1111": {
        "display_name": "AUTOMATIC1111 stable-diffusion-webui",
        "category": "image_ui",
        "match": {
            "processes": [{"cmdline": r"stable-diffusion-webui[^ ]*/(webui|launch)\.py"},
                          {"cmdline": r"(^|[ /])(webui|launch)\.py( |$)", "cwd": r"stable-diffusion-webui"}],
        },
        "default_ports": [7860],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "flag", "name": "--listen", "loopback_value": None, "action": "remove",
                      "alternatives": ["--server-name"],
                      "note": "Set in COMMANDLINE_ARGS (webui-user.sh)."},
        "auth": {"default": False, "builtin": "--gradio-auth (UI) and --api-auth (API), off by default",
                 "rules": [{"flag": "--gradio-auth", "when": "set", "enabled": True},
                           {"flag": "--gradio-auth-path", "when": "set", "enabled": True},
                           {"flag": "--api-auth", "when": "set", "enabled": True}]},
        "version": {},
        "data_paths": ["models", "extensions", "outputs"],
        "data_flags": ["--ckpt-dir", "--data-dir"],
        "risky_flags": [
            {"flag": "--share", "reason": "opens a public Gradio share tunnel"},
            {"flag": "--ngrok", "reason": "opens a public ngrok tunnel"},
            {"flag": "--listen", "unless_auth": True, "reason": "serves every interface without authentication"},
            {"flag": "--enable-insecure-extension-access", "reason": "lets the UI install extensions (arbitrary code)"},
            {"flag": "--allow-code", "reason": "runs custom Python scripts submitted through the UI"},
            {"flag": "--disable-safe-unpickle", "reason": "turns off the pickle check on model files"},
            {"flag": "--add-stop-route", "reason": "lets clients stop the server"},
        ],
        "sandbox_profile": "jit",
    },
    "invokeai": {
        "display_name": "InvokeAI",
        "category": "image_ui",
        "match": {
            "processes": [{"argv": ["invokeai-web", "invokeai"]}, {"cmdline": r"\binvokeai\.app\.run_app\b"}],
            "images": ["ghcr.io/invoke-ai/invokeai"],
            "pip": ["invokeai"],
        },
        "default_ports": [9090],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "config", "name": "host", "loopback_value": "127.0.0.1", "action": "set",
                      "alternatives": ["--host", "INVOKEAI_HOST"],
                      "note": "Key of invokeai.yaml in the InvokeAI root (INVOKEAI_ROOT, default ~/invokeai)."},
        "auth": {"default": False, "builtin": "none by default (multi-user configuration in recent releases)", "rules": []},
        "version": {"pip": ["invokeai"]},
        "data_paths": ["$INVOKEAI_ROOT", "~/invokeai"],
        "risky_flags": [],
        "sandbox_profile": "jit",
    },
    "mlflow": {
        "display_name": "MLflow",
        "category": "ml_platform",
        "match": {
            "processes": [{"argv": ["mlflow"], "cmdline": r"\bmlflow (server|ui)\b"},
                          {"cmdline": r"\bmlflow\.server[:.]"}],
            "units": ["mlflow.service"],
            "images": ["ghcr.io/mlflow/mlflow"],
            "pip": ["mlflow"],
        },
        "default_ports": [5000],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "flag", "name": "--host", "loopback_value": "127.0.0.1", "action": "set"},
        "auth": {"default": False, "builtin": "optional basic auth (--app-name basic-auth; first start creates admin/password1234)",
                 "rules": [{"flag": "--app-name", "when": "equals", "value": ["basic-auth"], "enabled": True}]},
        "version": {"pip": ["mlflow", "mlflow-skinny"], "command": ["mlflow", "--version"]},
        "data_paths": ["mlruns", "mlartifacts", "mlflow.db"],
        "data_flags": ["--backend-store-uri", "--default-artifact-root", "--artifacts-destination"],
        "risky_flags": [{"flag": "--allowed-hosts", "value": r"^\*$", "reason": "turns off the Host-header (DNS rebinding) protection"}],
        "sandbox_profile": "default",
        # Create an experiment in the backend store, then delete it: a read-only store answers 503.
        "health": {
            "steps": [{"method": "POST", "path": "/api/2.0/mlflow/experiments/create", "body": {"name": "{name}"},
                       "expect": {"status": [200], "json_keys": ["experiment_id"]},
                       "save": {"experiment_id": "experiment_id"},
                       "cleanup": {"method": "POST", "path": "/api/2.0/mlflow/experiments/delete",
                                   "body": {"experiment_id": "{experiment_id}"}, "expect": {"status": [200]}}}],
            "note": "MLflow deletes experiments softly: the deleted experiment stays in the store until `mlflow gc`.",
        },
    },
    "qdrant": {
        "display_name": "Qdrant",
        "category": "vector_db",
        "match": {
            "processes": [{"argv": ["qdrant"]}, {"comm": ["qdrant"]}],
            "units": ["qdrant.service"],
            "images": ["qdrant/qdrant"],
            "dpkg": ["qdrant"],
            "binaries": ["qdrant"],
        },
        "default_ports": [6333, 6334, 6335],
        "default_bind": "0.0.0.0",
        "bind_knob": {"kind": "env", "name": "QDRANT__SERVICE__HOST", "loopback_value": "127.0.0.1", "action": "set",
                      "alternatives": ["service.host (config/config.yaml)"]},
        "auth": {"default": False, "builtin": "service.api_key / QDRANT__SERVICE__API_KEY, off by default",
                 "rules": [{"env": "QDRANT__SERVICE__API_KEY", "when": "set", "enabled": True},
                           {"env": "QDRANT__SERVICE__READ_ONLY_API_KEY", "when": "set", "enabled": True}]},
        "version": {"dpkg": ["qdrant"], "command": ["qdrant", "--version"]},
        "data_paths": ["$QDRANT__STORAGE__STORAGE_PATH", "storage", "/qdrant/storage", "/var/lib/qdrant"],
        "risky_flags": [],
        "sandbox_profile": "default",
    },
    "chromadb": {
        "display_name": "Chroma",
        "category": "vector_db",
        "match": {
            "processes": [{"argv": ["chroma"], "cmdline": r"\bchroma run\b"}, {"cmdline": r"\bchromadb\.app:app\b"}],
            "images": ["chromadb/chroma", "ghcr.io/chroma-core/chroma"],
            "pip": ["chromadb"],
        },
        "default_ports": [8000],
        "default_bind": "127.0.0.1 (chroma run); 0.0.0.0 in the container image",
        "bind_knob": {"kind": "flag", "name": "--host", "loopback_value": "127.0.0.1", "action": "set",
                      "alternatives": ["CHROMA_LISTEN_ADDRESS"]},
        "auth": {"default": False, "builtin": "auth providers (CHROMA_SERVER_AUTHN_PROVIDER), off by default",
                 "rules": [{"env": "CHROMA_SERVER_AUTHN_PROVIDER", "when": "set", "enabled": True},
                           {"env": "CHROMA_SERVER_AUTH_PROVIDER", "when": "set", "enabled": True}]},
        "version": {"pip": ["chromadb"]},
        "data_paths": ["$CHROMA_PERSIST_PATH", "chroma", "/data", "/chroma/chroma"],
        "data_flags": ["--path"],
        "risky_flags": [],
        "sandbox_profile": "default",
    },
    "milvus": {
        "display_name": "Milvus",
        "category": "vector_db",
        "match": {
            "processes": [{"argv": ["milvus"], "cmdline": r"\bmilvus run\b"}, {"comm": ["milvus"]}],
            "units": ["milvus.service"],
            "images": ["milvusdb/milvus"],
            "dpkg": ["milvus"],
        },
        "default_ports": [19530, 9091],
        "default_bind": "0.0.0.0",
        "bind_knob": {"kind": "none", "name": None, "loopback_value": None, "action": "set",
                      "note": "No single bind switch: publish the container ports on 127.0.0.1 or firewall them."},
        "auth": {"default": False, "builtin": "common.security.authorizationEnabled in milvus.yaml, off by default (then root/Milvus)",
                 "rules": [{"env": "COMMON_SECURITY_AUTHORIZATIONENABLED", "when": "equals", "value": ["true"], "enabled": True}]},
        "version": {"dpkg": ["milvus"]},
        "data_paths": ["/var/lib/milvus"],
        "risky_flags": [],
        "sandbox_profile": "default",
    },
    "weaviate": {
        "display_name": "Weaviate",
        "category": "vector_db",
        "match": {
            "processes": [{"argv": ["weaviate"]}, {"comm": ["weaviate"]}],
            "images": ["cr.weaviate.io/semitechnologies/weaviate", "semitechnologies/weaviate"],
        },
        "default_ports": [8080, 50051],
        "default_bind": "0.0.0.0",
        "bind_knob": {"kind": "flag", "name": "--host", "loopback_value": "127.0.0.1", "action": "set"},
        "auth": {"default": False, "builtin": "anonymous access on by default (AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED)",
                 "rules": [{"env": "AUTHENTICATION_APIKEY_ENABLED", "when": "equals", "value": ["true"], "enabled": True},
                           {"env": "AUTHENTICATION_OIDC_ENABLED", "when": "equals", "value": ["true"], "enabled": True},
                           {"env": "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED", "when": "equals", "value": ["false"], "enabled": True},
                           {"env": "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED", "when": "equals", "value": ["true"], "enabled": False}]},
        "version": {},
        "data_paths": ["$PERSISTENCE_DATA_PATH", "/var/lib/weaviate"],
        "risky_flags": [],
        "sandbox_profile": "default",
    },
    "gradio": {
        "display_name": "Gradio app",
        "category": "app_framework",
        "generic": True,
        "match": {
            "processes": [{"argv": ["gradio"]}],
            "env": ["GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"],
            "port_fallback": True,
            "pip": ["gradio"],
        },
        "default_ports": [7860],
        "default_bind": "127.0.0.1",
        "bind_knob": {"kind": "env", "name": "GRADIO_SERVER_NAME", "loopback_value": "127.0.0.1", "action": "set",
                      "alternatives": ["launch(server_name=...)"]},
        "auth": {"default": False, "builtin": "launch(auth=...), none by default", "rules": []},
        "version": {"pip": ["gradio"]},
        "data_paths": [],
        "risky_flags": [
            {"env": "GRADIO_SHARE", "value": r"(?i)^(true|1)$", "reason": "opens a public Gradio share tunnel"},
            {"flag": "--share", "reason": "opens a public Gradio share tunnel"},
        ],
        "sandbox_profile": "default",
    },
}

# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
ENTRY_FIELDS = ("display_name", "category", "generic", "match", "default_ports", "default_bind",
                "bind_knob", "auth", "version", "data_paths", "data_flags", "risky_flags",
                "sandbox_profile", "health", "notes")
HEALTH_FIELDS = ("steps", "processes", "credential", "base_url", "note")
HEALTH_STEP_FIELDS = ("method", "path", "body", "headers", "expect", "save", "retry_status", "timeout",
                      "writes", "cleanup")
HEALTH_CLEANUP_FIELDS = ("method", "path", "body", "headers", "expect")
HEALTH_EXPECT_FIELDS = ("status", "json_keys")
HEALTH_SOURCE_FIELDS = ("files", "flags", "env")
HEALTH_CREDENTIAL_FIELDS = HEALTH_SOURCE_FIELDS + ("header", "scheme", "separator")
HEALTH_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
HEALTH_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Variables every check has: the name of the object it creates and a random value.
HEALTH_BUILTIN_VARIABLES = ("name", "nonce")
_HEALTH_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")
MATCH_FIELDS = ("processes", "env", "port_fallback", "units", "images", "pip", "dpkg", "binaries")
PROCESS_FIELDS = ("comm", "argv", "cmdline", "cwd")
BIND_KNOB_FIELDS = ("kind", "name", "loopback_value", "action", "alternatives", "read_only", "note", "ports",
                    "auth_fixes")
AUTH_FIX_FIELDS = ("kind", "name", "alternatives", "match", "action", "value_from", "token_env", "move_to_env",
                   "reason")
BIND_KINDS = ("env", "flag", "config", "none")
AUTH_FIELDS = ("default", "builtin", "rules")
AUTH_RULE_FIELDS = ("flag", "env", "file", "regex", "when", "value", "enabled", "note")
AUTH_WHEN = ("set", "empty", "equals", "present")
VERSION_FIELDS = ("pip", "dpkg", "file", "command")
RISKY_FIELDS = ("flag", "env", "value", "unless_auth", "root_only", "reason")
SANDBOX_PROFILES = ("default", "jit")
# lower_snake_case: a catalog runtime name (the roles check their variables' runtime names with it),
# and the name of a value a health step saves.
RUNTIME_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Defaults filled into every entry, so consumers never meet a missing key.
_DEFAULTS = {
    "category": "llm_server",
    "generic": False,
    "default_ports": [],
    "default_bind": None,
    "bind_knob": {"kind": "none", "name": None, "loopback_value": None, "action": "set",
                  "alternatives": [], "read_only": [], "note": None, "ports": None, "auth_fixes": []},
    "auth": {"default": None, "builtin": None, "rules": []},
    "version": {},
    "data_paths": [],
    "data_flags": [],
    "risky_flags": [],
    "sandbox_profile": "default",
    "health": None,
    "notes": None,
}


class CatalogError(ValueError):
    """A catalog entry is malformed; the message names the entry and the field."""


def _is_str_list(value):
    return isinstance(value, list) and all(isinstance(item, string_types) and item for item in value)


def _check_regex(where, pattern, errors):
    if not isinstance(pattern, string_types):
        errors.append("%s must be a regular expression string, got %r" % (where, pattern))
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        errors.append("%s is not a valid regular expression (%s): %r" % (where, exc, pattern))


def _unknown(where, data, allowed, errors):
    for key in sorted(data):
        if key not in allowed:
            errors.append("%s: unknown field '%s' (allowed: %s)" % (where, key, ", ".join(allowed)))


def _check_str_lists(where, data, keys, errors):
    for key in keys:
        if key in data and not _is_str_list(data[key]):
            errors.append("%s.%s must be a list of non-empty strings, got %r" % (where, key, data[key]))


def validate_entry(name, entry, partial=False):
    """Return a list of error strings for one catalog entry (empty when valid).

    ``partial`` entries override fields of an existing entry, so required fields may be absent.
    """
    errors = []
    where = "catalog entry '%s'" % name
    if not isinstance(name, string_types) or not RUNTIME_NAME.match(name):
        errors.append("catalog entry name %r must be lower_snake_case (letters, digits, _)" % (name,))
    if not isinstance(entry, dict):
        return errors + ["%s must be a dictionary, got %s" % (where, type(entry).__name__)]
    _unknown(where, entry, ENTRY_FIELDS, errors)
    if not partial:
        for required in ("display_name", "match"):
            if required not in entry:
                errors.append("%s: missing required field '%s'" % (where, required))
    if "display_name" in entry and not (isinstance(entry["display_name"], string_types) and entry["display_name"]):
        errors.append("%s.display_name must be a non-empty string" % where)
    if "category" in entry and entry["category"] not in CATEGORIES:
        errors.append("%s.category must be one of %s, got %r" % (where, ", ".join(CATEGORIES), entry["category"]))
    if "generic" in entry and not isinstance(entry["generic"], bool):
        errors.append("%s.generic must be true or false" % where)
    for key in ("default_bind", "notes"):
        if entry.get(key) is not None and not isinstance(entry[key], string_types):
            errors.append("%s.%s must be a string" % (where, key))
    _check_str_lists(where, entry, ("data_paths", "data_flags"), errors)
    if "default_ports" in entry:
        ports = entry["default_ports"]
        if not isinstance(ports, list) or not all(
                isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535 for port in ports):
            errors.append("%s.default_ports must be a list of ports 1-65535, got %r" % (where, ports))
    if "sandbox_profile" in entry and entry["sandbox_profile"] not in SANDBOX_PROFILES:
        errors.append("%s.sandbox_profile must be one of %s, got %r"
                      % (where, ", ".join(SANDBOX_PROFILES), entry["sandbox_profile"]))
    if "match" in entry:
        _validate_match(where + ".match", entry["match"], errors)
    if "bind_knob" in entry:
        _validate_bind_knob(where + ".bind_knob", entry["bind_knob"], errors, partial)
    if "auth" in entry:
        _validate_auth(where + ".auth", entry["auth"], errors)
    if "version" in entry:
        _validate_version(where + ".version", entry["version"], errors)
    if "risky_flags" in entry:
        _validate_risky(where + ".risky_flags", entry["risky_flags"], errors)
    if entry.get("health") is not None:
        _validate_health(where + ".health", entry["health"], errors)
    return errors


def _validate_match(where, match, errors):
    if not isinstance(match, dict):
        errors.append("%s must be a dictionary, got %r" % (where, match))
        return
    _unknown(where, match, MATCH_FIELDS, errors)
    if not any(match.get(key) for key in MATCH_FIELDS if key != "port_fallback"):
        errors.append("%s needs at least one of: processes, units, images, pip, dpkg, binaries, env" % where)
    _check_str_lists(where, match, ("env", "units", "images", "pip", "dpkg", "binaries"), errors)
    if "port_fallback" in match and not isinstance(match["port_fallback"], bool):
        errors.append("%s.port_fallback must be true or false" % where)
    processes = match.get("processes", [])
    if not isinstance(processes, list):
        errors.append("%s.processes must be a list of alternatives" % where)
        return
    for index, alternative in enumerate(processes):
        here = "%s.processes[%d]" % (where, index)
        if not isinstance(alternative, dict) or not alternative:
            errors.append("%s must be a non-empty dictionary of conditions" % here)
            continue
        _unknown(here, alternative, PROCESS_FIELDS, errors)
        _check_str_lists(here, alternative, ("comm", "argv"), errors)
        for key in ("cmdline", "cwd"):
            if key in alternative:
                _check_regex("%s.%s" % (here, key), alternative[key], errors)


def _validate_bind_knob(where, knob, errors, partial=False):
    if not isinstance(knob, dict):
        errors.append("%s must be a dictionary, got %r" % (where, knob))
        return
    _unknown(where, knob, BIND_KNOB_FIELDS, errors)
    if (not partial or "kind" in knob) and knob.get("kind") not in BIND_KINDS:
        errors.append("%s.kind must be one of %s, got %r" % (where, ", ".join(BIND_KINDS), knob.get("kind")))
    if knob.get("kind") not in (None, "none") and not (isinstance(knob.get("name"), string_types) and knob.get("name")):
        errors.append("%s.name is required when kind is %s" % (where, knob.get("kind")))
    if knob.get("action", "set") not in ("set", "remove"):
        errors.append("%s.action must be set or remove, got %r" % (where, knob.get("action")))
    for key in ("loopback_value", "note"):
        if knob.get(key) is not None and not isinstance(knob[key], string_types):
            errors.append("%s.%s must be a string" % (where, key))
    _check_str_lists(where, knob, ("alternatives", "read_only"), errors)
    if _is_str_list(knob.get("read_only") or []) and _is_str_list(knob.get("alternatives") or []):
        for name in sorted(set([knob.get("name")] + list(knob.get("alternatives") or [])) & set(knob.get("read_only") or [])):
            errors.append("%s: %s is read_only (only read, never rewritten), so it cannot also be the "
                          "name or an alternative" % (where, name))
    ports = knob.get("ports")
    if ports is not None and not (isinstance(ports, list) and ports and all(
            isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 for port in ports)):
        errors.append("%s.ports must be null or a non-empty list of ports 1-65535, got %r" % (where, ports))
    fixes = knob.get("auth_fixes")
    if fixes is not None and not isinstance(fixes, list):
        errors.append("%s.auth_fixes must be a list, got %r" % (where, fixes))
        fixes = []
    for index, fix in enumerate(fixes or []):
        here = "%s.auth_fixes[%d]" % (where, index)
        if not isinstance(fix, dict):
            errors.append("%s must be a dictionary, got %r" % (here, fix))
            continue
        _unknown(here, fix, AUTH_FIX_FIELDS, errors)
        if fix.get("kind") not in ("env", "flag"):
            errors.append("%s.kind must be env or flag, got %r" % (here, fix.get("kind")))
        if not (isinstance(fix.get("name"), string_types) and fix.get("name")):
            errors.append("%s.name is required" % here)
        wanted_actions = ("remove", "move") if fix.get("kind") == "flag" else ("set",)
        if fix.get("action", wanted_actions[0]) not in wanted_actions:
            errors.append("%s.action must be %s for kind %s" % (here, " or ".join(wanted_actions), fix.get("kind")))
        if (fix.get("action") == "move") != (fix.get("move_to_env") is not None):
            errors.append("%s: action move and move_to_env go together" % here)
        if fix.get("move_to_env") is not None and not _ENV_NAME.match(str(fix["move_to_env"])):
            errors.append("%s.move_to_env must be a variable name" % here)
        for key in ("match", "value_from", "token_env", "move_to_env", "reason"):
            if fix.get(key) is not None and not isinstance(fix[key], string_types):
                errors.append("%s.%s must be a string" % (here, key))
        if isinstance(fix.get("match"), string_types):
            _check_regex(here + ".match", fix["match"], errors)
        if fix.get("token_env") is not None and not _ENV_NAME.match(str(fix["token_env"])):
            errors.append("%s.token_env must be a variable name" % here)
        _check_str_lists(here, fix, ("alternatives",), errors)


def _validate_auth(where, auth, errors):
    if not isinstance(auth, dict):
        errors.append("%s must be a dictionary, got %r" % (where, auth))
        return
    _unknown(where, auth, AUTH_FIELDS, errors)
    if auth.get("default") not in (True, False, None):
        errors.append("%s.default must be true, false or null" % where)
    rules = auth.get("rules", [])
    if not isinstance(rules, list):
        errors.append("%s.rules must be a list" % where)
        return
    for index, rule in enumerate(rules):
        here = "%s.rules[%d]" % (where, index)
        if not isinstance(rule, dict):
            errors.append("%s must be a dictionary" % here)
            continue
        _unknown(here, rule, AUTH_RULE_FIELDS, errors)
        sources = [key for key in ("flag", "env", "file") if key in rule]
        if len(sources) != 1:
            errors.append("%s needs exactly one of flag, env, file" % here)
        for key in sources:
            if not (isinstance(rule[key], string_types) and rule[key]):
                errors.append("%s.%s must be a non-empty string" % (here, key))
        if "file" in rule:
            _check_regex(here + ".regex", rule.get("regex"), errors)
        elif rule.get("when", "set") not in AUTH_WHEN:
            errors.append("%s.when must be one of %s, got %r" % (here, ", ".join(AUTH_WHEN), rule.get("when")))
        if rule.get("when") == "equals" and not _is_str_list(rule.get("value")):
            errors.append("%s.value must be a list of strings when 'when' is equals" % here)
        if not isinstance(rule.get("enabled"), bool):
            errors.append("%s.enabled must be true or false" % here)


def _validate_version(where, version, errors):
    if not isinstance(version, dict):
        errors.append("%s must be a dictionary, got %r" % (where, version))
        return
    _unknown(where, version, VERSION_FIELDS, errors)
    _check_str_lists(where, version, ("pip", "dpkg", "command"), errors)
    if "file" in version:
        spec = version["file"]
        if not isinstance(spec, dict) or set(spec) != {"path", "regex"}:
            errors.append("%s.file must be a dictionary with exactly 'path' and 'regex'" % where)
        else:
            _check_regex(where + ".file.regex", spec["regex"], errors)


def _validate_risky(where, risky, errors):
    if not isinstance(risky, list):
        errors.append("%s must be a list" % where)
        return
    for index, rule in enumerate(risky):
        here = "%s[%d]" % (where, index)
        if not isinstance(rule, dict):
            errors.append("%s must be a dictionary" % here)
            continue
        _unknown(here, rule, RISKY_FIELDS, errors)
        if len([key for key in ("flag", "env") if key in rule]) != 1:
            errors.append("%s needs exactly one of flag, env" % here)
        if not (isinstance(rule.get("reason"), string_types) and rule.get("reason")):
            errors.append("%s.reason must be a non-empty sentence" % here)
        if "value" in rule:
            _check_regex(here + ".value", rule["value"], errors)
        for key in ("unless_auth", "root_only"):
            if key in rule and not isinstance(rule[key], bool):
                errors.append("%s.%s must be true or false" % (here, key))


def _is_http_status(value):
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def _health_strings(value):
    """Every string in a JSON-like value (dict keys are not templated)."""
    if isinstance(value, string_types):
        yield value
    elif isinstance(value, (dict, list)):
        for item in (value.values() if isinstance(value, dict) else value):
            yield from _health_strings(item)


def _validate_health_call(where, call, fields, known, errors):
    """Check one step or cleanup: method, path, body, headers, expect; ``known`` variables only."""
    _unknown(where, call, fields, errors)
    if call.get("method") not in HEALTH_METHODS:
        errors.append("%s.method must be one of %s, got %r" % (where, ", ".join(HEALTH_METHODS), call.get("method")))
    path = call.get("path")
    if not (isinstance(path, string_types) and path.startswith("/")) or any(c in path for c in " \r\n\t"):
        errors.append("%s.path must be a path starting with / and without blanks, got %r" % (where, path))
    if "body" in call and not isinstance(call["body"], (dict, list)):
        errors.append("%s.body must be a JSON object or list" % where)
    headers = call.get("headers", {})
    if not isinstance(headers, dict) or not all(
            isinstance(key, string_types) and _HEADER_NAME.match(key) and isinstance(value, string_types)
            and "\n" not in value and "\r" not in value for key, value in headers.items()):
        errors.append("%s.headers must map header names to one-line strings" % where)
    expect = call.get("expect")
    if not isinstance(expect, dict):
        errors.append("%s.expect must be a dictionary with status" % where)
    else:
        _unknown(where + ".expect", expect, HEALTH_EXPECT_FIELDS, errors)
        status = expect.get("status")
        if not (isinstance(status, list) and status and all(_is_http_status(code) for code in status)):
            errors.append("%s.expect.status must be a non-empty list of HTTP status codes, got %r" % (where, status))
        _check_str_lists(where + ".expect", expect, ("json_keys",), errors)
    for text in _health_strings([path, call.get("body"), headers]):
        for variable in _HEALTH_VARIABLE.findall(text):
            if variable not in known:
                errors.append("%s uses {%s}, which is neither built in (%s) nor saved by this or an earlier step"
                              % (where, variable, ", ".join(HEALTH_BUILTIN_VARIABLES)))


def _validate_health_source(where, source, fields, errors):
    if not isinstance(source, dict):
        errors.append("%s must be a dictionary, got %r" % (where, source))
        return
    _unknown(where, source, fields, errors)
    _check_str_lists(where, source, ("flags", "env"), errors)
    files = source.get("files", [])
    if not isinstance(files, list):
        errors.append("%s.files must be a list of {path, key}" % where)
        return
    for index, spec in enumerate(files):
        here = "%s.files[%d]" % (where, index)
        if not isinstance(spec, dict) or set(spec) != {"path", "key"} or not all(
                isinstance(spec[key], string_types) and spec[key] for key in ("path", "key")):
            errors.append("%s must be a dictionary with exactly 'path' and 'key' (strings)" % here)
        elif not spec["path"].startswith(("/", "~", "$")):
            errors.append("%s.path must be absolute or start with ~ or $VAR, got %r" % (here, spec["path"]))
    if not any(source.get(key) for key in HEALTH_SOURCE_FIELDS):
        errors.append("%s needs at least one of files, flags, env" % where)


def _validate_health(where, health, errors):
    if not isinstance(health, dict):
        errors.append("%s must be a dictionary or null, got %r" % (where, health))
        return
    _unknown(where, health, HEALTH_FIELDS, errors)
    if "processes" in health:
        _validate_match(where, {"processes": health["processes"]}, errors)
    if "credential" in health:
        credential = health["credential"]
        _validate_health_source(where + ".credential", credential, HEALTH_CREDENTIAL_FIELDS, errors)
        if isinstance(credential, dict):
            if not (isinstance(credential.get("header"), string_types) and _HEADER_NAME.match(credential["header"])):
                errors.append("%s.credential.header must name the header the secret goes in" % where)
            for key in ("scheme", "separator"):
                if key in credential and not (isinstance(credential[key], string_types) and credential[key]):
                    errors.append("%s.credential.%s must be a non-empty string" % (where, key))
    if "base_url" in health:
        _validate_health_source(where + ".base_url", health["base_url"], HEALTH_SOURCE_FIELDS, errors)
    if health.get("note") is not None and not isinstance(health["note"], string_types):
        errors.append("%s.note must be a string" % where)
    steps = health.get("steps")
    if not (isinstance(steps, list) and steps):
        errors.append("%s.steps must be a non-empty list" % where)
        return
    known = set(HEALTH_BUILTIN_VARIABLES)
    for index, step in enumerate(steps):
        here = "%s.steps[%d]" % (where, index)
        if not isinstance(step, dict):
            errors.append("%s must be a dictionary" % here)
            continue
        _validate_health_call(here, step, HEALTH_STEP_FIELDS, known, errors)
        save = step.get("save", {})
        if not isinstance(save, dict) or not all(
                isinstance(key, string_types) and RUNTIME_NAME.match(key) and key not in HEALTH_BUILTIN_VARIABLES
                and isinstance(value, string_types) and value for key, value in save.items()):
            errors.append("%s.save must map new lower_snake_case variable names to answer keys" % here)
            save = {}
        if "retry_status" in step and not (isinstance(step["retry_status"], list)
                                           and all(_is_http_status(code) for code in step["retry_status"])):
            errors.append("%s.retry_status must be a list of HTTP status codes" % here)
        if "timeout" in step and not (isinstance(step["timeout"], (int, float)) and not isinstance(step["timeout"], bool)
                                      and 0 < step["timeout"] <= 600):
            errors.append("%s.timeout must be a number of seconds from 1 to 600" % here)
        if "writes" in step and not isinstance(step["writes"], bool):
            errors.append("%s.writes must be true or false" % here)
        writes = step.get("writes", step.get("method") in HEALTH_WRITE_METHODS)
        step_known = known | set(save)
        if "cleanup" in step:
            if not isinstance(step["cleanup"], dict):
                errors.append("%s.cleanup must be a dictionary" % here)
            else:
                _validate_health_call(here + ".cleanup", step["cleanup"], HEALTH_CLEANUP_FIELDS, step_known, errors)
        elif writes:
            errors.append("%s writes (%s) and needs a cleanup step that undoes it (or writes: false)"
                          % (here, step.get("method")))
        known = step_known


def _normalise(entry):
    """Fill defaults so every entry has every key."""
    result = copy.deepcopy(_DEFAULTS)
    for key, value in entry.items():
        if key in ("bind_knob", "auth") and isinstance(value, dict):
            result[key].update(copy.deepcopy(value))
        else:
            result[key] = copy.deepcopy(value)
    result["match"] = dict(result.get("match") or {})
    return result


def _user_items(user_entries):
    """Accept a dict {name: entry} or a list of entries carrying 'name'."""
    if user_entries is None:
        return [], []
    if isinstance(user_entries, dict):
        return list(user_entries.items()), []
    if isinstance(user_entries, list):
        items, errors = [], []
        for index, entry in enumerate(user_entries):
            if not isinstance(entry, dict) or "name" not in entry:
                errors.append("catalog_extra[%d] must be a dictionary with a 'name' field" % index)
                continue
            entry = dict(entry)
            items.append((entry.pop("name"), entry))
        return items, errors
    return [], ["catalog_extra must be a dictionary of entries or a list of entries, got %s"
                % type(user_entries).__name__]


def load_catalog(user_entries=None, strict=True):
    """Return ``(catalog, warnings)``: the built-in catalog merged with validated user entries.

    A user entry with a new name must be complete; one with an existing name overrides the fields
    it gives (``match`` and the other nested dictionaries are replaced as a whole, except
    ``bind_knob`` and ``auth``, which are merged key by key). With ``strict`` any error raises
    ``CatalogError`` listing every problem; otherwise bad entries are skipped and each error is
    returned as a warning.
    """
    catalog = dict((name, _normalise(entry)) for name, entry in CATALOG.items())
    items, errors = _user_items(user_entries)
    warnings = []
    for name, entry in items:
        if name in catalog and isinstance(entry, dict):
            # An override: check the fields given, then the entry they produce.
            entry_errors = validate_entry(name, entry, partial=True)
            merged = copy.deepcopy(catalog[name])
            if not entry_errors:
                for key, value in entry.items():
                    if key in ("bind_knob", "auth") and isinstance(value, dict):
                        merged[key].update(copy.deepcopy(value))
                    else:
                        merged[key] = copy.deepcopy(value)
                entry_errors = validate_entry(name, merged)
        else:
            entry_errors = validate_entry(name, entry)
            merged = _normalise(entry) if not entry_errors else None
        if entry_errors:
            errors.extend(entry_errors)
            continue
        catalog[name] = merged
    if errors:
        if strict:
            raise CatalogError("invalid catalog_extra: " + "; ".join(errors))
        warnings.extend("skipped: %s" % error for error in errors)
    return catalog, warnings


def match_order(catalog):
    """Names in matching order: specific entries first (catalog order), generic ones last."""
    names = list(catalog)
    return [name for name in names if not catalog[name].get("generic")] + \
        [name for name in names if catalog[name].get("generic")]


def catalog_summary(entry):
    """The catalog fields copied into each detected runtime."""
    return {
        "display_name": entry["display_name"],
        "category": entry["category"],
        "default_ports": list(entry["default_ports"]),
        "default_bind": entry["default_bind"],
        "bind_knob": copy.deepcopy(entry["bind_knob"]),
        "sandbox_profile": entry["sandbox_profile"],
    }
