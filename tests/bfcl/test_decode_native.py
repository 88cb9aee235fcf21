"""JSON return format (vs the official decoder) and native tool-call decoders (vs BFCL handler behaviour)."""

from __future__ import annotations

import json
import random

import pytest

from harness.bfcl import data
from harness.bfcl.decode import (
    DecodeError,
    decode_ast,
    decode_llama_json,
    decode_mistral,
    decode_native_text,
    decode_tool_call_tags,
    decode_tool_calls_field,
    to_calls,
)
from harness.types import Call
from tests.bfcl.test_decode_python import calls_from_answer, compare, perturbations


def json_corpus() -> list[str]:
    rng = random.Random("json")
    texts = []
    for category in ("simple_python", "parallel", "live_multiple"):
        for answer in list(data.load_answers(category).values())[:150]:
            calls = calls_from_answer(answer, rng)
            body = json.dumps([{"function": n, "parameters": a} for n, a in calls])
            texts += [body, f"```json\n{body}\n```", f"Here: {body} done", body.replace(", ", ",\n  "),
                      json.dumps({"function": calls[0][0], "parameters": calls[0][1]}), body.replace('"function"', '"name"', 1)]
            texts += perturbations(body, rng)
    return texts + ["", "[]", "5", "null", "\"s\"", "[1, 2]", "{}", "[{\"function\": [1], \"parameters\": {}}]", "[" * 3000 + "]" * 3000]


def test_json_format_agrees_with_official():
    n, mismatches, divergences = compare(json_corpus(), "json", "JSON")
    assert n > 2000
    assert not mismatches, mismatches[:5]
    assert not divergences


def test_tool_call_tags_like_qwen_fc_handler():
    text = (
        '<think>x</think>\n<tool_call>\n{"name": "spotify.play", "arguments": {"artist": "Taylor Swift", "duration": 20}}\n</tool_call>\n'
        '<tool_call>\n{"name": "g", "arguments": {}}\n</tool_call>'
    )
    assert decode_tool_call_tags(text) == [{"spotify.play": {"artist": "Taylor Swift", "duration": 20}}, {"g": {}}]
    assert decode_tool_call_tags("no calls here") == []
    # blocks whose JSON is broken are skipped, as BFCL does
    assert decode_tool_call_tags('<tool_call>\n{"name": "f", \n</tool_call>\n<tool_call>\n{"name": "g", "arguments": {"a": 1}}\n</tool_call>') == [{"g": {"a": 1}}]
    # BFCL needs the newlines; lenient mode does not, and accepts arguments as a JSON string
    tight = '<tool_call>{"name": "f", "arguments": "{\\"a\\": 1}"}</tool_call>'
    assert decode_tool_call_tags(tight) == []
    assert decode_tool_call_tags(tight, lenient=True) == [{"f": {"a": 1}}]
    for bad in ('<tool_call>\n[1, 2]\n</tool_call>', '<tool_call>\n{"name": "f"}\n</tool_call>', '<tool_call>\n{"name": "f", "arguments": 3}\n</tool_call>'):
        with pytest.raises(DecodeError):
            decode_tool_call_tags(bad)


def test_tool_calls_field():
    field = [
        {"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1, "b": [1, 2]}'}},
        {"type": "function", "function": {"name": "g", "arguments": {"c": "x"}}},
        {"name": "h", "arguments": "{}"},
    ]
    assert decode_tool_calls_field(field) == [{"f": {"a": 1, "b": [1, 2]}}, {"g": {"c": "x"}}, {"h": {}}]
    assert decode_tool_calls_field(None) == [] and decode_tool_calls_field([]) == []
    assert to_calls(decode_tool_calls_field(field[:1])) == [Call("f", {"a": 1, "b": [1, 2]})]
    for bad in ([{"function": {"name": "f", "arguments": "{bad"}}], [{"function": {"arguments": "{}"}}], ["x"], [{"function": {"name": "f", "arguments": "[1]"}}]):
        with pytest.raises(DecodeError):
            decode_tool_calls_field(bad)


def test_llama_json():
    one = '<|python_tag|>{"name": "f", "parameters": {"n": "10"}}'
    assert decode_llama_json(one) == [{"f": {"n": "10"}}]
    semi = '{"name": "f", "parameters": {"n": 1}}; {"name": "g", "parameters": {}}'
    assert decode_llama_json(semi) == [{"f": {"n": 1}}, {"g": {}}]
    listed = '[\n {"name": "f", "parameters": {"k": 5}},\n {"name": "f", "parameters": {"k": 3}}\n]'
    assert decode_llama_json(listed) == [{"f": {"k": 5}}, {"f": {"k": 3}}]
    for bad in ("hello", '{"name": "f"}', "__import__('os').system('true')", "[1]", "9**9**9"):
        with pytest.raises(DecodeError):
            decode_llama_json(bad)


def test_mistral():
    text = '[TOOL_CALLS][{"name": "math.factorial", "arguments": {"number": 5}}, {"name": "g", "arguments": {}}]'
    assert decode_mistral(text) == [{"math.factorial": {"number": 5}}, {"g": {}}]
    assert decode_mistral(text[len("[TOOL_CALLS]") :]) == decode_mistral(text)
    for bad in ("plain text", "[TOOL_CALLS]{}", '[{"name": "f"}]'):
        with pytest.raises(DecodeError):
            decode_mistral(bad)
    assert decode_native_text(text, "mistral") == decode_mistral(text)
    with pytest.raises(DecodeError):
        decode_native_text(text, "nope")


def test_decode_ast_json_examples():
    assert decode_ast('```json\n[{"function":"f","parameters":{"a":1}}]\n```', "json") == [{"f": {"a": 1}}]
    assert decode_ast("not json", "json") == []
