# Quick start: `make demo` (score the embedded model) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements-nodeps.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/rest eval --tasks bfcl:simple_python --limit 20 --output-dir runs/demo

test: install
	$(BIN)/ruff check harness trainer tests bench
	HF_HUB_OFFLINE=1 WANDB_MODE=offline $(BIN)/pytest -q -m "not slow" tests
	HF_HUB_OFFLINE=1 WANDB_MODE=offline $(BIN)/pytest -q -m slow tests

lint: install
	$(BIN)/ruff check harness trainer tests bench

clean:
	rm -rf $(VENV) runs
