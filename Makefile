# CalmOps: `make run` serves the dashboard, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
HOST   ?= 127.0.0.1
export PORT HOST

.PHONY: run test lint screenshot bench clean

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

## Serve the dashboard on http://$(HOST):$(PORT), building the demo world on first run.
run: $(VENV)/.installed
	$(PY) -m calmops demo --if-missing
	$(PY) -m streamlit run server.py --server.address $(HOST) --server.port $(PORT)

## Lint, then every test: unit, integration, pages (AppTest), API (real server), browser (Chromium),
## on both cores (one worker per core; a test file stays on one worker, each worker has its own server).
test: $(VENV)/.dev-installed lint
	$(PY) -m pytest -n 2 --dist loadfile

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## Refresh docs/screenshot.png (the README's) from the real dashboard in Chromium.
screenshot: $(VENV)/.dev-installed
	$(PY) -m tests.e2e.screenshot docs/screenshot.png

## Benchmarks on 10M- and 100M-row stores (built once into bench/data/); see bench/README.md.
bench: $(VENV)/.dev-installed
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
