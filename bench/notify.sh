#!/usr/bin/env bash
# Notification delivery benchmark of the release build (the future `make bench-notify`).
#
# For SQLite and PostgreSQL: a server whose SMTP_URL points at a local sink
# (`examples/notify_bench.rs sink`) and whose rules are the two shipped booking confirmations
# (athlete and coach, with the iCalendar attachment); BOOKINGS bookings made over HTTP (so
# 2 x BOOKINGS emails are due); then ONE `POST /v1/bookings/notify` with an admin token is
# timed. It finds the due messages, renders and enqueues them, and sends them all before it
# answers. The sink counts what arrived (and that no message came twice).
# Reports messages per second (= messages received / duration of the call), the split between
# enqueueing (call start -> first message at the sink) and delivering (first -> last message),
# the CPU time the server (and PostgreSQL) used during the call per message, and the server's
# peak RSS; and how long the server took from its start to the first 200 of /readyz on the
# fresh database (every migration applied); writes them to docs/benchmarks.md.
#
# Settings (environment): BOOKINGS (2500), BACKENDS ("sqlite postgres"),
# PG_URL (postgres://postgres@127.0.0.1:5432), PG_QUERY (URL parameters of the server's
# connections, e.g. sslmode=disable), AIM (2000 messages/s, issue #24), READY_AIM_MS (1000), RSS_AIM_MIB (64), BENCH_RUST_LOG, OUT
# (docs/benchmarks.md; "-" to write nothing), SINK_QUICKACK=1 (experiment: the sink ACKs every
# TCP segment at once, which removes the client's Nagle wait; not what a real SMTP server does). Exits non-zero when a step fails or the sink did
# not receive exactly 2 x BOOKINGS distinct messages.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BOOKINGS=${BOOKINGS:-2500}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
# Connection parameters appended to the benchmark database's URL, e.g. "sslmode=disable".
PG_QUERY=${PG_QUERY:-}
AIM=${AIM:-2000}
# Readiness aim: a server started on a fresh database answers /readyz within this (ms).
READY_AIM_MS=${READY_AIM_MS:-1000}
# Peak RSS aim of the server (MiB, VmHWM over its whole life: the setup's requests and the call).
RSS_AIM_MIB=${RSS_AIM_MIB:-64}
ATHLETES=${ATHLETES:-250}
COACHES=${COACHES:-10}
EVENTS=${EVENTS:-30}
BENCH_RUST_LOG=${BENCH_RUST_LOG:-info,sqlx=warn,sea_orm=warn}
# Before the timed call, wait up to QUIET_WAIT seconds for other processes to use less than
# QUIET_BUSY_PCT percent of all CPUs.
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_BUSY_PCT=${QUIET_BUSY_PCT:-15}
# SINK_QUICKACK=1: the sink ACKs every segment at once (an experiment, see notify_bench --help).
SINK_QUICKACK=${SINK_QUICKACK:-0}
SINK_ARGS=()
[ "$SINK_QUICKACK" = 1 ] && SINK_ARGS=(--quickack)
EXPECTED=$((2 * BOOKINGS))
# PERF=1: sample the server with perf during the notify call (reports in PERF_DIR); OUT then
# defaults to "-".
PERF=${PERF:-0}
PERF_DIR=${PERF_DIR:-target/bench-perf}
PERF_FREQ=${PERF_FREQ:-499}
if [ "$PERF" = 1 ]; then
  command -v perf >/dev/null || { echo "error: PERF=1 needs perf (apt-get install linux-perf)" >&2; exit 2; }
  OUT=${OUT:--}
fi
OUT=${OUT:-docs/benchmarks.md}

for tool in cargo curl python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing" >&2; exit 2; }
done
case " $BACKENDS " in
  *" postgres "*)
    command -v psql >/dev/null || { echo "error: psql is missing (apt-get install postgresql-client)" >&2; exit 2; }
    psql "$PG_URL/postgres" -qAtc 'select 1' >/dev/null || { echo "error: PostgreSQL at $PG_URL is unreachable" >&2; exit 2; }
    ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-notify.XXXXXX")
