"""Read what `rest compare` compares, and write what it finds (the I/O side of harness/compare/paired_items.py).

A RUN is any of:
- a run directory of `rest eval` (summary.json + samples/*.jsonl);
- a per-sample file of `rest score ... --out` (`{"id", "category", "valid", "error_type"}` lines);
- BFCL result files made elsewhere (`bfcl generate`'s `{"id", "result"}` lines, or a folder of them),
  scored here by the same checkers `rest score bfcl` uses, so "does my run match the published
  one" is one command.
BFCL items are keyed by the task names `rest eval` uses (`bfcl:<category>`), so a run of ours and
a BFCL result file compare item by item.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.compare.paired_items import compare_runs, prompt_diff, settings_diff, unrecorded
from harness.records import RunSummary, SampleRecord
from harness.rundir.store import RunStore
from harness.types import UserError


@dataclass
class LoadedRun:
    """A run as `rest compare` sees it: a label, its settings (empty for files), samples per task."""

    label: str
    summary: RunSummary
    samples: dict[str, list[SampleRecord]] = field(default_factory=dict)
    kind: str = "run"  # "run", "scored file" or "bfcl result files"


def load_run(spec: str, bfcl_format: str = "prompting") -> LoadedRun:
    path = Path(spec).expanduser()
    if not path.exists():
        raise UserError(f"{spec}: no such run directory or file")
    if path.is_dir() and (path / "summary.json").is_file():
        return _run_dir(path)
    if path.is_dir() and (path / "samples").is_dir():
        return _run_dir(path)
    files = sorted(path.rglob("*.json*")) if path.is_dir() else [path]
    if not files:
        raise UserError(f"{spec}: a folder with neither summary.json nor result files")
    first = _first_object(files[0])
    if "valid" in first:
        return _scored_file(path, files)
    if "result" in first:
        return _bfcl_files(path, files, bfcl_format)
    raise UserError(f"{files[0]}: lines are neither per-sample verdicts (id, valid) nor BFCL results (id, result)")


def _run_dir(path: Path) -> LoadedRun:
    store = RunStore(path)
    raw = store.read_json("summary.json")
    summary = RunSummary.from_json(raw) if raw else RunSummary()
    tasks = list(summary.tasks) or [p.stem.replace("__", ":") for p in sorted(store.samples_dir.glob("*.jsonl"))]
    samples = {}
    for task in tasks:
        if store.holds(task):
            samples[task] = [SampleRecord.from_json(r) for r in store.load(task, repair=False)]  # read only
    if not samples:
        raise UserError(f"{path}: the run holds no samples")
    return LoadedRun(summary.model or path.name, summary, samples)


def _first_object(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    if isinstance(obj, dict):
                        return obj
                    break
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    raise UserError(f"{path}: no JSON object lines")


def _bfcl_task(category: str) -> str:
    return f"bfcl:{category}"


def _scored_file(path: Path, files: list[Path]) -> LoadedRun:
    samples: dict[str, list[SampleRecord]] = {}
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                task = row.get("task") or _bfcl_task(row["category"])
                rec = SampleRecord(str(row["id"]), task, valid=bool(row["valid"]), error_type=row.get("error_type"))
            except (ValueError, KeyError, TypeError, AttributeError):
                raise UserError(f"{f}:{n}: not a per-sample verdict line (id, category or task, valid)") from None
            samples.setdefault(task, []).append(rec)
    return LoadedRun(path.name, RunSummary(model=path.name), samples, "scored file")


def _bfcl_files(path: Path, files: list[Path], fmt: str) -> LoadedRun:
    from harness.bfcl.scorefile import read_result_files, score_lines

    rows = score_lines(read_result_files([str(f) for f in files]), fmt)
    samples: dict[str, list[SampleRecord]] = {}
    for row in rows:
        task = _bfcl_task(row["category"])
        samples.setdefault(task, []).append(SampleRecord(row["id"], task, format=fmt, valid=bool(row["valid"]),
                                                         error_type=row["error_type"]))
    return LoadedRun(path.name, RunSummary(model=path.name, format=fmt), samples, "bfcl result files")


# ---------------------------------------------------------------- the comparison as a document

def comparison(a: LoadedRun, b: LoadedRun, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Everything `rest compare` reports, as plain JSON-ready data."""
    results = compare_runs(a.samples, b.samples, n_boot, seed)
    if not results:
        raise UserError(f"{a.label} and {b.label} share no task: nothing to compare "
                        f"({', '.join(a.samples)} vs {', '.join(b.samples)})")
    both = a.kind == "run" and b.kind == "run"
    return {
        "a": {"label": a.label, "kind": a.kind}, "b": {"label": b.label, "kind": b.kind},
        "tasks": [r.to_json() for r in results],
        "settings_diff": [{"setting": k, "a": va, "b": vb} for k, va, vb in settings_diff(a.summary, b.summary)]
        if both else [],
        "model_diff": [{"setting": k, "a": va, "b": vb} for k, va, vb in settings_diff(a.summary, b.summary, True)]
        if both else [],
        "unrecorded": dict(zip(("a", "b"), unrecorded(a.summary, b.summary), strict=True)) if both else {},
        "prompt_diff": prompt_diff(a.samples, b.samples),
        "only_in_a": sorted(set(a.samples) - set(b.samples)), "only_in_b": sorted(set(b.samples) - set(a.samples)),
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _p(p: float | None) -> str:
    return "-" if p is None else ("<0.0001" if p < 1e-4 else f"{p:.4f}")


def rows(doc: dict[str, Any]) -> list[list[str]]:
    """Table rows: task, n, acc a, acc b, delta, 95% CI, p, a-only, b-only."""
    out = []
    for t in doc["tasks"]:
        ci = t["ci95"]
        out.append([t["name"], str(t["n_items"]), _pct(t["acc_a"]), _pct(t["acc_b"]),
                    ("-" if t["delta"] is None else f"{100 * t['delta']:+.2f}"),
                    ("-" if ci is None else f"{100 * ci[0]:+.1f} .. {100 * ci[1]:+.1f}"), _p(t["p"]),
                    str(t["a_only"]), str(t["b_only"])])
    return out


HEADER = ["task", "items", "A %", "B %", "B-A pts", "95% CI (paired)", "p", "A only", "B only"]


def notes(doc: dict[str, Any]) -> list[str]:
    """Sentences on comparability: settings and prompts that differ, items or tasks not shared."""
    out = []
    if doc.get("model_diff"):
        out.append("models compared: " + "; ".join(f"{d['setting']} {d['a']!r} -> {d['b']!r}"
                                                    for d in doc["model_diff"] if d["setting"] != "model"))
    elif doc["a"]["kind"] == doc["b"]["kind"] == "run":
        out.append("both runs name the same model, so differences come from the settings below")
    if doc["settings_diff"]:
        out.append("the runs were not made the same way: " + "; ".join(
            f"{d['setting']} {d['a']!r} -> {d['b']!r}" for d in doc["settings_diff"][:12]))
    for side in ("a", "b"):
        missing = (doc.get("unrecorded") or {}).get(side) or []
        if missing:
            out.append(f"{side.upper()} did not record {len(missing)} setting(s) the other did (an older harness?), "
                       f"so they cannot be compared: {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}")
    changed = {t: n for t, n in doc["prompt_diff"].items() if n}
    if changed:
        out.append("different prompts on common items: " + ", ".join(f"{t}: {n}" for t, n in changed.items()))
    for t in doc["tasks"]:
        if t["only_in_a"] or t["only_in_b"]:
            out.append(f"{t['name']}: {t['only_in_a']} items only in A, {t['only_in_b']} only in B (left out)")
    if doc["only_in_a"] or doc["only_in_b"]:
        out.append(f"tasks not in both runs (left out): {', '.join(doc['only_in_a'] + doc['only_in_b'])}")
    return out


def markdown(doc: dict[str, Any], max_ids: int = 10) -> str:
    lines = [f"# {doc['b']['label']} (B) vs {doc['a']['label']} (A)", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows(doc)]
    lines.append("")
    for note in notes(doc):
        lines.append(f"- {note}")
    for t in doc["tasks"]:
        for side, title in (("b_better", "right in B only"), ("a_better", "right in A only")):
            groups = t["flips"][side]
            if groups and t["name"] != "all":
                lines.append(f"\n**{t['name']}: {title}**, by the other run's error")
                for err, ids in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                    more = f" (+{len(ids) - max_ids} more)" if len(ids) > max_ids else ""
                    lines.append(f"- `{err}` ({len(ids)}): {', '.join(ids[:max_ids])}{more}")
    return "\n".join(lines) + "\n"
