"""Verify the loopback role on what the containers really run.

Prepare started REAL Jupyter Server (:8888, --ip=0.0.0.0, --ServerApp.token='' --ServerApp.password=''), MLflow (:5000, --host 0.0.0.0) and a
Gradio app (:7860, GRADIO_SERVER_NAME=0.0.0.0), plus the labelled Ollama stand-in (:11434,
OLLAMA_HOST=0.0.0.0:11434 and OLLAMA_ORIGINS=* in override.conf), all from systemd units, and an admin's daemon.json.
Converge ran the role with two remote-access entries limited to the scenario's Docker network:
Ollama behind a token on 8443 (max body 1m, 60 requests a minute with a burst of 5) and Jupyter
behind basic auth on 8444.
The peer container `loopback-scanner` (nmap, curl) plays the network.
"""
import json
import os
import re

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("aihost_hosts")

# port -> (runtime, loopback URL that answers 200 without credentials)
RUNTIMES = {
    8888: ("jupyter", "/api"),
    5000: ("mlflow", "/health"),
    7860: ("gradio", "/"),
    11434: ("ollama", "/api/version"),
}
TOKEN_PROXY, BASIC_PROXY = 8443, 8444
SECRETS = "/etc/aihost/loopback"
DROPIN = "zz-aihost-loopback.conf"
ADMIN_DAEMON_JSON = {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}


@pytest.fixture(scope="module")
def scanner():
    return testinfra.get_host("ansible://loopback-scanner?ansible_inventory=%s" % INVENTORY)


@pytest.fixture(scope="module")
def address(host):
    """The host container's address on the scenario network, as the scanner sees it."""
    out = host.check_output("ip -4 -o addr show scope global")
    found = re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    assert found, out
    return found[0]


def secret(host, name):
    return host.check_output("cat %s/%s" % (SECRETS, name)).strip()


def curl(node, url, *args):
    """Return (status, headers+body) of one HTTPS/HTTP request made on NODE."""
    cmd = "curl -sk -o /dev/stdout -D /dev/stdout -w '\\n%%{http_code}' --max-time 20 %s %s" % (
        " ".join(args), url)
    out = node.check_output(cmd)
    body, _sep, status = out.rpartition("\n")
    return int(status), body


def test_runtimes_answer_on_loopback(host):
    """Each runtime still serves on 127.0.0.1 after the rebind (HTTP 200)."""
    for port, (runtime, path) in RUNTIMES.items():
        status, _body = curl(host, "http://127.0.0.1:%d%s" % (port, path))
        assert status == 200, "%s on 127.0.0.1:%d answered %s" % (runtime, port, status)


def test_runtimes_listen_on_loopback_only(host):
    """The socket table has the runtimes' ports on 127.0.0.1/::1 only, and the facts agree."""
    out = host.check_output("ss -ltnH")
    for port in RUNTIMES:
        locals_ = [line.split()[3] for line in out.splitlines() if line.split()[3].rsplit(":", 1)[1] == str(port)]
        assert locals_, "nothing listens on %d: %s" % (port, out)
        for local in locals_:
            assert local.rsplit(":", 1)[0].strip("[]") in ("127.0.0.1", "::1"), "%d bound on %s" % (port, local)
    facts = host.ansible("aihost.hardening.ai_runtime_facts", check=True)["ansible_facts"]["aihost_runtime"]
    exposure = dict((r["name"], r["exposure"]) for r in facts["runtimes"] if r["name"] in ("jupyter", "mlflow", "gradio", "ollama"))
    assert exposure == {"jupyter": "loopback", "mlflow": "loopback", "gradio": "loopback", "ollama": "loopback"}


def test_peer_scan_finds_no_runtime(host, scanner, address):
    """From the peer, nmap sees the two proxies open and none of the runtimes' ports.

    The open proxy ports prove the scan reaches the host, so "closed" is a real negative."""
    ports = sorted(RUNTIMES) + [TOKEN_PROXY, BASIC_PROXY]
    out = scanner.check_output("nmap -sT -Pn -n -p %s -oG - %s" % (",".join(map(str, ports)), address))
    states = dict((int(p), s) for p, s in re.findall(r"(\d+)/(open|closed|filtered)/tcp", out))
    assert states.get(TOKEN_PROXY) == "open" and states.get(BASIC_PROXY) == "open", out
    for port in RUNTIMES:
        assert states.get(port) in ("closed", "filtered"), "%d is %s from the peer: %s" % (port, states.get(port), out)


