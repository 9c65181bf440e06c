#!/usr/bin/env bash
# Installed-collection test (make installed): the collection must work as users get it, from a
# tarball installed outside the checkout, not only from this tree.
#   1. a clean virtualenv with ansible-core alone, pinned as in requirements/controller.txt (cached
#      outside the checkout and reused only while its package list is unchanged);
#   2. ansible-galaxy collection build; the tarball is listed and fails on any development file
#      (tests/installed/check_tarball.py);
#   3. ansible-galaxy collection install --offline into a temporary collections path; the
#      collections galaxy.yml depends on come from the pinned ansible bundle in .venv (no Galaxy here);
#   4. from an unrelated directory, with a scrubbed environment (no ANSIBLE_CONFIG, empty HOME,
#      ANSIBLE_COLLECTIONS_PATH = the temporary path only) and the checkout hidden under an empty
#      tmpfs: ansible-doc for every module/filter/role, --syntax-check of every playbook by FQCN,
#      `ansible-playbook aihost.hardening.audit -i localhost, -c local` and a user's own playbook
#      (tests/installed/run-installed.sh);
#   5. the audit reports landed in that directory and validate against the installed schema.
# KEEP_WORK=1 keeps the temporary tree (it is kept anyway when the test fails).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$SECONDS
dev_python=$root/.venv/bin/python
[ -x "$dev_python" ] || { echo "run 'make venv' first (.venv is missing)" >&2; exit 1; }
core_pin=$(grep -E '^ansible-core==' requirements/controller.txt)

work=$(mktemp -d /tmp/aihost-installed.XXXXXX)
finish() {
  local rc=$?
  if [ "$rc" -ne 0 ] || [ "${KEEP_WORK:-0}" = 1 ]; then
    echo "installed-collection test: work tree kept in $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap finish EXIT
mkdir -p "$work"/{dist,collections,run,home,tmp,bin}
phase() { printf '\n== [%3ds] %s\n' "$((SECONDS - started))" "$*"; }
# The pip configuration of this machine names local indexes that may not exist: drop that noise only.
pip_quiet() { "$@" 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }; return "${PIPESTATUS[0]}"; }

phase "clean virtualenv: $core_pin and its own dependencies, nothing else"
# Cached outside the checkout (the checkout is hidden during the checks), keyed on the pin and the
# Python version; it is used only if its package list is still exactly the one recorded when it
# was created, and rebuilt otherwise. FRESH_VENV=1 always rebuilds.
py_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
venv=${XDG_CACHE_HOME:-$HOME/.cache}/aihost-hardening/installed-venv-py$py_version-${core_pin#ansible-core==}
freeze() { "$venv/bin/pip" list --format=freeze --disable-pip-version-check 2>/dev/null; }
if [ "${FRESH_VENV:-0}" = 1 ] || [ ! -s "$venv/.packages" ] || [ "$(freeze)" != "$(cat "$venv/.packages")" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  pip_quiet "$venv/bin/pip" install -q --disable-pip-version-check "$core_pin"
  freeze > "$venv/.packages"
  echo "created $venv"
else
  echo "reusing $venv (package list unchanged since it was created)"
fi
packages=$(freeze | tr '\n' ' ')
echo "$packages"
case " $packages " in *" ansible=="*) echo "FAIL: the clean virtualenv holds the ansible bundle" >&2; exit 1 ;; esac
case " $packages " in *" $core_pin "*) ;; *) echo "FAIL: the clean virtualenv lacks $core_pin" >&2; exit 1 ;; esac

phase "ansible-galaxy collection build"
env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH HOME="$work/home" \
  "$venv/bin/ansible-galaxy" collection build --output-path "$work/dist" "$root"
tarball=$(ls "$work"/dist/aihost-hardening-*.tar.gz)
python3 tests/installed/check_tarball.py "$tarball" --root "$root" --expect-dir "$work/expect"

sandbox_env=(env -i
  PATH="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  HOME="$work/home" USER="$(id -un)" LANG=C.UTF-8 LC_ALL=C.UTF-8 TMPDIR="$work/tmp"
  ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
  ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$work/tmp/ansible-local")

phase "dependencies declared in galaxy.yml"
tests/installed/seed-deps.sh "$root" "$work/collections"

phase "ansible-galaxy collection install --offline into $work/collections"
"${sandbox_env[@]}" ansible-galaxy collection install --offline -p "$work/collections" "$tarball"

cp tests/installed/run-installed.sh tests/installed/check_docs.py "$work/bin/"
cp tests/installed/adopt.yml "$work/run/"
reports_before=$(ls -l --time-style=+%s.%N reports 2>/dev/null || true)

phase "checks from an unrelated directory ($work/run)"
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
  echo "the checkout $root is hidden under an empty tmpfs for these checks"
  unshare -m --propagation private bash -c \
    'mount -t tmpfs -o size=1m,mode=0555 aihost-hidden-checkout "$1" && shift && exec "$@"' _ "$root" \
    "${sandbox_env[@]}" bash "$work/bin/run-installed.sh" "$work" "$root" 1
else
  echo "WARNING: cannot hide the checkout (needs root and mount namespaces); it stays visible," >&2
  echo "         so only the scrubbed environment keeps the checkout out of these checks" >&2
  "${sandbox_env[@]}" bash "$work/bin/run-installed.sh" "$work" "$root" 0
fi

phase "audit reports written in the unrelated directory, valid against the installed schema"
schema=$work/collections/ansible_collections/aihost/hardening/roles/audit/files/report.schema.json
"$dev_python" tests/installed/check_report.py "$schema" localhost "$work/run/reports" "$work/run/adopted-reports"
if [ "$(ls -l --time-style=+%s.%N reports 2>/dev/null || true)" != "$reports_before" ]; then
  echo "FAIL: the installed run wrote into the checkout's reports/" >&2
  exit 1
fi

phase "installed-collection test passed: $(basename "$tarball") in $((SECONDS - started))s"
