"""The loopback role's nginx proxies: TLS 1.2 only with forward-secret AEAD ciphers (and 1.3), every
path in the configuration quoted, and paths that could break out of a quoted nginx string refused
by the role's input checks before anything changes, with the variable named."""
import json
import os
import re
import subprocess
import sys

import jinja2
import pytest

ROLE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHECKOUT = os.path.abspath(os.path.join(ROLE, "..", ".."))
TOKEN_SHA256 = "3f1c0a9be2d47c11" + "0" * 48
CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
           "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")


def render(auth):
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["comment"] = lambda text: "# " + text
    item = {"display_name": "Ollama", "runtime": "ollama", "upstream_port": 11434, "port": 8443, "auth": auth,
            "sources": ["10.0.0.0/8"], "ipv6": False, "tls_cert": "/etc/aihost/loopback/8443.crt",
            "tls_key": "/etc/aihost/loopback/8443.key", "max_body_size": "16m", "upstream_host_header": "upstream",
            "requests_per_minute": 120, "burst": 40, "connections_per_client": 16}
    token_files = {"results": [{"item": {"port": 8443}, "stat": {"exists": True, "checksum": TOKEN_SHA256}},
                               {"item": {"port": 9000}, "stat": {"exists": True, "checksum": "f" * 64}}]}
    return environment.get_template("proxy.conf.j2").render(
        item=item, ansible_managed="Ansible managed", aihost_loopback_secrets_dir="/etc/aihost/loopback",
        aihost_loopback__token_files=token_files)


@pytest.mark.parametrize("auth", ["token", "basic"])
def test_tls_is_1_2_and_1_3_with_forward_secret_aead_ciphers_only(auth):
    text = render(auth)
    assert re.search(r"^\s*ssl_protocols\s+TLSv1\.2 TLSv1\.3;$", text, re.M)
    assert re.search(r"^\s*ssl_ciphers\s+%s;$" % re.escape(CIPHERS), text, re.M)
    assert re.search(r"^\s*ssl_prefer_server_ciphers\s+off;$", text, re.M)


@pytest.mark.parametrize("auth, directive", [
    ("token", 'include "/etc/aihost/loopback/8443.bearer.map";'),
    ("token", 'ssl_certificate     "/etc/aihost/loopback/8443.crt";'),
    ("token", 'ssl_certificate_key "/etc/aihost/loopback/8443.key";'),
    ("basic", 'auth_basic_user_file "/etc/aihost/loopback/8443.htpasswd";'),
    ("basic", 'access_log "/var/log/nginx/aihost-loopback-8443.access.log" aihost_loopback_8443;'),
])
def test_every_path_in_the_configuration_is_quoted(auth, directive):
    assert directive in render(auth)


@pytest.mark.parametrize("auth", ["token", "basic"])
def test_each_client_is_limited_in_rate_and_connections_with_429(auth):
    text = render(auth)
    assert "limit_req_zone $binary_remote_addr zone=aihost_loopback_req_8443:1m rate=120r/m;" in text
    assert "limit_conn_zone $binary_remote_addr zone=aihost_loopback_conn_8443:1m;" in text
    server = text[text.index("server {"):]
    assert "limit_req zone=aihost_loopback_req_8443 burst=40 nodelay;" in server
    assert "limit_conn aihost_loopback_conn_8443 16;" in server
    assert "limit_req_status 429;" in server and "limit_conn_status 429;" in server


def test_the_access_log_names_the_token_by_id_and_logs_no_query_or_header():
    text = render("token")
    assert '"token:3f1c0a9be2d4";' in text
    log_format = text[text.index("log_format aihost_loopback_8443"):text.index("server {")]
    assert "$uri" in log_format and "$request " not in log_format and "$request_uri" not in log_format
    assert "$args" not in log_format and "$http_" not in log_format
    assert "client=$aihost_loopback_client_8443" in log_format
    assert 'aihost-loopback-8443.access.log" aihost_loopback_8443;' in text
    assert '"user:$remote_user"' in render("basic")


