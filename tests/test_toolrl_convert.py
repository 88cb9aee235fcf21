"""API-Bank and BFCL items rendered as ToolRL rows (held-out checks): prompts, ground truths, literal answers."""

from __future__ import annotations

import json

import pytest

from harness.toolrl.convert import USER_HEADER, apibank_to_rlla, bfcl_to_rlla
from harness.types import UserError
from tests.data_paths import dataset_dir, needs

APIBANK = dataset_dir("apibank")
needs_shared = needs("toolrl", "apibank")


def gt_calls(gt: str) -> list[dict]:
    block = gt.split("<tool_call>\n", 1)[1].split("\n</tool_call>", 1)[0]
    return [json.loads(line) for line in block.splitlines()]


@needs_shared
def test_apibank_converter_levels():
    for level in (1, 2, 3):
        items = json.loads((APIBANK / "toolrl_processed" / f"level-{level}-api_processed.json").read_text())
        row = apibank_to_rlla(items[0])
        assert row["prompt"][0]["content"] == items[0]["system"] and row["prompt"][1]["content"] == items[0]["user"]
        calls = gt_calls(row["ground_truth"])
        assert len(calls) == 1 and set(calls[0]) == {"name", "parameters"}
        assert calls[0]["name"] in items[0]["system"]


def test_apibank_literal_answer_is_parsed_not_executed():
    item = {"system": "S", "user": "U", "answer": "{'name': 'F', 'parameters': {'a': '1'}}"}
    assert gt_calls(apibank_to_rlla(item)["ground_truth"]) == [{"name": "F", "parameters": {"a": "1"}}]
    with pytest.raises(UserError):
        apibank_to_rlla({**item, "answer": "__import__('os').getcwd()"})


def test_bfcl_converter_first_acceptable_value():
    entry = {
        "id": "simple_0",
        "question": [[{"role": "user", "content": "Area of a triangle with base 10 and height 5?"}]],
        "function": [{"name": "calc_area", "description": "Area.", "parameters": {
            "type": "dict", "properties": {"base": {"type": "integer"}, "height": {"type": "integer"}, "unit": {"type": "string"}},
            "required": ["base", "height"]}}],
    }
    answer = {"id": "simple_0", "ground_truth": [{"calc_area": {"base": [10], "height": [5], "unit": ["", "units"]}}]}
    row = bfcl_to_rlla(entry, answer)
    sys_prompt, user = row["prompt"][0]["content"], row["prompt"][1]["content"]
    assert "1. Name: calc_area" in sys_prompt and '"base": {"type": "integer"}' in sys_prompt
    assert user.startswith(USER_HEADER) and "<user> Area of a triangle" in user
    assert gt_calls(row["ground_truth"]) == [{"name": "calc_area", "parameters": {"base": 10, "height": 5, "unit": "units"}}]
    answer["ground_truth"][0]["calc_area"]["unit"] = [""]
    assert gt_calls(bfcl_to_rlla(entry, answer)["ground_truth"])[0]["parameters"] == {"base": 10, "height": 5}
