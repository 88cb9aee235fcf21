"""`rest train --resume`: 2 steps, stop, resume to 4 equals 4 uninterrupted steps (fp32, fixed seed)."""

from __future__ import annotations

import json

import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file
from transformers import TrainerCallback

from harness.types import UserError
from trainer.config import load_config
from trainer.metrics import read_metrics
from trainer.run import resume_checkpoint, truncate_metrics

GT = '<think> look it up </think>\n<tool_call>\n{"name": "get_weather", "parameters": {"city": "Paris"}}\n</tool_call>'
SYS = "Tools: get_weather(city). Answer with <think>...</think> then <tool_call> JSON lines </tool_call>."


class StopAt(TrainerCallback):
    """Simulates an interruption right after the checkpoint of `step` is written."""

    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True


def rows() -> Dataset:
    return Dataset.from_list([{"prompt": [{"role": "system", "content": SYS}, {"role": "user", "content": f"City {i}?"}],
                               "ground_truth": GT} for i in range(8)])


def run(tiny_model_dir, out, *, resume: bool = False, stop_at: int | None = None):
    from trainer.models import load_tokenizer
    from trainer.run import train

    def reward(prompts, completions, **kwargs):  # varies within groups, depends on the sampled text
        return [float(sum(map(ord, str(c))) % 7) for c in completions]

    cfg = load_config("rest", [f"model={tiny_model_dir}", f"output_dir={out}", "grpo.max_steps=4", "grpo.save_steps=2",
                               "grpo.use_cpu=true", "grpo.bf16=false", "grpo.per_device_train_batch_size=4",
                               "grpo.num_generations=2", "grpo.max_completion_length=8", "grpo.learning_rate=1e-3",
                               "grpo.seed=7", "weights.zero_other=false"])
    cbs = [StopAt(stop_at)] if stop_at else []
    return train(cfg, resume=resume, tokenizer=load_tokenizer(str(tiny_model_dir)), train_dataset=rows(),
                 reward_funcs=[reward], callbacks=cbs, log=lambda *_: None)


def test_resume_equals_uninterrupted(tiny_model_dir, tmp_path):
    full = run(tiny_model_dir, tmp_path / "full")
    run(tiny_model_dir, tmp_path / "cut", stop_at=2)
    cut_metrics = read_metrics(tmp_path / "cut" / "metrics.jsonl")
    assert max(r["step"] for r in cut_metrics) == 2
    state2 = json.loads((tmp_path / "cut" / "checkpoint-2" / "rest_state.json").read_text())
    assert state2["clock"]["rollouts"] == 2 and state2["entropy_tracker"]["smoothed"]
    resumed = run(tiny_model_dir, tmp_path / "cut", resume=True)
    assert (resumed.state.global_step, resumed.clock.rollouts) == (4, full.clock.rollouts) == (4, 4)
    a = read_metrics(tmp_path / "full" / "metrics.jsonl")
    b = read_metrics(tmp_path / "cut" / "metrics.jsonl")
    steps = lambda recs: [r["step"] for r in recs if "loss" in r]  # noqa: E731
    assert steps(a) == steps(b) == [1, 2, 3, 4]  # no gap, no repeat
    for key in ("loss", "reward", "rest/rollout", "rest/progress", "rest/weight/args", "rest/weight/format"):
        va = [r[key] for r in a if "loss" in r]
        vb = [r[key] for r in b if "loss" in r]
        assert va == pytest.approx(vb, rel=1e-4, abs=1e-6), key
    wa = load_file(str(tmp_path / "full" / "model.safetensors"))
    wb = load_file(str(tmp_path / "cut" / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-6)
    # and the run really trained: the weights moved from the start
    w0 = load_file(str(tiny_model_dir / "model.safetensors"))
    assert any(not torch.equal(w0[k], wa[k]) for k in wa)


def test_resume_errors_are_one_line(tmp_path):
    with pytest.raises(UserError, match="no checkpoint-N folder"):
        resume_checkpoint(tmp_path)
    (tmp_path / "checkpoint-3").mkdir()
    (tmp_path / "checkpoint-3" / "model.safetensors").write_bytes(b"")
    with pytest.raises(UserError, match="save_only_model=true"):
        resume_checkpoint(tmp_path)


def test_truncate_metrics_drops_later_lines_and_torn_tail(tmp_path):
    p = tmp_path / "metrics.jsonl"
    p.write_text('{"step": 1, "loss": 1}\n{"step": 2}\n{"step": 3}\n{"step": 4, "lo')
    assert truncate_metrics(p, 2) == 2
    assert [r["step"] for r in read_metrics(p)] == [1, 2]
