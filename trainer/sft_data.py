"""Supervised training rows: read, length-filter, drop held-out items, shuffle, cut; then TRL's dataset shape."""

from __future__ import annotations

from typing import Any

from harness.types import UserError
from trainer.data import apply_holdout, rows_with_ids
from trainer.data_prep import filter_by_length, shuffle


def prepare_rows(cfg: Any, tokenizer: Any, log: Any = print) -> list[dict[str, Any]]:
    """Load, length-filter, drop held-out items (`trainer.data.apply_holdout`: the rule RL uses too),
    shuffle and cut the training rows."""
    d = cfg.data
    rows, report = filter_by_length(rows_with_ids(d.train), tokenizer, d.max_tokens, d.length_mode)
    log(report.line(d.train))
    if not rows:
        raise UserError(f"data: no row of {d.train} fits in data.max_tokens={d.max_tokens} tokens")
    rows = apply_holdout(rows, d.train, d.holdout, d.exclude_holdout, log)  # on the rows really trained on
    if not rows:
        raise UserError(f"data: every row of {d.train} that fits is a held-out item; nothing left to train on")
    if d.shuffle_seed is not None:
        rows = shuffle(rows, d.shuffle_seed)
    return rows[: d.limit] if d.limit else rows


def to_sft_dataset(rows: list[dict[str, Any]]):
    """Conversational prompt-completion rows, the shape TRL trains on the completion only."""
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": r["prompt"], "completion": [{"role": "assistant", "content": r["ground_truth"]}]} for r in rows
    ])
