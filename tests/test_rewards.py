"""ToolRL/ResT reward: hand-computed cases, and agreement with a plainly written reference on a generated corpus."""

from __future__ import annotations

import json
import random
from collections import Counter

import pandas as pd
import pytest

from harness.toolrl.reward import assistant_text, toolrl_reward
from harness.toolrl.schedule import RewardConfig, reward_ranges
from harness.types import UserError
from tests.data_paths import dataset_dir, needs

DATA = str(dataset_dir("toolrl"))
STATIC = RewardConfig(schedule="none")


# ---------------------------------------------------------------- a plain reference of rlla.py (SCHEDULEREWARD=1)


def ref_match(l1, l2):
    if l1 == l2:
        return 1.0
    if not l1 or not l2:
        return 0.0
    c1, c2 = Counter(l1), Counter(l2)
    inter = sum(min(c1[k], c2[k]) for k in c1.keys() & c2.keys())
    return inter / (len(l1) + len(l2) - inter)


def ref_format(resp, ans, mx, mn):
    r = resp.strip()
    try:
        if "<response>" in ans and "<tool_call>" not in ans:
            if all(t in r for t in ("<think>", "</think>", "<response>", "</response>")):
                a, b, c, d = (r.find(t) for t in ("<think>", "</think>", "<response>", "</response>"))
                if a < b < c < d and r.count("<response>") == 1 and r.count("</response>") == 1:
                    return mx
        elif "<response>" not in ans and "<tool_call>" in ans:
            if (
                all(t in r for t in ("<think>", "</think>", "<tool_call>", "</tool_call>"))
                and "<response>" not in r
                and "</response>" not in r
            ):
                a, b, c, d = (r.find(t) for t in ("<think>", "</think>", "<tool_call>", "</tool_call>"))
                if a < b < c < d and r.count("<tool_call>") == 1 and r.count("</tool_call>") == 1:
                    return mx
        elif "<response>" in ans and "<tool_call>" in ans:
            tags = ("<think>", "</think>", "<tool_call>", "</tool_call>", "<response>", "</response>")
            if all(t in r for t in tags):
                p = [r.find(t) for t in tags]
                if (
                    p[0] < p[1] < p[2] < p[3] < p[4] < p[5]
                    and r.count("<tool_call>") == 1
                    and r.count("</tool_call>") == 1
                    and r.count("<response>") == 1
                    and r.count("</response>") == 1
                ):
                    return mx
        else:
            if "<think>" in r and "</think>" in r and r.count("<think>") == 1 and r.count("</think>") == 1:
                return mx
    except Exception:
        pass
    return mn


def ref_tool_reward(gt, pd_, mx, mn):
    if gt == pd_:
        return mx
    score = ref_match([t["name"] for t in gt], [t["name"] for t in pd_])
    local_max = 1.0
    used = set()
    for g in gt:
        params = g["parameters"]
        local_max += 1.0 + len(params)
        best, best_score, best_i = None, 0.0, -1
        for i, p in enumerate(pd_):
            if i in used or p["name"] != g["name"]:
                continue
            pp = p["parameters"]
            total = ref_match(list(params.keys()), list(pp.keys())) + sum(
                1.0 for k, v in params.items() if k in pp and pp[k] == v
            )
            if total > best_score:
                best, best_score, best_i = p, total, i
        if best:
            used.add(best_i)
            score += best_score
    return (mx - mn) * score / local_max + mn


def ref_correct(resp, ans, mx, mn):
    if "<tool_call>" not in ans:
        return 0.0
    gt = [json.loads(x) for x in ans.split("<tool_call>")[1].split("</tool_call>")[0].strip().split("\n")]
    try:
        assert "<tool_call>" in resp and "</tool_call>" in resp
        pd_ = [json.loads(x) for x in resp.split("<tool_call>")[1].split("</tool_call>")[0].strip().split("\n")]
        return ref_tool_reward(gt, pd_, mx, mn)
    except Exception:
        return mn


def ref_score(solution, gt, step):
    pred = solution.split("<|im_start|>assistant")[-1].split("<|im_end|>")[0].strip()
    fmx = 2 - (2 - 1.0) * step / 150
    fmn = -2 + (2 + 0.0) * step / 150
    fmx, fmn = max(fmx, 1.0), min(fmn, -1.0)
    cmx = (3.0 - 2) * step / 150 + 2
    cmn = (-3.0 + 2) * step / 150 - 2
    cmx, cmn = min(cmx, 3.0), max(cmn, -3.0)
    f = ref_format(pred, gt, fmx, fmn)
    c = ref_correct(pred, gt, cmx, cmn)
    return f, c, f + c


# ---------------------------------------------------------------- corpus


def all_ground_truths() -> list[str]:
    sft = [x["output"] for x in json.load(open(f"{DATA}/rlla_sft.json"))]
    test = [r["ground_truth"] for r in pd.read_parquet(f"{DATA}/rlla_4k_test.parquet").reward_model]
    return sft + test


