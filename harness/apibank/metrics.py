"""API-Bank's metrics: per-level accuracy and the micro-averaged overall (the ToolRL/ResT convention).

Both protocols report the same shape (levels 1-3, overall = all items
pooled), so one formula serves `apibank:*` (ToolRL protocol) and
`apibank-original:*` (the original evaluator); each registers its own
aggregator here, which run summaries and leaderboards read.
"""

from __future__ import annotations

from harness.aggregation import AGGREGATORS, Aggregator, Counts, Scores

API_BANK_LEVELS = frozenset({"level-1", "level-2", "level-3"})


def micro_scores(counts: Counts) -> Scores:
    """The overall as a micro-average over all items (ToolRL/ResT convention)."""
    c = sum(k for k, _ in counts.values())
    n = sum(t for _, t in counts.values())
    return {"overall": {"value": c / n, "complete": True}} if n else {}


def apibank_scores(counts: Counts) -> Scores:
    """API-Bank's overall, marked incomplete unless all three levels were run.

    The value stays the micro-average of the levels run (there is no official
    "count it 0" rule here); the mark keeps a Level-1-only overall from passing
    for the three-level figure papers report.
    """
    scores = micro_scores(counts)
    if scores:
        scores["overall"]["complete"] = API_BANK_LEVELS <= set(counts)
    return scores


AGGREGATORS.register("apibank", Aggregator(
    "apibank", "apibank:", "API-Bank (ToolRL protocol)", apibank_scores, position=1))
AGGREGATORS.register("apibank-original", Aggregator(
    "apibank-original", "apibank-original:", "API-Bank (original protocol)", apibank_scores, position=2))
