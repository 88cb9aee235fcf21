"""Log a built board to Weights & Biases: one Table with every row, plus a bar chart per headline column.

Percentages, interval bounds and n travel as separate table columns so the
W&B UI can sort and plot them; reference rows keep `reference=True`.
"""

from __future__ import annotations

from typing import Any

from harness.types import UserError

MAX_BAR_CHARTS = 12


def table_columns(board: dict[str, Any]) -> list[str]:
    cols = ["row", "model", "reference", "run_group", "step", "items", "items_of", "failed", "baseline"]
    for c in board["columns"]:
        cols += [c["key"], f"{c['key']} lo", f"{c['key']} hi", f"{c['key']} n"]
    return cols


def table_rows(board: dict[str, Any]) -> list[list[Any]]:
    def p(x: float | None) -> float | None:
        return None if x is None else round(100 * x, 4)

    out = []
    for r in board["rows"]:
        line = [r["label"], r.get("model") or "", bool(r.get("reference")), r.get("run_group") or "", r.get("step"),
                r.get("items"), r.get("items_of"), r.get("failed"), bool(r.get("baseline"))]
        for c in board["columns"]:
            cell = r["cells"].get(c["key"]) or {}
            lo, hi = cell.get("ci95") or (None, None)
            line += [p(cell.get("accuracy")), p(lo), p(hi), cell.get("total")]
        out.append(line)
    return out


def headline_columns(board: dict[str, Any]) -> list[str]:
    """Columns worth a bar chart: aggregates, then single categories, measured ones only."""
    measured = {k for r in board["rows"] if not r.get("reference") for k in r["cells"]}
    cols = [c for c in board["columns"] if c["key"] in measured]
    ranked = [c["key"] for c in cols if c["kind"] == "aggregate"] + [c["key"] for c in cols if c["kind"] == "task"]
    return ranked[:MAX_BAR_CHARTS]


def bar_key(column: str) -> str:
    """W&B key of a column's bar chart; ':' is kept out because W&B turns keys into media file names."""
    return "bar/" + column.replace(":", ".")


def publish(board: dict[str, Any], project: str, entity: str | None = None, run_name: str | None = None) -> str:
    """Log `board` to W&B (honours WANDB_MODE/WANDB_DIR); returns the run's path or offline dir."""
    try:
        import wandb
    except ImportError:
        raise UserError("wandb is not installed; `pip install wandb` to publish boards") from None
    run = wandb.init(project=project, entity=entity, name=run_name or f"leaderboard-{board['name']}",
                     job_type="leaderboard", config={"board": board["name"], "primary": board.get("primary"),
                                                     "rows": len(board["rows"]), **board.get("bootstrap", {})},
                     reinit="create_new")
    try:
        table = wandb.Table(columns=table_columns(board), data=table_rows(board))
        logs: dict[str, Any] = {"leaderboard": table}
        measured = [r for r in board["rows"] if not r.get("reference")]
        for key in headline_columns(board):
            data = [[r["label"], round(100 * r["cells"][key]["accuracy"], 4)] for r in measured
                    if (r["cells"].get(key) or {}).get("accuracy") is not None]
            if data:
                t = wandb.Table(columns=["row", "accuracy %"], data=data)
                logs[bar_key(key)] = wandb.plot.bar(t, "row", "accuracy %", title=f"{key} (accuracy %)")
        run.log(logs)
        run.summary["board_rows"] = len(board["rows"])
        where = run.dir if run.offline else run.url
    finally:
        run.finish()
    return str(where)
