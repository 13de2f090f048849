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

.PHONY: demo test setup setup-sam browser lint bench clean

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

demo: $(STAMP_SAM)
	$(VENV)/bin/medground demo --out $(DEMO_OUT)

test: $(STAMP_SAM) browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

# The QC report's browser test renders it in headless Chromium: install Debian's package when we can
# (root + apt); the test skips cleanly where it is absent.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: the browser test will skip"; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
