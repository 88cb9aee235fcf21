"""Find run summaries on disk and read their per-item outcomes (the I/O side of a board).

A RESULT_DIR may be one run directory (summary.json), a parent of many, or a
training output dir whose checkpoints hold `checkpoint-N/eval/summary.json`.
Outcomes (0/1 per scored item) come from samples/*.jsonl so bootstrap
intervals resample real items; when the sample file no longer matches the
summary's counts (or is gone, or unreadable) the counts themselves are used: a
within-category bootstrap of 0/1 outcomes has the same distribution either way
(only the count matters), so the interval is equally valid.

A summary is a file anyone may have edited: every field a board reads is
type-checked first (`check_summary`), so a wrong type is one line naming the
file and the field, not a traceback from deep inside the board.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from harness.records import SUMMARY_SCHEMA, RunSummary
from harness.rundir.store import RunStore
from harness.types import UserError

_CKPT = re.compile(r"^checkpoint-(\d+)$")
_SKIP_DIRS = {"leaderboard", "leaderboards", "samples", "native", ".git"}


def find_summaries(root: Path) -> list[Path]:
    """summary.json files under `root` (itself first), skipping board outputs and sample folders."""
    root = Path(root)
    if not root.exists():
        raise UserError(f"result directory {root} does not exist")
    if (root / "summary.json").is_file():
        return [root / "summary.json"]
    found = []
    for path in sorted(root.rglob("summary.json")):
        rel = path.relative_to(root).parts[:-1]
        if not any(part in _SKIP_DIRS for part in rel):
            found.append(path)
    return found


def checkpoint_of(run_dir: Path) -> tuple[str, int] | None:
    """(training run name, step) when `run_dir` is `<train>/checkpoint-N/eval`."""
    m = _CKPT.match(run_dir.parent.name)
    if run_dir.name == "eval" and m:
        return run_dir.parent.parent.name, int(m.group(1))
    return None


def task_outcomes(run_dir: Path, task: str, counts: dict[str, Any]) -> tuple[list[int], str]:
    """Per-item 0/1 outcomes of `task` and where they came from ("samples" or "counts")."""
    correct, total = int(counts.get("correct") or 0), int(counts.get("total") or 0)
    try:
        records = [r for r in RunStore(run_dir).load(task, repair=False) if not r.get("backend_error")]
    except UserError:  # no readable sample line: the counts stand in
        records = []
    outcomes = [1 if r.get("valid") else 0 for r in records]
    if len(outcomes) == total and sum(outcomes) == correct:
        return outcomes, "samples"
    return [1] * correct + [0] * (total - correct), "counts"


def load_run(summary_path: Path) -> dict[str, Any] | None:
    """One run for `board.make_board` (its summary a `RunSummary`); None if the file is not a harness summary."""
    try:
        data = json.loads(Path(summary_path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise UserError(f"cannot read {summary_path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SUMMARY_SCHEMA:
        return None
    check_summary(data, summary_path)
    summary = RunSummary.from_json(data)
    run_dir = Path(summary_path).parent
    ckpt = checkpoint_of(run_dir)
    outcomes, origins = {}, {}
    for task, counts in (data.get("tasks") or {}).items():
        outcomes[task], origins[task] = task_outcomes(run_dir, task, counts)
    if ckpt:
        group, step = ckpt
        run_id, label = f"{group}/checkpoint-{step}", f"{group} @ step {step}"
    else:
        group, step = None, None
        run_id, label = run_dir.name, run_dir.name
    unit = run_dir.parent.parent if ckpt else run_dir  # the training run or the eval run
    return {"id": run_id, "label": label, "model": summary.model or "", "run_group": group, "step": step,
            "source": str(run_dir), "parent": unit.resolve().parent.name, "summary": summary, "outcomes": outcomes, "outcome_origin": origins}


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def check_summary(summary: dict[str, Any], path: Path) -> None:
    """The fields a board reads must have the types the harness writes; else one UserError naming the field.

    NaN and infinity pass here: the board refuses them itself, naming the row (harness/leaderboard/escape.py).
    """
    def refuse(field: str, want: str, value: Any) -> UserError:
        return UserError(f"{path}: {field} must be {want}, got {json.dumps(value)[:80]}; fix or remove that summary.json")

    for field in ("model", "format", "finished_at"):
        value = summary.get(field)
        if value is not None and not isinstance(value, str) and not _non_finite(value):
            raise refuse(field, "a string", value)
    if summary.get("limit") is not None and not (_count(summary["limit"]) or _non_finite(summary["limit"])):
        raise refuse("limit", "a non-negative integer or null", summary["limit"])
    backend = summary.get("backend")
    if backend is not None and not (isinstance(backend, dict) and isinstance(backend.get("backend", ""), (str, type(None)))):
        raise refuse("backend", "an object with a string 'backend'", backend)
    tasks = summary.get("tasks")
    if tasks is None:
        return
    if not isinstance(tasks, dict):
        raise refuse("tasks", "an object of per-task counts", tasks)
    for name, counts in tasks.items():
        if not isinstance(counts, dict):
            raise refuse(f"tasks.{name}", "an object of counts", counts)
        for key in ("correct", "total", "failed", "planned", "available"):
            if counts.get(key) is not None and not _count(counts[key]):
                raise refuse(f"tasks.{name}.{key}", "a non-negative integer", counts[key])
        if (counts.get("correct") or 0) > (counts.get("total") or 0):
            raise refuse(f"tasks.{name}.correct", f"at most total ({counts.get('total') or 0})", counts["correct"])


def collect(result_dirs: list[Path]) -> list[dict[str, Any]]:
    """All runs under the given directories, ids made unique by prefixing their parent folder."""
    runs: list[dict[str, Any]] = []
    seen_paths: set[Path] = set()
    for root in result_dirs:
        paths = find_summaries(Path(root))
        loaded = []
        for p in paths:
            if p.resolve() in seen_paths:
                continue
            seen_paths.add(p.resolve())
            run = load_run(p)
            if run is not None:
                loaded.append(run)
        if not loaded:
            raise UserError(f"no run summaries (summary.json, schema {SUMMARY_SCHEMA}) found under {root}")
        runs.extend(loaded)
    ids: dict[str, int] = {}
    for run in runs:
        ids[run["id"]] = ids.get(run["id"], 0) + 1
    for run in runs:
        if ids[run["id"]] > 1:
            run["id"] = f"{run['parent']}/{run['id']}"
            if run["step"] is None:
                run["label"] = run["id"]
            else:
                run["run_group"] = f"{run['parent']}/{run['run_group']}"
                run["label"] = f"{run['run_group']} @ step {run['step']}"
    return runs
