"""Failure taxonomy: every error type a checker can emit has a category, and run summaries turn into shares."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from harness.apibank.toolrl_protocol import judge_toolrl
from harness.leaderboard.taxonomy import CATEGORIES, benchmark_of, category_of, run_taxonomy
from harness.records import TaskResult

ROOT = Path(__file__).resolve().parents[1]

# Every error type the checkers emit, with the category a reader would give it.
EXPECTED = {
    # BFCL single-turn AST checker (checker.py, checker_call.py, checker_values.py) and decoders (scoring.py, scorefile.py)
    "simple_function_checker:wrong_func_name": "wrong_function",
    "simple_function_checker:wrong_count": "wrong_function",
    "multiple_function_checker:wrong_count": "wrong_function",
    "parallel_function_checker_no_order:wrong_count": "wrong_function",
    "parallel_function_checker_no_order:cannot_find_match": "other",
    "simple_function_checker:missing_required": "wrong_parameter",
    "simple_function_checker:missing_optional": "wrong_parameter",
    "simple_function_checker:unexpected_param": "wrong_parameter",
    "value_error:string": "wrong_value",
    "value_error:list/tuple": "wrong_value",
    "value_error:dict_key": "wrong_value",
    "value_error:dict_value": "wrong_value",
    "value_error:list_dict_count": "wrong_value",
    "value_error:others": "wrong_value",
    "type_error:simple": "wrong_type",
    "type_error:nested": "wrong_type",
    "type_error:java": "wrong_type",
    "type_error:js": "wrong_type",
    "dict_checker:unclear": "other",
    "list_dict_checker:unclear": "other",
    "ast_decoder:decoder_failed": "format",
    "ast_decoder:decoder_wrong_output_format": "format",
    "irrelevance_error:decoder_success": "relevance",
    "relevance_error:decoder_failed": "relevance",
    # BFCL multi-turn (multi_turn/checker.py, multi_turn/scoring.py)
    "multi_turn:empty_turn_model_response": "format",
    "multi_turn:inference_error": "format",
    "multi_turn:instance_state_mismatch": "other",
    "multi_turn:execution_response_mismatch": "other",
    "multi_turn:force_terminated": "other",
    # API-Bank, original protocol (original/evaluator.py, original/level3.py, original/score.py)
    "API_NAME_MISMATCH": "wrong_function",
    "INVALID_TOOL_NAME": "wrong_function",
    "INVALID_INPUT_PARAMETER": "wrong_parameter",
    "MISS_INPUT_ARGUMENT": "wrong_parameter",
    "INPUT_MISMATCH": "wrong_value",
    "OUTPUT_MISMATCH": "wrong_value",
    "HAS_EXCEPTION": "wrong_value",
    "TYPE_ERROR": "wrong_type",
    "NO_API_CALL": "format",
    "FAILED_PARSE_API_CALL": "format",
    "KEY_ERROR": "other",
    "TOOLSEARCHER_UNAVAILABLE": "other",
    "UNHANDLED_EXCEPTION": "other",
    "UNCLASSIFIED": "other",
    # API-Bank, ToolRL protocol (toolrl_protocol.judge_toolrl)
    "name_mismatch": "wrong_function",
    "params_key_mismatch": "wrong_parameter",
    "params_value_mismatch": "wrong_value",
    "no_tool_call_block": "format",
    "empty_tool_call": "format",
    "json_error": "format",
    "unstorable_output": "format",
    "malformed_call": "format",
    # ToolRL held-out items (toolrl/task.py)
    "call_mismatch": "other",
    "malformed_gold": "other",
    "format_error": "format",
    "empty_response": "format",
    # summary.json's own keys: a failed generation, and a wrong answer without an error type
    "generation_failed": "generation_failed",
    "none": "other",
}

BFCL_FILES = ["harness/bfcl/checker.py", "harness/bfcl/checker_call.py", "harness/bfcl/checker_values.py",
              "harness/bfcl/checker_types.py", "harness/bfcl/scoring.py", "harness/bfcl/scorefile.py",
              "harness/bfcl/multi_turn/checker.py", "harness/bfcl/multi_turn/scoring.py"]
APIBANK_FILES = ["harness/apibank/original/evaluator.py", "harness/apibank/original/level3.py",
                 "harness/apibank/original/score.py"]


def _literals(path: str, pattern: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and re.fullmatch(pattern, n.value)}


def _assigned(path: str, function: str, variable: str) -> set[str]:
    """String constants assigned to `variable` inside `function` (the error a judge returns)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    out = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            out |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return out


