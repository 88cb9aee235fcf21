"""Agreement with BFCL's official multi-turn evaluation on a corpus of perturbed trajectories.

The corpus is built from every ground-truth trajectory (800 entries) and
perturbed: dropped, swapped, duplicated and altered calls, calls moved
between turns, empty turns, wrong turn counts, chatter steps, calls in
held-out turns, raw positional ground truth, one call per step vs all calls
in one step. Each raw trajectory (BFCL `result`: turn -> raw step outputs)
is scored by our `score_result` and by the official path: the evaluator's
own pre-checks (transcribed from `eval_runner._evaluate_single_multi_turn_entry`,
which cannot be imported without vendor SDKs), `default_decode_execute_prompting`
per step, then `multi_turn_checker` with a unique model name per check.
The default run checks a deterministic slice; the full corpus runs under
`-m slow`.
"""

from __future__ import annotations

import ast
import copy
import random
import re
import sys
import time
from collections import Counter
from functools import cache

import pytest

from harness.bfcl.multi_turn import data
from harness.bfcl.multi_turn.env import Environment
from harness.bfcl.multi_turn.executor import keyword_call
from harness.bfcl.multi_turn.scoring import score_result
from tests.official_bfcl import official

SEED = 20260325
SLICE_EVERY = 4  # default run: every 4th trajectory of the corpus
CHATTER = "I have completed the requested operations."


# ------------------------------------------------------------------ corpus


@cache
def _entries() -> dict[str, tuple[dict, list]]:
    out = {}
    for category in data.CATEGORIES:
        answers = data.load_answers(category)
        for entry in data.load_entries(category):
            out[entry["id"]] = (entry, answers[entry["id"]])
    return out


def _keyword_gt(entry: dict, gt: list[list[str]]) -> list[list[str]]:
    env = Environment.for_entry(entry, False)
    return [[keyword_call(c, env) for c in turn] for turn in gt]


def _step(calls: list[str]) -> str:
    return "[" + ", ".join(calls) + "]"


def _all_in_one(turns: list[list[str]]) -> list[list[str]]:
    return [[_step(t)] if t else [CHATTER] for t in turns]


def _one_per_step(turns: list[list[str]]) -> list[list[str]]:
    return [[_step([c]) for c in t] + [CHATTER] if t else [CHATTER] for t in turns]


def _noisy(turns: list[list[str]]) -> list[list[str]]:
    """Chatter, markdown fences and an undecodable step around the calls (the evaluator skips them)."""
    out = []
    for t in turns:
        steps = ["Let me do that.", "```python\n" + _step(t[:1]) + "\n```"] if t else []
        steps += [_step(t[1:])] if len(t) > 1 else []
        out.append(steps + ["[ls(a=True", CHATTER])
    return out


def _alter_value(value, rng: random.Random):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([1, -1, 10])
    if isinstance(value, float):
        return round(value * 1.5 + 1, 2)
    if isinstance(value, str):
        return rng.choice([value + "_x", value.upper() if value != value.upper() else value.lower() + "z", ""])
    if isinstance(value, list):
        return value[:-1] if value else ["x"]
    if isinstance(value, dict):
        return {}
    return "x"


def _alter_call(call: str, methods: list[str], rng: random.Random) -> str:
    node = ast.parse(call, mode="eval").body
    name = node.func.id
    kwargs = [(kw.arg, ast.literal_eval(kw.value)) for kw in node.keywords]
    mode = rng.choice(["value", "value", "name", "drop_arg", "extra_arg", "unknown_fn", "type"])
    if mode == "value" and kwargs:
        i = rng.randrange(len(kwargs))
        kwargs[i] = (kwargs[i][0], _alter_value(kwargs[i][1], rng))
    elif mode == "type" and kwargs:
        i = rng.randrange(len(kwargs))
        kwargs[i] = (kwargs[i][0], str(kwargs[i][1]) if not isinstance(kwargs[i][1], str) else 7)
    elif mode == "name":
        name = rng.choice(methods)
    elif mode == "drop_arg" and kwargs:
        kwargs.pop(rng.randrange(len(kwargs)))
    elif mode == "unknown_fn":
        name = rng.choice(["open_file", "kill", "exit", "system_reset"])
    else:
        kwargs.append(("verbose", True))
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs) + ")"


