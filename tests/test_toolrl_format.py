"""ToolRL system prompt (byte-identical to ToolRL's data) and the completion parser."""

from __future__ import annotations

import json
import re

import pandas as pd

from harness.toolrl_format import parse_completion, tags_in_order, toolrl_system_prompt

DATA = "/work/shared/data/toolrl"


def _tools_from_prompt(prompt: str) -> list[dict]:
    """Recover the tool dicts listed in a ToolRL system prompt (to rebuild it)."""
    body = prompt.split("you can use the following tools:\n", 1)[1].split("\n\n**Steps for Each Turn**")[0]
    tools = []
    for item in re.split(r"(?m)^\d+\. Name: ", body)[1:]:
        name, rest = item.split("\nDescription: ", 1)
        desc, params = rest.rsplit("\nParameters: ", 1)
        tools.append({"name": name, "description": desc, "parameters": json.loads(params)})
    return tools


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


def test_parse_tool_call_completion_with_parallel_calls():
    text = (
        "<think> two calls </think>\n<tool_call>\n"
        '{"name": "a", "parameters": {"x": 1}}\n{"name": "b", "parameters": {}}\n</tool_call>'
    )
    p = parse_completion(text)
    assert p.think == "two calls" and p.response is None and p.tags_ok and p.errors == []
    assert p.tool_calls == [{"name": "a", "parameters": {"x": 1}}, {"name": "b", "parameters": {}}]


def test_parse_response_only_and_both():
    p = parse_completion("<think>t</think>\n<response> Hello! </response>")
    assert p.tool_calls is None and p.response == "Hello!" and p.tags_ok
    both = '<think>t</think><tool_call>\n{"name": "a", "parameters": {}}\n</tool_call><response>r</response>'
    q = parse_completion(both)
    assert q.tags_ok and q.response == "r" and q.tool_calls == [{"name": "a", "parameters": {}}]


def test_parse_reports_problems_and_never_raises():
    p = parse_completion('<think>t</think><tool_call>\n{"name": "a", "parameters": {}}\nnot json\n[1]\n{"name": 3}')
    assert p.tool_calls == [{"name": "a", "parameters": {}}, {"name": 3}]
    joined = " | ".join(p.errors)
    assert "not valid JSON" in joined and "not a JSON object" in joined and "not closed" in joined
    assert "missing string 'name'" in joined and "missing object 'parameters'" in joined
    assert not p.tags_ok
    for junk in ["", "<think>", "</tool_call><tool_call>", "<response>", "\x00{", "<tool_call>" * 3]:
        parse_completion(junk)


def test_block_choice():
    text = (
        '<think>t</think><tool_call>\n{"name": "first", "parameters": {}}\n</tool_call>'
        '<tool_call>\n{"name": "second", "parameters": {}}\n</tool_call>'
    )
    assert [c["name"] for c in parse_completion(text).tool_calls] == ["second"]
    assert [c["name"] for c in parse_completion(text, block="first").tool_calls] == ["first"]
    assert [c["name"] for c in parse_completion(text, block="all").tool_calls] == ["first", "second"]
    assert not parse_completion(text).tags_ok  # two tool_call blocks


def test_tags_in_order():
    assert tags_in_order("<think>a</think><response>b</response>")
    assert not tags_in_order("<think>a</think>")  # needs a call or a response
    assert not tags_in_order("<response>b</response><think>a</think>")
    assert not tags_in_order("<think>a</think><response>b</response><tool_call>\n{}\n</tool_call>")
    assert not tags_in_order("<think>a<think></think><response>b</response>")
