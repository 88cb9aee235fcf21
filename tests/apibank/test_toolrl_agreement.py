"""Our ToolRL/ResT API-Bank scorer must agree 100% with ToolRL's own parse + score.

The reference below restates ToolRL's benchmarks/API-Bank/generate.py (parsing,
result.json round trip) and evaluate.py (SOFT MATCH) plainly, keeping their
code structure line for line, so that a reviewer can hold it against the
upstream scripts (commit 8cee13ec). The corpus is generated from the 597 gold
answers: rendered, then perturbed in every way we could think of, plus random
mixtures.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.apibank import data
from harness.apibank.toolrl_protocol import judge_toolrl, parse_toolrl, score_toolrl
from tests.data_paths import needs

# ---------------------------------------------------------------- reference (ToolRL semantics)


def reference_generate(raw_text):
    """generate.py, from `assistant_output = ...strip()` to the result.json write and reload."""
    assistant_output = raw_text.strip()
    all_tool_calls = []
    tool_calls = assistant_output.split("<tool_call>")[-1].split("</tool_call>")[0].strip()
    tool_calls = tool_calls.strip().split("\n")
    for tool_call in tool_calls:
        if tool_call.strip() == "":
            continue
        try:
            tool_call = json.loads(tool_call)
            all_tool_calls.append(tool_call)
        except Exception:
            pass
    record = {"raw_output": assistant_output, "tool_calls": all_tool_calls}
    try:  # json.dump(results, f, indent=4, ensure_ascii=False) into a UTF-8 file
        stored = json.dumps(record, indent=4, ensure_ascii=False).encode("utf-8")
    except Exception:  # their except branch records the item with no tool calls
        record = {"raw_output": assistant_output, "tool_calls": []}
        stored = json.dumps(record, indent=4, ensure_ascii=False).encode("utf-8")
    return json.loads(stored.decode("utf-8"))["tool_calls"]  # evaluate.py: json.load(result.json)


def reference_evaluate(tool_calls, answer):
    """evaluate.py, SOFT MATCH block."""
    if type(answer) == list:  # noqa: E721
        answer = answer[0]
    answer_name = answer["name"]
    answer_parameters = answer["parameters"]
    score = 0
    if True:
        try:
            for tool_call in tool_calls:
                if type(tool_call) == str:  # noqa: E721
                    tool_call = json.loads(tool_call)
                predict = tool_call
                if "name" not in predict or "parameters" not in predict:
                    name = answer_name
                    parameters = predict
                else:
                    name = predict["name"]
                    parameters = predict["parameters"]
                if name == answer_name and parameters == answer_parameters:
                    score += 1
                    break
        except Exception:
            pass
    return score


# ---------------------------------------------------------------- corpus


@pytest.fixture(scope="module")
def golds():
    items = data.load_all(data.data_dir())
    assert len(items) == 597
    return [it["answer_raw"] for it in items.values()]


def _gold(raw):
    return raw[0] if isinstance(raw, list) else raw


def _block(*lines, close=True):
    return "<tool_call>\n" + "\n".join(lines) + ("\n</tool_call>" if close else "")


def _wrap(body, rng):
    think = rng.choice(["", "<think>I should call the tool.</think>\n", "<think>\nplan: use <tool_call> then answer\n</think>\n"])
    tail = rng.choice(["", "\n<response>Done.</response>", "\n<obs>{}</obs>", "  \n\n"])
    return rng.choice(["", " ", "\n\t"]) + think + body + tail


def _perturb_value(params, rng):
    if not params:
        return {"extra": "1"}
    p = dict(params)
    k = rng.choice(sorted(p))
    v = p[k]
    p[k] = rng.choice(
        [
            v + " ",
            v.upper() if v.upper() != v else v + "x",
            "",
            int(v) if v.strip().lstrip("-").isdigit() else 7,
            float(v) if v.replace(".", "", 1).isdigit() else 1.5,
            True,
            None,
            [v],
            {"value": v},
        ]
    )
    return p


def _perturb_keys(params, rng):
    p = dict(params)
    choice = rng.randrange(4)
    if choice == 0 and p:
        k = rng.choice(sorted(p))
        p[k.upper() if k.upper() != k else k + "_"] = p.pop(k)
    elif choice == 1 and p:
        p.pop(rng.choice(sorted(p)))
    elif choice == 2:
        p["unexpected"] = "value"
    else:
        p = dict(reversed(list(p.items())))  # order must not matter
    return p


def _variants(raw, other, rng):
    """(text) cases for one gold answer; `other` is another item's gold call."""
    g = _gold(raw)
    name, params = g["name"], g["parameters"]
    call = {"name": name, "parameters": params}
    ok = json.dumps(call)
    wrong_name = json.dumps({"name": name.lower() if name.lower() != name else name + "X", "parameters": params})
    bad_val = json.dumps({"name": name, "parameters": _perturb_value(params, rng)})
    bad_keys = json.dumps({"name": name, "parameters": _perturb_keys(params, rng)})
    other_call = json.dumps(_gold(other))
    pretty = json.dumps(call, indent=rng.choice([1, 2, 4]))
    junk = ["1", "null", "true", '"text"', "[1, 2]", '["name", "parameters"]', '"name parameters"', "{", "}", "NaN", "-Infinity", '{"a": NaN}']
    out = [
        _wrap(_block(ok), rng),
        _wrap(_block(ok, close=False), rng),
        _wrap(_block(wrong_name), rng),
        _wrap(_block(bad_val), rng),
        _wrap(_block(bad_keys), rng),
        _wrap(_block(other_call, ok), rng),
        _wrap(_block(ok, other_call), rng),
        _wrap(_block(bad_val, wrong_name, ok), rng),
        _wrap(_block(ok) + "\n" + _block(other_call), rng),  # right call in the first block only
        _wrap(_block(other_call) + "\n" + _block(ok), rng),
        _wrap(_block(other_call, close=False) + "\n" + _block(ok, close=False), rng),
        _wrap(_block(ok, close=False) + "\n<tool_call>", rng),
        _wrap(ok, rng),  # bare JSON
        "Sure! " + ok,  # bare JSON after prose on the same line
        ok + "\n" + other_call,
        _wrap(_block(json.dumps(params)), rng),  # params-only dict
        _wrap(_block(json.dumps({"name": name, **params})), rng),  # flat dict, no "parameters" key
        _wrap(_block(json.dumps({"name": name, "arguments": params})), rng),
        _wrap(_block(json.dumps({"parameters": params})), rng),
        _wrap(_block(pretty), rng),  # pretty-printed: every line fails
        _wrap(_block(json.dumps(call, ensure_ascii=True), json.dumps(call, ensure_ascii=False)), rng),
        _wrap(_block(json.dumps(json.dumps(call))), rng),  # call encoded as a JSON string
        _wrap(_block(json.dumps(json.dumps(json.dumps(call)))), rng),
        _wrap(_block(rng.choice(junk), ok), rng),  # non-object before the right call
        _wrap(_block(ok, rng.choice(junk)), rng),
        _wrap(_block(json.dumps([call])), rng),  # list of calls on one line
        _wrap(_block(ok + " " + ok), rng),  # two objects on one line
        _wrap(_block(ok.replace(", ", ",\r\n")), rng),
        _wrap(_block(ok).replace("\n", "\r\n"), rng),
        _wrap(_block("   " + ok + "\t", "", "   "), rng),
        _wrap(_block("\u00a0" + ok), rng),  # non-JSON whitespace
        # only "\n" separates lines: other line breaks leave one unparsable line
        _wrap(_block(ok + rng.choice(["\r", "\u2028", "\x85", "\x0c", "\x1c", "\v"]) + other_call), rng),
        _wrap(_block(other_call + rng.choice(["\r", "\u2028", "\x85"]) + ok), rng),
        _wrap("</tool_call>" + ok + "<tool_call>", rng),
        _wrap("<tool_call></tool_call>", rng),
        _wrap("<tool_call>" + ok + "</tool_call>", rng),  # same line as the tags
        _wrap("<tool_call>\n" + ok + "</tool_call>junk</tool_call>", rng),
        _wrap("<TOOL_CALL>\n" + ok + "\n</TOOL_CALL>", rng),
        _wrap(_block(ok[:-1] + ', "name": "Other"}'), rng),  # duplicate key: the last one wins
        _wrap(_block(ok[:-1] + ', "parameters": {}}'), rng),
        _wrap(_block(json.dumps({"name": name, "parameters": params, "extra": 1})), rng),
        _wrap(_block(json.dumps({"name": name, "parameters": {k: "\ud800" for k in params} or {"x": "\ud800"}}), ok), rng),
        _wrap(_block(ok, json.dumps({"name": name, "parameters": {"x": "\udfff"}})), rng),
        _wrap(_block(json.dumps({"name": name, "parameters": {k: v.encode().decode() for k, v in params.items()}})), rng),
        "",
        "   ",
        "I cannot help with that.",
    ]
    if params:  # ints vs strings, one value at a time
        k = sorted(params)[0]
        for alt in (params[k], int(params[k]) if params[k].isdigit() else 0, [params[k]]):
            out.append(_wrap(_block(json.dumps({"name": name, "parameters": {**params, k: alt}})), rng))
    if "name" in params:  # gold has a parameter called "name": a flat dict can match via the leniency
        out.append(_wrap(_block(json.dumps(params)), rng))
        out.append(_wrap(_block(json.dumps({**params, "parameters": "x"})), rng))
    return out


