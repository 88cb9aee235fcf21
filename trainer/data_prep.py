"""Data preparation for supervised and RL runs: length filter, seeded shuffles and splits, contamination check.

Pure functions over rlla rows (`{"id"?, "prompt": [messages], "ground_truth"}`);
the tokenizer is the only outside object. Why each exists:

- `filter_by_length`: a sequence that does not fit is truncated by the trainer
  and teaches a cut-off answer; dropping it instead, and saying how many
  survive, keeps the data honest and the count reproducible.
- `shuffle` / `split`: `random.Random(seed)`, never the global RNG, so a seed
  gives the same order on every machine and Python run.
- `check_contamination`: an evaluation item in the training set inflates every
  number reported on it; checked by id and by exact prompt text, fails loudly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.types import UserError

Row = dict[str, Any]


# ---------------------------------------------------------------- length filter


def sequence_length(tokenizer: Any, row: Row, mode: str = "chat") -> int:
    """Tokens of prompt + answer. `chat`: the chat-templated training sequence (prompt, assistant turn and its
    end-of-turn marker), what the model is trained on; `raw`: the system, user and answer texts tokenized
    separately and summed (no template, no special tokens)."""
    if mode == "chat":
        messages = [*row["prompt"], {"role": "assistant", "content": row["ground_truth"]}]
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])
    if mode == "raw":
        texts = [m["content"] for m in row["prompt"]] + [row["ground_truth"]]
        return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    raise UserError(f"length mode {mode!r}: expected chat or raw")


@dataclass(frozen=True)
class LengthReport:
    total: int
    kept: int
    max_tokens: int | None
    mode: str
    longest_kept: int
    shortest: int

    def line(self, name: str = "data") -> str:
        limit = "no limit" if self.max_tokens is None else f"<= {self.max_tokens} tokens ({self.mode})"
        return f"{name}: {self.kept} of {self.total} rows kept ({limit}); shortest {self.shortest}, longest kept {self.longest_kept}"


def filter_by_length(rows: Sequence[Row], tokenizer: Any, max_tokens: int | None, mode: str = "chat") -> tuple[list[Row], LengthReport]:
    """Rows whose prompt + answer fit in `max_tokens` (order kept), and how many survived."""
    lengths = [sequence_length(tokenizer, r, mode) for r in rows]
    kept = [r for r, n in zip(rows, lengths, strict=True) if max_tokens is None or n <= max_tokens]
    kept_lengths = [n for n in lengths if max_tokens is None or n <= max_tokens]
    report = LengthReport(total=len(rows), kept=len(kept), max_tokens=max_tokens, mode=mode,
                          longest_kept=max(kept_lengths, default=0), shortest=min(lengths, default=0))
    return kept, report


# ---------------------------------------------------------------- shuffles and splits


def shuffle(rows: Sequence[Row], seed: int) -> list[Row]:
    """A new list in a seeded order (same seed, same order, everywhere)."""
    out = list(rows)
    random.Random(seed).shuffle(out)
    return out


def split(rows: Sequence[Row], held_out: int | float, seed: int | None = None) -> tuple[list[Row], list[Row]]:
    """(train, held-out): the last `held_out` rows (a count, or a fraction in (0, 1)) after an optional seeded shuffle."""
    data = shuffle(rows, seed) if seed is not None else list(rows)
    n = int(held_out * len(data)) if isinstance(held_out, float) and 0 < held_out < 1 else int(held_out)
    if not 0 <= n <= len(data):
        raise UserError(f"split: cannot hold out {held_out} of {len(data)} rows")
    return (data[: len(data) - n], data[len(data) - n :]) if n else (data, [])


# ---------------------------------------------------------------- contamination


def prompt_text(row: Row) -> str:
    """The exact prompt as one string (roles and contents, nothing normalised)."""
    return json.dumps([[m["role"], m["content"]] for m in row["prompt"]], ensure_ascii=False)


def find_overlap(train: Sequence[Row], evaluation: Sequence[Row]) -> list[tuple[str, str]]:
    """[(how, what)] for every evaluation row found in `train`: ("id", id) or ("prompt", its id or position)."""
    train_ids = {str(r["id"]) for r in train if r.get("id") is not None}
    train_prompts = {prompt_text(r) for r in train}
    hits: list[tuple[str, str]] = []
    for i, r in enumerate(evaluation):
        rid = r.get("id")
        if rid is not None and str(rid) in train_ids:
            hits.append(("id", str(rid)))
        elif prompt_text(r) in train_prompts:
            hits.append(("prompt", str(rid) if rid is not None else f"#{i}"))
    return hits


def check_contamination(train: Sequence[Row], evaluation: Sequence[Row], train_name: str = "train",
                        eval_name: str = "eval") -> None:
    """Raise a UserError if any evaluation row is in the training rows (same id, or the exact same prompt)."""
    hits = find_overlap(train, evaluation)
    if hits:
        by_id = sum(1 for how, _ in hits if how == "id")
        examples = ", ".join(f"{what} ({how})" for how, what in hits[:3])
        raise UserError(
            f"contamination: {len(hits)} of {len(evaluation)} {eval_name} items are in {train_name} "
            f"({by_id} by id, {len(hits) - by_id} by exact prompt), e.g. {examples}; remove them from the training data"
        )
