#!/bin/sh
# dracut initqueue/online hook of ssmrandom, sourced by ifup with the
# interface that came up as $1: take this host's seed on it, once, with
# what is left of SSMRANDOM_TIMEOUT. What happened goes to the kernel log
# as lines starting "ssmrandom:". ssmrandom=off on the kernel command line
# skips it.
_ssmrandom_online() {
    local netif=$1 start=0 now timeout=30 left rc level line
    [ -e /run/ssmrandom/done ] && return 0
    mkdir -p /run/ssmrandom
    : > /run/ssmrandom/done
    if getargbool 1 ssmrandom; then :; else
        echo "<5>ssmrandom: no seed: ssmrandom=off on the kernel command line" > /dev/kmsg
        return 0
    fi
    [ -r /run/ssmrandom/start ] && read -r start < /run/ssmrandom/start
    timeout=$(. /etc/ssmrandom/seed.conf && echo "${SSMRANDOM_TIMEOUT:-30}")
    case $timeout in '' | *[!0-9]*) timeout=30 ;; esac
    read -r now _ < /proc/uptime
    left=$((start + timeout - ${now%.*}))
    [ "$left" -ge 1 ] || left=1
    echo "network: $netif" > /run/ssmrandom/seed.log
    /usr/lib/ssmrandom/seed-boot -c /etc/ssmrandom/seed.conf -i "$netif" -t "$left" >> /run/ssmrandom/seed.log 2>&1
    rc=$?
    echo "$rc" > /run/ssmrandom/done
    level=5
    [ "$rc" = 0 ] || level=4
    while IFS= read -r line; do
        echo "<$level>ssmrandom: $line" > /dev/kmsg
    done < /run/ssmrandom/seed.log
}
_ssmrandom_online "$1"
unset -f _ssmrandom_online