def _random_mixture(raws, rng):
    """A random sequence of tags, prose and call lines drawn from several items."""
    raw = rng.choice(raws)
    g = _gold(raw)
    pool = [
        json.dumps(g),
        json.dumps(_gold(rng.choice(raws))),
        json.dumps(g["parameters"]),
        json.dumps({"name": g["name"], "parameters": _perturb_value(g["parameters"], rng)}),
        json.dumps({"name": g["name"], "parameters": _perturb_keys(g["parameters"], rng)}),
        json.dumps(json.dumps(g)),
        json.dumps(g, indent=2),
        "1",
        "null",
        '"x"',
        "[]",
        "{}",
        "not json",
        "",
    ]
    pieces = []
    for _ in range(rng.randrange(1, 8)):
        pieces.append(rng.choice(["<tool_call>", "</tool_call>", "<think>", "</think>", "\n", " ", "text"] + pool))
    sep = rng.choice(["\n", "", " ", "\n\n", "\r\n"])
    return raw, sep.join(pieces)


def _agree(text, raw):
    ref_calls = reference_generate(text)
    ours = parse_toolrl(text)
    # json text: NaN != NaN, so compare serialised forms
    assert json.dumps(ours, ensure_ascii=False) == json.dumps(ref_calls, ensure_ascii=False), text
    ref = reference_evaluate(ref_calls, raw)
    assert score_toolrl(ours, raw) == ref, text
    verdict = judge_toolrl(text, raw)
    assert verdict.valid == bool(ref) and verdict.detail["score"] == ref, text
    assert (verdict.error_type is None) == bool(ref), (text, verdict.error_type)
    return ref, verdict.error_type


