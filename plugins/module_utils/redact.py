# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redact secrets from what detection reads on a host: argv, environments, unit text.

The collection reads command lines and environments of other users' processes as root, and those
carry API keys, tokens and database passwords. Detection derives its facts (auth on or off, data
paths, bind addresses) from the raw values first, then returns only what these functions leave:
the NAME stays, the value becomes ``<redacted>``, so a report still shows that a key is set.

Rules (pure functions, standard library only; they run on targets):

- A flag or variable name is split into word parts at ``-``, ``_``, ``.`` and camelCase
  boundaries (``--ServerApp.token`` -> server, app, token; ``OPENAI_API_KEY`` -> openai, api,
  key; ``apiKey`` -> api, key). It names a secret when
  * any part contains ``secret``, ``password``, ``passwd`` or ``credential``, or
  * the last part ends in ``key``, ``keys``, ``token`` or ``auth`` (API_KEY, APIKEY, HF_TOKEN,
    HUGGING_FACE_HUB_TOKEN, --api-key, --gradio-auth), but not ``tokens`` (--max-tokens,
    num_tokens) and not when another word follows (--keep-alive, KEY_FILE, --token-file,
    SSH_AUTH_SOCK, RAY_AUTH_MODE stay as they are).
- Flag shapes: ``--name=value``, ``--name value`` (the next word, unless it starts with ``-``),
  ``-name=value`` / ``-name value`` (single-dash long options, as Go programs spell them) and
  ``NAME=value`` words (``env X=1 prog``, ``docker run -e X=1``). An empty value is not a secret
  and stays visibly empty (``--ServerApp.token=`` means "no auth"; the audit must still show it);
  so do on/off words (``WEBUI_AUTH=False``). Switches are not settings: ``--no-auth``,
  ``--disable-token-auth`` and ``ENABLE_AUTH`` are not secret names.
- URLs with a password anywhere in a value: ``https://u:p@host/`` -> ``https://u:<redacted>@host/``.
  A password must be percent-encoded in a URL (RFC 3986), so it ends at the first ``/``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

REDACTED = "<redacted>"

_ANYWHERE = ("secret", "password", "passwd", "credential")
_LAST_SUFFIXES = ("key", "keys", "token", "auth")
# Switches, not settings: --no-auth, --disable-token-auth, ENABLE_AUTH.
_SWITCH_PREFIXES = ("no", "disable", "enable")
# Values that mean "empty" once the shell's quotes are left in (setproctitle, unit text).
_EMPTY = ("", "''", '""')
# Values that say whether something is on, which no one uses as a secret: kept, so that a report
# still shows WEBUI_AUTH=False.
_SWITCH_VALUES = ("true", "false", "yes", "no", "on", "off", "0", "1", "none", "null")

_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+")
_FLAG = re.compile(r"^(?P<dashes>--?)(?P<name>[A-Za-z][A-Za-z0-9_.-]*)(?:(?P<eq>=)(?P<value>.*))?$", re.S)
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$", re.S)
# scheme://user:password@ (the password up to the last "@" before the first "/" or blank).
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*):(?P<password>[^\s/]*)@")


def name_parts(name):
    """Lower-case word parts of a flag or variable name (see the module docstring)."""
    parts = []
    for chunk in _SPLIT.split(name or ""):
        parts.extend(part.lower() for part in _CAMEL.findall(chunk))
    return parts


def is_secret_name(name):
    """True when a flag or variable name means its value is a secret."""
    parts = name_parts(name)
    if not parts or (len(parts) > 1 and parts[0] in _SWITCH_PREFIXES):
        return False
    if any(word in part for part in parts for word in _ANYWHERE):
        return True
    return parts[-1].endswith(_LAST_SUFFIXES)


def is_empty(value):
    return value is None or value.strip() in _EMPTY


def _keeps(value):
    """True for values that are not secrets whatever their name: empty ones and on/off words."""
    return is_empty(value) or value.strip().strip("'\"").lower() in _SWITCH_VALUES


def redact_url(text):
    """Replace the password of every ``scheme://user:password@`` in ``text``."""
    if not isinstance(text, str) or "://" not in text:
        return text

    def replace(match):
        if match.group("password") == "":
            return match.group(0)
        return "%s:%s@" % (match.group("head"), REDACTED)
    return _URL_PASSWORD.sub(replace, text)


