"""plugins/module_utils/runtime_health.py and plugins/modules/runtime_health.py: the functional health
check that the service_users role runs after a restart under a new sandbox.

The servers here are local http.server fakes of the documented APIs (MLflow's REST API 2.0
experiments/create and experiments/delete, Jupyter Server's contents API with token auth and
tornado's XSRF rule), plus the collection's own labelled stand-ins for Ollama and llama-server
(tests/standins/). Each fake can be switched into the failure the sandbox causes (a read-only MLflow
store answers 503 'attempt to write a readonly database'; a read-only Jupyter root answers 403
'Permission denied'), so the tests prove the check fails for real breakage, names the call and its
status, undoes what it created, and never lets a secret out.
"""
import copy
import importlib.util
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import procfs
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_catalog as rc
from ansible_collections.aihost.hardening.plugins.module_utils import runtime_health as rh

STANDINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "standins")


def _load_standin(name, filename):
    spec = importlib.util.spec_from_file_location(name, os.path.join(STANDINS, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ollama_standin = _load_standin("ollama_standin", "ollama.py")
runtime_standin = _load_standin("runtime_standin", "runtime_standin.py")

CATALOG = rc.load_catalog()[0]
TOKEN = "s3cr3t-jupyter-token-0123456789"


def serve(handler_class):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def servers():
    started = []

    def start(handler_class):
        server = serve(handler_class)
        started.append(server)
        return {"host": "127.0.0.1", "port": server.server_address[1]}
    yield start
    for server in started:
        server.shutdown()
        server.server_close()


class _JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, payload=None):
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def mlflow_fake(readonly=False, log=None):
    """MLflow's tracking REST API: experiments/create -> {experiment_id}; experiments/delete -> {}
    (soft delete); a read-only sqlite store answers 503 TEMPORARILY_UNAVAILABLE."""
    state = {"experiments": {}, "next": 1, "log": log if log is not None else []}

    class Handler(_JsonHandler):
        def do_POST(self):  # noqa: N802
            request = json.loads(self.body() or b"{}")
            state["log"].append((self.command, self.path, request))
            if readonly:
                return self.answer(503, {"error_code": "TEMPORARILY_UNAVAILABLE",
                                         "message": "(sqlite3.OperationalError) attempt to write a readonly database\n"
                                                    "[SQL: INSERT INTO experiments] (postgresql://mlflow:hunter2@db/x)"})
            if self.path == "/api/2.0/mlflow/experiments/create":
                if any(e["name"] == request.get("name") for e in state["experiments"].values()):
                    return self.answer(400, {"error_code": "RESOURCE_ALREADY_EXISTS", "message": "exists"})
                ident = str(state["next"])
                state["next"] += 1
                state["experiments"][ident] = {"name": request["name"], "lifecycle_stage": "active"}
                return self.answer(200, {"experiment_id": ident})
            if self.path == "/api/2.0/mlflow/experiments/delete":
                experiment = state["experiments"].get(request.get("experiment_id"))
                if experiment is None:
                    return self.answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such experiment"})
                experiment["lifecycle_stage"] = "deleted"
                return self.answer(200, {})
            return self.answer(404, {"error_code": "ENDPOINT_NOT_FOUND"})
    return Handler, state


def jupyter_fake(root, token=TOKEN, readonly=False, log=None):
    """Jupyter Server's contents API: PUT /api/contents/<path> {type, format, content} -> 201 and the
    model; DELETE -> 204. Auth: 'Authorization: token <t>' (403 without it). Without a token,
    tornado's XSRF rule: the _xsrf cookie must equal the X-XSRFToken header. A root the server
    user may not write answers 403 'Permission denied: <path>'."""
    log = log if log is not None else []

    class Handler(_JsonHandler):
        def _allowed(self):
            if token:
                return self.headers.get("Authorization") == "token " + token
            cookie = dict(part.strip().split("=", 1) for part in (self.headers.get("Cookie") or "").split(";")
                          if "=" in part)
            return cookie.get("_xsrf") and cookie.get("_xsrf") == self.headers.get("X-XSRFToken")

        def _name(self):
            assert self.path.startswith("/api/contents/")
            return self.path[len("/api/contents/"):]

        def do_PUT(self):  # noqa: N802
            request = json.loads(self.body())
            log.append(("PUT", self.path))
            if not self._allowed():
                return self.answer(403, {"message": "Forbidden", "reason": None})
            if readonly:
                return self.answer(403, {"message": "Permission denied: %s" % self._name(), "reason": None})
            assert request["type"] == "file" and request["format"] == "text"
            with open(os.path.join(root, self._name()), "w") as handle:
                handle.write(request["content"])
            return self.answer(201, {"name": self._name(), "path": self._name(), "type": "file"})

        def do_DELETE(self):  # noqa: N802
            log.append(("DELETE", self.path))
            if not self._allowed():
                return self.answer(403, {"message": "Forbidden", "reason": None})
            path = os.path.join(root, self._name())
            if not os.path.exists(path):
                return self.answer(404, {"message": "File or directory does not exist: %s" % self._name()})
            os.unlink(path)
            self.send_response(204)
            self.end_headers()
    return Handler


def run(name, target, auth=None, variables=None, base_url="", **kwargs):
    entry = CATALOG[name]
    variables = variables or rh.new_variables()
    return rh.run_check(entry["display_name"], entry["health"], target, rh.http_send, variables, base_url,
                        auth, **kwargs)


def jupyter_auth(token=TOKEN):
    return {"header": ("Authorization", "token " + token), "secret": token}


# --------------------------------------------------------------------------------------------
# The four runtimes, end to end against their fakes and stand-ins
# --------------------------------------------------------------------------------------------

def test_mlflow_creates_an_experiment_named_for_the_check_and_deletes_it(servers):
    handler, state = mlflow_fake()
    result = run("mlflow", servers(handler), timeout=10)
    assert result["ok"] and result["failure"] is None
    assert [(call["call"], call["status"]) for call in result["calls"]] == [
        ("POST /api/2.0/mlflow/experiments/create", 200), ("POST /api/2.0/mlflow/experiments/delete", 200)]
    experiments = list(state["experiments"].values())
    assert len(experiments) == 1
    experiment = experiments[0]
    assert experiment["name"].startswith("aihost-health-") and experiment["lifecycle_stage"] == "deleted"


def test_a_read_only_mlflow_store_fails_the_check_naming_the_call_and_the_status(servers):
    """The case of the issue: GET / works, every write answers 503."""
    handler, state = mlflow_fake(readonly=True)
    result = run("mlflow", servers(handler), timeout=10)
    assert not result["ok"]
    assert "POST /api/2.0/mlflow/experiments/create" in result["failure"]
    assert "answered 503 (expected 200)" in result["failure"]
    assert "attempt to write a readonly database" in result["failure"]
    # The database URL's password in the error text is not repeated.
    assert "hunter2" not in json.dumps(result)
    # Not retried (503 is not "not ready" for MLflow), and nothing to delete: no experiment_id came back.
    assert len(state["log"]) == 1 and result["notes"] == []


def test_jupyter_saves_and_deletes_a_file_through_its_contents_api_with_its_token(servers, tmp_path):
    log = []
    target = servers(jupyter_fake(str(tmp_path), log=log))
    result = run("jupyter", target, auth=jupyter_auth(), timeout=10)
    assert result["ok"], result
    assert [method for method, _path in log] == ["PUT", "DELETE"]
    assert log[0][1].startswith("/api/contents/aihost-health-") and log[0][1].endswith(".txt")
    assert os.listdir(str(tmp_path)) == []  # deleted again
    assert TOKEN not in json.dumps(result)


def test_jupyter_under_a_base_url(servers, tmp_path):
    class Prefixed(jupyter_fake(str(tmp_path))):
        def _name(self):
            assert self.path.startswith("/lab/api/contents/"), self.path
            return self.path[len("/lab/api/contents/"):]
    result = run("jupyter", servers(Prefixed), auth=jupyter_auth(), base_url="/lab/", timeout=10)
    assert result["ok"], result


def test_jupyter_without_auth_passes_tornados_xsrf_rule(servers, tmp_path):
    result = run("jupyter", servers(jupyter_fake(str(tmp_path), token="")), timeout=10)
    assert result["ok"], result


def test_a_read_only_jupyter_root_fails_the_check_and_no_secret_leaks(servers, tmp_path):
    target = servers(jupyter_fake(str(tmp_path), readonly=True))
    result = run("jupyter", target, auth=jupyter_auth(), timeout=10)
    assert not result["ok"]
    assert result["failure"].startswith("Jupyter: PUT /api/contents/aihost-health-")
    assert "answered 403 (expected 200/201): Permission denied" in result["failure"]
    # The delete was still tried (the PUT was answered with an error: nothing to undo, noted only).
    assert [call["call"].split()[0] for call in result["calls"]] == ["PUT", "DELETE"]
    assert result["calls"][1]["cleanup"] and result["calls"][1]["status"] == 404
    assert TOKEN not in json.dumps(result)


def test_a_wrong_jupyter_token_fails_and_the_token_is_redacted_from_answers(servers, tmp_path):
    class Echo(jupyter_fake(str(tmp_path))):
        def do_PUT(self):  # noqa: N802
            self.body()
            return self.answer(403, {"message": "bad token %s" % self.headers.get("Authorization")})
    result = run("jupyter", servers(Echo), auth=jupyter_auth("wrong-" + TOKEN), timeout=10)
    assert not result["ok"] and "bad token token <redacted>" in result["failure"]
    assert TOKEN not in json.dumps(result)


def test_ollama_lists_its_models(servers, tmp_path, monkeypatch):
    """Against the Ollama stand-in, whose GET /api/tags reads the manifests under OLLAMA_MODELS."""
    manifest = tmp_path / "manifests" / "registry.ollama.ai" / "library" / "tinyllama"
    manifest.mkdir(parents=True)
    (manifest / "latest").write_text("{}")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path))
    result = run("ollama", servers(ollama_standin.Handler), timeout=10)
    assert result["ok"], result
    assert [(call["call"], call["status"]) for call in result["calls"]] == [("GET /api/tags", 200)]


