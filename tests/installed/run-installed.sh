#!/usr/bin/env bash
# The installed-collection checks proper. scripts/test-installed.sh copies this file out of the
# checkout and runs it with a scrubbed environment (PATH: the clean virtualenv; HOME: empty;
# ANSIBLE_COLLECTIONS_PATH: the temporary install only; no ANSIBLE_CONFIG) and, where the kernel
# allows, with the checkout hidden under an empty tmpfs. Anything that only works from the
# checkout fails here.
#   run-installed.sh WORK CHECKOUT HIDDEN(0|1)
set -euo pipefail
work=$1 checkout=$2 hidden=$3
step() { printf '\n== %s\n' "$*"; }
# Every check runs even when an earlier one failed, so one run shows every problem.
failed=()
check() { "$@" || failed+=("$current"); }
logged() { local log=$1; shift; "$@" 2>&1 | tee "$log"; return "${PIPESTATUS[0]}"; }

if [ "$hidden" = 1 ] && [ -n "$(ls -A "$checkout" 2>/dev/null)" ]; then
  echo "FAIL: the checkout $checkout is still visible inside the sandbox" >&2
  exit 1
fi
cd "$work/run"
if [ -e ansible.cfg ] || [ -n "${ANSIBLE_CONFIG:-}" ]; then
  echo "FAIL: an ansible.cfg would be read (ANSIBLE_CONFIG=${ANSIBLE_CONFIG:-} cwd=$PWD)" >&2
  exit 1
fi

step "ansible-core and the collection come from the clean install"
command -v ansible-playbook
listing=$(ansible-galaxy collection list aihost.hardening 2>&1)
echo "$listing"
locations=$(grep -c '^# /' <<<"$listing" || true)
if [ "$locations" != 1 ] || ! grep -qx "# $ANSIBLE_COLLECTIONS_PATH/ansible_collections" <<<"$listing"; then
  echo "FAIL: aihost.hardening must be found once, under $ANSIBLE_COLLECTIONS_PATH, and nowhere else" >&2
  exit 1
fi
version=$(ansible --version)
# Here-strings, not `echo | grep -q`: under pipefail an early-exiting grep can fail the pipeline.
grep -E '^ +(config file|ansible collection location|python version) =' <<<"$version"
if ! grep -Eq '^ +config file = None$' <<<"$version"; then
  echo "FAIL: an ansible.cfg was picked up; ansible --version said:" >&2
  echo "$version" >&2
  exit 1
fi

step "ansible-doc renders every module, filter, test and role"
current="ansible-doc"
check python3 "$work/bin/check_docs.py" "$work/expect"

step "every playbook of the collection parses by FQCN"
playbooks=()
while read -r name; do
  [ -n "$name" ] && playbooks+=("aihost.hardening.$name")
done < "$work/expect/playbooks.txt"
current="ansible-playbook --syntax-check"
for playbook in "${playbooks[@]}"; do
  check ansible-playbook --syntax-check -i localhost, "$playbook"
done

recap_clean() {  # the PLAY RECAP line of localhost says: nothing changed, nothing failed
  grep -Eq '^localhost +: ok=[1-9][0-9]* +changed=0 +unreachable=0 +failed=0 ' "$1" || {
    echo "FAIL: $1: expected ok>0 changed=0 unreachable=0 failed=0 for localhost" >&2
    grep -A3 'PLAY RECAP' "$1" >&2 || true
    return 1
  }
}

# aihost_audit_fail_on=none: this test proves the installed collection works; whether this machine
# has findings at or above the gate's default severity is not its business.
step "ansible-playbook aihost.hardening.audit from an unrelated directory"
current="ansible-playbook aihost.hardening.audit"
check logged "$work/audit.log" ansible-playbook aihost.hardening.audit -i localhost, -c local -e aihost_audit_fail_on=none
check recap_clean "$work/audit.log"

step "a user's own playbook adopts the role, the filters and a module by FQCN"
current="ansible-playbook adopt.yml"
check logged "$work/adopt.log" ansible-playbook adopt.yml -i localhost, -c local
check recap_clean "$work/adopt.log"

if [ "${#failed[@]}" -gt 0 ]; then
  printf '\nFAILED in the installed collection:' >&2
  printf ' [%s]' "${failed[@]}" >&2
  printf '\n' >&2
  exit 1
fi
