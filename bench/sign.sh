#!/usr/bin/env bash
# bench/sign.sh: what signing and verifying one frame costs (docs/performance.md).
# Runs the internal/sign and internal/receive benchmarks COUNT times (default
# 10) and prints the medians as a Markdown table, with the ratio of the full
# check (Verify) to crypto/ed25519 alone (VerifyRaw) and frames per second
# per core. Usage: bench/sign.sh [COUNT] [BENCHTIME]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10}
benchtime=${2:-1s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench '^Benchmark(Sign|SignGoJose|Verify|VerifyGoJose|VerifyRaw)$' -benchmem \
  -benchtime "$benchtime" -count "$count" ./internal/sign/ | tee "$out" >&2
go test -run '^$' -bench '^Benchmark(Handle|Reject|Good|Ed25519Verify)$' -benchmem \
  -benchtime "$benchtime" -count "$count" ./internal/receive/ | tee -a "$out" >&2

# Median ns/op, B/op and allocs/op per benchmark name (GOMAXPROCS suffix cut).
awk '
  /^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name)
    for (i = 3; i <= NF; i++) {
      if ($(i+1) == "ns/op") ns[name] = ns[name] " " $i
      if ($(i+1) == "B/op") by[name] = $i
      if ($(i+1) == "allocs/op") al[name] = $i
    }
    if (!(name in seen)) { seen[name] = 1; order[n++] = name }
  }
  function median(s,   a, k, i, j, t) {
    k = split(s, a, " ")
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    printf "| benchmark | ns/op (median of %s) | frames/s per core | B/op | allocs/op |\n", '"$count"'
    print  "|---|---:|---:|---:|---:|"
    for (i = 0; i < n; i++) {
      m = median(ns[order[i]]); med[order[i]] = m
      printf "| %s | %.0f | %.0f | %s | %s |\n", order[i], m, 1e9 / m, by[order[i]], al[order[i]]
    }
    print ""
    for (i = 0; i < n; i++) {
      name = order[i]
      if (name ~ /^BenchmarkVerify\//) {
        raw = name; sub(/Verify\//, "VerifyRaw/", raw)
        if (raw in med) printf "- %s / %s = %.3f\n", name, raw, med[name] / med[raw]
      }
    }
  }' "$out"