def test_ollama_answering_without_models_fails(servers):
    class NoModels(_JsonHandler):
        def do_GET(self):  # noqa: N802
            return self.answer(200, {"error": "permission denied reading manifests"})
    result = run("ollama", servers(NoModels), timeout=10)
    assert not result["ok"] and "GET /api/tags" in result["failure"] and "without models" in result["failure"]


def llama_handler(api_key=None):
    args = runtime_standin.parse("llama-server", ["-m", "tiny.gguf"] + (["--api-key", api_key] if api_key else []))
    handler = runtime_standin.make_handler("llama-server", args)
    handler.log_message = lambda *a: None
    return handler


def test_llama_server_completes_one_token(servers):
    result = run("llama_cpp", servers(llama_handler()), timeout=10)
    assert result["ok"], result
    assert [(call["call"], call["status"]) for call in result["calls"]] == [("POST /completion", 200)]


def test_the_llama_server_stand_in_answers_completion_as_the_real_server_documents(servers):
    import http.client
    target = servers(llama_handler())

    def post(path, payload):
        connection = http.client.HTTPConnection(target["host"], target["port"], timeout=5)
        connection.request("POST", path, body=json.dumps(payload), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = (response.status, json.loads(response.read()), response.getheader("X-Aihost-Standin"))
        connection.close()
        return answer
    status, answer, label = post("/completion", {"prompt": "hello", "n_predict": 4})
    assert status == 200 and label == "llama-server"
    assert answer["tokens_predicted"] == 4 and answer["stop"] is True and answer["stop_type"] == "limit"
    assert answer["content"] == " standin" * 4 and answer["model"] == "tiny.gguf"
    assert post("/completions", {"prompt": "hello"})[1]["tokens_predicted"] == 16
    status, answer, _label = post("/completion", {"n_predict": 1})
    assert status == 400 and answer["error"]["type"] == "invalid_request_error"


def test_llama_server_with_an_api_key_takes_the_first_of_its_keys(servers):
    target = servers(llama_handler("k1,k2"))
    entry = CATALOG["llama_cpp"]
    process = {"pid": 1, "uid": 0, "cmdline": ["llama-server", "--api-key", "k1,k2"], "environ": {}}
    auth = rh.resolve_auth(entry, process, lambda spec: rh.find_value(spec, process, rh.read_owned_json))
    assert auth["header"] == ("Authorization", "Bearer k1") and auth["where"] == "flag --api-key"
    assert run("llama_cpp", target, auth=auth, timeout=10)["ok"]
    failed = run("llama_cpp", target, timeout=10)
    assert not failed["ok"] and "answered 401" in failed["failure"]


def test_llama_server_loading_its_model_is_waited_for_until_the_timeout(servers):
    """503 is llama-server's 'Loading model': retried, then the answer counts."""
    calls = []

    class Loading(_JsonHandler):
        def do_POST(self):  # noqa: N802
            self.body()
            calls.append(1)
            if len(calls) < 3:
                return self.answer(503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}})
            return self.answer(200, {"content": " hi", "stop": True})
    sleeps = []
    result = run("llama_cpp", servers(Loading), timeout=30, sleep=sleeps.append)
    assert result["ok"] and len(calls) == 3 and sleeps == [1.0, 2.0]

    calls[:] = []
    clock = iter(range(0, 1000, 4)).__next__
    result = run("llama_cpp", servers(Loading), timeout=5, sleep=lambda s: None, clock=clock)
    assert not result["ok"] and "answered 503 (expected 200): Loading model" in result["failure"]


