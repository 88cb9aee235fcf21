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


def signed(x: float) -> str:
    return f"{100 * x:+.1f}"


def p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


def paired_text(cell: dict[str, Any]) -> str:
    """`Δ +3.1 [+0.4, +5.9] p=0.02` (points; "on k common" when fewer items than the cell), or `Δ unpaired`."""
    entry = cell.get("paired")
    if not entry:
        return ""
    if "unpaired" in entry:
        return "Δ unpaired"
    lo, hi = entry["ci95"]
    text = f"Δ {signed(entry['delta'])} [{signed(lo)}, {signed(hi)}] {p_text(entry['p'])}"
    if cell.get("total") and entry["n_items"] < cell["total"]:
        text += f" on {entry['n_items']} common"
    return text


def cell_text(cell: dict[str, Any] | None, sep: str = "<br>") -> str:
    if not cell or cell.get("accuracy") is None:
        return "–"
    text = pct(cell["accuracy"]) + ("*" if cell.get("complete") is False else "")
    if cell.get("ci95"):
        lo, hi = cell["ci95"]
        text += f" [{pct(lo, 1)}–{pct(hi, 1)}]"
    if cell.get("total"):
        text += f" n={cell['total']}"
    if cell.get("failed"):
        text += f" ({cell['failed']} failed)"
    if cell.get("paired"):
        text += sep + paired_text(cell)
    return text


def vs_text(row: dict[str, Any]) -> str:
    """What a row's Δ is measured against: "baseline" for a baseline row, else the baseline's label."""
    return "baseline" if row.get("baseline") else (row.get("vs") or "")


def taxonomy_tables(board: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """One table per benchmark: each row's wrong answers, and their shares by cause (percent)."""
    cats = board.get("taxonomy_categories") or []
    out: list[str] = []
    for bench in sorted({b for r in rows for b in r.get("taxonomy") or {}}):
        out += [f"### {md_text(bench)}", "", "| run | wrong | " + " | ".join(label for _, label in cats) + " |",
                "|---|" + "---:|" * (len(cats) + 1)]
        for r in rows:
            tax = (r.get("taxonomy") or {}).get(bench)
            if tax:
                out.append(f"| {md_text(r['label'])} | {tax['wrong']} | "
                           + " | ".join(f"{100 * tax['shares'][k]:.1f}" for k, _ in cats) + " |")
        out.append("")
    return out


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
    title = f"# Leaderboard: {md_text(board['name'])}"
    out = [title + (" (failed generations EXCLUDED)" if board.get("exclude_failed") else ""), ""]
    if board.get("generated_at"):
        out += [f"Generated {md_text(board['generated_at'])}. Sorted by {md_code(board.get('primary'))}.", ""]
    out += ["Cells: accuracy % [95% interval] n=items. " + " ".join(notes[:2]), ""]
    for note in (n for n in notes if n.startswith(("*", "Rows whose items", "Δ"))):
        out += [note, ""]
    lead = [("run", "label"), ("model", "model")]
    if any(r.get("step") is not None for r in measured):
        lead.append(("step", "step"))
    if any(r.get("coverage") for r in measured):
        lead.append(("items", "coverage"))
    lead.append(("failed", "failed"))
    if any(r.get("baseline") for r in measured):
        lead.append(("Δ vs", "vs_text"))
    measured = [{**r, "vs_text": vs_text(r)} for r in measured]
    for group, cols in _groups(board["columns"]):
        cols_m = [c for c in cols if any(c["key"] in r["cells"] for r in measured)]
        if not cols_m:
            continue
        out += [f"## {md_text(group)}", ""] + _table(measured, cols_m, lead) + [""]
    if any(r.get("taxonomy") for r in measured):
        out += ["## Failure taxonomy (% of wrong answers)", "",
                next((n for n in notes if n.startswith("Failure taxonomy")), ""), ""] + taxonomy_tables(board, measured)
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


def _paired_fields(cell: dict[str, Any]) -> list[Any]:
    entry = cell.get("paired") or {}
    if not entry or "unpaired" in entry:
        return ["", "", "", "", f"unpaired: {entry['unpaired']}" if entry else "", ""]
    lo, hi = entry["ci95"]
    return [pct(entry["delta"], 4), pct(lo, 4), pct(hi, 4), f"{entry['p']:.6g}", entry["test"], entry["n_items"]]


def render_csv(board: dict[str, Any]) -> str:
    """One line per row; per column: percent, interval bounds, n, interval method, failed; with a baseline,
    per column the paired difference (percent points), its interval, p, test and common items; then the
    failure taxonomy per benchmark (wrong answers, percent by cause)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    paired = any(r.get("baseline") for r in board["rows"])
    benches = sorted({b for r in board["rows"] for b in r.get("taxonomy") or {}})
    cats = [k for k, _ in board.get("taxonomy_categories") or []]
    head = ["id", "label", "model", "reference", "run_group", "step", "format", "limit", "items", "items_of",
            "source", "failed", "failed excluded", "baseline", "vs"]
    for c in board["columns"]:
        k = c["key"]
        head += [f"{k} %", f"{k} lo %", f"{k} hi %", f"{k} n", f"{k} method", f"{k} failed"]
        if paired:
            head += [f"{k} delta %", f"{k} delta lo %", f"{k} delta hi %", f"{k} p", f"{k} paired test",
                     f"{k} paired n"]
    for b in benches:
        head += [f"taxonomy {b} wrong"] + [f"taxonomy {b} {k} %" for k in cats]
    w.writerow([csv_cell(h) for h in head])

    def blank(x: Any) -> Any:
        return "" if x is None else x

    for r in board["rows"]:
        line = [r["id"], r["label"], r.get("model", ""), int(bool(r.get("reference"))), r.get("run_group") or "",
                blank(r.get("step")), r.get("format") or "", blank(r.get("limit")), blank(r.get("items")),
                blank(r.get("items_of")), r.get("source", ""), blank(r.get("failed")),
                int(bool(board.get("exclude_failed"))), int(bool(r.get("baseline"))), r.get("vs") or ""]
        for c in board["columns"]:
            cell = r["cells"].get(c["key"]) or {}
            lo, hi = cell.get("ci95") or (None, None)
            line += [pct(cell.get("accuracy"), 4), pct(lo, 4), pct(hi, 4), blank(cell.get("total")),
                     cell.get("method", ""), blank(cell.get("failed"))]
            if paired:
                line += _paired_fields(cell)
        for b in benches:
            tax = (r.get("taxonomy") or {}).get(b)
            line += [tax["wrong"]] + [pct(tax["shares"][k], 4) for k in cats] if tax else [""] * (1 + len(cats))
        w.writerow([csv_cell(v) for v in line])
    return buf.getvalue()
