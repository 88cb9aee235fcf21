"""The ToolRL/ResT reward of one completion: a format reward plus a correctness reward (pure functions).

`toolrl_reward` is our implementation of the reward ResT trains with (its
`verl/utils/reward_score/rlla.py`, itself ToolRL's file with a lenient format
check; method.md §2.2-2.4), with ResT's settings as defaults; its ranges at a
step come from `harness.toolrl.schedule`:

- format ∈ {min_f, max_f}: the tags the ground truth uses must be present, in
  order (first occurrences), the tool_call/response tags exactly once; no
  anchors or newline rules. A ground truth with neither tag needs exactly one
  `<think>` and one `</think>`.
- the ground truth's tags and calls are read after its last `</think>` (ToolRL
  reads the whole text and crashes when the thought mentions a tag; on
  ground truths whose thought holds no tag the two agree);
- correctness ∈ [min_c, max_c]: 0 when the ground truth has no `<tool_call>`;
  min_c when the prediction lacks either tool_call tag or a line of its FIRST
  block is not JSON, or when a call lacks the keys the scoring reads
  (ToolRL's bare `except`); max_c on exact equality of the call lists;
  otherwise (max_c-min_c)·score/S_max + min_c with score = multiset Jaccard of
  names + Σ over ground-truth calls of the best unused same-name prediction's
  (Jaccard of parameter names + number of equal values) and
  S_max = 1 + Σ (1 + |params|). Values compare with Python `==`.

The assistant text is cut out of a decoded sequence as ResT does: after the
last assistant header (ChatML or Llama-3), before the first end-of-turn marker,
stripped; a bare completion is just stripped.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from harness.toolrl.format import first_block_lines
from harness.toolrl.schedule import RewardConfig, reward_ranges
from harness.types import UserError

_HEADERS = ("<|im_start|>assistant", "<|start_header_id|>assistant<|end_header_id|>")
_ENDS = ("<|im_end|>", "<|eot_id|>", "<|endoftext|>")


class RewardParts(NamedTuple):
    """The two rewards TRL logs apart, and their sum (ToolRL's reward)."""

    format: float
    correctness: float
    total: float


def assistant_text(text: str) -> str:
    """The assistant turn of a decoded sequence (ResT's `compute_score` cut), stripped."""
    for h in _HEADERS:
        if h in text:
            text = text.rsplit(h, 1)[1]
            break
    for e in _ENDS:
        i = text.find(e)
        if i >= 0:
            text = text[:i]
    return text.strip()


# ---------------------------------------------------------------- format


def gt_answer(ground_truth: str) -> str:
    """The part of a ground truth after its thought. ToolRL looks for tags in the whole ground truth, so a
    thought that mentions `<tool_call>` or `<response>` (17 of the 400 SFT examples) changes what it
    requires or crashes it; we read the tags after the last `</think>`."""
    return ground_truth.rsplit("</think>", 1)[-1]


@functools.lru_cache(maxsize=65536)
def _gt_tags(ground_truth: str) -> tuple[bool, bool]:
    answer = gt_answer(ground_truth)
    return "<tool_call>" in answer, "<response>" in answer


def format_ok(response: str, ground_truth: str) -> bool:
    """ResT's lenient format check of a stripped response against the ground truth's tags."""
    gt_call, gt_resp = _gt_tags(ground_truth)
    r = response
    if gt_call or gt_resp:
        required = ["<think>", "</think>"]
        if gt_call:
            required += ["<tool_call>", "</tool_call>"]
        if gt_resp:
            required += ["<response>", "</response>"]
        pos = [r.find(t) for t in required]
        if min(pos) < 0:
            return False
        if gt_call and not gt_resp and ("<response>" in r or "</response>" in r):
            return False
        if not all(a < b for a, b in zip(pos, pos[1:], strict=False)):
            return False
        once = (["<tool_call>", "</tool_call>"] if gt_call else []) + (["<response>", "</response>"] if gt_resp else [])
        return all(r.count(t) == 1 for t in once)
    return r.count("<think>") == 1 and r.count("</think>") == 1


# ---------------------------------------------------------------- correctness


def match_score(a: Sequence[Any], b: Sequence[Any]) -> float:
    """1 if equal lists; 0 if either is empty; else multiset Jaccard |a∩b| / (|a|+|b|-|a∩b|)."""
    if list(a) == list(b):
        return 1.0
    if not a or not b:
        return 0.0
    ca, cb = Counter(a), Counter(b)
    inter = sum(min(ca[k], cb[k]) for k in ca.keys() & cb.keys())
    denom = len(a) + len(b) - inter
    return inter / denom if denom > 0 else 0.0


@functools.lru_cache(maxsize=65536)
def _gt_calls(ground_truth: str) -> tuple[Any, ...] | None:
    """Ground-truth calls: the first block after the thought (see `gt_answer`)."""
    answer = gt_answer(ground_truth)
    if "<tool_call>" not in answer:
        return None
    calls = []
    for n, line in enumerate(first_block_lines(answer), start=1):
        try:
            calls.append(json.loads(line))
        except ValueError:
            raise UserError(f"ground truth tool_call line {n} is not JSON: {line[:80]!r}") from None
    return tuple(calls)


def tool_call_score(gt: Sequence[Any], pred: Sequence[Any]) -> tuple[float, float]:
    """(score, S_max) of predicted calls against ground-truth calls; raises like ToolRL on malformed calls."""
    s_max = 1.0
    score = match_score([g["name"] for g in gt], [p["name"] for p in pred])
    used: set[int] = set()
    for g in gt:
        g_name, g_params = g["name"], g["parameters"]
        s_max += 1.0 + len(g_params)
        best, best_i = 0.0, -1
        for i, p in enumerate(pred):
            if i in used or p["name"] != g_name:
                continue
            p_params = p["parameters"]
            s = match_score(list(g_params.keys()), list(p_params.keys()))
            s += sum(1.0 for k, v in g_params.items() if k in p_params and p_params[k] == v)
            if s > best:
                best, best_i = s, i
        if best_i >= 0:
            used.add(best_i)
            score += best
    return score, s_max


def correctness(response: str, ground_truth: str, cmin: float, cmax: float) -> float:
    """ToolRL's fine-grained correctness of a stripped response in [cmin, cmax] (see the module doc)."""
    gt = _gt_calls(ground_truth)
    if gt is None:
        return 0.0
    if "<tool_call>" not in response or "</tool_call>" not in response:
        return cmin
    try:
        pred = [json.loads(line) for line in first_block_lines(response)]
    except (ValueError, RecursionError):
        return cmin
    try:
        if list(gt) == pred:
            return cmax
        score, s_max = tool_call_score(gt, pred)
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return cmin
    return (cmax - cmin) * score / s_max + cmin


def toolrl_reward(
    completion: str, ground_truth: str, step: float, cfg: RewardConfig | None = None, *, progress: float | None = None
) -> RewardParts:
    """ToolRL/ResT reward of one completion (raw text; chat markers are cut away) at global step `step`."""
    cfg = cfg or RewardConfig()
    fmin, fmax, cmin, cmax = reward_ranges(cfg, step, progress)
    response = assistant_text(completion)
    f = fmax if format_ok(response, ground_truth) else fmin
    c = correctness(response, ground_truth, cmin, cmax)
    return RewardParts(format=f, correctness=c, total=f + c)