def test_token_proxy_answers_with_the_token(host, scanner, address):
    """Through the proxy, the host's token gets Ollama's answer; the token never reaches Ollama."""
    token = secret(host, "%d.token" % TOKEN_PROXY)
    assert re.match(r"^[0-9a-f]{64}$", token)
    status, body = curl(scanner, "https://%s:%d/api/version" % (address, TOKEN_PROXY),
                        "-H 'Authorization: Bearer %s'" % token)
    assert status == 200, body
    assert json.loads(body.split("\r\n\r\n", 1)[1])["version"]


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer ", "Basic YWlob3N0OmFpaG9zdA=="])
def test_token_proxy_refuses_without_a_valid_token(scanner, address, header):
    """No token, a wrong one or another scheme: 401 with a Bearer challenge, and no Ollama body."""
    args = ("-H '%s'" % ("Authorization: " + header),) if header else ()
    status, body = curl(scanner, "https://%s:%d/api/version" % (address, TOKEN_PROXY), *args)
    assert status == 401, body
    assert re.search(r"(?im)^www-authenticate: Bearer", body), body
    assert "version" not in body.split("\r\n\r\n", 1)[-1]


def test_token_proxy_refuses_other_sources(host):
    """127.0.0.1 is not in the allowlist (the scenario network is): 403, even with the right token."""
    token = secret(host, "%d.token" % TOKEN_PROXY)
    status, _body = curl(host, "https://127.0.0.1:%d/api/version" % TOKEN_PROXY, "-H 'Authorization: Bearer %s'" % token)
    assert status == 403


def test_token_proxy_limits_request_bodies(host, scanner, address):
    """max_body_size 1m: a 2 MiB body gets 413 before it reaches the runtime; a small one passes."""
    token = secret(host, "%d.token" % TOKEN_PROXY)
    auth = "-H 'Authorization: Bearer %s'" % token
    scanner.check_output("head -c 2097152 /dev/zero > /tmp/big.bin")
    status, _body = curl(scanner, "https://%s:%d/api/tags" % (address, TOKEN_PROXY), auth, "--data-binary @/tmp/big.bin")
    assert status == 413
    status, _body = curl(scanner, "https://%s:%d/api/tags" % (address, TOKEN_PROXY), auth, "-X GET")
    assert status == 200


def test_token_proxy_answers_a_burst_past_its_limit_with_429(host, scanner, address):
    """60 requests a minute, burst 5: of 20 authenticated requests sent back to back, about 6 pass
    (plus one per elapsed second) and the rest get 429 at once. The access log names the token by its
    ID (the start of the SHA-256 of the token file), never the token."""
    token = secret(host, "%d.token" % TOKEN_PROXY)
    url = "https://%s:%d/api/version" % (address, TOKEN_PROXY)
    scanner.check_output("sleep 6")  # the earlier tests' requests have left the bucket
    out = scanner.check_output(
        "start=$(date +%%s); for i in $(seq 20); do curl -sk --max-time 20 -o /dev/null -w '%%{http_code}\\n' "
        "-H 'Authorization: Bearer %s' %s; done; echo elapsed=$(( $(date +%%s) - start ))" % (token, url))
    codes = [int(line) for line in out.split() if line.isdigit()]
    elapsed = int(out.rsplit("elapsed=", 1)[1])
    # nginx's leaky bucket: burst + 1 at once, then one a second (one more for rounding).
    passed_at_most = 5 + 2 + elapsed
    assert len(codes) == 20 and set(codes) <= {200, 429}, out
    assert 1 <= codes.count(200) <= passed_at_most, out
    assert codes.count(429) >= 20 - passed_at_most, out
    log = host.check_output("cat /var/log/nginx/aihost-loopback-%d.access.log" % TOKEN_PROXY)
    token_id = host.check_output("sha256sum %s/%d.token" % (SECRETS, TOKEN_PROXY))[:12]
    assert re.search(r'"GET /api/version HTTP/1\.1" 429 .* client=token:%s$' % token_id, log, re.M), log[-2000:]
    assert token not in log
    scanner.check_output("sleep 6")  # leave the bucket empty for the tests after this one


