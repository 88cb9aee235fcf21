"""BFCL's categories: names, groups, the relevance set, the language rule, shipped sizes and display order.

One home for what BFCL says about its categories, so the data reader, the
checker, the tasks, the V4 metrics and the boards agree by construction.
Plain data and one pure rule; nothing here reads files.
"""

from __future__ import annotations

# Entries per category as shipped in bfcl-eval 2026.3.23 (V4), in BFCL's order. Tests check the
# files against them; the V4 metrics weight a category that was not run by its shipped size.
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

MULTI_TURN = tuple(c for c in SHIPPED_COUNTS if c.startswith("multi_turn_"))
AGENTIC = tuple(c for c in SHIPPED_COUNTS if c.startswith(("web_search_", "memory_")))  # no harness tasks

# Single-turn scoring categories in BFCL's order, with their group.
CATEGORIES: dict[str, str] = {c: "live" if c.startswith("live_") else "non_live"
                              for c in SHIPPED_COUNTS if c not in MULTI_TURN + AGENTIC}
NON_LIVE = tuple(c for c, g in CATEGORIES.items() if g == "non_live")
LIVE = tuple(c for c, g in CATEGORIES.items() if g == "live")
GROUPS: dict[str, tuple[str, ...]] = {"non_live": NON_LIVE, "live": LIVE, "single_turn": NON_LIVE + LIVE}

# Categories scored by "is there a call?" rather than against possible answers.
RELEVANCE_CATEGORIES = ("irrelevance", "live_irrelevance", "live_relevance")

# Board order: categories as BFCL lists them; aggregates headline groups first, then their parts.
DISPLAY_ORDER = (*CATEGORIES, *MULTI_TURN)
AGGREGATE_ORDER = ("overall", "non_live", "live", "hallucination", "multi_turn", "agentic", "simple", "relevance",
                   "web_search", "memory")


def language_of(category: str) -> str:
    """"java", "javascript" or "python": the argument language of a category, by BFCL's substring rule."""
    if "javascript" in category:
        return "javascript"
    if "java" in category:
        return "java"
    return "python"
