#!/usr/bin/env bash
# The served contract through the two OpenAPI linters people use (`make contract-lint`, part of
# `make test`): Redocly CLI with its `recommended` rules and Spectral with `spectral:oas`, both
# as lint/package-lock.json pins them (npm ci). Any error or warning fails.
#
# Starts the server on a free port with a fresh SQLite database and lints what it serves at
# /openapi.json. The linters run offline: no telemetry, no update check, no remote ruleset.
# Environment: BIN (a built server; default: cargo build, then target/debug/bookings).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

node -e 'if (+process.versions.node.split(".")[0] < 20) { console.error("node >= 20 is needed, found " + process.version); process.exit(1) }'
(cd lint && npm ci --no-audit --no-fund --loglevel=error)

# shellcheck source=lib/serve.sh
. scripts/lib/serve.sh
serve_start contract-lint
contract="$work/openapi.json"
curl -fsS "http://127.0.0.1:$port/openapi.json" -o "$contract"

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
status=0

echo "--- Redocly CLI $(lint/node_modules/.bin/redocly --version 2>/dev/null | tail -n 1) (recommended)"
# Redocly exits non-zero on errors only; its summary counts the warnings.
set +e
lint/node_modules/.bin/redocly lint --config lint/redocly.yaml --format=stylish "$contract" >"$work/redocly.txt" 2>&1
redocly_status=$?
set -e
grep -v '[║╔╚]' "$work/redocly.txt" | sed '/^[[:space:]]*$/d'
lint/node_modules/.bin/redocly lint --config lint/redocly.yaml --format=json "$contract" >"$work/redocly.json" 2>/dev/null || true
if [ $redocly_status -ne 0 ] || ! node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const t = r.totals || {};
  console.log(`redocly: ${t.errors} errors, ${t.warnings} warnings`);
  process.exit(t.errors === 0 && t.warnings === 0 ? 0 : 1);
' "$work/redocly.json"; then
  echo "Redocly CLI: the contract has errors or warnings" >&2
  status=1
fi

echo "--- Spectral $(lint/node_modules/.bin/spectral --version) (spectral:oas)"
if ! lint/node_modules/.bin/spectral lint --ruleset lint/.spectral.yaml --fail-severity=warn "$contract"; then
  echo "Spectral: the contract has errors or warnings" >&2
  status=1
fi
exit $status