def test_basic_proxy(host, scanner, address):
    """Jupyter behind basic auth: the generated password gets Jupyter's /api; a wrong one gets 401."""
    password = secret(host, "%d.password" % BASIC_PROXY)
    url = "https://%s:%d/api" % (address, BASIC_PROXY)
    status, body = curl(scanner, url, "-u 'aihost:%s'" % password)
    assert status == 200, body
    assert "version" in body
    status, body = curl(scanner, url, "-u 'aihost:not-the-password'")
    assert status == 401
    status, _body = curl(scanner, url)
    assert status == 401


def test_proxy_uses_tls(scanner, address):
    """The proxy speaks TLS only (a self-signed certificate by default); plain HTTP is refused."""
    out = scanner.check_output("curl -skv --max-time 20 -o /dev/null https://%s:%d/ 2>&1 || true" % (address, TOKEN_PROXY))
    assert re.search(r"SSL connection using TLSv1\.[23]", out), out
    status, _body = curl(scanner, "http://%s:%d/" % (address, TOKEN_PROXY))
    assert status == 400  # nginx: "plain HTTP request was sent to HTTPS port"


def test_secrets_are_private(host):
    """Secrets are root-only (htpasswd readable by the nginx group), and no config file holds a token."""
    directory = host.file(SECRETS)
    assert directory.user == "root" and directory.mode == 0o710
    for name in ("%d.token" % TOKEN_PROXY, "%d.bearer.map" % TOKEN_PROXY, "%d.key" % TOKEN_PROXY,
                 "%d.password" % BASIC_PROXY):
        item = host.file("%s/%s" % (SECRETS, name))
        assert item.user == "root" and item.mode == 0o600, name
    htpasswd = host.file("%s/%d.htpasswd" % (SECRETS, BASIC_PROXY))
    assert htpasswd.group == "www-data" and htpasswd.mode == 0o640
    assert htpasswd.content_string.startswith("aihost:$6$")
    token = secret(host, "%d.token" % TOKEN_PROXY)
    assert token not in host.check_output("cat /etc/nginx/conf.d/*.conf")


def test_dropins(host):
    """One drop-in per unit, sorted after the admin's override.conf, with the catalog's knob."""
    ollama = host.file("/etc/systemd/system/ollama.service.d/%s" % DROPIN).content_string
    assert 'Environment="OLLAMA_HOST=127.0.0.1:11434"' in ollama and "ExecStart" not in ollama
    # The admin's drop-in is untouched: ours wins by order.
    assert host.file("/etc/systemd/system/ollama.service.d/override.conf").content_string == \
        '[Service]\nEnvironment="OLLAMA_HOST=0.0.0.0:11434"\nEnvironment="OLLAMA_ORIGINS=*"\n'
    gradio = host.file("/etc/systemd/system/gradio.service.d/%s" % DROPIN).content_string
    assert 'Environment="GRADIO_SERVER_NAME=127.0.0.1"' in gradio
    jupyter = host.file("/etc/systemd/system/jupyter.service.d/%s" % DROPIN).content_string
    assert "ExecStart=\nExecStart=/opt/jupyter/bin/jupyter server --ip=127.0.0.1 --port=8888 --no-browser\n" in jupyter
    mlflow = host.file("/etc/systemd/system/mlflow.service.d/%s" % DROPIN).content_string
    assert re.search(r"ExecStart=\nExecStart=/opt/mlflow/bin/mlflow server --host 127\.0\.0\.1 --port 5000 ", mlflow)
    # systemd sees the result.
    env = host.check_output("systemctl show -p Environment --value ollama.service")
    assert "OLLAMA_HOST=127.0.0.1:11434" in env and "0.0.0.0" not in env


