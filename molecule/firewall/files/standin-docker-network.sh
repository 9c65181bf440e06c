#!/bin/sh
# STAND-IN for a Docker host with one container publishing two ports, for the firewall tests only.
#
# Docker itself cannot start containers inside these test containers (dockerd runs, but runc fails
# with "unable to join session keyring: operation not permitted" without --privileged), so this
# script builds what Docker builds for `docker run -p 9080:80 -p 9081:81`, with the same tools:
#   * a network namespace "fwctr" (the container) joined to the host by a veth pair, 198.18.0.0/30
#     (RFC 2544 benchmarking range: no real network uses it);
#   * iptables-nft rules in Docker's layout: nat PREROUTING/OUTPUT -> DOCKER (DNAT of the published
#     ports), POSTROUTING MASQUERADE, filter FORWARD -> DOCKER-USER, DOCKER, policy DROP.
# The rules are Docker's (moby libnetwork iptables.go, 20.10 layout); only the bridge is a veth.
# Run at boot by fw-standin-docker.service, as dockerd would recreate its rules.
# --follow-firewalld: stay running and recreate the rules each time firewalld reloads (which flushes
# iptables' tables), as dockerd does on firewalld's D-Bus "Reloaded" signal.
set -eu
if [ "${1:-}" = --follow-firewalld ]; then
    dbus-monitor --system "type=signal,interface=org.fedoraproject.FirewallD1,member=Reloaded" |
        while read -r line; do
            case "$line" in *member=Reloaded*) "$0" ;; esac
        done
    exit 0
fi
HOST_IF=fwveth-h
CTR_IF=fwveth-c
CTR_IP=198.18.0.2

if ! ip netns list | grep -qw fwctr; then
    ip netns add fwctr
fi
if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    ip link add "$HOST_IF" type veth peer name "$CTR_IF"
    ip link set "$CTR_IF" netns fwctr
fi
ip addr replace 198.18.0.1/30 dev "$HOST_IF"
ip link set "$HOST_IF" up
ip netns exec fwctr ip addr replace "$CTR_IP/30" dev "$CTR_IF"
ip netns exec fwctr ip link set "$CTR_IF" up
ip netns exec fwctr ip link set lo up
ip netns exec fwctr ip route replace default via 198.18.0.1

# firewalld flushes iptables' tables while it starts, after systemd already counts it as started
# (it owns its D-Bus name first): wait until it reports "running", as dockerd waits for it.
if systemctl is-active --quiet firewalld.service; then
    tries=0
    until firewall-cmd --state >/dev/null 2>&1 || [ "$tries" -ge 120 ]; do
        sleep 0.5
        tries=$((tries + 1))
    done
fi

# Docker's chains, created once per boot (iptables rules do not survive a reboot either).
if ! iptables -t nat -L DOCKER >/dev/null 2>&1; then
    iptables -N DOCKER
    iptables -N DOCKER-USER
    iptables -A FORWARD -j DOCKER-USER
    iptables -A FORWARD -o "$HOST_IF" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    iptables -A FORWARD -o "$HOST_IF" -j DOCKER
    iptables -A FORWARD -i "$HOST_IF" -j ACCEPT
    iptables -A DOCKER-USER -j RETURN
    iptables -A DOCKER -d "$CTR_IP/32" ! -i "$HOST_IF" -o "$HOST_IF" -p tcp --dport 80 -j ACCEPT
    iptables -A DOCKER -d "$CTR_IP/32" ! -i "$HOST_IF" -o "$HOST_IF" -p tcp --dport 81 -j ACCEPT
    iptables -P FORWARD DROP
    iptables -t nat -N DOCKER
    iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
    iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
    iptables -t nat -A POSTROUTING -s 198.18.0.0/30 ! -o "$HOST_IF" -j MASQUERADE
    iptables -t nat -A DOCKER -i "$HOST_IF" -j RETURN
    iptables -t nat -A DOCKER ! -i "$HOST_IF" -p tcp --dport 9080 -j DNAT --to-destination "$CTR_IP:80"
    iptables -t nat -A DOCKER ! -i "$HOST_IF" -p tcp --dport 9081 -j DNAT --to-destination "$CTR_IP:81"
fi
