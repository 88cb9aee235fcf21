"""Attention over a prefix shared by every row, kept once (cascade attention), for the hf backend's fast path.

Evaluation prompts share a long head (BFCL's system prompt, ToolRL's tool
list). The fast path computes its KV once; until now every batch row got its
own copy, so the decode cache grew by rows x prefix and every decode step
read the prefix once per row. Here the prefix KV stays at batch 1 and each
layer's attention is split in two with one softmax over both parts:

    scores over the prefix:  all rows' queries of a KV head in ONE matmul (rows x heads-per-group queries
                             against the prefix keys), so the prefix is read once per step;
    scores over the suffix:  per row, over that row's own tokens (pads masked);
    output = (exp(prefix - m) V_prefix + exp(suffix - m) V_suffix) / (sum of both), m the joint row max.

The cache then holds suffix tokens only, so a KV budget fits more rows. The hf backend uses it for prefill
(each chunk written in place into the decode buffer: `kv_buffer.allocate` + `row_window`) and decode; the
function handles any number of new tokens. It is registered with
transformers' `AttentionInterface` under `NAME` and used only inside `shared_prefix_attention(model)`.
The per-layer prefix and the rows' 2D suffix mask (1 = token, 0 = pad) arrive through the forward's keyword
arguments (`PREFIX_KWARG`, `MASK_KWARG`); transformers builds no mask for an implementation it does not
know, so no [rows, 1, q, s] mask is materialised; causality within the new tokens is applied here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NAME = "rest_shared_prefix"
PREFIX_KWARG = "rest_shared_prefix_kv"
MASK_KWARG = "rest_suffix_mask"
FUSED_DECODE_DEVICES = ("cpu",)  # where decode uses torch's fused CPU kernel (_split_cpu); elsewhere matmuls


class SuffixMask:
    """The rows' 2D suffix mask [B, s] (1 = token, 0 = pad; None: all tokens) and what attention derives from
    it, worked out once per forward rather than once per layer: pass one per forward as `kwargs[MASK_KWARG]`
    (a bare tensor works too, derived per layer)."""

    def __init__(self, mask2d: Any) -> None:
        self.mask2d = mask2d
        self._memo: dict[tuple, Any] = {}

    def allowed(self, b: int, q: int, s: int, device: Any) -> Any:
        """[b or 1, 1, 1, q, s]: which suffix keys each new query may see (see `_allowed`)."""
        key = ("allowed", b, q, s)
        if key not in self._memo:
            self._memo[key] = _allowed(self.mask2d, b, q, s, device)
        return self._memo[key]

    def bias(self, b: int, g: int, q: int, s: int, device: Any, dtype: Any) -> Any:
        """[b, 1, g*q, s] additive mask (0 or -inf) for the g query heads of a KV head laid out as one sequence."""
        key = ("bias", b, g, q, s, dtype)
        if key not in self._memo:
            import torch

            allowed = self.allowed(b, q, s, device)
            bias = torch.zeros((b, 1, 1, q, s), dtype=dtype, device=device).masked_fill(~allowed, float("-inf"))
            self._memo[key] = bias.expand(b, 1, g, q, s).reshape(b, 1, g * q, s)
        return self._memo[key]


def attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, scaling: float,
              dropout: float = 0.0, **kwargs: Any) -> tuple[Any, None]:
    """`query` [B, H, q, d]; `key`/`value` [B, KVH, s, d] (the rows' own tokens, the q new ones last); the
    suffix mask in `kwargs[MASK_KWARG]` (a `SuffixMask`, or its [B, s] tensor of 1/0, or none: all tokens),
    the prefix (k, v) per layer at batch 1 in `kwargs[PREFIX_KWARG]`. Returns ([B, q, H, d], None) like
    transformers' attention functions."""
    import torch

    b, h, q, d = query.shape
    kvh, s = key.shape[1], key.shape[2]
    g = h // kvh
    prefix = (kwargs.get(PREFIX_KWARG) or [None] * (module.layer_idx + 1))[module.layer_idx]
    mask = kwargs.get(MASK_KWARG)
    mask = mask if isinstance(mask, SuffixMask) else SuffixMask(mask)
    if q > 1 or prefix is None:  # prefill, or nothing shared: SDPA over [prefix (broadcast), own tokens]
        return _fused(module, query, key, value, prefix, mask.allowed(b, q, s, query.device), scaling)
    if query.device.type in FUSED_DECODE_DEVICES:
        return _split_cpu(query, key, value, prefix, mask.bias(b, g, q, s, query.device, query.dtype), scaling, kvh)
    # decode elsewhere: the same split with plain matmuls
    allowed = mask.allowed(b, q, s, query.device)  # [b or 1, 1, 1, q, s]
    qg = query.reshape(b, kvh, g * q, d)  # head i uses KV head i // g: one group's queries are adjacent
    scores = torch.matmul(qg, key.transpose(-1, -2)) * scaling  # [b, kvh, g*q, s]
    scores = scores.view(b, kvh, g, q, s).masked_fill(~allowed, torch.finfo(scores.dtype).min).view(b, kvh, g * q, s)
    kp, vp = prefix  # [1, kvh, P, d]
    n = b * g * q
    qk = qg.transpose(0, 1).reshape(kvh, n, d)  # every row's queries of one KV head: one matmul each
    sp = torch.bmm(qk, kp[0].transpose(-1, -2)) * scaling  # [kvh, n, P]
    m = torch.maximum(sp.amax(-1, keepdim=True), scores.transpose(0, 1).reshape(kvh, n, s).amax(-1, keepdim=True))
    ep = torch.exp(sp - m)
    out_p = torch.bmm(ep, vp[0])  # [kvh, n, d]
    z_p = ep.sum(-1, keepdim=True)
    m_b = m.view(kvh, b, g * q, 1).transpose(0, 1)
    es = torch.exp(scores - m_b)
    out = torch.matmul(es, value) + out_p.view(kvh, b, g * q, d).transpose(0, 1)
    out = out / (es.sum(-1, keepdim=True) + z_p.view(kvh, b, g * q, 1).transpose(0, 1))
    return out.view(b, h, q, d).transpose(1, 2).contiguous(), None


def _split_cpu(query: Any, key: Any, value: Any, prefix: Any, bias: Any, scaling: float,
               kvh: int) -> tuple[Any, None]:
    """Decode on CPU, with torch's fused CPU attention kernel for each part: it returns each part's
    log-sum-exp, which is what merging two softmaxes needs. The g query heads that share a KV head attend as
    one longer query sequence (g x q), so no KV is repeated; `bias` is the suffix mask in that layout
    (`SuffixMask.bias`). The prefix part takes every row's queries in one call against the one prefix copy,
    with no mask to apply. Faster than the matmul form here (a one-layer timing at 32 rows x 350 tokens:
    0.79 against 1.33 ms). Prefill keeps `_fused`: a split form there (one unmasked prefix call, one causal
    call per row over its own tokens) ran 64 prompts of BFCL simple_python in the same time (10.5 against
    10.6 s), and this g-fold mask takes more memory on long prompts."""
    import torch

    flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    b, h, q, d = query.shape
    g = h // kvh
    qg = query.reshape(b, kvh, g * q, d)  # head i uses KV head i // g: a group's queries are adjacent
    out_s, lse_s = flash(qg, key, value, 0.0, False, attn_mask=bias, scale=scaling)[:2]
    kp, vp = prefix
    out_p, lse_p = flash(qg.transpose(0, 1).reshape(1, kvh, b * g * q, d), kp, vp, 0.0, False, scale=scaling)[:2]
    out_p, lse_p = out_p.view(kvh, b, g * q, d).transpose(0, 1), lse_p.view(kvh, b, g * q).transpose(0, 1)
    m = torch.maximum(lse_p, lse_s)
    wp, ws = torch.exp(lse_p - m)[..., None], torch.exp(lse_s - m)[..., None]
    out = ((out_p * wp + out_s * ws) / (wp + ws)).to(query.dtype)
    return out.reshape(b, h, q, d).transpose(1, 2).contiguous(), None


def _fused(module: Any, query: Any, key: Any, value: Any, prefix: Any, allowed: Any, scaling: float) -> tuple[Any, None]:
    """transformers' SDPA attention over the prefix (broadcast to the rows, copied for this call only) and the
    rows' own tokens, with the same visibility as the split path."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    b, q, s = query.shape[0], query.shape[2], key.shape[2]
    mask = allowed.expand(b, -1, -1, -1, -1).reshape(b, 1, q, s)  # no suffix mask: [1, ...], one for all rows
    if prefix is not None:
        kp, vp = prefix
        key = torch.cat([kp.expand(b, -1, -1, -1), key], dim=2)
        value = torch.cat([vp.expand(b, -1, -1, -1), value], dim=2)
        mask = torch.cat([mask.new_ones((b, 1, q, kp.shape[2])), mask], dim=-1)
    return sdpa_attention_forward(module, query, key, value, mask, scaling=scaling)


def _allowed(mask2d: Any, b: int, q: int, s: int, device: Any) -> Any:
    """Which suffix keys each new query may see: its row's tokens up to itself; a pad query sees itself only
    (its output is never used, and a row of finite scores keeps it free of NaN)."""
    import torch

    qpos = torch.arange(s - q, s, device=device)[:, None]
    kpos = torch.arange(s, device=device)[None, :]
    causal = kpos <= qpos  # [q, s]
    if mask2d is None:
        return causal[None, None, None]
    real = mask2d[:, None, :].bool()  # [b, 1, s]
    return ((causal[None] & real) | (kpos == qpos)[None])[:, None, None]


def register() -> None:
    """Make `NAME` a transformers attention implementation (idempotent)."""
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, attention)


@contextmanager
def shared_prefix_attention(model: Any) -> Iterator[None]:
    """Run `model` with this attention inside the block; its own implementation is restored after."""
    register()
    before = model.config._attn_implementation
    model.set_attn_implementation(NAME)
    try:
        yield
    finally:
        model.set_attn_implementation(before)
