#!/usr/bin/env bash
# Load benchmark of `pacekeeper serve` on loopback, bounded in time:
#   /healthz, then /v1/decide over 100,000 members, then /v1/decide on one hot member,
# all against the same server in the same run, with its RSS before and after.
# Usage: scripts/load.sh [seconds per phase, default 20] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-64}
durability=${DURABILITY:-strict}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release -q -p pacekeeper
data=$(mktemp -d)
out=$(mktemp)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data" "$out" "$out.wrk"' EXIT
PACEKEEPER_LOG=warn ./target/release/pacekeeper serve --listen 127.0.0.1:0 --data "$data" \
  --durability "$durability" --cache-members "${CACHE:-200000}" >"$out" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$out")
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
# Runs wrk, then prints the server's own CPU time per request (wrk shares the cores, so
# requests/s alone mixes the server's cost with the load generator's).
phase() {
  local before after n
  before=$(ticks)
  "$@" >"$out.wrk"
  after=$(ticks)
  grep -E "Requests/sec|latency|Non-2xx" "$out.wrk"
  n=$(awk '/requests in/ {print $1}' "$out.wrk")
  awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN { printf "server CPU per request: %.1f us\n", t * 1e6 / hz / n }'
}
echo "server: $(cat "$out")"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024) " GiB"}' /proc/meminfo); wrk -t2 -c$conns -d${secs}s"
echo "RSS at start: $(rss)"
echo "== /healthz"
phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/healthz.lua "$addr"
echo "== /v1/decide, 100,000 members (invite: 4 limits each)"
MEMBERS=100000 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
echo "RSS after 100,000 members: $(rss)"
echo "== /v1/decide, one hot member"
MEMBERS=1 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
echo "RSS at end: $(rss)"
curl -s "$addr/metrics" | grep -E "^pacekeeper_store_commit_(batch_size|seconds)_(sum|count)|^pacekeeper_cache"
