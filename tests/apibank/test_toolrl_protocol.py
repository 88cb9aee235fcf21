"""Unit behaviour of the ToolRL/ResT API-Bank protocol: parsing quirks, reasons, strict column, aggregation."""

from __future__ import annotations

import json

import pytest

from harness.apibank.toolrl_protocol import (
    first_block,
    gold_call,
    judge_toolrl,
    parse_toolrl,
    score_strict,
    score_toolrl,
    summarize,
)

GOLD = [{"name": "QueryStock", "parameters": {"stock_code": "AAPL", "date": "2023-03-01"}}]
CALL = json.dumps(GOLD[0])
OTHER = json.dumps({"name": "GetToday", "parameters": {}})


def block(*lines: str, close: bool = True) -> str:
    return "<tool_call>\n" + "\n".join(lines) + ("\n</tool_call>" if close else "")


def test_gold_call_accepts_list_and_bare_dict():
    assert gold_call(GOLD) == GOLD[0] == gold_call(GOLD[0])
    with pytest.raises(ValueError):
        gold_call([])
    with pytest.raises(ValueError):
        gold_call({"name": "X"})


def test_parse_reads_last_block_only_and_any_json_value():
    text = "<think>a</think>" + block(CALL) + "\n" + block("1", OTHER, "not json", "[1]")
    assert parse_toolrl(text) == [1, {"name": "GetToday", "parameters": {}}, [1]]


def test_parse_without_tags_reads_whole_text():
    assert parse_toolrl(CALL + "\nhello") == [GOLD[0]]
    assert score_toolrl(parse_toolrl(CALL), GOLD) == 1


def test_pretty_printed_json_is_lost_as_in_toolrl():
    text = block(json.dumps(GOLD[0], indent=2))
    assert parse_toolrl(text) == []
    v = judge_toolrl(text, GOLD)
    assert not v.valid and v.error_type == "json_error"


def test_soft_match_any_call_and_exact_equality():
    assert score_toolrl([json.loads(OTHER), GOLD[0]], GOLD) == 1
    assert score_toolrl([{"name": "QueryStock", "parameters": {"stock_code": "AAPL", "date": "2023-3-1"}}], GOLD) == 0
    assert score_toolrl([{"name": "querystock", "parameters": GOLD[0]["parameters"]}], GOLD) == 0


def test_params_only_object_is_taken_for_the_gold_tool():
    assert score_toolrl([dict(GOLD[0]["parameters"])], GOLD) == 1
    # "arguments" instead of "parameters": the whole object becomes the parameters, so it fails
    assert score_toolrl([{"name": "QueryStock", "arguments": GOLD[0]["parameters"]}], GOLD) == 0


def test_non_object_call_stops_the_walk():
    assert score_toolrl([GOLD[0], 1], GOLD) == 1
    assert score_toolrl([1, GOLD[0]], GOLD) == 0
    assert score_toolrl([None, GOLD[0]], GOLD) == 0
    v = judge_toolrl(block("1", CALL), GOLD)
    assert v.error_type == "malformed_call" and v.detail["n_calls"] == 2


def test_json_string_call_is_decoded_once_more():
    assert score_toolrl([CALL], GOLD) == 1
    assert score_toolrl(parse_toolrl(block(json.dumps(CALL))), GOLD) == 1


def test_lone_surrogate_loses_all_calls():
    text = block(CALL, json.dumps({"name": "X", "parameters": {"a": "\ud800"}}))
    v = judge_toolrl(text, GOLD)
    assert parse_toolrl(text) == [] and not v.valid and v.error_type == "unstorable_output"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I don't know", "no_tool_call_block"),
        ("<tool_call>\n</tool_call>", "empty_tool_call"),
        (block("{oops"), "json_error"),
        (block(OTHER), "name_mismatch"),
        (block(json.dumps({"name": "QueryStock", "parameters": {"stock_code": "AAPL"}})), "params_key_mismatch"),
        (block(json.dumps({"name": "QueryStock", "parameters": {"stock_code": "MSFT", "date": "2023-03-01"}})),
         "params_value_mismatch"),
        (block(CALL), None),
    ],
)
def test_reasons(text, reason):
    v = judge_toolrl(text, GOLD)
    assert v.error_type == reason
    assert v.valid == (reason is None)
    assert v.errors == ([reason] if reason else [])


def test_first_block_boundaries():
    assert first_block("no tags") is None
    assert first_block("<tool_call>a</tool_call><tool_call>b</tool_call>") == "a"
    assert first_block("<tool_call> a <tool_call>b") == "a"
    assert first_block("x<tool_call>\na\n") == "a"


@pytest.mark.parametrize(
    ("text", "strict", "soft"),
    [
        (block(CALL), 1, 1),
        (block(CALL, close=False), 1, 1),
        (block(CALL) + block(OTHER), 1, 0),  # ToolRL reads the last block
        (block(OTHER) + block(CALL), 0, 1),
        (block(CALL, OTHER), 0, 1),  # two calls: not strict
        (block(json.dumps(GOLD[0]["parameters"])), 0, 1),  # params only: soft leniency only
        (CALL, 0, 1),  # bare JSON: no block
        (block(json.dumps(CALL)), 0, 1),
        (block("garbage", CALL), 1, 1),  # unparsable lines are not calls
    ],
)
def test_strict_column(text, strict, soft):
    assert score_strict(text, GOLD) == strict
    assert score_toolrl(parse_toolrl(text), GOLD) == soft
    v = judge_toolrl(text, GOLD)
    assert v.detail["strict"] == strict and v.detail["score"] == soft
    assert (v.detail["strict_error"] is None) == bool(strict)


def test_summarize_micro_average_matches_published_toolrl_row():
    # Qwen2.5-1.5B GRPO cold start: 282/399, 41/67, 54/131 -> 63.15 overall (apibank.md 3.2)
    rows = [{"level": 1, "score": int(i < 282)} for i in range(399)]
    rows += [{"level": 2, "score": int(i < 41)} for i in range(67)]
    rows += [{"level": 3, "score": int(i < 54)} for i in range(131)]
    s = summarize(rows)
    assert set(s) == {"soft"}
    assert [s["soft"][k]["percent"] for k in ("overall", "L1", "L2", "L3")] == [63.15, 70.68, 61.19, 41.22]
    assert s["soft"]["overall"]["correct"] == 377 and s["soft"]["overall"]["total"] == 597
    assert s["soft"]["overall"]["accuracy"] == 377 / 597
    # not the mean of the levels
    assert s["soft"]["overall"]["percent"] != round((70.68 + 61.19 + 41.22) / 3, 2)


def test_summarize_strict_and_empty_levels():
    rows = [{"level": 1, "score": 1, "strict": 0}, {"level": 3, "score": 0, "strict": 0}]
    s = summarize(rows)
    assert s["strict"]["overall"] == {"correct": 0, "total": 2, "accuracy": 0.0, "percent": 0.0}
    assert s["soft"]["L2"] == {"correct": 0, "total": 0, "accuracy": 0.0, "percent": 0.0}
    assert s["soft"]["overall"]["percent"] == 50.0
    with pytest.raises(ValueError):
        summarize([{"level": 1, "score": 1, "strict": 1}, {"level": 1, "score": 1}])
    with pytest.raises(ValueError):
        summarize([{"level": 4, "score": 1}])
