"""Entry points for `rest score apibank --protocol original`: per-sample verdicts and a summary.

Rows are the original evaluator's prediction format `{"file", "sample_id",
"pred"}`; call samples get the execution verdict, reply samples ROUGE-L F
(an empty prediction scores 0, as in the original).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from harness.apibank.original.dialogues import load_dialogue, samples_of
from harness.apibank.original.env import load_databases
from harness.apibank.original.evaluator import ERROR_CLASSES, MODES, judge_in_context
from harness.apibank.original.rouge import EmptyText, rouge_l_f
from harness.types import UserError


def _resolve(data_dir: str | Path | None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    from harness.apibank.data import data_dir as default_dir

    return default_dir()


def score_predictions(rows: list[dict[str, Any]], data_dir: str | Path | None = None, mode: str = "official", level: int = 1) -> list[dict[str, Any]]:
    """One result per row, in input order: `{file, sample_id, kind, correct, error}`.

    For a call sample `correct` is a bool and `error` an ERROR_CLASSES name or
    None; for a reply sample `correct` is the ROUGE-L F (float) and `error` None
    (or UNHANDLED_EXCEPTION where the `rouge` package would raise).
    """
    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    root = _resolve(data_dir)
    if level == 3:
        from harness.apibank.original.level3 import score_level3

        return score_level3(rows, root, mode)
    databases = load_databases(root)
    out = []
    for n, row in enumerate(rows, 1):
        try:
            file, sid, pred = row["file"], row["sample_id"], row["pred"]
        except (KeyError, TypeError):
            raise UserError(f"prediction {n}: needs keys file, sample_id, pred") from None
        if not isinstance(sid, int) or isinstance(sid, bool):
            raise UserError(f"prediction {n}: sample_id must be an integer, got {sid!r}")
        samples = samples_of(load_dialogue(root, file, level))
        if not 0 <= sid < len(samples):
            raise UserError(f"prediction {n}: {file} has samples 0..{len(samples) - 1}, got {sid}")
        sample = samples[sid]
        pred = pred if isinstance(pred, str) else ""
        if sample.is_call:
            v = judge_in_context(pred, sample.history, sample.target, databases, mode)
            out.append({"file": file, "sample_id": sid, "kind": "call", "correct": v.correct, "error": v.error})
        else:
            score, err = 0.0, None
            if pred:
                try:
                    score = round(rouge_l_f(pred, sample.target.get("text", "")), 4)
                except EmptyText:
                    err = "UNHANDLED_EXCEPTION"
            out.append({"file": file, "sample_id": sid, "kind": "reply", "correct": score, "error": err})
    return out


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Call accuracy and error-class counts; mean ROUGE-L where reply samples are given."""
    calls = [r for r in results if r.get("kind", "call") == "call"]
    replies = [r for r in results if r.get("kind") == "reply"]
    errors = Counter(r["error"] for r in calls if not r["correct"])
    summary: dict[str, Any] = {
        "calls": len(calls),
        "correct": sum(1 for r in calls if r["correct"]),
        "accuracy": (sum(1 for r in calls if r["correct"]) / len(calls)) if calls else None,
        "errors": {k: errors.get(k, 0) for k in ERROR_CLASSES}
        | {k: n for k, n in errors.items() if k is not None and k not in ERROR_CLASSES}
        | ({"UNCLASSIFIED": errors[None]} if errors.get(None) else {}),
    }
    if any("api_id" in r for r in calls):  # Level-3 steps: also the task-level Sample Accuracy
        from harness.apibank.original.level3 import sample_accuracy

        summary |= sample_accuracy(calls)
    if replies:
        summary["replies"] = len(replies)
        summary["rouge_l"] = sum(float(r["correct"]) for r in replies) / len(replies)
    return summary


def gold_rows(data_dir: str | Path | None = None, level: int = 1) -> list[dict[str, Any]]:
    """The JSON test data's expected outputs as predictions (the gold-call rate's input).

    Level 3: level-3-batch-inf.json's 245 expected steps (`{sample_id, api_id, pred}`).
    """
    import json

    from harness.apibank.original.env import api_root

    root = _resolve(data_dir)
    if level == 3:
        from harness.apibank.original.level3 import gold_rows_level3

        return gold_rows_level3(root)
    items = json.loads((api_root(root) / "test-data" / f"level-{level}-api.json").read_text(encoding="utf-8"))
    return [{"file": x["file"], "sample_id": x["id"], "pred": x["expected_output"]} for x in items]
