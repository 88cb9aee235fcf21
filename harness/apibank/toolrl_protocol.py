"""API-Bank scored the way ToolRL and ResT score it (pure: text in, numbers out).

Our own reimplementation of the semantics of ToolRL's
`benchmarks/API-Bank/generate.py` (parsing) and `evaluate.py` (SOFT MATCH +
leaderboard), commit 8cee13ec. Published ToolRL/ResT numbers are only
comparable if every quirk is kept, so they are, deliberately:

- parsing reads the text after the LAST `<tool_call>` up to the next
  `</tool_call>` (the whole text when there is no tag, so bare JSON counts);
  each non-blank line is `json.loads`-ed on its own and failures are dropped,
  so pretty-printed JSON is lost; any JSON value is kept, not only objects;
- generate.py stores the parsed calls in result.json with
  `ensure_ascii=False` and UTF-8; a call holding a lone surrogate (`"\\ud800"`)
  makes that write fail and the item is recorded with no calls;
- scoring walks the calls in order: a JSON string is decoded once more; an
  object lacking `name` or `parameters` is taken as the parameters of the
  gold tool (`"name" in x` is a key test for dicts, membership for lists, a
  substring test for strings); a call that raises (a number, `null`, a string
  that is not JSON...) stops the walk; the item scores 1 as soon as a call has
  `name == gold name and parameters == gold parameters` (Python equality);
- overall accuracy is the micro-average over all items, shown rounded to 2.

`score_strict` is our clearly named extra column: the FIRST block only
(ending at `</tool_call>`, the next `<tool_call>` or the end of the text),
exactly one parsed call, which must be an object with `name` and `parameters`
equal to the gold call (ToolRL's commented-out HARD MATCH, first block).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from harness.toolrl.format import CLOSE, OPEN, last_block, parse_lines
from harness.types import Verdict

LEVEL_KEYS = {1: "L1", 2: "L2", 3: "L3"}


def gold_call(answer: Any) -> dict[str, Any]:
    """Gold call as one `{"name", "parameters"}` dict (L1/L3 wrap it in a one-element list, L2 does not)."""
    if isinstance(answer, list):
        if not answer:
            raise ValueError("empty answer list")
        answer = answer[0]
    if not isinstance(answer, dict) or "name" not in answer or "parameters" not in answer:
        raise ValueError(f"malformed answer: {answer!r}")
    return answer


# ---------------------------------------------------------------- parsing


def _storable(calls: list[Any]) -> bool:
    """Whether generate.py could write these calls to result.json (UTF-8, ensure_ascii=False)."""
    try:
        json.dumps(calls, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return False
    return True


def parse_toolrl(text: str) -> list[Any]:
    """The calls ToolRL's generate.py records for one raw model output."""
    calls = parse_lines(last_block(text))
    return calls if _storable(calls) else []


# ---------------------------------------------------------------- scoring


def _soft(parsed: list[Any], gold: Mapping[str, Any]) -> tuple[int, int | None, str | None]:
    """(score, index of the deciding call, reason the walk stopped early)."""
    for i, call in enumerate(parsed):
        try:
            if type(call) is str:
                call = json.loads(call)
            if "name" not in call or "parameters" not in call:
                name, params = gold["name"], call
            else:
                name, params = call["name"], call["parameters"]
            if name == gold["name"] and params == gold["parameters"]:
                return 1, i, None
        except (ValueError, TypeError, KeyError, IndexError, RecursionError):
            return 0, i, "malformed_call"
    return 0, None, None


def score_toolrl(parsed: list[Any], gold: Any) -> int:
    """evaluate.py SOFT MATCH: 1 if any parsed call equals the gold call, else 0."""
    return _soft(parsed, gold_call(gold))[0]


def _candidates(parsed: list[Any], gold: Mapping[str, Any], upto: int | None) -> list[tuple[Any, Any]]:
    """(name, params) of the calls the soft walk looked at, for explaining a 0."""
    out = []
    for call in parsed[: upto if upto is not None else len(parsed)]:
        try:
            obj = json.loads(call) if type(call) is str else call
            if "name" not in obj or "parameters" not in obj:
                out.append((gold["name"], obj))
            else:
                out.append((obj["name"], obj["parameters"]))
        except (ValueError, TypeError, KeyError, IndexError, RecursionError):
            continue
    return out


