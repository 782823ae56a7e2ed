#!/usr/bin/env bash
# Browser tests of the Swagger UI at /docs and of the visitor's booking pages (`make browser-test`,
# part of `make test`).
#
# Installs Chromium with apt-get when /usr/bin/chromium is missing, installs playwright-core and
# @axe-core/playwright from
# e2e/package-lock.json (npm ci; never downloads a browser), starts the server on a free port with
# a fresh SQLite database, creates a calendar and a booking link (Mon-Fri 09:00-17:00,
# Europe/Berlin) through the API, and runs e2e/swagger.test.mjs with node's test runner in
# headless Chromium, then e2e/booking.test.mjs (the booking and manage pages, with axe) in the
# same node test run against the same server. Screenshots land in e2e/artifacts/.
#
# Environment: BIN (a built server; default: cargo build, then target/debug/bookings),
# CHROMIUM_PATH (default /usr/bin/chromium), NODE_TEST_REPORTER (default spec).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

# --- Chromium (Debian's package; Playwright's own browser downloads are not used).
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "--- installing chromium with apt-get"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # Once more on failure: a transient dpkg error (a vanished /tmp/apt-dpkg-install-*) was seen.
  $sudo apt-get install -y -qq chromium >/dev/null \
    || $sudo apt-get install -y -qq chromium >/dev/null
fi
[ -x "$CHROMIUM_PATH" ] || { echo "no Chromium at $CHROMIUM_PATH" >&2; exit 1; }
# (stderr: Debian's wrapper script can complain about /dev/shm; harmless)
echo "--- $("$CHROMIUM_PATH" --version 2>/dev/null)"

# --- Node and playwright-core, exactly as locked.
node -e 'if (+process.versions.node.split(".")[0] < 20) { console.error("node >= 20 is needed, found " + process.version); process.exit(1) }'
(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

# --- The server.
# shellcheck source=lib/serve.sh
. scripts/lib/serve.sh
serve_start browser-test

# --- Data, through the API.
sub=4b72d209-debd-45e1-93cc-7640bf7d39bf
token="$("$BIN" token --sub "$sub" --scope 'calendar:write booking:write')"
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
api() { curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
calendar_id="$(api -d '{"name":"Browser test"}' "$base/v1/calendars" | json_field id)"
hours='[{"start":"09:00","end":"17:00"}]'
link_token="$(api -d "{\"duration_minutes\":30,\"buffer_minutes\":0,\"timezone\":\"Europe/Berlin\",
  \"working_hours\":{\"mon\":$hours,\"tue\":$hours,\"wed\":$hours,\"thu\":$hours,\"fri\":$hours,\"sat\":[],\"sun\":[]}}" \
  "$base/v1/calendars/$calendar_id/booking-link" | json_field token)"

# --- The browser test. Chromium's temporary profile goes under $work too.
set +e
(cd e2e && TMPDIR="$work" BASE_URL="$base" API_TOKEN="$token" BOOKING_LINK_TOKEN="$link_token" \
  CALENDAR_ID="$calendar_id" CHROMIUM_PATH="$CHROMIUM_PATH" ARTIFACTS_DIR="$root/e2e/artifacts" \
  node --test --test-concurrency=1 --test-reporter="${NODE_TEST_REPORTER:-spec}" swagger.test.mjs booking.test.mjs)
status=$?
set -e
exit $status
