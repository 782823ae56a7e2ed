#!/usr/bin/env bash
# Instructions per call of the availability engine, per benchmark case: callgrind counts only
# `engine_count::measure` (N calls of one case; examples/engine_count.rs), so the figure does not
# depend on how busy the machine is. Prints "case<TAB>instructions per call".
#
# Settings (environment): N (calls per case, 20), CARGO_TARGET_DIR (target).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build -q --release --example engine_count
BIN=$TARGET/release/examples/engine_count
mapfile -t NAMES < <("$BIN" all 1 | sed 's/: .*//')
for i in "${!NAMES[@]}"; do
    collected=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --toggle-collect='engine_count::measure*' "$BIN" "$i" "$N" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    printf '%s\t%s\n' "${NAMES[$i]}" "$((collected / N))"
done