def emitted() -> set[str]:
    """Every error type found in the checkers' sources (so a new one fails here until it is classified)."""
    found: set[str] = set()
    for f in BFCL_FILES:
        found |= _literals(f, r"[a-z_]+:[a-z_/]+|type_error:")
    if "type_error:" in found:  # checker_call: f"type_error:{tag}", tag "java" or "js"
        found = (found - {"type_error:"}) | {"type_error:java", "type_error:js"}
    for f in APIBANK_FILES:
        found |= _literals(f, r"[A-Z][A-Z_]{3,}")
    doc = judge_toolrl.__doc__ or ""
    found |= {w.strip() for w in doc.split("error_type (soft):", 1)[1].split(";", 1)[0].split(",")}
    found |= _assigned("harness/toolrl/task.py", "judge", "error")
    return found


def test_every_error_type_the_checkers_emit_is_classified():
    found = emitted()
    assert len(found) > 45  # the scan itself works
    assert found - set(EXPECTED) == set(), "classify these in harness/leaderboard/taxonomy.py and add them here"


@pytest.mark.parametrize("error_type,category", sorted(EXPECTED.items()))
def test_category_of(error_type, category):
    assert category_of(error_type) == category


def test_unknown_and_missing_error_types_are_other():
    keys = {k for k, _ in CATEGORIES}
    assert len(keys) == 8 and keys >= set(EXPECTED.values())
    for unknown in (None, "", "weird", "something:else", "value_error", "wrong"):
        assert category_of(unknown) == "other"
    assert category_of("value_error:new_kind") == "wrong_value"  # a family keeps its category


def test_benchmarks_follow_the_registered_aggregators():
    assert benchmark_of("bfcl:simple_python") == "bfcl"
    assert benchmark_of("apibank:level-1") == "apibank"
    assert benchmark_of("apibank-original:level-3") == "apibank-original"
    assert benchmark_of("toolrl:test") == "toolrl" and benchmark_of("plain") == "plain"


def test_run_taxonomy_shares_of_wrong_answers_per_benchmark():
    tasks = {
        "bfcl:simple_python": TaskResult(correct=5, total=10, failed=2, error_types={
            "simple_function_checker:wrong_func_name": 2, "value_error:string": 2, "ast_decoder:decoder_failed": 1,
            "generation_failed": 2}),
        "bfcl:irrelevance": TaskResult(correct=8, total=10, error_types={"irrelevance_error:decoder_success": 2}),
        "apibank:level-1": TaskResult(correct=1, total=4, error_types={"name_mismatch": 1, "none": 1, "json_error": 1}),
    }
    tax = run_taxonomy(tasks)
    assert list(tax) == ["apibank", "bfcl"]
    bfcl = tax["bfcl"]
    assert bfcl["wrong"] == 9
    assert bfcl["counts"] == {"wrong_function": 2, "wrong_parameter": 0, "wrong_value": 2, "wrong_type": 0,
                              "format": 1, "relevance": 2, "generation_failed": 2, "other": 0}
    assert bfcl["shares"]["generation_failed"] == pytest.approx(2 / 9) and sum(bfcl["shares"].values()) == pytest.approx(1)
    assert tax["apibank"]["counts"]["other"] == 1 and tax["apibank"]["wrong"] == 3
    excl = run_taxonomy(tasks, exclude_failed=True)["bfcl"]
    assert excl["wrong"] == 7 and excl["counts"]["generation_failed"] == 0
    assert run_taxonomy({"apibank:level-1": TaskResult(correct=4, total=4)}) == {}  # nothing wrong: no entry
