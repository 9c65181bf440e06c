#!/usr/bin/env bash
# Install Debian's chromium (headless browser for tests/browser and make example-report) when it is
# missing: as root through apt-get, otherwise say what to run.
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "--- installing chromium (apt-get install --no-install-recommends chromium)"
  apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
  command -v chromium >/dev/null
else
  echo "chromium is required: sudo apt-get install --no-install-recommends chromium" >&2
  exit 1
fi
