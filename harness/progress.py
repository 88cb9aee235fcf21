"""Progress of an eval run: a rich bar on a terminal, a plain line every `interval` seconds otherwise.

A run under nohup, SLURM or CI writes to a file, where a live bar shows
nothing until the end; there each update becomes at most one line per
interval (and one per task and at the end), so a log says how far a
multi-hour run is and when it will finish.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from harness.records import SampleRecord


def clock_text(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def progress_line(label: str, seen: int, total: int, correct: int, elapsed: float) -> str:
    """One log line: done/total, percent, running accuracy, elapsed and a linear ETA."""
    pct = 100 * seen / total if total else 100.0
    acc = f"{100 * correct / seen:.1f}%" if seen else "-"
    eta = clock_text(elapsed / seen * (total - seen)) if seen else "?"
    return (f"[rest eval] {seen}/{total} ({pct:.1f}%) task {label} acc {acc} "
            f"elapsed {clock_text(elapsed)} eta {eta}")


class Progress:
    def __init__(self, total: int, enabled: bool = True, stream: TextIO | None = None, interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.correct = 0
        self.seen = 0
        self._stream = stream if stream is not None else sys.stderr
        self._interval, self._clock = interval, clock
        self._start = self._last = 0.0
        self._bar = None
        self._task_id = None
        self._label = ""

    @property
    def _live(self) -> bool:
        isatty = getattr(self._stream, "isatty", None)
        return bool(isatty and isatty())

    def __enter__(self) -> Progress:
        self._start = self._last = self._clock()
        if self.enabled and self._live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("acc {task.fields[acc]}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), transient=False, console=Console(file=self._stream),
            )
            self._bar.__enter__()
            self._task_id = self._bar.add_task("eval", total=self.total, acc="-")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def _log(self, force: bool = False) -> None:
        if not self.enabled or self._bar is not None:
            return
        now = self._clock()
        if force or now - self._last >= self._interval:
            self._last = now
            line = progress_line(self._label, self.seen, self.total, self.correct, now - self._start)
            print(line, file=self._stream, flush=True)

    def start_task(self, name: str) -> None:
        self._label = name
        if self._bar is not None:
            self._bar.update(self._task_id, description=name)
        self._log(force=True)

    def note(self, text: str) -> None:
        """Within-batch progress of a multi-step task (a batch of multi-turn episodes can run for many minutes).

        On a terminal it joins the bar's description; in a log it is a line at most once per interval.
        """
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task_id, description=f"{self._label} · {text}")
            return
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            print(f"[rest eval] {self.seen}/{self.total} task {self._label}: {text} "
                  f"elapsed {clock_text(now - self._start)}", file=self._stream, flush=True)

    def advance(self, records: list[SampleRecord]) -> None:
        self.seen += len(records)
        self.correct += sum(1 for r in records if r.valid)
        if self._bar is not None:
            acc = f"{100 * self.correct / self.seen:.1f}%" if self.seen else "-"
            self._bar.update(self._task_id, advance=len(records), acc=acc)
        self._log(force=self.seen >= self.total)
