"""`rest data fetch` against a real HTTP server on loopback serving ../shared/data.

The server maps `/<dataset>/<manifest path>` to the shared copies and can be
told to corrupt a file, drop the connection mid-body (with or without a
Content-Length) or answer 404, so every failure path is exercised for real.
ToolRL's `rlla_4k_train.parquet` is pinned by its git blob id and was never
downloaded here, so the mirror serves stand-in bytes for it and the fixture
pins the manifest to their blob id: the blob-id path runs in every toolrl fetch.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest

from harness.apibank import data as apibank_data
from harness.cli import main as rest_main
from harness.data import fetch as data_fetch
from harness.data import fetch_progress
from harness.data.manifest import MANIFEST
from harness.types import UserError

SHARED = (Path(__file__).resolve().parents[2].parent / "shared" / "data").resolve()  # ../shared may be a link
TOOLRL_COMMIT = "8cee13ec0ca72f0461da372a93a6fd8140dbb840"
TRAIN_BLOB = "0ddc730c556e4d26449dbdb55a1b28be824a8bfe"  # dataset/rlla_4k/train.parquet in ToolRL's tree at TOOLRL_COMMIT
TEST_BLOB = "ccdac1cc0112fb54dd68cbc88d9abfe28ce3d749"  # dataset/rlla_4k/test.parquet, same tree
STAND_IN = b"PAR1 stand-in for rlla_4k/train.parquet\0" + bytes(range(256)) * 40  # served in place of the real file
PINNED = {
    "qiancheng0/ToolRL/8cee13ec0ca72f0461da372a93a6fd8140dbb840/",
    "AlibabaResearch/DAMO-ConvAI/1d76900822d9ecfcd6e9eb0ca64a073cb892b735/api-bank/test-data/",
    "AlibabaResearch/DAMO-ConvAI/483554eae102996f5ec1f4feab4e78ef29c2a394/api-bank/",
}


class Mirror(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.faults: dict[str, str] = {}  # url path -> "corrupt" | "drop" | "drop_nolength" | "404"
        self.extra: dict[str, bytes] = {}  # url path -> bytes served instead of a shared copy
        self.requests: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        rel = urllib.parse.unquote(self.path.lstrip("/"))
        with self.server.lock:
            self.server.requests.append(rel)
        fault = self.server.faults.get(rel)
        path = (SHARED / rel).resolve()
        if fault == "404" or (rel not in self.server.extra and (SHARED not in path.parents or not path.is_file())):
            self.send_error(404)
            return
        body = self.server.extra[rel] if rel in self.server.extra else path.read_bytes()
        if fault == "corrupt":
            body = body[:-1] + bytes([body[-1] ^ 0xFF])  # same size, one byte flipped
        self.send_response(200)
        if fault != "drop_nolength":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault in ("drop", "drop_nolength"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)


def _with_train_blob(blob: str) -> list:
    """The toolrl table with the train parquet pinned to `blob` instead of the upstream blob id."""
    rows = [row for row in MANIFEST["toolrl"] if row[0] != "rlla_4k_train.parquet"]
    train = next(row for row in MANIFEST["toolrl"] if row[0] == "rlla_4k_train.parquet")
    return [*rows, (*train[:4], blob)]


@pytest.fixture()
def mirror(monkeypatch):
    server = Mirror()
    server.extra["toolrl/rlla_4k_train.parquet"] = STAND_IN
    monkeypatch.setitem(MANIFEST, "toolrl", _with_train_blob(data_fetch.git_blob_id(STAND_IN)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _parts(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".part")]


def _assert_all_present_files_verified(root: Path, name: str) -> None:
    for spec in data_fetch.manifest(name):
        target = root / spec.path
        if target.exists() and spec.git_blob:
            assert data_fetch.git_blob_id(target.read_bytes()) == spec.git_blob, spec.path
        elif target.exists():
            assert hashlib.sha256(target.read_bytes()).hexdigest() == spec.sha256, spec.path


# ---------------------------------------------------------------- manifest


def test_manifest_matches_shared_copies_and_pinned_urls():
    assert len(MANIFEST["apibank"]) == 301 and len(MANIFEST["toolrl"]) == 4
    for name in ("apibank", "toolrl"):
        for spec in data_fetch.manifest(name):
            if spec.git_blob:  # never downloaded here: checked in the next test
                continue
            blob = (SHARED / name / spec.path).read_bytes()
            assert len(blob) == spec.size, spec.path
            assert hashlib.sha256(blob).hexdigest() == spec.sha256, spec.path
            assert spec.url.startswith("https://raw.githubusercontent.com/"), spec.url
            tail = urllib.parse.unquote(spec.url.removeprefix("https://raw.githubusercontent.com/"))
            assert any(tail.startswith(p) for p in PINNED), spec.url
            assert " " not in spec.url
    urls = {s.path: s.url for s in data_fetch.manifest("toolrl")}
    assert urls["rlla_4k_test.parquet"].endswith("/dataset/rlla_4k/test.parquet")
    assert urls["rlla_sft.json"].endswith("/dataset/rlla_4k_raw/rlla_sft.json")
    assert [s.path for s in data_fetch.manifest("toolrl") if s.git_blob] == ["rlla_4k_train.parquet"]
    # every shared apibank file except our own README is in the manifest
    shared = {str(p.relative_to(SHARED / "apibank")) for p in (SHARED / "apibank").rglob("*") if p.is_file()}
    assert shared - {s.path for s in data_fetch.manifest("apibank")} == {"README.md"}


def test_train_parquet_is_pinned_by_its_upstream_blob_id():
    (spec,) = [s for s in data_fetch.manifest("toolrl") if s.path == "rlla_4k_train.parquet"]
    assert spec.git_blob == TRAIN_BLOB and spec.sha256 is None and spec.size is None
    assert spec.url == f"https://raw.githubusercontent.com/qiancheng0/ToolRL/{TOOLRL_COMMIT}/dataset/rlla_4k/train.parquet"
    assert spec.pin == f"git blob {TRAIN_BLOB}"


def test_git_blob_id_matches_git_hash_object(tmp_path):
    sample = tmp_path / "sample.bin"
    sample.write_bytes(STAND_IN + b"\r\n tail")
    git = subprocess.run(["git", "hash-object", str(sample)], capture_output=True, text=True, check=True).stdout.strip()
    assert data_fetch.git_blob_id(sample.read_bytes()) == git == data_fetch.git_blob_id_file(sample)
    assert data_fetch.git_blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob
    # the shared test split hashes to the id upstream's tree lists for it, so a blob id pins raw.githubusercontent bytes
    assert data_fetch.git_blob_id_file(SHARED / "toolrl" / "rlla_4k_test.parquet") == TEST_BLOB


def test_unpinned_manifest_entry_is_refused(monkeypatch):
    monkeypatch.setitem(MANIFEST, "toolrl", [("x.bin", "https://x", None, None)])
    with pytest.raises(ValueError, match="not pinned"):
        data_fetch.manifest("toolrl")
    monkeypatch.setitem(MANIFEST, "toolrl", [("x.bin", "https://x", None, None, "abc")])
    with pytest.raises(ValueError, match="not pinned"):
        data_fetch.manifest("toolrl")


def test_base_url_maps_dataset_and_quotes_path():
    spec = data_fetch.FileSpec("damo-convai/api-bank/lv3-samples/Hotel Booking.txt", "https://x", "0" * 64, 1)
    assert data_fetch.file_url(spec, "apibank", "http://h:1/root/") == (
        "http://h:1/root/apibank/damo-convai/api-bank/lv3-samples/Hotel%20Booking.txt"
    )
    assert data_fetch.file_url(spec, "apibank") == "https://x"


def test_unknown_dataset_is_a_user_error():
    with pytest.raises(UserError, match="unknown dataset 'nope'"):
        data_fetch.fetch("nope")


# ---------------------------------------------------------------- downloads


def test_fetch_full_apibank_then_rerun_downloads_nothing(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("REST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(apibank_data.ENV_VAR, raising=False)
    report = data_fetch.fetch("apibank", base_url=mirror.url)
    dest = tmp_path / "cache" / "data" / "apibank"
    assert report.dest == dest and len(report.downloaded) == 301 and not report.kept
    assert set(data_fetch.status("apibank").values()) == {"ok"}
    assert (dest / "damo-convai/api-bank/lv3-samples/Hotel Booking.txt").is_file()
    assert not _parts(dest)
    # the fetched cache is what the API-Bank tasks find (ahead of the ../shared fallback)
    assert apibank_data.data_dir() == dest
    assert [len(apibank_data.load_level(lv)) for lv in (1, 2, 3)] == [399, 67, 131]

    mirror.requests.clear()
    again = data_fetch.fetch("apibank", base_url=mirror.url)
    assert len(again.kept) == 301 and not again.downloaded and mirror.requests == []


def test_corrupted_file_is_rejected_and_rerun_resumes(mirror, tmp_path):
    dest = tmp_path / "toolrl"
    mirror.faults["toolrl/rlla_sft.json"] = "corrupt"
    with pytest.raises(UserError) as err:
        data_fetch.fetch("toolrl", dest, mirror.url)
    msg = str(err.value)
    assert "checksum mismatch" in msg and "rlla_sft.json" in msg and "rerun to resume" in msg
    assert "\n" not in msg
    assert not (dest / "rlla_sft.json").exists()
    assert not _parts(dest)
    _assert_all_present_files_verified(dest, "toolrl")

    del mirror.faults["toolrl/rlla_sft.json"]
    mirror.requests.clear()
    report = data_fetch.fetch("toolrl", dest, mirror.url)
    assert "rlla_sft.json" in report.downloaded
    assert set(data_fetch.status("toolrl", dest).values()) == {"ok"}
    # files completed by the failed run were kept, not fetched again
    assert mirror.requests == [f"toolrl/{p}" for p in report.downloaded]
    assert len(report.kept) >= 1


@pytest.mark.parametrize("fault", ["drop", "drop_nolength"])
def test_dropped_connection_leaves_nothing_half_written(mirror, tmp_path, fault):
    dest = tmp_path / "toolrl"
    mirror.faults["toolrl/rlla_4k_test.parquet"] = fault
    with pytest.raises(UserError, match=r"rlla_4k_test\.parquet.*(bytes|IncompleteRead)") as err:
        data_fetch.fetch("toolrl", dest, mirror.url)
    assert "\n" not in str(err.value)
    assert not (dest / "rlla_4k_test.parquet").exists()
    assert not _parts(dest)
    _assert_all_present_files_verified(dest, "toolrl")

    del mirror.faults["toolrl/rlla_4k_test.parquet"]
    report = data_fetch.fetch("toolrl", dest, mirror.url)
    assert "rlla_4k_test.parquet" in report.downloaded
    assert set(data_fetch.status("toolrl", dest).values()) == {"ok"}


def test_http_error_is_one_clear_line(mirror, tmp_path):
    mirror.faults["toolrl/LICENSE"] = "404"
    with pytest.raises(UserError, match="HTTP 404"):
        data_fetch.fetch("toolrl", tmp_path / "t", mirror.url, workers=1)
    assert not (tmp_path / "t" / "LICENSE").exists()


def test_unreachable_server_is_a_user_error(tmp_path):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UserError, match="failed"):
        data_fetch.fetch("toolrl", tmp_path / "t", f"http://127.0.0.1:{port}", timeout=5)
    assert not _parts(tmp_path)


def test_corrupt_local_file_is_replaced_and_stale_parts_swept(mirror, tmp_path):
    dest = tmp_path / "toolrl"
    dest.mkdir()
    (dest / "LICENSE").write_text("tampered")
    stale = dest / ".rlla_sft.json.abc123.part"
    stale.write_bytes(b"half")
    assert data_fetch.status("toolrl", dest)["LICENSE"] == "corrupt"
    report = data_fetch.fetch("toolrl", dest, mirror.url)
    assert sorted(report.downloaded) == ["LICENSE", "rlla_4k_test.parquet", "rlla_4k_train.parquet", "rlla_sft.json"]
    assert not stale.exists()
    assert set(data_fetch.status("toolrl", dest).values()) == {"ok"}


# ---------------------------------------------------------------- CLI


def test_cli_fetch_and_list(mirror, tmp_path, capsys):
    dest = tmp_path / "tr"
    assert rest_main(["data", "fetch", "toolrl", "--dest", str(dest), "--base-url", mirror.url]) == 0
    assert "4 files verified" in capsys.readouterr().out
    assert rest_main(["data", "list", "toolrl", "--dest", str(dest)]) == 0
    assert "complete" in capsys.readouterr().out
    (dest / "LICENSE").unlink()
    assert rest_main(["data", "list", "toolrl", "--dest", str(dest)]) == 0
    assert "partial" in capsys.readouterr().out

    mirror.faults["toolrl/LICENSE"] = "corrupt"
    assert rest_main(["data", "fetch", "toolrl", "--dest", str(dest), "--base-url", mirror.url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rest: error: checksum mismatch") and err.count("\n") == 1


def test_unwritable_destination_is_a_user_error(mirror, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(UserError, match="cannot write into"):
        data_fetch.fetch("toolrl", blocker / "sub", mirror.url)


# ---------------------------------------------------------------- files pinned by git blob id


def test_blob_pinned_download_accepts_the_right_bytes(mirror, tmp_path):
    mirror.extra["blob/a.bin"] = STAND_IN
    target = tmp_path / "d" / "a.bin"
    seen: list[int] = []
    data_fetch.download_file(f"{mirror.url}/blob/a.bin", target, None, None,
                             git_blob=data_fetch.git_blob_id(STAND_IN), on_bytes=seen.append)
    assert target.read_bytes() == STAND_IN and sum(seen) == len(STAND_IN)
    assert not _parts(tmp_path)


@pytest.mark.parametrize("fault", [None, "corrupt"])
def test_blob_pinned_download_rejects_wrong_bytes_and_keeps_nothing(mirror, tmp_path, fault):
    mirror.extra["blob/a.bin"] = STAND_IN
    if fault:  # same size, one byte flipped
        mirror.faults["blob/a.bin"] = fault
        expected = data_fetch.git_blob_id(STAND_IN)
    else:  # the right bytes, but pinned to other content
        expected = data_fetch.git_blob_id(STAND_IN + b"!")
    target = tmp_path / "d" / "a.bin"
    with pytest.raises(UserError) as err:
        data_fetch.download_file(f"{mirror.url}/blob/a.bin", target, None, None, git_blob=expected)
    msg = str(err.value)
    assert msg.startswith("checksum mismatch") and f"expected git blob {expected}" in msg
    assert f"({len(STAND_IN)} bytes); nothing was saved" in msg and "\n" not in msg
    assert not target.exists() and not _parts(tmp_path)


def test_blob_pinned_file_in_a_dataset_fetch_is_verified_and_status_checked(mirror, tmp_path):
    dest = tmp_path / "toolrl"
    mirror.faults["toolrl/rlla_4k_train.parquet"] = "corrupt"
    with pytest.raises(UserError, match=r"checksum mismatch .*train\.parquet: expected git blob .*rerun to resume"):
        data_fetch.fetch("toolrl", dest, mirror.url)
    assert not (dest / "rlla_4k_train.parquet").exists() and not _parts(dest)
    assert data_fetch.status("toolrl", dest)["rlla_4k_train.parquet"] == "missing"

    del mirror.faults["toolrl/rlla_4k_train.parquet"]
    report = data_fetch.fetch("toolrl", dest, mirror.url)
    assert report.downloaded == ["rlla_4k_train.parquet"] and (dest / "rlla_4k_train.parquet").read_bytes() == STAND_IN
    assert set(data_fetch.status("toolrl", dest).values()) == {"ok"}
    (dest / "rlla_4k_train.parquet").write_bytes(STAND_IN[:-1] + b"x")  # tampered, same size
    assert data_fetch.status("toolrl", dest)["rlla_4k_train.parquet"] == "corrupt"
    assert data_fetch.status("toolrl", dest, verify=False)["rlla_4k_train.parquet"] == "ok"  # no size to compare
    assert data_fetch.fetch("toolrl", dest, mirror.url).downloaded == ["rlla_4k_train.parquet"]


def test_fetched_train_parquet_is_where_the_trainer_alias_looks(mirror, tmp_path, monkeypatch):
    from trainer.data import resolve_data_spec

    monkeypatch.setenv("REST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("REST_TOOLRL_DATA", raising=False)
    data_fetch.fetch("toolrl", base_url=mirror.url)
    assert resolve_data_spec("toolrl:rl") == ("parquet", str(tmp_path / "cache" / "data" / "toolrl" / "rlla_4k_train.parquet"))


# ---------------------------------------------------------------- progress line


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_text_counts_known_and_unknown_sizes():
    assert fetch_progress.progress_text("toolrl", 1_500_000, 2_200_000, 1, 2, 4) == (
        "toolrl: 1.5 MB of 2.2 MB + 1 file of unknown size; 2/4 files done")
    assert fetch_progress.progress_text("apibank", 0, 10**6, 0, 0, 301) == "apibank: 0.0 MB of 1.0 MB; 0/301 files done"


def test_progress_line_rewrites_on_a_terminal_and_is_sparse_in_a_log():
    specs = [data_fetch.FileSpec("a", "u", "0" * 64, 2_000_000), data_fetch.FileSpec("b", "u", None, None, "0" * 40)]
    now = [0.0]
    tty = _Tty()
    bar = fetch_progress.Progress("toolrl", specs, tty, clock=lambda: now[0])
    bar.add(10)  # too soon after the start: nothing yet
    now[0] = 1.0
    bar.add(999_990)
    now[0] = 1.5
    bar.file_done()
    bar.close()
    assert tty.getvalue() == ("\rtoolrl: 1.0 MB of 2.0 MB + 1 file of unknown size; 0/2 files done\x1b[K"
                              "\rtoolrl: 1.0 MB of 2.0 MB + 1 file of unknown size; 1/2 files done\x1b[K\r\x1b[K")

    now[0] = 0.0
    log = io.StringIO()
    bar = fetch_progress.Progress("toolrl", specs, log, clock=lambda: now[0])
    now[0] = 29.0
    bar.add(5)
    assert log.getvalue() == ""
    now[0] = 31.0
    bar.add(5)
    bar.close()
    assert log.getvalue() == "toolrl: 0.0 MB of 2.0 MB + 1 file of unknown size; 0/2 files done\n"
