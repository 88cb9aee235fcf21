"""`rest leaderboard publish` in W&B offline mode, checked by reading the offline run back from disk."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.leaderboard.build import build_board_files
from harness.leaderboard.wandb_publish import bar_key, headline_columns, table_columns
from tests.test_leaderboard import APIBANK, BFCL, make_run


def wandb_records(path: Path):
    """Protobuf records of a .wandb file: a 7-byte header, then LevelDB-log framed chunks in 32 KiB blocks."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # block trailer padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos: pos + 7])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk, pos = data[pos + 7: pos + 7 + length], pos + 7 + length
        if kind == 1:  # full
            payload = chunk
        elif kind == 2:  # first
            pending = chunk
            continue
        elif kind == 3:  # middle
            pending += chunk
            continue
        else:  # last
            payload, pending = pending + chunk, b""
        rec = pb.Record()
        rec.ParseFromString(payload)
        yield rec


def history_keys(run_dir: Path) -> dict[str, object]:
    out = {}
    for rec in wandb_records(next(run_dir.glob("run-*.wandb"))):
        if rec.WhichOneof("record_type") == "history":
            for item in rec.history.item:
                key = "/".join(item.nested_key) if item.nested_key else item.key
                out[key] = json.loads(item.value_json)
    return out


@pytest.fixture()
def offline_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    return tmp_path


def test_publish_offline_logs_table_and_bar_charts(offline_env, tmp_path, capsys):
    make_run(tmp_path / "runs" / "alpha", APIBANK | BFCL, model="alpha-model")
    make_run(tmp_path / "runs" / "beta", APIBANK, model="beta-model")
    board = build_board_files([tmp_path / "runs"], tmp_path / "board", references=True, n_boot=50)
    assert cli_main(["leaderboard", "publish", str(tmp_path / "board"), "--wandb-project", "lb-test"]) == 0
    assert "published" in capsys.readouterr().out
    (run_dir,) = list((offline_env / "wandb").glob("offline-run-*"))
    (table_file,) = list((run_dir / "files" / "media" / "table").glob("leaderboard_*.table.json"))
    table = json.loads(table_file.read_text())
    assert table["columns"] == table_columns(board)
    assert [row[0] for row in table["data"]] == [r["label"] for r in board["rows"]]
    refs = [row for row in table["data"] if row[2]]
    assert len(refs) == sum(1 for r in board["rows"] if r["reference"]) > 0
    alpha = next(row for row in table["data"] if row[0] == "alpha")
    i = table["columns"].index("apibank:level-2")
    cell = next(r for r in board["rows"] if r["id"] == "alpha")["cells"]["apibank:level-2"]
    assert alpha[i] == pytest.approx(100 * cell["accuracy"], abs=1e-3)
    assert alpha[i + 1] == pytest.approx(100 * cell["ci95"][0], abs=1e-3) and alpha[i + 3] == 67
    keys = history_keys(run_dir)  # the .wandb file itself records the table and one chart per headline column
    assert keys["leaderboard/nrows"] == len(board["rows"])
    for column in headline_columns(board):
        assert f"{bar_key(column)}_table/nrows" in keys, column
    assert keys["bar/apibank/overall_table/nrows"] == 2 and keys["bar/bfcl/overall_table/nrows"] == 1
    assert "bar/apibank.level-2_table/nrows" in keys


def test_publish_needs_a_board(offline_env, tmp_path):
    assert cli_main(["leaderboard", "publish", str(tmp_path), "--wandb-project", "p"]) == 2
