"""Per-step metrics: OUTPUT_DIR/metrics.jsonl (always) and W&B (when configured).

The trainer puts everything it measures (TRL's reward, loss, entropy, clip
ratios; our `rest/*` region shares, weights, entropies and
`reward/frac_groups_with_variance`) into the Trainer's log dict; this callback
appends each log dict as one JSON line, so a run can be plotted or checked
without W&B. W&B itself is TRL's own integration (`report_to="wandb"`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None  # JSON has no NaN/inf; an empty metric is null
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


class JsonlMetricsCallback(TrainerCallback):
    """Appends `{"step", "epoch", **logs}` to `path` at every logging step (main process only)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": _clean(state.epoch)}
        record.update({k: _clean(v) for k, v in logs.items()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(record, sort_keys=False) + "\n")


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl (tests, reports)."""
    p = Path(path)
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()] if p.is_file() else []


def wandb_report_to(wandb_cfg: Any, output_dir: str | Path) -> str | list[str]:
    """`report_to` for GRPOConfig; sets the W&B env (project, mode, dir) when enabled."""
    if not getattr(wandb_cfg, "enabled", False):
        return "none"
    os.environ.setdefault("WANDB_PROJECT", wandb_cfg.project)
    if wandb_cfg.mode:
        os.environ["WANDB_MODE"] = wandb_cfg.mode
    os.environ.setdefault("WANDB_DIR", str(output_dir))
    return ["wandb"]
