"""Which items of a task a run covers: `--limit` (a count or a fraction) and `--ids` (a list or a file).

`--ids` is BFCL's `--run-ids` and lm-eval's `--samples`: exactly these items,
in the task's order. Ids may be plain (`simple_python_3`) or qualified by
task (`bfcl:simple_python/simple_python_3`), so one file can name items of
several tasks; an id that no requested task holds is an error, never a
silent no-op.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.types import UserError


@dataclass(frozen=True)
class Limit:
    """`--limit N` (the first N items) or `--limit 0.25` (the first quarter, rounded up)."""

    count: int | None = None
    fraction: float | None = None

    def of(self, n: int) -> int:
        if self.count is not None:
            return min(self.count, n)
        if self.fraction is not None:
            return min(n, math.ceil(self.fraction * n))
        return n

    def to_json(self) -> int | float | None:
        return self.count if self.count is not None else self.fraction


def parse_limit(text: str | int | float | None) -> Limit:
    """`"64"` -> 64 items; `"0.1"` -> 10% of each task (0 < f <= 1); None -> everything."""
    if text is None:
        return Limit()
    raw = str(text).strip()
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"--limit must be a number of items or a fraction in (0, 1], got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"--limit must be positive, got {raw}")
    if value.is_integer() and ("." not in raw or value > 1):
        return Limit(count=int(value))
    if value > 1:
        raise UserError(f"--limit {raw}: a fraction must be in (0, 1]; a count must be a whole number")
    return Limit(fraction=value)


def parse_ids(spec: str) -> list[str]:
    """Ids from a comma-separated list, or from a file: one id a line, or a JSON list, or JSON lines with "id"."""
    path = Path(spec).expanduser()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"--ids {spec}: cannot read the file ({exc})") from None
        return _ids_in_text(text, spec)
    ids = [p.strip() for p in spec.split(",") if p.strip()]
    if not ids or (len(ids) == 1 and spec.endswith((".txt", ".json", ".jsonl"))):
        raise UserError(f"--ids {spec!r}: neither a file nor a comma-separated list of item ids")
    return ids


def _ids_in_text(text: str, where: str) -> list[str]:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise UserError(f"--ids {where}: not a JSON list ({exc})") from None
        return [_id_of(x, where) for x in data]
    ids = []
    for line in stripped.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                ids.append(_id_of(json.loads(line), where))
            except ValueError as exc:
                raise UserError(f"--ids {where}: a line is not JSON ({exc})") from None
        else:
            ids.append(line)
    if not ids:
        raise UserError(f"--ids {where}: the file names no item")
    return ids


def _id_of(x: Any, where: str) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, dict) and isinstance(x.get("id"), str):
        return x["id"]
    raise UserError(f"--ids {where}: {str(x)[:60]!r} is not an item id")


def ids_for_task(ids: Sequence[str], task: str, task_ids: Sequence[str]) -> list[str]:
    """The ids of `ids` that name items of `task` (plain, or qualified `task/id`), in the task's order."""
    held = set(task_ids)
    wanted = set()
    for i in ids:
        prefix, _, rest = i.rpartition("/")
        if prefix == task and rest in held:
            wanted.add(rest)
        elif i in held:
            wanted.add(i)
    return [i for i in task_ids if i in wanted]


def unmatched(ids: Sequence[str], tasks: dict[str, Sequence[str]]) -> list[str]:
    """The ids no requested task holds (each task given with its item ids)."""
    held = {(t, i) for t, task_ids in tasks.items() for i in task_ids}
    plain = {i for _, i in held}
    out = []
    for i in ids:
        prefix, _, rest = i.rpartition("/")
        if (prefix, rest) not in held and i not in plain:
            out.append(i)
    return out
