"""Mixed precision keeps fp32 master weights: at lr 1e-6 bf16 training moves as many weights as fp32 does.

The defect this guards against: loading the weights in bf16 and letting AdamW update them there
rounds away every update smaller than half a bf16 ulp of the weight, so at ResT's lr 1e-6 almost
nothing moves (measured on the embedded model: 0.33% of elements after 2 SFT steps, 99.4% in fp32).
"""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file

from harness.types import UserError
from trainer.config import load_config
from trainer.models import device_precision, resolve_precision, weight_change_share
from trainer.sft_config import load_sft_config

GT = '<think> look it up </think>\n<tool_call>\n{"name": "get_weather", "parameters": {"city": "Paris"}}\n</tool_call>'
SYS = "Tools: get_weather(city). Answer with <think>...</think> then <tool_call> JSON lines </tool_call>."

cpu_bf16 = pytest.mark.skipif(not device_precision(True, False, True).bf16,
                              reason="this CPU has no bf16 support (AVX512-BF16/AMX): bf16 autocast cannot be compared")


def test_resolve_precision_decisions():
    cpu = dict(cuda=False, cuda_bf16=False)
    p = resolve_precision(True, False, False, cpu_bf16=True, **cpu)
    assert (p.bf16, p.weights_dtype, p.use_cpu) == (True, "float32", True) and "autocast" in p.note
    p = resolve_precision(True, False, False, cpu_bf16=False, **cpu)  # asked for, not supported: fp32, said so
    assert (p.bf16, p.weights_dtype) == (False, "float32") and "no bf16 support" in p.note
    p = resolve_precision("auto", True, False, cuda=True, cuda_bf16=True, cpu_bf16=False)
    assert (p.bf16, p.weights_dtype, p.use_cpu) == (True, "bfloat16", False)
    assert resolve_precision(False, False, False, cuda=True, cuda_bf16=True, cpu_bf16=True).bf16 is False
    with pytest.raises(UserError, match="no bf16 support"):
        resolve_precision(True, True, False, cpu_bf16=False, **cpu)


def _initial(model_dir) -> dict[str, torch.Tensor]:
    return load_file(str(model_dir / "model.safetensors"))


def _share(before: dict[str, torch.Tensor], out_dir) -> tuple[float, torch.dtype]:
    after = load_file(str(out_dir / "model.safetensors"))
    dtype = next(iter(after.values())).dtype
    return weight_change_share({k: v.to(dtype) for k, v in before.items()}, after), dtype


def _sft_share(tiny_model_dir, tmp_path, name: str, *overrides: str) -> tuple[float, torch.dtype]:
    from trainer.models import load_tokenizer
    from trainer.run import train_sft
    from trainer.sft_data import to_sft_dataset

    rows = [{"prompt": [{"role": "system", "content": SYS}, {"role": "user", "content": f"Weather in city {i}?"}],
             "ground_truth": GT} for i in range(4)]
    cfg = load_sft_config("sft", [f"model={tiny_model_dir}", f"output_dir={tmp_path / name}", "sft.use_cpu=true",
                                  "sft.per_device_train_batch_size=2", "sft.gradient_accumulation_steps=1",
                                  "sft.max_steps=2", "sft.learning_rate=1e-6", "sft.warmup_steps=0",
                                  "sft.max_length=256", *overrides])
    train_sft(cfg, tokenizer=load_tokenizer(str(tiny_model_dir)), train_dataset=to_sft_dataset(rows), log=lambda *_: None)
    return _share(_initial(tiny_model_dir), tmp_path / name)


@cpu_bf16
def test_sft_bf16_autocast_moves_weights_like_fp32(tiny_model_dir, tmp_path):
    fp32, d32 = _sft_share(tiny_model_dir, tmp_path, "fp32", "sft.bf16=false")
    mixed, dmix = _sft_share(tiny_model_dir, tmp_path, "mixed", "sft.bf16=true")
    pure, dpure = _sft_share(tiny_model_dir, tmp_path, "pure", "sft.bf16=true", "sft.pure_bf16=true")
    assert (d32, dmix, dpure) == (torch.float32, torch.float32, torch.bfloat16)  # saved in the master precision
    assert fp32 > 0.9
    assert mixed >= fp32 / 3, (mixed, fp32)
    assert pure < mixed / 10, (pure, mixed)  # the defect, still there when asked for explicitly


def _grpo_share(tiny_model_dir, tmp_path, name: str, *overrides: str) -> tuple[float, torch.dtype]:
    from trainer.models import load_tokenizer
    from trainer.run import train

    def length_reward(prompts, completions, **kwargs):  # varies within every group, so advantages are not all 0
        return [float(len(str(c))) for c in completions]

    rows = Dataset.from_list([{"prompt": [{"role": "system", "content": SYS}, {"role": "user", "content": f"City {i}?"}],
                               "ground_truth": GT} for i in range(4)])
    cfg = load_config("grpo", [f"model={tiny_model_dir}", f"output_dir={tmp_path / name}", "grpo.max_steps=2",
                               "grpo.save_steps=2", "grpo.use_cpu=true", "grpo.per_device_train_batch_size=4",
                               "grpo.num_generations=4", "grpo.max_completion_length=8", "grpo.learning_rate=1e-6",
                               "grpo.temperature=1.5", *overrides])
    train(cfg, tokenizer=load_tokenizer(str(tiny_model_dir)), train_dataset=rows, reward_funcs=[length_reward],
          log=lambda *_: None)
    return _share(_initial(tiny_model_dir), tmp_path / name)


@cpu_bf16
def test_grpo_bf16_autocast_moves_weights_like_fp32(tiny_model_dir, tmp_path):
    fp32, _ = _grpo_share(tiny_model_dir, tmp_path, "fp32", "grpo.bf16=false")
    mixed, dmix = _grpo_share(tiny_model_dir, tmp_path, "mixed", "grpo.bf16=true")
    pure, dpure = _grpo_share(tiny_model_dir, tmp_path, "pure", "grpo.bf16=true", "grpo.pure_bf16=true")
    assert (dmix, dpure) == (torch.float32, torch.bfloat16)
    assert fp32 > 0.5
    assert mixed >= fp32 / 3, (mixed, fp32)
    assert pure < mixed / 10, (pure, mixed)
