"""Agreement with BFCL's multi-turn evaluation in the fc and toolrl formats, on the perturbed corpus.

The prompting corpus of test_multi_turn_agreement.py (every ground truth, perturbed) is rewritten step by
step into each format, with format-specific noise, and scored by `score_result(..., fmt)` and by the official
path: the evaluator's pre-checks, the handler's own `decode_execute` per step, then `multi_turn_checker`.

- fc-native: steps as BFCL's FC API handlers record them (`[{name: arguments-json}]`), decoded by
  `convert_to_function_call` (the OpenAI FC handler's `decode_execute`);
- fc-text: `<tool_call>` JSON blocks, decoded by BFCL's `QwenFCHandler.decode_execute` (imported; its module
  imports the OpenAI SDK at the top, which is stubbed since only the decoder runs);
- toolrl: `<think>` + the last `<tool_call>` block of JSON lines, decoded by ToolRL's
  `RLLAHandler.decode_execute`, restated below from its source (ToolRL 8cee13e: the file imports the pre-V4
  `bfcl` package and is not installable).
"""

from __future__ import annotations

import ast
import json
import random
import sys
import types
from collections import Counter
from functools import cache

import pytest

from harness.bfcl.multi_turn.scoring import score_result
from tests.bfcl.test_multi_turn_agreement import SLICE_EVERY, _entries, build_corpus, official_checker
from tests.official_bfcl import official

STYLES = ("fc-native", "fc-text", "toolrl")


def _calls_of(step) -> list[tuple[str, dict]] | None:
    """A prompting step `[f(a=1), g()]` as (name, keyword arguments); None for anything else (positional
    arguments are dropped: JSON calls have none, as BFCL's keyword-only decoder drops them)."""
    if not isinstance(step, str):
        return None
    try:
        node = ast.parse(step.strip(), mode="eval").body
        if not isinstance(node, ast.List) or not all(
                isinstance(e, ast.Call) and isinstance(e.func, ast.Name) for e in node.elts):
            return None
        calls = [(e.func.id, {k.arg: ast.literal_eval(k.value) for k in e.keywords}) for e in node.elts]
        json.dumps([a for _, a in calls])
    except (SyntaxError, ValueError, TypeError, RecursionError):
        return None
    return calls


def rewrite(result, style: str, rng: random.Random):
    """One prompting trajectory in `style`, each call step rewritten, chatter kept, noise added at random."""
    if not isinstance(result, list):
        return result
    out = []
    for turn in result:
        steps = []
        for step in turn if isinstance(turn, list) else []:
            calls = _calls_of(step)
            if calls is None:
                steps.append(step)
            elif style == "fc-native":
                steps.append([{n: json.dumps(a)} for n, a in calls])
            elif style == "fc-text":
                blocks = [f"<tool_call>\n{json.dumps({'name': n, 'arguments': a})}\n</tool_call>" for n, a in calls]
                noise = rng.random()
                if noise < 0.05:
                    blocks.append("<tool_call>\n{not json}\n</tool_call>")  # skipped by the handler
                elif noise < 0.08:
                    blocks.insert(0, '<tool_call>\n{"name": "ls"}\n</tool_call>')  # KeyError: step undecodable
                elif noise < 0.10:
                    blocks = [b.replace("<tool_call>\n", "<tool_call>") for b in blocks]  # not strict: no calls
                steps.append("\n".join(blocks))
            else:
                lines = [json.dumps({"name": n, "parameters": a}) for n, a in calls]
                noise = rng.random()
                if noise < 0.05:
                    lines.insert(rng.randrange(len(lines) + 1), '{"name": "None", "parameters": {}}')
                elif noise < 0.10:
                    lines.insert(rng.randrange(len(lines) + 1), "no json here")
                elif noise < 0.12:
                    lines.append('{"name": "cd", "parameters": ["x"]}')  # raises in the handler
                text = "<think> working </think>\n<tool_call>\n" + "\n".join(lines) + "\n</tool_call>"
                if rng.random() < 0.05:
                    text = '<tool_call>\n{"name": "pwd", "parameters": {}}\n</tool_call>\n' + text  # last block wins
                steps.append(text)
        out.append(steps if isinstance(turn, list) else turn)
    return out


@cache
def _qwen_fc():
    import importlib.util

    official()
    if importlib.util.find_spec("openai") is None:  # base_oss_handler imports the SDK at the top; only the decoder runs
        sys.modules["openai"] = types.SimpleNamespace(OpenAI=object)
    from bfcl_eval.model_handler.local_inference.qwen_fc import QwenFCHandler

    return QwenFCHandler


def rlla_decode_execute(result: str) -> list[str]:
    """RLLAHandler.decode_execute and xlam_json_to_python_tool_calls (ToolRL 8cee13e), restated."""
    if "<tool_call>" not in result:
        return []
    tool_calls = []
    for call in result.split("<tool_call>")[-1].split("</tool_call>")[0].strip().split("\n"):
        try:
            tool_calls.append(json.loads(call))
        except Exception:
            continue
    python_format = []
    for tool_call in tool_calls:
        if isinstance(tool_call, dict):
            name = tool_call.get("name", "")
            arguments = tool_call.get("parameters", {})
            if name.strip().lower() == "none":
                continue
            python_format.append(f"{name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})")
    return python_format


def official_decoder(style: str):
    if style == "fc-native":
        from bfcl_eval.model_handler.utils import convert_to_function_call

        return convert_to_function_call
    if style == "fc-text":
        handler = _qwen_fc()
        return lambda raw: handler.decode_execute(handler, raw, has_tool_call_tag=False)
    return rlla_decode_execute


def corpus(style: str) -> list[tuple[str, str, object]]:
    rng = random.Random(f"formats-{style}")
    return [(test_id, label, rewrite(result, style, rng)) for test_id, label, result in build_corpus()]


def _agreement(items, style: str) -> tuple[list, Counter]:
    fmt, decode = style.split("-")[0], official_decoder(style)
    mismatches, outcomes = [], Counter()
    for test_id, label, result in items:
        entry, gt = _entries()[test_id]
        theirs = official_checker(test_id, result, decode)
        v = score_result(entry, gt, result, fmt)
        outcomes[v.error_type or "valid"] += 1
        if theirs != (v.valid, v.error_type):
            mismatches.append((test_id, label, theirs, (v.valid, v.error_type)))
    return mismatches, outcomes


@pytest.mark.parametrize("style", STYLES)
def test_agreement_on_a_slice(style):
    items = corpus(style)[1::2 * SLICE_EVERY]
    mismatches, outcomes = _agreement(items, style)
    assert not mismatches, mismatches[:5]
    for kind in ("valid", "multi_turn:instance_state_mismatch", "multi_turn:execution_response_mismatch",
                 "multi_turn:empty_turn_model_response", "multi_turn:force_terminated"):
        assert outcomes[kind] > 0, outcomes


@pytest.mark.slow
@pytest.mark.parametrize("style", STYLES)
def test_agreement_on_the_full_corpus(style):
    items = corpus(style)
    mismatches, outcomes = _agreement(items, style)
    print(f"\n{style}: {len(items) - len(mismatches)}/{len(items)} agree; {dict(outcomes)}")
    assert not mismatches, mismatches[:5]
