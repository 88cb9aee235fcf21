"""Token regions of a ToolRL-format completion, labelled from the GENERATED token ids.

ResT weights each completion token by its region (format tag, tool name, tool
arguments, think content, ...). The official code finds regions by regex on
re-tokenised text, labels only the first call of a block and drops the last
token of every span. Here we never re-tokenise: each generated id is decoded on
its own (a table built once per tokenizer), the pieces are concatenated, and
char offsets come from the piece lengths, so labels line up with the ids by
construction, whatever the tokenizer does with tags (one special token in the
Qwen vocab, several ordinary tokens in SmolLM2's).

Char-level grammar (tolerant: malformed, unclosed or truncated text never raises):

- the six tags `<think>` `</think>` `<tool_call>` `</tool_call>` `<response>`
  `</response>` are FORMAT wherever they appear;
- any tag ends the current block; an open tag starts its block, which runs to
  the next tag or the end of the text (a truncated block keeps its label);
- a close tag before any other tag labels the text before it as that block's
  content (the prompt may already hold `<think>`, as in Qwen3 templates);
- inside `<think>`: THINK, inside `<response>`: RESPONSE;
- inside `<tool_call>`: for every JSON object on every line (and nested
  `{"function": {...}}` wrappers), the characters of a `"name"` string value are
  NAME and the whole value of `"parameters"`/`"arguments"` is ARGS (string- and
  escape-aware bracket matching; an unclosed value runs to the block end);
  keys, quotes of the name, punctuation and whitespace around them are OTHER;
- everything else (text outside tags, EOS, padding) is OTHER; special tokens
  other than the tags (EOS, `<|im_end|>`, pad) are always OTHER.

Token rule when a token's characters fall in several regions: a token holding
any tag character is FORMAT (tags win: the token is needed to write the tag);
otherwise the non-OTHER region with most characters wins (ties: NAME > ARGS >
THINK > RESPONSE), so the first and last tokens of every span are kept; a token
is OTHER only if none of its characters is in a region. A token that decodes to
the empty string takes the region of the span strictly containing its offset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from harness.toolrl.format import TAGS


class Region(IntEnum):
    OTHER = 0
    FORMAT = 1
    NAME = 2
    ARGS = 3
    THINK = 4
    RESPONSE = 5


_TAG_RE = re.compile(r"</?(?:think|tool_call|response)>")
_BLOCK_REGION = {"think": Region.THINK, "response": Region.RESPONSE, "tool_call": None}
# JSON lexer: strings (possibly unterminated), punctuation, bare literals.
_JSON_RE = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.S)
_ARG_KEYS = frozenset({"parameters", "arguments"})
# Tie-break order among content regions (lower index wins).
_RANK = {Region.NAME: 0, Region.ARGS: 1, Region.THINK: 2, Region.RESPONSE: 3}

Span = tuple[int, int, int]  # (char start, char end, region)


def _json_spans(text: str, lo: int, hi: int, out: list[Span]) -> None:
    """NAME/ARGS spans of every call object inside text[lo:hi] (a tool_call block)."""
    toks = [(m.start(), m.end()) for m in _JSON_RE.finditer(text, lo, hi)]
    n = len(toks)
    i = 0
    while i < n - 2:
        s, e = toks[i]
        if text[s] != '"' or text[toks[i + 1][0]] != ":":
            i += 1
            continue
        key = text[s + 1 : e - 1] if e - s >= 2 and text[e - 1] == '"' else None
        vs, ve = toks[i + 2]
        first = text[vs]
        if key == "name":
            if first == '"':
                end = ve - 1 if ve - vs >= 2 and text[ve - 1] == '"' else ve
                if end > vs + 1:
                    out.append((vs + 1, end, Region.NAME))
            i += 3
        elif key in _ARG_KEYS:
            if first in "{[":
                depth = 0
                j = i + 2
                end = hi
                while j < n:
                    c = text[toks[j][0]]
                    if c in "{[":
                        depth += 1
                    elif c in "}]":
                        depth -= 1
                        if depth == 0:
                            end = toks[j][1]
                            break
                    j += 1
                out.append((vs, end, Region.ARGS))
                i = j + 1
            elif first in ",}]:":
                i += 2  # no value
            else:
                out.append((vs, ve, Region.ARGS))  # a string (JSON-encoded arguments) or a literal
                i += 3
        else:
            i += 1


def char_spans(text: str) -> list[Span]:
    """Sorted, non-overlapping labelled char spans of a completion (OTHER is implicit)."""
    spans: list[Span] = []
    block: str | None = None
    block_start = 0
    first_tag = True
    for m in _TAG_RE.finditer(text):
        ts, te = m.span()
        tag = m.group()
        closing = tag[1] == "/"
        kind = tag[2:-1] if closing else tag[1:-1]
        if block is None and closing and first_tag:
            block, block_start = kind, 0  # content before a leading close tag
        if block is not None and ts > block_start:
            _content(text, block, block_start, ts, spans)
        spans.append((ts, te, Region.FORMAT))
        block, block_start = (None, te) if closing else (kind, te)
        first_tag = False
    if block is not None and len(text) > block_start:
        _content(text, block, block_start, len(text), spans)
    return spans


def _content(text: str, block: str, lo: int, hi: int, out: list[Span]) -> None:
    region = _BLOCK_REGION[block]
    if region is None:
        _json_spans(text, lo, hi, out)
    else:
        out.append((lo, hi, region))


def _label_from_spans(starts: Sequence[int], ends: Sequence[int], spans: list[Span]) -> list[int]:
    """Region per token from token char ranges and labelled spans (both sorted); see module doc."""
    labels = [0] * len(starts)
    ns = len(spans)
    k = 0
    for t in range(len(starts)):
        a, b = starts[t], ends[t]
        while k < ns and spans[k][1] <= a:
            k += 1
        if a == b:  # empty piece: region of the span strictly containing its offset
            if k < ns and spans[k][0] < a < spans[k][1]:
                labels[t] = spans[k][2]
            continue
        best = 0
        best_n = 0
        j = k
        while j < ns and spans[j][0] < b:
            s, e, r = spans[j]
            n = min(b, e) - max(a, s)
            if n > 0:
                if r == Region.FORMAT:
                    best = r
                    break
                if n > best_n or (n == best_n and _RANK[r] < _RANK[best]):
                    best, best_n = r, n
            j += 1
        labels[t] = best
    return labels


class RegionLabeller:
    """Labels generated token ids with `Region`s; build once per tokenizer (decodes the vocab once)."""

    def __init__(self, tokenizer: Any) -> None:
        size = len(tokenizer)
        ids = list(range(size))
        pieces = tokenizer.batch_decode(
            [[i] for i in ids], skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
        self.pieces: list[str] = list(pieces)
        special = set(getattr(tokenizer, "all_special_ids", None) or [])
        for i, tok in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items():
            if getattr(tok, "special", False):
                special.add(i)
        # Special tokens other than our tags never belong to a region (EOS, pad, <|im_end|>).
        self.forced_other: frozenset[int] = frozenset(i for i in special if 0 <= i < size and self.pieces[i] not in TAGS)
        self.size = size

    def pieces_of(self, token_ids: Sequence[int]) -> list[str]:
        p = self.pieces
        n = self.size
        return [p[i] if 0 <= i < n else "" for i in token_ids]

    def label(self, token_ids: Sequence[int]) -> list[int]:
        """One `Region` (as int) per generated token id."""
        if hasattr(token_ids, "tolist"):
            token_ids = token_ids.tolist()
        pieces = self.pieces_of(token_ids)
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for piece in pieces:
            starts.append(pos)
            pos += len(piece)
            ends.append(pos)
        labels = _label_from_spans(starts, ends, char_spans("".join(pieces)))
        forced = self.forced_other
        if forced:
            for t, i in enumerate(token_ids):
                if i in forced:
                    labels[t] = 0
        return labels

    def label_batch(self, batch: Sequence[Sequence[int]]) -> list[list[int]]:
        if hasattr(batch, "tolist"):
            batch = batch.tolist()
        return [self.label(ids) for ids in batch]
