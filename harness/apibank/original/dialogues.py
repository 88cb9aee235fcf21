"""The raw API-Bank dialogues and the original evaluator's sample numbering.

For every API turn at position i the original makes two samples: the call
(history[:i] -> turn i) and the reply (history[:i+1] -> turn i+1). When two API
turns are adjacent, the "reply" sample's target is itself an API turn and is
scored as a call: that is how the JSON test data counts 399 Level-1 calls over
389 API turns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.apibank.original.env import api_root
from harness.types import UserError

LEVEL_DIRS = {1: "level-1-given-desc", 2: "level-2-toolsearcher"}


@dataclass(frozen=True)
class DialogueSample:
    history: tuple[dict[str, Any], ...]
    target: dict[str, Any]

    @property
    def is_call(self) -> bool:
        return self.target["role"] == "API"


def samples_of(turns: list[dict[str, Any]]) -> list[DialogueSample]:
    out = []
    for i, turn in enumerate(turns):
        if turn["role"] == "API":
            out.append(DialogueSample(tuple(turns[:i]), turns[i]))
            if i + 1 < len(turns):
                out.append(DialogueSample(tuple(turns[: i + 1]), turns[i + 1]))
    return out


def dialogue_dir(data_dir: str | Path, level: int = 1) -> Path:
    if level not in LEVEL_DIRS:
        raise UserError(f"API-Bank original protocol has dialogue levels {sorted(LEVEL_DIRS)}, got {level}")
    return api_root(data_dir) / "lv1-lv2-samples" / LEVEL_DIRS[level]


@lru_cache(maxsize=1024)
def _read(path: str) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip())


def load_dialogue(data_dir: str | Path, file: str, level: int = 1) -> list[dict[str, Any]]:
    """Turns of one dialogue file; the name must be a plain file name in that level's folder."""
    if not file or "/" in file or "\\" in file or file.startswith(".") or not file.endswith(".jsonl"):
        raise UserError(f"not an API-Bank dialogue file name: {file!r}")
    path = dialogue_dir(data_dir, level) / file
    if not path.is_file():
        raise UserError(f"unknown API-Bank level-{level} dialogue {file!r} (not in {path.parent})")
    return list(_read(str(path)))


def list_dialogues(data_dir: str | Path, level: int = 1) -> list[str]:
    return sorted(p.name for p in dialogue_dir(data_dir, level).glob("*.jsonl"))
