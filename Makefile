# medground: two commands on a fresh machine.
#   make demo  - set up .venv and build a small grounding corpus from the embedded sample
#   make test  - set up .venv (with the [sam] extra) and run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_OUT ?= demo-out
STAMP := $(VENV)/.installed
STAMP_SAM := $(VENV)/.installed-sam

.PHONY: demo test setup setup-sam lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e ".[dev]"
	touch $@

$(STAMP_SAM): pyproject.toml $(STAMP)
	$(PIP) install -q -e ".[dev,sam]"
	touch $@

setup: $(STAMP)

setup-sam: $(STAMP_SAM)

demo: $(STAMP)
	$(VENV)/bin/medground demo --out $(DEMO_OUT)

test: $(STAMP_SAM)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
