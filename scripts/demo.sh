#!/usr/bin/env bash
# make demo: a throwaway producer key, a receiver that trusts it, a sender
# on loopback for a few seconds, and an intruder whose frames are rejected.
# Everything happens in a temporary folder, on lo, with group 232.0.1.199.
set -euo pipefail
bin=$(realpath "${1:-./ssmrandom}")
group=232.0.1.199
port=49199
dir=$(mktemp -d)
recv_pid=
cleanup() {
  [ -n "$recv_pid" ] && kill "$recv_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
cd "$dir"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "keygen: a throwaway producer key, and an intruder's key"
kid=$("$bin" keygen -o producer 2>/dev/null)
intruder=$("$bin" keygen -o intruder 2>/dev/null)
echo "producer kid $kid"
echo "intruder kid $intruder"
mkdir trust && cp producer.pub.jwk trust/

say "recv: trusts only trust/producer.pub.jwk, joins (127.0.0.1, $group) on lo"
: > entropy.bin
"$bin" recv --trust trust -o entropy.bin -g "$group" -p "$port" -i lo \
  --log-format console --stats-interval 1s 127.0.0.1 2> recv.log &
recv_pid=$!
for _ in $(seq 100); do # wait for the join, at most 5 s
  grep -q "$(printf '0x%02x%02x%02x%02x' ${group//./ })" /proc/net/mcfilter 2>/dev/null && break
  sleep 0.05
done

say "send: 64 signed frames of 512 bytes from /dev/urandom at 16 KiB/s (about 2 s)"
"$bin" send -k producer.jwk -g "$group" -p "$port" -i lo -t 1 --count 64 --log-format console

say "send: the intruder sends 10 frames signed with a key recv does not trust"
"$bin" send -k intruder.jwk -g "$group" -p "$port" -i lo -t 1 --count 10 --rate 0 --log-format console

sleep 1.2
kill -INT "$recv_pid"
wait "$recv_pid" || true
recv_pid=

say "recv's log"
cat recv.log

say "result"
echo "verified bytes written to entropy.bin: $(stat -c %s entropy.bin) (64 frames x 512 bytes = 32768)"
echo "the intruder's frames were dropped as unknown_key; none of their bytes were written"
