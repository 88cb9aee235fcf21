"""Rewards for GRPO/ResT training: ToolRL's fine-grained reward and a BFCL-AST reward (pure functions).

`toolrl_reward` is our implementation of the reward ResT trains with (its
`verl/utils/reward_score/rlla.py`, itself ToolRL's file with a lenient format
check; method.md §2.2-2.4), with ResT's settings as defaults:

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
- ranges: base format [0, 1], correctness [-3, 3]; `schedule="toolrl"` is
  ToolRL's SCHEDULEREWARD (ResT's "dynamic reward"): with p = step/horizon
  (horizon hard-coded 150 there), max_f = max(1, 2 - (2-max)·p),
  min_f = min(-1, -2 + (2+min)·p), max_c = min(3, 2 + (max-2)·p),
  min_c = max(-3, -2 + (min+2)·p). `schedule="progress"` uses p = training
  progress ν instead (the same shape over the whole run); `"none"` keeps the
  base ranges.

The assistant text is cut out of a decoded sequence as ResT does: after the
last assistant header (ChatML or Llama-3), before the first end-of-turn marker,
stripped; a bare completion is just stripped.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from harness.toolrl_format import first_block_lines
from harness.types import UserError

SCHEDULES = ("toolrl", "progress", "none")
_HEADERS = ("<|im_start|>assistant", "<|start_header_id|>assistant<|end_header_id|>")
_ENDS = ("<|im_end|>", "<|eot_id|>", "<|endoftext|>")


@dataclass
class RewardConfig:
    """ToolRL reward ranges and their schedule; defaults are ResT's (`SCHEDULEREWARD=1`)."""

    format_max: float = 1.0
    format_min: float = 0.0
    correct_max: float = 3.0
    correct_min: float = -3.0
    schedule: str = "toolrl"  # "toolrl" (p = step/horizon), "progress" (p = nu), "none"
    horizon: float = 150.0  # ToolRL's hard-coded step horizon

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise UserError(f"reward.schedule {self.schedule!r}: expected one of {', '.join(SCHEDULES)}")
        if not self.horizon > 0:
            raise UserError(f"reward.horizon must be > 0, got {self.horizon}")
        if self.format_min > self.format_max or self.correct_min > self.correct_max:
            raise UserError("reward: a *_min is above its *_max")


class RewardParts(NamedTuple):
    format: float
    correctness: float
    total: float


def reward_ranges(cfg: RewardConfig, step: float, progress: float | None = None) -> tuple[float, float, float, float]:
    """(format_min, format_max, correct_min, correct_max) at this step (see the module doc)."""
    return _ranges(
        cfg.format_min, cfg.format_max, cfg.correct_min, cfg.correct_max, cfg.schedule, cfg.horizon, step, progress
    )


@functools.lru_cache(maxsize=4096)
def _ranges(fmin, fmax, cmin, cmax, schedule, horizon, step, progress) -> tuple[float, float, float, float]:
    if schedule == "none":
        return fmin, fmax, cmin, cmax
    if schedule == "toolrl":

        def scaled(x: float) -> float:  # same operation order as ToolRL, so floats match bit for bit
            return x * step / horizon

    else:
        nu = 0.0 if progress is None else min(1.0, max(0.0, float(progress)))

        def scaled(x: float) -> float:
            return x * nu

    fmax = max(1.0, 2 - scaled(2 - fmax))
    fmin = min(-1.0, -2 + scaled(2 + fmin))
    cmax = min(3.0, scaled(cmax - 2) + 2)
    cmin = max(-3.0, scaled(cmin + 2) - 2)
    return fmin, fmax, cmin, cmax


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


# ---------------------------------------------------------------- BFCL


