"""Download pinned, verified data files into the user cache, atomically.

Benchmark data is not shipped in the package. Each dataset is a table of
(relative path, upstream URL at a pinned commit, sha256 and size, or git blob
id) in `harness.data.manifest`. A file is streamed to a hidden temp file beside
its target, checked (size, then sha256; or git's blob id, which covers size and
content) and only then renamed into place, so the target is either absent or
complete and verified: a dropped connection or a corrupted body leaves nothing
behind, files already complete are kept, and a rerun resumes where the last one
stopped. While bytes arrive, one progress line says how far the whole dataset is.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TextIO

from harness.config import cache_root
from harness.data.fetch_progress import Progress
from harness.data.manifest import MANIFEST
from harness.types import UserError

CHUNK = 1 << 16
TIMEOUT_S = 60.0
WORKERS = 8
_PART_SUFFIX = ".part"
# A file pinned by git blob id has no size in the table; refuse a body larger than this (a wrong URL
# or a hostile server must not fill the disk before the hash can say no).
MAX_UNSIZED_BYTES = 4 << 30


@dataclass(frozen=True)
class FileSpec:
    """One pinned file: by sha256 + size, or by git blob id alone (bytes never seen here, size unknown)."""

    path: str  # relative to the dataset dir, POSIX separators
    url: str  # upstream location at a pinned commit
    sha256: str | None
    size: int | None
    git_blob: str | None = None

    @property
    def pin(self) -> str:
        return f"git blob {self.git_blob}" if self.git_blob else f"sha256 {self.sha256}"


@dataclass
class FetchReport:
    dest: Path
    downloaded: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def datasets() -> list[str]:
    return sorted(MANIFEST)


def manifest(name: str) -> list[FileSpec]:
    if name not in MANIFEST:
        raise UserError(f"unknown dataset {name!r}; known: {', '.join(datasets())}")
    specs = [FileSpec(*row) for row in MANIFEST[name]]
    for spec in specs:  # the table is ours, but never let a path escape the dataset dir or go unpinned
        p = PurePosixPath(spec.path)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(f"bad manifest path {spec.path!r}")
        if not _is_pinned(spec):
            raise ValueError(f"manifest entry {spec.path!r} is not pinned (sha256 + size, or a 40-hex git blob id)")
    return specs


def _is_hex(s: object, n: int) -> bool:
    return isinstance(s, str) and len(s) == n and all(c in "0123456789abcdef" for c in s)


def _is_pinned(spec: FileSpec) -> bool:
    if spec.git_blob is not None:
        return _is_hex(spec.git_blob, 40) and spec.sha256 is None and (spec.size is None or spec.size >= 0)
    return _is_hex(spec.sha256, 64) and isinstance(spec.size, int) and spec.size >= 0


def data_root() -> Path:
    """`<cache>/data`, the default home of every fetched dataset."""
    return cache_root() / "data"


def default_dest(name: str) -> Path:
    return data_root() / name


def file_url(spec: FileSpec, dataset: str, base_url: str | None = None) -> str:
    """Upstream URL, or `<base_url>/<dataset>/<path>` for a mirror laid out like the cache."""
    if not base_url:
        return spec.url
    return base_url.rstrip("/") + "/" + urllib.parse.quote(f"{dataset}/{spec.path}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def git_blob_header(size: int) -> bytes:
    return b"blob %d\0" % size


def git_blob_id(data: bytes) -> str:
    """Git's object id of a file with these bytes (`git hash-object`): sha1 of `blob <size>\\0` + bytes."""
    return hashlib.sha1(git_blob_header(len(data)) + data).hexdigest()


def git_blob_id_file(path: Path) -> str:
    """`git_blob_id` of a file, read in chunks (the size comes from the file system)."""
    h = hashlib.sha1(git_blob_header(path.stat().st_size))
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def file_state(path: Path, spec: FileSpec, verify: bool = True) -> str:
    """"ok", "missing", or "corrupt" (wrong size, or wrong sha256 / git blob id when `verify`).

    Without `verify` a blob-pinned file only has to exist (its size is not in the table).
    """
    if not path.is_file():
        return "missing"
    if spec.size is not None and path.stat().st_size != spec.size:
        return "corrupt"
    if verify and spec.git_blob is not None and git_blob_id_file(path) != spec.git_blob:
        return "corrupt"
    if verify and spec.git_blob is None and sha256_file(path) != spec.sha256:
        return "corrupt"
    return "ok"


Opener = Callable[..., "http.client.HTTPResponse"]


