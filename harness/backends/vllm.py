"""vLLM offline engine backend (extra `[vllm]`, GPU machines).

All prompts of a call are rendered with the model's chat template (tools
included) and tokenized here, then handed to ONE `LLM.generate` call as token
ids, so vLLM batches across prompts with different tools and its prefix cache
shares BFCL's long system prompt. (`LLM.chat` takes one tools list per call.)
Token ids, not text: re-tokenizing rendered text would add a second BOS.
The request building is pure functions, unit-tested without vLLM.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from harness.backends import base
from harness.backends.base import ArgGroup, BackendBase, Completion, GenParams, template_kwargs
from harness.reasoning import reasoning_of, reasoning_token_count
from harness.records import Prompt
from harness.types import UserError

INSTALL_HINT = ("backend 'vllm' needs vLLM on a CUDA machine: pip install -e '.[vllm]' "
                "(with the CUDA build of torch that vLLM pins); see docs/backends.md")


def resolve_adapter(model: str, adapter: str | None) -> tuple[str, str | None, int]:
    """(base model, adapter dir or None, LoRA rank). A LoRA checkpoint dir given as --model loads its base."""
    cfg_dir = adapter or model
    cfg = Path(cfg_dir) / "adapter_config.json"
    if not cfg.is_file():
        if adapter:
            raise UserError(f"--adapter {adapter!r} has no adapter_config.json")
        return model, None, 0
    data = json.loads(cfg.read_text())
    base = model if adapter else data.get("base_model_name_or_path")
    if not base:
        raise UserError(f"{cfg} names no base_model_name_or_path; pass the base as --model and this dir as --adapter")
    return base, cfg_dir, int(data.get("r", 16))


def llm_kwargs(base: str, *, tensor_parallel_size: int = 1, dtype: str | None = "auto", lora_rank: int = 0,
               max_model_len: int | None = None, gpu_memory_utilization: float = 0.9, seed: int = 0) -> dict:
    """Arguments of `vllm.LLM(...)`."""
    kw: dict[str, Any] = {"model": base, "tensor_parallel_size": tensor_parallel_size,
                          "dtype": dtype or "auto", "gpu_memory_utilization": gpu_memory_utilization,
                          "seed": seed, "enable_prefix_caching": True}
    if max_model_len:
        kw["max_model_len"] = max_model_len
    if lora_rank:
        kw.update(enable_lora=True, max_lora_rank=max(8, 1 << (lora_rank - 1).bit_length()))  # vLLM wants 8,16,32..
    return kw


# --model-args vLLM's engine takes as they are (dtype, max_model_len, tensor_parallel_size are flags)
VLLM_MODEL_ARGS = frozenset({"trust_remote_code", "revision", "tokenizer", "tokenizer_revision", "tokenizer_mode",
                             "quantization", "gpu_memory_utilization", "max_num_seqs", "max_num_batched_tokens",
                             "enforce_eager", "kv_cache_dtype", "enable_prefix_caching", "swap_space", "download_dir",
                             "enable_chunked_prefill", "max_lora_rank"})
VLLM_GEN_KEYS = frozenset({"top_k", "min_p", "repetition_penalty", "frequency_penalty", "presence_penalty",
                           "stop_token_ids", "skip_special_tokens"})  # false: keep a </think> its tokenizer marks special


def sampling_kwargs(params: GenParams) -> dict:
    """Arguments of `vllm.SamplingParams(...)`; temperature 0 is vLLM's greedy. Options not given keep
    SamplingParams' neutral defaults (the offline engine does not apply the model's generation_config to them)."""
    kw: dict[str, Any] = {"max_tokens": params.max_new_tokens, "temperature": params.temperature,
                          "seed": params.seed, "n": 1}
    if params.temperature > 0:
        kw["top_p"] = params.top_p
    if params.stop:
        kw["stop"] = list(params.stop)
    kw.update(params.extra)
    return kw


class VLLMBackend(BackendBase):
    """`--backend vllm`: a model run in this process by vLLM's offline engine (GPU machines).

    All prompts of a call go to one `LLM.generate` call, as token ids rendered with the chat template.
    """

    name = "vllm"
    model_arg_keys = VLLM_MODEL_ARGS
    gen_kwarg_keys = VLLM_GEN_KEYS
    takes_chat_template_kwargs = True

    @classmethod
    def add_args(cls, group: ArgGroup) -> None:
        base.add_dtype_flag(group)
        base.add_adapter_flag(group)
        group.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm backend: GPUs per model (default 1)")
        group.add_argument("--max-model-len", type=int, default=None, help="vllm backend: context length cap")

    @classmethod
    def check_args(cls, args: argparse.Namespace) -> None:
        base.check_positive(args, "tensor_parallel_size", "max_model_len")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> VLLMBackend:
        from harness.backends.passthrough import backend_kwargs

        return cls(args.model, adapter=args.adapter, dtype=args.dtype, tensor_parallel_size=args.tensor_parallel_size,
                   max_model_len=args.max_model_len, seed=args.seed, **backend_kwargs(args))

    @classmethod
    def requested(cls, args: argparse.Namespace) -> dict[str, object]:
        return {**super().requested(args), "adapter": base.requested_adapter(args.adapter)}

    @classmethod
    def run_batch_size(cls, args: argparse.Namespace) -> int:
        # the engine batches itself: hand it enough work at once (as before, also 4 x --concurrency when larger)
        asked = 0 if args.batch_size == "auto" else args.batch_size
        return max(asked, 4 * getattr(args, "concurrency", 8), 64)

    def __init__(self, model: str | None = None, *, adapter: str | None = None, dtype: str | None = "auto",
                 tensor_parallel_size: int = 1, max_model_len: int | None = None,
                 gpu_memory_utilization: float = 0.9, seed: int = 0, model_args: dict[str, Any] | None = None,
                 chat_template_kwargs: dict[str, Any] | None = None, **_ignored: Any) -> None:
        try:
            import vllm
            from vllm.lora.request import LoRARequest
        except ImportError:
            raise UserError(INSTALL_HINT) from None
        from harness.backends.hf_load import resolve_model

        self.model_path = resolve_model(model)
        base, self.adapter, rank = resolve_adapter(self.model_path, adapter)
        self.kwargs = llm_kwargs(base, tensor_parallel_size=tensor_parallel_size, dtype=dtype, lora_rank=rank,
                                 max_model_len=max_model_len, gpu_memory_utilization=gpu_memory_utilization,
                                 seed=seed)
        self.kwargs.update(model_args or {})  # --model-args: vLLM engine arguments as given
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.llm = vllm.LLM(**self.kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.lora = LoRARequest("adapter", 1, self.adapter) if self.adapter else None
        self._sampling = vllm.SamplingParams
        self.version = vllm.__version__

    def info(self) -> dict[str, Any]:
        return {"backend": self.name, "model_path": self.model_path, "adapter": self.adapter,
                "vllm": self.version, **{k: v for k, v in self.kwargs.items() if k != "model"},
                **({"chat_template_kwargs": self.chat_template_kwargs} if self.chat_template_kwargs else {})}

    def provenance(self) -> dict[str, Any]:
        from harness.provenance import model_identity

        return model_identity(self.model_path, self.tokenizer, self.adapter)

    def generate(self, prompts: list[Prompt], params: GenParams) -> list[Completion]:
        texts = [self.tokenizer.apply_chat_template(p.messages, **template_kwargs(p, self.chat_template_kwargs))
                 for p in prompts]
        ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        t0 = time.perf_counter()
        outs = self.llm.generate([{"prompt_token_ids": x} for x in ids], self._sampling(**sampling_kwargs(params)),
                                 lora_request=self.lora, use_tqdm=False)
        dt = (time.perf_counter() - t0) / max(1, len(prompts))
        return [self._completion(o.outputs[0], len(x), dt) for o, x in zip(outs, ids, strict=True)]

    def _completion(self, out: Any, prompt_tokens: int, latency: float) -> Completion:
        """One vLLM output: the text as vLLM decoded it, its reasoning and token counts."""
        ids = list(out.token_ids)
        # counted on a decode that keeps every token: whether vLLM's text skipped a tag or not, it is found
        thought = reasoning_token_count(ids, lambda t: self.tokenizer.decode(t, skip_special_tokens=False))
        return Completion(text=out.text, prompt_tokens=prompt_tokens, completion_tokens=len(ids), latency_s=latency,
                          reasoning=reasoning_of(out.text), reasoning_tokens=thought)
