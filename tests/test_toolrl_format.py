"""ToolRL system prompt (byte-identical to ToolRL's data) and the completion parser."""

from __future__ import annotations

import json
import re

import pandas as pd

from harness.toolrl.format import first_block_lines, last_block, parse_lines, toolrl_system_prompt
from tests.data_paths import dataset_dir, needs

DATA = str(dataset_dir("toolrl"))


def _tools_from_prompt(prompt: str) -> list[dict]:
    """Recover the tool dicts listed in a ToolRL system prompt (to rebuild it)."""
    body = prompt.split("you can use the following tools:\n", 1)[1].split("\n\n**Steps for Each Turn**")[0]
    tools = []
    for item in re.split(r"(?m)^\d+\. Name: ", body)[1:]:
        name, rest = item.split("\nDescription: ", 1)
        desc, params = rest.rsplit("\nParameters: ", 1)
        tools.append({"name": name, "description": desc, "parameters": json.loads(params)})
    return tools


@needs("toolrl")
def test_system_prompt_is_byte_identical_to_toolrl_data():
    prompts = [x["instruction"] for x in json.load(open(f"{DATA}/rlla_sft.json"))]
    prompts += [p[0]["content"] for p in pd.read_parquet(f"{DATA}/rlla_4k_test.parquet").prompt]
    assert len(prompts) == 480
    for p in prompts:
        tools = _tools_from_prompt(p)
        assert tools
        assert toolrl_system_prompt(tools) == p


def test_json_schema_tools_list_their_properties():
    tool = {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "dict", "properties": {"city": {"type": "string", "description": "µ"}}, "required": ["city"]},
    }
    p = toolrl_system_prompt([tool, {"name": "noop", "description": "Nothing.", "parameters": {}}])
    assert '1. Name: get_weather\nDescription: Weather for a city.\nParameters: {"city": {"type": "string", "description": "\\u00b5"}}\n' in p
    assert "2. Name: noop\nDescription: Nothing.\nParameters: {}\n\n**Steps for Each Turn**" in p


def test_block_rules_last_block_drops_bad_lines_first_block_is_raw():
    text = ('<think>t</think><tool_call>\n{"name": "first", "parameters": {}}\n</tool_call>'
            '<tool_call>\n{"name": "second", "parameters": {"x": 1}}\nnot json\n\n[1]\n</tool_call>')
    assert parse_lines(last_block(text)) == [{"name": "second", "parameters": {"x": 1}}, [1]]
    assert first_block_lines(text) == ['{"name": "first", "parameters": {}}']
    assert last_block("no tags at all ") == "no tags at all"  # generate.py parses the whole text then
    assert last_block('<tool_call>\n{"a": 1}') == '{"a": 1}'  # unclosed: to the end


def test_bfcl_toolrl_decoding_uses_the_same_block_rules():
    from harness.bfcl.scoring import decode_toolrl

    text = ('<tool_call>\n{"name": "old", "parameters": {}}\n</tool_call>\n<tool_call>\n'
            '{"name": "f", "parameters": {"a": 1}}\n{"name": "None", "parameters": {}}\n{"name": 3}\nbad\n</tool_call>')
    assert decode_toolrl(text) == [{"f": {"a": 1}}]
    assert decode_toolrl('{"name": "f", "parameters": {}}') == []  # BFCL's handler needs the tag
