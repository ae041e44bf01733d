#!/usr/bin/env bash
# Load benchmark of `pacekeeper serve` on loopback, bounded in time. Three servers, started
# once on fresh data directories:
#   A: the benchmark policy (bench/two-limits.toml: 100 a week and 20 an hour, both anchored)
#      in $DURABILITY (default process);
#   B: the `linkedin` preset (the `invite` mix: two windows, two caps) in the same durability;
#   S: the benchmark policy in strict durability, whose tail is the disk's.
# Each round runs, against the same machine state: /healthz of A, then /v1/decide over
# 100,000 members on A, one hot member on A, 100,000 members on B and on S. Ratios are taken
# to that round's /healthz, so a slow spell weighs on both sides; the summary gives medians.
# The disk's own write+fdatasync latency is measured at the start and the end, to read beside
# strict mode's p99. With WITH_DRY_RUN=1 each round adds dry runs on A (read and answered,
# nothing written).
# Usage: scripts/load.sh [seconds per phase, default 10] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
rounds=${ROUNDS:-3}
durability=${DURABILITY:-process}
. scripts/load-common.sh
begin_named_servers_run

cache=(--cache-members "${CACHE:-200000}")
serve A --policy bench/two-limits.toml --durability "$durability" "${cache[@]}"
serve B --policy linkedin --durability "$durability" "${cache[@]}"
serve S --policy bench/two-limits.toml --durability strict "${cache[@]}"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024) " GiB"}' /proc/meminfo); wrk -t2 -c$conns -d${secs}s, $rounds rounds; $(date -u +%F)"
echo "disk, before: $(./target/release/pacekeeper-loadgen fsync --dir "$work" | grep '^fsync ')"
on A
echo "RSS of A at start: $(rss)"
: >"$work/summary"
for round in $(seq "$rounds"); do
  on A
  echo "== round $round: /healthz"
  phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/healthz.lua "$addr"
  health=$(rate) health_cpu=$(cpu)
  echo "== round $round: A /v1/decide, 100,000 members, two limits, $durability"
  MEMBERS=100000 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
  decide=$(rate) decide_p99=$(p99) decide_cpu=$(cpu)
  [ "$round" = 1 ] && echo "RSS of A after 100,000 members: $(rss)"
  if [ "${WITH_DRY_RUN:-0}" = 1 ]; then
    echo "== round $round: A /v1/decide dry runs, 100,000 members (nothing written)"
    MEMBERS=100000 DRY_RUN=1 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
    echo "ratio to /healthz: $(awk -v d="$(rate)" -v h="$health" 'BEGIN { printf "%.2f", d / h }')"
  fi
  echo "== round $round: A /v1/decide, one hot member"
  MEMBERS=1 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
  hot=$(rate) hot_p99=$(p99)
  on B
  echo "== round $round: B /v1/decide, 100,000 members, linkedin invite mix, $durability"
  MEMBERS=100000 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
  mix=$(rate) mix_p99=$(p99)
  on S
  echo "== round $round: S /v1/decide, 100,000 members, two limits, strict"
  MEMBERS=100000 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
  strict=$(rate) strict_p99=$(p99)
  echo "$health $decide $decide_p99 $hot $hot_p99 $mix $mix_p99 $strict $strict_p99 $health_cpu $decide_cpu" >>"$work/summary"
done
echo "disk, after: $(./target/release/pacekeeper-loadgen fsync --dir "$work" | grep '^fsync ')"
on A
echo "RSS of A at end: $(rss)"
for s in A S; do
  on $s
  echo "server $s: $(curl -s "$addr/metrics" | grep -E "^pacekeeper_store_(commits|log_writes)_total" | tr '\n' ' ')"
done
echo "== per round: healthz/s; A decide/s (ratio, p99); A hot; B invite mix; S strict"
awk '{ printf "%.0f; %.0f (%.2f, %s ms); %.0f (%.2f, %s ms); %.0f (%.2f, %s ms); %.0f (%.2f, %s ms)\n",
  $1, $2, $2 / $1, $3, $4, $4 / $1, $5, $6, $6 / $1, $7, $8, $8 / $1, $9 }' "$work/summary"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# report LABEL RATE_COLUMN P99_COLUMN: the median ratio to /healthz and median p99 of a phase.
report() {
  echo "$1: median ratio $(awk -v c="$2" '{ printf "%.3f\n", $c / $1 }' "$work/summary" | median), median p99 $(awk -v c="$3" '{ print $c }' "$work/summary" | median) ms"
}
report "A, 100,000 members, $durability" 2 3
report "A, hot member, $durability" 4 5
report "B, linkedin invite mix, $durability" 6 7
report "S, 100,000 members, strict" 8 9
echo "server CPU per request, median: /healthz $(awk '{ print $10 }' "$work/summary" | median) us, A decide $(awk '{ print $11 }' "$work/summary" | median) us"
