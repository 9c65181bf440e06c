# Content and metadata of /etc, systemd unit files and the live nftables ruleset, one line each.
set -o pipefail
export LC_ALL=C
find /etc /usr/lib/systemd/system /run/systemd/system -xdev \( -type f -o -type l -o -type d \) -print0 2>/dev/null \
  | sort -z | xargs -0 stat -c '%n %F %a %U %G %s %Y' 2>/dev/null
find /etc /usr/lib/systemd/system /run/systemd/system -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum
if command -v nft >/dev/null 2>&1; then echo "nft ruleset $(nft list ruleset | sha256sum)"; else echo "nft not installed"; fi
