#!/usr/bin/env bash
# Instructions the server spends per availability answer with every range new (the
# availability_ranges case of bench/http.sh), counted by callgrind, so the figure does not depend
# on how busy the machine is: bench/http.sh prepares its SQLite data (and runs its case once), then
# the release server runs under valgrind against a copy of it, answers W requests (caches warm),
# and callgrind counts, with instrumentation switched on only for them, the next N (one client
# connection, one request at a time). User-space instructions only: the kernel's share is not in
# it. Prints "N answers of B bytes: I instructions per answer".
#
# SAME=1 asks the first range's URL every time instead: after the first, an answer the answer
# cache holds (the same bytes, nothing computed), the floor a computed answer is measured against.
#
# Settings (environment): N (300), W (50), SAME (0), BENCH_BIN (a server binary instead of this
# tree's release build; BENCH_EX as for bench/http.sh), PORT (18999), PROFILE_OUT (a path: keep
# callgrind's output there, for callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300}
W=${W:-50}
PORT=${PORT:-18999}
if [ -z "${BENCH_BIN:-}" ]; then
  cargo build -q --release --bin bookings --examples
  BENCH_BIN=target/release/bookings
fi
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || {
  echo "error: valgrind (with callgrind_control) is needed" >&2
  exit 1
}
SCRATCH=$(mktemp -d)
VPID=""
cleanup() {
  [ -n "$VPID" ] && kill "$VPID" 2>/dev/null || true
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
KEEP=1 OUT=- BACKENDS=sqlite CASES=availability_ranges BENCH_BIN="$BENCH_BIN" bench/http.sh >"$SCRATCH/http.log" 2>&1 ||
  { tail -n 30 "$SCRATCH/http.log" >&2; exit 1; }
WORK=$(sed -n 's/^KEEP=1: database .* and \(.*\) kept$/\1/p' "$SCRATCH/http.log")
REQ="$WORK/sqlite/availability_ranges.main.req"
[ -s "$REQ" ] || { echo "error: no request file in $WORK" >&2; exit 1; }
cp -r "$WORK/sqlite" "$SCRATCH/data"
rm -f "$SCRATCH"/data/*.req
cat >"$SCRATCH/client.py" <<'PY'
import http.client, sys
port, path, skip, n, same = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
paths = [line.split("\t")[1] for line in open(path)]
paths = [paths[0]] * n if same else paths[skip:skip + n]
conn = http.client.HTTPConnection("127.0.0.1", port)
size = 0
for p in paths:
    conn.request("GET", p)
    answer = conn.getresponse()
    size += len(answer.read())
    assert answer.status == 200, (p, answer.status)
print(size // len(paths))
PY
# MALLOC_ARENA_MAX set: the server does not run itself again (an exec valgrind would not follow).
env -u DATABASE_URL MALLOC_ARENA_MAX=2 DATA_DIR="$SCRATCH/data" JWT_SECRET="count-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" \
  RUST_LOG=info,sqlx=warn,sea_orm=warn LOG_FORMAT=text NOTIFY_INTERVAL_SECONDS=0 PUBLIC_RATE_LIMIT_PER_MINUTE=0 \
  BIND_ADDR="127.0.0.1:$PORT" valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$SCRATCH/callgrind.out" "$BENCH_BIN" serve >"$SCRATCH/server.log" 2>&1 &
VPID=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 1
done
python3 "$SCRATCH/client.py" "$PORT" "$REQ" 0 "$W" "${SAME:-0}" >/dev/null
callgrind_control -i on "$VPID" >/dev/null 2>&1
bytes=$(python3 "$SCRATCH/client.py" "$PORT" "$REQ" "$W" "$N" "${SAME:-0}")
callgrind_control -i off "$VPID" >/dev/null 2>&1
kill -INT "$VPID"
wait "$VPID" || true
VPID=""
[ -n "${PROFILE_OUT:-}" ] && cp "$SCRATCH/callgrind.out" "$PROFILE_OUT"
total=$(callgrind_annotate "$SCRATCH/callgrind.out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "$N answers of $bytes bytes: $((total / N)) instructions per answer"
