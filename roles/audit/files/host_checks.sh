# Read-only host checks of the aihost.hardening audit role: prints sections (@@name) that the
# controller parses (aihost.hardening.audit_evaluate). Every command here only reads.
export LC_ALL=C LANG=C
have() { command -v "$1" >/dev/null 2>&1; }
echo @@nft_ruleset
have nft && nft list ruleset 2>/dev/null
echo @@firewalld
have systemctl && systemctl is-active firewalld 2>/dev/null
echo @@ufw
have ufw && ufw status 2>/dev/null
echo @@apt_periodic
have apt-config && apt-config dump 2>/dev/null | grep '^APT::Periodic::'
echo @@unattended_upgrades
[ -x /usr/bin/unattended-upgrade ] && echo present
echo @@dnf_timers
if have systemctl; then
  for timer in dnf-automatic.timer dnf-automatic-install.timer dnf5-automatic.timer; do
    state=$(systemctl is-enabled "$timer" 2>/dev/null) && echo "$timer $state"
  done
fi
echo @@data_paths
printf '%s\n' "$AIHOST_AUDIT_DATA_PATHS" | while IFS= read -r path; do
  [ -n "$path" ] && stat -c '%a|%U|%G|%n' -- "$path" 2>/dev/null
done
echo @@packages
if have dpkg-query; then
  dpkg-query -W -f='dpkg|${Package}|${Version}\n' $AIHOST_AUDIT_PACKAGES 2>/dev/null | grep -v '||' | grep -v '|$'
elif have rpm; then
  rpm -q --qf 'rpm|%{NAME}|%{VERSION}-%{RELEASE}\n' $AIHOST_AUDIT_PACKAGES 2>/dev/null | grep '^rpm|'
fi
exit 0
