#!/usr/bin/env bash
# Run every benchmark in benchmarks/ (each prints its own side-by-side ratios). No pass/fail on timings.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for bench in benchmarks/*.py; do
  [ -e "$bench" ] || continue
  # Helpers such as fleet_lab.py are imported by benchmarks, not run.
  grep -q "__main__" "$bench" || continue
  echo "=== $bench"
  python "$bench" || status=1
done
exit $status
