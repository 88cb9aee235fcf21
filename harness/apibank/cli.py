"""`rest score apibank`: score API-Bank outputs produced elsewhere.

`--protocol toolrl` (default) reads ToolRL/ResT-style lines `{"id": "Level1_0",
"result": "<raw model text>"}` and scores them with our reimplementation of
their parser and SOFT MATCH, plus the strict column. `--protocol original`
hands `{"file", "sample_id", "pred"}` lines to the execution-based scorer in
`harness.apibank.original`. Every score comes from the given outputs only:
unlike ToolRL's generate.py, nothing from an earlier run is reused.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.apibank import data
from harness.apibank.toolrl_protocol import judge_toolrl, summarize
from harness.types import UserError


def add_score_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "apibank",
        help="score API-Bank outputs (ToolRL/ResT protocol or the original execution-based one)",
        description="Score API-Bank model outputs. toolrl: JSONL lines {\"id\": \"Level1_0\", \"result\": TEXT}, "
        "scored like ToolRL/ResT (last <tool_call> block, any call equal to the gold call; overall = "
        "micro-average over items) plus a strict column (first block, exactly one call). original: JSONL "
        "lines {\"file\", \"sample_id\", \"pred\"} executed against the API-Bank APIs.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="JSONL output files (several are concatenated)")
    p.add_argument("--protocol", choices=["toolrl", "original"], default="toolrl",
                   help="toolrl (default; what ToolRL and ResT report) or original (API-Bank's execution-based scorer)")
    p.add_argument("--out", default=None, metavar="PER_SAMPLE.jsonl",
                   help="write one line per input line, in input order (toolrl: id, level, score, strict, error_type)")
    p.add_argument("--data-dir", default=None,
                   help=f"API-Bank data dir (default: ${data.ENV_VAR}, else the `rest data fetch apibank` cache)")
    p.add_argument("--level", type=int, choices=[1, 2, 3], default=1,
                   help="original protocol only: which level's test data the rows refer to (default 1; level 3 rows "
                        "are {sample_id, api_id, pred} steps or {sample_id, pred} replies)")
    p.add_argument("--mode", choices=["official", "stateful"], default="official",
                   help="original protocol only: official (fresh API state per call, like API-Bank's evaluator) "
                        "or stateful (replay the dialogue's earlier calls first)")
    p.set_defaults(func=run_score)


# ---------------------------------------------------------------- input


def read_jsonl(paths: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`file:line`, object) for every non-blank line; any unreadable line is a UserError naming it."""
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise UserError(f"no such file: {name}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {name}: {exc}") from exc
        for lineno, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            where = f"{name}:{lineno}"
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise UserError(f"{where}: not valid JSON ({exc})") from None
            except RecursionError:
                raise UserError(f"{where}: JSON nested too deeply to read") from None
            if not isinstance(obj, dict):
                raise UserError(f"{where}: expected a JSON object, got {type(obj).__name__}")
            yield where, obj


