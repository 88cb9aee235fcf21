"""A run directory on disk: per-task sample files that survive interruption, a lock, a record of settings.

Each finished sample is one JSON line, flushed and fsynced as soon as its
batch is scored, so a kill loses at most the batch in flight. On resume a
half-written last line is cut off and redone; an unreadable line elsewhere
(a bit flip, a stray edit) is set aside in `<file>.rejected` with a warning,
and every valid line after it is kept: one bad line must not cost the rest.

Only one process writes a run directory at a time (harness/rundir/lock.py);
`run.json` records the settings each generating session used, so `--resume`
can refuse to mix samples made with different ones (harness/rundir/settings.py).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from harness.records import SampleRecord
from harness.types import UserError

RUN_RECORD = "run.json"
REJECTED_SUFFIX = ".rejected"
_WARN_LINES = 3  # bad lines named one by one per file; the rest are counted


def task_file_name(task: str) -> str:
    return task.replace(":", "__").replace("/", "_") + ".jsonl"


def write_error(path: Path, exc: OSError, after: str = "") -> UserError:
    """One line for a failed write: which file, and the system's reason (disk full, file too large, read-only...)."""
    reason = exc.strerror or str(exc)
    return UserError(f"cannot write {path}: {reason}{after}")


def parse_line(line: bytes, key: str = "id") -> tuple[dict[str, Any] | None, str]:
    """(record, "") for a readable sample line (a JSON object with a string `key`), else (None, why not)."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except ValueError as exc:
        return None, f"not JSON ({getattr(exc, 'msg', exc)})"
    except RecursionError:
        return None, "JSON nested too deeply"
    if not isinstance(obj, dict) or not isinstance(obj.get(key), str):
        return None, f"not a sample record (no string {key!r})"
    return obj, ""


def _line(rec: SampleRecord | dict[str, Any]) -> str:
    data = rec.to_json() if isinstance(rec, SampleRecord) else rec
    return json.dumps(data, ensure_ascii=False, default=str) + "\n"


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

    def holds(self, task: str) -> bool:
        """True when `task` has a non-empty sample file here."""
        path = self.path(task)
        return path.is_file() and path.stat().st_size > 0

    def holds_kept_samples(self) -> bool:
        """True when some stored sample, of any task, generated without error (`--resume` keeps it).

        Failed samples are generated again on resume, so a run holding only those holds nothing
        made with its old settings.
        """
        if not self.samples_dir.is_dir():
            return False
        for path in self.samples_dir.glob("*.jsonl"):
            try:
                with open(path, "rb") as fh:
                    for line in fh:
                        rec, _ = parse_line(line.rstrip(b"\n"))
                        if rec is not None and not rec.get("backend_error"):
                            return True
            except OSError:
                continue
        return False

    def load(self, task: str, *, repair: bool = True) -> list[dict[str, Any]]:
        """Records already written for `task`, in file order.

        A torn last line (no newline: the write in flight when the process died) is dropped. Any other
        unreadable line is skipped and the valid lines after it are kept. With `repair`, the file is
        rewritten without them, the bad lines are appended to `<file>.rejected` and one warning per bad
        line goes to stderr, so the items are generated again and the evidence is kept. A non-empty file
        with no readable line at all is refused: it is not a samples file, and nothing is moved.
        """
        path = self.path(task)
        if not path.is_file():
            return []
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
        *complete, tail = raw.split(b"\n")  # tail: b"" when the file ends with a newline, else a torn write
        records: list[dict[str, Any]] = []
        good: list[bytes] = []
        bad: list[tuple[int, bytes, str]] = []
        for lineno, line in enumerate(complete, 1):
            if not line.strip():
                continue
            rec, why = parse_line(line)
            if rec is None:
                bad.append((lineno, line, why))
            else:
                records.append(rec)
                good.append(line)
        if bad and not records:
            raise UserError(f"{path} holds no readable sample line (line {bad[0][0]}: {bad[0][2]}); "
                            "it is not a samples file: move it away, or pass --overwrite")
        if repair and bad:
            self._repair(path, good, bad)
        elif repair and tail:
            try:
                with open(path, "r+b") as fh:
                    fh.truncate(len(raw) - len(tail))
            except OSError as exc:
                raise write_error(path, exc, " while cutting off a torn last line") from None
        return records

    def load_records(self, task: str) -> list[SampleRecord]:
        """`load`, typed: the stored samples of `task` as `SampleRecord`s (torn or unreadable lines repaired)."""
        return [SampleRecord.from_json(r) for r in self.load(task)]

    def outcomes(self, task: str, correct: int, total: int) -> list[int]:
        """Per-sample 0/1 outcomes of `task` (a failed generation is 0), or, when those no longer match the
        counts a summary gives (`total` here counts failed samples too; edited, gone, unreadable files),
        `correct` ones and `total - correct` zeros: a bootstrap within one task sees only the count, so
        either gives the same interval."""
        try:
            records = self.load(task, repair=False)
        except UserError:
            records = []
        outcomes = [1 if r.get("valid") and not r.get("backend_error") else 0 for r in records]
        if len(outcomes) == total and sum(outcomes) == correct:
            return outcomes
        return [1] * correct + [0] * (total - correct)

    def _repair(self, path: Path, good: list[bytes], bad: list[tuple[int, bytes, str]]) -> None:
        rejected = path.with_name(path.name + REJECTED_SUFFIX)
        try:
            if bad:
                with open(rejected, "ab") as fh:
                    fh.write(b"".join(line + b"\n" for _, line, _ in bad))
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(b"".join(line + b"\n" for line in good))
            os.replace(tmp, path)
        except OSError as exc:
            raise write_error(path, exc, " while setting aside unreadable lines") from None
        for lineno, _, why in bad[:_WARN_LINES]:
            print(f"warning: {path}:{lineno}: unreadable sample line skipped ({why}); kept in {rejected.name}, "
                  "the item is generated again", file=sys.stderr)
        if len(bad) > _WARN_LINES:
            print(f"warning: {path}: {len(bad) - _WARN_LINES} more unreadable lines skipped (kept in {rejected.name})",
                  file=sys.stderr)

    def clear(self) -> None:
        """Delete the stored samples, set-aside lines and prompts (`--overwrite`)."""
        for folder in (self.samples_dir, self.root / "prompts"):
            for pattern in ("*.jsonl", "*" + REJECTED_SUFFIX):
                for p in folder.glob(pattern):
                    p.unlink()

    def prompt_path(self, task: str) -> Path:
        return self.root / "prompts" / task_file_name(task)

    def stored_prompt_hashes(self, task: str) -> set[str]:
        """Hashes already in prompts/<task>.jsonl (each prompt is stored once, however many samples use it)."""
        path = self.prompt_path(task)
        if not path.is_file():
            return set()
        out = set()
        with open(path, "rb") as fh:
            for line in fh:
                rec, _ = parse_line(line.rstrip(b"\n"), key="hash")
                if rec is not None:
                    out.add(rec["hash"])
        return out

    def append_prompts(self, task: str, prompts: list[dict[str, Any]]) -> None:
        """Add `{"hash", "messages", "tools"}` lines to prompts/<task>.jsonl (the caller skips stored hashes)."""
        if not prompts:
            return
        path = self.prompt_path(task)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("".join(json.dumps(p, ensure_ascii=False, default=str) + "\n" for p in prompts))
        except OSError as exc:
            raise write_error(path, exc) from None

    def append(self, task: str, records: list[SampleRecord] | list[dict[str, Any]]) -> None:
        path = self.path(task)
        try:
            with open(path, "a", encoding="utf-8") as fh:
                for rec in records:
                    fh.write(_line(rec))
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise write_error(path, exc, " (the samples finished before are saved; make room, then rerun "
                                         "with --resume)") from None

    def rewrite(self, task: str, records: list[SampleRecord] | list[dict[str, Any]]) -> None:
        tmp = self.path(task).with_suffix(".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                for rec in records:
                    fh.write(_line(rec))
            os.replace(tmp, self.path(task))
        except OSError as exc:
            raise write_error(self.path(task), exc) from None

    def write_json(self, name: str, data: Any) -> Path:
        path = self.root / name
        tmp = path.with_suffix(".tmp")
        try:
            text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        except ValueError:  # NaN or infinity: JSON has none, and boards and browsers would fail on it
            raise UserError(f"{path} would hold a non-finite number (NaN or infinity); not written") from None
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise write_error(path, exc) from None
        return path

    def read_json(self, name: str) -> dict[str, Any]:
        """A JSON object the harness wrote here (summary.json, run.json); {} when absent or unreadable."""
        try:
            data = json.loads((self.root / name).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def sessions(self) -> list[dict[str, Any]]:
        """The generating sessions recorded in run.json, oldest first (each: settings, backend, tasks, started_at)."""
        sessions = self.read_json(RUN_RECORD).get("sessions")
        return [s for s in sessions if isinstance(s, dict)] if isinstance(sessions, list) else []

    def record_sessions(self, sessions: list[dict[str, Any]]) -> None:
        self.write_json(RUN_RECORD, {"schema": "rest-harness/run/v1", "sessions": sessions})
