"""The hf fast path's forward step: transformers' modules, or a lean loop with the same arithmetic.

A step maps (new token ids [b, q], their positions, the rows' cache, their 2D
suffix mask) to the next-token logits of each row's last position. Both kinds
below give the same bits; the lean one is for Llama-family models on CPU with
the oneDNN linears (onednn.py) and skips what a decode step does not need:
the nn.Module calls, the keyword plumbing, the mask builders, the per-layer
wrappers. It calls the same kernels in the same order on the same values, and
folds the residual additions into the output GEMMs (oneDNN's binary post-op
adds the fp32 result to the residual, the sum transformers computes after it).
Its logits equal transformers' bit for bit on tiny Llama and Qwen2 models
(tests/test_lean_forward.py), and its greedy texts equal theirs on 64 BFCL
prompts of the embedded model (bench/hf_fast_path.py, which also measures the
whole-run gain: small, decode 15.1 / 14.9 against 15.2 / 15.5 s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.backends.shared_prefix import MASK_KWARG, PREFIX_KWARG, SuffixMask

Step = Callable[[Any, Any, Any, Any], Any]  # (ids [b, q], positions [b, q], cache, 2D mask) -> logits [b, V]
LEAN_MODELS = ("LlamaForCausalLM", "Qwen2ForCausalLM")  # RMSNorm, rotary, SiLU-gated MLP; Qwen2 adds q/k/v biases


def model_step(model: Any, prefix: Any, shared: bool) -> Step:
    """A step through the model's own modules. `shared`: under `shared_prefix_attention` (the prefix's KV in
    `prefix`, None when there is none; the mask covers the rows' own tokens); else the mask covers prefix and
    suffix and the model's own attention reads it."""

    def step(ids: Any, positions: Any, cache: Any, mask: Any) -> Any:
        extra = {PREFIX_KWARG: prefix, MASK_KWARG: SuffixMask(mask)} if shared else {"attention_mask": mask}
        return model(input_ids=ids, position_ids=positions, cache=cache, use_cache=True, logits_to_keep=1,
                     **extra).logits[:, -1, :]

    return step


def lean_unsupported(model: Any) -> str | None:
    """Why the lean step cannot run `model` (None: it can): a Llama-family causal LM whose linear layers were
    converted to oneDNN."""
    from harness.backends.onednn import is_onednn_linear

    if type(model).__name__ not in LEAN_MODELS:
        return f"{type(model).__name__} is not one of {', '.join(LEAN_MODELS)}"
    cfg = model.config
    if getattr(cfg, "hidden_act", None) != "silu":
        return f"activation {getattr(cfg, 'hidden_act', None)!r} is not silu"
    for layer in model.model.layers:
        attn, mlp = layer.self_attn, layer.mlp
        linears = [attn.q_proj, attn.k_proj, attn.v_proj, attn.o_proj, mlp.gate_proj, mlp.up_proj, mlp.down_proj]
        if not all(is_onednn_linear(m) for m in [*linears, model.lm_head]):
            return "its linear layers are not oneDNN ones"
        if hasattr(attn, "q_norm") or hasattr(attn, "k_norm"):
            return "its attention normalises q and k"
    return None


class LeanForward:
    """The lean step for a model `lean_unsupported` accepts; call `step(prefix)` for one bound to a prefix."""

    def __init__(self, model: Any) -> None:
        reason = lean_unsupported(model)
        if reason:
            raise ValueError(f"lean forward: {reason}")
        cfg = model.config
        self.model = model
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.layers = list(model.model.layers)

    def step(self, prefix: Any) -> Step:
        return lambda ids, positions, cache, mask: self(ids, positions, cache, prefix, SuffixMask(mask))

    def __call__(self, ids: Any, positions: Any, cache: Any, prefix: Any, mask: SuffixMask) -> Any:
        """Logits [b, V] of each row's last position; `cache` gets the new tokens' KV (as `Cache.update`)."""
        inner = self.model.model
        b, q = ids.shape
        kwargs = {PREFIX_KWARG: prefix, MASK_KWARG: mask}
        x = inner.embed_tokens(ids)
        cos, sin = inner.rotary_emb(x, positions)
        cos, sin = cos[:, None], sin[:, None]  # over the heads, as apply_rotary_pos_emb unsqueezes them
        x = x.reshape(b * q, -1)
        for i, layer in enumerate(self.layers):
            x = self._layer(layer, i, x, b, q, cos, sin, cache, kwargs)
        last = _rms(x.view(b, q, -1)[:, -1], inner.norm)
        return self.model.lm_head(last)


    def _layer(self, layer: Any, i: int, x: Any, b: int, q: int, cos: Any, sin: Any, cache: Any,
               kwargs: dict[str, Any]) -> Any:
        """One decoder layer; its temporaries die on return, as in transformers (a flat loop kept the previous
        layer's activations alive and raised the peak RSS of a 2,048-token prefill chunk)."""
        import torch

        from harness.backends.shared_prefix import attention

        binary = torch.ops.mkldnn._linear_pointwise.binary
        h, kvh, d = self.heads, self.kv_heads, self.head_dim
        attn, mlp = layer.self_attn, layer.mlp
        hs = _rms(x, layer.input_layernorm)
        qs = _rotate(attn.q_proj(hs).view(b, q, h, d).transpose(1, 2), cos, sin)
        ks = _rotate(attn.k_proj(hs).view(b, q, kvh, d).transpose(1, 2), cos, sin)
        vs = attn.v_proj(hs).view(b, q, kvh, d).transpose(1, 2)
        ks, vs = cache.update(ks, vs, i)
        out = attention(attn, qs, ks, vs, None, attn.scaling, **kwargs)[0].reshape(b * q, h * d)
        del hs, qs, ks, vs
        x = binary(out, x, attn.o_proj.packed_weight, attn.o_proj.bias, "add")  # x + o_proj(out)
        del out
        hs = _rms(x, layer.post_attention_layernorm)
        act = torch.nn.functional.silu(mlp.gate_proj(hs)) * mlp.up_proj(hs)
        del hs
        return binary(act, x, mlp.down_proj.packed_weight, mlp.down_proj.bias, "add")  # x + down_proj(act)


def _rms(x: Any, norm: Any) -> Any:
    """transformers' LlamaRMSNorm on fp32 input, op for op."""
    import torch

    variance = x.pow(2).mean(-1, keepdim=True)
    return norm.weight * (x * torch.rsqrt(variance + norm.variance_epsilon))


def _rotate(x: Any, cos: Any, sin: Any) -> Any:
    """transformers' apply_rotary_pos_emb for one tensor, op for op."""
    import torch

    half = x.shape[-1] // 2
    return (x * cos) + (torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin)
