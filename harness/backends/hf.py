"""transformers backend: batched generation, length-sorted, left padded, KV cache."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness.backends.base import Completion, GenParams
from harness.tasks import Prompt
from harness.types import UserError


def resolve_model(model: str | None) -> str:
    """`None` means the embedded model; a local dir must exist; anything else is a hub id."""
    if model is None or model in ("embedded", "smollm2"):
        from harness.embedded import embedded_model_dir

        return str(embedded_model_dir())
    path = Path(model).expanduser()
    looks_local = model.startswith((".", "/", "~")) or path.exists() or model.count("/") > 1
    if looks_local:
        if not path.is_dir():
            raise UserError(f"model path {model!r} does not exist or is not a directory")
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise UserError(f"{model!r} is not a Hugging Face checkpoint (no config.json or adapter_config.json)")
        return str(path)
    return model  # hub id: transformers resolves it (needs network unless cached)


def pick_device(device: str | None) -> str:
    import torch

    if device and device != "auto":
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


class HFBackend:
    name = "hf"

    def __init__(self, model: str | None = None, *, device: str | None = None, dtype: str | None = None,
                 batch_size: int = 8, adapter: str | None = None, threads: int | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.model_path = resolve_model(model)
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.batch_size = max(1, batch_size)
        base_path, adapter_path = self.model_path, adapter
        adapter_cfg = Path(self.model_path) / "adapter_config.json"
        if adapter_path is None and adapter_cfg.is_file():  # a LoRA checkpoint dir: load its base, then the adapter
            import json

            base_path = json.loads(adapter_cfg.read_text())["base_model_name_or_path"]
            adapter_path = self.model_path
        tok_path = adapter_path if adapter_path and (Path(adapter_path) / "tokenizer_config.json").is_file() else base_path
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(tok_path)
            self.model = AutoModelForCausalLM.from_pretrained(base_path, dtype=self.dtype)
        except OSError as exc:
            raise UserError(f"cannot load model {base_path!r}: {str(exc).splitlines()[0]}") from None
        if adapter_path:
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, adapter_path)
            self.model = self.model.merge_and_unload()
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.adapter = adapter_path

    def info(self) -> dict[str, Any]:
        return {"backend": self.name, "model_path": self.model_path, "adapter": self.adapter,
                "device": self.device, "dtype": str(self.dtype).replace("torch.", ""), "batch_size": self.batch_size}

    def render(self, prompt: Prompt) -> str:
        kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True}
        if prompt.tools:
            kwargs["tools"] = prompt.tools
        return self.tokenizer.apply_chat_template(prompt.messages, **kwargs)

    def generate(self, prompts: list[Prompt], params: GenParams) -> list[Completion]:
        import torch

        texts = [self.render(p) for p in prompts]
        encoded = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]), reverse=True)
        out: list[Completion | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            t0 = time.perf_counter()
            batch = self.tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt",
                                       padding_side="left")
            batch = {k: v.to(self.device) for k, v in batch.items()}
            gen_kwargs: dict[str, Any] = {"max_new_tokens": params.max_new_tokens,
                                          "pad_token_id": self.tokenizer.pad_token_id}
            if params.temperature > 0:
                torch.manual_seed(params.seed + start)
                gen_kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            else:
                gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            with torch.inference_mode():
                ids = self.model.generate(**batch, **gen_kwargs)
            new = ids[:, batch["input_ids"].shape[1]:]
            dt = (time.perf_counter() - t0) / len(idx)
            eos = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
            for row, i in enumerate(idx):
                toks = new[row].tolist()
                n = next((k for k, t in enumerate(toks) if t in eos), len(toks))
                text = self.tokenizer.decode(toks[:n], skip_special_tokens=False)
                for s in params.stop:
                    if s in text:
                        text = text[: text.index(s)]
                out[i] = Completion(text=text, prompt_tokens=len(encoded[i]), completion_tokens=n, latency_s=dt)
        return [c for c in out if c is not None]
