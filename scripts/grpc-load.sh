#!/usr/bin/env bash
# gRPC (Envoy's rate limit protocol) against HTTP on one `pacekeeper serve`, loopback only,
# bounded: `pacekeeper-loadgen closed` keeps CALLERS callers busy over each protocol in turn,
# over 100,000 members and over one hot member, in ROUNDS rounds; the ratio of gRPC to HTTP
# decisions/s is taken within each round (the machine is noisy) and its median reported.
# Usage: scripts/grpc-load.sh [seconds per phase, default 10]
# Environment: ROUNDS (default 3), CALLERS (default 64), CHANNELS (gRPC connections, default 8),
# POLICY (default bench/two-limits.toml), DURABILITY (default process).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rounds=${ROUNDS:-3}
callers=${CALLERS:-64}
channels=${CHANNELS:-8}
policy=${POLICY:-bench/two-limits.toml}
loadgen=./target/release/pacekeeper-loadgen
. scripts/load-common.sh
begin_one_server_run

start_server --data "$work/data" --durability "${DURABILITY:-process}" --cache-members 200000 \
  --policy "$policy" --grpc-listen 127.0.0.1:0
[ -n "$addr" ] || { echo "the server did not start:" >&2; cat "$work/serve.out" >&2; exit 1; }
grpc=$(sed -n 's/.*envoy rls on grpc:\/\/\([^ ]*\).*/http:\/\/\1/p' "$work/serve.out")
domain=$(sed -n 's/.*policy `\([^`]*\)`.*/\1/p' "$work/serve.out")
echo "machine: $(nproc) cores; $secs s per phase; $callers callers (gRPC over $channels connections)"
echo "$banner"

value() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
# run PROTO URL MEMBERS: one phase; prints loadgen's line and the server's CPU per answer.
run() {
  local before line
  before=$(ticks)
  line=$("$loadgen" closed --proto "$1" --url "$2" --members "$3" --callers "$callers" --channels "$channels" \
    --duration "$secs" --domain "$domain")
  echo "$line server_us_per_answer=$(awk -v t=$(($(ticks) - before)) -v hz="$(getconf CLK_TCK)" \
    -v n="$(value answered <<<"$line")" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
}
: >"$work/ratios"
for round in $(seq "$rounds"); do
  echo "== round $round"
  for members in 100000 1; do
    line=$(run http "$addr" "$members") && echo "$line"
    h=$(value 'decisions\/s' <<<"$line")
    line=$(run grpc "$grpc" "$members") && echo "$line"
    g=$(value 'decisions\/s' <<<"$line")
    echo "$members $(awk -v g="$g" -v h="$h" 'BEGIN { printf "%.2f", g / h }')" >>"$work/ratios"
  done
done
echo
for members in 100000 1; do
  m=$(awk -v m="$members" '$1 == m { print $2 }' "$work/ratios" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  echo "members=$members: gRPC/HTTP decisions/s, median of $rounds rounds: $m"
done
echo "server RSS: $(rss)"
