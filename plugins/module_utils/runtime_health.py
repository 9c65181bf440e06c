# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Functional health checks: after a restart under a new sandbox, make the one cheap call the
runtime catalog knows for the runtime (``health`` of its entry) and judge the answer.

A port that accepts connections is not a runtime that works: a sandbox that leaves MLflow's sqlite
store read-only still answers ``GET /``, but every write answers 503. The calls are data in the
catalog (``plugins/module_utils/runtime_catalog.py``); this file builds the requests, sends them to
the addresses the runtime listens on (standard library ``http.client``: no proxy, no redirects),
judges the answers and always undoes what a step created, even when a later step failed.

Pure functions (``render``, ``build_request``, ``judge``, ``excerpt``, ``find_value``,
``resolve_auth``, ``run_check``) take their I/O as arguments, so unit tests drive them with a local
``http.server``. Secrets: the credential a runtime needs (Jupyter's token) is read on the host from
the runtime's own records (``/proc/<pid>/environ``, its command line, JSON files its user owns), sent
only in a request header to a port the runtime's own unit holds, and never returned: results carry
where it was found, never its value, and answer excerpts have it replaced.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import copy
import http.client as http_client
import json
import os
import re
import stat
import time
from urllib.parse import quote

from ansible_collections.aihost.hardening.plugins.module_utils.runtime_catalog import (
    HEALTH_WRITE_METHODS)
from ansible_collections.aihost.hardening.plugins.module_utils.runtime_detect import (
    evaluate_auth, expand_path, find_flag, match_process)
from ansible_collections.aihost.hardening.plugins.module_utils.redact import REDACTED, redact_url

# Every object a check creates is named so, for anyone who finds one left behind.
NAME_PREFIX = "aihost-health-"
# Largest JSON file read for a credential or base URL, and largest answer read.
MAX_FILE = 64 * 1024
MAX_ANSWER = 256 * 1024
EXCERPT = 160
USER_AGENT = "aihost.hardening-runtime-health"
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BLANKS = re.compile(r"\s+")


class HealthError(Exception):
    """A call could not be built (a variable is missing)."""


def _quote_path(value):
    return quote(value, safe="")


def new_variables(random_bytes=None):
    """The built-in variables: ``name`` (aihost-health-<12 hex>) and ``nonce`` (32 hex)."""
    data = random_bytes if random_bytes is not None else os.urandom(22)
    text = binascii.hexlify(data).decode("ascii")
    return {"name": NAME_PREFIX + text[:12], "nonce": text[12:44]}


def render(value, variables, in_path=False):
    """``value`` with every ``{variable}`` of its strings replaced (dict keys are kept). In a path the
    values are percent-encoded. A variable that is not known raises HealthError."""
    if isinstance(value, str):
        def replace(match):
            name = match.group(1)
            if name not in variables:
                raise HealthError("{%s} is not known at this step" % name)
            text = "%s" % (variables[name],)
            return _quote_path(text) if in_path else text
        return _VARIABLE.sub(replace, value)
    if isinstance(value, dict):
        return dict((key, render(item, variables, in_path)) for key, item in value.items())
    if isinstance(value, list):
        return [render(item, variables, in_path) for item in value]
    return copy.deepcopy(value)


def join_base(base_url, path):
    """The request path under ``base_url`` (Jupyter's --ServerApp.base_url, llama-server's --api-prefix)."""
    base = (base_url or "").strip()
    if not base or base == "/":
        return path
    if "://" in base:
        return path  # a full URL is not a path prefix; ignore it
    return "/" + base.strip("/") + path


def build_request(call, variables, base_url="", auth_header=None):
    """Return ``{method, path, headers, body}`` for a step or cleanup of the catalog."""
    path = join_base(base_url, render(call["path"], variables, in_path=True))
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    headers.update(render(call.get("headers") or {}, variables))
    body = None
    if "body" in call:
        body = json.dumps(render(call["body"], variables)).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if auth_header:
        headers[auth_header[0]] = auth_header[1]
    return {"method": call["method"], "path": path, "headers": headers, "body": body}


def describe(request):
    """``METHOD /path`` (paths never carry secrets: the credential goes in a header)."""
    return "%s %s" % (request["method"], request["path"])


def excerpt(body, secrets=()):
    """A short, one-line text of an answer, for messages: the error message of a JSON answer
    (MLflow's ``message``, Jupyter's ``message``, llama.cpp's ``error.message``), else the start of the
    text; passwords in URLs and the given secrets are replaced."""
    if not body:
        return ""
    if isinstance(body, bytes):
        body = body[:MAX_ANSWER].decode("utf-8", "replace")
    text = body
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "reason"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value:
                text = value
                break
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BLANKS.sub(" ", redact_url(text)).strip()
    if len(text) > EXCERPT:
        text = text[:EXCERPT - 3] + "..."
    return text


def judge(call, status, body):
    """Return ``(ok, saved, problem)`` for an answer: the status must be expected; with
    ``json_keys`` the answer must be a JSON object that has them; ``save`` takes its values."""
    expect = call.get("expect") or {}
    if status not in expect.get("status", []):
        return False, {}, "answered %s (expected %s)" % (status, "/".join(str(code) for code in expect["status"]))
    needed = list(expect.get("json_keys") or []) + list((call.get("save") or {}).values())
    if not needed:
        return True, {}, None
    try:
        data = json.loads(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    except (ValueError, AttributeError, TypeError):
        data = None
    if not isinstance(data, dict):
        return False, {}, "answered %s without a JSON object" % status
    missing = [key for key in needed if key not in data]
    if missing:
        return False, {}, "answered %s without %s" % (status, ", ".join(sorted(set(missing))))
    saved = {}
    for variable, key in (call.get("save") or {}).items():
        value = data[key]
        if isinstance(value, (dict, list)) or value is None:
            return False, {}, "answered %s with a %s where %s should be a value" % (status, type(value).__name__, key)
        saved[variable] = value
    return True, saved, None


def step_writes(step):
    return step.get("writes", step["method"] in HEALTH_WRITE_METHODS)


# --------------------------------------------------------------------------------------------
# Reading a runtime's own settings on the host
# --------------------------------------------------------------------------------------------

def _strip_quotes(value):
    if value is not None and len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    return value


def read_owned_json(path, uid):
    """The JSON object in ``path`` when it is a regular file of at most MAX_FILE bytes owned by
    ``uid`` (the runtime's own user) and the last component is not a symbolic link; else None. So a
    runtime user can never make root read another account's file into a request."""
    if not path or uid is None:
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != uid or info.st_size > MAX_FILE:
            return None
        data = b""
        while len(data) <= MAX_FILE:
            chunk = os.read(fd, MAX_FILE + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        value = json.loads(data.decode("utf-8"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def find_value(source, process, read_json):
    """Look up a setting of the runtime: JSON ``files`` first (the value the runtime resolved and
    recorded), then ``flags`` of its command line, then ``env`` of its environment.

    ``process``: {pid, uid, cmdline, environ, home, cwd}. Returns ``(found, value, where)``; ``where``
    names the file, flag or variable, never the value. An empty value is found (and empty).
    """
    if not source:
        return False, None, None
    environ = process.get("environ") or {}
    for spec in source.get("files") or []:
        path = expand_path(spec["path"].replace("{pid}", str(process.get("pid"))), process.get("home"),
                           environ, process.get("cwd"))
        data = read_json(path, process.get("uid")) if path else None
        if data is not None and isinstance(data.get(spec["key"]), str):
            return True, data[spec["key"]], "%s in %s" % (spec["key"], path)
    for flag in source.get("flags") or []:
        present, value = find_flag(process.get("cmdline") or [], flag)
        if present and value is not None:
            return True, _strip_quotes(value), "flag %s" % flag
    for name in source.get("env") or []:
        if name in environ:
            return True, _strip_quotes(environ[name]), "environment variable %s" % name
    return False, None, None


def resolve_auth(entry, process, lookup):
    """Decide how to authenticate: ``{header, secret, where, skip}``.

    A credential the catalog says where to find, found and not empty, goes in its header. Without
    one, the check runs unauthenticated only when the runtime's auth is off by the catalog's auth
    rules; otherwise it is skipped (``skip`` says why): the role cannot obtain the secret.
    """
    health = entry.get("health") or {}
    spec = health.get("credential")
    where = None
    if spec:
        found, value, where = lookup(spec)
        if found and value and spec.get("separator"):
            value = value.split(spec["separator"])[0].strip()
        if found and value:
            scheme = spec.get("scheme")
            header = (spec["header"], "%s %s" % (scheme, value) if scheme else value)
            return {"header": header, "secret": value, "where": where, "skip": None}
    auth = evaluate_auth(entry, process.get("cmdline") or [], process.get("environ"))
    if auth["enabled"] is False or (auth["enabled"] is None and not spec):
        return {"header": None, "secret": None, "where": auth["evidence"], "skip": None}
    return {"header": None, "secret": None, "where": None,
            "skip": "%s needs authentication (%s) and the role found no credential it can use%s: "
                    "functional check skipped, ports only"
                    % (entry.get("display_name"), auth["evidence"],
                       " (%s was empty)" % where if where else "")}


def process_applies(health, process):
    """True when the check applies to this main process (``health.processes``, if any)."""
    alternatives = health.get("processes")
    if not alternatives:
        return True
    return match_process({"name": process.get("name"), "cmdline": process.get("cmdline") or [],
                          "cwd": process.get("cwd"), "_details": True},
                         {"match": {"processes": alternatives}})


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------

def http_send(host, port, request, timeout):
    """Send one request with http.client (no proxy, no redirect); return ``(status, body)``."""
    connection = http_client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(request["method"], request["path"], body=request["body"], headers=request["headers"])
        response = connection.getresponse()
        return response.status, response.read(MAX_ANSWER)
    finally:
        connection.close()


def _transport_error(exc):
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return "%s (%s)" % (type(exc).__name__, text)


def _call(send, target, request, timeout, deadline, retry_status, retry_transport, clock, sleep):
    """Send until an answer that is not in ``retry_status`` comes, or the deadline passes.
    Connection refused is always retried (nothing was sent); other transport errors only when
    ``retry_transport`` (a call that writes may have been processed). Returns
    ``(status, body, error, attempts)``."""
    delay = 1.0
    attempts = 0
    while True:
        attempts += 1
        remaining = deadline - clock()
        try:
            status, body = send(target["host"], target["port"], request, max(1.0, min(timeout, remaining)))
        except ConnectionRefusedError as exc:
            error, retryable = exc, True
        except (OSError, http_client.HTTPException) as exc:
            error, retryable = exc, retry_transport
        else:
            if status in retry_status and clock() + delay < deadline:
                sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            return status, body, None, attempts
        if not retryable or clock() + delay >= deadline:
            return None, None, error, attempts
        sleep(delay)
        delay = min(delay * 2, 5.0)


def _target_label(target):
    host = target["host"]
    return "%s:%s" % ("[%s]" % host if ":" in host else host, target["port"])


def run_check(display_name, health, target, send, variables, base_url="", auth=None, timeout=120.0,
              request_timeout=10.0, clock=time.monotonic, sleep=time.sleep, cleanup_grace=30.0):
    """Run the steps of ``health`` against one ``target`` ({host, port}); undo what they created.

    Returns ``{target, ok, calls, failure, notes}``: ``calls`` lists each call (``call``, ``status``,
    ``ok``, ``cleanup``); ``failure`` is a one-line sentence naming the call and its status (no
    secret), or None.
    """
    auth = auth or {}
    secrets = [auth.get("secret")] if auth.get("secret") else []
    label = _target_label(target)
    deadline = clock() + timeout
    variables = dict(variables)
    calls, notes = [], []
    failure = None
    pending = []  # (step, answered, passed) of steps that were sent and have a cleanup
    for step in health["steps"]:
        try:
            request = build_request(step, variables, base_url, auth.get("header"))
        except HealthError as exc:
            failure = "%s: cannot build %s %s: %s" % (display_name, step["method"], step["path"], exc)
            break
        writes = step_writes(step)
        status, body, error, _attempts = _call(
            send, target, request, step.get("timeout", request_timeout), deadline,
            step.get("retry_status") or [], not writes, clock, sleep)
        if error is not None:
            failure = "%s: %s on %s got no answer: %s" % (display_name, describe(request), label, _transport_error(error))
            calls.append({"call": describe(request), "target": label, "status": None, "ok": False, "cleanup": False})
            if "cleanup" in step and not isinstance(error, ConnectionRefusedError):
                pending.append((step, False, False))
            break
        ok, saved, problem = judge(step, status, body)
        calls.append({"call": describe(request), "target": label, "status": status, "ok": ok, "cleanup": False})
        if "cleanup" in step:
            pending.append((step, True, ok))
        if not ok:
            detail = excerpt(body, secrets)
            failure = "%s: %s on %s %s%s" % (display_name, describe(request), label, problem,
                                             ": %s" % detail if detail else "")
            break
        variables.update(saved)
    # Undo in reverse order, whatever happened above, with a grace period of its own.
    cleanup_deadline = clock() + cleanup_grace
    for step, answered, step_ok in reversed(pending):
        cleanup = step["cleanup"]
        try:
            request = build_request(cleanup, variables, base_url, auth.get("header"))
        except HealthError as exc:
            if not answered or step_ok:
                # Without an answer the call may still have created something.
                notes.append("%s: could not undo %s %s on %s (%s): look for objects named %s*"
                             % (display_name, step["method"], step["path"], label, exc, NAME_PREFIX))
            # A refused write answered with an error created nothing the cleanup could name.
            continue
        status, body, error, _attempts = _call(send, target, request, request_timeout,
                                               max(cleanup_deadline, clock() + 1.0), [], False, clock, sleep)
        if error is not None:
            ok, problem = False, "got no answer: %s" % _transport_error(error)
        else:
            ok, _saved, problem = judge(cleanup, status, body)
        calls.append({"call": describe(request), "target": label, "status": status, "ok": ok, "cleanup": True})
        if ok:
            continue
        detail = excerpt(body, secrets) if error is None else ""
        sentence = "%s: cleanup %s on %s %s%s" % (display_name, describe(request), label, problem,
                                                  ": %s" % detail if detail else "")
        if step_ok and failure is None:
            # The write worked and its undo did not: the runtime does not work, and something was left.
            failure = sentence
        else:
            notes.append(sentence)
    return {"target": label, "ok": failure is None, "calls": calls, "failure": failure, "notes": notes}
