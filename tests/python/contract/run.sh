#!/usr/bin/env bash
# Contract test of the HTTP API against its OpenAPI document, with schemathesis.
#
# Starts `pacekeeper serve` on 127.0.0.1:0 with an admin and a decide token, a fresh data
# directory and --trust-client-time, runs schemathesis with every check against the document
# the server itself serves at /openapi.json, stops the server with SIGTERM, and exits non-zero
# on any failure (or if the server does not stop cleanly).
#
# Environment:
#   PACEKEEPER_BIN  the binary (default: target/debug/pacekeeper under the repo root)
#   VENV            a virtualenv with requirements.txt installed (default: `st` on PATH), e.g.
#                     python3 -m venv /tmp/contract-venv
#                     /tmp/contract-venv/bin/pip install -r tests/python/contract/requirements.txt
#                     VENV=/tmp/contract-venv tests/python/contract/run.sh
#   SCHEMA          a document file to test instead of the served one (e.g. an edited
#                   openapi.json against an older binary); default: the served /openapi.json
#   SEED            schemathesis seed (default 1); MAX_EXAMPLES per operation (default 50)
#   ST_TIMEOUT      seconds before the schemathesis run is stopped and counted as failed (170)
#   REPORT_DIR      if set, JUnit and NDJSON reports are written there
#   ST_ARGS         extra arguments for `st run` (e.g. "--phases coverage,fuzzing")
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
bin="${PACEKEEPER_BIN:-target/debug/pacekeeper}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
if [[ ! -x "$bin" ]]; then
  echo "contract: no executable at $bin (set PACEKEEPER_BIN)" >&2
  exit 2
fi
if [[ -n "${VENV:-}" ]]; then
  st="$VENV/bin/st"
else
  st="$(command -v st || true)"
fi
if [[ -z "$st" || ! -x "$st" ]]; then
  echo "contract: schemathesis' \`st\` not found (set VENV, or put it on PATH)" >&2
  exit 2
fi

seed="${SEED:-1}"
max_examples="${MAX_EXAMPLES:-50}"
st_timeout="${ST_TIMEOUT:-170}"

work="$(mktemp -d)"
server_pid=""
# Whether process $1 runs (a child that has exited but is not yet waited for does not).
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}
cleanup() {
  if [[ -n "$server_pid" ]] && alive "$server_pid"; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Tokens of 32 characters, new for each run: the server requires `Authorization: Bearer`.
admin_token="admin-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
decide_token="decide-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"

mkdir -p "$work/data"
PACEKEEPER_ADMIN_TOKEN="$admin_token" PACEKEEPER_DECIDE_TOKEN="$decide_token" \
  "$bin" serve --listen 127.0.0.1:0 --data "$work/data" --trust-client-time >"$work/server.log" 2>&1 &
server_pid=$!

url=""
for _ in $(seq 1 200); do
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/server.log" | head -n 1 || true)"
  [[ -n "$url" ]] && break
  if ! alive "$server_pid"; then
    echo "contract: the server exited before listening:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$url" ]]; then
  echo "contract: the server printed no address within 20 s:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
echo "contract: server $bin at $url (pid $server_pid)"

location="$url/openapi.json"
base=()
if [[ -n "${SCHEMA:-}" ]]; then
  location="$(realpath "$SCHEMA")"
  base=(--url "$url")
fi
reports=()
if [[ -n "${REPORT_DIR:-}" ]]; then
  mkdir -p "$REPORT_DIR"
  reports=(--report junit,ndjson --report-dir "$(realpath "$REPORT_DIR")")
fi

# Every check except use_after_free: GET /v1/members/{id} answers a view for any member id,
# the defaults for one with nothing stored (README, "Endpoints"), so a read after DELETE is
# answered 200 by design; DELETE erases what is stored, not the id.
# One worker: a deterministic order for the fixed seed. No example database, and run from the
# temporary directory, where schemathesis keeps its cache (.schemathesis/): nothing is carried
# over from an earlier run, and nothing is written into the work tree.
cd "$work"
set +e
# shellcheck disable=SC2086
timeout --signal=TERM --kill-after=10 "$st_timeout" "$st" run "$location" "${base[@]}" \
  --checks all \
  --exclude-checks use_after_free \
  --header "Authorization: Bearer $admin_token" \
  --max-examples "$max_examples" \
  --seed "$seed" \
  --generation-database none \
  --workers 1 \
  --request-timeout 10 \
  --no-color \
  "${reports[@]}" ${ST_ARGS:-}
st_status=$?
set -e
if [[ $st_status -eq 124 || $st_status -eq 137 ]]; then
  echo "contract: schemathesis did not finish within ${st_timeout}s" >&2
fi

# SIGTERM: the server answers what is in flight, flushes and exits 0.
kill -TERM "$server_pid"
server_status=0
for _ in $(seq 1 100); do
  alive "$server_pid" || break
  sleep 0.1
done
if alive "$server_pid"; then
  echo "contract: the server did not stop within 10 s of SIGTERM" >&2
  kill -KILL "$server_pid" 2>/dev/null || true
fi
wait "$server_pid" || server_status=$?
server_pid=""
if [[ $server_status -ne 0 ]]; then
  echo "contract: the server exited with status $server_status after SIGTERM; its log:" >&2
  tail -n 50 "$work/server.log" >&2
fi

if [[ $st_status -ne 0 ]]; then
  echo "contract: schemathesis reported failures (exit $st_status)" >&2
  exit 1
fi
if [[ $server_status -ne 0 ]]; then
  exit 1
fi
echo "contract: the server conforms to its OpenAPI document"
