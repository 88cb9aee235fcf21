"""lm-eval task configs for BFCL single-turn and API-Bank, scored by this project's checkers.

`lm_eval --include_path $(rest lm-eval-path) --tasks bfcl_simple_python --apply_chat_template ...`
generates with lm-eval's own model backends and scores each completion with `harness.tasks`'
checkers, so lm-eval users get the verdicts `rest eval` (and BFCL's / ToolRL's scorers) give.
Importing this package imports nothing else: `PATH` is what `--include_path` needs. The YAMLs are
written by `python -m harness.lm_eval_tasks.generate`; docs/lm_eval.md says what each task is.
"""

from __future__ import annotations

from pathlib import Path

PATH = Path(__file__).resolve().parent
