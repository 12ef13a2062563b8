#!/bin/bash
# dracut module of ssmrandom: takes this host's seed for the kernel RNG in
# the initramfs, as soon as dracut's network brings an interface up (ip=
# on the kernel command line), before the root file system is mounted.
# Included when /etc/ssmrandom/seed.conf names a producer. Refuses to
# build, with one line saying why, when the host key is missing or
# readable by group or others, or no producer key is trusted. dracut
# writes its images with umask 077 itself. See
# /usr/share/doc/ssmrandom/boot.md.

_ssmrandom_conf=/etc/ssmrandom/seed.conf

# _ssmrandom_read: the configuration in SSMRANDOM_* variables; false when
# it names no producer.
_ssmrandom_read() {
    SSMRANDOM_PRODUCERS=
    SSMRANDOM_HOST_KEY=/etc/ssmrandom/host.jwk
    SSMRANDOM_TRUST=/etc/ssmrandom/trust
    [[ -r $_ssmrandom_conf ]] || return 1
    # shellcheck disable=SC1090
    . "$_ssmrandom_conf"
    [[ -n $SSMRANDOM_PRODUCERS ]]
}

check() {
    # Not configured: only when asked for (--add ssmrandom), which then
    # fails in install() with the reason.
    _ssmrandom_read || return 255
    require_binaries ssmrandom setsid || return 1
    return 0
}

depends() {
    echo network
    return 0
}

_ssmrandom_die() {
    dfatal "ssmrandom: $*"
    exit 1
}

install() {
    local key mode f n=0
    _ssmrandom_read || _ssmrandom_die "no producer in SSMRANDOM_PRODUCERS of $_ssmrandom_conf: nothing to take a seed from"
    key=$SSMRANDOM_HOST_KEY
    [[ -f $key ]] || _ssmrandom_die "host key $key is missing: make it with 'ssmrandom keygen --host -o ${key%.jwk}', or empty SSMRANDOM_PRODUCERS in $_ssmrandom_conf"
    mode=$(stat -L -c %a "$key") || _ssmrandom_die "cannot stat host key $key"
    if (((8#$mode & 8#077) != 0)); then
        _ssmrandom_die "host key $key has mode $mode, readable by group or others: chmod 0600 $key (and take a new key if others may have read it)"
    fi
    if [[ -d $SSMRANDOM_TRUST ]]; then
        for f in "$SSMRANDOM_TRUST"/*; do
            [[ -f $f ]] || continue
            inst_simple "$f" "/etc/ssmrandom/trust/${f##*/}" || _ssmrandom_die "cannot copy $f"
            n=$((n + 1))
        done
    elif [[ -f $SSMRANDOM_TRUST ]]; then
        inst_simple "$SSMRANDOM_TRUST" "/etc/ssmrandom/trust/${SSMRANDOM_TRUST##*/}" || _ssmrandom_die "cannot copy $SSMRANDOM_TRUST"
        n=1
    fi
    ((n > 0)) || _ssmrandom_die "no trusted producer key in $SSMRANDOM_TRUST: copy the producers' *.pub.jwk there"

    inst_multiple ssmrandom setsid sleep
    inst_simple /usr/lib/ssmrandom/seed-boot
    inst_simple "$key" /etc/ssmrandom/host.jwk
    chmod 0600 "${initdir}/etc/ssmrandom/host.jwk"
    {
        cat "$_ssmrandom_conf"
        printf '\n# Added by the dracut module: the paths inside the image.\n'
        printf 'SSMRANDOM_HOST_KEY=/etc/ssmrandom/host.jwk\nSSMRANDOM_TRUST=/etc/ssmrandom/trust\n'
    } > "${initdir}/etc/ssmrandom/seed.conf"
    chmod 0600 "${initdir}/etc/ssmrandom/seed.conf"

    inst_hook cmdline 90 "$moddir/ssmrandom-start.sh"
    inst_hook initqueue/online 50 "$moddir/ssmrandom-online.sh"
    inst_hook pre-mount 05 "$moddir/ssmrandom-check.sh"
}