SECRET="bench-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
PG_DB="bench_notify_$$_$(date +%s)"
SERVER_PID=""
SINK_PID=""
PG_CREATED=""
STATUS=1

cleanup() {
  stop_pid "$SERVER_PID"
  stop_pid "$SINK_PID"
  if [ -n "$PG_CREATED" ]; then
    psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ "$STATUS" -eq 0 ]; then
    rm -rf "$WORK"
  else
    echo "bench-notify failed; logs kept in $WORK" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

COMMANDS="$WORK/commands.txt"
: >"$COMMANDS"

# BENCH_BIN and BENCH_EX: measure these binaries (e.g. another commit's build, for an A/B run)
# instead of building the release build of this tree.
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$BENCH_BIN
  EX=${BENCH_EX:?BENCH_EX (the notify_bench example of the same build) goes with BENCH_BIN}
  note "# binaries: $BIN $EX"
else
  echo "== building (release)"
  note cargo build --release --bin bookings --example notify_bench
  cargo build --release --bin bookings --example notify_bench
  BIN=target/release/bookings
  EX=target/release/examples/notify_bench
fi

# Only the two booking confirmations of config/notifications.yaml, unchanged.
RULES="$WORK/notifications.yaml"
cat >"$RULES" <<'EOF'
late_horizon: 2h
event_horizon: 7d
rules:
  - name: booking-confirmation-athlete
    trigger: booking.created
    recipient: athlete
    channel: email
    template: booking_confirmation
    ical: true
  - name: booking-confirmation-coach
    trigger: booking.created
    recipient: coach
    channel: email
    template: booking_new_for_coach
    ical: true
templates:
  booking_confirmation:
    subject: "Booking confirmed: {{ event.start_local }}"
    text: |
      Your booking is confirmed.
      When: {{ event.start_local }} - {{ event.end_local }} ({{ event.timezone }})
      Booking: {{ booking.id }}
    html: |
      <p>Your booking is confirmed.</p>
      <p><b>When:</b> {{ event.start_local }} - {{ event.end_local }} ({{ event.timezone }})</p>
      <p>Booking: {{ booking.id }}</p>
  booking_new_for_coach:
    subject: "New booking for your event on {{ event.start_local }}"
    text: |
      An athlete booked your event of {{ event.start_local }} ({{ event.timezone }}).
      Places left: {{ event.places_left }}
    html: |
      <p>An athlete booked your event of {{ event.start_local }} ({{ event.timezone }}).</p>
      <p>Places left: {{ event.places_left }}</p>
EOF

backend_env() {
  local backend=$1
  ENV=(env -u DATABASE_URL -u WEBHOOK_URLS -u WEBHOOK_SECRET -u CLOCK_OFFSET_SECONDS -u JWT_ALGORITHM
    -u JWT_PUBLIC_KEY_FILE -u JWT_JWKS_FILE -u JWT_ISSUER -u JWT_AUDIENCE -u PUBLIC_BASE_URL -u APP_ENV
    "DATA_DIR=$WORK/$backend" "JWT_SECRET=$SECRET" "RUST_LOG=$BENCH_RUST_LOG" LOG_FORMAT=text
    NOTIFY_INTERVAL_SECONDS=0 "NOTIFICATION_RULES=$RULES" "SMTP_URL=smtp://127.0.0.1:$SINK_PORT")
  if [ "$backend" = postgres ]; then
    ENV+=("DATABASE_URL=$PG_URL/$PG_DB${PG_QUERY:+?$PG_QUERY}")
  fi
}

token() {
  local backend=$1
  shift
  backend_env "$backend"
  "${ENV[@]}" "$BIN" token "$@"
}

new_uuid() { cat /proc/sys/kernel/random/uuid; }

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
FAILED=""

