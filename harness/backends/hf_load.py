"""Loading a transformers checkpoint for the hf backend: which model, which device and dtype, LoRA adapters.

Everything a user can get wrong here (a missing folder, a full checkpoint given
as an adapter, a device this machine lacks, truncated weights) is refused with a
one-line UserError before or instead of torch's traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.types import UserError

WEIGHT_FILES = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")
# --model-args the hf backend applies itself (dtype, device, adapter... are its flags: passthrough.py sets those)
TOKENIZER_ARGS = {"trust_remote_code": "trust_remote_code", "revision": "revision", "use_fast_tokenizer": "use_fast"}
MODEL_ARGS = ("trust_remote_code", "revision", "attn_implementation", "low_cpu_mem_usage")
MODEL_ARG_KEYS = frozenset({*TOKENIZER_ARGS, *MODEL_ARGS, "tokenizer"})


def resolve_model(model: str | None) -> str:
    """`None` means the embedded model; a local dir must exist and hold weights; anything else is a hub id."""
    if model is None or model in ("embedded", "smollm2"):
        from harness.embedded import embedded_model_dir

        return str(embedded_model_dir())
    path = Path(model).expanduser()
    looks_local = model.startswith((".", "/", "~")) or path.exists() or model.count("/") > 1
    if looks_local:
        if not path.is_dir():
            raise UserError(f"model path {model!r} does not exist or is not a directory")
        if (path / "adapter_config.json").is_file():
            return str(path)
        if not (path / "config.json").is_file():
            raise UserError(f"{model!r} is not a Hugging Face checkpoint (no config.json or adapter_config.json)")
        if not any(any(path.glob(pattern)) for pattern in WEIGHT_FILES):
            raise UserError(f"{model!r} has a config.json but no weights (model.safetensors or pytorch_model.bin)")
        return str(path)
    return model  # hub id: transformers resolves it (needs network unless cached)


def check_adapter(adapter: str) -> None:
    """A local `--adapter` must be a LoRA adapter folder (adapter_config.json), not a full checkpoint; a hub id
    is left to peft."""
    path = Path(adapter).expanduser()
    if not (adapter.startswith((".", "/", "~")) or path.exists() or adapter.count("/") > 1):
        return
    if not path.is_dir():
        raise UserError(f"--adapter {adapter!r} does not exist or is not a directory")
    if not (path / "adapter_config.json").is_file():
        raise UserError(f"--adapter {adapter!r} is not a LoRA adapter folder (no adapter_config.json); "
                        "a full checkpoint is passed with --model")


def check_device(device: str | None) -> None:
    """Refuse a device this machine's torch cannot use, before any weights load (one line, not torch's error)."""
    if not device or device == "auto":
        return
    import torch

    try:
        kind = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise UserError(f"--device {device!r} is not a device name (use cpu, cuda, cuda:N, mps or auto)") from None
    if kind.type == "cpu":
        return
    if kind.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch is built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
            raise UserError(f"--device {device}: {why}; use --device cpu or auto")
        if kind.index is not None and kind.index >= torch.cuda.device_count():
            raise UserError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return
    if kind.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UserError(f"--device {device}: MPS is not available here; use --device cpu or auto")
        return
    raise UserError(f"--device {device}: device type {kind.type!r} is not supported (use cpu, cuda, cuda:N, mps or auto)")


def _load_errors() -> tuple[type[BaseException], ...]:
    """What loading a broken checkpoint raises: missing or unreadable files, bad JSON or weights headers."""
    errors: tuple[type[BaseException], ...] = (OSError, ValueError, KeyError)
    try:
        from safetensors import SafetensorError

        errors += (SafetensorError,)
    except ImportError:
        pass
    return errors


def pick_device(device: str | None) -> str:
    import torch

    if device and device != "auto":
        check_device(device)
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(dtype: str | None, device: str):
    import torch

    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if dtype and dtype != "auto":
        if dtype not in table:
            raise UserError(f"unknown dtype {dtype!r}; use one of auto, float32, bfloat16, float16")
        return table[dtype]
    # fp32 on CPU keeps greedy outputs identical to the reference; bf16 on GPU.
    return torch.bfloat16 if device == "cuda" else torch.float32


def onednn_applies(device: str, dtype: Any) -> bool:
    """fp32 on CPU with torch's oneDNN present: where `onednn.convert` speeds up the linear layers."""
    import torch

    return device == "cpu" and dtype == torch.float32 and torch.backends.mkldnn.is_available()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _adapter_base(adapter_cfg: Path) -> str:
    """The base model a LoRA checkpoint names (adapter_config.json's base_model_name_or_path)."""
    import json

    try:
        base = json.loads(adapter_cfg.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, ValueError, AttributeError) as exc:
        raise UserError(f"{adapter_cfg} is unreadable ({_first_line(exc)})") from None
    if not isinstance(base, str) or not base:
        raise UserError(f"{adapter_cfg} names no base_model_name_or_path; pass the base with --model and this "
                        "folder with --adapter")
    return base



def load_checkpoint(model_path: str, adapter: str | None, device: str, dtype: Any,
                    model_args: dict[str, Any] | None = None) -> tuple[Any, Any, str | None]:
    """(tokenizer, model on `device` in eval mode, adapter dir or None); a LoRA checkpoint dir given as the model
    loads its base, then the adapter, merged. `model_args` (MODEL_ARG_KEYS) go to `from_pretrained`; `tokenizer`
    names another tokenizer. Broken files are one-line UserErrors."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    opts = dict(model_args or {})
    base_path, adapter_path = model_path, adapter
    adapter_cfg = Path(model_path) / "adapter_config.json"
    if adapter_path is None and adapter_cfg.is_file():
        base_path = _adapter_base(adapter_cfg)
        adapter_path = model_path
    tok_path = adapter_path if adapter_path and (Path(adapter_path) / "tokenizer_config.json").is_file() else base_path
    tok_path = str(opts.get("tokenizer") or tok_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(tok_path, **{v: opts[k] for k, v in TOKENIZER_ARGS.items() if k in opts})
    except _load_errors() as exc:
        raise UserError(f"cannot load the tokenizer of {tok_path!r}: {_first_line(exc)}") from None
    try:
        model = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype, **{k: opts[k] for k in MODEL_ARGS if k in opts})
    except _load_errors() as exc:
        raise UserError(f"cannot load model {base_path!r}: {_first_line(exc)} (a truncated or corrupt weights "
                        "file? copy or download it again)") from None
    if adapter_path:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, adapter_path)
        except _load_errors() as exc:
            raise UserError(f"cannot load LoRA adapter {adapter_path!r}: {_first_line(exc)}") from None
        model = model.merge_and_unload()
    model.to(device).eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model, adapter_path