# --------------------------------------------------------------------------------------------
# Cleanup, retries, transport errors (a scripted transport)
# --------------------------------------------------------------------------------------------

HEALTH = {"steps": [
    {"method": "POST", "path": "/things", "body": {"name": "{name}"}, "expect": {"status": [200], "json_keys": ["id"]},
     "save": {"thing": "id"},
     "cleanup": {"method": "DELETE", "path": "/things/{thing}", "expect": {"status": [204]}}},
    {"method": "GET", "path": "/things/{thing}/work", "expect": {"status": [200]}},
]}


def scripted(answers):
    sent = []

    def send(host, port, request, timeout):
        sent.append((request["method"], request["path"], request["body"]))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    return send, sent


def test_what_a_step_created_is_deleted_even_when_a_later_step_fails():
    send, sent = scripted([(200, b'{"id": "7"}'), (500, b'{"message": "boom"}'), (204, b"")])
    result = rh.run_check("X", HEALTH, {"host": "127.0.0.1", "port": 1}, send, rh.new_variables(), timeout=5)
    assert result["failure"] == "X: GET /things/7/work on 127.0.0.1:1 answered 500 (expected 200): boom"
    assert sent[-1][:2] == ("DELETE", "/things/7")


def test_a_failed_undo_of_a_passed_write_fails_the_check():
    send, _sent = scripted([(200, b'{"id": "7"}'), (200, b"ok"), (500, b"no")])
    result = rh.run_check("X", HEALTH, {"host": "::1", "port": 1}, send, rh.new_variables(), timeout=5)
    assert result["failure"] == "X: cleanup DELETE /things/7 on [::1]:1 answered 500 (expected 204): no"


