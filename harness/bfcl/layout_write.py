"""Put BFCL's own layout on disk: `result/`, `score/` and the `data_*.csv` tables, as `bfcl evaluate` leaves them.

The thin shell around `harness.bfcl.layout`. As in BFCL, a directory accumulates: score files of
other models and of categories scored earlier are kept, and the tables are rebuilt from every
score file under `score/`, so scoring non-live today and live tomorrow into one DIR gives the same
tables as scoring both at once. Entry points: `write_layout` (scored rows, from `rest score bfcl`)
and `write_bfcl_layout` (a `rest eval` run directory, or rows).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.bfcl.categories import SHIPPED_COUNTS
from harness.bfcl.data import VERSION_PREFIX
from harness.bfcl.layout import ModelScores, render_csv, score_files, tables
from harness.bfcl.scorefile import group_dir, record_result, write_result_files
from harness.types import UserError

_SCORE_FILE = re.compile(rf"{VERSION_PREFIX}_(\w+?)_score\.json$")


def model_dir_name(model: str) -> str:
    """BFCL's folder name for a model: "/" becomes "_" (a name that is no folder is refused)."""
    folder = model.replace("/", "_")
    if folder.strip(".") == "" or "\0" in folder or "\\" in folder:
        raise UserError(f"model name {model!r} cannot be a folder of BFCL's layout")
    return folder


def check_layout_dir(out_dir: str | Path) -> Path:
    """The layout root, refused when it is a file (checked before any scoring work)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"--bfcl-layout {out} is a file; give a directory")
    return out


def write_layout(out_dir: str | Path, model: str, rows: list[dict[str, Any]], *,
                 results: list[dict[str, Any]] | None = None, display_name: str | None = None) -> list[Path]:
    """Write one model's scored rows (and its result lines, when given) into BFCL's layout under out_dir.

    `rows`: `{"id", "category", "valid", "error_type", "errors", "result", "decoded"}` per entry (the
    last four optional); `results`: `{"id", "result", ...}` lines for `result/` (their `latency` also
    fills the cost and latency cells). Returns the files written, tables included.
    """
    out = check_layout_dir(out_dir)
    unknown = sorted({r["category"] for r in rows} - set(SHIPPED_COUNTS))
    if unknown:
        raise UserError(f"BFCL's layout has no place for categories {', '.join(unknown)}")
    folder = model_dir_name(model)
    written: list[Path] = []
    try:
        if results:
            written += write_result_files(results, out, model)
        for category, lines in score_files(rows, folder).items():
            path = out / "score" / folder / group_dir(category) / f"{VERSION_PREFIX}_{category}_score.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(x, ensure_ascii=False, default=str) + "\n" for x in lines),
                            encoding="utf-8")
            written.append(path)
        latencies = [r.get("latency") for r in results or []]
        written += write_tables(out, {folder: (display_name or model, latencies)})
    except OSError as exc:
        raise UserError(f"cannot write BFCL's layout under {out}: {exc.strerror or exc}") from None
    return written


def read_score_headers(score_dir: Path) -> dict[str, dict[str, tuple[int, int]]]:
    """{model folder: {category: (correct, total)}} from the first line of every score file, as BFCL reads them."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    if not score_dir.is_dir():
        return out
    for model in sorted(p for p in score_dir.iterdir() if p.is_dir()):
        counts: dict[str, tuple[int, int]] = {}
        for path in sorted(model.rglob(f"{VERSION_PREFIX}_*_score.json")):
            match = _SCORE_FILE.search(path.name)
            if not match or match.group(1) not in SHIPPED_COUNTS:
                continue  # format_sensitivity and the like: not in these tables
            try:
                header = json.loads(path.read_text(encoding="utf-8").split("\n", 1)[0])
                counts[match.group(1)] = (int(header["correct_count"]), int(header["total_count"]))
            except (OSError, ValueError, KeyError, TypeError, IndexError):
                raise UserError(f"{path}: not a BFCL score file (first line: accuracy, correct_count, "
                                "total_count)") from None
        if counts:
            out[model.name] = counts
    return out


def write_tables(out: Path, this_run: dict[str, tuple[str, list[Any]]]) -> list[Path]:
    """Rebuild the data_*.csv tables from every score file under out/score.

    `this_run`: model folder -> (name shown, latencies) for the models scored now; the others are
    shown by folder name with N/A cost and latency, as BFCL shows models it did not evaluate in a run.
    """
    headers = read_score_headers(out / "score")
    models = []  # the models scored now first, as BFCL lists them (rank ties keep this order)
    for folder in sorted(headers, key=lambda f: (f not in this_run, f)):
        shown, latencies = this_run.get(folder, (folder, []))
        models.append(ModelScores(shown, headers[folder], latencies=list(latencies)))
    paths = []
    for name, rows in tables(models).items():
        path = out / "score" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_csv(rows), encoding="utf-8")
        paths.append(path)
    return paths


def write_bfcl_layout(source: str | Path | Iterable[dict[str, Any]], out_dir: str | Path, *,
                      model: str | None = None, display_name: str | None = None) -> list[Path]:
    """BFCL's layout from a `rest eval` run directory (its `bfcl:*` tasks) or from scored rows.

    A run gives each item's first sample (the one its result files hold); a failed generation counts
    as wrong, as in the run's summary, so the tables equal summary.json's figures. The model name
    defaults to the run's (without its "(backend)" suffix); rows need `model`.
    """
    if isinstance(source, str | Path):
        label, rows, results = run_rows(Path(source))
        name = model or label.split(" (")[0]
        return write_layout(out_dir, name, rows, results=results, display_name=display_name or name)
    if not model:
        raise UserError("write_bfcl_layout: rows need a model name")
    rows = list(source)
    for row in rows:
        row.setdefault("category", _category(row["id"]))
    results = [{"id": r["id"], "result": r["result"], **({"latency": r["latency"]} if "latency" in r else {})}
               for r in rows if "result" in r]
    return write_layout(out_dir, model, rows, results=results or None, display_name=display_name)


def run_rows(run_dir: Path) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """(model label, scored rows, result lines) of a run's BFCL tasks, read without repairing anything."""
    from harness.rundir.store import RunStore

    store = RunStore(run_dir)
    summary = store.read_json("summary.json")
    tasks = [t for t in summary.get("tasks") or {} if isinstance(t, str) and t.startswith("bfcl:")]
    if not tasks:
        raise UserError(f"{run_dir} holds no summary.json with BFCL tasks (run `rest eval` there, "
                        "or `--summarize-only` for an interrupted run)")
    rows: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for task in tasks:
        category = task.split(":", 1)[1]
        first = {r["id"]: r for r in store.load(task, repair=False) if not r.get("repeat")}  # last write wins
        for r in first.values():
            result = record_result(r, category)
            rows.append({"id": r["id"], "category": category, "valid": bool(r.get("valid")) and not r.get("backend_error"),
                         "error_type": "generation_failed" if r.get("backend_error") else r.get("error_type"),
                         "errors": [r["backend_error"]] if r.get("backend_error") else r.get("errors") or [],
                         "result": result, "decoded": r.get("decoded")})
            results.append({"id": r["id"], "result": result, "input_token_count": r.get("prompt_tokens"),
                            "output_token_count": r.get("completion_tokens"), "latency": r.get("latency_s")})
    return str(summary.get("model") or run_dir.name), rows, results


def _category(test_id: str) -> str:
    from harness.bfcl.data import category_of

    return category_of(test_id)

