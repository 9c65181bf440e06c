"""Check the contents of a built collection tarball (scripts/test-installed.sh runs this).

    python3 tests/installed/check_tarball.py dist/aihost-hardening-X.Y.Z.tar.gz --root . --expect-dir OUT

Fails (exit 1, naming every offending path) when:
  * a development or test file slipped in (virtualenvs, the .collections symlink, tests, Molecule,
    scripts, CI files, reports, ansible.cfg, caches, editor droppings, ...);
  * a member is a link, an absolute path or climbs out with '..';
  * a file git tracks under a shipped directory (plugins, roles, playbooks, meta, docs, inventories)
    is missing, so an over-eager build_ignore is caught too;
  * a role has no meta/argument_specs.yml (it could not be documented by ansible-doc).
With --expect-dir, writes the module, filter, role and playbook names the tarball carries, one
file per kind, for the installed-collection run to compare ansible-doc's listings against.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import subprocess
import sys
import tarfile

# Names forbidden at any depth (fnmatch against each path component).
FORBIDDEN_NAMES = [
    ".venv*", ".git", ".gitignore", ".pytest_cache", "__pycache__", "molecule",
    "*.pyc", "*.tar.gz", "*.swp", "*~", "*.orig", "*.rej", ".DS_Store",
]
# Paths forbidden from the top of the collection (fnmatch against the path and each of its parents).
FORBIDDEN_PATHS = [
    ".collections", ".cache", ".config", ".ansible", ".ci", ".yamllint", ".ansible-lint", "ansible.cfg", "Makefile",
    "DEVELOPERS.md", "benchmarks", "build", "context", "images", "reports", "requirements", "scripts", "tests",
    "execution-environment.yml", "ansible-navigator.yml", "changelogs/fragments", "changelogs/.plugin-cache.yaml", "roles/*/tests",
]
# Directories whose git-tracked files must all be in the tarball.
SHIPPED_DIRS = ("plugins", "roles", "playbooks", "meta", "docs", "inventories", "changelogs")
SHIPPED_FILES = ("README.md",)
REQUIRED = ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "README.md")


def forbidden_reason(path):
    """The pattern that forbids path in a collection tarball, or None."""
    parts = path.split("/")
    for part in parts:
        for pattern in FORBIDDEN_NAMES:
            if fnmatch.fnmatchcase(part, pattern):
                return pattern
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        for pattern in FORBIDDEN_PATHS:
            if fnmatch.fnmatchcase(prefix, pattern):
                return pattern
    return None


def tracked_files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--"] + list(SHIPPED_DIRS) + list(SHIPPED_FILES),
                             check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print("warning: cannot list git-tracked files (%s): skipping the completeness check" % exc, file=sys.stderr)
        return []
    return [p for p in out.decode().split("\0") if p and forbidden_reason(p) is None]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball")
    parser.add_argument("--root", default=".", help="the checkout the tarball was built from")
    parser.add_argument("--expect-dir", help="write modules.txt, filters.txt, roles.txt, playbooks.txt here")
    args = parser.parse_args(argv)

    problems = []
    with tarfile.open(args.tarball) as tar:
        members = tar.getmembers()
    files = set()
    for member in members:
        name = member.name[2:] if member.name.startswith("./") else member.name
        name = name.rstrip("/")
        if not name:
            continue
        if name.startswith("/") or ".." in name.split("/"):
            problems.append("%s: absolute path or '..' in the tarball" % name)
        if member.issym() or member.islnk():
            problems.append("%s: link in the tarball (links break on install)" % name)
        reason = forbidden_reason(name)
        if reason:
            problems.append("%s: development file in the tarball (matches %r): add it to build_ignore in galaxy.yml"
                            % (name, reason))
        if member.isfile():
            files.add(name)

    for required in REQUIRED:
        if required not in files:
            problems.append("%s: missing from the tarball" % required)
    for path in tracked_files(args.root):
        if os.path.isfile(os.path.join(args.root, path)) and path not in files:
            problems.append("%s: tracked by git but missing from the tarball (build_ignore too wide?)" % path)

    roles = sorted({p.split("/")[1] for p in files if p.startswith("roles/") and p.count("/") >= 2})
    for role in roles:
        if "roles/%s/meta/argument_specs.yml" % role not in files:
            problems.append("roles/%s: no meta/argument_specs.yml, so ansible-doc -t role cannot document it" % role)

    def names(prefix, suffix):
        return sorted(os.path.basename(p)[:-len(suffix)] for p in files
                      if p.startswith(prefix) and p.count("/") == prefix.count("/") and p.endswith(suffix)
                      and not os.path.basename(p).startswith("__"))

    expected = {
        "modules": names("plugins/modules/", ".py"),
        "filters": names("plugins/filter/", ".yml"),
        "tests": names("plugins/test/", ".yml"),
        "roles": roles,
        "playbooks": names("playbooks/", ".yml"),
    }
    if args.expect_dir:
        os.makedirs(args.expect_dir, exist_ok=True)
        for kind, items in expected.items():
            with open(os.path.join(args.expect_dir, kind + ".txt"), "w") as handle:
                handle.writelines(item + "\n" for item in items)

    top = {}
    for path in files:
        top[path.split("/")[0]] = top.get(path.split("/")[0], 0) + 1
    print("tarball %s: %d files (%s)" % (os.path.basename(args.tarball), len(files),
                                         ", ".join("%s %d" % item for item in sorted(top.items()))))
    for kind, items in expected.items():
        print("  %-9s %s" % (kind + ":", " ".join(items) or "-"))
    if problems:
        print("\n%d problem(s) in the tarball:" % len(problems), file=sys.stderr)
        for problem in sorted(problems):
            print("  " + problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
