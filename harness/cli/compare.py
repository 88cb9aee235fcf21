"""`rest compare RUN_A RUN_B [RUN_C ...]`: item-by-item comparison of runs, with paired statistics.

Each later run is compared with the first (the baseline). Output: a table on
the terminal, and with `--markdown FILE` / `--json FILE` the same as documents
(the JSON holds every flipped item id).
"""

from __future__ import annotations

import argparse
import json

from harness.types import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare runs item by item (paired differences, McNemar, flipped items, settings diff)",
        description="Compare runs on their common items: per task and over all tasks, the difference B - A with a "
                    "paired bootstrap 95% interval (over items, and over repeats when present) and McNemar's exact "
                    "test; the items that flipped, grouped by error type; and the settings that differ (prompt, "
                    "template, format, dtype, backend, generation settings, data), which say where two runs are not "
                    "comparable. A RUN is a `rest eval` run directory, a `rest score --out` per-sample file, or BFCL "
                    "result files (`bfcl generate` output; a file or a folder), scored here as `rest score bfcl` does.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="runs to compare; every later one is compared with the first")
    p.add_argument("--markdown", metavar="FILE", help="also write the comparison as Markdown")
    p.add_argument("--json", metavar="FILE", help="also write the comparison as JSON (with every flipped item id)")
    p.add_argument("--bfcl-format", default="prompting", choices=["prompting", "fc", "toolrl"],
                   help="how BFCL result files given as a RUN were produced (default prompting)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples for the intervals (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and permutation tests (default 0)")
    p.add_argument("--max-ids", type=int, default=10, help="flipped item ids shown per error type (default 10)")
    p.set_defaults(func=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    from harness.compare.inputs import comparison, load_run, markdown
    from harness.report import write_out_file

    if len(args.runs) < 2:
        raise UserError("rest compare needs at least two runs (the first is the baseline)")
    if args.bootstrap < 100:
        raise UserError(f"--bootstrap must be at least 100, got {args.bootstrap}")
    if args.max_ids < 0:
        raise UserError(f"--max-ids must be 0 or more, got {args.max_ids}")
    base = load_run(args.runs[0], args.bfcl_format)
    docs = [comparison(base, load_run(r, args.bfcl_format), args.bootstrap, args.seed) for r in args.runs[1:]]
    for doc in docs:
        _print(doc, args.max_ids)
    if args.markdown:
        write_out_file(args.markdown, "\n".join(markdown(d, args.max_ids) for d in docs))
    if args.json:
        write_out_file(args.json, json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n")
    return 0


def _print(doc: dict, max_ids: int) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    from harness.compare.inputs import HEADER, notes, rows

    console = Console(width=None if sys.stdout.isatty() else 150)
    table = Table(title=f"B = {doc['b']['label']}  vs  A = {doc['a']['label']}")
    for col in HEADER:
        table.add_column(col, justify="left" if col == "task" else "right")
    for r in rows(doc):
        table.add_row(*r)
    console.print(table)
    for note in notes(doc):
        console.print(f"note: {note}", markup=False, highlight=False)
    for t in doc["tasks"]:
        if t["name"] == "all":
            continue
        for side, title in (("b_better", "right in B only"), ("a_better", "right in A only")):
            for err, ids in sorted(t["flips"][side].items(), key=lambda kv: -len(kv[1])):
                more = f" (+{len(ids) - max_ids} more)" if len(ids) > max_ids else ""
                console.print(f"{t['name']}: {title}, {err} in the other ({len(ids)}): {', '.join(ids[:max_ids])}{more}",
                              markup=False, highlight=False)