def test_refused_connections_are_retried_until_the_timeout():
    send, sent = scripted([ConnectionRefusedError(111, "Connection refused")] * 2
                          + [(200, b'{"id": "a b"}'), (200, b""), (204, b"")])
    result = rh.run_check("X", HEALTH, {"host": "127.0.0.1", "port": 1}, send, rh.new_variables(),
                          timeout=60, sleep=lambda s: None)
    assert result["ok"], result
    assert sent[-1][1] == "/things/a%20b"  # saved values are percent-encoded in paths

    send, sent = scripted([ConnectionRefusedError(111, "Connection refused")] * 50)
    ticks = iter(range(0, 10000, 2)).__next__
    result = rh.run_check("X", HEALTH, {"host": "127.0.0.1", "port": 1}, send, rh.new_variables(),
                          timeout=10, sleep=lambda s: None, clock=ticks)
    assert "got no answer: ConnectionRefusedError (Connection refused)" in result["failure"]
    assert len(sent) < 10


def test_a_write_without_an_answer_is_not_repeated_and_its_undo_is_noted():
    send, sent = scripted([TimeoutError("timed out")])
    result = rh.run_check("X", HEALTH, {"host": "127.0.0.1", "port": 1}, send, rh.new_variables(),
                          timeout=60, sleep=lambda s: None)
    assert len(sent) == 1 and "got no answer: TimeoutError" in result["failure"]
    assert result["notes"] and "look for objects named aihost-health-*" in result["notes"][0]


