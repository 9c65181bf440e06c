"""plugins/plugin_utils/variable_names.py: which aihost_* variables nobody knows, and the closest known name."""

import os

from ansible_collections.aihost.hardening.plugins.plugin_utils import variable_names

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KNOWN = variable_names.known_names(ROOT)


def test_a_misspelt_role_variable_is_reported_with_the_closest_name():
    """The issue's case: the firewall ignored aihost_firewall_admin_netwroks without a word."""
    assert variable_names.unknown_variables(["aihost_firewall_admin_netwroks"], KNOWN) == [
        ("aihost_firewall_admin_netwroks", "aihost_firewall_admin_networks")]
    text = variable_names.warning_text("aihost_firewall_admin_netwroks", "aihost_firewall_admin_networks")
    assert text.endswith("did you mean aihost_firewall_admin_networks?")


def test_every_argument_spec_option_and_playbook_variable_is_known():
    assert variable_names.spec_names(ROOT) <= KNOWN
    for name in ("aihost_audit_fail_on", "aihost_firewall_admin_networks", "aihost_privileges_required",
                 "aihost_site_fast_path", "aihost_site_fast_path_max_age_hours", "aihost_updates_runtimes"):
        assert name in KNOWN, name


def test_facts_the_roles_set_and_register_are_not_reported():
    """Set by the collection itself: set_fact and register names, facts modules' facts, private names."""
    names = ["aihost_audit_report", "aihost_audit_host_facts", "aihost_runtime", "aihost_gpu",
             "aihost_privileges__login", "aihost_firewall__anything", "aihost_test_outcome",
             "ansible_facts", "inventory_hostname", "other_aihost_name"]
    assert variable_names.unknown_variables(names, KNOWN) == []


def test_a_name_far_from_every_known_one_gets_no_suggestion_and_the_result_is_sorted():
    found = variable_names.unknown_variables(["aihost_qwertyuiopxcvb", "aihost_site_fast_patth", "aihost_qwertyuiopxcvb"], KNOWN)
    assert found == [("aihost_qwertyuiopxcvb", None), ("aihost_site_fast_patth", "aihost_site_fast_path")]
    assert not variable_names.warning_text("aihost_qwertyuiopxcvb", None).endswith("?")


def test_the_collection_example_inventory_uses_no_unknown_aihost_variable():
    names = set()
    for folder, dirs, files in os.walk(os.path.join(ROOT, "inventories")):
        for name in files:
            with open(os.path.join(folder, name)) as handle:
                names.update(variable_names.NAME.findall(handle.read()))
    assert variable_names.unknown_variables(names, KNOWN) == []
