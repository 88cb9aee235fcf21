"""BFCL V4 per-category accuracy, subscores and overall, as the official leaderboard computes them.

Pure arithmetic over (correct, total) counts. As in BFCL, a category that was
not evaluated counts as accuracy 0 (with its shipped entry count as weight)
in every aggregate, and any aggregate with such a member is *displayed* N/A:
here `value` is always the number BFCL uses in the overall, and `complete`
says whether it would be displayed.
"""

from __future__ import annotations

from typing import Any

# Entry counts as shipped in bfcl-eval's V4 data: the weight BFCL gives a category that was not run.
SHIPPED_COUNTS: dict[str, int] = {
    "simple_python": 400,
    "simple_java": 100,
    "simple_javascript": 50,
    "multiple": 200,
    "parallel": 200,
    "parallel_multiple": 200,
    "irrelevance": 240,
    "live_simple": 258,
    "live_multiple": 1053,
    "live_parallel": 16,
    "live_parallel_multiple": 24,
    "live_irrelevance": 884,
    "live_relevance": 16,
    "multi_turn_base": 200,
    "multi_turn_miss_func": 200,
    "multi_turn_miss_param": 200,
    "multi_turn_long_context": 200,
    "web_search_base": 100,
    "web_search_no_snippet": 100,
    "memory_kv": 155,
    "memory_vector": 155,
    "memory_rec_sum": 155,
}

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
    multi_turn = _mean([cats[c] for c in SHIPPED_COUNTS if c.startswith("multi_turn_")])
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
