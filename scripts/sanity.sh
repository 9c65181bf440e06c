#!/usr/bin/env bash
# Runs from its own venv (.venv-sanity, ansible-core only): see the note at the bottom.
# ansible-test sanity needs the collection at ansible_collections/<ns>/<name>: copy the tracked
# files (plus untracked, not ignored ones) into a temporary tree and run it there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
core_pin=$(grep -E '^ansible-core==' requirements/controller.txt)
# A here-string, not `pip freeze | grep -q`: under pipefail an early-exiting grep can fail the pipeline.
if [ ! -x .venv-sanity/bin/ansible-test ] || ! grep -qx "$core_pin" <<<"$(.venv-sanity/bin/pip freeze 2>/dev/null)"; then
  rm -rf .venv-sanity
  python3 -m venv .venv-sanity
  .venv-sanity/bin/pip install -q "$core_pin"
fi
work=$(mktemp -d /tmp/aihost-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/aihost/hardening
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard \
  | grep -zv '^\.collections/' \
  | (cd "$root" && xargs -0 cp --parents -P -t "$dest" 2>/dev/null || true)
cd "$dest"
# ansible-test bootstraps pip in its venvs with a get-pip script from a host we cannot reach.
bootstrap_cache=$HOME/.ansible/test/cache
# ansible-core 2.19 bootstraps pip 24.2 (ansible_test/_internal/python_requirements.py).
pip_bootstrap_version=24_2
mkdir -p "$bootstrap_cache"
[ -s "$bootstrap_cache/get_pip_$pip_bootstrap_version.py" ] || cp "$root/scripts/get-pip-offline.py" "$bootstrap_cache/get_pip_$pip_bootstrap_version.py"
python_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# --requirements installs ansible-test's own pinned sanity requirements into the interpreter that
# runs it: keep that out of the main .venv (its pins differ) by using .venv-sanity.
"$root/.venv-sanity/bin/ansible-test" sanity --requirements --python "$python_version" --color no "$@"
