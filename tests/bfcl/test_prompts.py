"""Prompts and FC tools are exactly what BFCL builds, for every single-turn entry."""

from __future__ import annotations

import copy

import pytest

from harness.bfcl import categories, data
from harness.bfcl.fc_tools import to_tools, tool_name_map
from harness.bfcl.prompts import build_messages
from harness.bfcl.tasks import BfclTask
from harness.tasks import expand, get
from harness.types import UserError
from tests.official_bfcl import official


@pytest.mark.parametrize("category", list(categories.CATEGORIES))
def test_prompts_byte_identical_to_official(category):
    o = official()
    official_entries = o.load_dataset_entry(category)
    ours = data.load_entries(category, language_hint=True)
    assert len(ours) == len(official_entries)
    for entry, ref in zip(ours, official_entries, strict=True):
        expected = o.system_prompt(copy.deepcopy(ref["question"][0]), ref["function"], ref["id"])
        got = build_messages(entry)
        assert [m["role"] for m in got] == [m["role"] for m in expected], entry["id"]
        for a, b in zip(got, expected, strict=True):
            assert a["content"].encode() == b["content"].encode(), entry["id"]
        assert got == expected


def test_build_messages_does_not_mutate_entry():
    entry = data.load_entries("live_simple", language_hint=True)[0]
    before = copy.deepcopy(entry)
    build_messages(entry)
    assert entry == before


def _official_convert():
    official()  # installs the model-config stub before bfcl_eval's handler utils are imported
    from bfcl_eval.constants.enums import ModelStyle
    from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI
    from bfcl_eval.model_handler.utils import convert_to_tool

    return convert_to_tool, GORILLA_TO_OPENAPI, ModelStyle


@pytest.mark.parametrize("category", list(categories.CATEGORIES))
def test_fc_tools_match_official_convert_to_tool(category):
    convert_to_tool, mapping, style = _official_convert()
    for hint in (True, False):
        for entry in data.load_entries(category, language_hint=hint):
            before = copy.deepcopy(entry["function"])
            assert to_tools(entry["function"], "openai") == convert_to_tool(
                entry["function"], mapping, style.OPENAI_COMPLETIONS
            ), entry["id"]
            assert to_tools(entry["function"], "oss") == convert_to_tool(entry["function"], mapping, style.OSSMODEL)
            assert entry["function"] == before


def test_fc_tools_keep_dots_when_asked():
    docs = [{"name": "math.gcd", "description": "d", "parameters": {"type": "dict", "properties": {"x": {"type": "float", "description": "n"}}}}]
    renamed = to_tools(docs)[0]["function"]
    kept = to_tools(docs, rename_dots=False)[0]["function"]
    assert renamed["name"] == "math_gcd" and kept["name"] == "math.gcd"
    assert kept["parameters"]["properties"]["x"] == {"type": "number", "description": "n This is a float type value.", "format": "float"}
    assert tool_name_map(docs) == {"math_gcd": "math.gcd"}
    with pytest.raises(ValueError):
        to_tools(docs, "anthropic")


def test_tasks_registered_with_groups():
    names = expand("bfcl:single_turn")
    assert names == [f"bfcl:{c}" for c in categories.CATEGORIES]
    assert expand("bfcl:non_live") == [f"bfcl:{c}" for c in categories.NON_LIVE]
    assert expand("bfcl:live") == [f"bfcl:{c}" for c in categories.LIVE]


def test_task_samples_and_prompts():
    task = get("bfcl:live_simple")
    samples = task.samples()
    assert len(samples) == 258
    s = samples[0]
    assert s.meta == {"category": "live_simple", "language": "python"}
    assert s.ground_truth == data.load_answers("live_simple")[s.id]
    entry = data.load_entries("live_simple", language_hint=True)[0]
    assert task.prompt(s, "prompting").messages == build_messages(entry)
    fc = task.prompt(s, "fc")
    assert fc.messages == entry["question"][0]
    assert fc.tools == to_tools(entry["function"], "openai", rename_dots=False)
    # prompting again gives the same text: nothing was mutated in the sample
    assert task.prompt(s, "prompting").messages == build_messages(entry)
    with pytest.raises(UserError):
        task.prompt(s, "xml")


def test_relevance_samples_have_no_ground_truth():
    assert all(s.ground_truth is None for s in BfclTask("live_irrelevance").samples())


def test_toolrl_prompt_lists_hinted_tools():
    task = BfclTask("simple_python")
    s = task.samples()[0]
    try:
        p = task.prompt(s, "toolrl")
    except UserError as exc:
        pytest.skip(f"toolrl format not available: {exc}")
    assert [m["role"] for m in p.messages] == ["system", "user"]
    assert "1. Name: calculate_triangle_area" in p.messages[0]["content"]
    assert "Note that the provided function is in Python 3 syntax." in p.messages[0]["content"]
    assert p.messages[1]["content"].startswith("**Dialogue Records History**\n<user> Find the area")


def test_task_score_delegates_to_checker():
    task = BfclTask("simple_python")
    s = task.samples()[0]
    good = task.score(s, "[calculate_triangle_area(base=10, height=5)]", "prompting")
    assert good.verdict.valid
    assert good.decoded == [{"calculate_triangle_area": {"base": 10, "height": 5}}]
    bad = task.score(s, "[calculate_triangle_area(base=11, height=5)]", "prompting")
    assert not bad.verdict.valid
    undecodable = task.score(s, "I cannot help", "prompting")
    assert not undecodable.verdict.valid and undecodable.decoded is None
