"""Check the build context `ansible-builder create` made from execution-environment.yml.

    python3 check_ee_context.py CONTEXT_DIR TARBALL CHECKOUT

scripts/test-ee.sh runs this. It fails, naming each problem, unless:
  * the Containerfile takes the base image as the build argument EE_BASE_IMAGE and installs the
    ansible-core pinned in requirements/controller.txt (the EE and the test suite never drift);
  * the galaxy stage installs this collection from the tarball in the context, and that tarball is
    byte for byte the one just built from the checkout, for the version in galaxy.yml, carrying
    galaxy.yml's dependencies;
  * the system requirements (bindep) carry the SSH client the controller needs.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tarfile

import yaml


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(context, tarball, checkout):
    problems = []
    build = os.path.join(context, "_build")
    containerfile = open(os.path.join(context, "Containerfile")).read()
    galaxy = yaml.safe_load(open(os.path.join(checkout, "galaxy.yml")))
    core_pin = next(line.strip() for line in open(os.path.join(checkout, "requirements", "controller.txt"))
                    if line.startswith("ansible-core=="))

    if not re.search(r'^ARG EE_BASE_IMAGE=".+"$', containerfile, re.M):
        problems.append("Containerfile: no ARG EE_BASE_IMAGE with a default")
    if "FROM $EE_BASE_IMAGE AS base" not in containerfile:
        problems.append("Containerfile: the base stage does not start FROM $EE_BASE_IMAGE")
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"$', containerfile, re.M)
    if not refs or core_pin not in refs.group(1).split():
        problems.append("Containerfile: ANSIBLE_INSTALL_REFS %r does not install %s (requirements/controller.txt)"
                        % (refs.group(1) if refs else None, core_pin))
    if "ansible-galaxy collection install" not in containerfile or "-r requirements.yml" not in containerfile:
        problems.append("Containerfile: no galaxy stage installing requirements.yml")

    requirements = yaml.safe_load(open(os.path.join(build, "requirements.yml")))
    entries = [c for c in requirements.get("collections", []) if isinstance(c, dict) and c.get("type") == "file"]
    if len(entries) != 1:
        problems.append("_build/requirements.yml: expected exactly one collection of type file, got %r" % requirements)
    else:
        shipped = os.path.join(build, entries[0]["name"])
        if not os.path.isfile(shipped):
            problems.append("_build/requirements.yml names %s, which is not in the context" % entries[0]["name"])
        elif sha256(shipped) != sha256(tarball):
            problems.append("%s differs from the tarball just built (%s)" % (shipped, tarball))
        else:
            with tarfile.open(shipped) as tar:
                manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
            want = (galaxy["namespace"], galaxy["name"], galaxy["version"], galaxy.get("dependencies") or {})
            got = (manifest["namespace"], manifest["name"], manifest["version"], manifest.get("dependencies") or {})
            if got != want:
                problems.append("tarball in the context is %r, galaxy.yml says %r" % (got, want))
            else:
                print("collection: %s.%s %s from %s (sha256 %s), dependencies %s"
                      % (got[0], got[1], got[2], entries[0]["name"], sha256(shipped)[:12], got[3] or "none"))

    bindep_path = os.path.join(build, "bindep.txt")
    bindep = open(bindep_path).read() if os.path.exists(bindep_path) else ""
    if not re.search(r"^openssh-clients? \[platform:rpm\]", bindep, re.M):
        problems.append("_build/bindep.txt: no SSH client for rpm platforms")
    print("system (bindep): %s" % "; ".join(line for line in bindep.splitlines() if line.strip()))
    print("base image default: %s" % re.search(r'^ARG EE_BASE_IMAGE="(.*)"$', containerfile, re.M).group(1)
          if "ARG EE_BASE_IMAGE" in containerfile else "base image: none")
    print("pip refs: %s" % (refs.group(1) if refs else "none"))

    for problem in problems:
        print("FAIL: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
