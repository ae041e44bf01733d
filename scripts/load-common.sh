# Sourced by scripts/load.sh and scripts/load-redis.sh: start `pacekeeper serve` on a spare
# loopback port and measure wrk phases against it. Expects `work` (a scratch directory; see
# begin_one_server_run).

# begin_one_server_run: builds the release binaries, makes the scratch directory `work`, and
# at exit stops the server (`pid`) and removes `work`.
begin_one_server_run() {
  cargo build --release -q -p pacekeeper -p pacekeeper-loadgen
  work=$(mktemp -d)
  pid=
  trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
}

# begin_named_servers_run: like begin_one_server_run for several servers started with
# `serve NAME ARGS…` (wrk installed if missing); `on NAME` points the next phase at one.
begin_named_servers_run() {
  command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
  cargo build --release -q -p pacekeeper -p pacekeeper-loadgen
  work=$(mktemp -d)
  servers=()
  trap 'kill "${servers[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
}

# serve NAME ARGS…: starts a server on a fresh data directory; sets NAME_pid and NAME_addr.
serve() {
  local name=$1; shift
  start_server --data "$work/data-$name" "$@"
  servers+=("$pid")
  printf -v "${name}_pid" %s "$pid"
  printf -v "${name}_addr" %s "$addr"
  echo "server $name: $banner"
}

# on NAME: the next phase measures server NAME.
on() { pid=$(eval echo "\$${1}_pid"); addr=$(eval echo "\$${1}_addr"); }

# start_server ARGS…: starts the release binary with ARGS; sets `pid`, `addr` and `banner`.
start_server() {
  PACEKEEPER_LOG=warn ./target/release/pacekeeper serve --listen 127.0.0.1:0 "$@" >"$work/serve.out" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
  addr=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/serve.out")
  banner=$(cat "$work/serve.out")
}

rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

# The whole machine's CPU time from /proc/stat: "busy idle steal" in ticks (busy: user,
# nice, system, irq, softirq; idle includes iowait).
machine() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6, $9 }' /proc/stat; }

# phase CMD…: runs wrk, then prints the server's own CPU time per request (wrk shares the
# cores, so requests/s alone mixes the server's cost with the load generator's), the whole
# machine's (server, wrk and kernel), and how much of the phase the cores sat idle or were
# taken by the hypervisor (steal). Requests/s ≈ cores / machine CPU per request × (1 − idle
# − steal): the last two say whether a phase was short of CPU or waiting.
phase() {
  local before after n hz m0 m1
  hz=$(getconf CLK_TCK)
  before=$(ticks)
  m0=$(machine)
  "$@" >"$work/wrk.out"
  m1=$(machine)
  after=$(ticks)
  grep -E "Requests/sec|latency|Non-2xx|Socket errors" "$work/wrk.out"
  n=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f\n", t * 1e6 / hz / n }' >"$work/cpu"
  echo "server CPU per request: $(cpu) us"
  echo "$m0 $m1" | awk -v hz="$hz" -v n="$n" '{ b = $4 - $1; i = $5 - $2; s = $6 - $3; t = b + i + s
    printf "machine CPU per request: %.1f us; idle %.0f %%, steal %.0f %%\n", b * 1e6 / hz / n, 100 * i / t, 100 * s / t }'
}

# Requests/s, p99 (ms) and server CPU per request (µs) of the last phase.
cpu() { cat "$work/cpu"; }
rate() { awk '/Requests\/sec/ { print $2 }' "$work/wrk.out"; }
p99() { sed -n 's/.*p99=\([0-9.]*\)ms.*/\1/p' "$work/wrk.out"; }
