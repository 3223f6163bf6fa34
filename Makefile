# The single place for chores. `make run` and `make test` each set everything up on a fresh
# machine with Python 3.11, then run.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup lint typecheck unit bench build clean browser-deps store-deps web-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# The web page's YASGUI, pinned in package-lock.json; served from node_modules, never committed. Without npm
# the page falls back to its built-in SPARQL editor, so a missing npm warns instead of failing.
WEB_STAMP := node_modules/.package-lock.json
$(WEB_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
		|| echo "npm ci failed: the web page will use its built-in SPARQL editor"; \
	else echo "npm not found: the web page will use its built-in SPARQL editor instead of YASGUI"; fi

web-deps: $(WEB_STAMP)

# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): $(BIN)/python pyproject.toml | $(WEB_STAMP)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	# Export the embedding model to ONNX once, so `trialkb ask`/`search` start without importing torch.
	HF_HUB_OFFLINE=1 $(BIN)/python -c "from kb.passage_search import ensure_onnx; from kb.settings import Settings; import sys; from pathlib import Path; sys.exit(0 if ensure_onnx(Settings().resolved_cache_dir() / 'onnx' / 'all-MiniLM-L6-v2') else 1)"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	HF_HUB_OFFLINE=1 $(BIN)/trialkb serve --host 127.0.0.1 --port 8000

browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get install -y chromium >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1)) || echo "chromium not installed: browser tests will be skipped"

# Virtuoso for the remote-store tests (tests/test_remote_store.py); they skip, saying so, where it cannot be installed.
store-deps:
	@command -v virtuoso-t >/dev/null 2>&1 || (DEBIAN_FRONTEND=noninteractive apt-get install -y virtuoso-opensource >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y virtuoso-opensource >/dev/null 2>&1)) || echo "virtuoso not installed: its remote-store test will be skipped"

lint: setup
	$(BIN)/ruff check kb ontology search tests bench
	$(BIN)/ruff format --check kb ontology search tests bench

typecheck: setup
	$(BIN)/mypy kb ontology search

unit: setup
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q

test: setup browser-deps store-deps lint typecheck unit

build: setup
	HF_HUB_OFFLINE=1 $(BIN)/trialkb build

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
