# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test setup system-deps lint check bench bundle

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# esbuild, the widget's bundler (consent_widget/build.py; the bundle itself is committed)
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed

## Bundle the widget again after changing consent_widget/src (commit consent_widget/dist)
bundle: setup node_modules/.installed
	$(BIN)/python -m consent_widget.build

## Build the site (with drafts and upcoming versions, marked) and serve it on http://127.0.0.1:$(PORT)/
run: setup
	$(BIN)/imarouter-local --preview --port $(PORT)

system-deps:
	./scripts/install-system-deps.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/imarouter-legal check

## Set up everything and run the whole test suite.
test: setup system-deps node_modules/.installed lint
	$(BIN)/pytest