# --------------------------------------------------------------------------------------------
# Pure pieces
# --------------------------------------------------------------------------------------------

def test_names_are_labelled_and_random():
    first, second = rh.new_variables(), rh.new_variables()
    assert first["name"].startswith("aihost-health-") and len(first["name"]) == len("aihost-health-") + 12
    assert first["name"] != second["name"] and len(first["nonce"]) == 32


def test_build_request_puts_the_credential_in_a_header_only():
    step = CATALOG["jupyter"]["health"]["steps"][0]
    request = rh.build_request(step, {"name": "aihost-health-x", "nonce": "n"}, "/", ("Authorization", "token SECRET9"))
    assert request["path"] == "/api/contents/aihost-health-x.txt"
    assert request["headers"]["Authorization"] == "token SECRET9"
    assert request["headers"]["Cookie"] == "_xsrf=n" and request["headers"]["X-XSRFToken"] == "n"
    assert json.loads(request["body"].decode())["type"] == "file"
    assert "SECRET9" not in rh.describe(request)
    with pytest.raises(rh.HealthError):
        rh.build_request({"method": "GET", "path": "/{missing}"}, {"name": "n"})


@pytest.mark.parametrize("status, body, ok, problem", [
    (200, b'{"experiment_id": "3"}', True, None),
    (200, b'[]', False, "answered 200 without a JSON object"),
    (200, b'{"other": 1}', False, "answered 200 without experiment_id"),
    (503, b'{}', False, "answered 503 (expected 200)"),
])
def test_judge(status, body, ok, problem):
    step = CATALOG["mlflow"]["health"]["steps"][0]
    assert rh.judge(step, status, body)[0::2] == (ok, problem)


def test_read_owned_json_reads_only_the_runtime_users_own_regular_files(tmp_path):
    good = tmp_path / "jpserver-1.json"
    good.write_text(json.dumps({"token": "t"}))
    uid = os.getuid()
    assert rh.read_owned_json(str(good), uid) == {"token": "t"}
    assert rh.read_owned_json(str(good), uid + 1) is None  # another account's file
    link = tmp_path / "link.json"
    link.symlink_to(good)
    assert rh.read_owned_json(str(link), uid) is None
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"token": "x" * rh.MAX_FILE}))
    assert rh.read_owned_json(str(big), uid) is None
    assert rh.read_owned_json(str(tmp_path / "missing.json"), uid) is None


def jupyter_process(tmp_path, cmdline=None, environ=None):
    return {"pid": 812, "uid": os.getuid(), "home": str(tmp_path), "cwd": "/",
            "cmdline": cmdline or ["/opt/jupyter/bin/python", "/opt/jupyter/bin/jupyter-server"],
            "environ": environ if environ is not None else {"HOME": str(tmp_path)}}


def lookup_for(process):
    return lambda spec: rh.find_value(spec, process, rh.read_owned_json)


def test_jupyters_token_comes_from_its_runtime_file_for_its_pid(tmp_path):
    runtime = tmp_path / ".local" / "share" / "jupyter" / "runtime"
    runtime.mkdir(parents=True)
    (runtime / "jpserver-811.json").write_text(json.dumps({"token": "stale"}))
    (runtime / "jpserver-812.json").write_text(json.dumps({"token": TOKEN, "base_url": "/lab/"}))
    process = jupyter_process(tmp_path)
    auth = rh.resolve_auth(CATALOG["jupyter"], process, lookup_for(process))
    assert auth["header"] == ("Authorization", "token " + TOKEN)
    assert auth["where"] == "token in %s/jpserver-812.json" % runtime
    assert rh.find_value(CATALOG["jupyter"]["health"]["base_url"], process, rh.read_owned_json)[1] == "/lab/"


def test_jupyters_runtime_dir_follows_its_environment(tmp_path):
    (tmp_path / "rt").mkdir()
    (tmp_path / "rt" / "jpserver-812.json").write_text(json.dumps({"token": TOKEN}))
    process = jupyter_process(tmp_path, environ={"JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")})
    assert rh.resolve_auth(CATALOG["jupyter"], process, lookup_for(process))["secret"] == TOKEN


