#!/usr/bin/env bash
# Run `molecule test` for each scenario given, MOLECULE_JOBS at a time (default 2: most of a
# scenario's wall time is waiting on systemd, apt and pip, not CPU). Keeps going after a failure,
# prints each scenario's log when it ends (the whole log if it failed), a timing table, why each
# failed scenario failed (last, because CI keeps only the end of the output), and exits non-zero if
# any scenario failed.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "run-molecule: no scenarios given" >&2; exit 1; }
jobs_max=${MOLECULE_JOBS:-2}
logdir=.cache/molecule-logs
mkdir -p "$logdir"

run_one() {
  local scenario=$1 start rc
  start=$(date +%s)
  molecule test -s "$scenario" >"$logdir/$scenario.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    # Leave nothing running behind a failed scenario.
    molecule destroy -s "$scenario" >>"$logdir/$scenario.log" 2>&1 || true
  fi
  echo "$rc $(( $(date +%s) - start ))" >"$logdir/$scenario.result"
}

report_one() {
  local scenario=$1 rc secs
  read -r rc secs <"$logdir/$scenario.result"
  if [ "$rc" -eq 0 ]; then
    echo "=== molecule test -s $scenario: passed in ${secs}s (last lines; full log $logdir/$scenario.log)"
    tail -n 25 "$logdir/$scenario.log"
  else
    echo "=== molecule test -s $scenario: FAILED (rc $rc) after ${secs}s; full log follows"
    cat "$logdir/$scenario.log"
  fi
}

declare -A pids=()
pending=("$@")
done_list=()
while [ ${#pending[@]} -gt 0 ] || [ ${#pids[@]} -gt 0 ]; do
  while [ ${#pending[@]} -gt 0 ] && [ ${#pids[@]} -lt "$jobs_max" ]; do
    scenario=${pending[0]}; pending=("${pending[@]:1}")
    rm -f "$logdir/$scenario.result"
    echo "--- starting molecule test -s $scenario"
    run_one "$scenario" &
    pids[$scenario]=$!
  done
  wait -n 2>/dev/null || true
  for scenario in "${!pids[@]}"; do
    if [ -e "$logdir/$scenario.result" ] && ! kill -0 "${pids[$scenario]}" 2>/dev/null; then
      unset "pids[$scenario]"
      report_one "$scenario"
      done_list+=("$scenario")
    fi
  done
done

passed=0 failed=0
echo "=== Molecule summary (jobs: $jobs_max)"
for scenario in "$@"; do
  read -r rc secs <"$logdir/$scenario.result"
  if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); result=passed; else failed=$((failed + 1)); result=FAILED; fi
  printf '%-24s %-7s %5ss\n' "$scenario" "$result" "$secs"
done
for scenario in "$@"; do
  read -r rc secs <"$logdir/$scenario.result"
  [ "$rc" -eq 0 ] && continue
  echo "=== why $scenario failed (excerpt of $logdir/$scenario.log; the whole log is above)"
  python3 scripts/failure-excerpt.py "$logdir/$scenario.log" 12
done
echo "molecule: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