def ground_truths() -> list[str]:
    """Those whose thought mentions no tag (ToolRL reads tags in the thought too; see harness.toolrl.reward.gt_answer)."""
    tags = ("<tool_call>", "</tool_call>", "<response>", "</response>")
    return [g for g in all_ground_truths() if not any(t in g.split("</think>")[0] for t in tags)]


def _calls(gt: str) -> list[dict] | None:
    if "<tool_call>" not in gt:
        return None
    return [json.loads(x) for x in gt.split("<tool_call>")[1].split("</tool_call>")[0].strip().split("\n")]


def _render(think: str, calls, response: str | None) -> str:
    out = f"<think>{think}</think>\n"
    if calls is not None:
        out += "<tool_call>\n" + "\n".join(c if isinstance(c, str) else json.dumps(c) for c in calls) + "\n</tool_call>"
    if response is not None:
        out += f"\n<response>{response}</response>"
    return out


def mutate(gt: str, rng: random.Random) -> str:
    """A plausible model completion derived from a ground truth (right, partly right, or broken)."""
    calls = _calls(gt)
    resp = gt.split("<response>")[1].split("</response>")[0] if "<response>" in gt else None
    think = " thinking about it "
    kind = rng.randrange(24)
    if calls is not None:
        calls = [json.loads(json.dumps(c)) for c in calls]
        c0 = calls[0]
        params = c0.get("parameters", {})
        keys = list(params)
        if kind == 1 and keys:
            params[keys[0]] = rng.choice([1, "other", None, 2.5, [1], True])
        elif kind == 2 and keys:
            del params[keys[-1]]
        elif kind == 3:
            params["extra"] = "x"
        elif kind == 4 and keys:
            params[keys[0] + "_renamed"] = params.pop(keys[0])
        elif kind == 5:
            c0["name"] = c0["name"] + "X"
        elif kind == 6:
            calls.append({"name": "Other Tool", "parameters": {"q": 1}})
        elif kind == 7:
            calls.append(json.loads(json.dumps(c0)))
        elif kind == 8 and len(calls) > 1:
            calls.pop()
        elif kind == 9:
            calls.reverse()
        elif kind == 10:
            calls = calls + ['{"name": "broken", "parameters": {']
        elif kind == 11:
            calls = calls + [rng.choice(["[1, 2]", '"just a string"', "3", "null"])]
        elif kind == 12:
            calls = [{"name": c0["name"]}]
        elif kind == 13:
            calls = [{"name": c0["name"], "parameters": ["a", "b"]}]
        elif kind == 14:
            calls = [{"name": [c0["name"]], "parameters": params}]
        elif kind == 15:
            calls = [*calls[:1], "", *calls[1:]]
        elif kind == 16 and keys:
            params[keys[0]] = str(params[keys[0]]) + " "
    if kind == 17:
        return gt.replace("<think>", "")
    if kind == 18:
        return gt + "\n<response>extra</response>"
    if kind == 19:
        return "<|im_start|>assistant\n" + gt + "<|im_end|>\n<|endoftext|>"
    if kind == 20:
        return gt.replace("</tool_call>", "")
    if kind == 21:
        return "preamble " + gt + " trailing"
    if kind == 22:
        return _render(think, calls, "sure") if calls is not None else _render(think, [{"name": "x", "parameters": {}}], None)
    if kind == 23:
        return gt + gt  # repeated blocks
    return _render(think, calls, resp)


def corpus(n: int, seed: int = 0) -> list[tuple[str, str, int]]:
    rng = random.Random(seed)
    gts = ground_truths()
    out = []
    for _ in range(n):
        gt = rng.choice(gts)
        out.append((mutate(gt, rng), gt, rng.choice([0, 1, 30, 74, 75, 76, 105, 149, 150, 151, 400])))
    return out


# ---------------------------------------------------------------- tests


@needs("toolrl")
def test_matches_reference_on_generated_corpus():
    rows = corpus(3000)
    kinds = Counter()
    for completion, gt, step in rows:
        got = toolrl_reward(completion, gt, step)
        want = ref_score(completion, gt, step)
        assert (got.format, got.correctness, got.total) == want, (completion, gt, step)
        kinds[(got.format > 0, round(got.correctness, 6))] += 1
    # the corpus must exercise every outcome: both format values, max, min and partial correctness
    fmts = {k[0] for k in kinds}
    corr = [k[1] for k in kinds]
    assert fmts == {True, False}
    assert any(c == 0.0 for c in corr) and len(set(corr)) > 20


