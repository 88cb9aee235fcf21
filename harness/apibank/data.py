"""Where the API-Bank data lives, and loading the ToolRL/ResT processed split.

The data is not shipped in the package (it is fetched with `rest data fetch
apibank`), so every entry point resolves one directory laid out like the
fetch cache: `toolrl_processed/level-{1,2,3}-api_processed.json` and
`damo-convai/api-bank/...`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.apibank.toolrl_protocol import gold_call
from harness.config import sibling_data
from harness.types import DataMissing, UserError

ENV_VAR = "REST_APIBANK_DATA"
LEVELS = (1, 2, 3)
# Items per level in the processed split (ToolRL/ResT totals; overall is over all 597).
LEVEL_SIZES = {1: 399, 2: 67, 3: 131}
_MARKER = Path("toolrl_processed")


def cache_data_dir() -> Path:
    """Where `rest data fetch apibank` puts the files by default."""
    from harness.data.fetch import default_dest

    return default_dest("apibank")


def _sibling_shared() -> Path:
    return sibling_data("apibank")


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the API-Bank data dir: --data-dir, $REST_APIBANK_DATA, the fetch cache, ../shared (dev).

    An explicit choice (argument or env var) that does not exist is an error,
    never silently replaced by a fallback.
    """
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise UserError(f"--data-dir {path} is not a directory")
        return path
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise UserError(f"${ENV_VAR}={env} is not a directory")
        return path
    for candidate in (cache_data_dir(), _sibling_shared()):
        if holds_data(candidate):
            return candidate
    raise DataMissing(
        f"API-Bank data not found (looked in {cache_data_dir()} and {_sibling_shared()}); "
        f"run `rest data fetch apibank`, or pass --data-dir / set ${ENV_VAR}",
        dataset="apibank",
    )


def holds_data(candidate: Path) -> bool:
    """True when a fallback location has the files a protocol reads, not just their folders.

    A fetch that failed (no network) still creates the folders it meant to fill;
    such an empty cache must not hide a complete copy further down the list.
    """
    if all(level_file(level, candidate).is_file() for level in LEVELS):
        return True
    test_data = candidate / "damo-convai" / "api-bank" / "test-data"
    return test_data.is_dir() and any(test_data.glob("*.json"))


def level_file(level: int, root: Path) -> Path:
    return Path(root) / _MARKER / f"level-{level}-api_processed.json"


def item_id(level: int, index: int) -> str:
    """ToolRL's key for an item: `Level{L}_{index in that level's file}`."""
    return f"Level{level}_{index}"


def parse_item_id(key: str) -> tuple[int, int]:
    """Inverse of `item_id`; raises ValueError on anything else."""
    if not key.startswith("Level") or "_" not in key:
        raise ValueError(f"not an API-Bank item id: {key!r}")
    lvl, idx = key[len("Level") :].split("_", 1)
    if not (lvl.isdigit() and idx.isdigit()) or int(lvl) not in LEVELS:
        raise ValueError(f"not an API-Bank item id: {key!r}")
    return int(lvl), int(idx)


def normalise_answer(answer: Any) -> dict[str, Any]:
    """Gold call as one dict; mirrors evaluate.py (`if type(answer) == list: answer = answer[0]`)."""
    return gold_call(answer)


def load_level(level: int, root: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Items of one level, in file order.

    Each item: `id`, `level`, `index`, `system`, `user`, `answer` (normalised
    dict), `answer_raw` (as in the file) and `other` (provenance).
    """
    if level not in LEVELS:
        raise UserError(f"API-Bank level must be one of {LEVELS}, got {level}")
    path = level_file(level, Path(root) if root is not None else data_dir())
    if not path.is_file():
        raise UserError(f"missing {path}; run `rest data fetch apibank` (or fix --data-dir)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise UserError(f"{path} is not valid JSON ({type(exc).__name__}: {exc}); "
                        "rerun `rest data fetch apibank`") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not isinstance(raw, list):
        raise UserError(f"{path}: expected a JSON list of items, got {type(raw).__name__}; "
                        "rerun `rest data fetch apibank`")
    items = []
    for index, entry in enumerate(raw):
        try:
            answer = normalise_answer(entry["answer"])
            system, user = entry["system"], entry["user"]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(f"{path}: item {index} is malformed ({exc})") from None
        items.append(
            {
                "id": item_id(level, index),
                "level": level,
                "index": index,
                "system": system,
                "user": user,
                "answer": answer,
                "answer_raw": entry["answer"],
                "other": entry.get("other", {}),
            }
        )
    return items


def load_all(root: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """All 597 items keyed by id, levels in order."""
    base = data_dir(root)
    return {item["id"]: item for level in LEVELS for item in load_level(level, base)}