@pytest.mark.parametrize("cmdline, environ, header, skipped", [
    # A token on the command line or in JUPYTER_TOKEN.
    (["jupyter-server", "--IdentityProvider.token=abc"], {}, ("Authorization", "token abc"), False),
    (["jupyter-server"], {"JUPYTER_TOKEN": "'abc'"}, ("Authorization", "token abc"), False),
    # Auth turned off: no header.
    (["jupyter-server", "--ServerApp.token="], {}, None, False),
    # A password and no token: the role cannot log in.
    (["jupyter-server", "--ServerApp.token=", "--ServerApp.password=sha1:x"], {}, None, False),
    # Token auth on (the default) and no token anywhere the role can read.
    (["jupyter-server"], {}, None, True),
])
def test_jupyter_auth_decisions(tmp_path, cmdline, environ, header, skipped):
    process = jupyter_process(tmp_path, cmdline, environ)
    auth = rh.resolve_auth(CATALOG["jupyter"], process, lookup_for(process))
    assert auth["header"] == header
    if skipped:
        assert "needs authentication" in auth["skip"] and "functional check skipped" in auth["skip"]


def test_a_password_protected_jupyter_is_skipped_not_failed(tmp_path):
    runtime = tmp_path / ".local" / "share" / "jupyter" / "runtime"
    runtime.mkdir(parents=True)
    (runtime / "jpserver-812.json").write_text(json.dumps({"token": "", "password": True}))
    process = jupyter_process(tmp_path, ["jupyter-server", "--ServerApp.password=sha1:x"])
    auth = rh.resolve_auth(CATALOG["jupyter"], process, lookup_for(process))
    assert auth["header"] is None and auth["skip"] and "was empty" in auth["skip"]


def test_mlflow_with_basic_auth_is_skipped_and_ollama_needs_no_credential():
    mlflow = {"pid": 1, "uid": 0, "cmdline": ["mlflow", "server", "--app-name", "basic-auth"], "environ": {}}
    auth = rh.resolve_auth(CATALOG["mlflow"], mlflow, lookup_for(mlflow))
    assert auth["skip"].startswith("MLflow needs authentication (flag --app-name=basic-auth)")
    ollama = {"pid": 1, "uid": 0, "cmdline": ["ollama", "serve"], "environ": {}}
    assert rh.resolve_auth(CATALOG["ollama"], ollama, lookup_for(ollama)) == {
        "header": None, "secret": None, "where": "default: none: the local REST API has no authentication", "skip": None}


@pytest.mark.parametrize("cmdline, applies", [
    (["/usr/bin/llama-server", "-m", "x.gguf"], True),
    (["/usr/bin/rpc-server", "-p", "50052"], False),
    (["/usr/bin/python3", "-m", "llama_cpp.server"], False),
])
def test_the_llama_check_applies_to_llama_server_only(cmdline, applies):
    process = {"name": os.path.basename(cmdline[0])[:15], "cmdline": cmdline}
    assert rh.process_applies(CATALOG["llama_cpp"]["health"], process) is applies


def test_excerpt():
    assert rh.excerpt(b'{"error": {"code": 503, "message": "Loading model"}}') == "Loading model"
    assert rh.excerpt("x\n y  z" * 100).endswith("...") and len(rh.excerpt("x" * 500)) == rh.EXCERPT
    assert rh.excerpt(b"see https://u:pw@h/ T0K", ["T0K"]) == "see https://u:<redacted>@h/ <redacted>"


# --------------------------------------------------------------------------------------------
# The module: what it returns, and what it never returns
# --------------------------------------------------------------------------------------------

class FakeModule(object):
    def __init__(self, **params):
        self.params = dict({"catalog_extra": {}, "timeout": 10, "request_timeout": 5}, **params)
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


class Failed(Exception):
    pass