def download_file(url: str, target: Path, sha256: str | None, size: int | None, *, git_blob: str | None = None,
                  timeout: float = TIMEOUT_S, opener: Opener | None = None,
                  on_bytes: Callable[[int], None] | None = None) -> None:
    """Fetch `url` to `target` atomically; raise UserError (target untouched, temp removed) on any failure.

    Pinned by `sha256` + `size`, or by `git_blob` (size may be None: the blob id covers it).
    `on_bytes(n)` is told of every chunk written.
    """
    if (git_blob is None) == (sha256 is None):
        raise ValueError("download_file needs exactly one of sha256 and git_blob")
    cap = size if size is not None else MAX_UNSIZED_BYTES
    expect = f"{size}" if size is not None else "?"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=_PART_SUFFIX)
    except OSError as exc:
        raise UserError(f"cannot write into {target.parent}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        got = 0
        with os.fdopen(fd, "wb") as out:
            req = urllib.request.Request(url, headers={"User-Agent": "rest-harness"})
            try:
                with (opener or urllib.request.urlopen)(req, timeout=timeout) as resp:
                    while chunk := resp.read(CHUNK):
                        got += len(chunk)
                        if got > cap:
                            raise UserError(f"download of {url} failed: more than the expected {cap} bytes")
                        h.update(chunk)
                        out.write(chunk)
                        if on_bytes:
                            on_bytes(len(chunk))
            except urllib.error.HTTPError as exc:
                raise UserError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                why = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                raise UserError(f"download of {url} failed after {got} of {expect} bytes: {why!r}") from exc
            out.flush()
            os.fsync(out.fileno())
        if size is not None and got != size:
            raise UserError(f"download of {url} failed: connection ended after {got} of {size} bytes")
        if git_blob is not None:
            blob = git_blob_id_file(tmp)  # the header needs the size, known only now
            if blob != git_blob:
                raise UserError(f"checksum mismatch for {url}: expected git blob {git_blob}, got {blob} "
                                f"({got} bytes); nothing was saved")
        elif (digest := h.hexdigest()) != sha256:
            raise UserError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {digest}; nothing was saved")
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise UserError(f"cannot move the download into {target}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _sweep_parts(dest: Path, specs: list[FileSpec]) -> None:
    """Remove temp files a killed earlier run could not clean up."""
    for spec in specs:
        target = dest / spec.path
        if target.parent.is_dir():
            for stale in target.parent.glob(f".{target.name}.*{_PART_SUFFIX}"):
                stale.unlink(missing_ok=True)


def fetch(
    name: str,
    dest: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    *,
    workers: int = WORKERS,
    timeout: float = TIMEOUT_S,
    on_file: Callable[[str, str], None] | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
) -> FetchReport:
    """Make `dest` (default `<cache>/data/<name>`) hold every file of dataset `name`, verified.

    Complete files are kept; missing or corrupt ones are downloaded. On the
    first failure the remaining downloads are cancelled and one UserError is
    raised; everything already completed stays, so a rerun resumes.
    `on_file(path, "kept"|"downloaded")` reports each file; with `progress`, a
    `Progress` line goes to `stream` (default: stderr) while bytes arrive.
    """
    specs = manifest(name)
    root = Path(dest).expanduser() if dest else default_dest(name)
    report = FetchReport(dest=root)
    _sweep_parts(root, specs)
    todo = []
    for spec in specs:
        if file_state(root / spec.path, spec) == "ok":
            report.kept.append(spec.path)
            if on_file:
                on_file(spec.path, "kept")
        else:
            todo.append(spec)
    if not todo:
        return report
    bar = Progress(name, todo, (stream or sys.stderr) if progress else None)

    def one(spec: FileSpec) -> str:
        download_file(file_url(spec, name, base_url), root / spec.path, spec.sha256, spec.size, git_blob=spec.git_blob,
                      timeout=timeout, on_bytes=bar.add)
        bar.file_done()
        return spec.path

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(one, spec) for spec in todo}
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for fut in pending:
                fut.cancel()
            wait(pending)
    finally:
        bar.close()
    errors = [f.exception() for f in futures if not f.cancelled() and f.exception() is not None]
    for fut in futures:
        if not fut.cancelled() and fut.exception() is None:
            report.downloaded.append(fut.result())
            if on_file:
                on_file(fut.result(), "downloaded")
    if errors:
        first = errors[0]
        if isinstance(first, UserError):
            raise UserError(f"{first} ({len(report.downloaded) + len(report.kept)} of {len(specs)} {name} files are in place; rerun to resume)")
        raise first
    return report


def status(name: str, dest: str | os.PathLike[str] | None = None, verify: bool = True) -> dict[str, str]:
    """State of each file of dataset `name` in `dest`: path -> "ok" | "missing" | "corrupt"."""
    root = Path(dest).expanduser() if dest else default_dest(name)
    return {spec.path: file_state(root / spec.path, spec, verify) for spec in manifest(name)}
