"""What one finished checkpoint evaluation leaves behind, whatever mode ran it.

A metrics.jsonl line at the checkpoint's step (`eval/<task>` accuracies, or an
`eval_error`), the same values in W&B when a run is active, error.txt beside a
failed evaluation, and the run's board rebuilt with the checkpoint as a row.
Nothing here raises: training goes on.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def metrics_from_summary(summary: dict[str, Any], prefix: str = "eval/") -> dict[str, float]:
    """Flat scalar metrics: `eval/<task>` accuracy per task, `eval/<benchmark>/overall` per aggregate."""
    out: dict[str, float] = {}
    for task, s in (summary.get("tasks") or {}).items():
        if s.get("accuracy") is not None:
            out[f"{prefix}{task}"] = float(s["accuracy"])
    for bench, agg in (summary.get("aggregates") or {}).items():
        overall = (agg or {}).get("overall") if isinstance(agg, dict) else None
        if isinstance(overall, dict):
            val = overall.get("accuracy", overall.get("value"))
            if isinstance(val, (int, float)):
                out[f"{prefix}{bench}/overall"] = float(val)
    return out


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    """One JSON object per line with a "step" key (shared with trainer/metrics.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()


def record_evaluation(output_dir: Path, step: int, ckpt: Path, summary: dict[str, Any] | None,
                      error: BaseException | None, t0: float, board_n_boot: int | None = 200) -> dict[str, Any]:
    """metrics.jsonl line (at the checkpoint's step), W&B and board (unless `board_n_boot` is None) for one
    finished evaluation started at `t0` (perf_counter); returns the metrics record."""
    record: dict[str, Any] = {"step": step, "checkpoint": ckpt.name}
    if error is None and summary is not None:
        record.update(metrics_from_summary(summary))
    else:
        error = error or RuntimeError("the evaluation produced no summary")
        record["eval_error"] = f"{type(error).__name__}: {error}"[:500]
        try:
            (ckpt / "eval").mkdir(parents=True, exist_ok=True)
            (ckpt / "eval" / "error.txt").write_text(
                "".join(traceback.format_exception(type(error), error, error.__traceback__)))
        except OSError:
            pass
        print(f"[eval] checkpoint-{step} evaluation failed: {record['eval_error']}", file=sys.stderr)
    record["eval_wall_s"] = round(time.perf_counter() - t0, 3)
    append_metrics(output_dir / "metrics.jsonl", record)
    _log_wandb(record)
    if board_n_boot is not None and "eval_error" not in record:
        try:
            from harness.leaderboard.build import build_board_files

            build_board_files([output_dir], output_dir / "leaderboard", name=output_dir.name, n_boot=board_n_boot)
        except Exception as exc:  # the board is a convenience; the summary is already on disk
            print(f"[eval] leaderboard update failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return record


def _log_wandb(record: dict[str, Any]) -> None:
    try:
        import wandb
    except ImportError:
        return
    if wandb.run is None:
        return
    payload: dict[str, Any] = {k: v for k, v in record.items() if k.startswith("eval/")}
    if "eval_error" in record:
        payload["eval/error"] = 1
    payload["train/global_step"] = record["step"]  # the step metric transformers' WandbCallback defines
    wandb.run.log(payload)
