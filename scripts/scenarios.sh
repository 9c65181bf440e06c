#!/usr/bin/env bash
# Print the Molecule scenarios `make test` runs, longest first, so that MOLECULE_JOBS parallel runs
# finish close together (a long scenario started last would leave the other slot idle).
# Durations come from molecule/durations.tsv ("scenario seconds", measured on the CI box); a scenario
# missing there counts as the longest, so a new one starts early. A scenario directory needs a
# molecule.yml to count.
cd "$(dirname "$0")/../molecule" 2>/dev/null || exit 0
for f in */molecule.yml; do
  [ -e "$f" ] || continue
  name=$(dirname "$f")
  seconds=$(awk -v n="$name" '$1 == n { print $2 }' durations.tsv 2>/dev/null)
  echo "${seconds:-999999} $name"
done | sort -k1,1nr -k2,2 | awk '{ print $2 }' | tr '\n' ' '
