# Two commands on a fresh machine: `make run` (the portal) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
# pytest-xdist workers: one per core by default.
TEST_WORKERS ?= auto

.PHONY: run test test-pg serve bench bench-pg install lock lint lint-spec clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# The exact versions of requirements.lock, then the project itself; again when either changes.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

# Pin every dependency (and theirs) anew from pyproject.toml's ranges; commit the result.
lock: | $(BIN)/activate
	$(BIN)/pip install --quiet pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --upgrade --extra test \
		--strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

run: install
	$(FLASK) db upgrade
	$(FLASK) store-client-json
	$(FLASK) seed-demo
	@echo "Serving the portal at http://127.0.0.1:$(PORT)"
	@echo "Development: the API accepts credentials over plain HTTP here (production requires HTTPS)."
	SESSION_COOKIE_SECURE=0 $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/pytest -n $(TEST_WORKERS)

# The same suite on a throwaway PostgreSQL server (Debian `postgresql`); the browser tests
# already ran in `make test` and don't depend on the database backend.
test-pg: install
	scripts/with-postgres $(BIN)/pytest -n $(TEST_WORKERS) -m "not browser"

# Production: migrations, then gunicorn's sync workers behind nginx (scripts/serve; Debian's
# `nginx`). PORTAL_ENV=production refuses to start without SECRET_KEY, API_SECRET_HMAC_KEY and
# API_SECRET_FERNET_KEYS (see README, Production).
serve: export PORTAL_ENV = production
serve: install
	$(FLASK) db upgrade
	$(FLASK) store-client-json
	exec scripts/serve

# Benchmarks (not tests): gunicorn + wrk on loopback, ratios measured in the same run.
# BENCH_CLIENTS=1000000 by default; BENCH_BASELINE=<commit> also measures that commit in the
# same run (the before of a change); see bench/README.md. Needs Debian's wrk.
BENCH_ARGS = --clients $${BENCH_CLIENTS:-1000000} --seconds $${BENCH_SECONDS:-10} \
	$${BENCH_BASELINE:+--baseline $$BENCH_BASELINE}
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-pg: install
	scripts/with-postgres $(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check portal tests bench

# The served OpenAPI document through Redocly's strictest ruleset and Spectral's OpenAPI rules:
# any error or warning fails (Node 20 and npm; versions pinned, one npx call each).
lint-spec: install
	$(BIN)/python scripts/dump-openapi > $(VENV)/openapi.json
	npx --yes @redocly/cli@2.77.0 lint --extends recommended-strict $(VENV)/openapi.json
	npx --yes @stoplight/spectral-cli@6.16.3 lint --ruleset .spectral.yaml --fail-severity warn \
		$(VENV)/openapi.json

clean:
	rm -rf $(VENV) .pytest_cache
