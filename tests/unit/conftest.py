"""Shared pytest set-up for tests/unit.

Puts the checkout's `.collections` directory on sys.path, so tests import the collection the way
Ansible does (`from ansible_collections.aihost.hardening.plugins.module_utils import procfs`), and
offers `fixture_tree`, which materialises a captured fixture tree (tests/unit/fixtures/<kind>/<case>)
in a temporary directory, recreating the symlinks listed in its links.json (fixtures store no
symlinks: sanity tests reject dangling links inside a collection).
"""
import json
import os
import shutil
import sys

import pytest

UNIT_DIR = os.path.dirname(os.path.abspath(__file__))
COLLECTIONS = os.path.abspath(os.path.join(UNIT_DIR, "..", "..", ".collections"))
FIXTURES = os.path.join(UNIT_DIR, "fixtures")

if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
if UNIT_DIR not in sys.path:
    sys.path.insert(0, UNIT_DIR)


def materialise(source, destination):
    """Copy a fixture tree to ``destination`` and create the symlinks of its links.json."""
    shutil.copytree(source, destination, symlinks=True)
    links_file = os.path.join(destination, "links.json")
    if os.path.exists(links_file):
        with open(links_file) as handle:
            links = json.load(handle)
        for relative, target in sorted(links.items()):
            path = os.path.join(destination, relative)
            parent = os.path.dirname(path)
            if not os.path.isdir(parent):
                os.makedirs(parent)
            os.symlink(target, path)
    return str(destination)


@pytest.fixture
def fixture_tree(tmp_path):
    """Return a function: fixture_tree("procfs/debian12-standins") -> path of a private copy."""
    def build(relative):
        return materialise(os.path.join(FIXTURES, relative), tmp_path / relative.replace("/", "_"))
    return build
