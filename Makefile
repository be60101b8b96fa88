# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## run: install npd and run it standalone on this machine's logs (bundled monitors; root reads /dev/kmsg)
run: $(STAMP)
	$(BIN)/npd run

## test: install everything the tests need, then lint, type-check and run the whole suite
# The control plane is built here (cached; minutes only the first time on a machine, progress on
# stderr) so that pytest never builds.
test: $(STAMP)
	tools/install-test-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	tools/build-controlplane >/dev/null
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

## bench: the end-to-end throughput and memory benchmark (benchmarks/README.md)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