def bfcl_ast_reward(
    completion: str,
    *,
    category: str,
    functions: Any,
    possible_answer: Any,
    fmt: str = "toolrl",
    partial: bool = True,
) -> float:
    """BFCL AST reward: 1 when the harness checker accepts the output, else its partial credit in [0, 0.99]
    (per-parameter accuracy of the expected calls), or 0 when `partial` is off.

    Delegates to `harness.bfcl.scoring.score_output` so there is one copy of the checking logic;
    `fmt` is the output format ("toolrl", "prompting" or "fc").
    """
    from harness.bfcl.checker import partial_credit
    from harness.bfcl.scoring import score_output

    verdict = score_output(
        category=category, functions=functions, possible_answer=possible_answer, text=completion, fmt=fmt
    )
    if verdict.valid:
        return 1.0
    return float(partial_credit(verdict)) if partial else 0.0


# ---------------------------------------------------------------- TRL adapters


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a string, or a conversation (assistant contents joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence):
        return "".join(
            str(m.get("content") or "")
            for m in completion
            if isinstance(m, Mapping) and m.get("role", "assistant") == "assistant"
        )
    return str(completion)


def trainer_step_progress(trainer_state: Any) -> tuple[int, float | None]:
    """(step, progress) from TRL's `TrainerState`: step = global_step + 1 (1-based, like verl), ν = step/max_steps."""
    if trainer_state is None:
        return 0, None
    gs = int(getattr(trainer_state, "global_step", 0) or 0)
    max_steps = int(getattr(trainer_state, "max_steps", 0) or 0)
    progress = min(1.0, gs / max_steps) if max_steps > 0 else None
    return gs + 1, progress


def make_trl_reward_funcs(
    cfg: RewardConfig | None = None,
    tokenizer: Any = None,
    clock: Callable[[], tuple[int, float | None]] | None = None,
) -> list[Callable[..., list[float]]]:
    """Two TRL reward functions, `toolrl_format` and `toolrl_correctness` (TRL logs each; their sum is ToolRL's).

    Each is `f(prompts, completions, ground_truth, **kwargs) -> list[float]`. The step and progress
    come from `clock()` when given (the trainer's rollout clock, trainer/clock.py: ToolRL's step is one
    rollout batch), else from `kwargs["trainer_state"]` (optimizer steps). TRL decodes completions with `skip_special_tokens=True`, which deletes
    tags that a tokenizer marks special; pass `tokenizer` and the functions re-decode `completion_ids`
    with special tokens kept. `ground_truth` may also arrive as the rlla `reward_model` column.
    """
    cfg = cfg or RewardConfig()
    last: dict[str, Any] = {}

    def _parts(prompts, completions, ground_truth=None, **kwargs) -> list[RewardParts]:
        if ground_truth is None:
            rm = kwargs.get("reward_model")
            if rm is None:
                raise UserError("reward needs a `ground_truth` (or rlla `reward_model`) column in the dataset")
            ground_truth = [r["ground_truth"] for r in rm]
        step, progress = clock() if clock is not None else trainer_step_progress(kwargs.get("trainer_state"))
        ids = kwargs.get("completion_ids")
        if tokenizer is not None and ids is not None:
            texts = tokenizer.batch_decode(
                [i.tolist() if hasattr(i, "tolist") else list(i) for i in ids], skip_special_tokens=False
            )
        else:
            texts = [completion_text(c) for c in completions]
        key = (step, progress, tuple(texts), tuple(ground_truth))
        if last.get("key") != key:  # TRL calls both functions on the same batch: score it once
            parts = [toolrl_reward(t, g, step, cfg, progress=progress) for t, g in zip(texts, ground_truth, strict=True)]
            last.update(key=key, parts=parts)
        return last["parts"]

    def toolrl_format(prompts, completions, ground_truth=None, **kwargs) -> list[float]:
        return [p.format for p in _parts(prompts, completions, ground_truth, **kwargs)]

    def toolrl_correctness(prompts, completions, ground_truth=None, **kwargs) -> list[float]:
        return [p.correctness for p in _parts(prompts, completions, ground_truth, **kwargs)]

    return [toolrl_format, toolrl_correctness]
