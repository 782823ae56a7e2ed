# Shared by bench/http.sh and bench/notify.sh (sourced, not run).

# note COMMAND...: records a command for the report (in $COMMANDS, once), with the scratch
# directory ($WORK), the backend's folder in it, the JWT secret ($SECRET) and link tokens left
# symbolic.
note() {
  local line="$*"
  line=${line//$WORK\/sqlite/\$WORK/<backend>}
  line=${line//$WORK\/postgres/\$WORK/<backend>}
  line=${line//$WORK/\$WORK}
  line=${line//$SECRET/\$JWT_SECRET}
  line=$(sed -E 's#/v1/booking/[A-Za-z0-9_-]+/availability#/v1/booking/<link token>/availability#g' <<<"$line")
  grep -qxF -- "$line" "$COMMANDS" || echo "$line" >>"$COMMANDS"
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS PID: until URL answers 2xx; fails early when PID died.
wait_http() {
  local url=$1 seconds=$2 pid=${3:-}
  local deadline=$((SECONDS + seconds))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "error: the process $pid exited before $url answered" >&2
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "error: $url did not answer within ${seconds}s" >&2
      return 1
    fi
    sleep 0.1
  done
}

# wait_ready URL SECONDS PID STARTED_MS: until URL (a `/readyz`) answers 200, polled every 20 ms;
# fails early when PID died. Sets READY_MS to the milliseconds from STARTED_MS (taken just before
# the server was started) to that first 200: the process's start, connecting, migrating a fresh
# database, binding. The poll's own resolution is about 20-30 ms.
wait_ready() {
  local url=$1 seconds=$2 pid=$3 started=$4
  local deadline=$((SECONDS + seconds))
  until [ "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null)" = 200 ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "error: the process $pid exited before $url answered" >&2
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "error: $url did not answer 200 within ${seconds}s" >&2
      return 1
    fi
    sleep 0.02
  done
  READY_MS=$(($(date +%s%3N) - started))
}

# Peak resident memory (VmHWM) of PID in MiB, one decimal.
vmhwm_mib() {
  awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"
}

# stop_pid PID: SIGTERM, wait up to 30 s, then SIGKILL. Only for processes this script started.
stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# The machine, as Markdown lines.
machine_markdown() {
  local cpu
  cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  echo "- \`nproc\`: $(nproc)"
  echo "- CPU (/proc/cpuinfo): ${cpu:-unknown}"
  echo "- kernel: $(uname -sr)"
  echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- \`free -h\`:"
  echo
  echo '```'
  free -h
  echo '```'
}

# write_section FILE NAME CONTENT_FILE: replaces the section NAME of FILE (from its
# `section_begin NAME` line to its `section_end NAME` line) with CONTENT_FILE, which starts and
# ends with those lines; appends it when FILE has no such section yet.
write_section() {
  local file=$1 name=$2 content=$3
  local end
  end=$(section_end "$name")
  mkdir -p "$(dirname "$file")"
  if [ ! -f "$file" ]; then
    cat >"$file" <<'EOF'
# Benchmarks

Figures printed by `bench/http.sh` (`make bench-http`) and `bench/notify.sh`
(`make bench-notify`). Each script rewrites its own section below; the method is described in
each section. Figures depend on the machine and on what else runs on it: compare runs made on
the same machine, and read the load average noted with each run.

EOF
  fi
  local tmp
  tmp=$(mktemp)
  if grep -qF "<!-- BEGIN $name " "$file"; then
    awk -v b="<!-- BEGIN $name " -v e="$end" -v f="$content" '
      index($0, b) == 1 { while ((getline line < f) > 0) print line; skip = 1; next }
      skip && $0 == e { skip = 0; next }
      !skip { print }
    ' "$file" >"$tmp"
  else
    cat "$file" "$content" >"$tmp"
  fi
  mv "$tmp" "$file"
}

# The markers around a section.
section_begin() { echo "<!-- BEGIN $1 (written by bench/$1.sh; do not edit by hand) -->"; }
section_end() { echo "<!-- END $1 -->"; }

# cpu_ms PID...: user + system CPU time of these processes (with their reaped children), in ms.
cpu_ms() {
  local hz total=0 t pid
  hz=$(getconf CLK_TCK)
  for pid in "$@"; do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + ${t:-0}))
  done
  echo $((total * 1000 / hz))
}

# The PostgreSQL server's processes on this machine (postmaster and backends).
postgres_pids() {
  pgrep -x postgres || true
}

# busy_pct: percent of all CPUs busy over one second (run it while our own processes are idle,
# it then measures what else runs on the machine).
busy_pct() {
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# wait_quiet: waits (up to QUIET_WAIT seconds) until other processes use less than
# QUIET_BUSY_PCT percent of the machine; sets BUSY to the last reading.
wait_quiet() {
  local deadline=$((SECONDS + ${QUIET_WAIT:-0}))
  BUSY=$(busy_pct)
  while [ "$BUSY" -ge "${QUIET_BUSY_PCT:-15}" ] && [ $SECONDS -lt $deadline ]; do
    sleep 2
    BUSY=$(busy_pct)
  done
}
