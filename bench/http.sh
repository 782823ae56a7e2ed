#!/usr/bin/env bash
# HTTP benchmarks of the release build (the future `make bench-http`).
#
# For SQLite (the default database in a fresh DATA_DIR) and PostgreSQL (a fresh database), it
# prepares data through the API, then measures with wrk, one fresh server process per case:
#   healthz       GET /healthz (the floor: routing, tracing, JSON)
#   availability  getBookingAvailability, 31 days, a link with Mon–Fri 09:00–17:00 and 30-minute
#                 slots, 200 busy events in its calendar, the same URL every time
#   availability_ranges  the same, each request a range a minute later (every answer computed)
#   reserve       reserveBookingSlot, a different free slot per request, round-robin over 200
#                 calendars (so requests rarely queue on one calendar's lock), each calendar's
#                 slots in time order (every reservation later than its calendar's others)
#   reserve_spread the same slots, each calendar's in an order spread over its 31 weeks (as
#                 visitors pick them): most reservations land among ones already made
#   book          bookEvents, orders of 3 events out of 1,200 (10,000 places each) by 500
#                 athletes with their own tokens
#   replay        reserveBookingSlot sent again with the Idempotency-Key and body of a
#                 reservation already made (200 of them, round-robin): the stored answer
#   reschedule    rescheduleReservation through the manage token, each request a move of one of
#                 4,000 reservations (20 per calendar, each in a lane of its own slots, round-robin, no
#                 sequence) to a free slot it has not had
# and on PostgreSQL pgbench's one-row INSERT transaction at the same concurrency. It prints a
# table (requests/s, p50, p99, the server's peak RSS, CPU and database statements per request)
# and the ratios, and writes them with the machine and the commands to docs/benchmarks.md.
# Statements per request: the server's own count (`db_statements_total` on /metrics, every
# statement sea-orm runs, read before and after the measured run); BEGIN and COMMIT of a
# transaction are not statements there.
#
# Settings (environment): DURATION (s, 10), WARMUP (s, 3), CONNECTIONS (20), THREADS (2),
# BACKENDS ("sqlite postgres"), CASES ("healthz availability availability_ranges reserve reserve_spread book replay reschedule pgbench"), PG_URL (postgres://postgres@127.0.0.1:5432), PG_QUERY (URL
# parameters for the server's and pgbench's connections, e.g. sslmode=disable), MAX_ERROR_PCT (1),
# SETTLE (s, 1.5: the pause between a request file's warm-up and its measured run), QUIET_WAIT (s,
# 120) and QUIET_BUSY_PCT (15): wait for a quiet machine before each case,
# BENCH_RUST_LOG (the server's RUST_LOG; default: the shipped default filter), OUT
# (docs/benchmarks.md; "-" to write nothing), PERF=1 (sample the server with perf during each
# measured run; reports in PERF_DIR, default target/bench-perf; OUT then defaults to "-").
#
# BENCH_BIN (a server binary to measure instead of building this tree's, e.g. a saved build of main
# for an A/B; BENCH_EX, the client, then defaults to target/release/examples/bench_http, which must
# exist). KEEP=1: keep the PostgreSQL database and the scratch directory (for EXPLAIN and
# pgbench after the run); both names are printed.
#
# Needs: cargo, wrk (apt-get install wrk), curl, python3 (free ports), and for PostgreSQL psql,
# createdb, dropdb, pgbench. Exits non-zero when anything fails or when more than MAX_ERROR_PCT
# percent of a case's requests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-20}
THREADS=${THREADS:-2}
BACKENDS=${BACKENDS:-"sqlite postgres"}
CASES=${CASES:-"healthz availability availability_ranges reserve reserve_spread book replay reschedule pgbench"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
# Connection parameters appended to the benchmark database's URL, e.g. "sslmode=disable".
PG_QUERY=${PG_QUERY:-}
MAX_ERROR_PCT=${MAX_ERROR_PCT:-1}
# Before each case, wait up to QUIET_WAIT seconds for the machine to be quiet (other processes
# using less than QUIET_BUSY_PCT percent of all CPUs); the reading goes into the table.
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_BUSY_PCT=${QUIET_BUSY_PCT:-15}
PERF=${PERF:-0}
PERF_DIR=${PERF_DIR:-target/bench-perf}
PERF_FREQ=${PERF_FREQ:-499}
if [ "$PERF" = 1 ]; then
  command -v perf >/dev/null || { echo "error: PERF=1 needs perf (apt-get install linux-perf)" >&2; exit 2; }
  OUT=${OUT:--}   # sampled runs are slower: keep their figures out of the report unless asked
fi
OUT=${OUT:-docs/benchmarks.md}
CALENDARS=${CALENDARS:-200}
EVENTS=${EVENTS:-1200}
COACHES=${COACHES:-10}
ATHLETES=${ATHLETES:-500}
WARM_REQUESTS=${WARM_REQUESTS:-20000}
MAIN_REQUESTS=${MAIN_REQUESTS:-80000}
SETTLE=${SETTLE:-1.5}
BENCH_RUST_LOG=${BENCH_RUST_LOG:-info,sqlx=warn,sea_orm=warn}

for tool in cargo wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (wrk: apt-get install wrk)" >&2; exit 2; }
done
case " $BACKENDS " in
  *" postgres "*)
    for tool in psql createdb dropdb pgbench; do
      command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install postgresql-client)" >&2; exit 2; }
    done
    psql "$PG_URL/postgres" -qAtc 'select 1' >/dev/null || { echo "error: PostgreSQL at $PG_URL is unreachable" >&2; exit 2; }
    ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")