def _nonempty(turns) -> list[int]:
    return [i for i, t in enumerate(turns) if t]


def _perturb(turns: list[list[str]], kind: str, methods: list[str], rng: random.Random):
    """A perturbed copy of the keyword GT turns (call lists), or None when it does not apply."""
    t = copy.deepcopy(turns)
    ne = _nonempty(t)
    if not ne:
        return None
    i = rng.choice(ne)
    if kind == "drop":
        t[i].pop(rng.randrange(len(t[i])))
    elif kind == "swap":
        if len(t[i]) < 2:
            return None
        a, b = rng.sample(range(len(t[i])), 2)
        t[i][a], t[i][b] = t[i][b], t[i][a]
    elif kind == "duplicate":
        j = rng.randrange(len(t[i]))
        t[i].insert(j, t[i][j])
    elif kind == "alter":
        j = rng.randrange(len(t[i]))
        t[i][j] = _alter_call(t[i][j], methods, rng)
    elif kind == "move":
        j = rng.randrange(len(t[i]))
        target = i + rng.choice([-1, 1])
        if not 0 <= target < len(t):
            return None
        t[target].append(t[i].pop(j))
    elif kind == "empty_turn":
        t[i] = []
    elif kind == "extra_in_empty_gt_turn":
        empty = [k for k, x in enumerate(t) if not x]
        if not empty:
            return None
        t[rng.choice(empty)] = [rng.choice([c for x in t for c in x])]
    elif kind == "reorder_turn":
        rng.shuffle(t[i])
    elif kind == "double":
        for _ in range(2):
            sub = _perturb(t, rng.choice(["drop", "duplicate", "alter", "move"]), methods, rng)
            t = sub if sub is not None else t
    else:
        raise ValueError(kind)
    return t


KINDS = ("drop", "swap", "duplicate", "alter", "move", "empty_turn", "extra_in_empty_gt_turn", "reorder_turn", "double")


def build_corpus() -> list[tuple[str, str, object]]:
    """[(test_id, label, result)]: deterministic, about 7,000 raw trajectories."""
    rng = random.Random(SEED)
    corpus = []
    for test_id, (entry, gt) in _entries().items():
        kw = _keyword_gt(entry, gt)
        methods = sorted(Environment.for_entry(entry, False).methods)
        corpus.append((test_id, "gt_all_in_one", _all_in_one(kw)))
        corpus.append((test_id, "gt_one_per_step", _one_per_step(kw)))
        if kw != gt:
            corpus.append((test_id, "gt_positional_raw", _all_in_one(gt)))
        for kind in rng.sample(KINDS, 5):
            turns = _perturb(kw, kind, methods, rng)
            if turns is None:
                continue
            layout = rng.choice([_all_in_one, _one_per_step, _noisy])
            corpus.append((test_id, f"{kind}/{layout.__name__}", layout(turns)))
        if rng.random() < 0.05:
            corpus.append((test_id, "not_a_list", "[" + _step(kw[0]) + "]"))
        turn_count = rng.choice(["drop_last", "add_turn", "empty_steps"])
        if turn_count == "drop_last":
            corpus.append((test_id, "fewer_turns", _all_in_one(kw)[:-1]))
        elif turn_count == "add_turn":
            corpus.append((test_id, "more_turns", _all_in_one(kw) + [[CHATTER]]))
        else:
            corpus.append((test_id, "all_turns_no_steps", [[] for _ in kw]))
    return corpus


# ------------------------------------------------------------------ official reference