run_backend() {
  local backend=$1 dir="$WORK/$1"
  mkdir -p "$dir"
  echo "== $backend"
  if [ "$backend" = postgres ]; then
    psql "$PG_URL/postgres" -qAtc "CREATE DATABASE \"$PG_DB\"" >/dev/null
    PG_CREATED=1
    note "psql $PG_URL/postgres -c 'CREATE DATABASE <fresh database>'   # dropped at the end"
  fi

  rm -f "$dir/sink.port"
  "$EX" sink --port-file "$dir/sink.port" "${SINK_ARGS[@]}" >"$dir/sink.out" 2>"$dir/sink.err" &
  SINK_PID=$!
  note "$EX" sink --port-file "$dir/sink.port" "${SINK_ARGS[@]}" "&   # SIGTERM prints SINK_RESULT"
  for _ in $(seq 1 100); do [ -s "$dir/sink.port" ] && break; sleep 0.05; done
  SINK_PORT=$(cat "$dir/sink.port")

  local port launched_ms
  port=$(free_port)
  backend_env "$backend"
  # Readiness on a fresh database: from starting the process to the first 200 of /readyz
  # (connecting, every migration, binding).
  wait_quiet
  local ready_busy="$BUSY"
  launched_ms=$(date +%s%3N)
  "${ENV[@]}" "BIND_ADDR=127.0.0.1:$port" "$BIN" serve >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  local base="http://127.0.0.1:$port"
  wait_ready "$base/readyz" 60 "$SERVER_PID" "$launched_ms" || { tail -n 30 "$dir/server.log" >&2; return 1; }
  local ready_ms="$READY_MS"
  echo "   ready after $ready_ms ms (fresh database; others' CPU $ready_busy % before)"
  local shown="DATA_DIR=$WORK/$backend JWT_SECRET=$SECRET RUST_LOG=$BENCH_RUST_LOG NOTIFICATION_RULES=$WORK/notifications.yaml SMTP_URL=smtp://127.0.0.1:<sink port>"
  [ "$backend" = postgres ] && shown="$shown DATABASE_URL=$PG_URL/<fresh database>${PG_QUERY:+?$PG_QUERY}"
  note "$shown BIND_ADDR=127.0.0.1:<port> $BIN serve &   # then curl http://127.0.0.1:<port>/readyz every 20 ms until 200"

  : >"$dir/coaches.txt"
  local id i
  for i in $(seq 1 "$COACHES"); do
    id=$(new_uuid)
    echo "$id $(token "$backend" --sub "$id" --email "coach$i@example.com")" >>"$dir/coaches.txt"
  done
  : >"$dir/athletes.txt"
  for i in $(seq 1 "$ATHLETES"); do
    id=$(new_uuid)
    echo "$id $(token "$backend" --sub "$id" --email "athlete$i@example.com")" >>"$dir/athletes.txt"
  done
  note "$BIN" token --sub "<uuid>" --email "<address>   # $COACHES coaches, $ATHLETES athletes"
  note "$EX" setup --base "http://127.0.0.1:<port>" --coach-tokens "$dir/coaches.txt" --athlete-tokens "$dir/athletes.txt" --bookings "$BOOKINGS" --events "$EVENTS"
  "$EX" setup --base "$base" --coach-tokens "$dir/coaches.txt" --athlete-tokens "$dir/athletes.txt" \
    --bookings "$BOOKINGS" --events "$EVENTS"

  local admin
  admin=$(token "$backend" --sub "$(new_uuid)" --admin)
  note "$BIN" token --sub "<uuid>" --admin
  note curl -sS -o /dev/null -w "'%{http_code} %{time_total}'" --max-time 900 -X POST -H "'Authorization: Bearer <admin token>'" "http://127.0.0.1:<port>/v1/bookings/notify"
  wait_quiet
  local busy="$BUSY"
  local started_ms answer code secs perf_pid=""
  if [ "$PERF" = 1 ]; then
    mkdir -p "$PERF_DIR"
    perf record -q -F "$PERF_FREQ" --call-graph dwarf,16384 -p "$SERVER_PID" -o "$PERF_DIR/notify-$backend.data" \
      2>"$PERF_DIR/notify-$backend.err" &
    perf_pid=$!
    sleep 0.5
  fi
  # The peak before the call (the setup's requests), to tell the call's own share.
  local peak_before
  peak_before=$(vmhwm_mib "$SERVER_PID")
  local cpu_server0 cpu_pg0=0
  cpu_server0=$(cpu_ms "$SERVER_PID")
  [ "$backend" = postgres ] && cpu_pg0=$(cpu_ms $(postgres_pids))
  started_ms=$(date +%s%3N)
  answer=$(curl -sS -o "$dir/notify.body" -w '%{http_code} %{time_total}' --max-time 900 -X POST \
    -H "Authorization: Bearer $admin" "$base/v1/bookings/notify")
  read -r code secs <<<"$answer"
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf report -i "$PERF_DIR/notify-$backend.data" --children --sort symbol --stdio -g none --percent-limit 0.5 \
      >"$PERF_DIR/notify-$backend.children.txt" 2>/dev/null || true
    echo "   perf: $PERF_DIR/notify-$backend.children.txt"
  fi
  local cpu_server cpu_pg="-"
  cpu_server=$(($(cpu_ms "$SERVER_PID") - cpu_server0))
  [ "$backend" = postgres ] && cpu_pg=$(($(cpu_ms $(postgres_pids)) - cpu_pg0))
  local peak
  peak=$(vmhwm_mib "$SERVER_PID")
  stop_pid "$SINK_PID"
  SINK_PID=""
  stop_pid "$SERVER_PID"
  SERVER_PID=""

  local line
  line=$(grep '^SINK_RESULT ' "$dir/sink.out") || { echo "error: the sink reported nothing" >&2; return 1; }
  for kv in ${line#SINK_RESULT }; do
    printf -v "S_${kv%%=*}" '%s' "${kv#*=}"
  done
  local rate enqueue deliver remark=""
  rate=$(awk -v n="$S_messages" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print 0 }')
  enqueue=$(awk -v f="$S_first_unix_ms" -v s="$started_ms" 'BEGIN { if (f > 0) printf "%.2f", (f - s) / 1000; else print "n/a" }')
  deliver=$(awk -v f="$S_first_unix_ms" -v l="$S_last_unix_ms" 'BEGIN { if (f > 0) printf "%.2f", (l - f) / 1000; else print "n/a" }')
  if [ "$code" != 204 ]; then
    remark="FAILED: notify answered $code: $(head -c 300 "$dir/notify.body")"
  elif [ "$S_messages" -ne "$EXPECTED" ] || [ "$S_unique_keys" -ne "$EXPECTED" ]; then
    remark="FAILED: the sink received $S_messages messages ($S_unique_keys distinct), expected $EXPECTED"
  fi
  if [ -n "$remark" ]; then
    FAILED="$FAILED $backend"
    echo "   $remark" >&2
  fi
  local pass
  pass=$(grep -o 'notification pass.*' "$dir/server.log" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g' || true)
  local per_server per_pg="-"
  per_server=$(awk -v ms="$cpu_server" -v n="$S_messages" 'BEGIN { if (n > 0) printf "%.3f", ms / n; else print "n/a" }')
  [ "$cpu_pg" != "-" ] && per_pg=$(awk -v ms="$cpu_pg" -v n="$S_messages" 'BEGIN { if (n > 0) printf "%.3f", ms / n; else print "n/a" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$S_messages" "$S_with_ical" "$secs" "$rate" \
    "$enqueue" "$deliver" "$S_connections" "$peak" "$busy" "${remark:-$pass}" "$per_server" "$per_pg" "$ready_ms" "$ready_busy" "$peak_before" >>"$RESULTS"
  printf '   %s messages in %s s = %s messages/s (enqueue %s s, delivery %s s, %s SMTP connections, peak RSS %s MiB, %s MiB before the call; CPU ms/message: server %s, postgres %s)\n' \
    "$S_messages" "$secs" "$rate" "$enqueue" "$deliver" "$S_connections" "$peak" "$peak_before" "$per_server" "$per_pg"
}

MACHINE="$WORK/machine.md"
machine_markdown >"$MACHINE"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

for backend in $BACKENDS; do
  case "$backend" in sqlite | postgres) ;; *) echo "error: unknown backend $backend" >&2; exit 2 ;; esac
  run_backend "$backend"
done

TABLE="$WORK/table.md"
{
  echo "| backend | messages received | with iCalendar | notify call s | messages/s | aim | enqueue s | delivery s | SMTP connections opened | server peak RSS MiB | RSS aim | peak RSS MiB before the call | server CPU ms/message | postgres CPU ms/message | others' CPU % before | note |"
  echo "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' -v aim="$AIM" -v rss="$RSS_AIM_MIB" '{ v = ($5 + 0 >= aim) ? "meets" : "MISSES"; r = ($9 + 0 <= rss) ? "meets" : "MISSES"
    printf "| %s | %s | %s | %s | %s | >= %s (%s) | %s | %s | %s | %s | <= %s (%s) | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, aim, v, $6, $7, $8, $9, rss, r, $16, $12, $13, $10, $11 }' "$RESULTS"
  echo
  echo "| backend | ready after ms, fresh database | aim | others' CPU % before the start |"
  echo "| --- | ---: | --- | ---: |"
  awk -F'\t' -v aim="$READY_AIM_MS" '{ v = ($14 + 0 <= aim) ? "meets" : "MISSES"
    printf "| %s | %s | <= %s (%s) | %s |\n", $1, $14, aim, v, $15 }' "$RESULTS"
} >"$TABLE"
echo
cat "$TABLE"

