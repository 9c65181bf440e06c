#!/usr/bin/env bash
# Build the Molecule base images without any container registry:
#   debootstrap (minbase + the packages images/bases.txt lists: systemd, python3, ca-certificates and
#   nothing else, as bare as a minimal host) from the Debian mirror, then `docker import`.
# Derived images (images/derived.txt) are then built FROM those with `docker build`.
# Images are cached by a hash of their recipe (RECIPE_VERSION + images/bases.txt line + mirror),
# stored as the label org.aihost.recipe; a second run with an unchanged recipe takes seconds.
#
#   scripts/build-images.sh            build every base in images/bases.txt
#   scripts/build-images.sh NAME...    build only those
#
# AIHOST_IMAGE_SOURCE=registry builds FROM the official debian:<suite> image instead, where a
# registry is reachable; the result (packages, labels, entrypoint) is the same.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mirror=${AIHOST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
source_kind=${AIHOST_IMAGE_SOURCE:-debootstrap}
recipes="$here/images/bases.txt"

# Bump when the way images are built changes; the cache key hashes this, not the whole script,
# so editing comments or logging does not force a rebuild.
RECIPE_VERSION=1

log() { printf 'build-images: %s\n' "$*" >&2; }

recipe_hash() {
  # $1 = the recipe line
  printf '%s\n%s\n%s\n%s\n' "$RECIPE_VERSION" "$1" "$mirror" "$source_kind" | sha256sum | cut -c1-16
}

current_label() {
  docker image inspect --format '{{ index .Config.Labels "org.aihost.recipe" }}' "$1:latest" 2>/dev/null || true
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  else
    log "debootstrap is missing: install it (apt-get install debootstrap) and run again"; exit 1
  fi
}

import_changes=(
  --change 'ENV container=docker'
  --change 'CMD ["/lib/systemd/systemd"]'
)

build_with_debootstrap() {
  local name=$1 suite=$2 packages=$3 hash=$4 root
  ensure_debootstrap
  root=$(mktemp -d "/tmp/aihost-rootfs-$name.XXXXXX")
  trap 'rm -rf "$root"' RETURN
  log "$name: debootstrap $suite (minbase + $packages)"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
  rm -f "$root.log"
  # Leave the image as a host would be: apt lists fetched on demand, no machine-id baked in.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  : >"$root/etc/machine-id"
  tar -C "$root" -c . | docker import "${import_changes[@]}" \
    --change "LABEL org.aihost.recipe=$hash" --change "LABEL org.aihost.suite=$suite" \
    - "$name:latest" >/dev/null
}

build_from_registry() {
  local name=$1 suite=$2 packages=$3 hash=$4
  log "$name: building FROM debian:$suite"
  docker build -q -t "$name:latest" --label "org.aihost.recipe=$hash" --label "org.aihost.suite=$suite" - >/dev/null <<DOCKERFILE
FROM debian:$suite
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(tr , ' ' <<<"$packages") \
 && rm -rf /var/lib/apt/lists/* && : > /etc/machine-id
ENV container=docker
CMD ["/lib/systemd/systemd"]
DOCKERFILE
}

build_derived() {
  # $1 name, $2 base image, $3 build dir under images/, $4 recipe hash
  local name=$1 base=$2 dir=$here/images/$3 hash=$4 context
  context=$(mktemp -d "/tmp/aihost-context-$name.XXXXXX")
  trap 'rm -rf "$context"' RETURN
  cp -a "$dir/." "$context/"
  # Trust the controller's CA bundle inside the build (TLS-inspecting proxies).
  cp "${AIHOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$context/controller-ca-bundle.crt"
  log "$name: docker build FROM $base"
  docker build -q --build-arg "BASE=$base:latest" --label "org.aihost.recipe=$hash" \
    -t "$name:latest" "$context" >"$context.log" 2>&1 || { tail -30 "$context.log" >&2; rm -f "$context.log"; return 1; }
  rm -f "$context.log"
}

derived_hash() {
  # $1 name, $2 base, $3 dir: the base's own recipe hash plus every file of the build dir
  { printf '%s %s %s\n' "$RECIPE_VERSION" "$1" "$(current_label "$2")";
    (cd "$here/images/$3" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | sha256sum | cut -c1-16
}

wanted=("$@")
status=0
while read -r name suite packages; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ ${#wanted[@]} -gt 0 ] && ! printf '%s\n' "${wanted[@]}" | grep -qx "$name"; then continue; fi
  hash=$(recipe_hash "$name $suite $packages")
  if [ "$(current_label "$name")" = "$hash" ]; then
    log "$name: up to date ($hash)"
    continue
  fi
  start=$(date +%s)
  builder=build_with_debootstrap
  [ "$source_kind" = registry ] && builder=build_from_registry
  if "$builder" "$name" "$suite" "$packages" "$hash"; then
    log "$name: built in $(( $(date +%s) - start )) s ($hash)"
  else
    log "$name: FAILED"; status=1
  fi
done <"$recipes"

while read -r name base dir; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ ${#wanted[@]} -gt 0 ] && ! printf '%s\n' "${wanted[@]}" | grep -qx "$name"; then continue; fi
  hash=$(derived_hash "$name" "$base" "$dir")
  if [ "$(current_label "$name")" = "$hash" ]; then
    log "$name: up to date ($hash)"
    continue
  fi
  start=$(date +%s)
  if build_derived "$name" "$base" "$dir" "$hash"; then
    log "$name: built in $(( $(date +%s) - start )) s ($hash)"
  else
    log "$name: FAILED"; status=1
  fi
done <"$here/images/derived.txt"
# Drop our own superseded images (dangling, carrying our label); never anyone else's.
docker image prune -f --filter label=org.aihost.recipe >/dev/null 2>&1 || true
exit $status
