# Quick start: `make demo` (score the embedded model) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench llamacpp clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements-nodeps.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/rest eval --tasks bfcl:simple_python,apibank:level-1 --limit 8 --max-new-tokens 128 \
		--batch-size 8 --output-dir runs --run-name demo --overwrite --skip-missing-data

# Optional: llama-cpp-python (+ its OpenAI-compatible server) built once, wheel cached in ~/.cache/rest-harness/wheels.
llamacpp: install
	VENV=$(VENV) bash bench/build_llamacpp.sh

test: install
	$(BIN)/ruff check harness trainer tests bench
	HF_HUB_OFFLINE=1 WANDB_MODE=offline $(BIN)/pytest -q -m "not slow" tests
	HF_HUB_OFFLINE=1 WANDB_MODE=offline $(BIN)/pytest -q -m slow tests

bench: install
	$(BIN)/python bench/bfcl_checker.py
	$(BIN)/python bench/rewards_throughput.py
	$(BIN)/python bench/eval_throughput.py
	$(BIN)/python bench/trainer_overhead.py

lint: install
	$(BIN)/ruff check harness trainer tests bench

clean:
	rm -rf $(VENV) runs
