"""The rewards as TRL reward functions: ToolRL's reward split in two logged parts, scheduled on the rollout clock.

TRL calls each reward function as `f(prompts, completions, **columns) -> list[float]`
and logs each one apart (`rewards/toolrl_format`, `rewards/toolrl_correctness`);
the maths is `harness.toolrl.reward`, so evaluation and training share one copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.toolrl.reward import RewardParts, toolrl_reward
from harness.toolrl.schedule import RewardConfig
from harness.types import UserError


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
