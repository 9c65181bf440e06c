"""The one set of rules for free text that roles write into units and APT files
(plugins/module_utils/text_rules.py), and the filters over it. Formerly three copies: the updates
role's vars and inline tables in the metrics and model_integrity roles (issue #18)."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.aihost.hardening.plugins.filter.text_rules import systemd_analyze_errors, text_errors
from ansible_collections.aihost.hardening.plugins.module_utils import text_rules


@pytest.mark.parametrize("rule, good, bad", [
    ("path", "/usr/local/lib/aihost", ["relative", "/a b", "/x%n", "/x$Y", "/etc/x\n", '/a"b']),
    ("url", "https://deb.debian.org/debian-security", ["ftp://x/", "http://x/ y", "http://x/\nSigned-By: /k"]),
    ("component", "non-free-firmware", ["contrib\nTrusted: yes", "-main"]),
    ("branch", "550", ["550\nPin-Priority: 1001", "r550", "55000"]),
    ("systemd_time", "*-*-* 06,18:00", ["daily\nExecStart=/tmp/x", "1h;x", "%H"]),
    ("apt_string", "root@example.org", ['x";\nUnattended-Upgrade::Automatic-Reboot "true', "a\\b"]),
    ("timer", "aihost-*.timer", ["x.service", "a b.timer", "x.timer\n"]),
])
def test_each_rule_lets_its_shape_through_and_stops_a_new_line_or_word(rule, good, bad):
    assert text_rules.text_errors([["v", good, rule]]) == []
    for value in bad:
        [error] = text_rules.text_errors([["v", value, rule]])
        assert error.startswith('v="%s" is not ' % value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))


def test_a_list_of_values_is_named_by_index_and_an_empty_rule_set_is_refused():
    assert text_errors([{"var": "xs", "values": ["main", "bad word"], "rule": "component"}]) == [
        'xs[1]="bad word" is not an APT component such as main or non-free-firmware']
    assert text_errors([{"var": "x", "value": 550, "rule": "branch"}]) == []
    with pytest.raises(AnsibleFilterError, match="unknown text rule 'pth'"):
        text_errors([["x", "/y", "pth"]])


def test_systemd_analyze_errors_name_the_variable_and_skip_a_host_without_it():
    results = [
        {"rc": 0, "item": {"var": "a", "value": "daily"}},
        {"rc": 1, "stderr": "Failed to parse calendar specification 'never': Invalid argument\n",
         "item": {"var": "b", "value": "never"}},
        {"rc": 2, "msg": "[Errno 2] No such file or directory: b'systemd-analyze'", "item": {"var": "c", "value": "x"}},
        {"skipped": True, "item": {"var": "d", "value": "y"}},
    ]
    assert systemd_analyze_errors(results) == [
        "b=\"never\" is invalid: Failed to parse calendar specification 'never': Invalid argument"]
