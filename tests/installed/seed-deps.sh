#!/usr/bin/env bash
# Put the collections that galaxy.yml depends on into COLLECTIONS_DIR/ansible_collections, taken
# from the pinned `ansible` bundle in .venv (the same versions `make test` uses): there is no Galaxy
# here, and `ansible-galaxy collection install --offline` then finds them already installed and
# checks their versions against galaxy.yml.
#   tests/installed/seed-deps.sh CHECKOUT COLLECTIONS_DIR
set -euo pipefail
root=$1 dest=$2
mapfile -t dependencies < <("$root/.venv/bin/python" -c '
import sys, yaml
for name, req in (yaml.safe_load(open(sys.argv[1])).get("dependencies") or {}).items():
    print(name, req)' "$root/galaxy.yml")
for line in "${dependencies[@]}"; do
  read -r fqcn requirement <<<"$line"
  namespace=${fqcn%%.*} name=${fqcn#*.}
  source_dir=$(ls -d "$root"/.venv/lib/python3*/site-packages/ansible_collections/"$namespace"/"$name" 2>/dev/null | head -n 1)
  if [ -z "$source_dir" ]; then
    echo "FAIL: $fqcn ($requirement) is not in the pinned ansible bundle of .venv, and Galaxy is out of reach" >&2
    exit 1
  fi
  mkdir -p "$dest/ansible_collections/$namespace"
  rm -rf "${dest:?}/ansible_collections/$namespace/$name"
  cp -a "$source_dir" "$dest/ansible_collections/$namespace/"
  echo "$fqcn $requirement: from the pinned ansible bundle ($source_dir)"
done
[ "${#dependencies[@]}" -gt 0 ] || echo "galaxy.yml declares no dependencies"