@needs("apibank")
def test_agreement_on_perturbed_gold_corpus(golds):
    rng = random.Random(20250610)
    n = 0
    scores = {0: 0, 1: 0}
    reasons: dict[str, int] = {}
    for i, raw in enumerate(golds):
        for text in _variants(raw, golds[(i * 7 + 3) % len(golds)], rng):
            ref, reason = _agree(text, raw)
            scores[ref] += 1
            reasons[reason] = reasons.get(reason, 0) + 1
            n += 1
    for _ in range(6000):
        raw, text = _random_mixture(golds, rng)
        ref, reason = _agree(text, raw)
        scores[ref] += 1
        reasons[reason] = reasons.get(reason, 0) + 1
        n += 1
    assert n > 30000
    # the corpus exercises both outcomes and every failure class
    assert scores[1] > 5000 and scores[0] > 10000, scores
    for reason in ("no_tool_call_block", "empty_tool_call", "json_error", "unstorable_output", "malformed_call",
                   "name_mismatch", "params_key_mismatch", "params_value_mismatch"):
        assert reasons.get(reason, 0) > 0, (reason, reasons)


_FRAGMENTS = st.sampled_from(
    ["<tool_call>", "</tool_call>", "\n", " ", "{", "}", '"name"', '"parameters"', ":", ",", '"GetToday"', "{}",
     '{"name": "GetToday", "parameters": {}}', '{"date": "2023-03-01"}', '"\\ud800"', "1", "null", "[", "]", '"', "\\"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=14).map("".join), st.sampled_from([{}, {"date": "2023-03-01"}]))
def test_agreement_on_random_fragments(text, params):
    _agree(text, [{"name": "GetToday", "parameters": params}])
