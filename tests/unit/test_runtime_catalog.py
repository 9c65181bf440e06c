"""plugins/module_utils/runtime_catalog.py: the built-in catalog is valid data covering every
runtime the issue names, and user entries are validated: unknown fields and malformed entries give
a clear message (strict) or are skipped with a warning, never a traceback."""
import copy

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import runtime_catalog as rc

REQUIRED = ("ollama", "vllm", "llama_cpp", "localai", "text_generation_webui", "comfyui", "open_webui",
            "lm_studio", "jan", "koboldcpp", "tgi", "sglang", "triton", "torchserve", "ray", "jupyter",
            "a1111", "invokeai", "gradio", "mlflow", "qdrant", "chromadb", "milvus", "weaviate")

MINIMAL = {"display_name": "ACME LLM", "match": {"processes": [{"argv": ["acme-llm"]}]}}


def test_builtin_catalog_covers_every_runtime_of_the_issue():
    missing = [name for name in REQUIRED if name not in rc.CATALOG]
    assert missing == []


@pytest.mark.parametrize("name", sorted(rc.CATALOG))
def test_every_builtin_entry_passes_the_user_validator(name):
    assert rc.validate_entry(name, rc.CATALOG[name]) == []


@pytest.mark.parametrize("name", sorted(rc.CATALOG))
def test_every_builtin_entry_says_how_to_bind_it_and_what_its_auth_is(name):
    entry = rc.CATALOG[name]
    assert entry["default_ports"], name
    assert entry["bind_knob"]["kind"] in ("env", "flag", "config", "none")
    assert "default" in entry["auth"] and entry["auth"].get("builtin")
    assert entry["sandbox_profile"] in ("default", "jit")


@pytest.mark.parametrize("name, kind, knob", [
    ("ollama", "env", "OLLAMA_HOST"), ("vllm", "flag", "--host"), ("llama_cpp", "flag", "--host"),
    ("jupyter", "flag", "--ip"), ("comfyui", "flag", "--listen"), ("ray", "flag", "--dashboard-host"),
    ("mlflow", "flag", "--host"), ("tgi", "env", "HOSTNAME"), ("gradio", "env", "GRADIO_SERVER_NAME"),
    ("open_webui", "flag", "--host"), ("text_generation_webui", "flag", "--listen"),
    ("qdrant", "env", "QDRANT__SERVICE__HOST"), ("chromadb", "flag", "--host"),
])
def test_bind_knobs_are_the_documented_ones(name, kind, knob):
    assert (rc.CATALOG[name]["bind_knob"]["kind"], rc.CATALOG[name]["bind_knob"]["name"]) == (kind, knob)


def test_loaded_entries_have_every_key_filled():
    catalog, warnings = rc.load_catalog()
    assert warnings == []
    for entry in catalog.values():
        for key in ("category", "generic", "default_ports", "bind_knob", "auth", "version",
                    "data_paths", "data_flags", "risky_flags", "sandbox_profile"):
            assert key in entry
        assert set(entry["bind_knob"]) >= {"kind", "name", "loopback_value", "action", "alternatives", "note"}


def test_generic_entries_are_matched_last():
    order = rc.match_order(rc.load_catalog()[0])
    assert order[-1] == "gradio"
    assert order.index("a1111") < order.index("gradio")


def test_a_new_user_entry_is_added_in_dict_or_list_form():
    catalog = rc.load_catalog({"acme_llm": MINIMAL})[0]
    assert catalog["acme_llm"]["display_name"] == "ACME LLM"
    assert catalog["acme_llm"]["bind_knob"]["kind"] == "none"
    listed = dict(MINIMAL, name="acme_llm")
    catalog = rc.load_catalog([listed])[0]
    assert "acme_llm" in catalog
    assert listed["name"] == "acme_llm"  # the caller's data is not modified


def test_an_existing_entry_is_overridden_field_by_field():
    catalog = rc.load_catalog({"ollama": {"default_ports": [11435], "bind_knob": {"note": "ours"}}})[0]
    assert catalog["ollama"]["default_ports"] == [11435]
    assert catalog["ollama"]["bind_knob"]["name"] == "OLLAMA_HOST"
    assert catalog["ollama"]["bind_knob"]["note"] == "ours"
    assert rc.CATALOG["ollama"]["default_ports"] == [11434]  # the built-in data is untouched


def test_an_unknown_field_fails_with_its_name_and_the_allowed_ones():
    with pytest.raises(rc.CatalogError) as error:
        rc.load_catalog({"acme_llm": dict(MINIMAL, listen_port=9000)})
    message = str(error.value)
    assert "catalog entry 'acme_llm'" in message and "unknown field 'listen_port'" in message
    assert "default_ports" in message


def test_an_unknown_nested_field_is_named_with_its_path():
    entry = copy.deepcopy(MINIMAL)
    entry["match"]["processes"][0]["exe"] = ["acme"]
    with pytest.raises(rc.CatalogError) as error:
        rc.load_catalog({"acme_llm": entry})
    assert "catalog entry 'acme_llm'.match.processes[0]: unknown field 'exe'" in str(error.value)


