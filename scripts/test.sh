#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, docs, and every test in the workspace.
# Installs what the tests need when it is missing, so it works on a fresh Debian machine
# with only a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# The Redis suites start real redis-server processes; the Python suites need a venv.
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
# The dashboard's browser suite: Debian's Chromium (never a downloaded browser) and Node.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} (needed by the test suite)…"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # Debian starts a system redis-server on 6379; the tests start their own on spare ports.
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
cargo test --workspace --locked

# Real clients from outside: Envoy's rate limit protocol through a Python gRPC client built
# from Envoy's own rls.proto, and the HTTP contract checked by schemathesis against
# /openapi.json. Both run the debug binary the Rust suites just built.
py=target/py
[ -x "$py/bin/python" ] || python3 -m venv "$py"
"$py/bin/python" -m pip install -q --disable-pip-version-check \
  -r tests/python/rls/requirements.txt -r tests/python/contract/requirements.txt
cargo build --locked -p pacekeeper --bin pacekeeper
# The README's run command names no binary: it must still find the server's.
cargo run --locked -q -- --version
export PACEKEEPER_BIN="$PWD/target/debug/pacekeeper"
PYTHONDONTWRITEBYTECODE=1 "$py/bin/python" -m pytest tests/python/rls -q
VENV="$PWD/$py" bash tests/python/contract/run.sh

# The dashboard in a real browser: playwright-core (pinned in tests/browser/package-lock.json)
# drives Debian's Chromium against the debug binary on 127.0.0.1.
[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/browser && node --test --test-concurrency=1)
