"""The one progress line of a dataset fetch, fed by every download thread (harness/data/fetch.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

PROGRESS_TTY_EVERY_S = 0.2  # rewrite the line on a terminal at most this often
PROGRESS_LOG_EVERY_S = 30.0  # in a log file (not a terminal): one line this often


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def progress_text(name: str, got: int, expected: int, unsized: int, files_done: int, files_total: int) -> str:
    """The progress line: bytes so far against the known total (files pinned by blob id add an unknown amount)."""
    of = f"of {_megabytes(expected)}" + (f" + {unsized} file{'s' * (unsized != 1)} of unknown size" if unsized else "")
    return f"{name}: {_megabytes(got)} {of}; {files_done}/{files_total} files done"


class Progress:
    """One line for the downloads of a whole dataset, fed by all worker threads.

    On a terminal it is rewritten in place (at most every PROGRESS_TTY_EVERY_S)
    and erased at the end, so the caller's summary follows on a clean line; in a
    log it is written once per PROGRESS_LOG_EVERY_S, so a long download is seen
    to be alive without a line per chunk. Short downloads into a log say nothing.
    """

    def __init__(self, name: str, todo: Sequence[Any], stream: TextIO | None, clock: Callable[[], float] = time.monotonic):
        self.name, self.stream, self.clock = name, stream, clock
        self.expected = sum(s.size or 0 for s in todo)
        self.unsized = sum(1 for s in todo if s.size is None)
        self.total, self.done, self.got = len(todo), 0, 0
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.every = PROGRESS_TTY_EVERY_S if self.tty else PROGRESS_LOG_EVERY_S
        self.last = clock()
        self.shown = False
        self.lock = threading.Lock()

    def add(self, nbytes: int) -> None:
        with self.lock:
            self.got += nbytes
            self._maybe_show()

    def file_done(self) -> None:
        with self.lock:
            self.done += 1
            self._maybe_show()

    def _maybe_show(self) -> None:
        now = self.clock()
        if self.stream is None or now - self.last < self.every:
            return
        self.last = now
        text = progress_text(self.name, self.got, self.expected, self.unsized, self.done, self.total)
        self.stream.write(f"\r{text}\x1b[K" if self.tty else text + "\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.stream is not None and self.tty and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
