#!/usr/bin/env bash
# Load benchmark of `pacekeeper serve` on Redis, on loopback, bounded in time. In one run:
#   1. redis-benchmark: plain SETs (100-byte values over 100,000 keys) on a fresh Redis;
#   2. /v1/decide through the server on that same Redis: 100,000 members, then one hot member;
#   3. /healthz of the same server, for reference.
# Usage: scripts/load-redis.sh [seconds per phase, default 20] [connections, default 64]
# CLUSTER=1 runs both on a 3-master Redis Cluster instead of a single server.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-64}
for tool in wrk redis-server redis-benchmark; do
  command -v "$tool" >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk redis-server redis-tools
    break
  }
done
cargo build --release -q -p pacekeeper
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_redis() { # port [extra args]
  local port=$1; shift
  mkdir -p "$work/$port"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work/$port" "$@" >"$work/$port/log" &
  pids+=($!)
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "redis-server on $port did not start" >&2; exit 1
}

flags=()
if [ "${CLUSTER:-0}" = 1 ]; then
  ports=()
  for _ in 1 2 3; do
    while :; do p=$(free_port); [ "$p" -lt 55000 ] && break; done
    start_redis "$p" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000
    ports+=("$p")
  done
  redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
  for p in "${ports[@]}"; do
    until redis-cli -p "$p" cluster info | grep -q cluster_state:ok; do sleep 0.1; done
  done
  port=${ports[0]}
  urls=$(printf 'redis://127.0.0.1:%s,' "${ports[@]}")
  flags=(--redis "${urls%,}" --redis-cluster)
  bench_flags=(--cluster)
  echo "Redis: 3-master cluster on ports ${ports[*]} (no persistence)"
else
  port=$(free_port)
  start_redis "$port"
  flags=(--redis "redis://127.0.0.1:$port")
  bench_flags=()
  echo "Redis: one server on port $port (no persistence)"
fi
echo "machine: $(nproc) cores; $(redis-server --version | cut -d' ' -f3)"

echo "== redis-benchmark: SET, 100-byte values, 100,000 keys, $conns connections, $secs s worth"
# As many SETs as Redis does in about $secs seconds at 100k/s; -q prints requests/s and p50.
redis-benchmark -p "$port" "${bench_flags[@]}" -t set -d 100 -r 100000 -c "$conns" -n $((secs * 100000)) -q \
  | tr '\r' '\n' | grep -E "^SET: .*requests per second" | tail -1
redis-cli -p "$port" flushall >/dev/null 2>&1 || true

. scripts/load-common.sh
start_server --data "$work/unused" "${flags[@]}"
pids+=($pid)
echo "server: $banner"
echo "RSS at start: $(rss)"
echo "== /v1/decide on Redis, 100,000 members (invite)"
MEMBERS=100000 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
echo "RSS after 100,000 members: $(rss)"
echo "== /v1/decide on Redis, one hot member"
MEMBERS=1 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
echo "== /healthz of the same server"
phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/healthz.lua "$addr"
curl -s "$addr/metrics" | grep -E "^pacekeeper_redis_(writes|conflicts|errors)_total"
