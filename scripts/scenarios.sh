#!/usr/bin/env bash
# Print the Molecule scenarios `make test` runs: `default` first, then the rest in name order.
# A scenario directory needs a molecule.yml to count.
cd "$(dirname "$0")/../molecule" 2>/dev/null || exit 0
names=$(for f in */molecule.yml; do [ -e "$f" ] && dirname "$f"; done | sort)
{ grep -x default <<<"$names"; grep -vx default <<<"$names"; } | tr '\n' ' '
