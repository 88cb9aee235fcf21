"""Decode + check one BFCL single-turn output: the one scoring path for eval, `rest score` and rewards.

Decoding follows the handler that produced the output:
- "prompting": BFCL's prompting decoder (Python call syntax; Java/JS source for
  simple_java / simple_javascript), as `bfcl evaluate` decodes OSS models;
- "fc": native tool calls, from the chat API's `tool_calls` field when given,
  else from `<tool_call>{json}</tool_call>` blocks in the text (Qwen/Hermes);
- "toolrl": JSON lines inside the last `<tool_call>` block, as ToolRL's
  RLLAHandler.decode_ast (bad lines and calls named "None" are skipped).
Any decode failure is a verdict, never an exception.
"""

from __future__ import annotations

from typing import Any

from harness.bfcl.categories import RELEVANCE_CATEGORIES, language_of
from harness.bfcl.checker import check_ast, check_relevance
from harness.bfcl.toolrl_handler import decode_toolrl
from harness.types import Verdict

FORMATS = ("prompting", "fc", "toolrl")


def decode_output(text: str, fmt: str, language: str, tool_calls: list[dict] | None = None) -> Any:
    """Decode one model output; raises on failure (the caller turns that into a verdict)."""
    from harness.bfcl import decode  # imported lazily: tree-sitter parsers load on first use

    if fmt == "prompting":
        return decode.decode_ast(text, language)
    if fmt == "fc":
        if tool_calls is not None:
            return decode.decode_tool_calls_field(tool_calls)
        return decode.decode_tool_call_tags(text)
    if fmt == "toolrl":
        return decode_toolrl(text)
    raise ValueError(f"unknown output format {fmt!r}; expected one of {FORMATS}")


def score_output(
    *,
    category: str,
    functions: list[dict],
    possible_answer: list[dict] | None,
    text: str,
    fmt: str = "prompting",
    tool_calls: list[dict] | None = None,
    underscore_to_dot: bool = False,
) -> Verdict:
    """Score one single-turn output exactly as `bfcl evaluate` would; `detail["decoded"]` holds the calls.

    `possible_answer` is the entry's ground truth list (ignored, may be None,
    for the relevance categories).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; expected one of {FORMATS}")
    relevance = category in RELEVANCE_CATEGORIES
    # BFCL decodes relevance outputs as Python whatever the category.
    language = "python" if relevance else language_of(category)
    try:
        decoded = decode_output(text, fmt, language, tool_calls)
    except Exception as exc:  # BFCL counts any decoder exception as a decode failure
        error = f"{type(exc).__name__}: {exc}"
        if relevance:
            verdict = check_relevance(None, category, error)
        else:
            verdict = Verdict(
                valid=False,
                error_type="ast_decoder:decoder_failed",
                errors=[f"Invalid syntax. Failed to decode AST. {error}"],
                detail={"calls": [], "n_expected": len(possible_answer or []), "n_output": 0},
            )
        verdict.detail["decoded"] = None
        return verdict
    if relevance:
        verdict = check_relevance(decoded, category)
    else:
        verdict = check_ast(functions, decoded, possible_answer, language, category, underscore_to_dot=underscore_to_dot)
    verdict.detail["decoded"] = decoded
    return verdict
