#!/usr/bin/env bash
# ansible-test sanity needs the collection at ansible_collections/<ns>/<name>: copy the tracked
# files (plus untracked, not ignored ones) into a temporary tree and run it there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d /tmp/aihost-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/aihost/hardening
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard \
  | grep -zv '^\.collections/' \
  | (cd "$root" && xargs -0 cp --parents -P -t "$dest" 2>/dev/null || true)
cd "$dest"
python_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --venv --python "$python_version" --color no "$@"