_counter = iter(range(10**9))


def official_verdict(test_id: str, result) -> tuple[bool, str | None]:
    """BFCL's evaluator on one result: its pre-checks, its prompting decoder, its checker (fresh model name)."""
    return official_checker(test_id, result, lambda item: official().decode_execute(item, has_tool_call_tag=False))


def official_checker(test_id: str, result, decode) -> tuple[bool, str | None]:
    """The evaluator's pre-checks, `decode` (a handler's decode_execute) per step, then `multi_turn_checker`."""
    o = official()
    entry, gt = _entries()[test_id]
    if type(result) is not list:
        return False, "multi_turn:inference_error"
    if len(result) != len(gt):
        return False, "multi_turn:force_terminated"
    decoded = []
    for turn in result:
        steps = []
        for item in turn:
            try:
                calls = decode(item)
            except Exception:
                continue
            if len(calls) == 0 or (len(calls) == 1 and len(calls[0]) == 0):
                continue
            steps.append(calls)
        decoded.append(steps)
    name = f"agree_{next(_counter)}"
    category = test_id.rsplit("_", 1)[0]
    try:
        out = o.multi_turn_checker(decoded, gt, copy.deepcopy(entry), category, name)
    finally:
        _forget_official_instances(name)
    return bool(out["valid"]), out.get("error_type")


def _forget_official_instances(model_name: str) -> None:
    """Drop the instances BFCL cached in its module globals for this model name (memory only)."""
    module = sys.modules["bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils"]
    prefix = re.sub(r"[-./:]", "_", model_name)
    for key in [k for k in vars(module) if k.startswith(prefix)]:
        del vars(module)[key]


def ours(test_id: str, result) -> tuple[bool, str | None]:
    entry, gt = _entries()[test_id]
    v = score_result(entry, gt, result)
    return v.valid, v.error_type


def _agreement(items) -> tuple[list, Counter]:
    mismatches, outcomes = [], Counter()
    for test_id, label, result in items:
        theirs, mine = official_verdict(test_id, result), ours(test_id, result)
        outcomes[mine[1] or "valid"] += 1
        if theirs != mine:
            mismatches.append((test_id, label, theirs, mine))
    return mismatches, outcomes


# ------------------------------------------------------------------ tests


def test_corpus_is_large_and_varied():
    corpus = build_corpus()
    assert len(corpus) >= 3000
    labels = Counter(label.split("/")[0] for _, label, _ in corpus)
    for kind in KINDS + ("gt_all_in_one", "gt_one_per_step", "gt_positional_raw", "fewer_turns", "more_turns"):
        assert labels[kind] >= 50, (kind, labels[kind])
    layouts = Counter(label.split("/")[-1] for _, label, _ in corpus if "/" in label)
    assert set(layouts) == {"_all_in_one", "_one_per_step", "_noisy"}
    assert labels["not_a_list"] > 0


def test_agreement_on_a_slice():
    corpus = build_corpus()[::SLICE_EVERY]
    mismatches, outcomes = _agreement(corpus)
    assert not mismatches, mismatches[:5]
    # The slice exercises passes and every failure type the checker and evaluator produce.
    for kind in ("valid", "multi_turn:instance_state_mismatch", "multi_turn:execution_response_mismatch",
                 "multi_turn:empty_turn_model_response", "multi_turn:force_terminated", "multi_turn:inference_error"):
        assert outcomes[kind] > 0, outcomes


@pytest.mark.slow
def test_agreement_on_the_full_corpus():
    corpus = build_corpus()
    t0 = time.perf_counter()
    mismatches, outcomes = _agreement(corpus)
    elapsed = time.perf_counter() - t0
    print(f"\nmulti-turn agreement: {len(corpus) - len(mismatches)}/{len(corpus)} in {elapsed:.1f}s; {dict(outcomes)}")
    assert not mismatches, mismatches[:5]