def _miss_reason(cands: list[tuple[Any, Any]], gold: Mapping[str, Any]) -> str:
    named = [p for n, p in cands if n == gold["name"]]
    if not named:
        return "name_mismatch"
    if any(isinstance(p, dict) and set(p) == set(gold["parameters"]) for p in named):
        return "params_value_mismatch"
    return "params_key_mismatch"


def judge_toolrl(text: str, gold: Any) -> Verdict:
    """Soft-match verdict with a reason, plus the strict column in `detail`.

    error_type (soft): no_tool_call_block, empty_tool_call, json_error,
    unstorable_output, malformed_call, name_mismatch, params_key_mismatch,
    params_value_mismatch; None when correct.
    """
    g = gold_call(gold)
    block = last_block(text)
    raw_calls = parse_lines(block)
    parsed = raw_calls if _storable(raw_calls) else []
    score, index, stop = _soft(parsed, g)
    reason: str | None = None
    if score:
        pass
    elif raw_calls and not parsed:
        reason = "unstorable_output"
    elif not parsed:
        reason = "no_tool_call_block" if OPEN not in text else "empty_tool_call" if not block else "json_error"
    else:
        seen = _candidates(parsed, g, index if stop else None)
        reason = _miss_reason(seen, g) if seen or not stop else stop
    strict, strict_reason = _strict(text, g)
    detail = {
        "score": score,
        "strict": strict,
        "strict_error": strict_reason,
        "parsed": parsed,
        "n_calls": len(parsed),
        "matched_index": index if score else None,
        "blocks": text.count(OPEN),
    }
    return Verdict(valid=bool(score), error_type=reason, errors=[reason] if reason else [], detail=detail)


# ---------------------------------------------------------------- strict column


def first_block(text: str) -> str | None:
    """Text of the first `<tool_call>` block: up to `</tool_call>`, the next `<tool_call>` or the end."""
    start = text.find(OPEN)
    if start < 0:
        return None
    rest = text[start + len(OPEN) :]
    ends = [i for i in (rest.find(CLOSE), rest.find(OPEN)) if i >= 0]
    return rest[: min(ends)].strip() if ends else rest.strip()


def _strict(text: str, g: Mapping[str, Any]) -> tuple[int, str | None]:
    block = first_block(text)
    if block is None:
        return 0, "no_tool_call_block"
    calls = parse_lines(block)
    if not calls:
        return 0, "empty_tool_call" if not block else "json_error"
    if len(calls) != 1:
        return 0, "multiple_calls"
    call = calls[0]
    if not isinstance(call, dict) or "name" not in call or "parameters" not in call:
        return 0, "malformed_call"
    if call["name"] != g["name"]:
        return 0, "name_mismatch"
    if call["parameters"] != g["parameters"]:
        params = call["parameters"]
        same_keys = isinstance(params, dict) and set(params) == set(g["parameters"])
        return 0, "params_value_mismatch" if same_keys else "params_key_mismatch"
    return 1, None


def score_strict(text: str, gold: Any) -> int:
    """Strict column: first block, exactly one call, exact name and parameters."""
    return _strict(text, gold_call(gold))[0]


# ---------------------------------------------------------------- aggregation


def _cell(correct: int, total: int) -> dict[str, Any]:
    acc = correct / total if total else 0.0
    return {"correct": correct, "total": total, "accuracy": acc, "percent": round(acc * 100, 2)}


def summarize(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-level and micro-averaged overall accuracy, for the soft score and (if given) the strict one.

    Each row needs `level` (1-3) and `score` (0/1); `strict` (0/1) is optional
    but must then be on every row. `accuracy` is the raw fraction, `percent`
    ToolRL's `round(correct / total * 100, 2)`.
    """
    rows = list(rows)
    with_strict = [("strict" in r) for r in rows]
    if any(with_strict) and not all(with_strict):
        raise ValueError("either every row or no row has a 'strict' score")
    columns = ["score", "strict"] if rows and all(with_strict) else ["score"]
    out: dict[str, Any] = {}
    for col in columns:
        correct = dict.fromkeys(LEVEL_KEYS, 0)
        total = dict.fromkeys(LEVEL_KEYS, 0)
        for r in rows:
            level = int(r["level"])
            if level not in LEVEL_KEYS:
                raise ValueError(f"bad level {level!r}")
            total[level] += 1
            correct[level] += 1 if r[col] == 1 else 0
        table = {LEVEL_KEYS[lv]: _cell(correct[lv], total[lv]) for lv in LEVEL_KEYS}
        table["overall"] = _cell(sum(correct.values()), sum(total.values()))
        out["soft" if col == "score" else "strict"] = table
    return out
