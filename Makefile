# Two commands on a fresh machine: `make run` (the portal) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test install lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo "Serving the portal at http://127.0.0.1:$(PORT)"
	SESSION_COOKIE_SECURE=0 $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check portal tests

clean:
	rm -rf $(VENV) .pytest_cache
