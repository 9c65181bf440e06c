"""The one version comparator: PEP 440, SemVer and Debian semantics side by side (issue #18)."""
import pytest

from ansible_collections.aihost.hardening.plugins.module_utils.versions import compare

TABLE = [
    # numeric release, padded with zeros
    ("0.12.3", "0.17.1", -1), ("0.17.10", "0.17.9", 1), ("1.2", "1.2.0", 0), ("0.10.1.1", "0.10.1", 1),
    ("535.288.01", "535.309.01", -1), ("v2.10.0", "2.10.0", 0), ("2024.1", "2023.12", 1),
    # pre-releases sort below the release, however written (PEP 440 and SemVer)
    ("0.5.0rc1", "0.5.0", -1), ("0.5.0-rc.1", "0.5.0", -1), ("0.5.0.dev1", "0.5.0a1", -1),
    ("0.5.0a1", "0.5.0b1", -1), ("0.5.0b2", "0.5.0rc1", -1), ("0.5.0rc1", "0.5.0rc2", -1),
    ("1.0.0-alpha", "1.0.0", -1), ("0.5.0c1", "0.5.0rc1", 0),
    # post-releases sort above it: a patched vLLM is not reported as vulnerable
    ("0.8.5.post1", "0.8.5", 1), ("0.8.5.post1", "0.8.6", -1), ("0.5.0rc1.post1", "0.5.0rc1", 1),
    ("1.0.post1", "1.0+local", 1),
    # build metadata and local labels are ignored
    ("0.4.22+1", "0.4.22", 0), ("1.0+cu121", "1.0", 0),
    # Debian: epochs, revisions, ~
    ("1.2.3-1~deb12u1", "1.2.3", 1), ("1.2.3~rc1", "1.2.3", -1), ("1.2.3-1~deb12u1", "1.2.3-1", -1),
    ("2:1.0", "1:2.0", 1), ("1.0-9", "1.0-10", -1), ("1!1.0", "2.0", 1),
    # nothing sorts lowest
    ("", "0.1", -1), (None, "0", -1),
]


@pytest.mark.parametrize("first,second,expected", TABLE)
def test_one_comparator_orders_pep440_semver_and_debian_versions(first, second, expected):
    assert compare(first, second) == expected
    assert compare(second, first) == -expected  # antisymmetric


def test_the_audit_uses_it():
    from ansible_collections.aihost.hardening.plugins.module_utils import audit_policy
    assert audit_policy.compare_versions is compare
    assert audit_policy.version_in_range("0.8.5.post1", fixed="0.8.5") is False
    assert audit_policy.version_in_range("1.2.3-1~deb12u1", fixed="1.2.3") is False
    assert audit_policy.version_in_range("0.5.0rc1", fixed="0.5.0") is True
