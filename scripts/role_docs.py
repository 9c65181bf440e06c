#!/usr/bin/env python
"""Generate each role's defaults/main.yml and the variables section of its README.md from
meta/argument_specs.yml, the single source of truth for a role's inputs.

    scripts/role_docs.py            rewrite what drifted
    scripts/role_docs.py --check    exit 1 and name every file that would change (CI)

README.md keeps everything outside the markers below; a README without them gets the generated
block appended.
"""
import argparse
import difflib
import pathlib
import sys

import yaml

BEGIN = "<!-- BEGIN GENERATED FROM meta/argument_specs.yml: edit the spec, then run scripts/role_docs.py -->"
END = "<!-- END GENERATED -->"
DEFAULTS_HEADER = (
    "---\n"
    "# Generated from meta/argument_specs.yml by scripts/role_docs.py: edit the spec, not this file.\n"
)


class _Dumper(yaml.SafeDumper):
    """Block-style YAML that yamllint's default rules accept (indented sequences)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _dump(value):
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=120)
    return text[:-len("...\n")] if text.endswith("...\n") else text


def _description(option):
    desc = option.get("description", "")
    if isinstance(desc, list):
        desc = " ".join(desc)
    return " ".join(str(desc).split())


def render_defaults(options):
    chunks = [DEFAULTS_HEADER]
    for name, option in options.items():
        if "default" not in option:
            continue
        desc = _description(option)
        if desc:
            chunks.append("".join("# %s\n" % line for line in _wrap(desc, 100)))
        dumped = _dump({name: option["default"]})
        chunks.append(dumped + "\n")
    return "".join(chunks).rstrip("\n") + "\n"


def _wrap(text, width):
    words, line, lines = text.split(), "", []
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = "%s %s" % (line, word) if line else word
    if line:
        lines.append(line)
    return lines


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default_cell(option):
    if "default" not in option:
        return "**required**" if option.get("required") else "(none)"
    default = option["default"]
    if default in ([], {}, "", None):
        return "`%s`" % (yaml.safe_dump(default, default_flow_style=True).strip().rstrip(".").strip() or '""')
    text = yaml.safe_dump(default, default_flow_style=True, width=10000).strip()
    if text.endswith("\n..."):
        text = text[:-4]
    text = text.rstrip(".").strip() if text.endswith("...") else text
    return "`%s`" % _cell(text)


def _type_cell(option):
    kind = option.get("type", "str")
    if kind == "list" and option.get("elements"):
        kind = "list of %s" % option["elements"]
    if option.get("choices"):
        kind += " (one of: %s)" % ", ".join("`%s`" % c for c in option["choices"])
    return kind


def render_readme_block(role, entry):
    lines = [BEGIN, "## Variables", ""]
    if entry.get("short_description"):
        lines += ["%s." % entry["short_description"].rstrip("."), ""]
    lines += ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, option in entry.get("options", {}).items():
        lines.append("| `%s` | %s | %s | %s |" % (name, _type_cell(option), _default_cell(option),
                                                  _cell(_description(option))))
        for sub_name, sub in (option.get("options") or {}).items():
            row = (name, sub_name, _type_cell(sub), _default_cell(sub), _cell(_description(sub)))
            lines.append("| `%s[].%s` | %s | %s | %s |" % row)
    lines += ["", "Full reference: `ansible-doc -t role aihost.hardening.%s`." % role, END]
    return "\n".join(lines) + "\n"


def merge_readme(existing, block, role, entry):
    if BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        return head + block + ("\n" + tail if tail else "")
    if not existing:
        title = "# aihost.hardening.%s\n\n%s\n\n" % (role, _description(entry) or entry.get("short_description", ""))
        return title + block
    return existing.rstrip("\n") + "\n\n" + block


def expected_files(role_dir):
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())
    entry = specs["argument_specs"]["main"]
    options = entry.get("options", {})
    readme_path = role_dir / "README.md"
    readme = readme_path.read_text() if readme_path.exists() else ""
    return {
        role_dir / "defaults" / "main.yml": render_defaults(options),
        readme_path: merge_readme(readme, render_readme_block(role_dir.name, entry), role_dir.name, entry),
    }


def prefix_errors(role_dir):
    """Every input of a role carries the house prefix aihost_<role>_ (stands in for ansible-lint's
    var-naming[no-role-prefix], which only knows <role>_)."""
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())
    prefix = "aihost_%s_" % role_dir.name
    return ["%s: option %r does not start with %r" % (role_dir / "meta" / "argument_specs.yml", name, prefix)
            for entry in specs["argument_specs"].values()
            for name in entry.get("options", {})
            if not name.startswith(prefix)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on drift instead of rewriting")
    parser.add_argument("roles_dir", nargs="?", default=str(pathlib.Path(__file__).resolve().parent.parent / "roles"))
    args = parser.parse_args(argv)
    drift, bad_names = [], []
    for spec in sorted(pathlib.Path(args.roles_dir).glob("*/meta/argument_specs.yml")):
        bad_names += prefix_errors(spec.parent.parent)
        for path, content in expected_files(spec.parent.parent).items():
            current = path.read_text() if path.exists() else ""
            if current == content:
                continue
            drift.append(path)
            if args.check:
                sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), content.splitlines(True),
                                                           str(path), str(path) + " (generated)"))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
                print("wrote %s" % path)
    for error in bad_names:
        print(error, file=sys.stderr)
    if bad_names:
        return 1
    if args.check and drift:
        print("\nrole docs drifted from meta/argument_specs.yml in: %s\nrun scripts/role_docs.py"
              % ", ".join(str(p) for p in drift), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