@pytest.fixture
def module_under_test(monkeypatch, tmp_path):
    from ansible_collections.aihost.hardening.plugins.modules import runtime_health as mod
    runtime = tmp_path / ".local" / "share" / "jupyter" / "runtime"
    runtime.mkdir(parents=True)
    (runtime / "jpserver-812.json").write_text(json.dumps({"token": TOKEN, "base_url": "/"}))
    monkeypatch.setattr(mod, "main_pids", lambda module, units: [812])
    monkeypatch.setattr(mod, "read_main_process",
                        lambda pid: dict(jupyter_process(tmp_path), name="jupyter-server"))
    return mod


def test_the_module_checks_jupyter_and_returns_where_the_token_was_never_the_token(
        module_under_test, servers, tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    target = servers(jupyter_fake(str(root)))
    monkeypatch.setattr(module_under_test, "held_ports", lambda units, pid: {target["port"]})
    module = FakeModule(runtime="jupyter", units=["jupyter.service"], targets=[target])
    result = module_under_test.run(module)
    assert result["checked"] and result["skip_reason"] is None
    assert result["credential"].endswith("jpserver-812.json")
    assert [call["call"].split()[0] for call in result["calls"]] == ["PUT", "DELETE"]
    assert TOKEN not in json.dumps(result)


def test_the_module_fails_with_the_call_and_status(module_under_test, servers, tmp_path, monkeypatch):
    target = servers(jupyter_fake(str(tmp_path), readonly=True))
    monkeypatch.setattr(module_under_test, "held_ports", lambda units, pid: {target["port"]})
    with pytest.raises(Failed) as failed:
        module_under_test.run(FakeModule(runtime="jupyter", units=["jupyter.service"], targets=[target]))
    assert "PUT /api/contents/aihost-health-" in failed.value.args[0]["msg"]
    assert "answered 403" in failed.value.args[0]["msg"]
    assert TOKEN not in json.dumps(failed.value.args[0])


def test_the_module_never_sends_the_token_to_a_port_its_unit_does_not_hold(
        module_under_test, servers, tmp_path, monkeypatch):
    log = []
    target = servers(jupyter_fake(str(tmp_path), log=log))
    monkeypatch.setattr(module_under_test, "held_ports", lambda units, pid: set())
    module = FakeModule(runtime="jupyter", units=["jupyter.service"], targets=[target])
    result = module_under_test.run(module)
    assert log == [] and not result["checked"] and "none of its ports is held" in result["skip_reason"]
    assert module.warnings


def test_runtimes_without_a_functional_check_are_ports_only(module_under_test):
    for name in ("gradio", "ray", "chromadb", "vllm"):
        result = module_under_test.run(FakeModule(runtime=name, units=["x.service"], targets=[]))
        assert result["skip_reason"].endswith("ports only") and not result["checked"]


def test_catalog_extra_can_turn_the_check_off(module_under_test):
    result = module_under_test.run(FakeModule(runtime="mlflow", units=["mlflow.service"], targets=[],
                                              catalog_extra={"mlflow": {"health": None}}))
    assert "knows no functional check" in result["skip_reason"]


def test_every_builtin_health_entry_survives_a_deep_copy_round_trip():
    # The catalog is data: the module copies it through Ansible's JSON arguments.
    for name, entry in CATALOG.items():
        if entry["health"]:
            assert json.loads(json.dumps(copy.deepcopy(entry["health"]))) == entry["health"]


def test_held_ports_are_the_listening_sockets_of_the_units_processes(module_under_test, servers, monkeypatch):
    """Read from this test's own /proc entry: the port of a server it runs is held by 'its unit'."""
    target = servers(_JsonHandler)
    me = procfs.read_process(os.getpid(), details=False)
    me["unit"] = "x.service"
    monkeypatch.setattr(module_under_test.procfs, "scan_processes", lambda details: {me["pid"]: me})
    assert target["port"] in module_under_test.held_ports(["x.service"], os.getpid())
    assert target["port"] not in module_under_test.held_ports(["y.service"], os.getpid())


def test_the_main_process_is_read_with_its_environment():
    from ansible_collections.aihost.hardening.plugins.modules import runtime_health as mod
    process = mod.read_main_process(os.getpid())
    assert process["uid"] == os.getuid() and process["cmdline"] and process["home"]
    assert process["environ"].get("PATH") == os.environ.get("PATH")
