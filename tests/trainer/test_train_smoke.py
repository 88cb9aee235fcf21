"""End-to-end training: a tiny random model for 2 steps (fast), and `rest train --config cpu-smoke` (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import Dataset

from trainer.config import load_config
from trainer.metrics import read_metrics
from trainer.regions import Region
from trainer.weights import region_weights

REPO = Path(__file__).resolve().parents[2]
GT = '<think> look it up </think>\n<tool_call>\n{"name": "get_weather", "parameters": {"city": "Paris"}}\n</tool_call>'


def tiny_rows(n: int = 4) -> Dataset:
    sys_msg = "Tools: get_weather(city). Answer with <think>...</think> then <tool_call> JSON lines </tool_call>."
    return Dataset.from_list([
        {"prompt": [{"role": "system", "content": sys_msg}, {"role": "user", "content": f"Weather in city {i}?"}],
         "ground_truth": GT} for i in range(n)
    ])


def run_tiny(tiny_model_dir, tmp_path, preset: str, *overrides: str):
    from trainer.models import load_model, load_tokenizer
    from trainer.run import train

    cfg = load_config(preset, [
        f"model={tiny_model_dir}", f"output_dir={tmp_path / 'run'}", "grpo.max_steps=2", "grpo.save_steps=2",
        "grpo.use_cpu=true", "grpo.bf16=false", "grpo.per_device_train_batch_size=4", "grpo.num_generations=2",
        "grpo.max_completion_length=8", "grpo.learning_rate=1e-4", *overrides,
    ])
    tok = load_tokenizer(str(tiny_model_dir))
    trainer = train(cfg, model=load_model(str(tiny_model_dir)), tokenizer=tok, train_dataset=tiny_rows())
    return cfg, trainer, read_metrics(tmp_path / "run" / "metrics.jsonl")


def weight(rec, region: Region) -> float:
    return rec[f"rest/weight/{region.name.lower()}"]


def test_rest_two_steps_weights_move_as_configured(tiny_model_dir, tmp_path):
    cfg, trainer, recs = run_tiny(tiny_model_dir, tmp_path, "rest", "weights.zero_other=false", "weights.alpha_args=1.0")
    steps = [r for r in recs if "rest/progress" in r]
    assert [r["step"] for r in steps] == [1, 2]
    for r in steps:  # the logged region weights are exactly the schedule at the logged progress and entropies
        ent = {int(reg): r[f"rest/entropy_smoothed/{reg.name.lower()}"] for reg in Region
               if f"rest/entropy_smoothed/{reg.name.lower()}" in r}
        expected = region_weights(cfg.weights, r["rest/progress"], int(r["rest/rollout"]), region_entropy=ent or None)
        assert {reg: weight(r, reg) for reg in Region} == pytest.approx({reg: expected[int(reg)] for reg in Region})
        assert 0.999 <= sum(r[f"rest/share/{reg.name.lower()}"] for reg in Region) <= 1.001
        assert r["rest/weighted_token_frac"] == pytest.approx(1.0)  # zero_other=false: every valid token is weighted
        for key in ("loss", "reward", "rewards/toolrl_format/mean", "rewards/toolrl_correctness/mean",
                    "reward/frac_groups_with_variance", "entropy", "rest/unlabelled_frac", "reward/format_max",
                    "reward/format_min", "reward/correct_max", "reward/correct_min"):
            assert key in r, key
    # one rollout per optimizer step here: the clock reads 1, 2 and progress = rollout / planned rollouts
    assert [r["rest/rollout"] for r in steps] == [1, 2] and [r["rest/progress"] for r in steps] == [0.5, 1.0]
    assert [r["reward/format_max"] for r in steps] == pytest.approx([2 - 1 / 150, 2 - 2 / 150])  # ToolRL: p = rollout/150
    assert [weight(steps[0], reg) for reg in Region] != [weight(steps[1], reg) for reg in Region]
    # entropy mode: the first rollout has no measurement yet, the second uses the loss pass's region entropies
    assert not any(k.startswith("rest/entropy_smoothed/") for k in steps[0])
    assert any(k.startswith("rest/entropy_smoothed/") for k in steps[1])
    assert any(k.startswith("rest/entropy/") for k in steps[0])
    out = tmp_path / "run"
    assert (out / "config.yaml").is_file() and load_config(out / "config.yaml").weights == cfg.weights
    assert load_config(out / "config.yaml").data.train in ("toolrl:rl", "toolrl:sft")  # `auto` recorded as resolved
    ckpt = out / "checkpoint-2"
    assert (ckpt / "model.safetensors").is_file() and (ckpt / "tokenizer.json").is_file() and (ckpt / "config.json").is_file()
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()


def test_code_mode_step_schedule_and_wandb_offline(tiny_model_dir, tmp_path, monkeypatch):
    for var, value in (("WANDB_DIR", str(tmp_path / "wb")), ("WANDB_MODE", "offline"), ("WANDB_PROJECT", "rest-test")):
        monkeypatch.setenv(var, value)  # restored after the test (wandb_report_to sets them otherwise)
    (tmp_path / "wb").mkdir()
    _, _, recs = run_tiny(tiny_model_dir, tmp_path, "rest-code", "weights.step_increase=0.1",
                          "wandb.enabled=true", "wandb.mode=offline")
    assert list((tmp_path / "wb" / "wandb").glob("offline-run-*")), "no offline W&B run written"
    steps = [r for r in recs if "rest/progress" in r]
    assert [weight(r, Region.ARGS) for r in steps] == pytest.approx([0.7, 0.8])  # 0.6 + 0.1 x rollout (1-based)
    assert [weight(r, Region.THINK) for r in steps] == pytest.approx([0.7, 0.8])
    assert [weight(r, Region.NAME) for r in steps] == [1.2, 1.2]
    assert [weight(r, Region.OTHER) for r in steps] == [0.0, 0.0]


@pytest.mark.slow
def test_cli_cpu_smoke_end_to_end(tmp_path):
    """`rest train --config trainer/configs/cpu-smoke.yaml`: the embedded SmolLM2, real ToolRL data, checkpoint loads."""
    out = tmp_path / "smoke"
    env = dict(os.environ, HF_HUB_OFFLINE="1", WANDB_MODE="offline")
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "train", "--config", "trainer/configs/cpu-smoke.yaml",
                           "--output-dir", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cfg = load_config(out / "config.yaml")
    recs = [r for r in read_metrics(out / "metrics.jsonl") if "rest/progress" in r]
    assert len(recs) == cfg.grpo.max_steps
    # the clock counts rollouts; the logged weights are the schedule at that clock (the entropy-derived bases
    # of rollout 2 may already sit beyond the curriculum's bounds, so the direction alone is not asserted)
    assert [r["rest/rollout"] for r in recs] == [1, 2] and [r["rest/progress"] for r in recs] == [0.5, 1.0]
    for r in recs:
        ent = {int(reg): r[f"rest/entropy_smoothed/{reg.name.lower()}"] for reg in Region
               if f"rest/entropy_smoothed/{reg.name.lower()}" in r}
        expected = region_weights(cfg.weights, r["rest/progress"], int(r["rest/rollout"]), region_entropy=ent or None)
        assert {reg: weight(r, reg) for reg in Region} == pytest.approx({reg: expected[int(reg)] for reg in Region})
    ckpt = out / f"checkpoint-{cfg.grpo.max_steps}"
    from transformers import AutoModelForCausalLM, AutoTokenizer

    AutoTokenizer.from_pretrained(ckpt)
    assert AutoModelForCausalLM.from_pretrained(ckpt).num_parameters() > 100_000_000


def test_every_checkpoint_is_scored_by_the_harness(tiny_model_dir, tmp_path):
    """`eval.on_save` wires the checkpoint-eval callback: checkpoint-2 gets eval/summary.json and an eval/ metric."""
    import json

    cfg, trainer, metrics = run_tiny(tiny_model_dir, tmp_path, "grpo", "eval.on_save=true",
                                     "eval.tasks=bfcl:simple_python", "eval.limit=1", "eval.max_new_tokens=4")
    summary = json.loads((tmp_path / "run" / "checkpoint-2" / "eval" / "summary.json").read_text())
    assert summary["tasks"]["bfcl:simple_python"]["total"] == 1
    evals = [m for m in metrics if "eval/bfcl:simple_python" in m]
    assert evals and evals[0]["step"] == 2