def redact_value(name, value):
    """The value of flag or variable ``name`` as it may be shown."""
    if not isinstance(value, str):
        return value
    if is_secret_name(name) and not _keeps(value):
        return REDACTED
    return redact_url(value)


def _secret_flag(arg):
    """(flag match, secret) for one argv word; flags of one letter are never judged."""
    match = _FLAG.match(arg)
    if match is None or (match.group("dashes") == "-" and len(match.group("name")) < 2):
        return None, False
    return match, is_secret_name(match.group("name"))


def redact_argv(argv):
    """A copy of ``argv`` with the values of secret flags and variables and URL passwords redacted."""
    if not argv:
        return list(argv or [])
    out = []
    waiting = False  # the previous word was a secret flag without "=": this word is its value
    for arg in argv:
        if not isinstance(arg, str):
            out.append(arg)
            waiting = False
            continue
        if waiting:
            waiting = False
            if not arg.startswith("-"):
                out.append(arg if _keeps(arg) else REDACTED)
                continue
        match, secret = _secret_flag(arg)
        if match is not None:
            if secret and match.group("eq"):
                value = match.group("value")
                out.append(arg if _keeps(value) else "%s%s=%s" % (match.group("dashes"), match.group("name"), REDACTED))
                continue
            if secret:
                waiting = True
                out.append(arg)
                continue
            out.append(redact_url(arg))
            continue
        assignment = _ASSIGNMENT.match(arg)
        if assignment is not None:
            out.append("%s=%s" % (assignment.group("name"), redact_value(assignment.group("name"), assignment.group("value"))))
            continue
        out.append(redact_url(arg))
    return out


def redact_environ(environ):
    """A copy of an environment dict with the values of secret variables and URL passwords redacted."""
    if environ is None:
        return None
    return dict((name, redact_value(name, value)) for name, value in environ.items())


# --------------------------------------------------------------------------------------------
# Unit text (for showing a unit or drop-in: its Environment= values and command lines)
# --------------------------------------------------------------------------------------------

def _words(value):
    """Split a systemd value into (start, end, word) like systemd does (quotes, backslashes);
    raises ValueError on an unterminated quote."""
    words = []
    index, length = 0, len(value)
    while index < length:
        while index < length and value[index].isspace():
            index += 1
        if index >= length:
            break
        start, word = index, []
        while index < length and not value[index].isspace():
            char = value[index]
            if char in ("'", '"'):
                end = index + 1
                while end < length and value[end] != char:
                    if value[end] == "\\" and end + 1 < length:
                        end += 1
                    word.append(value[end])
                    end += 1
                if end >= length:
                    raise ValueError("unterminated quote")
                index = end + 1
            elif char == "\\" and index + 1 < length:
                word.append(value[index + 1])
                index += 2
            else:
                word.append(char)
                index += 1
        words.append((start, index, "".join(word)))
    return words


def _requote(word, quoted=False):
    if not quoted and word and re.match(r"^[A-Za-z0-9_@%+=:,./<>\[\]-]+$", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def redact_command_text(value):
    """Redact one systemd value (an ExecStart= command line, an Environment= list): changed
    words are re-quoted, the others copied as written. Unparsable text is redacted whole."""
    try:
        words = _words(value)
    except ValueError:
        return REDACTED if value.strip() else value
    redacted = redact_argv([word for _start, _end, word in words])
    out = value
    for (start, end, word), new in sorted(zip(words, redacted), key=lambda item: item[0][0], reverse=True):
        if new != word:
            out = out[:start] + _requote(new, value[start] in "'\"") + out[end:]
    return out


def redact_unit_text(text):
    """Unit or drop-in text with secret Environment= values, secret flags of command lines and URL
    passwords redacted. Continuation lines are joined first (a flag and its value may be split)."""
    if not isinstance(text, str):
        return text
    lines = []
    for line in re.sub(r"\\\n", " ", text).split("\n"):
        stripped = line.lstrip()
        indent = line[:len(line) - len(stripped)]
        if not stripped or (stripped.startswith("[") and stripped.rstrip().endswith("]")):
            lines.append(line)
        elif stripped[0] in "#;":
            lines.append(indent + stripped[0] + redact_command_text(stripped[1:]))
        elif "=" in stripped:
            key, value = stripped.split("=", 1)
            lines.append(indent + key + "=" + redact_command_text(value))
        else:
            lines.append(indent + redact_command_text(stripped))
    return "\n".join(lines)
