"""ansible-doc renders every module, filter, test and role of the installed collection.

    python3 check_docs.py EXPECT_DIR

Runs in the installed-collection sandbox (scripts/test-installed.sh): the ansible-doc on PATH is the
clean virtualenv's, and the collection comes from ANSIBLE_COLLECTIONS_PATH. For each kind:
  * `ansible-doc -t KIND -l aihost.hardening` lists exactly the names the tarball carries
    (EXPECT_DIR/<kinds>.txt, written by check_tarball.py);
  * `ansible-doc -t KIND --json NAME...` returns documentation for each, with a short description
    (roles: an entry point `main` whose options all have a type and a description);
  * `ansible-doc -t KIND NAME...` renders the text pages with exit status 0 and no warning or error.
Standard library only: the clean virtualenv has ansible-core and nothing else.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

COLLECTION = "aihost.hardening"
KINDS = (("module", "modules"), ("filter", "filters"), ("test", "tests"), ("role", "roles"))


def ansible_doc(*args):
    proc = subprocess.run(["ansible-doc"] + list(args), capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def noisy(stderr):
    return [line for line in stderr.splitlines() if "[WARNING]" in line or "[ERROR]" in line or "ERROR!" in line]


def check_entry(kind, name, data):
    problems = []
    if kind == "role":
        main = (data.get("entry_points") or {}).get("main")
        if not main:
            return ["no entry point 'main' (meta/argument_specs.yml)"]
        if not main.get("short_description"):
            problems.append("entry point main has no short_description")
        for option, spec in (main.get("options") or {}).items():
            if not spec.get("description"):
                problems.append("option %s has no description" % option)
            if not spec.get("type"):
                problems.append("option %s has no type" % option)
        return problems
    doc = data.get("doc") or {}
    if not doc.get("short_description"):
        problems.append("no short_description")
    if not doc.get("description"):
        problems.append("no description")
    if kind == "module" and not (data.get("examples") or "").strip():
        problems.append("no EXAMPLES")
    return problems


def main(expect_dir):
    failures = []
    for kind, listing in KINDS:
        path = os.path.join(expect_dir, listing + ".txt")
        expected = sorted(line.strip() for line in open(path) if line.strip()) if os.path.exists(path) else []
        fqcns = ["%s.%s" % (COLLECTION, name) for name in expected]

        rc, out, err = ansible_doc("-t", kind, "-l", COLLECTION, "--json")
        listed = sorted(json.loads(out)) if rc == 0 and out.strip() else []
        if rc != 0:
            failures.append("ansible-doc -t %s -l %s failed (rc %d): %s" % (kind, COLLECTION, rc, err.strip()))
        for missing in sorted(set(fqcns) - set(listed)):
            failures.append("%s %s is in the tarball but ansible-doc does not list it" % (kind, missing))
        for extra in sorted(set(listed) - set(fqcns)):
            failures.append("%s %s is listed by ansible-doc but has no documentation file in the tarball" % (kind, extra))
        if not fqcns:
            print("%-7s none in the tarball" % kind)
            continue

        # One call for all; when it fails, one call each, so the failure names the plugin that broke.
        rc, out, err = ansible_doc("-t", kind, "--json", *fqcns)
        batches = [fqcns] if rc == 0 else [[fqcn] for fqcn in fqcns]
        for batch in batches:
            if batch is not fqcns:
                rc, out, err = ansible_doc("-t", kind, "--json", *batch)
            docs = json.loads(out) if rc == 0 and out.strip() else {}
            if rc != 0:
                failures.append("ansible-doc -t %s --json %s: rc %d: %s" % (kind, " ".join(batch), rc, err.strip()))
                continue
            for fqcn in batch:
                if fqcn not in docs:
                    failures.append("%s %s: ansible-doc returned no documentation" % (kind, fqcn))
                    continue
                failures.extend("%s %s: %s" % (kind, fqcn, problem) for problem in check_entry(kind, fqcn, docs[fqcn]))

        # Text pages: one call for all; when it fails, one call each, to name the plugin that broke.
        rc, out, err = ansible_doc("-t", kind, *fqcns)
        rendered = len(fqcns) if rc == 0 else 0
        failures.extend("ansible-doc -t %s: %s" % (kind, line) for line in noisy(err) if rc == 0)
        if rc != 0:
            for fqcn in fqcns:
                rc, out, err = ansible_doc("-t", kind, fqcn)
                if rc == 0 and not noisy(err):
                    rendered += 1
                    continue
                detail = " ".join(noisy(err) or err.strip().splitlines()[-1:])
                failures.append("ansible-doc -t %s %s: rc %d: %s" % (kind, fqcn, rc, detail))
        print("%-7s %d of %d rendered: %s" % (kind, rendered, len(fqcns), " ".join(expected)))

    if failures:
        print("\nansible-doc problems in the installed collection:", file=sys.stderr)
        for failure in failures:
            print("  " + failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
