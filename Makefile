# The two commands a new user needs: `make serve` and `make test`.
PY := .venv/bin/python
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: serve test bootstrap generate check ops token bench lint

# System packages: espeak-ng (offline TTS) to serve; tests also start a throwaway PostgreSQL and Redis.
SERVE_APT := espeak-ng
TEST_APT := postgresql redis-server

bootstrap:
	@APT_PACKAGES="$(SERVE_APT)" scripts/bootstrap

## Start the server on HOST:PORT (default 127.0.0.1:8081), SQLite under var/, offline engines.
serve: bootstrap
	$(PY) -m gateway

## Run the whole test suite (contract drift, lint and types, layering, behaviour, schemathesis).
test:
	@APT_PACKAGES="$(SERVE_APT) $(TEST_APT)" scripts/bootstrap
	$(PY) -m tools.generate --check
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

## Benchmarks: HTTP throughput vs stock connexion, FastAPI, raw Starlette; speech real-time factors.
bench: bootstrap
	$(PY) -m bench.run
