"""BFCL's metrics: V4 per-category accuracy, subscores and overall, as the official leaderboard computes them.

Pure arithmetic over (correct, total) counts. As in BFCL, a category that was
not evaluated counts as accuracy 0 (with its shipped entry count as weight)
in every aggregate, and any aggregate with such a member is *displayed* N/A:
here `value` is always the number BFCL uses in the overall, and `complete`
says whether it would be displayed. The `bfcl` aggregator registered here is
what run summaries and leaderboards compute for `bfcl:*` tasks.
"""

from __future__ import annotations

from typing import Any

from harness.aggregation import AGGREGATORS, Aggregator, Counts, Scores
from harness.bfcl.categories import AGGREGATE_ORDER, DISPLAY_ORDER, MULTI_TURN, SHIPPED_COUNTS

OVERALL_WEIGHTS = {"non_live": 10, "live": 10, "hallucination": 10, "multi_turn": 30, "agentic": 40}


def _agg(value: float, total: int, complete: bool) -> dict[str, Any]:
    return {"value": value, "total": total, "complete": complete}


def _category(counts: dict[str, tuple[int, int]], cat: str) -> dict[str, Any]:
    if cat in counts:
        correct, total = counts[cat]
        return _agg(correct / total if total else 0.0, total, True)
    return _agg(0.0, SHIPPED_COUNTS[cat], False)


def _mean(parts: list[dict]) -> dict[str, Any]:
    return _agg(
        sum(p["value"] for p in parts) / len(parts),
        sum(p["total"] for p in parts),
        all(p["complete"] for p in parts),
    )


def _weighted(parts: list[dict]) -> dict[str, Any]:
    total = sum(p["total"] for p in parts)
    value = sum(p["value"] * p["total"] for p in parts) / total if total else 0.0
    return _agg(value, total, all(p["complete"] for p in parts))


def bfcl_summary(counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """Per-category accuracies and BFCL V4 subscores from {category: (correct, total)}.

    Returns {"categories": {cat: {"value", "total", "complete"}}, "subscores":
    {name: {...}}, "overall": {...}}. Unknown categories raise ValueError.
    """
    unknown = sorted(set(counts) - set(SHIPPED_COUNTS))
    if unknown:
        raise ValueError(f"unknown BFCL categories: {', '.join(unknown)}")
    cats = {c: _category(counts, c) for c in SHIPPED_COUNTS}
    simple = _mean([cats["simple_python"], cats["simple_java"], cats["simple_javascript"]])
    non_live = _mean([simple, cats["multiple"], cats["parallel"], cats["parallel_multiple"]])
    live = _weighted([cats[c] for c in ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")])
    hallucination = _mean([cats["irrelevance"], cats["live_irrelevance"]])
    multi_turn = _mean([cats[c] for c in MULTI_TURN])
    web_search = _mean([cats["web_search_base"], cats["web_search_no_snippet"]])
    memory = _mean([cats["memory_kv"], cats["memory_vector"], cats["memory_rec_sum"]])
    agentic = _mean([web_search, memory])
    groups = {"non_live": non_live, "live": live, "hallucination": hallucination, "multi_turn": multi_turn, "agentic": agentic}
    weight_sum = sum(OVERALL_WEIGHTS.values())
    overall = _agg(
        sum(groups[g]["value"] * w / weight_sum for g, w in OVERALL_WEIGHTS.items()),
        sum(g["total"] for g in groups.values()),
        all(g["complete"] for g in groups.values()),
    )
    subscores = {
        "simple": simple,
        "non_live": non_live,
        "live": live,
        "hallucination": hallucination,
        "relevance": cats["live_relevance"],
        "multi_turn": multi_turn,
        "web_search": web_search,
        "memory": memory,
        "agentic": agentic,
    }
    return {"categories": {c: cats[c] for c in SHIPPED_COUNTS if c in counts}, "subscores": subscores, "overall": overall}


def bfcl_scores(counts: Counts) -> Scores:
    """The overall and V4 subscores of the categories BFCL ships, for boards and summaries.

    `complete` is False when a member category was not run: BFCL then counts it
    as 0 in the number and would display N/A; boards show the number, marked.
    """
    out = bfcl_summary({k: v for k, v in counts.items() if k in SHIPPED_COUNTS})
    scores = {"overall": out["overall"], **out["subscores"]}
    return {k: {"value": float(v["value"]), "complete": bool(v["complete"])} for k, v in scores.items()}


AGGREGATORS.register("bfcl", Aggregator(
    "bfcl", "bfcl:", "BFCL V4 scores", bfcl_scores, position=0,
    aggregate_order=AGGREGATE_ORDER, task_order=DISPLAY_ORDER, task_title="BFCL categories"))
