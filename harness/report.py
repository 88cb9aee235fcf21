"""Readable end-of-run tables (rich)."""

from __future__ import annotations

from typing import Any


def pct(x: float | None) -> str:
    return "N/A" if x is None else f"{100 * x:.2f}"


def print_summary(summary: dict[str, Any]) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 150)
    table = Table(title=f"{summary.get('model')}  ({summary['backend'].get('backend')}, format {summary.get('format')})")
    for col in ("task", "format", "correct", "total", "accuracy %", "95% CI", "failed", "top error"):
        table.add_column(col, justify="left" if col in ("task", "format", "top error") else "right")
    for name, s in summary["tasks"].items():
        top = next(iter(s.get("error_types") or {}), "")
        lo, hi = s.get("ci95") or (0, 0)
        table.add_row(name, s.get("format", ""), str(s["correct"]), str(s["total"]), pct(s["accuracy"]),
                      f"{100 * lo:.1f}-{100 * hi:.1f}", str(s.get("failed", 0)), top)
    console.print(table)
    agg = summary.get("aggregates") or {}
    for bench, cells in agg.items():
        star = ""  # explain the mark only where a cell carries it
        if not all(c.get("complete", True) for c in cells.values()):
            star = ("; * = incomplete: missing categories count 0, BFCL's board shows N/A" if bench == "bfcl"
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
    history = summary.get("settings_history") or []
    if len(history) > 1:
        console.print(f"note: these samples were made with {len(history)} different setups (--resume --force); "
                      "summary.json `settings_history` lists them")
    t = summary.get("timings", {})
    if (summary.get("backend") or {}).get("summarized_from_samples"):
        console.print("summarized from the stored samples (nothing generated in this invocation)")
    elif t:
        console.print(f"wall {t.get('wall_s', 0):.1f}s, generation {t.get('generate_s', 0):.1f}s, "
                      f"harness {t.get('harness_s', 0):.2f}s")
