#!/usr/bin/env bash
# Make sure a Docker engine answers, installing and starting one where we are allowed to.
# Molecule and the benchmarks need it; `make audit` does not.
set -euo pipefail

log() { printf 'ensure-docker: %s\n' "$*" >&2; }

docker_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

raise_inotify_limit() {
  # Each systemd container takes inotify instances; past ~25 of them the default 128 runs out.
  local current
  current=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
  if [ "$(id -u)" = 0 ] && [ "$current" -lt 8192 ]; then
    sysctl -q -w fs.inotify.max_user_instances=8192 || log "could not raise fs.inotify.max_user_instances (now $current)"
  fi
}

if docker_answers; then
  raise_inotify_limit
  exit 0
fi

is_debian_like() { [ -r /etc/os-release ] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release; }

if [ "$(id -u)" != 0 ] || ! is_debian_like; then
  cat >&2 <<'MSG'
ensure-docker: no Docker engine answers `docker info`.
  Install and start one, then run make again:
    Debian/Ubuntu:  sudo apt-get install docker.io && sudo systemctl start docker
    Fedora/EL:      sudo dnf install moby-engine (or docker-ce) && sudo systemctl start docker
  and make sure your user may talk to it (member of group `docker`, or run as root).
MSG
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  log "installing docker.io from the distribution archive"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if [ "$(ps -o comm= -p 1)" = systemd ] && systemctl start docker 2>/dev/null; then
  log "started docker.service"
else
  log "starting dockerd in the background (log: /var/log/aihost-dockerd.log)"
  nohup dockerd >/var/log/aihost-dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if docker_answers; then
    raise_inotify_limit
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; see /var/log/aihost-dockerd.log"
exit 1
