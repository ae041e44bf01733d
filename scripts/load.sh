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
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/load-common.sh
start_server --data "$work/data" --durability "$durability" --cache-members "${CACHE:-200000}"
echo "server: $banner"
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