def test_units_backed_up(host):
    """Each rebound unit was copied, as it was, before the first change."""
    for unit in ("jupyter", "mlflow", "gradio", "ollama"):
        backup = host.file("/var/lib/aihost/loopback/backup/units/%s.service" % unit)
        assert backup.exists and backup.mode == 0o600
    assert "--ip=0.0.0.0" in host.file("/var/lib/aihost/loopback/backup/units/jupyter.service").content_string


def test_daemon_json_merged(host):
    """The admin's daemon.json keys stay; "ip" is added; the original is kept in the backup."""
    merged = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert merged == dict(ADMIN_DAEMON_JSON, ip="127.0.0.1")
    original = json.loads(host.file("/var/lib/aihost/loopback/backup/docker/daemon.json").content_string)
    assert original == ADMIN_DAEMON_JSON


def test_nginx_opens_nothing_else(host):
    """Installing nginx opened no other port: the packaged default site (port 80) is disabled."""
    assert not host.file("/etc/nginx/sites-enabled/default").exists
    ports = set()
    for line in host.check_output("ss -ltnpH").splitlines():
        if '"nginx"' in line:
            ports.add(int(line.split()[3].rsplit(":", 1)[1]))
    assert ports == {TOKEN_PROXY, BASIC_PROXY}


# ----------------------------------------------------------------------------------------------
# Auth fixes (#20 part 2)
# ----------------------------------------------------------------------------------------------
TOKEN_FILE = "/etc/aihost/tokens/jupyter.service.token"
EVIDENCE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "evidence")


def test_jupyter_needs_a_token_now(host):
    """Before converge the contents API answered without a token (evidence from prepare); now it
    refuses without one and answers with the token from the root-owned file."""
    with open(os.path.join(EVIDENCE, "%s-jupyter-contents-before.txt" % host.backend.get_hostname())) as handle:
        assert handle.read().strip() == "200"
    status, _body = curl(host, "http://127.0.0.1:8888/api/contents")
    assert status == 403
    status, _body = curl(host, "http://127.0.0.1:8888/api/contents", "-H 'Authorization: token wrong'")
    assert status == 403
    token = host.check_output("cat %s" % TOKEN_FILE).strip()
    assert len(token) >= 32
    status, body = curl(host, "http://127.0.0.1:8888/api/contents", "-H 'Authorization: token %s'" % token)
    assert status == 200, body
    assert '"type": "directory"' in body or '"type":"directory"' in body


def test_token_file_is_root_owned_and_readable_by_the_unit_group_only(host):
    token_file = host.file(TOKEN_FILE)
    assert token_file.user == "root" and token_file.group == "aiuser" and token_file.mode == 0o640
    directory = host.file("/etc/aihost/tokens")
    assert directory.user == "root" and directory.mode == 0o755


def test_token_is_in_no_command_line(host):
    """Not in ExecStart= (systemd shows it to every user), not in any process's argv."""
    token = host.check_output("cat %s" % TOKEN_FILE).strip()
    exec_start = host.check_output("systemctl show -p ExecStart jupyter.service")
    assert token not in exec_start
    assert "ServerApp.token" not in exec_start and "ServerApp.password" not in exec_start
    assert "JUPYTER_TOKEN_FILE=%s" % TOKEN_FILE in host.check_output("systemctl show -p Environment jupyter.service")
    argv = host.check_output("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' || true")
    assert token not in argv


def test_ollama_origins_no_longer_a_wildcard(host):
    env = host.check_output("systemctl show -p Environment --value ollama.service")
    assert "OLLAMA_ORIGINS=*" not in env
    assert "OLLAMA_ORIGINS=" in env.split()  # aihost_loopback_ollama_origins: [] -> Ollama's defaults
    pid = host.check_output("systemctl show -p MainPID --value ollama.service").strip()
    environ = host.check_output("tr '\\0' '\\n' < /proc/%s/environ" % pid).splitlines()
    assert "OLLAMA_ORIGINS=*" not in environ and "OLLAMA_ORIGINS=" in environ
