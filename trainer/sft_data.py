"""Supervised training rows: read, drop held-out items, length-filter, shuffle, cut; then TRL's dataset shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.types import UserError


def rows_with_ids(spec: str) -> list[dict[str, Any]]:
    """rlla rows with ids of a file, alias or hub dataset (trainer.data reads, harness.toolrl_data converts)."""
    from harness.toolrl_data import to_row
    from trainer.data import read_records, resolve_data_spec

    _, loc = resolve_data_spec(spec)
    stem = Path(loc).stem if "/" in loc and Path(loc).exists() else loc
    return [to_row(r, i, stem) for i, r in enumerate(read_records(spec))]


def prepare_rows(cfg: Any, tokenizer: Any, log: Any = print) -> list[dict[str, Any]]:
    """Load, contamination-check against `data.holdout`, length-filter, shuffle and cut the training rows."""
    from trainer.data_prep import check_contamination, filter_by_length, prompt_text, shuffle

    d = cfg.data
    rows, report = filter_by_length(rows_with_ids(d.train), tokenizer, d.max_tokens, d.length_mode)
    log(report.line(d.train))
    if not rows:
        raise UserError(f"data: no row of {d.train} fits in data.max_tokens={d.max_tokens} tokens")
    for spec in d.holdout:  # checked on the rows that will really be trained on
        held = rows_with_ids(spec)
        if d.exclude_holdout:
            hit = {prompt_text(r) for r in held} | {"id:" + str(r["id"]) for r in held}
            before = len(rows)
            rows = [r for r in rows if prompt_text(r) not in hit and "id:" + str(r["id"]) not in hit]
            log(f"data: dropped {before - len(rows)} training rows that are items of {spec} (data.exclude_holdout)")
        try:
            check_contamination(rows, held, train_name=d.train, eval_name=spec)
        except UserError as exc:
            raise UserError(f"{exc} (data.exclude_holdout=false; true drops them)") from None
    if d.shuffle_seed is not None:
        rows = shuffle(rows, d.shuffle_seed)
    return rows[: d.limit] if d.limit else rows


def to_sft_dataset(rows: list[dict[str, Any]]):
    """Conversational prompt-completion rows, the shape TRL trains on the completion only."""
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": r["prompt"], "completion": [{"role": "assistant", "content": r["ground_truth"]}]} for r in rows
    ])
