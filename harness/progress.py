"""A rich progress bar with ETA and running accuracy (a no-op when disabled or not a TTY)."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.correct = 0
        self.seen = 0
        self._bar = None
        self._task_id = None
        self._label = ""

    def __enter__(self) -> Progress:
        if self.enabled:
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
                TimeRemainingColumn(), transient=False, disable=not sys.stderr.isatty() and False,
            )
            self._bar.__enter__()
            self._task_id = self._bar.add_task("eval", total=self.total, acc="-")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def start_task(self, name: str) -> None:
        self._label = name
        if self._bar is not None:
            self._bar.update(self._task_id, description=name)

    def advance(self, records: list[dict[str, Any]]) -> None:
        self.seen += len(records)
        self.correct += sum(1 for r in records if r.get("valid"))
        if self._bar is not None:
            acc = f"{100 * self.correct / self.seen:.1f}%" if self.seen else "-"
            self._bar.update(self._task_id, advance=len(records), acc=acc)
