# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit integration bench clean simulator web web-test e2e-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) web
	$(BIN)/quantum run --host 127.0.0.1 --port 8080 --demo

# The web dashboard (web/dist, served by the platform at /); skipped without npm.
web:
	@if command -v npm >/dev/null 2>&1; then \
		cd web && npm ci --no-audit --no-fund && npm run build; \
	else echo "warning: npm not found; skipping the web dashboard build (/ will say how to build it)" >&2; fi

web-test:
	@if command -v npm >/dev/null 2>&1; then \
		cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run check && npm test -- --run; \
	else echo "warning: npm not found; skipping the web dashboard tests" >&2; fi

# The browser tests (tests/e2e) drive Debian's chromium through Playwright (no browser
# download); installed here as root, else they are skipped with a warning.
e2e-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get install -y chromium || { apt-get update && apt-get install -y chromium; } || \
			echo "WARNING: apt-get install -y chromium failed: the browser tests (tests/e2e) will be SKIPPED" >&2; \
		else echo "WARNING: /usr/bin/chromium is missing (not root, no apt-get): the browser tests (tests/e2e) will be SKIPPED; install it: sudo apt-get install -y chromium" >&2; fi; \
	fi

simulator: $(STAMP)
	$(BIN)/quantum simulator

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples scripts
	$(BIN)/ruff format --check src tests bench examples scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

integration: $(STAMP)
	$(BIN)/pytest tests/integration -q

test: $(STAMP) web e2e-deps
	bash scripts/services.sh
	$(BIN)/ruff check src tests bench examples scripts
	$(BIN)/ruff format --check src tests bench examples scripts
	$(BIN)/mypy
	$(BIN)/pytest -q
	$(MAKE) web-test

bench: $(STAMP)
	$(BIN)/python -m bench.simulator --quick
	$(BIN)/python -m bench.tokens --quick
	$(BIN)/python -m bench.kiwoom_client --quick
	$(BIN)/python -m bench.fanout --quick
	$(BIN)/python -m bench.orders --quick
	$(BIN)/python -m bench.web --quick

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
