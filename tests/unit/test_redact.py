"""plugins/module_utils/redact.py: the values of flags and variables whose names mean a secret, and
URL passwords, are replaced by <redacted> with the name kept; look-alike names (keep-alive,
max-tokens) and empty values (Jupyter's no-auth token) are left as they are."""
import re

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import redact
from ansible_collections.aihost.hardening.plugins.module_utils.redact import REDACTED


@pytest.mark.parametrize("name", [
    "API_KEY", "APIKEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "VLLM_API_KEY", "LLAMA_API_KEY",
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACEHUB_API_TOKEN", "JUPYTER_TOKEN", "GITHUB_TOKEN",
    "AWS_SECRET_ACCESS_KEY", "CLIENT_SECRET", "SECRET_KEY_BASE", "WEBUI_SECRET_KEY",
    "POSTGRES_PASSWORD", "DB_PASSWD", "MLFLOW_TRACKING_PASSWORD", "PASSWORD_FILE",
    "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_CREDENTIAL",
    "--api-key", "--api-keys", "--apiKey", "--hf-token", "--token", "--ServerApp.token",
    "--NotebookApp.token", "--IdentityProvider.token", "--ServerApp.password",
    "--PasswordIdentityProvider.hashed_password", "--password", "--gradio-auth", "--api-auth",
    "-token", "-api-key", "accessToken", "BASIC_AUTH",
])
def test_secret_names(name):
    assert redact.is_secret_name(name)


@pytest.mark.parametrize("name", [
    "OLLAMA_KEEP_ALIVE", "--keep-alive", "--max-tokens", "num_tokens", "--max-new-tokens", "MAX_TOKENS",
    "TOKENIZERS_PARALLELISM", "--tokenizer", "KEY_FILE", "--ssl-keyfile", "--token-file", "--api-key-file",
    "SSH_AUTH_SOCK", "RAY_AUTH_MODE", "--gradio-auth-path", "PWD", "OLDPWD", "PATH", "HOME", "OLLAMA_HOST",
    "--host", "--node-ip-address", "--dashboard-host", "KEYBOARD_LAYOUT", "--disable-token-auth",
    "--no-auth", "ENABLE_AUTH", "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED", "--port", "", "-k",
])
def test_names_that_only_look_like_secrets(name):
    assert not redact.is_secret_name(name)


@pytest.mark.parametrize("argv, expected", [
    (["vllm", "serve", "m", "--api-key", "sk-x"], ["vllm", "serve", "m", "--api-key", REDACTED]),
    (["vllm", "serve", "m", "--api-key=sk-x"], ["vllm", "serve", "m", "--api-key=" + REDACTED]),
    (["jupyter-lab", "--ServerApp.token=abc"], ["jupyter-lab", "--ServerApp.token=" + REDACTED]),
    (["jupyter-lab", "--ServerApp.token", "abc", "--ip", "0.0.0.0"],
     ["jupyter-lab", "--ServerApp.token", REDACTED, "--ip", "0.0.0.0"]),
    (["server", "-token", "abc", "-api-key=def"], ["server", "-token", REDACTED, "-api-key=" + REDACTED]),
    (["env", "HF_TOKEN=hf_abc", "OLLAMA_HOST=0.0.0.0", "ollama"],
     ["env", "HF_TOKEN=" + REDACTED, "OLLAMA_HOST=0.0.0.0", "ollama"]),
    (["docker", "run", "-e", "OPENAI_API_KEY=sk-1", "img"], ["docker", "run", "-e", "OPENAI_API_KEY=" + REDACTED, "img"]),
    (["python", "server.py", "--api-auth", "user:pass", "--listen"], ["python", "server.py", "--api-auth", REDACTED, "--listen"]),
    (["java", "-Djavax.net.ssl.keyStorePassword=changeit", "-jar", "x.jar"],
     ["java", "-Djavax.net.ssl.keyStorePassword=" + REDACTED, "-jar", "x.jar"]),
    (["mlflow", "server", "--backend-store-uri", "postgresql://ml:pw@db:5432/mlflow"],
     ["mlflow", "server", "--backend-store-uri", "postgresql://ml:%s@db:5432/mlflow" % REDACTED]),
    (["mlflow", "server", "--backend-store-uri=postgresql://ml:p@ss@db/mlflow"],
     ["mlflow", "server", "--backend-store-uri=postgresql://ml:%s@db/mlflow" % REDACTED]),
    (["x", "--upstream", "https://u:p@a.example/x,https://v:q@b.example/y"],
     ["x", "--upstream", "https://u:%s@a.example/x,https://v:%s@b.example/y" % (REDACTED, REDACTED)]),
])
def test_argv_secrets_are_redacted_in_every_shape(argv, expected):
    assert redact.redact_argv(argv) == expected


