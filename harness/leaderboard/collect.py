"""Find run summaries on disk and read their per-item outcomes (the I/O side of a board).

A RESULT_DIR may be one run directory (summary.json), a parent of many, or a
training output dir whose checkpoints hold `checkpoint-N/eval/summary.json`
(and, optionally, the starting model's evaluation in `base/eval`).
Outcomes (0/1 per sample) come from samples/*.jsonl through
`RunStore.outcomes`, so bootstrap intervals resample real items; when the
sample file no longer matches the summary's counts (or is gone, or
unreadable) the counts themselves are used: a within-category bootstrap of
0/1 outcomes has the same distribution either way (only the count matters),
so the interval is equally valid. Paired comparisons need more than counts,
the items' ids: those come from the same files, and only where they match
the counts (else the board says "unpaired").

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

from harness.records import SUMMARY_SCHEMA, RunSummary, SampleRecord, TaskResult
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


def _slim(rec: dict[str, Any], task: str) -> SampleRecord:
    """What pairing and failure accounting read of a sample line (not its text: boards hold many runs)."""
    return SampleRecord(id=rec["id"], task=task, repeat=rec.get("repeat") if isinstance(rec.get("repeat"), int) else 0,
                        valid=bool(rec.get("valid")), error_type=rec.get("error_type") if isinstance(
                            rec.get("error_type"), str) else None, backend_error=rec.get("backend_error") or None)


def task_records(store: RunStore, task: str, result: TaskResult) -> list[SampleRecord] | None:
    """The task's samples (slim), or None when they are gone or no longer match the summary's counts.

    Only samples that agree with the counts the cells show may be paired item by item; otherwise
    the cell says "unpaired" rather than compare something other than what it displays.
    """
    try:
        records = [_slim(r, task) for r in store.load(task, repair=False)]  # a board never rewrites a run
    except UserError:
        return None
    failed = sum(1 for r in records if r.failed)
    correct = sum(1 for r in records if r.valid and not r.failed)
    if (correct, len(records) - failed, failed) != (int(result.correct or 0), int(result.total or 0),
                                                    int(result.failed or 0)):
        return None
    return records


def base_of(run_dir: Path) -> str | None:
    """The training run's name when `run_dir` is `<train>/base/eval` beside `checkpoint-N` folders (the start)."""
    train = run_dir.parent.parent
    if run_dir.name == "eval" and run_dir.parent.name == "base" and any(
            _CKPT.match(p.name) for p in train.iterdir() if p.is_dir()):
        return train.name
    return None


def load_run(summary_path: Path) -> dict[str, Any] | None:
    """One run for `board.make_board` (its summary a `RunSummary`); None if the file is not a harness summary.

    Besides the summary it holds, per task, the 0/1 outcomes the interval bootstrap resamples under
    either rule for failed generations (`outcomes`: wrong, the headline; `outcomes_excl_failed`),
    read by `RunStore.outcomes`, and the slim sample records (`records`, None where they do not
    match the counts) that paired comparisons read by item id.
    """
    try:
        data = json.loads(Path(summary_path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise UserError(f"cannot read {summary_path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SUMMARY_SCHEMA:
        return None
    check_summary(data, summary_path)
    summary = RunSummary.from_json(data)
    run_dir = Path(summary_path).parent
    store = RunStore(run_dir)
    outcomes, excl, records, origins = {}, {}, {}, {}
    for task, result in summary.tasks.items():
        correct, total, failed = int(result.correct or 0), int(result.total or 0), int(result.failed or 0)
        outcomes[task] = store.outcomes(task, correct, total + failed)
        excl[task] = store.outcomes(task, correct, total)
        records[task] = task_records(store, task, result)
        origins[task] = "samples" if records[task] is not None else "counts"
    ckpt = checkpoint_of(run_dir)
    base = None if ckpt else base_of(run_dir)
    if ckpt:
        group, step = ckpt
        run_id, label = f"{group}/checkpoint-{step}", f"{group} @ step {step}"
    elif base:
        group, step = base, 0
        run_id, label = f"{group}/base", f"{group} @ base"
    else:
        group, step = None, None
        run_id, label = run_dir.name, run_dir.name
    unit = run_dir.parent.parent if (ckpt or base) else run_dir  # the training run or the eval run
    return {"id": run_id, "label": label, "model": summary.model or "", "run_group": group, "step": step,
            "base": bool(base), "source": str(run_dir), "parent": unit.resolve().parent.name, "summary": summary,
            "outcomes": outcomes, "outcomes_excl_failed": excl, "records": records, "outcome_origin": origins}


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
                run["label"] = f"{run['run_group']} @ " + ("base" if run.get("base") else f"step {run['step']}")
    return runs