SECRET="bench-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
PG_DB="bench_http_$$_$(date +%s)"
SERVER_PID=""
PG_CREATED=""
STATUS=1

cleanup() {
  stop_pid "$SERVER_PID"
  if [ "${KEEP:-0}" = 1 ]; then
    echo "KEEP=1: database $PG_DB and $WORK kept" >&2
  elif [ -n "$PG_CREATED" ]; then
    psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then
    :
  elif [ "$STATUS" -eq 0 ]; then
    rm -rf "$WORK"
  else
    echo "bench-http failed; logs kept in $WORK" >&2
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
  EX=${BENCH_EX:?BENCH_EX (the bench_http example of the same build) goes with BENCH_BIN}
  note "# binaries: $BIN $EX"
else
  echo "== building (release)"
  note cargo build --release --bin bookings --example bench_http
  cargo build --release --bin bookings --example bench_http
  BIN=target/release/bookings
  EX=target/release/examples/bench_http
fi

# The environment of `serve` and `token` for a backend.
backend_env() {
  local backend=$1
  ENV=(env -u DATABASE_URL -u SMTP_URL -u WEBHOOK_URLS -u WEBHOOK_SECRET -u NOTIFICATION_RULES
    -u CLOCK_OFFSET_SECONDS -u JWT_ALGORITHM -u JWT_PUBLIC_KEY_FILE -u JWT_JWKS_FILE -u JWT_ISSUER
    -u JWT_AUDIENCE -u PUBLIC_BASE_URL -u APP_ENV
    "DATA_DIR=$WORK/$backend" "JWT_SECRET=$SECRET" "RUST_LOG=$BENCH_RUST_LOG" LOG_FORMAT=text
    NOTIFY_INTERVAL_SECONDS=0 PUBLIC_RATE_LIMIT_PER_MINUTE=0)
  if [ "$backend" = postgres ]; then
    ENV+=("DATABASE_URL=$PG_URL/$PG_DB${PG_QUERY:+?$PG_QUERY}")
  fi
}

start_server() {
  local backend=$1 label=$2 port
  port=$(free_port)
  backend_env "$backend"
  "${ENV[@]}" "BIND_ADDR=127.0.0.1:$port" "$BIN" serve >>"$WORK/$backend/server-$label.log" 2>&1 &
  SERVER_PID=$!
  BASE="http://127.0.0.1:$port"
  wait_http "$BASE/healthz" 60 "$SERVER_PID" || { tail -n 30 "$WORK/$backend/server-$label.log" >&2; return 1; }
  local shown="DATA_DIR=$WORK/$backend JWT_SECRET=$SECRET RUST_LOG=$BENCH_RUST_LOG PUBLIC_RATE_LIMIT_PER_MINUTE=0"
  [ "$backend" = postgres ] && shown="$shown DATABASE_URL=$PG_URL/<fresh database>${PG_QUERY:+?$PG_QUERY}"
  note "$shown BIND_ADDR=127.0.0.1:<port> $BIN serve"
}

stop_server() {
  stop_pid "$SERVER_PID"
  SERVER_PID=""
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

# parse_wrk FILE: sets the R_* variables from the WRK_RESULT line.
parse_wrk() {
  local line
  line=$(grep '^WRK_RESULT ' "$1" | tail -n 1) || { echo "error: no result in $1" >&2; cat "$1" >&2; return 1; }
  for kv in ${line#WRK_RESULT }; do
    printf -v "R_${kv%%=*}" '%s' "${kv#*=}"
  done
}

# record BACKEND CASE RPS P50_MS P99_MS PEAK_MIB SERVER_CPU_MS_PER_REQ PG_CPU_MS_PER_REQ REQUESTS
#        FAILED_REQUESTS LOAD NOTE STATEMENTS_PER_REQ
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
}

# The server's count of database statements run so far (db_statements_total on /metrics).
statements() {
  curl -fsS "$BASE/metrics" 2>/dev/null | awk '$1 ~ /^db_statements_total([{]|$)/ { n += $NF } END { printf "%d", n }'
}

# CPU time of the server and of PostgreSQL during the measured run (ms).
# With PERF=1 the measured run is also sampled with perf (server process, DWARF call graphs).
cpu_before() {
  STATEMENTS0=$(statements)
  CPU_SERVER0=$(cpu_ms "$SERVER_PID")
  CPU_PG0=$(cpu_ms $(postgres_pids))
  PERF_PID=""
  if [ "$PERF" = 1 ]; then
    mkdir -p "$PERF_DIR"
    perf record -q -F "$PERF_FREQ" --call-graph dwarf,16384 -p "$SERVER_PID" -o "$PERF_DIR/$PERF_NAME.data" \
      -- sleep "$DURATION" 2>"$PERF_DIR/$PERF_NAME.err" &
    PERF_PID=$!
  fi
}
cpu_after() {
  CPU_SERVER=$(($(cpu_ms "$SERVER_PID") - CPU_SERVER0))
  CPU_PG=$(($(cpu_ms $(postgres_pids)) - CPU_PG0))
  STATEMENTS=$(($(statements) - STATEMENTS0))
  if [ -n "$PERF_PID" ]; then
    wait "$PERF_PID" || true
    perf report -i "$PERF_DIR/$PERF_NAME.data" --children --sort symbol --stdio -g none --percent-limit 0.5 \
      >"$PERF_DIR/$PERF_NAME.children.txt" 2>/dev/null || true
    perf report -i "$PERF_DIR/$PERF_NAME.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.3 \
      >"$PERF_DIR/$PERF_NAME.self.txt" 2>/dev/null || true
    echo "   perf: $PERF_DIR/$PERF_NAME.{children,self}.txt"
  fi
}
per_request() { # MS REQUESTS -> ms per request, 3 decimals
  awk -v ms="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", ms / n; else print "n/a" }'
}

# After the warm-up, PostgreSQL's statistics are brought up to date, as autovacuum does within a
# minute on a running system: the tables were empty when the warm-up's first statements were
# planned, and the server's prepared statements keep those (sequential-scan) plans until an
# ANALYZE invalidates them. Without it a 10-second run measures a cold-start artefact.
analyze() {
  if [ "$1" = postgres ]; then
    note "psql \"\$DATABASE_URL\" -c ANALYZE  # after each warm-up"
    psql "$PG_URL/$PG_DB${PG_QUERY:+?$PG_QUERY}" -qc ANALYZE >/dev/null
  fi
}

# measure BACKEND CASE URL [WARM_FILE MAIN_FILE]
measure() {
  local backend=$1 name=$2 url=$3 warm=${4:-} main=${5:-}
  local dir="$WORK/$backend"
  echo "== $backend / $name"
  wait_quiet
  local load="$BUSY"
  PERF_NAME="$backend-$name"
  start_server "$backend" "$name"
  local full_url="$BASE$url"
  local wrk_args=(-t"$THREADS" -c"$CONNECTIONS" --timeout 10s -s bench/wrk.lua)
  if [ -n "$warm" ]; then
    note REQ_FILE="$warm" WRK_THREADS="$THREADS" wrk "${wrk_args[@]}" -d"${WARMUP}s" "'http://127.0.0.1:<port>$url'" "  # warm-up"
    REQ_FILE="$warm" WRK_THREADS="$THREADS" wrk "${wrk_args[@]}" -d"${WARMUP}s" "$full_url" >"$dir/$name.warmup.txt"
    analyze "$backend"
    # The main file starts over at the first reservations, which the warm-up's last moments may
    # have just moved: a move without a `sequence` within MOVE_SETTLE (1 s) of the last one is
    # refused as overtaken (a 409), so let the warm-up's writes settle first.
    sleep "$SETTLE"
    note REQ_FILE="$main" WRK_THREADS="$THREADS" wrk "${wrk_args[@]}" -d"${DURATION}s" "'http://127.0.0.1:<port>$url'"
    cpu_before
    REQ_FILE="$main" WRK_THREADS="$THREADS" wrk "${wrk_args[@]}" -d"${DURATION}s" "$full_url" >"$dir/$name.txt"
    cpu_after
  else
    note wrk "${wrk_args[@]}" -d"${WARMUP}s" "'http://127.0.0.1:<port>$url'" "  # warm-up"
    wrk "${wrk_args[@]}" -d"${WARMUP}s" "$full_url" >"$dir/$name.warmup.txt"
    analyze "$backend"
    note wrk "${wrk_args[@]}" -d"${DURATION}s" "'http://127.0.0.1:<port>$url'"
    cpu_before
    wrk "${wrk_args[@]}" -d"${DURATION}s" "$full_url" >"$dir/$name.txt"
    cpu_after
  fi
  local peak
  peak=$(vmhwm_mib "$SERVER_PID")
  stop_server
  parse_wrk "$dir/$name.txt"
  local failed=$((R_non2xx + R_connect + R_read + R_write + R_timeout))
  local rps p50 p99 remark=""
  rps=$(awk -v n="$R_requests" -v us="$R_duration_us" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
  p50=$(awk -v us="$R_p50_us" 'BEGIN { printf "%.2f", us / 1000 }')
  p99=$(awk -v us="$R_p99_us" 'BEGIN { printf "%.2f", us / 1000 }')
  [ "$R_wrapped" -gt 0 ] && remark="request file exhausted, ran again (wrapped=$R_wrapped)"
  [ "$load" -ge "$QUIET_BUSY_PCT" ] && remark="${remark:+$remark; }machine busy before the case"
  if awk -v f="$failed" -v n="$R_requests" -v max="$MAX_ERROR_PCT" 'BEGIN { exit !(n == 0 || f * 100 > n * max) }'; then
    remark="${remark:+$remark; }FAILED: $failed of $R_requests requests failed"
    FAILED="$FAILED $backend/$name"
    echo "   $failed of $R_requests requests failed; first answers in $dir/server-$name.log" >&2
  fi
  local scpu pcpu="-" stmts
  scpu=$(per_request "$CPU_SERVER" "$R_requests")
  [ "$backend" = postgres ] && pcpu=$(per_request "$CPU_PG" "$R_requests")
  stmts=$(awk -v s="$STATEMENTS" -v n="$R_requests" 'BEGIN { if (n > 0) printf "%.2f", s / n; else print "n/a" }')
  record "$backend" "$name" "$rps" "$p50" "$p99" "$peak" "$scpu" "$pcpu" "$R_requests" "$failed" "$load" "$remark" "$stmts"
  printf '   %s req/s  p50 %s ms  p99 %s ms  peak RSS %s MiB  CPU/request: server %s ms, postgres %s ms  statements/request %s  (%s requests, %s failed)\n' \
    "$rps" "$p50" "$p99" "$peak" "$scpu" "$pcpu" "$stmts" "$R_requests" "$failed"
}

# Splits FILE into FILE.warm (the first WARM_REQUESTS lines) and FILE.main (the rest).
split_requests() {
  head -n "$WARM_REQUESTS" "$1" >"${1%.req}.warm.req"
  tail -n "+$((WARM_REQUESTS + 1))" "$1" >"${1%.req}.main.req"
  rm -f "$1"
}

prepare() {
  local backend=$1 dir="$WORK/$1"
  echo "== $backend: preparing data through the API"
  start_server "$backend" setup
  local owner coach athlete
  owner=$(token "$backend" --sub "$(new_uuid)")
  note "$BIN" token --sub "<uuid>"
  local total=$((WARM_REQUESTS + MAIN_REQUESTS))
  if wanted book; then
    # One token per coach and per athlete, from the `token` command (same settings as serve).
    : >"$dir/coaches.txt"
    for _ in $(seq 1 "$COACHES"); do
      coach=$(new_uuid)
      echo "$coach $(token "$backend" --sub "$coach")" >>"$dir/coaches.txt"
    done
    : >"$dir/athletes.txt"
    for _ in $(seq 1 "$ATHLETES"); do
      athlete=$(new_uuid)
      echo "$athlete $(token "$backend" --sub "$athlete")" >>"$dir/athletes.txt"
    done
  fi
  if wanted availability || wanted availability_ranges; then
    # Reads are fast: twice the lines, so a measured run does not use them up.
    note "$EX" availability --base "http://127.0.0.1:<port>" --token "<owner token>" --requests "$((2 * total))" --out "$dir"
    "$EX" availability --base "$BASE" --token "$owner" --requests "$((2 * total))" --out "$dir"
    split_requests "$dir/availability_ranges.req"
  fi
  if wanted reserve; then
    note "$EX" reserve --base "http://127.0.0.1:<port>" --token "<owner token>" --calendars "$CALENDARS" --requests "$total" --out "$dir"
    "$EX" reserve --base "$BASE" --token "$owner" --calendars "$CALENDARS" --requests "$total" --out "$dir"
    split_requests "$dir/reserve.req"
  fi
  if wanted reserve_spread; then
    note "$EX" reserve --spread --base "http://127.0.0.1:<port>" --token "<owner token>" --calendars "$CALENDARS" --requests "$total" --out "$dir"
    "$EX" reserve --spread --base "$BASE" --token "$owner" --calendars "$CALENDARS" --requests "$total" --out "$dir"
    split_requests "$dir/reserve_spread.req"
  fi
  local write_case
  for write_case in replay reschedule; do
    if wanted "$write_case"; then
      note "$EX" "$write_case" --base "http://127.0.0.1:<port>" --token "<owner token>" --calendars "$CALENDARS" --requests "$total" --out "$dir"
      "$EX" "$write_case" --base "$BASE" --token "$owner" --calendars "$CALENDARS" --requests "$total" --out "$dir"
      split_requests "$dir/$write_case.req"
    fi
  done
  if wanted book; then
    note "$EX" book --base "http://127.0.0.1:<port>" --coach-tokens "$dir/coaches.txt" --athlete-tokens "$dir/athletes.txt" --events "$EVENTS" --requests "$total" --out "$dir"
    "$EX" book --base "$BASE" --coach-tokens "$dir/coaches.txt" --athlete-tokens "$dir/athletes.txt" \
      --events "$EVENTS" --requests "$total" --out "$dir"
    split_requests "$dir/book.req"
  fi
  stop_server
}

pgbench_case() {
  local dir="$WORK/postgres" url="$PG_URL/$PG_DB${PG_QUERY:+?$PG_QUERY}"
  echo "== postgres / pgbench one-row INSERT"
  psql "$url" -qAtc "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
  echo "INSERT INTO bench_insert (payload) VALUES ('x');" >"$dir/insert.sql"
  note "psql \"\$DATABASE_URL\" -c 'CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())'"
  note "echo \"INSERT INTO bench_insert (payload) VALUES ('x');\" > insert.sql"
  note pgbench -n -f insert.sql -c "$CONNECTIONS" -j 2 -T "$WARMUP" "\"\$DATABASE_URL\"" "  # warm-up"
  pgbench -n -f "$dir/insert.sql" -c "$CONNECTIONS" -j 2 -T "$WARMUP" "$url" >"$dir/pgbench.warmup.txt" 2>&1
  mkdir -p "$dir/pgbench-log"
  note pgbench -n -f insert.sql -c "$CONNECTIONS" -j 2 -T "$DURATION" -l --log-prefix=pgbench-log/tx "\"\$DATABASE_URL\""
  local pg0
  pg0=$(cpu_ms $(postgres_pids))
  pgbench -n -f "$dir/insert.sql" -c "$CONNECTIONS" -j 2 -T "$DURATION" -l --log-prefix="$dir/pgbench-log/tx" "$url" \
    >"$dir/pgbench.txt" 2>&1 || { cat "$dir/pgbench.txt" >&2; return 1; }
  CPU_PG=$(($(cpu_ms $(postgres_pids)) - pg0))
  local tps failed load
  wait_quiet
  load="$BUSY"
  tps=$(awk '/^tps = / { printf "%.0f", $3 }' "$dir/pgbench.txt")
  failed=$(awk '/number of failed transactions/ { print $5 } END { }' "$dir/pgbench.txt")
  # Per-transaction log: the third field is the latency in microseconds.
  local stats
  stats=$(cat "$dir"/pgbench-log/tx.* | awk '{ print $3 }' | sort -n | awk '
    { v[NR] = $1 }
    END { i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
          printf "%d %.2f %.2f", NR, v[i50] / 1000, v[i99] / 1000 }')
  read -r n p50 p99 <<<"$stats"
  local pcpu
  pcpu=$(per_request "$CPU_PG" "$n")
  record postgres pgbench "$tps" "$p50" "$p99" "-" "-" "$pcpu" "$n" "${failed:-0}" "$load" "transactions/s; no server" "-"
  printf '   %s tx/s  p50 %s ms  p99 %s ms  postgres CPU/tx %s ms  (%s transactions)\n' "$tps" "$p50" "$p99" "$pcpu" "$n"
}

wanted() { case " $CASES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

MACHINE="$WORK/machine.md"
machine_markdown >"$MACHINE"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

for backend in $BACKENDS; do
  mkdir -p "$WORK/$backend"
  if [ "$backend" = postgres ]; then
    note "psql $PG_URL/postgres -c 'CREATE DATABASE <fresh database>'   # dropped at the end"
    psql "$PG_URL/postgres" -qAtc "CREATE DATABASE \"$PG_DB\"" >/dev/null
    PG_CREATED=1
  elif [ "$backend" != sqlite ]; then
    echo "error: unknown backend $backend" >&2
    exit 2
  fi
  prepare "$backend"
  wanted healthz && measure "$backend" healthz /healthz
  wanted availability && measure "$backend" availability "$(cat "$WORK/$backend/availability.path")"
  wanted availability_ranges && measure "$backend" availability_ranges / "$WORK/$backend/availability_ranges.warm.req" "$WORK/$backend/availability_ranges.main.req"
  wanted reserve && measure "$backend" reserve / "$WORK/$backend/reserve.warm.req" "$WORK/$backend/reserve.main.req"
  wanted reserve_spread && measure "$backend" reserve_spread / "$WORK/$backend/reserve_spread.warm.req" "$WORK/$backend/reserve_spread.main.req"
  wanted book && measure "$backend" book / "$WORK/$backend/book.warm.req" "$WORK/$backend/book.main.req"
  wanted replay && measure "$backend" replay / "$WORK/$backend/replay.warm.req" "$WORK/$backend/replay.main.req"
  wanted reschedule && measure "$backend" reschedule / "$WORK/$backend/reschedule.warm.req" "$WORK/$backend/reschedule.main.req"
  if [ "$backend" = postgres ] && wanted pgbench; then
    pgbench_case
  fi
done

# ------------------------------------------------------------------ the report
lookup() { awk -F'\t' -v b="$1" -v c="$2" '$1 == b && $2 == c { print $3 }' "$RESULTS"; }
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'
}
verdict() { # RATIO AIM
  awk -v r="$1" -v aim="$2" 'BEGIN { if (r == "n/a") print "n/a"; else if (r + 0 >= aim) print "meets"; else print "MISSES" }'
}

TABLE="$WORK/table.md"
{
  echo "| backend | case | requests/s | p50 ms | p99 ms | server peak RSS MiB | server CPU ms/req | postgres CPU ms/req | db statements/req | requests | failed | others' CPU % before | note |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $13, $9, $10, $11, $12 }' "$RESULTS"
  echo
  echo "| ratio (requests/s over requests/s) | aim | sqlite | postgres |"
  echo "| --- | ---: | ---: | ---: |"
  for spec in "availability / healthz:availability:healthz:0.5" \
    "availability, every range new / healthz:availability_ranges:healthz:0.5" "reserve / pgbench INSERT:reserve:pgbench:0.5" \
    "bookEvents / pgbench INSERT:book:pgbench:0.3"; do
    IFS=: read -r label num den aim <<<"$spec"
    pg_den=$(lookup postgres "$den")
    row="| $label | >= $aim |"
    for backend in sqlite postgres; do
      d=$(lookup "$backend" "$den")
      [ "$den" = pgbench ] && d=$pg_den
      r=$(ratio "$(lookup "$backend" "$num")" "$d")
      row="$row $r ($(verdict "$r" "$aim")) |"
    done
    echo "$row"
  done
} >"$TABLE"

echo
cat "$TABLE"

if [ "$OUT" != "-" ]; then
  SECTION="$WORK/section.md"
  {
    section_begin http
    echo "## HTTP (\`bench/http.sh\`, \`make bench-http\`)"
    echo
    echo "Run $STARTED on commit \`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src migrations Cargo.lock 2>/dev/null || echo '+uncommitted changes')\`, release build."
    echo "wrk, ${THREADS} threads, ${CONNECTIONS} connections, ${WARMUP} s warm-up then ${DURATION} s measured per case,"
    echo "one fresh server process per case (its peak RSS is VmHWM from /proc/<pid>/status after the"
    echo "run). The load generator, the server and PostgreSQL share the machine. *CPU ms/req*: CPU time"
    echo "(user + system) used during the measured run by the server process, and by all PostgreSQL"
    echo "processes, divided by the requests; it is steadier than requests/s on a shared machine."
    echo "*db statements/req*: the server's \`db_statements_total\` over the measured run, per request"
    echo "(BEGIN and COMMIT are not counted as statements)."
    echo "*others' CPU %*: how busy the machine was, with nothing of ours running, just before the case"
    echo "(each case waits up to ${QUIET_WAIT} s for it to drop below ${QUIET_BUSY_PCT} %)."
    echo "PostgreSQL connections (server and pgbench alike) use TLS when the server offers it"
    echo "(sslmode=prefer${PG_QUERY:+; here: $PG_QUERY})."
    echo
    cat "$TABLE"
    echo
    echo "Cases: **healthz** GET /healthz; **availability** getBookingAvailability over 31 days"
    echo "(Mon–Fri 09:00–17:00 Europe/Berlin, 30-minute slots, 200 busy events), the same URL each"
    echo "time, so after the first request it is answered from the rendered-answer cache"
    echo "(src/answer_cache.rs); **availability_ranges** the same, each request a range one minute"
    echo "later than the one before, so every answer is computed (link settings and busy time"
    echo "from their 1 s cache); **reserve**"
    echo "reserveBookingSlot, each request a different free slot, round-robin over $CALENDARS calendars,"
    echo "each calendar's slots in time order; **reserve_spread** the same, each calendar's slots in an"
    echo "order spread over its weeks (most reservations land among ones already made);"
    echo "**book** bookEvents, orders of 3 of $EVENTS events (10,000 places each) by $ATHLETES athletes,"
    echo "each order new for its athlete; **replay** reserveBookingSlot with the Idempotency-Key and body of one"
    echo "of $CALENDARS reservations already made (the stored answer); **reschedule** rescheduleReservation"
    echo "of one of 20 x $CALENDARS reservations (20 per calendar, each in its own lane of slots, no sequence) to a slot it has not had; **pgbench** a one-row INSERT transaction, same concurrency,"
    echo "same PostgreSQL. Request bodies and tokens are generated beforehand; wrk sends each line"
    echo "of a request file once (bench/wrk.lua). The public rate limit is off"
    echo "(PUBLIC_RATE_LIMIT_PER_MINUTE=0: all load comes from one address); logging is the shipped"
    echo "default (\`RUST_LOG=$BENCH_RUST_LOG\`, one line per request to a file)."
    echo
    echo "Machine:"
    echo
    cat "$MACHINE"
    echo
    echo "- PostgreSQL: $(psql "$PG_URL/postgres" -qAtc 'show server_version' 2>/dev/null || echo n/a), $(psql "$PG_URL/postgres" -qAtc "select 'synchronous_commit=' || current_setting('synchronous_commit') || ', shared_buffers=' || current_setting('shared_buffers')" 2>/dev/null || echo '')"
    echo "- $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $(pgbench --version 2>/dev/null || echo 'pgbench n/a'), $(rustc --version)"
    echo
    echo "Commands (\`\$WORK\` is the run's scratch directory, \`<port>\` a free port):"
    echo
    echo '```sh'
    echo "bench/http.sh   # all of the below"
    cat "$COMMANDS"
    echo '```'
    section_end http
  } >"$SECTION"
  write_section "$OUT" http "$SECTION"
  echo
  echo "written to $OUT"
fi

if [ -n "$FAILED" ]; then
  echo "error: too many failed requests in:$FAILED" >&2
  exit 1
fi
STATUS=0