# ---------------------------------------------------------------- input checks (validate.yml)

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  connection: local
  tasks:
    - name: Check the inputs
      block:
        - ansible.builtin.include_role:
            name: aihost.hardening.loopback
            tasks_from: validate.yml
        - ansible.builtin.copy:
            content: "{{ {'failed': false} | to_json }}"
            dest: "{{ result_file }}"
      rescue:
        - ansible.builtin.copy:
            content: "{{ {'failed': true, 'msg': ansible_failed_result.msg} | to_json }}"
            dest: "{{ result_file }}"
"""


def validate(tmp_path, extra_vars):
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(playbook_bin):
        pytest.skip("ansible-playbook is not installed next to this Python")
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    result_file = tmp_path / "result.json"
    (tmp_path / "vars.json").write_text(json.dumps(dict(extra_vars, result_file=str(result_file))))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(CHECKOUT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    out = subprocess.run([playbook_bin, "-i", "localhost,", str(tmp_path / "play.yml"), "-e", "@%s" % (tmp_path / "vars.json"),
                          "-e", "ansible_python_interpreter=%s" % sys.executable],
                         cwd=CHECKOUT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, check=False).stdout
    assert result_file.exists(), out
    return json.loads(result_file.read_text())


def entry(**kwargs):
    return dict({"runtime": "ollama", "port": 8443, "sources": ["10.0.0.0/8"]}, **kwargs)


BAD_PATHS = [
    # (entry field or None for aihost_loopback_secrets_dir, value)
    (None, "/etc/aihost/loop;back"),
    ("tls_cert", "/etc/ssl/a b.crt"),                   # whitespace
    ("tls_key", '/etc/ssl/a.key"; include /x'),        # ends the quoted string
    ("tls_cert", "/etc/ssl/a.crt}"),
    ("tls_key", "/etc/ssl/a.key\n"),                   # a final newline ($ would let it through)
    ("tls_cert", "/etc/ssl/$host.crt"),                 # an nginx variable
    ("tls_key", "etc/ssl/a.key"),                       # relative
]


def test_paths_that_could_break_out_of_the_nginx_configuration_are_refused(tmp_path):
    """One run, every bad path at once: each error names its variable (all are listed together)."""
    entries = []
    for index, (field, value) in enumerate(BAD_PATHS[1:]):
        paths = {"tls_cert": "/etc/ssl/ok.crt", "tls_key": "/etc/ssl/ok.key"}
        paths[field] = value
        entries.append(entry(port=8443 + index, **paths))
    result = validate(tmp_path, {"aihost_loopback_secrets_dir": BAD_PATHS[0][1], "aihost_loopback_remote_access": entries})
    assert result["failed"] is True
    errors = result["msg"].split("; aihost_loopback_")
    assert len(errors) == len(BAD_PATHS), result["msg"]
    assert result["msg"].startswith("aihost_loopback_secrets_dir: " + json.dumps(BAD_PATHS[0][1]) + " must be an absolute path")
    for index, (field, value) in enumerate(BAD_PATHS[1:]):
        assert "aihost_loopback_remote_access[%d].%s: %s must be an absolute path" % (index, field, json.dumps(value)) in result["msg"]


def test_plain_absolute_paths_pass(tmp_path):
    result = validate(tmp_path, {"aihost_loopback_secrets_dir": "/etc/aihost/loopback",
                                 "aihost_loopback_remote_access": [entry(tls_cert="/etc/ssl/host.crt",
                                                                         tls_key="/etc/ssl/private/host.key")]})
    assert result == {"failed": False}


def test_limits_that_are_not_whole_numbers_in_range_are_refused(tmp_path):
    entries = [entry(port=8443, requests_per_minute=0), entry(port=8444, burst="10; include /etc/shadow"),
               entry(port=8445, connections_per_client=100000), entry(port=8446, requests_per_minute=-5)]
    result = validate(tmp_path, {"aihost_loopback_secrets_dir": "/etc/aihost/loopback", "aihost_loopback_remote_access": entries})
    assert result["failed"] is True
    assert "aihost_loopback_remote_access[0].requests_per_minute: 0 is not a whole number from 1 to 60000" in result["msg"]
    assert "aihost_loopback_remote_access[1].burst: 10; include /etc/shadow is not a whole number from 1 to 10000" in result["msg"]
    assert "aihost_loopback_remote_access[2].connections_per_client: 100000 is not a whole number from 1 to 10000" in result["msg"]
    assert "aihost_loopback_remote_access[3].requests_per_minute: -5 is not a whole number" in result["msg"]
