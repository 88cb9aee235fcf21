"""Issue 22 item 8: hostile run, model, task and board names, and NaN in a summary, cannot break a board.

The HTML check reads the embedded JSON block the way a browser's tokenizer
does (it ends at the first `</script`) and parses it with JavaScript's own
`JSON.parse` (node), since the page's script does exactly that.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.leaderboard.build import build_board_files
from tests.test_leaderboard import APIBANK, make_run, outs

EVIL_MODEL = '=HYPERLINK("http://evil.example","click")'
NAMES = ["a|<!--hidden", "b\nc <script>alert(1)", "-2+3", "@SUM(A1)", "&amp; \\| back"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    for i, name in enumerate(NAMES):
        make_run(root / "runs" / name, {**APIBANK, "x:<!--task|y": outs(20, 0.5, i)},
                 model=EVIL_MODEL if i == 0 else f"m{i}\n| <!-- --> ]]>")
    out = root / "<!--board|"
    board = build_board_files([root / "runs"], out, n_boot=50)
    return out, board


def _data_block(page: str) -> str:
    start = page.index('<script type="application/json" id="board-data">') + len(
        '<script type="application/json" id="board-data">')
    end = page.lower().index("</script", start)  # where an HTML tokenizer ends the element
    return page[start:end]


def test_the_embedded_json_holds_no_markup_and_parses_back_to_the_board(hostile):
    out, board = hostile
    block = _data_block((out / "index.html").read_text(encoding="utf-8"))
    assert not set(block) & set("<>&")
    assert json.loads(block, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}")) == \
        json.loads((out / "board.json").read_text(encoding="utf-8"))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_json_parse_reads_the_block(hostile, tmp_path):
    out, board = hostile
    block = _data_block((out / "index.html").read_text(encoding="utf-8"))
    (tmp_path / "block.json").write_text(block, encoding="utf-8")
    script = "const fs=require('fs');process.stdout.write(JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1],'utf8'))))"
    proc = subprocess.run(["node", "-e", script, str(tmp_path / "block.json")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert [r["label"] for r in json.loads(proc.stdout)["rows"]] == [r["label"] for r in board["rows"]]


def test_the_page_title_and_heading_are_escaped(hostile):
    out, _ = hostile
    page = (out / "index.html").read_text(encoding="utf-8")
    head = page[: page.index('<script type="application/json"')]
    assert "<!--" not in head and "&lt;!--board|" in head


def _table_rows(md: str) -> list[list[str]]:
    """Rows of every Markdown table, split on unescaped pipes (as GitHub splits them)."""
    return [re.split(r"(?<!\\)\|", line)[1:-1] for line in md.splitlines() if line.startswith("|")]


def test_markdown_escapes_names_so_nothing_is_hidden_and_no_row_splits(hostile):
    out, board = hostile
    md = (out / "README.md").read_text(encoding="utf-8")
    assert "<!--" not in md and "<script" not in md
    tables = _table_rows(md)
    widths = {len(r) for r in tables}
    assert len(tables) >= len(NAMES) + 2 and len(widths) <= 3  # every row has its table's cell count
    body = [r for r in tables if not r[0].strip().startswith(("run", "---"))]
    labels = {r[0].strip() for r in body}
    assert "a\\|&lt;!--hidden" in labels and "b c &lt;script&gt;alert(1)" in labels
    assert "&amp;amp; \\\\\\| back" in labels  # & and \ escaped too, so GitHub shows the name as it is
    assert md.splitlines()[0] == "# Leaderboard: &lt;!--board\\|"


def test_a_hostile_baseline_and_taxonomy_stay_inert(hostile, tmp_path):
    root = hostile[0].parent
    out = tmp_path / "with-baseline"
    board = build_board_files([root / "runs"], out, n_boot=20, baseline=NAMES[0])
    assert board["baseline"] == NAMES[0] and sum(r["baseline"] for r in board["rows"]) == 1
    md = (out / "README.md").read_text(encoding="utf-8")
    assert "<!--" not in md and "<script" not in md
    measured = _table_rows(md.split("## Failure taxonomy")[0])
    vs = [r[4].strip() for r in measured if r[4].strip() not in ("Δ vs", "---")]
    assert set(vs) == {"baseline", "a\\|&lt;!--hidden"}  # the Δ vs column names the baseline, escaped
    page = (out / "index.html").read_text(encoding="utf-8")
    head = page[: page.index('<script type="application/json"')]  # the taxonomy tables are static HTML
    assert "<!--" not in head and "<script" not in head and '<table class="taxonomy"' in head


def test_csv_neutralises_formulas_and_keeps_numbers_numeric(hostile):
    out, board = hostile
    rows = list(csv.reader(io.StringIO((out / "board.csv").read_text(encoding="utf-8"))))
    head, body = rows[0], rows[1:]
    starts = tuple("=+-@\t\r")
    for row in rows:
        for cell in row:
            assert not cell.startswith(starts) or re.fullmatch(r"-?\d+(\.\d+)?", cell), cell
    by_label = {r[head.index("label")]: r for r in body}
    assert by_label["'-2+3"][head.index("model")].startswith("m")
    assert by_label["a|<!--hidden"][head.index("model")] == "'" + EVIL_MODEL
    assert "'@SUM(A1)" in by_label
    for r in body:
        float(r[head.index("apibank:level-1 %")])  # numeric cells are still numbers
        assert int(r[head.index("apibank:level-1 n")]) == 399


@pytest.mark.parametrize("field,value", [("limit", math.nan), ("model", math.inf), ("finished_at", -math.inf)])
def test_a_non_finite_number_in_a_summary_is_refused_with_one_line(tmp_path, capsys, field, value):
    run = tmp_path / "runs" / "r1"
    make_run(run, APIBANK)
    summary = json.loads((run / "summary.json").read_text())
    summary[field] = value
    (run / "summary.json").write_text(json.dumps(summary))  # Python writes NaN / Infinity, as a buggy tool might
    out = tmp_path / "board"
    rc = cli_main(["leaderboard", "build", str(tmp_path / "runs"), "--out", str(out), "--n-boot", "20"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert "non-finite" in err[0] and f"rows[0].{field}" in err[0] and str(run) in err[0]
    assert not Path(out, "index.html").exists() and not Path(out, "board.json").exists()
