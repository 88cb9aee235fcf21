"""transformers backend: batched generation, length-sorted, shared-prefix KV cache.

Two paths with the same greedy outputs:
- fast (default): the prompts' common token prefix (BFCL's system prompt) is
  computed once and its KV cache copied into every batch; suffixes are
  right-aligned after it with positions that skip the pads; a small decode loop
  drops finished rows so short answers stop costing compute.
- plain (`prefix_cache=False`): transformers `generate` on left-padded batches.

Loading (model, adapter, device, dtype) is in hf_load.py; torch is imported
only when a backend is built, so `rest eval --help` reads the flags for free.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from harness.backends import base, hf_load, hf_sampling
from harness.backends.base import ArgGroup, BackendBase, Completion, GenParams
from harness.reasoning import apply_stop, reasoning_of, reasoning_token_count
from harness.records import Prompt
from harness.types import UserError


class HFBackend(BackendBase):
    """`--backend hf`: a transformers model run in this process (CPU, CUDA or MPS).

    Batches are length-sorted and share the prompts' common-prefix KV cache unless `--no-prefix-cache`.
    """

    name = "hf"
    model_arg_keys = hf_load.MODEL_ARG_KEYS
    gen_kwarg_keys = hf_sampling.HF_GEN_KEYS
    takes_chat_template_kwargs = True

    @classmethod
    def add_args(cls, group: ArgGroup) -> None:
        group.add_argument("--device", default="auto", help="hf backend: cpu, cuda, cuda:1, mps or auto (default)")
        base.add_dtype_flag(group)
        base.add_adapter_flag(group)
        base.add_threads_flag(group)
        group.add_argument("--kv-budget-mb", type=int, default=None,
                           help="hf backend: memory the decode KV cache may use, in MiB; more rows decode together "
                                "with more (default 640: sized so the embedded model in fp32 stays under 2 GB of peak "
                                "RSS on every task; raise it where memory allows)")
        group.add_argument("--no-prefix-cache", action="store_true",
                           help="hf backend: plain transformers generate instead of the shared-prefix KV cache path")
        group.add_argument("--no-onednn", action="store_true",
                           help="hf backend: keep torch's default fp32 matmul (MKL) instead of oneDNN's on CPU, which "
                                "is the same fp32 arithmetic, faster (2x on AMD CPUs); see docs/backends.md")

    @classmethod
    def check_args(cls, args: argparse.Namespace) -> None:
        base.check_positive(args, "kv_budget_mb", "threads")

    @classmethod
    def check_machine(cls, args: argparse.Namespace) -> None:
        hf_load.check_device(args.device)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> HFBackend:
        from harness.backends.passthrough import backend_kwargs

        kwargs: dict[str, Any] = backend_kwargs(args)
        if args.kv_budget_mb is not None:
            kwargs["kv_budget_mb"] = args.kv_budget_mb
        batch = None if args.batch_size == "auto" else args.batch_size
        return cls(args.model, device=args.device, dtype=args.dtype, batch_size=batch, adapter=args.adapter,
                   threads=args.threads, prefix_cache=not args.no_prefix_cache, onednn=not args.no_onednn, **kwargs)

    @classmethod
    def auto_batch_size(cls, args: argparse.Namespace) -> int:
        """Prompts per `generate` call under `--batch-size auto`: one full decode group (the KV budget may split
        it; the shared prefix and the length sorting work across all of them)."""
        return cls.MAX_DECODE_ROWS

    @classmethod
    def requested(cls, args: argparse.Namespace) -> dict[str, object]:
        return {**super().requested(args), "adapter": base.requested_adapter(args.adapter)}

    MAX_DECODE_ROWS = 64

    def __init__(self, model: str | None = None, *, device: str | None = None, dtype: str | None = None,
                 batch_size: int | None = None, adapter: str | None = None, threads: int | None = None,
                 prefix_cache: bool = True, min_prefix: int = 16, buffered_kv: bool = True, shared_prefix: bool = True,
                 onednn: bool = True, lean: bool = True, keep_freed_memory: bool = True,
                 max_decode_rows: int = MAX_DECODE_ROWS, kv_budget_mb: int = 640, prefill_tokens: int = 2048,
                 model_args: dict[str, Any] | None = None, chat_template_kwargs: dict[str, Any] | None = None) -> None:
        """`batch_size` None (auto): prefill chunks are bounded by `prefill_tokens` only and decode rows by
        `kv_budget_mb` (at most `max_decode_rows`); a number caps the rows of a prefill chunk (and of a plain
        `generate` batch) too. `onednn`, `lean`, `keep_freed_memory`: the CPU fast path's parts (onednn.py,
        lean_forward.py, cpu_malloc.py), each on by default; `bench/hf_fast_path.py` turns them off one at a time."""
        import torch

        if threads is not None:
            if threads < 1:
                raise UserError(f"threads must be a positive integer, got {threads}")
            torch.set_num_threads(threads)
        if adapter is not None:
            hf_load.check_adapter(adapter)
        self.model_path = hf_load.resolve_model(model)
        self.device = hf_load.pick_device(device)
        self.dtype = hf_load.pick_dtype(dtype, self.device)
        self.keeps_freed_memory = False  # on CPU: large temporaries reused, not faulted in again per layer
        if keep_freed_memory and self.device == "cpu":
            from harness.backends import cpu_malloc

            self.keeps_freed_memory = cpu_malloc.keep_freed_memory()
        self.batch_size = None if batch_size is None else max(1, batch_size)
        self.prefix_cache = prefix_cache
        self.min_prefix = min_prefix
        self.buffered_kv = buffered_kv
        self.shared_prefix = shared_prefix and buffered_kv  # the prefix KV kept once (shared_prefix.py)
        self.max_decode_rows, self.kv_budget_mb = max_decode_rows, kv_budget_mb
        self.prefill_tokens = prefill_tokens  # suffix tokens per prefill chunk: bounds the attention scores' memory
        self.model_args, self.chat_template_kwargs = dict(model_args or {}), dict(chat_template_kwargs or {})
        self.tokenizer, self.model, adapter_path = hf_load.load_checkpoint(self.model_path, adapter, self.device,
                                                                           self.dtype, self.model_args)
        self.adapter = adapter_path
        self.onednn = onednn and hf_load.onednn_applies(self.device, self.dtype)
        if self.onednn:
            from harness.backends.onednn import convert

            convert(self.model)
        self.lean = None  # the lean forward step (lean_forward.py): Llama-family models on the oneDNN linears
        if lean and self.onednn:
            from harness.backends.lean_forward import LeanForward, lean_unsupported

            self.lean = None if lean_unsupported(self.model) else LeanForward(self.model)
        self.eos_ids = self._eos_ids()
        self._anchor: tuple[list[int], Any] | None = None  # (token ids, per-layer (k, v) at batch 1)
        self.stats = {"prefix_tokens_computed": 0, "prefix_tokens_reused": 0, "suffix_tokens": 0,
                      "decode_steps": 0, "decode_rows": 0, "compactions": 0, "prefill_s": 0.0, "decode_s": 0.0}

    def _eos_ids(self) -> set[int]:
        ids = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        gen_eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids.update(gen_eos if isinstance(gen_eos, list) else [gen_eos])
        return {i for i in ids if i is not None}

    def info(self) -> dict[str, Any]:
        return {"backend": self.name, "model_path": self.model_path, "adapter": self.adapter,
                "device": self.device, "dtype": str(self.dtype).replace("torch.", ""),
                "batch_size": self.batch_size or "auto", "prefix_cache": self.prefix_cache,
                "shared_prefix": self.shared_prefix, "onednn": self.onednn,
                "lean_forward": self.lean is not None, **({"model_args": self.model_args} if self.model_args else {}),
                **({"chat_template_kwargs": self.chat_template_kwargs} if self.chat_template_kwargs else {})}

    def provenance(self) -> dict[str, Any]:
        from harness.provenance import model_identity

        return model_identity(self.model_path, self.tokenizer, self.adapter,
                              getattr(self.model.config, "_commit_hash", None))

    def render(self, prompt: Prompt) -> str:
        return self.tokenizer.apply_chat_template(prompt.messages,
                                                  **base.template_kwargs(prompt, self.chat_template_kwargs))

    def encode(self, prompts: list[Prompt]) -> list[list[int]]:
        return [self.tokenizer(self.render(p), add_special_tokens=False)["input_ids"] for p in prompts]

    def finish(self, toks: list[int], params: GenParams, prompt_tokens: int, latency: float) -> Completion:
        n = next((k for k, t in enumerate(toks) if t in self.eos_ids), len(toks))
        text = self.tokenizer.decode(toks[:n], skip_special_tokens=False)
        thought = reasoning_token_count(toks[:n], lambda ids: self.tokenizer.decode(ids, skip_special_tokens=False), text)
        text = apply_stop(text, params.stop)  # the answer only: stop strings never cut the reasoning
        return Completion(text=text, prompt_tokens=prompt_tokens, completion_tokens=n, latency_s=latency,
                          reasoning=reasoning_of(text), reasoning_tokens=thought)

    def generate(self, prompts: list[Prompt], params: GenParams) -> list[Completion]:
        encoded = self.encode(prompts)
        try:
            if self.prefix_cache and self._full_attention() and not hf_sampling.active_options(params):
                return self._generate_fast(encoded, params)
            return self._generate_plain(encoded, params)
        finally:
            self._release()  # what this call freed goes back: the next call may need other sizes

    def _release(self) -> None:
        """Hand the heap's free pages back (cpu_malloc.py) where the backend keeps freed memory."""
        if self.keeps_freed_memory:
            from harness.backends.cpu_malloc import release_freed_memory

            release_freed_memory()

    def _full_attention(self) -> bool:
        """The fast path builds plain full-attention caches; sliding-window models take the plain path."""
        cfg = self.model.config.get_text_config(decoder=True)
        types = getattr(cfg, "layer_types", None) or []
        return not getattr(cfg, "sliding_window", None) and all(t == "full_attention" for t in types)

    # -- plain path: transformers generate on left-padded batches --------------------------------------------

    def _generate_plain(self, encoded: list[list[int]], params: GenParams) -> list[Completion]:
        import torch

        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]), reverse=True)
        out: list[Completion | None] = [None] * len(encoded)
        size = self.batch_size or 16  # auto: transformers pads every row to the longest, so keep batches modest
        for start in range(0, len(order), size):
            idx = order[start:start + size]
            t0 = time.perf_counter()
            batch = self.tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt",
                                       padding_side="left")
            batch = {k: v.to(self.device) for k, v in batch.items()}
            if params.temperature > 0:
                torch.manual_seed(params.seed + start)
            with torch.inference_mode():
                ids = self.model.generate(**batch, **hf_sampling.generate_kwargs(params, self.tokenizer.pad_token_id))
            new = ids[:, batch["input_ids"].shape[1]:]
            dt = (time.perf_counter() - t0) / len(idx)
            for row, i in enumerate(idx):
                out[i] = self.finish(new[row].tolist(), params, len(encoded[i]), dt)
        return [c for c in out if c is not None]

    # -- fast path: shared prefix KV + own decode loop ------------------------------------------------------

    def _prefix(self, encoded: list[list[int]]) -> tuple[int, Any]:
        """Length and batch-1 per-layer KV of the prefix shared by these prompts (0, None when none)."""
        import torch

        from harness.backends.prefix_cache import plan_prefix

        anchor_ids = self._anchor[0] if self._anchor else None
        plan = plan_prefix(anchor_ids, encoded, self.min_prefix)
        if plan.reuse:
            ids, kv = self._anchor
            if plan.reuse < len(ids):  # crop: a prefix's KV never depends on later tokens
                kv = [(k[:, :, :plan.reuse], v[:, :, :plan.reuse]) for k, v in kv]
                self._anchor = (ids[:plan.reuse], kv)
            self.stats["prefix_tokens_reused"] += plan.reuse
            return plan.reuse, self._anchor[1]
        if plan.compute:
            from transformers import DynamicCache

            ids = encoded[0][:plan.compute]
            cache = DynamicCache(config=self.model.config)
            with torch.inference_mode():
                self.model(input_ids=torch.tensor([ids], device=self.device), cache=cache, use_cache=True,
                           logits_to_keep=1)
            kv = [(layer.keys, layer.values) for layer in cache.layers]
            self._anchor = (ids, kv)
            self.stats["prefix_tokens_computed"] += plan.compute
            return plan.compute, kv
        return 0, None

    def _decode_rows(self, plen: int, width: int, max_new: int) -> int:
        """Rows decoded together: as many as the KV budget holds (fewer, wider steps), at least one."""
        cfg = self.model.config.get_text_config(decoder=True)
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        own = (0 if self.shared_prefix else plen) + width + max_new  # tokens a row keeps in its own cache
        per_row = (2 * cfg.num_hidden_layers * getattr(cfg, "num_key_value_heads", cfg.num_attention_heads)
                   * head_dim * own * self.model.dtype.itemsize)
        return max(1, min(self.max_decode_rows, int(self.kv_budget_mb * 2**20 // per_row)))

    def _generate_fast(self, encoded: list[list[int]], params: GenParams) -> list[Completion]:
        from harness.backends.prefix_cache import length_batches

        plen, kv = self._prefix(encoded)
        lengths = [len(e) for e in encoded]
        rows = self._decode_rows(plen, max(lengths) - plen, params.max_new_tokens)
        rows = -(-len(encoded) // -(-len(encoded) // rows))  # as many groups as the budget needs, evenly filled
        out: list[Completion | None] = [None] * len(encoded)
        for group in length_batches(lengths, rows):
            t0 = time.perf_counter()
            chunk_rows = self.batch_size or len(group)
            chunks = [[group[j] for j in c]
                      for c in length_batches([lengths[i] - plen for i in group], chunk_rows, self.prefill_tokens)]
            gens = self._decode(chunks, [e[plen:] for e in encoded], plen, kv, params)
            dt = (time.perf_counter() - t0) / len(group)
            for i in group:
                out[i] = self.finish(gens[i], params, lengths[i], dt)
        return [c for c in out if c is not None]

    def _decode(self, chunks: list[list[int]], suffixes: list[list[int]], plen: int, kv: Any,
                params: GenParams) -> dict[int, list[int]]:
        """Prefill each chunk, merge the chunks into one decode batch, decode dropping finished rows."""
        import torch

        if self.shared_prefix:
            return self._decode_shared(chunks, suffixes, plen, kv, params)
        if not self.buffered_kv and len(chunks) > 1:  # plain DynamicCache: decode chunk by chunk
            gens: dict[int, list[int]] = {}
            for c in chunks:
                gens.update(self._decode([c], suffixes, plen, kv, params))
            return gens
        from harness.backends.hf_decode import decode_loop
        from harness.backends.hf_prefill import prefill_copied
        from harness.backends.lean_forward import model_step

        t0 = time.perf_counter()
        with torch.inference_mode():
            states = [prefill_copied(self.model, [suffixes[i] for i in c], plen, kv, self.tokenizer.pad_token_id,
                                     self.device) for c in chunks]
            self.stats["suffix_tokens"] += sum(len(suffixes[i]) for c in chunks for i in c)
            t1 = time.perf_counter()
            self.stats["prefill_s"] += t1 - t0
            alive = [i for c in chunks for i in c]
            if self.buffered_kv:
                from harness.backends.kv_buffer import merge_chunks

                cache, mask = merge_chunks([(st[0], st[1]) for st in states], plen, params.max_new_tokens)
            else:
                cache, mask = states[0][0], states[0][1]
            pos = torch.cat([st[2] for st in states])
            logits = torch.cat([st[3] for st in states])
            del states
            step = model_step(self.model, None, shared=False)
            gens = decode_loop(step, cache, mask, pos, logits, alive, params, self.eos_ids, self.stats)
        self.stats["decode_s"] += time.perf_counter() - t1
        return gens

    def _decode_shared(self, chunks: list[list[int]], suffixes: list[list[int]], plen: int, kv: Any,
                       params: GenParams) -> dict[int, list[int]]:
        """The prefix kept once (shared_prefix.py; `kv` None when there is none): prefill in place into one
        decode buffer (hf_prefill.py), then decode."""
        import torch

        from harness.backends.hf_decode import decode_loop
        from harness.backends.hf_prefill import prefill_in_place
        from harness.backends.lean_forward import model_step
        from harness.backends.shared_prefix import shared_prefix_attention

        t0 = time.perf_counter()
        order = [i for c in chunks for i in c]
        step = self.lean.step(kv) if self.lean is not None else model_step(self.model, kv, shared=True)
        with torch.inference_mode(), shared_prefix_attention(self.model):
            cache, mask, pos, logits = prefill_in_place(self.model, step, chunks, suffixes, plen,
                                                        params.max_new_tokens, self.tokenizer.pad_token_id,
                                                        self.prefill_tokens, self.device, self._release)
            self.stats["suffix_tokens"] += sum(len(suffixes[i]) for i in order)
            t1 = time.perf_counter()
            self.stats["prefill_s"] += t1 - t0
            gens = decode_loop(step, cache, mask, pos, logits, order, params, self.eos_ids, self.stats)
        self.stats["decode_s"] += time.perf_counter() - t1
        return gens
