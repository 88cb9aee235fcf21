"""transformers backend: batched generation, length-sorted, shared-prefix KV cache.

Two paths with the same greedy outputs:
- fast (default): the prompts' common token prefix (BFCL's system prompt) is
  computed once and its KV cache copied into every batch; suffixes are
  right-aligned after it with positions that skip the pads; a small decode loop
  drops finished rows so short answers stop costing compute.
- plain (`prefix_cache=False`): transformers `generate` on left-padded batches.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness.backends.base import Completion, GenParams
from harness.records import Prompt
from harness.types import UserError

WEIGHT_FILES = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")


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


class HFBackend:
    name = "hf"

    def __init__(self, model: str | None = None, *, device: str | None = None, dtype: str | None = None,
                 batch_size: int = 8, adapter: str | None = None, threads: int | None = None,
                 prefix_cache: bool = True, min_prefix: int = 16, buffered_kv: bool = True,
                 max_decode_rows: int = 64, kv_budget_mb: int = 1024, prefill_tokens: int = 4096) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads is not None:
            if threads < 1:
                raise UserError(f"threads must be a positive integer, got {threads}")
            torch.set_num_threads(threads)
        if adapter is not None:
            check_adapter(adapter)
        self.model_path = resolve_model(model)
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.batch_size = max(1, batch_size)
        self.prefix_cache = prefix_cache
        self.min_prefix = min_prefix
        self.buffered_kv = buffered_kv
        self.max_decode_rows, self.kv_budget_mb = max_decode_rows, kv_budget_mb
        self.prefill_tokens = prefill_tokens  # suffix tokens per prefill chunk: bounds the attention scores' memory
        base_path, adapter_path = self.model_path, adapter
        adapter_cfg = Path(self.model_path) / "adapter_config.json"
        if adapter_path is None and adapter_cfg.is_file():  # a LoRA checkpoint dir: load its base, then the adapter
            base_path = _adapter_base(adapter_cfg)
            adapter_path = self.model_path
        tok_path = adapter_path if adapter_path and (Path(adapter_path) / "tokenizer_config.json").is_file() else base_path
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(tok_path)
        except _load_errors() as exc:
            raise UserError(f"cannot load the tokenizer of {tok_path!r}: {_first_line(exc)}") from None
        try:
            self.model = AutoModelForCausalLM.from_pretrained(base_path, dtype=self.dtype)
        except _load_errors() as exc:
            raise UserError(f"cannot load model {base_path!r}: {_first_line(exc)} (a truncated or corrupt weights "
                            "file? copy or download it again)") from None
        if adapter_path:
            from peft import PeftModel

            try:
                self.model = PeftModel.from_pretrained(self.model, adapter_path)
            except _load_errors() as exc:
                raise UserError(f"cannot load LoRA adapter {adapter_path!r}: {_first_line(exc)}") from None
            self.model = self.model.merge_and_unload()
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.adapter = adapter_path
        self.eos_ids = self._eos_ids()
        self._anchor: tuple[list[int], Any] | None = None  # (token ids, per-layer (k, v) at batch 1)
        self.stats = {"prefix_tokens_computed": 0, "prefix_tokens_reused": 0, "suffix_tokens": 0,
                      "decode_steps": 0, "prefill_s": 0.0, "decode_s": 0.0}

    def _eos_ids(self) -> set[int]:
        ids = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        gen_eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids.update(gen_eos if isinstance(gen_eos, list) else [gen_eos])
        return {i for i in ids if i is not None}

    def info(self) -> dict[str, Any]:
        return {"backend": self.name, "model_path": self.model_path, "adapter": self.adapter,
                "device": self.device, "dtype": str(self.dtype).replace("torch.", ""), "batch_size": self.batch_size,
                "prefix_cache": self.prefix_cache}

    def render(self, prompt: Prompt) -> str:
        kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True}
        if prompt.tools:
            kwargs["tools"] = prompt.tools
        return self.tokenizer.apply_chat_template(prompt.messages, **kwargs)

    def encode(self, prompts: list[Prompt]) -> list[list[int]]:
        return [self.tokenizer(self.render(p), add_special_tokens=False)["input_ids"] for p in prompts]

    def finish(self, toks: list[int], params: GenParams, prompt_tokens: int, latency: float) -> Completion:
        n = next((k for k, t in enumerate(toks) if t in self.eos_ids), len(toks))
        text = self.tokenizer.decode(toks[:n], skip_special_tokens=False)
        for s in params.stop:
            if s in text:
                text = text[: text.index(s)]
        return Completion(text=text, prompt_tokens=prompt_tokens, completion_tokens=n, latency_s=latency)

    def generate(self, prompts: list[Prompt], params: GenParams) -> list[Completion]:
        encoded = self.encode(prompts)
        if self.prefix_cache and self._full_attention():
            return self._generate_fast(encoded, params)
        return self._generate_plain(encoded, params)

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
        per_row = (2 * cfg.num_hidden_layers * getattr(cfg, "num_key_value_heads", cfg.num_attention_heads)
                   * head_dim * (plen + width + max_new) * self.model.dtype.itemsize)
        return max(1, min(self.max_decode_rows, int(self.kv_budget_mb * 2**20 // per_row)))

    def _generate_fast(self, encoded: list[list[int]], params: GenParams) -> list[Completion]:
        from harness.backends.prefix_cache import length_batches

        plen, kv = self._prefix(encoded)
        lengths = [len(e) for e in encoded]
        rows = self._decode_rows(plen, max(lengths) - plen, params.max_new_tokens)
        out: list[Completion | None] = [None] * len(encoded)
        for group in length_batches(lengths, rows):
            t0 = time.perf_counter()
            chunks = [[group[j] for j in c]
                      for c in length_batches([lengths[i] - plen for i in group], self.batch_size, self.prefill_tokens)]
            gens = self._decode(chunks, [e[plen:] for e in encoded], plen, kv, params)
            dt = (time.perf_counter() - t0) / len(group)
            for i in group:
                out[i] = self.finish(gens[i], params, lengths[i], dt)
        return [c for c in out if c is not None]

    def _prefill(self, suffixes: list[list[int]], plen: int, kv: Any):
        """One chunk: right-aligned suffixes after the shared prefix -> (per-layer kv, mask, next pos, logits)."""
        import torch
        from transformers import DynamicCache

        from harness.backends.prefix_cache import layout_batch

        dev, n = self.device, len(suffixes)
        lay = layout_batch(suffixes, plen, self.tokenizer.pad_token_id)
        if kv is not None:
            cache = DynamicCache(ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in kv])
        else:
            cache = DynamicCache(config=self.model.config)
        mask = torch.tensor(lay.attention_mask, device=dev)
        logits = self.model(input_ids=torch.tensor(lay.input_ids, device=dev), attention_mask=mask,
                            position_ids=torch.tensor(lay.position_ids, device=dev), cache=cache,
                            use_cache=True, logits_to_keep=1).logits[:, -1, :]
        return cache, mask, torch.tensor(lay.next_positions, device=dev), logits

    def _decode(self, chunks: list[list[int]], suffixes: list[list[int]], plen: int, kv: Any,
                params: GenParams) -> dict[int, list[int]]:
        """Prefill each chunk, merge the chunks into one decode batch, decode dropping finished rows."""
        import torch

        if not self.buffered_kv and len(chunks) > 1:  # plain DynamicCache: decode chunk by chunk
            gens: dict[int, list[int]] = {}
            for c in chunks:
                gens.update(self._decode([c], suffixes, plen, kv, params))
            return gens
        t0 = time.perf_counter()
        with torch.inference_mode():
            states = [self._prefill([suffixes[i] for i in c], plen, kv) for c in chunks]
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
            gens = {i: [] for i in alive}
            rngs = None
            if params.temperature > 0:  # one generator per row: sampling does not depend on the batch layout
                rngs = {i: torch.Generator(device=self.device).manual_seed(params.seed * 1_000_003 + i)
                        for i in alive}
            for step in range(params.max_new_tokens):
                tok = self._pick(logits, params, [rngs[r] for r in alive] if rngs else None)
                keep = []
                for j, (r, t) in enumerate(zip(alive, tok.tolist(), strict=True)):
                    gens[r].append(t)
                    if t not in self.eos_ids:
                        keep.append(j)
                if not keep or step == params.max_new_tokens - 1:
                    break
                if len(keep) < len(alive):
                    sel = torch.tensor(keep, device=self.device)
                    cache.batch_select_indices(sel)
                    mask, pos, tok = mask[sel], pos[sel], tok[sel]
                    alive = [alive[j] for j in keep]
                mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
                logits = self.model(input_ids=tok[:, None], attention_mask=mask, position_ids=pos[:, None],
                                    cache=cache, use_cache=True).logits[:, -1, :]
                pos = pos + 1
                self.stats["decode_steps"] += 1
        self.stats["decode_s"] += time.perf_counter() - t1
        return gens

    @staticmethod
    def _pick(logits, params: GenParams, rngs):
        import torch

        if rngs is None:
            return logits.argmax(dim=-1)
        probs = torch.softmax(logits.float() / params.temperature, dim=-1)
        if params.top_p < 1.0:
            sorted_p, sorted_i = probs.sort(dim=-1, descending=True)
            drop = sorted_p.cumsum(dim=-1) - sorted_p > params.top_p  # keep the smallest set reaching top_p
            sorted_p = sorted_p.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, sorted_i, sorted_p)
        rows = [torch.multinomial(probs[j], 1, generator=g) for j, g in enumerate(rngs)]
        return torch.cat(rows)
