# Sourced by the scripts that check a live server (contract-lint.sh, browser-test.sh).
#
# serve_start NAME: starts `$BIN serve` (default: cargo build, then target/debug/bookings) on a
# free port with a fresh SQLite database in a temporary directory and a throwaway JWT secret,
# waits until /healthz answers, and on exit stops it and removes the directory, showing the end
# of the server's log when the script failed. Sets BIN, work, port, base and pid.
# Needs node (for the free port) and curl.

serve_start() {
  local name="$1"
  if [ -z "${BIN:-}" ]; then
    "${CARGO:-cargo}" build -q --bin bookings
    BIN=target/debug/bookings
  fi
  work="$(mktemp -d)"
  port="$(node -e 'const s=require("net").createServer(); s.listen(0,"127.0.0.1",()=>{console.log(s.address().port); s.close()})')"
  base="http://127.0.0.1:$port"
  export RUST_LOG="${RUST_LOG:-warn}" DATA_DIR="$work/data" APP_ENV=test BIND_ADDR="127.0.0.1:$port" \
    JWT_SECRET="$name-secret-$(date +%s%N)-0123456789"
  mkdir -p "$DATA_DIR"
  "$BIN" serve >"$work/server.log" 2>&1 &
  pid=$!
  trap serve_stop EXIT
  for _ in $(seq 1 150); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "the server exited during start" >&2; cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "the server did not answer $base/healthz in 15 s" >&2
  exit 1
}

serve_stop() {
  local status=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$status" -ne 0 ] && [ -s "$work/server.log" ]; then
    echo "--- server log (last 50 lines)"
    tail -n 50 "$work/server.log"
  fi
  rm -rf "$work"
}
