"""Thinking models: which part of a completion is reasoning and which part is scored.

Pure string rules, no backend and no benchmark, so eval, `rest score` and the
trainer can share them. They follow the scorers the formats come from:

- `prompting`, `fc`, `apibank` (and any other format): the answer is the text
  after the LAST `</think>`, leading newlines dropped, as BFCL's reasoning-model
  handlers (`QwenHandler`, `QwenFCHandler`, `DeepseekReasoningHandler`) cut it
  before decoding; with no `</think>` the whole text is the answer, as there.
- `toolrl`: nothing is cut. `<think>...</think>` is part of ToolRL's output
  format: its BFCL handler (`RLLAHandler.decode_ast`) reads the last
  `<tool_call>` block of the whole text and its reward requires exactly one
  `<think>` and one `</think>`. A server that split the reasoning off
  (`reasoning_content`, vLLM/SGLang reasoning parsers) has its block put back
  as `<think>{reasoning}</think>{content}`, the text the model wrote.

The reasoning itself is recorded apart from the answer: everything before the
last `</think>` with the opening `<think>` and the newlines around it removed
(BFCL's handlers log only the first block; the answer is the same).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
KEEPS_THINK = frozenset({"toolrl"})  # formats whose expected output includes the <think> block


@dataclass(frozen=True)
class Split:
    """A completion cut at its last `</think>`: `reasoning` is None when there is no `</think>`."""

    reasoning: str | None
    answer: str


def split_reasoning(text: str) -> Split:
    """Reasoning before the last `</think>`, answer after it (leading newlines dropped, as BFCL's Qwen handlers)."""
    if THINK_CLOSE not in text:
        return Split(None, text)
    head, _, tail = text.rpartition(THINK_CLOSE)
    head = head.strip("\n")
    if head.lstrip().startswith(THINK_OPEN):  # a template that opens <think> in the prompt leaves no opening tag
        head = head.lstrip()[len(THINK_OPEN):].strip("\n")
    return Split(head, tail.lstrip("\n"))


def reasoning_of(text: str) -> str | None:
    """The reasoning written into `text` (None when it has no `</think>`)."""
    return split_reasoning(text).reasoning


def scoring_text(text: str, fmt: str, separate_reasoning: str | None = None) -> str:
    """What the checker of format `fmt` reads from a completion (rules in the module docstring).

    `separate_reasoning` is the reasoning a server returned apart from `text` (`reasoning_content`).
    """
    if fmt in KEEPS_THINK:
        if separate_reasoning is not None and THINK_CLOSE not in text:
            return f"{THINK_OPEN}{separate_reasoning}{THINK_CLOSE}{text}"
        return text
    return split_reasoning(text).answer


def completion_scoring_text(completion: object, fmt: str) -> str:
    """`scoring_text` of a backend `Completion` (its text, and the reasoning when the server sent it apart)."""
    text = getattr(completion, "text", "") or ""
    separate = getattr(completion, "reasoning", None) if getattr(completion, "reasoning_separate", False) else None
    return scoring_text(text, fmt, separate)


def apply_stop(text: str, stop: Sequence[str]) -> str:
    """Cut `text` at the first stop string in its answer; a reasoning block and the whitespace after it are
    never cut (lm-eval strips both before it applies stop sequences). Without `</think>` all of it is answer."""
    if not stop:
        return text
    cut = text.rfind(THINK_CLOSE)
    start = 0
    if cut >= 0:  # the answer starts after </think> and the blank that follows it
        start = cut + len(THINK_CLOSE)
        start += len(text[start:]) - len(text[start:].lstrip())
    answer = text[start:]
    for s in stop:
        if s and s in answer:
            answer = answer[: answer.index(s)]
    return text[:start] + answer


def reasoning_token_count(ids: Sequence[int], decode: Callable[[Sequence[int]], str],
                          text: str | None = None) -> int | None:
    """Generated tokens up to and including the last `</think>` (None when the text has none).

    `decode` turns token ids into text as the backend decoded the completion. A binary search over
    decoded prefixes finds the first prefix that holds the whole reasoning block, so a `</think>` split
    over several tokens (tokenizers without a `</think>` token) is counted too. `text`: `decode(ids)`, when known.
    """
    full = decode(ids) if text is None else text
    cut = full.rfind(THINK_CLOSE)
    if cut < 0:
        return None
    lo, hi = 1, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if decode(ids[:mid]).rfind(THINK_CLOSE) >= cut:
            hi = mid
        else:
            lo = mid + 1
    return lo