@pytest.mark.parametrize("argv", [
    ["jupyter-lab", "--ServerApp.token="],                  # empty token: no auth, must stay visible
    ["jupyter-lab", "--ServerApp.token=''"],
    ["jupyter-lab", "--IdentityProvider.token", ""],
    ["ollama", "serve", "--keep-alive", "5m"],
    ["vllm", "serve", "m", "--max-tokens", "4096", "--tokenizer", "t"],
    ["vllm", "serve", "m", "--api-key", "--port", "8000"],   # no value: the next word is a flag
    ["torchserve", "--start", "--disable-token-auth", "--model-store", "/m"],
    ["open-webui", "serve", "WEBUI_AUTH=False"],
    ["x", "--url", "http://host:8080/path@v2", "--db", "postgresql://ml:@db/x", "ssh://git@host/r"],
    ["ray", "start", "--head", "--node-ip-address=10.0.0.5", "--dashboard-host=0.0.0.0"],
    ["python3", "-k", "value"],                             # one-letter options are not judged
])
def test_argv_without_secrets_is_unchanged(argv):
    assert redact.redact_argv(argv) == argv


def test_environ_keeps_names_and_harmless_values():
    env = {"HF_TOKEN": "hf_abc", "OPENAI_API_KEY": "sk-1", "OLLAMA_KEEP_ALIVE": "24h", "JUPYTER_TOKEN": "",
           "DATABASE_URL": "mysql://root:toor@db/app", "PATH": "/usr/bin", "WEBUI_AUTH": "False"}
    assert redact.redact_environ(env) == {
        "HF_TOKEN": REDACTED, "OPENAI_API_KEY": REDACTED, "OLLAMA_KEEP_ALIVE": "24h", "JUPYTER_TOKEN": "",
        "DATABASE_URL": "mysql://root:%s@db/app" % REDACTED, "PATH": "/usr/bin", "WEBUI_AUTH": "False"}
    assert redact.redact_environ(None) is None


def test_redact_value_is_the_one_rule_for_a_single_name():
    assert redact.redact_value("--api-key", "sk-x") == REDACTED
    assert redact.redact_value("OLLAMA_ORIGINS", "*") == "*"
    assert redact.redact_value("--share", None) is None


def test_unit_text_environment_and_command_lines():
    text = ("[Unit]\nDescription=vLLM\n\n[Service]\n"
            'Environment="HF_TOKEN=hf_abc" OLLAMA_KEEP_ALIVE=5m\n'
            "Environment=VLLM_API_KEY=k1 'DATABASE_URL=postgresql://u:p@db/x'\n"
            "ExecStart=/opt/vllm/bin/vllm serve m --api-key sk-live-123 \\\n  --host 0.0.0.0\n"
            "# ExecStart=/old --token=t0\n")
    shown = redact.redact_unit_text(text)
    for secret in ("hf_abc", "k1", ":p@", "sk-live-123", "t0"):
        assert secret not in shown
    assert 'Environment="HF_TOKEN=<redacted>" OLLAMA_KEEP_ALIVE=5m' in shown
    assert "Environment=VLLM_API_KEY=<redacted> \"DATABASE_URL=postgresql://u:<redacted>@db/x\"" in shown
    # The continuation is joined: the flag and its value were on two lines.
    assert "ExecStart=/opt/vllm/bin/vllm serve m --api-key <redacted> --host 0.0.0.0" in re.sub(" +", " ", shown)
    assert shown.startswith("[Unit]\nDescription=vLLM\n\n[Service]\n")


def test_unit_text_without_secrets_is_unchanged_and_unparsable_values_are_hidden():
    text = ("# Managed by aihost.hardening.loopback: Ollama (ollama) listens on loopback only.\n"
            "[Service]\nEnvironment=\"OLLAMA_HOST=127.0.0.1:11434\"\nExecStart=\n"
            "ExecStart=/opt/j/bin/jupyter lab --ip=127.0.0.1 \"--ServerApp.root_dir=/srv/my notebooks\" --x=%h\n")
    assert redact.redact_unit_text(text) == text
    assert redact.redact_unit_text('[Service]\nExecStart=/x "--token=abc\n') == "[Service]\nExecStart=" + REDACTED + "\n"
