#!/usr/bin/env bash
# Open-loop latency benchmark of `pacekeeper serve` on loopback: requests offered at fixed
# rates whatever the answers (wrk, closed-loop, only sends when an answer comes back), each
# latency counted from the request's intended send time, so a stall is charged to every
# request queued behind it. One server per durability level, each on a fresh data
# directory; the disk's own write + fdatasync latency is measured first, for reference.
# Usage: scripts/openloop.sh [seconds per run, default 10] [rates, default "10000 20000"]
# Environment: LEVELS (default "process strict relaxed"), POLICY (default
# bench/two-limits.toml), CONNS (connections, default 64).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rates=${2:-10000 20000}
levels=${LEVELS:-process strict relaxed}
policy=${POLICY:-bench/two-limits.toml}
conns=${CONNS:-64}
loadgen=./target/release/pacekeeper-loadgen
. scripts/load-common.sh
begin_one_server_run

echo "machine: $(nproc) cores; $secs s per run at ${rates// /, } requests/s, $conns connections"
"$loadgen" fsync --dir "$work" >"$work/fsync.out"
grep '^fsync ' "$work/fsync.out"
lowest=$(printf '%s\n' $rates | sort -n | head -n 1)
: >"$work/results"
for level in $levels; do
  start_server --data "$work/data-$level" --durability "$level" --cache-members 200000 --policy "$policy"
  [ -n "$addr" ] || { echo "the server did not start:" >&2; cat "$work/serve.out" >&2; exit 1; }
  echo "== durability $level: $banner"
  "$loadgen" open-loop --url "$addr" --rate "$lowest" --duration 3 --warmup 0 --connections "$conns" >/dev/null
  for rate in $rates; do
    "$loadgen" open-loop --url "$addr" --rate "$rate" --duration "$secs" --connections "$conns" >"$work/run.out"
    line=$(grep '^openloop ' "$work/run.out")
    echo "$line"
    echo "$level $line" >>"$work/results"
  done
  kill "$pid"
  wait "$pid" || true
  pid=
done

echo
echo "| durability | offered/s | achieved/s | p50 ms | p99 ms | p99.9 ms | max ms | > 20 ms | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
awk '{ split("", v); for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  printf "| %s | %s | %s | %s | %s | %s | %s | %s %% | %s |\n", $1, v["rate"], v["achieved"],
    v["p50_ms"], v["p99_ms"], v["p999_ms"], v["max_ms"], v["over20ms_pct"], v["errors"] }' "$work/results"
