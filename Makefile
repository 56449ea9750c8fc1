# SMS Desk: `make run` serves the dashboard with its worker; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench install install-axe clean prod-smoke load faults scale-out hostile screenshots messages translations

$(PY):
	@PYBIN="$$(for c in python3.13 python3.12 python3 python; do \
	    if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$c; break; fi; done)"; \
	if [ -z "$$PYBIN" ]; then echo "SMS Desk needs Python 3.12 or newer (3.13 recommended); none found on PATH." >&2; exit 1; fi; \
	echo "Creating $(VENV) with $$($$PYBIN --version)"; \
	$$PYBIN -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) install-axe

# axe-core for the browser tests (tests/e2e/test_every_page.py), pinned by its package-lock and
# installed again only when that changes. Without npm the walk skips locally; in CI (CI=true)
# the install fails instead.
AXE_DIR := tests/e2e/axe
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js
install-axe: $(AXE)

$(AXE): $(AXE_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	    npm ci --prefix $(AXE_DIR) --no-audit --no-fund --silent && touch $(AXE); \
	elif [ -n "$$CI" ] && [ "$$CI" != "false" ] && [ "$$CI" != "0" ]; then \
	    echo "npm is missing: the browser tests need axe-core ($(AXE_DIR)); install Node.js and npm." >&2; exit 1; \
	else \
	    echo "npm not found: skipping axe-core ($(AXE_DIR)); the page walk (tests/e2e/test_every_page.py) will skip."; \
	fi

# Translations (README "Languages"): the .po files in locale/ and each app's locale/ are the
# source; `make run` and `make test` compile each into its .mo whenever the .po is newer.
# `make translations` brings the .po files up to date with the strings marked in the code.
PO := $(wildcard locale/*/LC_MESSAGES/*.po */locale/*/LC_MESSAGES/*.po)
MO := $(PO:.po=.mo)
messages: $(MO)

%.mo: %.po
	@command -v msgfmt >/dev/null 2>&1 || { echo "GNU gettext's msgfmt is missing: install gettext (Debian: apt-get install gettext)." >&2; exit 1; }
	msgfmt --check --output-file=$@ $<

translations: $(STAMP)
	$(PY) manage.py makemessages --locale ru --no-obsolete --add-location file \
	    --ignore '.*' --ignore 'tests/*' --ignore 'scripts/*' --ignore 'var/*' --ignore 'docs/*' --ignore 'staticfiles/*'

run: $(STAMP) messages
	$(PY) manage.py migrate --no-input
	$(PY) manage.py setup_demo --base-url http://$(HOST):$(PORT)
	$(PY) manage.py run_dev --host $(HOST) --port $(PORT)

test: $(STAMP) messages
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) tests/benchmarks/run.py $(BENCH)

# The production stack on loopback (PostgreSQL and Redis on their usual ports; see README.md
# "Production run on one machine", "Load", "Scale-out" and "A hostile provider").
prod-smoke: $(STAMP)
	$(PY) scripts/prod_smoke.py

load: $(STAMP)
	$(PY) scripts/load/run_load.py $(LOAD_ARGS)

faults: $(STAMP)
	$(PY) scripts/faults_under_load.py $(FAULTS_ARGS)

scale-out: $(STAMP)
	$(PY) scripts/scale_out_check.py $(SCALE_OUT_ARGS)

hostile: $(STAMP)
	$(PY) scripts/hostile_provider_check.py $(HOSTILE_ARGS)

# The main pages at 360 and 1280 px in docs/screenshots/, taken by the page walk.
screenshots: $(STAMP) install-axe
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache $(AXE_DIR)/node_modules
