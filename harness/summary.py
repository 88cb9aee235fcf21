"""Turn per-sample records into a run summary (pure).

Samples whose generation failed are counted apart (`failed`) and excluded
from accuracy: they are retried by `--resume`, never silently scored 0.
Benchmark aggregates (BFCL V4 subscores, API-Bank micro-overall) are added
when their tasks are present.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.stats import wilson


def task_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    scored = [r for r in records if not r.get("backend_error")]
    correct = sum(1 for r in scored if r.get("valid"))
    total = len(scored)
    lo, hi = wilson(correct, total)
    errors = Counter(r.get("error_type") or "none" for r in scored if not r.get("valid"))
    return {
        "correct": correct,
        "total": total,
        "accuracy": correct / total if total else None,
        "ci95": [lo, hi],
        "failed": len(records) - total,
        "error_types": dict(errors.most_common()),
        "prompt_tokens": sum(int(r.get("prompt_tokens") or 0) for r in records),
        "completion_tokens": sum(int(r.get("completion_tokens") or 0) for r in records),
    }


def outcomes_of(records: list[dict[str, Any]]) -> list[int]:
    """Per-item 0/1 outcomes of the scored samples (failed generations excluded)."""
    return [1 if r.get("valid") else 0 for r in records if not r.get("backend_error")]


def benchmark_aggregates(per_task: dict[str, dict[str, Any]], outcomes: dict[str, list[int]] | None = None,
                         n_boot: int = 1000) -> dict[str, Any]:
    """Benchmark aggregates, each with its n and a 95% interval.

    BFCL V4 subscores/overall and API-Bank's micro overall get a bootstrap over
    items (Wilson when one category feeds them), computed by the same code the
    leaderboards use. `value` follows the official rule (a missing category
    counts 0); `complete` is False where BFCL would display N/A.
    """
    from harness.leaderboard.board import AGGREGATORS, aggregate_cells

    outcomes = outcomes or {}
    out: dict[str, Any] = {}
    for agg in AGGREGATORS:
        feed = {t.split(":", 1)[1]: outcomes.get(t) or [] for t, s in per_task.items()
                if t.startswith(agg.task_prefix) and s.get("total")}
        if not feed:
            continue
        cells = aggregate_cells(feed, agg.compute, n_boot=n_boot)
        if cells:
            out[agg.benchmark] = cells
    return out
