#!/usr/bin/env bash
# Load benchmark of `pacekeeper serve` on loopback, bounded in time:
#   /healthz, then /v1/decide over 100,000 members, then /v1/decide on one hot member,
# all against the same server, with its RSS before and after. The three phases run ROUNDS
# times (default 3) in turn, and the ratios to /healthz are taken within each round, so a
# slow spell of the machine weighs on both sides of a ratio; the summary gives the median.
# With WITH_DRY_RUN=1 each round adds dry runs over the same 100,000 members (decisions read
# and answered, nothing written), which separates the cost of writing from the rest.
# Usage: scripts/load.sh [seconds per phase, default 10] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
rounds=${ROUNDS:-3}
durability=${DURABILITY:-strict}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release -q -p pacekeeper
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/load-common.sh
start_server --data "$work/data" --durability "$durability" --cache-members "${CACHE:-200000}"
echo "server: $banner"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024) " GiB"}' /proc/meminfo); wrk -t2 -c$conns -d${secs}s, $rounds rounds"
echo "RSS at start: $(rss)"
: >"$work/summary"
for round in $(seq "$rounds"); do
  echo "== round $round: /healthz"
  phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/healthz.lua "$addr"
  health=$(rate)
  echo "== round $round: /v1/decide, 100,000 members (invite: 4 limits each)"
  MEMBERS=100000 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
  decide=$(rate) decide_p99=$(p99)
  [ "$round" = 1 ] && echo "RSS after 100,000 members: $(rss)"
  if [ "${WITH_DRY_RUN:-0}" = 1 ]; then
    echo "== round $round: /v1/decide dry runs, 100,000 members (nothing written)"
    MEMBERS=100000 DRY_RUN=1 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
    echo "ratio to /healthz: $(awk -v d="$(rate)" -v h="$health" 'BEGIN { printf "%.2f", d / h }')"
  fi
  echo "== round $round: /v1/decide, one hot member"
  MEMBERS=1 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
  hot=$(rate) hot_p99=$(p99)
  echo "$health $decide $decide_p99 $hot $hot_p99" >>"$work/summary"
done
echo "RSS at end: $(rss)"
curl -s "$addr/metrics" | grep -E "^pacekeeper_store_commit_(batch_size|seconds)_(sum|count)|^pacekeeper_cache"
echo "== per round: healthz/s, decide/s (ratio, p99), hot/s (ratio, p99)"
awk '{ printf "%.0f  %.0f (%.2f, %s ms)  %.0f (%.2f, %s ms)\n", $1, $2, $2 / $1, $3, $4, $4 / $1, $5 }' "$work/summary"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median ratio, 100,000 members: $(awk '{ printf "%.3f\n", $2 / $1 }' "$work/summary" | median); median p99: $(awk '{ print $3 }' "$work/summary" | median) ms"
echo "median ratio, hot member: $(awk '{ printf "%.3f\n", $4 / $1 }' "$work/summary" | median); median p99: $(awk '{ print $5 }' "$work/summary" | median) ms"
