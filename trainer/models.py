"""Model, tokenizer and precision for training: what to load, in which dtype, on which device.

Mixed precision keeps fp32 master weights and runs the forward passes under
bf16 autocast (what accelerate/TRL mixed precision and verl's FSDP do): AdamW
at lr 1e-6 on bf16 weights rounds most updates away (an update smaller than
half a bf16 ulp of the weight is lost), so pure bf16 is only used when asked
for (`pure_bf16: true`). `resolve_precision` is pure: it maps the request and
what the device supports to one decision and one line that says it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.types import UserError


@dataclass(frozen=True)
class Precision:
    """How a run trains: `bf16` -> TrainingArguments.bf16 (autocast), `weights_dtype` of the loaded model."""

    bf16: bool
    weights_dtype: str  # "float32" (master weights) or "bfloat16" (pure bf16, opt-in)
    use_cpu: bool
    note: str


def resolve_precision(bf16: bool | str, pure_bf16: bool, use_cpu: bool, *, cuda: bool, cuda_bf16: bool,
                      cpu_bf16: bool) -> Precision:
    """The precision a run can have on this device (`bf16`: true, false or "auto")."""
    if isinstance(bf16, str) and bf16 != "auto":
        raise UserError(f"bf16: expected true, false or auto, got {bf16!r}")
    on_cpu = use_cpu or not cuda
    device_bf16 = cpu_bf16 if on_cpu else cuda_bf16
    where = "CPU" if on_cpu else "GPU"
    want = bf16 is True or bf16 == "auto"
    if pure_bf16 and not device_bf16:
        raise UserError(f"pure_bf16: this {where} has no bf16 support; set pure_bf16=false")
    if want and device_bf16:
        if pure_bf16:
            return Precision(True, "bfloat16", on_cpu, f"precision: pure bf16 weights and optimizer on the {where} (pure_bf16)")
        return Precision(True, "float32", on_cpu, f"precision: fp32 master weights, bf16 autocast on the {where}")
    note = "precision: fp32"
    if bf16 is True:
        note += f" (bf16 was asked for, but this {where} has no bf16 support)"
    return Precision(False, "float32", on_cpu, note)


def device_precision(bf16: bool | str, pure_bf16: bool, use_cpu: bool) -> Precision:
    """`resolve_precision` on the device this process runs on."""
    import torch

    cuda = torch.cuda.is_available()
    cuda_bf16 = bool(cuda and torch.cuda.is_bf16_supported())
    cpu_bf16 = bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
                    or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    return resolve_precision(bf16, pure_bf16, use_cpu, cuda=cuda, cuda_bf16=cuda_bf16, cpu_bf16=cpu_bf16)


def resolve_model_path(spec: str) -> str:
    if spec == "embedded":
        from harness.embedded import embedded_model_dir

        return str(embedded_model_dir())
    return spec


def load_tokenizer(spec: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_model_path(spec))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _dtype(name: str):
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[name]


def load_model(spec: str, weights_dtype: str = "float32"):
    """A full checkpoint, or a LoRA adapter dir (warm start from SFT): base + adapter merged, then trained in full."""
    from transformers import AutoModelForCausalLM

    path = resolve_model_path(spec)
    if is_adapter_dir(path):
        return load_warm_start(path, merge=True, weights_dtype=weights_dtype)
    return AutoModelForCausalLM.from_pretrained(path, dtype=_dtype(weights_dtype))


def is_adapter_dir(path: str | Path) -> bool:
    return (Path(path) / "adapter_config.json").is_file()


def load_warm_start(path: str | Path, merge: bool = True, weights_dtype: str = "float32"):
    """An SFT checkpoint for RL: a full model dir as is; a LoRA adapter dir = base + adapter, merged
    (`merge=True`: a plain model, RL may add its own fresh LoRA) or kept as a trainable PeftModel."""
    import json

    from transformers import AutoModelForCausalLM

    path = Path(path)
    dtype = _dtype(weights_dtype)
    if not is_adapter_dir(path):
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
    from peft import PeftModel

    base_path = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
    if not base_path:
        raise UserError(f"{path}: adapter_config.json names no base_model_name_or_path")
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype)
    model = PeftModel.from_pretrained(base, str(path), is_trainable=not merge)
    return model.merge_and_unload() if merge else model


def weight_change_share(before: dict[str, Any], after: dict[str, Any]) -> float:
    """Share of weight elements that differ between two state dicts (compared in the saved dtype)."""
    changed = total = 0
    for name, a in before.items():
        b = after[name]
        changed += int((a != b).sum())
        total += a.numel()
    return changed / total if total else 0.0
