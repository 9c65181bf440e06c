"""Shared set-up for tests/browser: the collection from the checkout's .collections (as tests/unit
does) and scripts/headless_chromium.py. The tests are skipped, not failed, only when chromium is
missing and AIHOST_BROWSER_REQUIRED is unset (make browser installs it and sets it)."""
import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
for path in (os.path.join(ROOT, ".collections"), os.path.join(ROOT, "scripts")):
    if path not in sys.path:
        sys.path.insert(0, path)

import headless_chromium  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def chromium():
    if not headless_chromium.binary():
        if os.environ.get("AIHOST_BROWSER_REQUIRED"):
            pytest.fail("chromium is not installed (scripts/ensure-chromium.sh)")
        pytest.skip("chromium is not installed (make browser installs it)")
    return headless_chromium
