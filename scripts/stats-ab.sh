#!/usr/bin/env bash
# What the statistics observer costs a decision: two servers on the benchmark policy
# (bench/two-limits.toml) in $DURABILITY (default process), ON with statistics (the default)
# and OFF with --no-stats, on fresh data directories. Each round runs /v1/decide over 100,000
# members on both, in alternating order, and takes the ON/OFF ratio of decisions/s within the
# round; the summary gives the median ratio. Loopback only, bounded in time.
# Usage: scripts/stats-ab.sh [seconds per phase, default 10] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
rounds=${ROUNDS:-5}
durability=${DURABILITY:-process}
. scripts/load-common.sh
begin_named_servers_run
measure() {
  on "$1"
  echo "== round $round: $1 /v1/decide, 100,000 members"
  MEMBERS=100000 phase wrk -t2 -c"$conns" -d"${secs}s" -s bench/load/decide.lua "$addr"
  printf -v "${1}_rate" %s "$(rate)"
  printf -v "${1}_p99" %s "$(p99)"
  printf -v "${1}_cpu" %s "$(cpu)"
}

serve ON --policy bench/two-limits.toml --durability "$durability"
serve OFF --policy bench/two-limits.toml --durability "$durability" --no-stats
echo "machine: $(nproc) cores; wrk -t2 -c$conns -d${secs}s; $rounds rounds; $durability; $(date -u +%F)"
: >"$work/summary"
for round in $(seq "$rounds"); do
  if [ $((round % 2)) = 1 ]; then measure ON; measure OFF; else measure OFF; measure ON; fi
  echo "$ON_rate $ON_p99 $ON_cpu $OFF_rate $OFF_p99 $OFF_cpu" >>"$work/summary"
done
on ON
echo "RSS: ON $(rss)"
on OFF
echo "RSS: OFF $(rss)"
echo "== summary (decisions/s, p99 ms, server CPU µs per decision; ratio ON/OFF within each round)"
awk '{ printf "round %d: ON %.0f/s p99 %s ms %s us | OFF %.0f/s p99 %s ms %s us | ratio %.3f\n", NR, $1, $2, $3, $4, $5, $6, $1 / $4 }' "$work/summary"
awk '{ print $1 / $4 }' "$work/summary" | sort -n | awk '{ r[NR] = $1 } END { printf "median ratio ON/OFF: %.3f (min %.3f, max %.3f)\n", r[int((NR + 1) / 2)], r[1], r[NR] }'
