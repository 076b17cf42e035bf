# The two commands a new user needs: `make serve` and `make test`.
PY := .venv/bin/python
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: serve test bootstrap generate check ops token bench lint diff fuzz node-tools

# System packages: espeak-ng (offline TTS) to serve; tests also start a throwaway PostgreSQL and
# Redis, and drive Swagger UI in Debian's chromium (Playwright with executable_path; no browser download).
SERVE_APT := espeak-ng
TEST_APT := postgresql redis-server chromium
# The benchmark's load generator.
BENCH_APT := wrk

bootstrap:
	@APT_PACKAGES="$(SERVE_APT)" scripts/bootstrap

## Start the server on HOST:PORT (default 127.0.0.1:8081), SQLite under var/, offline engines.
serve: bootstrap
	$(PY) -m gateway

## Run the whole test suite (contract drift, breaking-change gate, lint and types, layering, behaviour, schemathesis).
test:
	@APT_PACKAGES="$(SERVE_APT) $(TEST_APT)" scripts/bootstrap
	$(PY) -m tools.generate --check
	$(PY) -m tools.apidiff
	@scripts/node-tools
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

## Lint and types: ruff and mypy as configured in pyproject.toml (both run by `make test`).
lint: bootstrap
	$(PY) -m ruff check .
	$(PY) -m mypy

## Regenerate generated/ from specs/.
generate: bootstrap
	$(PY) -m tools.generate

## Fail if generated/ differs from what specs/ produce.
check: bootstrap
	$(PY) -m tools.generate --check

## Implemented/total operations per API.
ops: bootstrap
	$(PY) -m tools.ops_report

## Mint a development Virtual Banker JWT: make token TENANT=t USER=u
token: bootstrap
	@$(PY) -m handlers.virtual_banker.manage token --tenant "$(or $(TENANT),tenant-123)" --user "$(or $(USER),user-456)"

## Benchmarks: the gateway's operations vs their FastAPI twins and stock connexion, FastAPI, raw Starlette
## (wrk); speech real-time factors; realtime conversation latency.
bench:
	@APT_PACKAGES="$(SERVE_APT) $(BENCH_APT)" scripts/bootstrap
	$(PY) -m bench.run

## Contract tooling from npm (Spectral, Redocly, openapi-typescript, TypeScript, Optic) into tools/node/.
node-tools:
	@scripts/node-tools

## Breaking-change gate: each per-API document against its baseline (published seed as rebuilt, before
## overlays; Vertebro: specs/vertebro-voice/released/). Fails unless the overlay action making a
## breaking change states why (`x-breaking: <reason>`). Optic's verdict is printed beside it.
diff: bootstrap node-tools
	$(PY) -m tools.apidiff --optic

## Fuzz a deployment from its served per-API documents: make fuzz URL=https://host [API=virstack-voiceai]
## Credentials: FUZZ_<NS>_TOKEN[_2], FUZZ_<NS>_USER[_2]/FUZZ_<NS>_PASSWORD[_2], FUZZ_<NS>_HEADERS (README).
fuzz: bootstrap
	@test -n "$(URL)" || (echo "usage: make fuzz URL=https://host [API=name] [EXAMPLES=25]"; exit 2)
	$(PY) -m tools.fuzz --url "$(URL)" $(if $(API),--api "$(API)") --max-examples $(or $(EXAMPLES),25) --report-dir var/fuzz-report
