# sensorec: `make demo` and `make test` each set up .venv when missing, then run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU wheel of torch 2.13.0 (on this project's machines it lies on disk). GPU users:
# make TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126" setup
TORCH_SPEC ?= torch==2.13.0
DATASET ?= synthetic
DATA_DIR ?=
MODELS ?= pop,bprmf,neumf

.PHONY: setup demo test lint typecheck unit bench clean

$(BIN)/.sensorec-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: $(BIN)/.sensorec-installed

demo: setup
	SENSOREC_PROGRESS=$${SENSOREC_PROGRESS:-1} $(BIN)/sensorec demo --dataset $(DATASET) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) --models $(MODELS) --output runs/demo-$(DATASET)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
