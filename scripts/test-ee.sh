#!/usr/bin/env bash
# Execution environment test (make ee): no registry and no container engine needed.
#   1. build the collection tarball and put it where execution-environment.yml takes it from
#      (build/aihost-hardening.tar.gz);
#   2. ansible-builder create: the build context in build/ee-context (Containerfile + _build/);
#   3. check the context (tests/installed/check_ee_context.py): base image as a build argument,
#      the ansible-core pin of requirements/controller.txt, the collection tarball byte for byte,
#      its dependencies, the system packages;
#   4. replay the image's galaxy stage offline (ansible-galaxy collection install -r requirements.yml
#      from _build/, with galaxy.yml's dependencies taken from the pinned ansible bundle) and its
#      builder stage's introspection, which prints the Python and system packages the image gets.
# Then build the image wherever a registry is reachable:
#   podman build -f build/ee-context/Containerfile --build-arg EE_BASE_IMAGE=<image> build/ee-context
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$SECONDS
export PATH=$root/.venv/bin:$PATH
# The Makefile points these at the checkout; nothing here may depend on them.
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH
context=build/ee-context
phase() { printf '\n== [%3ds] %s\n' "$((SECONDS - started))" "$*"; }

phase "ansible-galaxy collection build"
rm -rf build/dist "$context" build/aihost-hardening.tar.gz
mkdir -p build/dist
ansible-galaxy collection build --output-path build/dist .
tarball=$(ls build/dist/aihost-hardening-*.tar.gz)
cp "$tarball" build/aihost-hardening.tar.gz

phase "ansible-builder create -> $context"
ansible-builder create -f execution-environment.yml -c "$context" --output-filename Containerfile
python tests/installed/check_ee_context.py "$context" "$tarball" "$root"

work=$(mktemp -d /tmp/aihost-ee.XXXXXX)
trap 'rm -rf "$work"' EXIT
phase "replay the galaxy stage offline: ansible-galaxy collection install -r requirements.yml"
tests/installed/seed-deps.sh "$root" "$work/collections"
(cd "$context/_build" && HOME=$work ANSIBLE_COLLECTIONS_PATH=$work/collections \
  ansible-galaxy collection install --offline -r requirements.yml -p "$work/collections")
test -f "$work/collections/ansible_collections/aihost/hardening/MANIFEST.json"

phase "replay the builder stage's introspection: what the image installs"
ansible-builder introspect "$work/collections" --user-bindep "$context/_build/bindep.txt" \
  --write-pip "$work/requirements.txt" --write-bindep "$work/bindep.txt" >/dev/null
echo "python (pip):"; sed 's/^/  /' "$work/requirements.txt" 2>/dev/null || echo "  none"
echo "system (bindep):"; sed 's/^/  /' "$work/bindep.txt"
grep -q 'openssh-clients' "$work/bindep.txt" || { echo "FAIL: the image would get no SSH client" >&2; exit 1; }

phase "execution environment context ready in $context ($((SECONDS - started))s)"
