# Portfolio Coordinator: every target does its own set-up on a fresh machine.
#   make run    engine + dashboard on http://127.0.0.1:8050/ (embedded defaults)
#   make test   lint, format check and the whole test suite (unit, integration, browser)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8050
PYTEST_ARGS ?=

.PHONY: install system-deps run replay test lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium and ChromeDriver for the browser tests (dash[testing]).
system-deps:
	bash scripts/install-system-deps.sh

run: $(STAMP)
	$(BIN)/pcoord serve --host $(HOST) --port $(PORT)

replay: $(STAMP)
	$(BIN)/pcoord replay --out var/replay

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) system-deps lint
	$(BIN)/pytest $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
