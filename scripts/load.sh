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
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data" "$out"' EXIT
PACEKEEPER_LOG=warn ./target/release/pacekeeper serve --listen 127.0.0.1:0 --data "$data" \
  --durability "$durability" --cache-members "${CACHE:-200000}" >"$out" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$out")
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
echo "server: $(cat "$out")"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024) " GiB"}' /proc/meminfo); wrk -t2 -c$conns -d${secs}s"
echo "RSS at start: $(rss)"
echo "== /healthz"
wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/healthz.lua "$addr" | grep -E "Requests/sec|latency|Non-2xx"
echo "== /v1/decide, 100,000 members (invite: 4 limits each)"
MEMBERS=100000 wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr" | grep -E "Requests/sec|latency|Non-2xx"
echo "RSS after 100,000 members: $(rss)"
echo "== /v1/decide, one hot member"
MEMBERS=1 wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr" | grep -E "Requests/sec|latency|Non-2xx"
echo "RSS at end: $(rss)"
curl -s "$addr/metrics" | grep -E "^pacekeeper_store_commit_(batch_size|seconds)_(sum|count)|^pacekeeper_cache"
