# The two commands a newcomer needs (see README): `make demo` and `make test`.
# Everything is installed into .venv; system packages only when running as root.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Python code only: ruff would otherwise also reformat illustrative code blocks in docs/*.md.
PY_DIRS := reconciler providers schemas simulator tests bench

.PHONY: demo test install system-deps lint typecheck layers unit clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	./scripts/install-system-deps

## demo: the main job end to end on the built-in lab
demo: install
	./scripts/demo

## test: install everything, then lint, type-check, check layering and run the whole suite
test: install system-deps lint typecheck layers unit

lint: install
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

typecheck: install
	$(BIN)/mypy reconciler schemas

layers: install
	$(BIN)/lint-imports --no-cache

unit: install
	$(BIN)/pytest -n auto -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
