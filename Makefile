# The README's two commands: `make test` and `make demo`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: install browser test check unit demo bench infra-check clean

install: $(PY_STAMP) $(NODE_STAMP) browser

# Headless Chromium for tests/browser and the demo's screenshots (apt; a failure only under CI=true).
browser:
	bash scripts/ensure-chromium.sh

$(PY_STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

# Azurite (the real Table storage server for tests and the demo) and adaptivecards (Microsoft's card renderer,
# for tests/browser), pinned in package.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# No merge-conflict markers in tracked files; lint, format, types, and the architecture's import contracts
# (pyproject.toml [tool.importlinter]).
check: $(PY_STAMP)
	sh scripts/check-conflict-markers.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m enforcer desired-state check examples/desired-state/*.yaml examples/desired-state/*.json

test: install check
	$(BIN)/pytest

# Every pure test, wherever it lives: tests that use a local server are marked integration (tests/conftest.py).
unit: $(PY_STAMP)
	$(BIN)/pytest -q -m "not integration"

demo: install
	$(BIN)/python -m localdev demo

bench: install
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.wiring
	$(BIN)/python -m benchmarks.drift
	$(BIN)/python -m benchmarks.desired_state

infra-check:
	bash scripts/infra-check.sh

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis out
