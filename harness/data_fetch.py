"""Download pinned, sha256-verified data files into the user cache, atomically.

Benchmark data is not shipped in the package. Each dataset is a table of
(relative path, upstream URL at a pinned commit, sha256, size) in
`harness.data_manifest`. A file is streamed to a hidden temp file beside its
target, checked (size, then sha256) and only then renamed into place, so the
target is either absent or complete and verified: a dropped connection or a
corrupted body leaves nothing behind, files already complete are kept, and a
rerun resumes where the last one stopped.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from harness.data_manifest import MANIFEST
from harness.embedded import cache_root
from harness.types import UserError

CHUNK = 1 << 16
TIMEOUT_S = 60.0
WORKERS = 8
_PART_SUFFIX = ".part"


@dataclass(frozen=True)
class FileSpec:
    path: str  # relative to the dataset dir, POSIX separators
    url: str  # upstream location at a pinned commit
    sha256: str
    size: int


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
    for spec in specs:  # the table is ours, but never let a path escape the dataset dir
        p = PurePosixPath(spec.path)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(f"bad manifest path {spec.path!r}")
    return specs


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


def file_state(path: Path, spec: FileSpec, verify: bool = True) -> str:
    """"ok", "missing", or "corrupt" (wrong size, or wrong sha256 when `verify`)."""
    if not path.is_file():
        return "missing"
    if path.stat().st_size != spec.size:
        return "corrupt"
    if verify and sha256_file(path) != spec.sha256:
        return "corrupt"
    return "ok"


Opener = Callable[..., "http.client.HTTPResponse"]


def download_file(url: str, target: Path, sha256: str, size: int, *, timeout: float = TIMEOUT_S, opener: Opener | None = None) -> None:
    """Fetch `url` to `target` atomically; raise UserError (target untouched, temp removed) on any failure."""
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
                        if got > size:
                            raise UserError(f"download of {url} failed: more than the expected {size} bytes")
                        h.update(chunk)
                        out.write(chunk)
            except urllib.error.HTTPError as exc:
                raise UserError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                why = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                raise UserError(f"download of {url} failed after {got} of {size} bytes: {why!r}") from exc
            out.flush()
            os.fsync(out.fileno())
        if got != size:
            raise UserError(f"download of {url} failed: connection ended after {got} of {size} bytes")
        digest = h.hexdigest()
        if digest != sha256:
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
) -> FetchReport:
    """Make `dest` (default `<cache>/data/<name>`) hold every file of dataset `name`, verified.

    Complete files are kept; missing or corrupt ones are downloaded. On the
    first failure the remaining downloads are cancelled and one UserError is
    raised; everything already completed stays, so a rerun resumes.
    `on_file(path, "kept"|"downloaded")` reports progress.
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

    def one(spec: FileSpec) -> str:
        download_file(file_url(spec, name, base_url), root / spec.path, spec.sha256, spec.size, timeout=timeout)
        return spec.path

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(one, spec) for spec in todo}
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for fut in pending:
            fut.cancel()
        wait(pending)
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
