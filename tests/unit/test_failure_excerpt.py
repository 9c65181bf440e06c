"""scripts/failure-excerpt.py finds why a Molecule scenario failed in a log that ends with destroy.

The logs below are shortened copies of real scenario output (Molecule 25, ansible-core 2.19,
callback_result_format: yaml).
"""
import importlib.util
import os

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "failure-excerpt.py")
spec = importlib.util.spec_from_file_location("failure_excerpt", SCRIPT)
failure_excerpt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(failure_excerpt)

# The real failure, then another host's expected failure caught by a rescue (the scenarios' bad-input
# cases) and an ignored one, then Molecule's destroy, which ends the log.
ANSIBLE_LOG = """\
PLAY [Bad input fails before any change] ***************************************

TASK [aihost.hardening.firewall : Fail when the controller cannot reconnect] ***
fatal: [fw-nft-d12-over-ssh]: FAILED! =>
    changed: false
    msg: 'After the new firewall rules were loaded, a fresh connection failed'

TASK [aihost.hardening.firewall : Check the settings] **************************
fatal: [fw-nft-d13]: FAILED! =>
    msg: 'aihost_firewall_ssh_port: 0 is not a port number'

TASK [Probe something optional] ************************************************
fatal: [fw-nft-d13]: FAILED! =>
    msg: optional probe failed
...ignoring

PLAY RECAP *********************************************************************
fw-nft-d12-over-ssh        : ok=31   changed=2    unreachable=0    failed=1    skipped=9    rescued=0    ignored=0
fw-nft-d13                 : ok=12   changed=0    unreachable=0    failed=0    skipped=0    rescued=4    ignored=1

CRITICAL Ansible return code was 2, command was: ['ansible-playbook', 'side_effect.yml']
INFO     Running firewall > destroy

PLAY [Destroy molecule instance(s)] ********************************************

TASK [Wait for instance(s) deletion to complete] *******************************
FAILED - RETRYING: [localhost]: Wait for instance(s) deletion to complete (300 retries left).
changed: [localhost] => (item=fw-nft-d12)

PLAY RECAP *********************************************************************
localhost                  : ok=3    changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
"""

PYTEST_LOG = """\
INFO     Running cpu_only > verify
tests/test_outside.py::test_peer_sees_only_declared_ports[cpu-only-d12] PASSED
tests/test_outside.py::test_peer_sees_only_declared_ports[cpu-only-d13] FAILED
=================================== FAILURES ===================================
>       assert open_ports == {22, 5000}
E       AssertionError: 8888 open
=========================== short test summary info ============================
FAILED tests/test_outside.py::test_peer_sees_only_declared_ports[cpu-only-d13] - AssertionError: 8888 open
========================= 1 failed, 41 passed in 93.10s =========================
ERROR    [cpu_only > verify] Executed: Failed
FAILED - RETRYING: [localhost]: Wait for instance(s) deletion to complete (300 retries left).
ERROR    Verifier tests failed
PLAY RECAP *********************************************************************
localhost                  : ok=3    changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
"""


def test_the_real_ansible_failure_is_found_past_rescued_ignored_and_destroy_output():
    lines = failure_excerpt.excerpt(ANSIBLE_LOG.splitlines(), 12)
    assert lines[0] == "TASK [aihost.hardening.firewall : Fail when the controller cannot reconnect]"
    assert lines[1] == "fatal: [fw-nft-d12-over-ssh]: FAILED! =>"
    assert "fresh connection failed" in lines[-1]
    assert not any("not a port number" in line or "optional probe" in line for line in lines)


def test_failed_tests_are_taken_from_the_pytest_summary():
    lines = failure_excerpt.excerpt(PYTEST_LOG.splitlines(), 12)
    assert lines == [
        "FAILED tests/test_outside.py::test_peer_sees_only_declared_ports[cpu-only-d13] - AssertionError: 8888 open",
        "E       AssertionError: 8888 open",
    ]


def test_the_excerpt_is_cut_to_the_line_budget():
    assert len(failure_excerpt.excerpt(ANSIBLE_LOG.splitlines(), 2)) == 2


@pytest.mark.parametrize("log, expected", [
    ("CRITICAL Ansible return code was 4\nINFO done\n", ["CRITICAL Ansible return code was 4"]),
    ("INFO nothing to see\n", ["(no failure line found; read the whole log)"]),
])
def test_without_a_failed_task_molecule_errors_or_a_pointer_are_printed(log, expected):
    assert failure_excerpt.excerpt(log.splitlines(), 12) == expected
