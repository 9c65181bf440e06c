# What a check or audit run must leave alone, one line each, for the cpu_only, nvidia_container and
# audit_policy scenarios: every file, link and directory under /etc (type, mode, owner, size, mtime)
# and the sha256 of every file there; the unit files and drop-ins systemd reads (/etc/systemd is
# under /etc; /lib/systemd/system and the runtime units in /run/systemd/system); and the live
# nftables ruleset, in full but stateless (-s: without counters, which Docker's DNS rules in the
# container's namespace advance on every name lookup).
set -o pipefail
export LC_ALL=C
roots="/etc /lib/systemd/system /run/systemd/system"
# shellcheck disable=SC2086
find $roots -xdev \( -type f -o -type l -o -type d \) -print0 2>/dev/null \
  | sort -z | xargs -0 stat -c '%n %F %a %U %G %s %Y'
# shellcheck disable=SC2086
find $roots -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum
echo "--- nft -s list ruleset"
if command -v nft >/dev/null 2>&1; then nft -s list ruleset; else echo "nft not installed"; fi