@pytest.mark.parametrize("entry, fragment", [
    ("not a dict", "must be a dictionary"),
    ({"match": MINIMAL["match"]}, "missing required field 'display_name'"),
    ({"display_name": "X"}, "missing required field 'match'"),
    (dict(MINIMAL, match={}), "needs at least one of"),
    (dict(MINIMAL, match={"processes": [{"cmdline": "(unclosed"}]}), "not a valid regular expression"),
    (dict(MINIMAL, default_ports=[0, 70000]), "default_ports must be a list of ports 1-65535"),
    (dict(MINIMAL, default_ports=["8080"]), "default_ports must be a list of ports 1-65535"),
    (dict(MINIMAL, category="chatbot"), "category must be one of"),
    (dict(MINIMAL, sandbox_profile="strict"), "sandbox_profile must be one of"),
    (dict(MINIMAL, bind_knob={"kind": "socket"}), "bind_knob.kind must be one of"),
    (dict(MINIMAL, bind_knob={"kind": "env"}), "bind_knob.name is required"),
    (dict(MINIMAL, bind_knob={"kind": "flag", "name": "--host", "ports": []}), "bind_knob.ports must be null or"),
    (dict(MINIMAL, bind_knob={"kind": "flag", "name": "--host", "ports": ["8265"]}), "bind_knob.ports must be null or"),
    (dict(MINIMAL, auth={"default": "yes"}), "auth.default must be true, false or null"),
    (dict(MINIMAL, auth={"rules": [{"flag": "--key", "env": "KEY", "enabled": True}]}), "exactly one of flag, env, file"),
    (dict(MINIMAL, auth={"rules": [{"flag": "--key", "when": "sometimes", "enabled": True}]}), "when must be one of"),
    (dict(MINIMAL, auth={"rules": [{"flag": "--key"}]}), "enabled must be true or false"),
    (dict(MINIMAL, risky_flags=[{"flag": "--share"}]), "reason must be a non-empty sentence"),
    (dict(MINIMAL, version={"file": {"path": "VERSION"}}), "exactly 'path' and 'regex'"),
    (dict(MINIMAL, data_paths="/srv/models"), "data_paths must be a list of non-empty strings"),
])
def test_malformed_user_entries_fail_with_a_clear_message(entry, fragment):
    with pytest.raises(rc.CatalogError) as error:
        rc.load_catalog({"acme_llm": entry})
    assert fragment in str(error.value)


@pytest.mark.parametrize("user_entries, fragment", [
    ({"Bad-Name": MINIMAL}, "must be lower_snake_case"),
    ([{"display_name": "no name"}], "catalog_extra[0] must be a dictionary with a 'name' field"),
    (["ollama"], "catalog_extra[0] must be a dictionary with a 'name' field"),
    ("ollama", "catalog_extra must be a dictionary of entries or a list of entries"),
])
def test_malformed_catalog_extra_shapes_fail_cleanly(user_entries, fragment):
    with pytest.raises(rc.CatalogError) as error:
        rc.load_catalog(user_entries)
    assert fragment in str(error.value)


def test_every_problem_is_listed_at_once():
    with pytest.raises(rc.CatalogError) as error:
        rc.load_catalog({"one": dict(MINIMAL, colour="red"), "two": dict(MINIMAL, size=1)})
    assert "'colour'" in str(error.value) and "'size'" in str(error.value)


def test_non_strict_loading_skips_bad_entries_with_warnings_and_keeps_good_ones():
    catalog, warnings = rc.load_catalog({"good_one": MINIMAL, "bad_one": dict(MINIMAL, colour="red")},
                                        strict=False)
    assert "good_one" in catalog and "bad_one" not in catalog
    assert len(warnings) == 1 and warnings[0].startswith("skipped: ") and "'colour'" in warnings[0]


def test_bind_knob_alternatives_never_name_an_address_that_is_not_a_listen_address():
    """Ray's --node-ip-address is the address other nodes reach this one at, not where the
    dashboard listens: it is read_only, so the loopback role never rewrites it."""
    ray = rc.load_catalog()[0]["ray"]["bind_knob"]
    assert ray["name"] == "--dashboard-host" and "--node-ip-address" not in ray["alternatives"]
    assert "--node-ip-address" in ray["read_only"]
    for name, entry in rc.load_catalog()[0].items():
        knob = entry["bind_knob"]
        assert not set(knob["alternatives"]) & set(knob["read_only"]), name
        assert knob["name"] not in knob["read_only"], name


def test_a_read_only_name_cannot_also_be_rewritten():
    with pytest.raises(rc.CatalogError, match=r"bind_knob: --node-ip-address is read_only"):
        rc.load_catalog({"ray": {"bind_knob": {"alternatives": ["--node-ip-address"]}}})
    with pytest.raises(rc.CatalogError, match=r"read_only must be a list"):
        rc.load_catalog({"ray": {"bind_knob": {"read_only": "--node-ip-address"}}})


# --------------------------------------------------------------------------------------------
# health: the functional check after a restart (issue #17), as data
# --------------------------------------------------------------------------------------------

