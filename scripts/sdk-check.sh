#!/usr/bin/env bash
# Proves that the SDK generators users actually use work with the contract the server serves.
#
# Starts the server on a free port with a fresh data dir, fetches /openapi.json, then:
#   python  openapi-python-client generates a client (warnings fail), it is installed into
#           sdk/.venv, and sdk/python/smoke.py runs the scenario against the server with it;
#   ts      openapi-typescript generates types, `tsc --noEmit` (strict) checks sdk/ts/check.ts
#           (openapi-fetch), which is then compiled and run against the server;
#   rust    progenitor generates a client in sdk/rust's build script, `cargo build` must pass,
#           then the crate's binary runs the scenario against the server.
# Every tool is pinned and installed here, under sdk/: sdk/.venv (sdk/python/requirements.txt),
# sdk/ts/node_modules (package-lock.json), sdk/rust/target (Cargo.lock). Run artifacts go to
# sdk/.work, recreated each run. Needs: cargo, python3 >= 3.11 (or $PYTHON), node >= 18 + npm.
#
# Environment:
#   BIN=path          use this server binary instead of building target/debug/bookings
#   ONLY="python ts"  run only these generators (python, ts, rust)
#   OPENAPI_FILE=x    generate from this file instead of the served contract (to try a candidate
#                     contract fix without rebuilding the server; the scenarios still run live)
# Prints one summary line per generator; exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
SDK="$ROOT/sdk"
WORK="$SDK/.work"
PYTHON="${PYTHON:-python3}"
ONLY="${ONLY:-python ts rust}"
BIN="${BIN:-}"
server_build=

say() { printf '\n=== %s\n' "$*"; }
die() { echo "sdk-check: $*" >&2; exit 2; }

# ---- prerequisites
command -v cargo >/dev/null || die "cargo is not installed"
command -v curl >/dev/null || die "curl is not installed"
command -v "$PYTHON" >/dev/null || die "$PYTHON is not installed"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "openapi-python-client and the client it generates need Python >= 3.11 ($PYTHON is $("$PYTHON" -V 2>&1)); set PYTHON"
if [[ " $ONLY " == *" ts "* ]]; then
  command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed for the ts check"
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' || die "node >= 18 is needed (fetch)"
fi

rm -rf "$WORK"
mkdir -p "$WORK/data"

# ---- the server
if [ -z "$BIN" ]; then
  say "building the server"
  t0=$SECONDS
  cargo build -q --bin bookings || die "the server does not build"
  server_build="server build $((SECONDS - t0))s, "
  BIN="$ROOT/target/debug/bookings"
fi
port="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export RUST_LOG="${RUST_LOG:-warn}" DATA_DIR="$WORK/data" APP_ENV=test BIND_ADDR="127.0.0.1:$port"
export JWT_SECRET="sdk-check-$(date +%s%N)-$RANDOM-0123456789abcdef"
"$BIN" serve >"$WORK/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null' EXIT
up=
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$up" ] || { tail -n 30 "$WORK/server.log"; die "the server did not start"; }
export BASE_URL="http://127.0.0.1:$port/v1"
curl -fsS "http://127.0.0.1:$port/openapi.json" -o "$WORK/openapi.json" || die "GET /openapi.json failed"
"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["openapi"].startswith("3.0"), d["openapi"]' "$WORK/openapi.json" ||
  die "/openapi.json is not an OpenAPI 3.0 document"
SPEC="$WORK/openapi.json"
if [ -n "${OPENAPI_FILE:-}" ]; then
  cp "$OPENAPI_FILE" "$WORK/openapi.override.json" || die "cannot read OPENAPI_FILE=$OPENAPI_FILE"
  SPEC="$WORK/openapi.override.json"
  echo "NOTE: generating from OPENAPI_FILE=$OPENAPI_FILE, not from the served contract"
fi
echo "server on 127.0.0.1:$port, contract: $SPEC"

# Fresh users for a scenario: an owner (calendar:write booking:write), a coach and an athlete
# (booking:write, which bookEvents needs), tokens from the `token` subcommand.
users() {
  local owner coach
  owner="$("$PYTHON" -c 'import uuid; print(uuid.uuid4())')"
  coach="$("$PYTHON" -c 'import uuid; print(uuid.uuid4())')"
  ATHLETE_ID="$("$PYTHON" -c 'import uuid; print(uuid.uuid4())')"
  OWNER_TOKEN="$("$BIN" token --sub "$owner" --scope 'calendar:write booking:write')" &&
    COACH_TOKEN="$("$BIN" token --sub "$coach" --scope 'booking:write')" &&
    ATHLETE_TOKEN="$("$BIN" token --sub "$ATHLETE_ID" --scope 'booking:write')" || return 1
  export OWNER_TOKEN COACH_TOKEN ATHLETE_TOKEN ATHLETE_ID
}

declare -A RESULT DETAIL TIME LABEL
fail_step() { DETAIL[$1]="$2"; return 1; }