if [ "$OUT" != "-" ]; then
  SECTION="$WORK/section.md"
  {
    section_begin notify
    echo "## Notification delivery (\`bench/notify.sh\`, \`make bench-notify\`)"
    echo
    echo "Run $STARTED on commit \`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src migrations Cargo.lock 2>/dev/null || echo '+uncommitted changes')\`, release build."
    echo "$BOOKINGS bookings made over HTTP ($ATHLETES athletes, $COACHES coaches, $EVENTS events, orders of"
    echo "up to 3), rules = the two shipped booking confirmations (athlete, coach; iCalendar attached),"
    echo "so $EXPECTED emails are due; then one \`POST /v1/bookings/notify\` is timed (it enqueues and sends"
    echo "everything before answering). messages/s = messages the sink received / duration of that"
    echo "call. *enqueue* = call start -> first message at the sink (finding, rendering, inserting);"
    echo "*delivery* = first -> last message (claiming, SMTP, recording). The sink is"
    if [ "$SINK_QUICKACK" = 1 ]; then
      echo "\`examples/notify_bench.rs\` on 127.0.0.1 (counts only; EXPERIMENT: --quickack, it ACKs every segment at once)."
    else
      echo "\`examples/notify_bench.rs\` on 127.0.0.1 (counts only)."
    fi
    echo "*CPU ms/message*: CPU time (user + system) the server process, and all PostgreSQL processes,"
    echo "used during the call, over the messages; steadier than messages/s on a shared machine."
    echo "*others' CPU %*: how busy the machine was just before the call, with our server idle."
    echo "*ready after*: from starting \`bookings serve\` on the fresh database (an empty SQLite file, a"
    echo "database just created) to its first 200 of \`/readyz\` (polled every 20 ms): connecting,"
    echo "applying every migration, binding."
    echo
    cat "$TABLE"
    echo
    echo "Machine:"
    echo
    cat "$MACHINE"
    echo
    echo "Commands (\`\$WORK\` is the run's scratch directory, \`<port>\` a free port):"
    echo
    echo '```sh'
    echo "bench/notify.sh   # all of the below"
    cat "$COMMANDS"
    echo '```'
    section_end notify
  } >"$SECTION"
  write_section "$OUT" notify "$SECTION"
  echo
  echo "written to $OUT"
fi

if [ -n "$FAILED" ]; then
  echo "error: failed on:$FAILED" >&2
  exit 1
fi
STATUS=0
