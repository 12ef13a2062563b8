#!/bin/sh
# dracut cmdline hook of ssmrandom: note when the boot started, so that
# network and seed together take at most SSMRANDOM_TIMEOUT seconds.
mkdir -p /run/ssmrandom
read -r _ssmrandom_up _ < /proc/uptime
echo "${_ssmrandom_up%.*}" > /run/ssmrandom/start
unset _ssmrandom_up
