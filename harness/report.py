"""Readable end-of-run tables (rich), and the per-sample `--out` files of `rest score`.

An `--out` is checked before any scoring (a folder, or a path under a file, is
refused at once) and written with every OS error as one line: a read-only
folder, a full disk, a file-size limit.
"""

from __future__ import annotations

from pathlib import Path

from harness.records import RunSummary
from harness.types import UserError


def check_out_file(out: str | Path) -> None:
    """Refuse an --out that cannot become a file: a folder, or a path below something that is not a folder."""
    target = Path(out)
    if target.is_dir():
        raise UserError(f"--out {out} is a folder; give a file path such as {target / 'per_sample.jsonl'}")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"--out {out}: {parent} is not a folder")


def write_out_file(out: str | Path, text: str) -> None:
    """Write an --out file (creating its folder); any OS error is one line naming the file and the reason."""
    target = Path(out)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UserError(f"cannot write --out {out}: {exc.strerror or exc}") from None


def pct(x: float | None) -> str:
    return "N/A" if x is None else f"{100 * x:.2f}"


def print_summary(summary: RunSummary, exclude_failed: bool = False) -> None:
    """The end-of-run table: per task accuracy (failed generations count as wrong unless `exclude_failed`),
    with pass@k and flip rate when items were sampled several times, then the benchmark aggregates."""
    import sys

    from rich.console import Console
    from rich.table import Table

    from harness.stats.intervals import wilson

    console = Console(width=None if sys.stdout.isatty() else 150)
    repeats = max((t.repeats for t in summary.tasks.values()), default=1)
    sampled = f", {repeats} samples per item" if repeats > 1 else ""
    table = Table(title=f"{summary.model}  ({summary.backend.get('backend')}, format {summary.format}{sampled})")
    acc = "accuracy % (failed left out)" if exclude_failed else ("avg@k %" if repeats > 1 else "accuracy %")
    cols = ["task", "format", "correct", "total", acc, "95% CI", "failed"]
    cols += ["pass@k %", "flip %"] if repeats > 1 else []
    for col in [*cols, "top error"]:
        table.add_column(col, justify="left" if col in ("task", "format", "top error") else "right")
    for name, s in summary.tasks.items():
        top = next(iter(s.error_types or {}), "")
        if exclude_failed:
            value, (lo, hi), total = s.accuracy_excl_failed, wilson(s.correct, s.total), s.total
        else:
            value, (lo, hi), total = s.accuracy, s.ci95 or (0, 0), s.total + s.failed
        row = [name, s.format, str(s.correct), str(total), pct(value), f"{100 * lo:.1f}-{100 * hi:.1f}", str(s.failed)]
        row += [pct(s.pass_at_k), pct(s.flip_rate)] if repeats > 1 else []
        table.add_row(*row, top)
    console.print(table)
    if summary.generation.get("temperature") == 0:
        console.print("greedy decoding: deterministic for a given model, batch and dtype (one sample per item)")
    for bench, cells in summary.aggregates.items():
        star = ""  # explain the mark only where a cell carries it
        if not all(c.get("complete", True) for c in cells.values()):
            star = ("; * = incomplete: missing categories count 0, BFCL's board shows N/A" if bench.split()[0] == "bfcl"
                    else "; * = incomplete: the average of the levels run, not all three")
        sub = Table(title=f"{bench} aggregates (95% CI{star})")
        for col in ("score", "accuracy %", "95% CI", "n", "method"):
            sub.add_column(col, justify="left" if col in ("score", "method") else "right")
        for key, cell in cells.items():
            lo, hi = cell.get("ci95") or (0, 0)
            mark = "" if cell.get("complete", True) else " *"
            sub.add_row(key + mark, pct(cell.get("accuracy")), f"{100 * lo:.1f}-{100 * hi:.1f}",
                        str(cell.get("total", "")), cell.get("method", ""))
        console.print(sub)
    history = summary.settings_history or []
    if len(history) > 1:
        console.print(f"note: these samples were made with {len(history)} different setups (--resume --force); "
                      "summary.json `settings_history` lists them")
    t = summary.timings
    if summary.summarized_from_samples:
        console.print("summarized from the stored samples (nothing generated in this invocation)")
    elif t:
        console.print(f"wall {t.get('wall_s', 0):.1f}s, generation {t.get('generate_s', 0):.1f}s, "
                      f"harness {t.get('harness_s', 0):.2f}s")
