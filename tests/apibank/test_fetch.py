"""`rest data fetch` against a real HTTP server on loopback serving ../shared/data.

The server maps `/<dataset>/<manifest path>` to the shared copies and can be
told to corrupt a file, drop the connection mid-body (with or without a
Content-Length) or answer 404, so every failure path is exercised for real.
"""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import urllib.parse
from pathlib import Path

import pytest

from harness import data_fetch
from harness.apibank import data as apibank_data
from harness.cli import main as rest_main
from harness.data_manifest import MANIFEST
from harness.types import UserError

SHARED = (Path(__file__).resolve().parents[2].parent / "shared" / "data").resolve()  # ../shared may be a link
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
        if fault == "404" or SHARED not in path.parents or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
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


@pytest.fixture()
def mirror():
    server = Mirror()
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
        if target.exists():
            assert hashlib.sha256(target.read_bytes()).hexdigest() == spec.sha256, spec.path


# ---------------------------------------------------------------- manifest


def test_manifest_matches_shared_copies_and_pinned_urls():
    assert len(MANIFEST["apibank"]) == 301 and len(MANIFEST["toolrl"]) == 3
    for name in ("apibank", "toolrl"):
        for spec in data_fetch.manifest(name):
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
    # every shared apibank file except our own README is in the manifest
    shared = {str(p.relative_to(SHARED / "apibank")) for p in (SHARED / "apibank").rglob("*") if p.is_file()}
    assert shared - {s.path for s in data_fetch.manifest("apibank")} == {"README.md"}


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
    assert sorted(report.downloaded) == ["LICENSE", "rlla_4k_test.parquet", "rlla_sft.json"]
    assert not stale.exists()
    assert set(data_fetch.status("toolrl", dest).values()) == {"ok"}


# ---------------------------------------------------------------- CLI


def test_cli_fetch_and_list(mirror, tmp_path, capsys):
    dest = tmp_path / "tr"
    assert rest_main(["data", "fetch", "toolrl", "--dest", str(dest), "--base-url", mirror.url]) == 0
    assert "3 files verified" in capsys.readouterr().out
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
