# Fresh machine: `make demo` runs the simulator on the embedded broker, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest contract clean

$(BIN)/iocsim: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip "setuptools>=77"
	$(BIN)/pip install -q -e ".[dev]" --config-settings editable_mode=strict
	@touch $@

demo: $(BIN)/iocsim
	$(BIN)/iocsim run --scenario every_kind --duration 1h --speed 15

test: lint typecheck pytest

lint: $(BIN)/iocsim
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/iocsim
	MYPY=$(BIN)/mypy scripts/typecheck

pytest: $(BIN)/iocsim
	$(BIN)/pytest

contract: $(BIN)/iocsim
	$(BIN)/iocsim contract --out docs/asyncapi.json

clean:
	rm -rf build .typecheck .pytest_cache .mypy_cache .ruff_cache
