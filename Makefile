# Quick start:  make run   (serve on 127.0.0.1:50051, embedded SQLite store)
#               make test  (the whole suite; PostgreSQL variants need a server)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
DEV_TOKEN ?= dev-token-change-me
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run demo test install system-deps generate check-generated lint-protos unit bench clean

run: install generate
	@echo "dev bearer token: $(DEV_TOKEN)   (send 'authorization: Bearer $(DEV_TOKEN)')"
	@echo "data directory:   $${CALSYNC_DATA_DIR:-data}   gRPC: $${CALSYNC_LISTEN:-127.0.0.1:50051}   metrics: http://127.0.0.1:$${CALSYNC_METRICS_PORT:-9464}/metrics"
	CALSYNC_AUTH_TOKENS='{"$(DEV_TOKEN)": ["*"]}' CALSYNC_METRICS_PORT=$${CALSYNC_METRICS_PORT:-9464} $(VENV)/bin/calendar-integration serve

# A local CalDAV server with demo calendars and the service connected to it; Ctrl-C stops both.
demo: install generate
	$(PY) scripts/demo.py

test: install lint-protos check-generated
	$(PY) -m pytest $(PYTEST_ARGS)

unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

install: system-deps $(INSTALLED) $(NODE_INSTALLED)

# Debian/Ubuntu packages the build needs, installed only when missing.
system-deps:
	@missing=""; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing; \
	fi

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

$(NODE_INSTALLED): package.json package-lock.json
	# The lock lists buf's binary for every platform (as npm writes it), so that
	# `npm install` finds it complete and leaves it as it is on any machine.
	npm install --no-audit --no-fund --loglevel=error
	touch $@

generate: $(INSTALLED)
	$(PY) scripts/gen_protos.py

check-generated: $(INSTALLED)
	$(PY) scripts/gen_protos.py --check

lint-protos: $(NODE_INSTALLED)
	npx --no-install buf lint
	@echo "buf lint: clean"

bench: install
	$(PY) -m pip install -q -e ".[dev,bench]"
	$(PY) bench/grpc_unary.py
	$(PY) bench/grpc_unary.py --store postgres
	$(PY) bench/sync.py
	$(PY) bench/ical_parse.py
	$(PY) bench/history.py
	$(PY) bench/history.py --store postgres
	$(PY) bench/availability.py
	$(PY) bench/availability.py --store postgres
	$(PY) bench/bookings.py
	$(PY) bench/bookings.py --store postgres

clean:
	rm -rf $(VENV) node_modules data
