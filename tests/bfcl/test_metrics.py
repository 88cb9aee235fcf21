"""BFCL V4 metrics (subscores and overall), cross-checked against the official leaderboard CSV generator."""

from __future__ import annotations

import csv
import random
import types

import pytest

from harness.bfcl.categories import SHIPPED_COUNTS
from harness.bfcl.metrics import bfcl_summary
from tests.official_bfcl import official

# Our subscore / category -> the column of BFCL's data_overall.csv showing it.
COLUMNS = {
    ("overall", None): "Overall Acc",
    ("subscores", "non_live"): "Non-Live AST Acc",
    ("subscores", "simple"): "Non-Live Simple AST",
    ("categories", "multiple"): "Non-Live Multiple AST",
    ("categories", "parallel"): "Non-Live Parallel AST",
    ("subscores", "live"): "Live Acc",
    ("categories", "live_multiple"): "Live Multiple AST",
    ("subscores", "multi_turn"): "Multi Turn Acc",
    ("subscores", "web_search"): "Web Search Acc",
    ("subscores", "memory"): "Memory Acc",
    ("subscores", "relevance"): "Relevance Detection",
    ("subscores", "hallucination"): "Irrelevance Detection",
}


def official_overall_row(counts: dict[str, tuple[int, int]], tmp_path) -> dict[str, str]:
    official()
    import bfcl_eval.eval_checker.eval_runner_helper as helper

    cfg = types.SimpleNamespace(display_name="m", url="u", org="o", license="l", input_price=None, output_price=None)
    table = {"m": {c: {"accuracy": k / n, "total_count": n} for c, (k, n) in counts.items()}}
    saved = helper.MODEL_CONFIG_MAPPING
    helper.MODEL_CONFIG_MAPPING = {"m": cfg}
    try:
        helper.generate_leaderboard_csv(table, tmp_path)
    finally:
        helper.MODEL_CONFIG_MAPPING = saved
    with (tmp_path / "data_overall.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    return rows[0]


def _lookup(summary: dict, key: tuple[str, str | None]) -> dict:
    section, name = key
    return summary[section] if name is None else summary[section].get(name, {"value": 0.0, "complete": False})


SCENARIOS = {
    "single_turn_only": [c for c in SHIPPED_COUNTS if not c.startswith(("multi_turn", "web_search", "memory"))],
    "everything": list(SHIPPED_COUNTS),
    "non_live_without_java": ["simple_python", "simple_javascript", "multiple", "parallel", "parallel_multiple", "irrelevance"],
    "live_partial": ["live_simple", "live_multiple", "live_irrelevance", "memory_kv", "web_search_base"],
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_matches_official_leaderboard(scenario, tmp_path):
    rng = random.Random(scenario)
    counts = {}
    for cat in SCENARIOS[scenario]:
        total = SHIPPED_COUNTS[cat] if rng.random() < 0.7 else rng.randrange(1, SHIPPED_COUNTS[cat])
        counts[cat] = (rng.randrange(0, total + 1), total)
    ours = bfcl_summary(counts)
    row = official_overall_row(counts, tmp_path)
    for key, column in COLUMNS.items():
        agg = _lookup(ours, key)
        shown = row[column]
        if shown == "N/A":
            assert not agg["complete"], (key, column)
        else:
            assert shown == f"{agg['value'] * 100:.2f}%", (key, column, shown, agg)


def test_weights_and_na_semantics():
    counts = {c: (SHIPPED_COUNTS[c], SHIPPED_COUNTS[c]) for c in SHIPPED_COUNTS if not c.startswith(("multi_turn", "web_search", "memory"))}
    s = bfcl_summary(counts)
    assert s["subscores"]["non_live"] == {"value": 1.0, "total": 1150, "complete": True}
    assert s["subscores"]["hallucination"]["value"] == 1.0
    assert s["subscores"]["multi_turn"] == {"value": 0.0, "total": 800, "complete": False}
    assert s["overall"]["value"] == pytest.approx(0.3) and not s["overall"]["complete"]
    # Simple is the unweighted mean of py/java/js; Live is weighted by entries.
    s = bfcl_summary({"simple_python": (400, 400), "simple_java": (0, 100), "simple_javascript": (0, 50), "live_simple": (258, 258), "live_multiple": (0, 1053)})
    assert s["subscores"]["simple"]["value"] == pytest.approx(1 / 3)
    assert s["subscores"]["live"]["value"] == pytest.approx(258 / (258 + 1053 + 16 + 24))
    with pytest.raises(ValueError):
        bfcl_summary({"nonsense": (1, 1)})


def test_shipped_counts_match_the_data():
    o = official()
    for cat in ("simple_python", "simple_java", "live_multiple", "live_irrelevance", "live_relevance", "multi_turn_base"):
        assert len(o.load_dataset_entry(cat, include_prereq=False, include_language_specific_hint=False)) == SHIPPED_COUNTS[cat]
