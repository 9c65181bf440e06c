"""The loopback role's proxy entries are refused before any change, with a message that names the
entry and the value (plugins/filter/remote_access.py; formerly Jinja in tasks/validate.yml, untested)."""
import pytest

from ansible_collections.aihost.hardening.plugins.filter.remote_access import remote_access_errors

VAR = "aihost_loopback_remote_access"
GOOD = {"runtime": "jupyter", "port": 8443, "sources": ["10.0.0.0/24"]}


def test_good_entries_pass():
    entries = [GOOD, dict(GOOD, port=9443, auth="basic", basic_user="ops.team", tls_cert="/etc/ssl/a.crt",
                          tls_key="/etc/ssl/private/a.key", max_body_size="512k", requests_per_minute=600,
                          burst=100, connections_per_client=4, upstream_port=8890)]
    assert remote_access_errors(entries, VAR, runtimes=["jupyter"], secrets_dir="/etc/aihost/loopback") == []


@pytest.mark.parametrize("change, message", [
    ({"tls_cert": "/etc/ssl/a.crt;\ninclude /tmp/x", "tls_key": "/k"},
     '%s[0].tls_cert: "/etc/ssl/a.crt;\\ninclude /tmp/x" must be an absolute path without whitespace' % VAR),
    ({"tls_key": "/etc/ssl/a.key"}, "%s[0]: tls_cert and tls_key go together (got only tls_key)" % VAR),
    ({"max_body_size": "16 m"}, "%s[0].max_body_size: 16 m is not a size such as 16m, 512k or 1g" % VAR),
    ({"requests_per_minute": 0}, "%s[0].requests_per_minute: 0 is not a whole number from 1 to 60000" % VAR),
    ({"burst": "10; x"}, "%s[0].burst: 10; x is not a whole number from 1 to 10000" % VAR),
    ({"connections_per_client": None}, "%s[0].connections_per_client: None is not a whole number" % VAR),
    ({"basic_user": "a b"}, "%s[0].basic_user: a b may use letters, digits, dot, dash and underscore only" % VAR),
    ({"upstream_port": 70000}, "%s[0].upstream_port: 70000 is not a port number (1-65535)" % VAR),
    ({"runtime": "not_known"}, "%s[0].runtime: 'not_known' is not in the runtime catalog" % VAR),
    ({"sources": ["10.0.0.1/8"]}, "%s[0].sources" % VAR),
])
def test_a_bad_entry_is_named(change, message):
    errors = remote_access_errors([dict(GOOD, **change)], VAR, runtimes=["jupyter"])
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_two_entries_on_one_port():
    errors = remote_access_errors([GOOD, dict(GOOD, port="8443")], VAR)
    assert errors == ["%s[0].port: 8443 is used by another entry" % VAR, "%s[1].port: 8443 is used by another entry" % VAR]


def test_the_secrets_dir_is_checked_under_its_own_name():
    errors = remote_access_errors([], VAR, secrets_dir="/etc/aihost/${x}", secrets_dir_var="aihost_loopback_secrets_dir")
    assert errors == ['aihost_loopback_secrets_dir: "/etc/aihost/${x}" must be an absolute path without whitespace, '
                      "quotes, ';', '{', '}', '$', backslashes or control characters (it is written into the nginx "
                      "configuration)"]
    assert remote_access_errors(None, VAR) == []