def toolrl_inputs(paths: list[str], items: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(id, raw text) pairs in input order, validated against the known item ids."""
    seen: dict[str, str] = {}
    out = []
    for where, obj in read_jsonl(paths):
        key, result = obj.get("id"), obj.get("result")
        if not isinstance(key, str):
            raise UserError(f"{where}: needs a string \"id\" like \"Level1_0\"")
        if key not in items:
            raise UserError(f"{where}: unknown id {key!r} (ids are Level1_0..Level1_398, Level2_0..Level2_66, "
                            "Level3_0..Level3_130)")
        if not isinstance(result, str):
            raise UserError(f"{where}: needs a string \"result\" (the raw model output) for {key}")
        if key in seen:
            raise UserError(f"{where}: duplicate id {key!r} (first at {seen[key]})")
        seen[key] = where
        out.append((key, result))
    return out


def score_toolrl_outputs(outputs: list[tuple[str, str]], items: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-output rows `{"id", "level", "score", "strict", "error_type"}`, in input order (pure)."""
    rows = []
    for key, text in outputs:
        item = items[key]
        verdict = judge_toolrl(text, item["answer_raw"])
        rows.append({"id": key, "level": item["level"], "score": int(verdict.valid),
                     "strict": verdict.detail["strict"], "error_type": verdict.error_type})
    return rows


# ---------------------------------------------------------------- commands


def _check_out(path: str | None, inputs: list[str]) -> None:
    """Refuse, before any scoring, an --out that is an input file or cannot be a file."""
    from harness.report import check_out_file

    if path is None:
        return
    target = Path(path)
    if any(target.resolve() == Path(f).resolve() for f in inputs):
        raise UserError(f"--out {path} is one of the input files")
    check_out_file(path)


def _write_jsonl(path: str, rows: list[dict[str, Any]], inputs: list[str]) -> None:
    from harness.report import write_out_file

    _check_out(path, inputs)
    write_out_file(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def run_score(args: argparse.Namespace) -> int:
    _check_out(args.out, args.files)
    if args.protocol == "original":
        return run_original(args)
    items = data.load_all(data.data_dir(args.data_dir))
    outputs = toolrl_inputs(args.files, items)
    if not outputs:
        raise UserError("no outputs in the given files")
    rows = score_toolrl_outputs(outputs, items)
    if args.out:
        _write_jsonl(args.out, rows, args.files)
    print_toolrl_table(summarize(rows))
    return 0


def print_toolrl_table(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="API-Bank, ToolRL/ResT protocol (accuracy %; overall = micro-average over items)")
    table.add_column("level")
    labels = {"soft": "soft match (ToolRL/ResT)", "strict": "strict (first block, one call)"}
    columns = [key for key in labels if key in summary]
    for key in columns:
        table.add_column(labels[key], justify="right")
    for level in ("L1", "L2", "L3", "overall"):
        cells = [summary[key][level] for key in columns]
        table.add_row(level, *(f"{c['percent']:.2f} ({c['correct']}/{c['total']})" for c in cells))
    console = Console()
    console.print(table)
    soft = summary["soft"]
    missing = {lv: size - soft[f"L{lv}"]["total"] for lv, size in data.LEVEL_SIZES.items()}
    if any(missing.values()):
        console.print(f"[yellow]note: partial run, missing items per level: "
                      f"{', '.join(f'L{lv} {n}' for lv, n in missing.items() if n)}[/yellow]")
    console.print("ToolRL row: " + " & ".join(f"{soft[c]['percent']}" for c in ("overall", "L1", "L2", "L3")))


def run_original(args: argparse.Namespace) -> int:
    from harness.apibank.original import score as original

    rows = []
    seen: dict[str, str] = {}
    for where, obj in read_jsonl(args.files):
        sid = obj.get("sample_id")
        if not isinstance(sid, int) or isinstance(sid, bool) or not isinstance(obj.get("pred"), str):
            raise UserError(f"{where}: expected an integer \"sample_id\" and a string \"pred\"")
        if args.level == 3:  # a step {sample_id, api_id, pred} or a reply {sample_id, pred}
            row = {"sample_id": sid, "pred": obj["pred"]}
            if "api_id" in obj:
                row["api_id"] = obj["api_id"]
        else:
            if not isinstance(obj.get("file"), str):
                raise UserError(f"{where}: expected {{\"file\": str, \"sample_id\": int, \"pred\": str}}")
            row = {"file": obj["file"], "sample_id": sid, "pred": obj["pred"]}
        key = _prediction_key(row, args.level)
        if key in seen:  # each copy would count (400 copies of one correct call: 400/400)
            raise UserError(f"{where}: duplicate prediction for {key} (first at {seen[key]})")
        seen[key] = where
        rows.append(row)
    if not rows:
        raise UserError("no predictions in the given files")
    root = data.data_dir(args.data_dir)
    if args.level in (1, 2):
        check_dialogues(root, args.level, sorted({r["file"] for r in rows}))
    try:
        results = original.score_predictions(rows, root, mode=args.mode, level=args.level)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # a data file we did not pre-read
        raise UserError(f"API-Bank data under {root} is unreadable ({type(exc).__name__}: {exc}); "
                        "rerun `rest data fetch apibank`") from None
    if args.out:
        _write_jsonl(args.out, [{k: r.get(k) for k in ("file", "sample_id", "correct", "error")} for r in results],
                     args.files)
    print_summary(original.summarize(results), f"API-Bank, original protocol, level {args.level} ({args.mode} mode)")
    return 0


def check_dialogues(root: Path, level: int, files: list[str]) -> None:
    """Read the dialogue files the predictions name, so a corrupt one is one line naming it (not a traceback)."""
    from harness.apibank.original.dialogues import dialogue_dir

    folder = dialogue_dir(root, level)
    for name in files:
        path = folder / name
        if not path.is_file() or "/" in name or "\\" in name:
            continue  # the scorer's own check names unknown dialogues
        try:
            lines = path.read_bytes().decode("utf-8").splitlines()
        except OSError as exc:
            raise UserError(f"cannot read API-Bank dialogue {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise UserError(f"API-Bank dialogue {path} is not UTF-8 text (byte {exc.start}); "
                            "rerun `rest data fetch apibank`") from None
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                turn = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise UserError(f"API-Bank dialogue {path}:{lineno} is not valid JSON ({type(exc).__name__}); "
                                "rerun `rest data fetch apibank`") from None
            if not isinstance(turn, dict):
                raise UserError(f"API-Bank dialogue {path}:{lineno} is not a JSON object; "
                                "rerun `rest data fetch apibank`")


def _prediction_key(row: dict[str, Any], level: int) -> str:
    """What names one prediction: file and sample_id (levels 1-2); sample_id and api_id, or the reply (level 3).

    The CLI refuses a repeat (each copy would count: 400 copies of one correct call, 400/400). The
    library scorer accepts repeats, since agreement corpora score many predictions per sample.
    Built from reprs, so any JSON value is hashable here.
    """
    if level == 3:
        if "api_id" in row:
            return f"sample_id {row['sample_id']!r}, api_id {row['api_id']!r}"
        return f"the reply of sample_id {row['sample_id']!r}"
    return f"file {row['file']!r}, sample_id {row['sample_id']!r}"


def print_summary(summary: dict[str, Any], title: str) -> None:
    """A flat key/value table of a (possibly nested) summary dict."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, float):
            table.add_row(prefix, f"{value:.4f}")
        else:
            table.add_row(prefix, str(value))

    walk("", summary)
    Console().print(table)
