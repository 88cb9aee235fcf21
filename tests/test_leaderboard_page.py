"""The HTML board in a real browser: headless Chromium runs the page's script; we read the DOM and a screenshot."""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from harness.leaderboard.build import build_board_files
from harness.leaderboard.render_md import paired_text
from tests.test_leaderboard import APIBANK, BFCL, make_run, outs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package `chromium`)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120)


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Decode an 8-bit RGB/RGBA PNG with zlib only: (width, height, pixels)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos: pos + 8])
        body = data[pos + 8: pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    pixels = []
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1: (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels.extend(tuple(line[i: i + 3]) for i in range(0, stride, bpp))
        prev = line
    return width, height, pixels


@pytest.fixture(scope="module")
def board_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("page")
    make_run(root / "runs" / "alpha", APIBANK | BFCL, model="alpha-model")
    make_run(root / "runs" / "beta", {k: v[: len(v) // 2] for k, v in APIBANK.items()}, model="beta-model",
             available={k: len(v) for k, v in APIBANK.items()})  # a --limit run: a subset of its tasks
    for step, p in ((5, 0.2), (10, 0.4), (15, 0.6)):
        make_run(root / "train" / f"checkpoint-{step}" / "eval",
                 {"apibank:level-1": outs(40, p, step), "bfcl:simple_python": outs(40, p / 2, step + 1)})
    board = build_board_files([root / "runs", root / "train"], root / "board", references=True, n_boot=100)
    return root / "board", board


def test_table_rows_drawn_by_script(board_dir, tmp_path):
    out, board = board_dir
    proc = chromium(tmp_path, "--dump-dom", (out / "index.html").as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    rows = re.findall(r'<tr data-row-id="([^"]+)" class="(measured|ref)"', dom)
    assert [r for r, _ in rows] == [r["id"] for r in board["rows"]]  # the script ran and kept the board's order
    measured = [r for r, kind in rows if kind == "measured"]
    assert sorted(measured) == ["alpha", "beta", "train/checkpoint-10", "train/checkpoint-15", "train/checkpoint-5"]
    assert rows[: len(measured)] == [(r, "measured") for r in measured]  # references below measured rows
    assert len(rows) > len(measured)
    assert f'data-rendered="{len(board["rows"])}"' in dom
    beta = next(r for r in board["rows"] if r["id"] == "beta")
    assert beta["coverage"] == f"{beta['items']} of 597" and f"<td class=\"txt\">{beta['coverage']}</td>" in dom
    # bar chart of the primary column's group: one bar and one error bar per measured value
    group = next(c["group"] for c in board["columns"] if c["key"] == board["primary"])
    keys = [c["key"] for c in board["columns"] if c["group"] == group]
    expected = sum(1 for r in board["rows"] if not r["reference"] for k in keys if k in r["cells"])
    assert dom.count('class="bar"') == expected
    # one curve chart (training run "train") with a point per checkpoint and plotted column
    assert dom.count('class="curve-svg"') == 1 and 'data-run-group="train"' in dom
    plotted = {k for r in board["rows"] if r.get("run_group") == "train" for k in r["cells"]}
    assert dom.count('class="point"') == 3 * len(plotted)
    assert dom.count('class="errbar"') >= expected + 3 * len(plotted)


def test_paired_differences_failed_counts_and_taxonomy_on_the_page(board_dir, tmp_path):
    out, board = board_dir
    proc = chromium(tmp_path, "--dump-dom", (out / "index.html").as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    ckpt = next(r for r in board["rows"] if r["id"] == "train/checkpoint-15")
    want = paired_text(ckpt["cells"]["apibank:level-1"])  # the script writes what the Markdown writes
    assert want.startswith("Δ +") and f'<span class="delta">{html.escape(want, quote=False)}</span>' in dom
    paired = sum(1 for r in board["rows"] for c in r["cells"].values() if "delta" in (c.get("paired") or {}))
    assert paired and dom.count('class="delta"') == paired  # only the checkpoints after the first carry one
    assert 'data-key="vs"' in dom and '<td class="txt">baseline</td>' in dom and 'data-key="failed"' in dom
    assert dom.count('<table class="taxonomy"') == len({b for r in board["rows"] for b in r.get("taxonomy") or {}})


def dom_rows(tmp_path, page: Path, fragment: str = "") -> list[tuple[str, str]]:
    proc = chromium(tmp_path, "--dump-dom", page.as_uri() + fragment)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return re.findall(r'<tr data-row-id="([^"]+)" class="(measured|ref)"', proc.stdout)


def test_sorting_and_reference_toggles(board_dir, tmp_path):
    out, board = board_dir
    page = out / "index.html"
    key = "apibank:level-2"
    measured = [r for r in board["rows"] if not r["reference"] and key in r["cells"]]
    want = sorted(measured, key=lambda r: -r["cells"][key]["accuracy"])
    rows = dom_rows(tmp_path, page, f"#sort={key}")
    assert [r for r, kind in rows if kind == "measured"][: len(want)] == [r["id"] for r in want]
    assert rows[-1][1] == "ref"  # references stay below measured rows
    rows = dom_rows(tmp_path, page, f"#sort={key}&asc")
    asc = [r for r, kind in rows if kind == "measured" and r in {m["id"] for m in measured}]
    assert asc == [r["id"] for r in reversed(want)]
    assert all(kind == "measured" for _, kind in dom_rows(tmp_path, page, "#norefs"))
    by_items = sorted((r for r in board["rows"] if not r["reference"]), key=lambda r: r["items"])
    rows = dom_rows(tmp_path, page, "#sort=coverage&asc")  # the items column sorts by count, not by its text
    assert [r for r, kind in rows if kind == "measured"] == [r["id"] for r in by_items]
    mixed = dom_rows(tmp_path, page, "#sort=apibank/overall&mix")
    assert mixed[0][1] == "ref"  # mixed in, a reported 70.69 outranks our fake runs


def test_screenshot_is_not_blank(board_dir, tmp_path):
    out, _ = board_dir
    shot = tmp_path / "shot.png"
    proc = chromium(tmp_path, "--window-size=1200,1400", f"--screenshot={shot}", (out / "index.html").as_uri())
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1400)
    colours = set(pixels)
    assert len(colours) > 50  # text, table shading, bars: far from a blank page
    bar_blue = sum(1 for p in pixels if abs(p[0] - 0x4E) + abs(p[1] - 0x79) + abs(p[2] - 0xA7) < 12)
    assert bar_blue > 200  # the first series' bars and curve are painted
    white = sum(1 for p in pixels if p == (255, 255, 255))
    assert white < 0.97 * len(pixels)
