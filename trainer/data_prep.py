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
  `drop_overlap` is the same test used to remove such items instead (the
  default of both trainers: a preset must run, and says how many it dropped).
  Optionally also by the user's own words (`by_question`), for benchmarks whose
  prompts are rendered differently from the training file (BFCL's tool docs are
  not ToolRL's system prompt, so the same question never has the same prompt).
"""

from __future__ import annotations

import json
import random
import re
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


_USER_TURN = re.compile(r"<user>(.*?)</user>", re.DOTALL)


def user_turns(row: Row) -> tuple[str, ...]:
    """The user's own words, in order, stripped: the `<user> .. </user>` turns of ToolRL's dialogue-history
    message (rlla rows, ToolRL's API-Bank items), else the whole text of each user message (BFCL questions)."""
    turns: list[str] = []
    for m in row["prompt"]:
        if m["role"] == "user":
            tagged = _USER_TURN.findall(m["content"])
            turns.extend(t.strip() for t in tagged) if tagged else turns.append(m["content"].strip())
    return tuple(turns)


def _keys(row: Row, by_question: bool) -> list[tuple[str, str]]:
    """What identifies a row, strongest first: ("id", id), ("prompt", exact prompt), ("question", user turns)."""
    keys = [("id", str(row["id"]))] if row.get("id") is not None else []
    keys.append(("prompt", prompt_text(row)))
    if by_question and any(user_turns(row)):
        keys.append(("question", json.dumps(user_turns(row), ensure_ascii=False)))
    return keys


def find_overlap(train: Sequence[Row], evaluation: Sequence[Row], by_question: bool = False) -> list[tuple[str, str]]:
    """[(how, what)] for every evaluation row found in `train`: ("id", id) or ("prompt" | "question", its id or
    position). `by_question` also matches rows whose user turns are the same words (`user_turns`)."""
    train_keys = {k for r in train for k in _keys(r, by_question)}
    hits: list[tuple[str, str]] = []
    for i, r in enumerate(evaluation):
        rid = r.get("id")
        how = next((k[0] for k in _keys(r, by_question) if k in train_keys), None)
        if how:
            hits.append((how, str(rid) if rid is not None else f"#{i}"))
    return hits


def drop_overlap(train: Sequence[Row], evaluation: Sequence[Row], by_question: bool = False) -> tuple[list[Row], int]:
    """(training rows that are no evaluation item, how many were dropped): the removal `find_overlap` checks for."""
    held = {k for r in evaluation for k in _keys(r, by_question)}
    kept = [r for r in train if not any(k in held for k in _keys(r, by_question))]
    return kept, len(train) - len(kept)


def check_contamination(train: Sequence[Row], evaluation: Sequence[Row], train_name: str = "train",
                        eval_name: str = "eval", by_question: bool = False) -> None:
    """Raise a UserError if any evaluation row is in the training rows (same id, or the exact same prompt;
    with `by_question`, also the same user turns)."""
    hits = find_overlap(train, evaluation, by_question)
    if hits:
        counts = {how: sum(1 for h, _ in hits if h == how) for how in ("id", "prompt", "question")}
        how = f"{counts['id']} by id, {counts['prompt']} by exact prompt"
        how += f", {counts['question']} by the same user question" if by_question else ""
        examples = ", ".join(f"{what} ({how})" for how, what in hits[:3])
        raise UserError(
            f"contamination: {len(hits)} of {len(evaluation)} {eval_name} items are in {train_name} "
            f"({how}), e.g. {examples}; remove them from the training data"
        )
