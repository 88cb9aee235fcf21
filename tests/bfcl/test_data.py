"""BFCL data loading agrees with bfcl_eval's own loaders, entry for entry."""

from __future__ import annotations

import pytest

from harness.bfcl import categories, data
from harness.types import UserError
from tests.official_bfcl import official


@pytest.mark.parametrize("category", list(categories.CATEGORIES))
def test_entries_match_official_loader(category):
    o = official()
    ours_gen = data.load_entries(category, language_hint=True)
    assert ours_gen == o.load_dataset_entry(category)
    ours_eval = data.load_entries(category, language_hint=False)
    assert ours_eval == o.load_dataset_entry(category, include_prereq=False, include_language_specific_hint=False)
    assert len(ours_eval) == categories.SHIPPED_COUNTS[category]


@pytest.mark.parametrize("category", list(categories.CATEGORIES))
def test_answers_match_official_loader(category):
    answers = data.load_answers(category)
    if category in categories.RELEVANCE_CATEGORIES:
        assert answers == {}
        return
    official_gt = {e["id"]: e["ground_truth"] for e in official().load_ground_truth_entry(category)}
    assert answers == official_gt
    assert list(answers) == [e["id"] for e in data.load_entries(category, language_hint=False)]


def test_group_totals():
    assert sum(categories.SHIPPED_COUNTS[c] for c in categories.NON_LIVE) == 1390
    assert sum(categories.SHIPPED_COUNTS[c] for c in categories.LIVE) == 2251
    assert categories.GROUPS["single_turn"] == categories.NON_LIVE + categories.LIVE
    assert list(categories.CATEGORIES)[:3] == ["simple_python", "simple_java", "simple_javascript"]


def test_results_are_copies():
    first = data.load_entries("simple_python", language_hint=False)
    first[0]["function"][0]["name"] = "mutated"
    first[0]["question"].clear()
    again = data.load_entries("simple_python", language_hint=False)
    assert again[0]["function"][0]["name"] == "calculate_triangle_area"
    assert again[0]["question"]
    answers = data.load_answers("simple_python")
    answers["simple_python_0"].clear()
    assert data.load_answers("simple_python")["simple_python_0"]


def test_hint_changes_only_generation_docs():
    raw = data.load_entries("simple_java", language_hint=False)[0]["function"][0]
    hinted = data.load_entries("simple_java", language_hint=True)[0]["function"][0]
    assert hinted["description"].endswith("Note that the provided function is in Java 8 SDK syntax.")
    assert all(p["type"] == "string" for p in hinted["parameters"]["properties"].values())
    assert any(p["type"] != "string" for p in raw["parameters"]["properties"].values())


@pytest.mark.parametrize(
    ("test_id", "category"),
    [
        ("live_simple_0-0-0", "live_simple"),
        ("simple_python_12", "simple_python"),
        ("live_parallel_multiple_3-2-1", "live_parallel_multiple"),
        ("multi_turn_base_3", "multi_turn_base"),
        ("multi_turn_miss_func_199", "multi_turn_miss_func"),
        ("irrelevance_0", "irrelevance"),
        ("format_sensitivity_0:ret_fmt=python:live_simple_23-5-1", "format_sensitivity"),
    ],
)
def test_category_of(test_id, category):
    assert data.category_of(test_id) == category


def test_category_of_every_shipped_id():
    for category in categories.CATEGORIES:
        for entry in data.load_entries(category, language_hint=False):
            assert data.category_of(entry["id"]) == category


def test_language_of():
    assert categories.language_of("simple_java") == "java"
    assert categories.language_of("simple_javascript") == "javascript"
    assert categories.language_of("live_simple") == "python"
    assert categories.language_of("multiple") == "python"


def test_unknown_category_is_user_error():
    with pytest.raises(UserError):
        data.load_entries("simple_cobol", language_hint=True)
    with pytest.raises(UserError):
        data.load_answers("nope")
    with pytest.raises(UserError):
        data.category_of("nounderscore")
