#!/usr/bin/env bash
# Run `molecule test` for each scenario given, keep going after a failure, print a timing table
# and exit non-zero if any scenario failed.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "run-molecule: no scenarios given" >&2; exit 1; }
mkdir -p .cache/molecule-logs
passed=0 failed=0 summary=()
for scenario in "$@"; do
  start=$(date +%s)
  log=.cache/molecule-logs/$scenario.log
  echo "=== molecule test -s $scenario (log: $log)"
  if molecule test -s "$scenario" 2>&1 | tee "$log"; then
    passed=$((passed + 1)); result=passed
  else
    failed=$((failed + 1)); result=FAILED
    # Leave nothing running for the next scenario.
    molecule destroy -s "$scenario" >/dev/null 2>&1 || true
  fi
  summary+=("$(printf '%-24s %-7s %5ss' "$scenario" "$result" "$(( $(date +%s) - start ))")")
done
echo "=== Molecule summary"
printf '%s\n' "${summary[@]}"
echo "molecule: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
