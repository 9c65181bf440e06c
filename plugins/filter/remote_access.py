# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of the loopback role's remote-access proxies (aihost_loopback_remote_access).

Port, sources and runtime are checked by ``exposure_errors``, the one validator of the shared
allowed-exposures shape; this adds what only a proxy has: certificate paths that go into the nginx
configuration, size and rate limits, the basic-auth user, the upstream port, one entry per port.
Controller side; documentation in ``remote_access_errors.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.aihost.hardening.plugins.filter.exposures import _port_value, exposure_errors

# A path that goes into nginx's configuration: no whitespace, quote, ';', braces, '$' (nginx
# variables), backslash or control character, so it stays one argument of one directive.
NGINX_PATH = re.compile(r"^/[^\s'\";{}$\\\x00-\x1f\x7f-\x9f]*\Z")
NGINX_PATH_RULE = ("must be an absolute path without whitespace, quotes, ';', '{', '}', '$', backslashes or control "
                   "characters (it is written into the nginx configuration)")
SIZE = re.compile(r"^[0-9]+[kKmMgG]?\Z")
WHOLE_NUMBER = re.compile(r"^[0-9]+\Z")
BASIC_USER = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")
# key, default, largest value
LIMITS = (("requests_per_minute", 120, 60000), ("burst", 40, 10000), ("connections_per_client", 16, 10000))


def _whole_number_within(value, low, high):
    return WHOLE_NUMBER.match(str(value)) is not None and low <= int(value) <= high


def remote_access_errors(entries, var_name="remote_access", runtimes=None, secrets_dir=None,
                         secrets_dir_var="secrets_dir"):
    """One message per problem in the proxy entries (and SECRETS_DIR when given); empty when valid."""
    errors = []
    if secrets_dir is not None and not NGINX_PATH.match(str(secrets_dir)):
        errors.append("%s: %s %s" % (secrets_dir_var, json.dumps(str(secrets_dir)), NGINX_PATH_RULE))
    entries = entries or []
    as_exposures = [{"port": entry.get("port"), "proto": "tcp", "sources": entry.get("sources"),
                     "runtime": entry.get("runtime"), "reason": "remote access"}
                    if isinstance(entry, dict) else entry for entry in entries]
    errors += exposure_errors(as_exposures, var_name, runtimes=runtimes)
    ports = [_port_value(entry.get("port")) for entry in entries if isinstance(entry, dict)]
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        where = "%s[%d]" % (var_name, index)
        for key in ("tls_cert", "tls_key"):
            if entry.get(key) is not None and not NGINX_PATH.match(str(entry[key])):
                errors.append("%s.%s: %s %s" % (where, key, json.dumps(str(entry[key])), NGINX_PATH_RULE))
        if (entry.get("tls_cert") is None) != (entry.get("tls_key") is None):
            errors.append("%s: tls_cert and tls_key go together (got only %s)"
                          % (where, "tls_cert" if entry.get("tls_key") is None else "tls_key"))
        if not SIZE.match(str(entry.get("max_body_size", "16m"))):
            errors.append("%s.max_body_size: %s is not a size such as 16m, 512k or 1g" % (where, entry.get("max_body_size")))
        for key, default, most in LIMITS:
            if not _whole_number_within(entry.get(key, default), 1, most):
                errors.append("%s.%s: %s is not a whole number from 1 to %d" % (where, key, entry.get(key), most))
        if not BASIC_USER.match(str(entry.get("basic_user", "aihost"))):
            errors.append("%s.basic_user: %s may use letters, digits, dot, dash and underscore only"
                          % (where, entry.get("basic_user")))
        upstream = entry.get("upstream_port")
        if upstream is not None and not _whole_number_within(upstream, 1, 65535):
            errors.append("%s.upstream_port: %s is not a port number (1-65535)" % (where, upstream))
        port = _port_value(entry.get("port"))
        if port is not None and ports.count(port) > 1:
            errors.append("%s.port: %s is used by another entry" % (where, entry.get("port")))
    return errors


class FilterModule(object):
    """aihost.hardening filters for the loopback role's remote-access proxies."""

    def filters(self):
        return {"remote_access_errors": remote_access_errors}
