"""The shell around the pure board: collect runs, make the board, write its four files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from harness.leaderboard.board import make_board
from harness.leaderboard.collect import collect
from harness.leaderboard.escape import refuse_non_finite
from harness.leaderboard.references import REFERENCE_ONLY_COLUMNS, reference_rows
from harness.leaderboard.render_html import render_html
from harness.leaderboard.render_md import render_csv, render_markdown
from harness.types import UserError

BOARD_FILES = {"json": "board.json", "markdown": "README.md", "csv": "board.csv", "html": "index.html"}


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a reader (or a browser) never sees half a board


def write_board(board: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write the four board files; a NaN or infinity anywhere is refused first (not JSON, a blank page)."""
    refuse_non_finite(board)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create board directory {out_dir}: {exc.strerror}") from None
    texts = {"json": json.dumps(board, indent=1, ensure_ascii=False) + "\n", "markdown": render_markdown(board),
             "csv": render_csv(board), "html": render_html(board)}
    paths = {}
    for kind, name in BOARD_FILES.items():
        paths[kind] = out_dir / name
        _write(paths[kind], texts[kind])
    return paths


def build_board_files(result_dirs: list[Path | str], out_dir: Path | str, name: str | None = None,
                      references: bool = False, n_boot: int = 1000, seed: int = 0,
                      sort: str | None = None, baseline: str | None = None,
                      exclude_failed: bool = False) -> dict[str, Any]:
    """Read every run under `result_dirs`, write board.json, README.md, board.csv and index.html to `out_dir`.

    `baseline` (a row's id or label) and `exclude_failed` are `make_board`'s.
    """
    if n_boot < 10:
        raise UserError("--n-boot must be at least 10")
    runs = collect([Path(p) for p in result_dirs])
    board = make_board(runs, name=name or Path(out_dir).name,
                       references=reference_rows() if references else None,
                       reference_only_columns=REFERENCE_ONLY_COLUMNS if references else None,
                       n_boot=n_boot, seed=seed, generated_at=time.strftime("%Y-%m-%d %H:%M:%S%z"), sort=sort,
                       baseline=baseline, exclude_failed=exclude_failed)
    write_board(board, Path(out_dir))
    return board


def load_board(board_dir: Path | str) -> dict[str, Any]:
    path = Path(board_dir) / BOARD_FILES["json"]
    if not path.is_file():
        raise UserError(f"{board_dir} is not a board directory (no {BOARD_FILES['json']}); "
                        "build one with `rest leaderboard build`")
    board = json.loads(path.read_text())
    if board.get("schema") != "rest-harness/leaderboard/v1":
        raise UserError(f"{path} is not a leaderboard file (schema {board.get('schema')!r})")
    return board