# ---- python: openapi-python-client
check_python() {
  local venv="$SDK/.venv" out="$WORK/python-client"
  if [ ! -x "$venv/bin/python" ]; then "$PYTHON" -m venv "$venv" || fail_step python "venv" || return 1; fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$SDK/python/requirements.txt" ||
    fail_step python "pip install -r sdk/python/requirements.txt failed" || return 1
  # ruff (a pinned dependency) formats the client; the generator looks for it on PATH.
  PATH="$venv/bin:$PATH" "$venv/bin/openapi-python-client" generate --path "$SPEC" --output-path "$out" \
    --meta setup --overwrite --fail-on-warning ||
    fail_step python "openapi-python-client generate failed or warned (see above)" || return 1
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall "$out" ||
    fail_step python "installing the generated client failed" || return 1
  "$venv/bin/python" -m pip check >/dev/null || { "$venv/bin/python" -m pip check; fail_step python "pip check"; return 1; }
  users || fail_step python "token" || return 1
  "$venv/bin/python" "$SDK/python/smoke.py" || fail_step python "smoke scenario failed (see above)" || return 1
  DETAIL[python]="generated, installed, scenario passed"
}

# ---- ts: openapi-typescript + openapi-fetch
check_ts() {
  local bin="$SDK/ts/node_modules/.bin"
  (cd "$SDK/ts" && npm ci --no-audit --no-fund --loglevel=error) || fail_step ts "npm ci failed" || return 1
  mkdir -p "$SDK/ts/generated"
  "$bin/openapi-typescript" "$SPEC" -o "$SDK/ts/generated/openapi.ts" || fail_step ts "openapi-typescript failed" || return 1
  (cd "$SDK/ts" && "$bin/tsc" --noEmit -p tsconfig.json) || fail_step ts "tsc --noEmit failed (see above)" || return 1
  (cd "$SDK/ts" && rm -rf dist && "$bin/tsc" -p tsconfig.json) || fail_step ts "tsc (emit) failed" || return 1
  users || fail_step ts "token" || return 1
  node "$SDK/ts/dist/check.js" || fail_step ts "tsc --noEmit passed; the scenario against the server failed (see above)" || return 1
  DETAIL[ts]="types generated, tsc --noEmit (strict) passed, scenario passed"
}

# ---- rust: progenitor
check_rust() {
  local log="$WORK/rust-build.log"
  BOOKINGS_OPENAPI="$SPEC" CARGO_TARGET_DIR="$SDK/rust/target" \
    cargo build --locked --manifest-path "$SDK/rust/Cargo.toml" 2>&1 | tee "$log"
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    local why
    why="$(grep -m1 -o 'progenitor rejects [0-9]* operation(s)' "$log")"
    if [ -n "$why" ]; then
      why="$why: $(grep -E '^\s+[a-zA-Z]+ \((GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE) ' "$log" | awk '{print $1}' | paste -sd, -)"
      why="$why ($(grep -m1 -o 'panicked: .*' "$log" | sed 's/ (at .*//')): progenitor needs one body type for all 4xx/5xx responses of an operation"
    else
      why="$(grep -m1 -E '^error' "$log")"
    fi
    fail_step rust "cargo build failed: ${why:-see above}"
    return 1
  fi
  users || fail_step rust "token" || return 1
  "$SDK/rust/target/debug/bookings-sdk-check" || fail_step rust "cargo build passed; the scenario against the server failed (see above)" || return 1
  DETAIL[rust]="generated, cargo build passed, scenario passed"
}

for gen in $ONLY; do
  case "$gen" in
    python) label="openapi-python-client 0.29.1" ;;
    ts) label="openapi-typescript 7.13.0 + openapi-fetch 0.17.0, typescript 5.9.3" ;;
    rust) label="progenitor 0.15.1" ;;
    *) die "unknown generator $gen (python, ts, rust)" ;;
  esac
  say "$gen: $label"
  t0=$SECONDS
  if "check_$gen"; then RESULT[$gen]=PASS; else RESULT[$gen]=FAIL; fi
  TIME[$gen]=$((SECONDS - t0))
  LABEL[$gen]="$label"
done

status=0
say "summary (${server_build}${SECONDS}s in all${OPENAPI_FILE:+; generated from OPENAPI_FILE=$OPENAPI_FILE, not the served contract})"
for gen in $ONLY; do
  printf 'sdk-check %-4s %-6s %s, %ss: %s\n' "${RESULT[$gen]}" "$gen" "${LABEL[$gen]}" "${TIME[$gen]}" "${DETAIL[$gen]:-}"
  [ "${RESULT[$gen]}" = PASS ] || status=1
done
if [ $status -ne 0 ] && grep -q -E 'ERROR|WARN|panicked' "$WORK/server.log"; then
  echo "--- server log, warnings and errors (last 20): $WORK/server.log"
  grep -E 'ERROR|WARN|panicked' "$WORK/server.log" | tail -n 20
fi
exit $status
