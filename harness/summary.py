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


def benchmark_aggregates(per_task: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    bfcl = {t.split(":", 1)[1]: (s["correct"], s["total"]) for t, s in per_task.items()
            if t.startswith("bfcl:") and s["total"]}
    if bfcl:
        try:
            from harness.bfcl.aggregate import bfcl_summary
        except ImportError:
            bfcl_summary = None
        if bfcl_summary is not None:
            out["bfcl"] = bfcl_summary(bfcl)
    for prefix in ("apibank:", "apibank-original:"):
        levels = {t: s for t, s in per_task.items() if t.startswith(prefix) and s["total"]}
        if levels:
            c = sum(s["correct"] for s in levels.values())
            n = sum(s["total"] for s in levels.values())
            lo, hi = wilson(c, n)
            out[prefix.rstrip(":")] = {"overall": {"correct": c, "total": n, "accuracy": c / n, "ci95": [lo, hi]},
                                       "note": "micro-average over all items (ToolRL/ResT convention)"}
    return out
