"""Why answers were wrong, in one vocabulary across benchmarks: the checkers' error types -> 8 categories.

Every checker speaks its own official vocabulary (BFCL's `value_error:string`,
API-Bank's `API_NAME_MISMATCH`, ToolRL's `params_key_mismatch`, ...), which is
right for matching the official scorers and useless for comparing models
across benchmarks. `category_of` is the one mapping (pure, total: an error
type it does not know is "other"); `run_taxonomy` turns a run's per-task
error counts (summary.json `error_types`) into per-benchmark shares of the
wrong answers, so a board can say *how* a model fails, not only how often.
"""

from __future__ import annotations

from typing import Any

from harness.aggregation import aggregators
from harness.records import TaskResult

# (key, label) in display order.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("wrong_function", "wrong function"),
    ("wrong_parameter", "wrong/missing parameter"),
    ("wrong_value", "wrong value"),
    ("wrong_type", "wrong type"),
    ("format", "format/decoding"),
    ("relevance", "relevance"),
    ("generation_failed", "generation failed"),
    ("other", "other"),
)
FAILED = "generation_failed"  # the key summary.json's `error_types` gives failed generations

_EXACT: dict[str, str] = {
    # BFCL AST checker: the call's name, or how many calls there are
    "simple_function_checker:wrong_func_name": "wrong_function",
    "simple_function_checker:wrong_count": "wrong_function",
    "multiple_function_checker:wrong_count": "wrong_function",
    "parallel_function_checker_no_order:wrong_count": "wrong_function",
    # BFCL: a parameter the call should (not) have
    "simple_function_checker:missing_required": "wrong_parameter",
    "simple_function_checker:missing_optional": "wrong_parameter",
    "simple_function_checker:unexpected_param": "wrong_parameter",
    # BFCL decoders and the output-format check; multi-turn outputs that are not a list of turns, or empty turns
    "ast_decoder:decoder_failed": "format",
    "ast_decoder:decoder_wrong_output_format": "format",
    "multi_turn:inference_error": "format",
    "multi_turn:empty_turn_model_response": "format",
    # BFCL relevance categories: a call where none was due, or none where one was
    "irrelevance_error:decoder_success": "relevance",
    "relevance_error:decoder_failed": "relevance",
    # API-Bank, original protocol (evaluator.py, level3.py)
    "API_NAME_MISMATCH": "wrong_function",
    "INVALID_TOOL_NAME": "wrong_function",
    "INVALID_INPUT_PARAMETER": "wrong_parameter",
    "MISS_INPUT_ARGUMENT": "wrong_parameter",
    "INPUT_MISMATCH": "wrong_value",
    "OUTPUT_MISMATCH": "wrong_value",
    "HAS_EXCEPTION": "wrong_value",  # right name and parameters (checked before), so the values made it raise
    "TYPE_ERROR": "wrong_type",
    "NO_API_CALL": "format",
    "FAILED_PARSE_API_CALL": "format",
    # API-Bank, ToolRL protocol (toolrl_protocol.judge_toolrl) and ToolRL held-out items (toolrl/task.py)
    "name_mismatch": "wrong_function",
    "params_key_mismatch": "wrong_parameter",
    "params_value_mismatch": "wrong_value",
    "no_tool_call_block": "format",
    "empty_tool_call": "format",
    "json_error": "format",
    "unstorable_output": "format",
    "malformed_call": "format",
    "format_error": "format",
    "empty_response": "format",
    FAILED: "generation_failed",
}
# Whole families of BFCL's vocabulary, by the part before ':'.
_FAMILY = {"value_error": "wrong_value", "type_error": "wrong_type"}


def category_of(error_type: str | None) -> str:
    """The taxonomy category of one checker error type; "other" for anything not named above.

    "other" holds what names no single cause: BFCL's parallel "cannot_find_match" (no output call
    matched one expected call, for whatever reason), multi-turn state/response mismatches and
    force-terminated dialogues, the checkers' "unclear" cases, API-Bank's unclassified or
    unhandled exceptions, and a wrong answer with no error type.
    """
    if not error_type:
        return "other"
    if error_type in _EXACT:
        return _EXACT[error_type]
    return _FAMILY.get(error_type.split(":", 1)[0], "other") if ":" in error_type else "other"


def benchmark_of(task: str) -> str:
    """The benchmark a task belongs to: its registered aggregator's name, else the task's prefix."""
    for agg in aggregators():
        if task.startswith(agg.task_prefix):
            return agg.benchmark
    return task.split(":", 1)[0] if ":" in task else task


def run_taxonomy(tasks: dict[str, TaskResult], exclude_failed: bool = False) -> dict[str, dict[str, Any]]:
    """{benchmark: {"wrong": n, "counts": {category: n}, "shares": {category: share of wrong}}}.

    Counts are wrong samples (summary.json `error_types`); a failed generation is a wrong answer
    of its own category, unless `exclude_failed` (the board's other figure) leaves it out.
    """
    out: dict[str, dict[str, Any]] = {}
    for task, result in tasks.items():
        for error, n in (result.error_types or {}).items():
            if not isinstance(n, int) or n <= 0 or (exclude_failed and error == FAILED):
                continue
            entry = out.setdefault(benchmark_of(task), {"wrong": 0, "counts": {k: 0 for k, _ in CATEGORIES}})
            entry["wrong"] += n
            entry["counts"][category_of(None if error == "none" else error)] += n
    for entry in out.values():
        entry["shares"] = {k: v / entry["wrong"] for k, v in entry["counts"].items()}
    return dict(sorted(out.items()))
