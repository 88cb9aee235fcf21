"""Score BFCL multi-turn results: `result` = list of turns, each a list of per-step raw model outputs.

Mirrors `eval_runner._evaluate_single_multi_turn_entry`: a result that is not
a list is an inference error; a turn count different from the ground truth's
means the model was force-terminated; each step is decoded with the execute
decoder of its format's handler (formats.py; steps that fail to decode or hold
no call are skipped); then `checker.check_decoded` runs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from harness.bfcl.categories import MULTI_TURN
from harness.bfcl.multi_turn import data
from harness.bfcl.multi_turn.checker import check_decoded
from harness.bfcl.multi_turn.formats import FORMATS, dialogue_format
from harness.types import UserError, Verdict

INFERENCE_ERROR = "multi_turn:inference_error"
FORCE_TERMINATED = "multi_turn:force_terminated"


def decode_step(raw: Any, fmt: str = "prompting") -> list[str] | None:
    """Call strings of one step, or None when BFCL's evaluator skips the step (undecodable or empty)."""
    return dialogue_format(fmt).decode(raw)


def decode_result(result: list[list[Any]], fmt: str = "prompting") -> list[list[list[str]]]:
    """Per turn, the decoded steps that hold calls."""
    out = []
    for turn in result:
        items = list(turn) if isinstance(turn, (list, tuple, str, dict)) else []  # BFCL iterates whatever it gets
        steps = [decode_step(raw, fmt) for raw in items]
        out.append([s for s in steps if s is not None])
    return out


def score_result(entry: dict[str, Any], ground_truth: list[list[str]], result: Any,
                 fmt: str = "prompting") -> Verdict:
    """The verdict BFCL's evaluator gives this entry's `result` (steps written in format `fmt`);
    `detail["decoded"]` holds the decoded turns."""
    if not isinstance(result, list):
        return Verdict(False, INFERENCE_ERROR,
                       ["Error during inference phase. Model did not output a list of model responses."])
    if len(result) != len(ground_truth):
        return Verdict(False, FORCE_TERMINATED,
                       [f"Model was force-terminated during inference phase. The length of the model result "
                        f"turns ({len(result)}) does not match the length of the ground truth turns "
                        f"({len(ground_truth)})."],
                       {"model_turns": len(result), "gt_turns": len(ground_truth)})
    decoded = decode_result(result, fmt)
    verdict = check_decoded(entry, decoded, ground_truth)
    verdict.detail["decoded"] = decoded
    return verdict


@cache
def _category_data(category: str) -> tuple[dict[str, dict], dict[str, list]]:
    # Entries are read-only here (the checker deep-copies initial configs), so one copy per process is fine.
    return {e["id"]: e for e in data.load_entries(category)}, data.load_answers(category)


def score_result_line(test_id: str, category: str, result: Any, fmt: str = "prompting") -> Verdict:
    """Score one result-file line (the API `rest score bfcl` calls); unknown ids/categories are UserErrors."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r} for BFCL multi-turn; expected one of {', '.join(FORMATS)}")
    if category not in MULTI_TURN:
        raise UserError(f"unsupported BFCL multi-turn category {category!r} (id {test_id!r}); "
                        f"supported: {', '.join(MULTI_TURN)}")
    entries, answers = _category_data(category)
    if test_id not in entries or test_id not in answers:
        raise UserError(f"unknown BFCL id {test_id!r}")
    return score_result(entries[test_id], answers[test_id], result, fmt)
