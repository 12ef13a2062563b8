#!/bin/sh
# dracut pre-mount hook of ssmrandom: when no interface came up before the
# root file system is mounted, say so in the kernel log; the boot goes on.
if [ ! -e /run/ssmrandom/done ]; then
    echo "<4>ssmrandom: no seed: no network interface came up (ip= on the kernel command line); the boot goes on" > /dev/kmsg
    warn "ssmrandom: no seed for the kernel RNG"
fi
