"""Board -> Markdown (README-ready) and CSV (pure text renderers).

Markdown splits the board into one table per column group, so a README stays
readable; every measured figure reads `acc [lo–hi] n` (percent). Reference
rows go in their own section, never in the measured tables. Every name from
the runs goes through `escape.md_text` (a `<!--` in a run name hid the rest
of the README on GitHub; a `|` or newline split a row), and every CSV cell
through `escape.csv_cell` (no spreadsheet formulas).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from harness.leaderboard.escape import csv_cell, md_code, md_text


def pct(x: float | None, digits: int = 2) -> str:
    return "" if x is None else f"{100 * x:.{digits}f}"


def cell_text(cell: dict[str, Any] | None) -> str:
    if not cell or cell.get("accuracy") is None:
        return "–"
    text = pct(cell["accuracy"]) + ("*" if cell.get("complete") is False else "")
    if cell.get("ci95"):
        lo, hi = cell["ci95"]
        text += f" [{pct(lo, 1)}–{pct(hi, 1)}]"
    if cell.get("total"):
        text += f" n={cell['total']}"
    return text


def _groups(columns: list[dict[str, str]]) -> list[tuple[str, list[dict[str, str]]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for c in columns:
        out.setdefault(c["group"], []).append(c)
    return list(out.items())


def _table(rows: list[dict[str, Any]], cols: list[dict[str, str]], lead: list[tuple[str, str]]) -> list[str]:
    head = [h for h, _ in lead] + [md_text(c["label"]) for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(lead) + ["---:"] * len(cols)) + "|"]
    for r in rows:
        vals = [md_text(r.get(k)) for _, k in lead]
        vals += [cell_text(r["cells"].get(c["key"])) for c in cols]
        lines.append("| " + " | ".join(vals) + " |")
    return lines


def render_markdown(board: dict[str, Any]) -> str:
    measured = [r for r in board["rows"] if not r.get("reference")]
    refs = [r for r in board["rows"] if r.get("reference")]
    notes = [md_text(n) for n in board.get("notes", [])]
    out = [f"# Leaderboard: {md_text(board['name'])}", ""]
    if board.get("generated_at"):
        out += [f"Generated {md_text(board['generated_at'])}. Sorted by {md_code(board.get('primary'))}.", ""]
    out += ["Cells: accuracy % [95% interval] n=items. " + " ".join(notes[:2]), ""]
    for note in (n for n in notes if n.startswith(("*", "Rows whose items"))):
        out += [note, ""]
    lead = [("run", "label"), ("model", "model")]
    if any(r.get("step") is not None for r in measured):
        lead.append(("step", "step"))
    if any(r.get("coverage") for r in measured):
        lead.append(("items", "coverage"))
    for group, cols in _groups(board["columns"]):
        cols_m = [c for c in cols if any(c["key"] in r["cells"] for r in measured)]
        if not cols_m:
            continue
        out += [f"## {md_text(group)}", ""] + _table(measured, cols_m, lead) + [""]
    if refs:
        out += ["## Reference figures (reported elsewhere, NOT measured here)", "",
                next((n for n in notes if n.startswith("Reference rows")), ""), ""]
        for group, cols in _groups(board["columns"]):
            cols_r = [c for c in cols if any(c["key"] in r["cells"] for r in refs)]
            refs_g = [r for r in refs if any(c["key"] in r["cells"] for c in cols_r)]
            if refs_g:
                out += [f"### {md_text(group)}" + ("" if "reference" in group else " (reference)"), ""] + _table(refs_g, cols_r, [("reference", "label")]) + [""]
        out += ["Sources:", ""] + [f"- {md_text(r['label'])}: {md_text(r['source'])}"
                                   + (f" ({md_text(r['note'])})" if r.get("note") else "") for r in refs] + [""]
    return "\n".join(out)


def render_csv(board: dict[str, Any]) -> str:
    """One line per row; per column: percent, interval bounds, n, interval method."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = ["id", "label", "model", "reference", "run_group", "step", "format", "limit", "items", "items_of",
            "source"]
    for c in board["columns"]:
        k = c["key"]
        head += [f"{k} %", f"{k} lo %", f"{k} hi %", f"{k} n", f"{k} method"]
    w.writerow([csv_cell(h) for h in head])
    for r in board["rows"]:
        line = [r["id"], r["label"], r.get("model", ""), int(bool(r.get("reference"))), r.get("run_group") or "",
                "" if r.get("step") is None else r["step"], r.get("format") or "",
                "" if r.get("limit") is None else r["limit"], "" if r.get("items") is None else r["items"],
                "" if r.get("items_of") is None else r["items_of"], r.get("source", "")]
        for c in board["columns"]:
            cell = r["cells"].get(c["key"]) or {}
            lo, hi = cell.get("ci95") or (None, None)
            line += [pct(cell.get("accuracy"), 4), pct(lo, 4), pct(hi, 4),
                     "" if cell.get("total") is None else cell["total"], cell.get("method", "")]
        w.writerow([csv_cell(v) for v in line])
    return buf.getvalue()
