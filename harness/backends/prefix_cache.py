"""Shared-prefix planning for batched generation: pure functions over token ids.

Evaluation prompts share a long head (BFCL's system prompt is ~254 tokens, 55%
of all prompt tokens). Computing that head once and batching only the suffixes
removes most of the prompt pass on CPU. These helpers decide *what* to share and
*how* to lay out a batch; the torch side lives in `hf.py`. No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by every sequence (0 for no sequences)."""
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for s in seqs[1:]:
        k = 0
        while k < n and s[k] == first[k]:
            k += 1
        n = k
        if n == 0:
            break
    return n


def shareable_len(seqs: Sequence[Sequence[int]]) -> int:
    """Common prefix length, leaving at least one token per sequence to produce the next-token logits."""
    if not seqs:
        return 0
    return max(0, min(common_prefix_len(seqs), min(len(s) for s in seqs) - 1))


@dataclass(frozen=True)
class PrefixPlan:
    """`reuse` tokens of the cached anchor are reused; `compute` > 0 means compute a new anchor of that length."""

    reuse: int
    compute: int

    @property
    def length(self) -> int:
        return self.compute or self.reuse


def plan_prefix(anchor: Sequence[int] | None, seqs: Sequence[Sequence[int]], min_len: int = 16) -> PrefixPlan:
    """Choose the shared prefix for one generate call.

    Reuse the cached anchor (cropped to what these prompts share with it) unless
    recomputing the longer common prefix of this call once is cheaper than
    recomputing the missing part in every row. A lone prompt with no anchor
    shares nothing.
    """
    lcp = shareable_len(seqs)
    if anchor:
        c = min(common_prefix_len([anchor, seqs[0][:lcp]]), lcp)
        if c >= min_len and (lcp - c) * len(seqs) <= lcp:
            return PrefixPlan(reuse=c, compute=0)
    if len(seqs) >= 2 and lcp >= min_len:
        return PrefixPlan(reuse=0, compute=lcp)
    return PrefixPlan(reuse=0, compute=0)


@dataclass(frozen=True)
class BatchLayout:
    """Suffixes right-aligned after the shared prefix: `[prefix][pad..][suffix]` per row.

    Right alignment makes every row's last token the one whose logits we need,
    and the positions skip the pads so each row sees exactly the positions it
    would see alone: prefix 0..P-1, then suffix P..P+len-1.
    """

    input_ids: list[list[int]]  # B x L, pads on the left of each suffix
    attention_mask: list[list[int]]  # B x (P + L)
    position_ids: list[list[int]]  # B x L
    next_positions: list[int]  # position of each row's first generated token


def layout_batch(suffixes: Sequence[Sequence[int]], prefix_len: int, pad_id: int) -> BatchLayout:
    width = max(len(s) for s in suffixes)
    ids, mask, pos, nxt = [], [], [], []
    for s in suffixes:
        pad = width - len(s)
        ids.append([pad_id] * pad + list(s))
        mask.append([1] * prefix_len + [0] * pad + [1] * len(s))
        pos.append([0] * pad + list(range(prefix_len, prefix_len + len(s))))
        nxt.append(prefix_len + len(s))
    return BatchLayout(ids, mask, pos, nxt)


def length_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None) -> list[list[int]]:
    """Indices grouped longest-first into batches of at most `batch_size` rows (and `max_tokens` padded tokens)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    out: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        width = lengths[cur[0]] if cur else lengths[i]
        if cur and (len(cur) >= batch_size or (max_tokens and width * (len(cur) + 1) > max_tokens)):
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out
