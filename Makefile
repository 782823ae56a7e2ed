# Two commands set everything up on a fresh machine: `make run` and `make test`.
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
SCHEMATHESIS_VERSION := 4.32.5
# The PostgreSQL the tests use (each test makes and drops its own database in it).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: run build test lint contract-lint unit conformance generate check-generated bench bench-engine-count bench-answer-count bench-http bench-notify sdk-check browser-test

## Serve on http://127.0.0.1:8080 with an embedded SQLite database under ./data.
run:
	APP_ENV=$${APP_ENV:-development} NOTIFY_INTERVAL_SECONDS=$${NOTIFY_INTERVAL_SECONDS:-30} $(CARGO) run --bin bookings -- serve

build:
	$(CARGO) build --workspace --all-targets

## fmt and clippy, the served contract through Redocly CLI and Spectral, then unit, golden-file and HTTP tests on
## SQLite and PostgreSQL, then schemathesis, the generated SDKs (Python, TypeScript, Rust) against the live server,
## and Swagger UI in headless Chromium.
test: lint contract-lint unit conformance sdk-check browser-test

## One style (rustfmt.toml) and no clippy warning anywhere in the workspace.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## The served /openapi.json through Redocly CLI (recommended) and Spectral (spectral:oas): no error, no
## warning (installs both from lint/package-lock.json with npm ci; they run offline).
contract-lint:
	$(CARGO) build -q --bin bookings
	scripts/contract-lint.sh

unit:
	$(CARGO) test --workspace

## Regenerate the committed copies in generated/ from spec/ and codegen/templates/.
generate:
	$(CARGO) run -q -p codegen -- write

check-generated:
	$(CARGO) run -q -p codegen -- check

$(VENV)/bin/schemathesis:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q "schemathesis==$(SCHEMATHESIS_VERSION)"

## Start the server and run schemathesis with all checks against /openapi.json.
conformance: $(VENV)/bin/schemathesis
	$(CARGO) build -q --bin bookings
	SCHEMATHESIS=$(VENV)/bin/schemathesis scripts/conformance.sh

bench:
	$(CARGO) bench --bench availability

## Instructions per call of the availability engine's bench cases (callgrind; not disturbed by
## other load on the machine). See docs/benchmarks.md.
bench-engine-count:
	bench/engine_count.sh

## Instructions the server spends per availability answer with every range new (callgrind, the
## server under valgrind; not disturbed by other load). See docs/benchmarks.md.
bench-answer-count:
	bench/answer_count.sh

## Generate Python, TypeScript and Rust clients from the served contract and exercise them
## (see sdk/README.md; installs its pinned tools under sdk/).
sdk-check:
	scripts/sdk-check.sh

## Swagger UI in headless Chromium: every operation listed, Authorize, Try it out (installs
## Debian's chromium with apt-get when missing, playwright-core from e2e/package-lock.json).
browser-test:
	scripts/browser-test.sh

## Load figures against a release build (wrk, pgbench): see docs/benchmarks.md.
bench-http:
	bench/http.sh

## 5,000 due messages to a local SMTP sink: messages per second.
bench-notify:
	bench/notify.sh