def test_hand_computed_partial_credit():
    gt = '<think>x</think>\n<tool_call>\n{"name": "f", "parameters": {"a": 1, "b": "x"}}\n</tool_call>'
    pred = '<think>y</think>\n<tool_call>\n{"name": "f", "parameters": {"a": 1, "b": "y"}}\n</tool_call>'
    # names 1 + (param names 1 + one equal value 1) = 3 of S_max = 1 + (1 + 2) = 4 -> 6*3/4 - 3
    r = toolrl_reward(pred, gt, 0, STATIC)
    assert r.format == 1.0 and r.correctness == pytest.approx(1.5) and r.total == pytest.approx(2.5)
    assert toolrl_reward(gt, gt, 0, STATIC).correctness == 3.0
    # parallel calls, one missing: names 2*1/(2+1-1)... multiset Jaccard {f,g} vs {f} = 1/2
    gt2 = gt.replace("</tool_call>", '{"name": "g", "parameters": {}}\n</tool_call>')
    r2 = toolrl_reward(pred.replace('"y"', '"x"'), gt2, 0, STATIC)
    # score = 0.5 + (1 + 2) for f + 0 for g; S_max = 1 + 3 + 1 = 5
    assert r2.correctness == pytest.approx(6 * 3.5 / 5 - 3)
    # value types are not coerced: "1" != 1
    r3 = toolrl_reward(pred.replace('"a": 1', '"a": "1"'), gt, 0, STATIC)
    assert r3.correctness == pytest.approx(6 * 2 / 4 - 3)


def test_format_is_lenient_but_ordered():
    gt = '<think>x</think>\n<tool_call>\n{"name": "f", "parameters": {}}\n</tool_call>'
    ok = 'noise <think>a</think> <tool_call>\n{"name": "f", "parameters": {}}\n</tool_call> more'
    assert toolrl_reward(ok, gt, 0, STATIC).format == 1.0
    assert toolrl_reward(ok.replace("<think>a</think> ", ""), gt, 0, STATIC).format == 0.0
    assert toolrl_reward(ok + "<response>r</response>", gt, 0, STATIC).format == 0.0  # no response when GT has none
    swapped = '<tool_call>\n{"name": "f", "parameters": {}}\n</tool_call><think>a</think>'
    assert toolrl_reward(swapped, gt, 0, STATIC).format == 0.0
    resp_gt = "<think>x</think>\n<response>hello</response>"
    r = toolrl_reward("<think>a</think><response>hi</response>", resp_gt, 0, STATIC)
    assert (r.format, r.correctness) == (1.0, 0.0)  # answer-only ground truth: correctness is neutral 0
    assert toolrl_reward("<think>a</think>", "plain", 0, STATIC).format == 1.0
    assert toolrl_reward("<think>a</think><think>", "plain", 0, STATIC).format == 0.0


def test_broken_predictions_get_min_correctness():
    gt = '<think>x</think>\n<tool_call>\n{"name": "f", "parameters": {"a": 1}}\n</tool_call>'
    for bad in [
        "<think>a</think> no call",
        '<think>a</think><tool_call>\n{"name": "f", "parameters": {"a": 1}}',  # unclosed
        '<think>a</think><tool_call>\n{"name": "f", "parameters": {"a": 1}\n</tool_call>',  # bad JSON
        '<think>a</think><tool_call>\n{"name": "f", "parameters": {"a": 1}}\n\n{"name": "f", "parameters": {"a": 1}}\n</tool_call>',
        '<think>a</think><tool_call>\n{"name": "f"}\n</tool_call>',  # missing parameters
        '<think>a</think><tool_call>\n["f"]\n</tool_call>',
    ]:
        assert toolrl_reward(bad, gt, 0, STATIC).correctness == -3.0, bad


def test_schedule_endpoints():
    cfg = RewardConfig()
    assert reward_ranges(cfg, 0) == (-2.0, 2.0, -2.0, 2.0)
    assert reward_ranges(cfg, 75)[0] == -1.0  # the format floor reaches -1 halfway
    assert reward_ranges(cfg, 150) == (-1.0, 1.0, -3.0, 3.0)
    assert reward_ranges(cfg, 1000) == (-1.0, 1.0, -3.0, 3.0)
    fmin, fmax, cmin, cmax = reward_ranges(cfg, 105)
    assert fmax == pytest.approx(1.3) and cmax == pytest.approx(2.7) and cmin == pytest.approx(-2.7)
    prog = RewardConfig(schedule="progress")
    assert reward_ranges(prog, 999, progress=0.0) == (-2.0, 2.0, -2.0, 2.0)
    assert reward_ranges(prog, 0, progress=1.0) == reward_ranges(cfg, 150)
    assert reward_ranges(STATIC, 77) == (0.0, 1.0, -3.0, 3.0)
    with pytest.raises(UserError):
        RewardConfig(schedule="linear")


def test_assistant_text_cuts_chat_markers():
    assert assistant_text("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n ans <|im_end|>\n<|endoftext|>") == "ans"
    assert assistant_text("  plain  ") == "plain"


@needs("toolrl")
def test_ground_truth_whose_thought_mentions_the_tag():
    clean = set(ground_truths())
    gts = [g for g in all_ground_truths() if g not in clean]
    assert len(gts) >= 10  # SFT examples whose thought names a tag: ToolRL's parser crashes or misreads
    for gt in gts:
        answer = "<think>ok</think>" + gt.rsplit("</think>", 1)[1]
        r = toolrl_reward(answer, gt, 0, STATIC)
        assert (r.format, r.correctness) == (1.0, 3.0)


def test_bad_ground_truth_is_a_user_error():
    with pytest.raises(UserError):
        toolrl_reward("x", "<tool_call>\nnot json\n</tool_call>", 0)
