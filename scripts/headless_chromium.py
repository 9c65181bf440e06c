# -*- coding: utf-8 -*-
# Copyright: aihost.hardening maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Headless Chromium (Debian's chromium package) for the HTML fleet report: the DOM after the page's
scripts ran, and screenshots. Used by tests/browser and scripts/example-report-html.py; dev
tooling, not shipped. scripts/ensure-chromium.sh installs chromium when it is missing."""

import os
import shutil
import subprocess
import tempfile

# No sandbox: the tests run as root in containers, where Chromium's sandbox cannot start.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio"]


def binary():
    """The chromium executable, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(arguments, timeout):
    executable = binary()
    if not executable:
        raise RuntimeError("chromium is not installed (scripts/ensure-chromium.sh installs it)")
    profile = tempfile.mkdtemp(prefix="aihost-chromium.")
    try:
        return subprocess.run([executable] + FLAGS + ["--user-data-dir=%s" % profile] + arguments,
                              capture_output=True, text=True, timeout=timeout, check=True)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def file_url(path, query=""):
    return "file://%s%s" % (os.path.abspath(path), ("?" + query) if query else "")


def dump_dom(url, budget_ms=2000, timeout=60):
    """The serialized DOM of URL once its scripts ran (virtual time, so no real waiting)."""
    return _run(["--virtual-time-budget=%d" % budget_ms, "--dump-dom", url], timeout).stdout


def screenshot(url, path, size="1280,1600", budget_ms=2000, timeout=60):
    """Save a PNG of URL at SIZE (width,height) to PATH."""
    _run(["--virtual-time-budget=%d" % budget_ms, "--window-size=%s" % size, "--screenshot=%s" % os.path.abspath(path), url],
         timeout)
    return path
