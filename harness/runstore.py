"""A run directory on disk: per-task sample files that survive interruption.

Each finished sample is one JSON line, flushed and fsynced as soon as its
batch is scored, so a kill loses at most the batch in flight. On resume a
half-written last line is cut off and redone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.types import UserError


def task_file_name(task: str) -> str:
    return task.replace(":", "__").replace("/", "_") + ".jsonl"


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.samples_dir = self.root / "samples"

    def exists(self) -> bool:
        return self.samples_dir.is_dir() and any(self.samples_dir.iterdir())

    def prepare(self) -> None:
        try:
            self.samples_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create run directory {self.root}: {exc.strerror}") from None

    def path(self, task: str) -> Path:
        return self.samples_dir / task_file_name(task)

    def load(self, task: str, *, repair: bool = True) -> list[dict[str, Any]]:
        """Records already written for `task`; a torn last line is removed from the file."""
        path = self.path(task)
        if not path.is_file():
            return []
        raw = path.read_bytes()
        records, good_end, pos = [], 0, 0
        for line in raw.splitlines(keepends=True):
            pos += len(line)
            if not line.endswith(b"\n"):
                break  # torn write
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
            good_end = pos
        if repair and good_end != len(raw):
            with open(path, "r+b") as fh:
                fh.truncate(good_end)
        return records

    def append(self, task: str, records: list[dict[str, Any]]) -> None:
        with open(self.path(task), "a", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def rewrite(self, task: str, records: list[dict[str, Any]]) -> None:
        tmp = self.path(task).with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, self.path(task))

    def write_json(self, name: str, data: Any) -> Path:
        path = self.root / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
        return path
