"""`rest score bfcl FILE...`: score BFCL result files and print accuracy and BFCL V4 subscores.

harness/cli/score.py registers `add_score_parser(subparsers)`, which adds the `bfcl`
sub-subcommand; all the work is in scorefile / metrics, and in layout_write for
`--bfcl-layout DIR` (BFCL's own result/, score/ and data_*.csv files).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.bfcl.metrics import bfcl_summary
from harness.bfcl.scorefile import category_counts, check_out_path, read_result_files, score_lines, write_rows
from harness.bfcl.scoring import FORMATS
from harness.types import UserError

_SUBSCORE_LABELS = {
    "non_live": "Non-Live (unweighted; Simple = mean py/java/js)",
    "simple": "  Simple",
    "live": "Live (weighted by entries)",
    "hallucination": "Hallucination (irrelevance + live_irrelevance)",
    "relevance": "Relevance (not in overall)",
    "multi_turn": "Multi-Turn",
    "agentic": "Agentic",
}


def add_score_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "bfcl",
        help="score BFCL result files (as written by `bfcl generate`)",
        description="Score BFCL result files exactly as `bfcl evaluate` does; categories come from the ids.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="result files: one {'id', 'result'} JSON object per line")
    p.add_argument("--out", metavar="PER_SAMPLE.jsonl", help="write one {id, category, valid, error_type} line per input line")
    p.add_argument("--format", choices=FORMATS, default="prompting", help="how the results were produced (default: prompting)")
    p.add_argument("--bfcl-layout", metavar="DIR",
                   help="also write what `bfcl evaluate` leaves: DIR/result/<model>/, DIR/score/<model>/ and "
                        "DIR/score/data_{overall,live,non_live,multi_turn,agentic}.csv (other models' files kept)")
    p.add_argument("--bfcl-model", metavar="NAME",
                   help="model folder name in --bfcl-layout (default: the <model> of result/<model>/... input paths)")
    p.set_defaults(func=run_score)
    return p


def _pct(agg: dict) -> str:
    text = f"{100 * agg['value']:.2f}"
    return text if agg["complete"] else f"N/A ({text})"


def run_score(args: argparse.Namespace) -> int:
    if args.out:
        check_out_path(args.out, args.files)  # before any work: the input must survive
    layout_model = None
    if args.bfcl_layout:
        from harness.bfcl.layout_write import check_layout_dir

        check_layout_dir(args.bfcl_layout)
        layout_model = args.bfcl_model or model_from_paths(args.files)
    lines = read_result_files(args.files)
    rows = score_lines(lines, args.format)
    if args.out:
        write_rows(rows, args.out)
    counts = category_counts(rows)
    print_summary(counts)
    if args.bfcl_layout and layout_model:
        from harness.bfcl.layout_write import write_layout

        for row, line in zip(rows, lines, strict=True):
            row["result"] = line.result
        write_layout(args.bfcl_layout, layout_model, rows,
                     results=[{"id": line.id, "result": line.result, **line.fields} for line in lines])
        print(f"BFCL layout for {layout_model}: {Path(args.bfcl_layout) / 'score' / 'data_overall.csv'}")
    return 0


def model_from_paths(paths: list[str]) -> str:
    """The <model> folder of `.../result/<model>/<group>/BFCL_v4_*_result.json` paths (one model for all)."""
    models = set()
    for name in paths:
        parts = Path(name).resolve().parts
        at = max((i for i, part in enumerate(parts[:-2]) if part == "result"), default=None)
        if at is None:
            raise UserError(f"cannot tell the model from {name} (not under result/<model>/); give --bfcl-model NAME")
        models.add(parts[at + 1])
    if len(models) > 1:
        raise UserError(f"the files come from several models ({', '.join(sorted(models))}); "
                        "score one model per --bfcl-layout call, or give --bfcl-model NAME")
    return models.pop()


def print_summary(counts: dict[str, tuple[int, int]]) -> None:
    """A rich table of per-category accuracy, then the subscores and the overall."""
    from rich.console import Console
    from rich.table import Table

    summary = bfcl_summary({k: v for k, v in counts.items() if k in _known()})
    console = Console()
    table = Table(title="BFCL per-category accuracy")
    table.add_column("category")
    table.add_column("correct", justify="right")
    table.add_column("total", justify="right")
    table.add_column("accuracy %", justify="right")
    for cat, (correct, total) in counts.items():
        table.add_row(cat, str(correct), str(total), f"{100 * correct / total:.2f}" if total else "-")
    console.print(table)
    sub = Table(title="BFCL V4 subscores (N/A: a member category was not scored; it counts as 0)")
    sub.add_column("score")
    sub.add_column("%", justify="right")
    for key, label in _SUBSCORE_LABELS.items():
        sub.add_row(label, _pct(summary["subscores"][key]))
    sub.add_row("Overall (10/10/10/30/40)", _pct(summary["overall"]))
    console.print(sub)


def _known() -> set[str]:
    from harness.bfcl.categories import SHIPPED_COUNTS

    return set(SHIPPED_COUNTS)
