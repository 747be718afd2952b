# Portfolio Coordinator: every target does its own set-up on a fresh machine.
#   make run    engine + dashboard on http://127.0.0.1:8050/ (embedded defaults)
#   make test   lint, format check and the whole test suite (unit, integration, browser) on both
#               cores, with a throw-away PostgreSQL server (scripts/postgres.sh) that it starts and
#               stops and a real Apache Pulsar standalone broker (scripts/pulsar.sh), likewise;
#               line coverage of the product (table printed, HTML in var/coverage/html), under
#               85% fails
#   make postgres-start / postgres-stop   that server, for running the tests by hand
#   make pulsar-start / pulsar-stop       that broker

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8050
PYTEST_ARGS ?=
# Both cores by default (the Pulsar tests share one worker); PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= auto
COVERAGE_ARGS := --cov --cov-report=term --cov-report=html --cov-fail-under=85

.PHONY: install system-deps run replay test lint format clean postgres-start postgres-stop \
	pulsar pulsar-start pulsar-stop

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

# PostgreSQL is stopped however pytest ends (failure, Ctrl-C), keeping pytest's exit status,
# unless another `make test` in this checkout still uses it (PCOORD_PG_LEASE: this shell's pid).
test: $(STAMP) system-deps lint
	export PCOORD_PG_LEASE=$$$$ PCOORD_PULSAR_LEASE=$$$$; \
	trap 'bash scripts/pulsar.sh stop; bash scripts/postgres.sh stop' EXIT; \
	trap 'exit 130' INT TERM; \
	bash scripts/postgres.sh start || exit 1; \
	bash scripts/pulsar.sh start || exit 1; \
	PCOORD_TEST_POSTGRES_URL="$$(bash scripts/postgres.sh url)" \
	PCOORD_TEST_PULSAR_URL="$$(bash scripts/pulsar.sh url)" \
	PCOORD_TEST_PULSAR_ADMIN_URL="$$(bash scripts/pulsar.sh url --admin)" \
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=30 $(COVERAGE_ARGS) $(PYTEST_ARGS)

postgres-start:
	bash scripts/postgres.sh start
	@echo "export PCOORD_TEST_POSTGRES_URL=$$(bash scripts/postgres.sh url)"

postgres-stop:
	bash scripts/postgres.sh stop

# A real Apache Pulsar standalone broker on 127.0.0.1 (fetched once from Maven Central with mvn).
pulsar-start pulsar:
	bash scripts/pulsar.sh start
	@echo "export PCOORD_PULSAR_URL=$$(bash scripts/pulsar.sh url)   # pcoord serve/replay"
	@echo "export PCOORD_TEST_PULSAR_URL=$$(bash scripts/pulsar.sh url)   # the tests"

pulsar-stop:
	bash scripts/pulsar.sh stop

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	-bash scripts/pulsar.sh stop
	-bash scripts/postgres.sh stop
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