def test_the_runtimes_with_a_cheap_call_have_a_functional_check_and_the_others_none():
    catalog = rc.load_catalog()[0]
    checked = sorted(name for name, entry in catalog.items() if entry["health"])
    assert checked == ["jupyter", "llama_cpp", "mlflow", "ollama"]
    for name in ("gradio", "ray", "chromadb"):
        assert catalog[name]["health"] is None


@pytest.mark.parametrize("name, calls", [
    ("mlflow", [("POST", "/api/2.0/mlflow/experiments/create"), ("POST", "/api/2.0/mlflow/experiments/delete")]),
    ("jupyter", [("PUT", "/api/contents/{name}.txt"), ("DELETE", "/api/contents/{name}.txt")]),
    ("ollama", [("GET", "/api/tags")]),
    ("llama_cpp", [("POST", "/completion")]),
])
def test_builtin_functional_checks(name, calls):
    steps = rc.CATALOG[name]["health"]["steps"]
    made = []
    for step in steps:
        made.append((step["method"], step["path"]))
        if "cleanup" in step:
            made.append((step["cleanup"]["method"], step["cleanup"]["path"]))
    assert made == calls


def _health_errors(health):
    return rc.validate_entry("acme", dict(MINIMAL, health=health))


GOOD_STEP = {"method": "POST", "path": "/things", "body": {"name": "{name}"}, "expect": {"status": [201]},
             "save": {"thing_id": "id"},
             "cleanup": {"method": "DELETE", "path": "/things/{thing_id}", "expect": {"status": [204]}}}


def test_a_valid_health_entry_with_a_saved_variable_and_a_cleanup():
    assert _health_errors({"steps": [GOOD_STEP, {"method": "GET", "path": "/things/{thing_id}",
                                                 "expect": {"status": [200], "json_keys": ["ok"]}}]}) == []
    assert _health_errors(None) == []  # null: ports only


@pytest.mark.parametrize("health, message", [
    ({"steps": []}, "steps must be a non-empty list"),
    ({"steps": [dict(GOOD_STEP, method="FETCH")]}, "method must be one of"),
    ({"steps": [dict(GOOD_STEP, path="things")]}, "path must be a path starting with /"),
    ({"steps": [dict(GOOD_STEP, expect={"status": [999]})]}, "expect.status must be a non-empty list of HTTP status"),
    ({"steps": [dict(GOOD_STEP, expect={"code": [200]})]}, "unknown field 'code'"),
    ({"steps": [dict((k, v) for k, v in GOOD_STEP.items() if k != "cleanup")]},
     "writes (POST) and needs a cleanup step"),
    ({"steps": [dict(GOOD_STEP, body={"name": "{who}"})]}, "uses {who}, which is neither built in"),
    ({"steps": [dict(GOOD_STEP, save={"name": "id"})]}, "save must map new lower_snake_case variable names"),
    ({"steps": [dict(GOOD_STEP, headers={"X-A": "a\nb"})]}, "headers must map header names to one-line strings"),
    ({"steps": [dict(GOOD_STEP, timeout=0)]}, "timeout must be a number of seconds"),
    ({"steps": [GOOD_STEP], "credential": {"env": ["TOKEN"]}}, "credential.header must name the header"),
    ({"steps": [GOOD_STEP], "credential": {"header": "Authorization"}}, "needs at least one of files, flags, env"),
    ({"steps": [GOOD_STEP], "base_url": {"files": [{"path": "run/x.json", "key": "base_url"}]}},
     "path must be absolute or start with ~ or $VAR"),
    ({"steps": [GOOD_STEP], "processes": [{"argv": "acme"}]}, "processes[0].argv must be a list"),
    ("yes", "health must be a dictionary or null"),
])
def test_malformed_health_entries_are_refused_with_the_field_named(health, message):
    errors = _health_errors(health)
    assert any(message in error for error in errors), errors
    assert all(error.startswith("catalog entry 'acme'") for error in errors)


def test_a_cleanup_may_not_use_a_variable_saved_by_a_later_step():
    later = {"method": "POST", "path": "/b", "expect": {"status": [200]}, "save": {"late": "id"}, "writes": False}
    early = dict(GOOD_STEP, cleanup=dict(GOOD_STEP["cleanup"], path="/things/{late}"))
    assert any("uses {late}" in error for error in _health_errors({"steps": [early, later]}))


def test_a_user_override_can_turn_the_check_off_or_replace_it():
    catalog = rc.load_catalog({"mlflow": {"health": None}})[0]
    assert catalog["mlflow"]["health"] is None
    mine = {"steps": [{"method": "GET", "path": "/health", "expect": {"status": [200]}}]}
    catalog = rc.load_catalog({"vllm": {"health": mine}})[0]
    assert catalog["vllm"]["health"] == mine
    with pytest.raises(rc.CatalogError, match="needs a cleanup step"):
        rc.load_catalog({"vllm": {"health": {"steps": [{"method": "DELETE", "path": "/x", "expect": {"status": [204]}}]}}})
