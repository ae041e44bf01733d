#!/usr/bin/env bash
# Benchmarks of the sender's side, on the release build:
#  1. planning a queue of N items (default 1,000,000): time and peak memory of `pace plan`
#     (and of the import that fills the queue);
#  2. the runner's own CPU per send against a local server with pacing off: `pace run`
#     posting each send to a local webhook that answers 204 at once.
# Everything talks to 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
SENDS=${SENDS:-3000}
bin=target/release/pacekeeper
[ -x "$bin" ] || cargo build --release --locked -p pacekeeper
d=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$d"' EXIT

measure() { # label, command…: wall seconds, CPU seconds (user+sys) and peak RSS of the command
  local label=$1; shift
  /usr/bin/time -f "$label: %e s wall, %U s user + %S s sys CPU, peak RSS %M KB" "$@"
}

export PACEKEEPER_QUEUE=$d/plan-queue
"$bin" pace init --account a1 --zone Europe/Paris --hours 'Mon-Fri 09:00-18:00' --daily invite=100 --no-warmup >/dev/null
python3 -c "
import sys
out = sys.stdout
for i in range($N):
    out.write('{\"target\":\"lead-%d\"}\n' % i)" > "$d/leads.jsonl"
measure "import $N items" "$bin" pace import "$d/leads.jsonl" --account a1 --action invite
measure "plan $N items" "$bin" pace plan --seed 1 --from 2026-12-07T06:00:00Z --days 1 > "$d/plan.txt"
tail -1 "$d/plan.txt"

cat > "$d/policy.toml" <<'TOML'
name = "bulk"
tiers = ["free"]
default_tier = "free"
actions = ["invite"]

[[limit]]
name = "weekly_invitations"
actions = ["invite"]
window = { kind = "anchored", period = "7d" }
amount = 100000000
TOML
"$bin" serve --listen 127.0.0.1:0 --data "$d/srv" --policy "$d/policy.toml" > "$d/srv.out" 2>&1 &
pids+=($!)
cat > "$d/sink.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$d/sink.py" > "$d/sink.port" &
pids+=($!)
for _ in $(seq 50); do
  grep -q "listening on" "$d/srv.out" 2>/dev/null && [ -s "$d/sink.port" ] && break
  sleep 0.1
done
server=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$d/srv.out" | head -1)
export PACEKEEPER_QUEUE=$d/run-queue PACEKEEPER_SERVER=$server
"$bin" pace init --account r1 --no-warmup --withdraw-after 0d >/dev/null
head -n "$SENDS" "$d/leads.jsonl" > "$d/sends.jsonl"
"$bin" pace import "$d/sends.jsonl" --account r1 --action invite >/dev/null
out=$( { measure "run $SENDS sends" ${PROFILE:-} "$bin" pace run --until-empty --pacing off --webhook "http://127.0.0.1:$(cat "$d/sink.port")/" 2>&1 >/dev/null; } 2>&1 | grep "^run ")
echo "$out"
echo "$out" | awk -v n="$SENDS" '{ for (i = 1; i <= NF; i++) { if ($i == "user") u = $(i-2); if ($i == "sys") s = $(i-2) } } END { printf "runner CPU per send: %.0f µs (user+sys over %d sends)\n", (u + s) * 1e6 / n, n }'
