"""ToolRL-format (rlla) files: the aliases, where they are looked up, and the one reader of their rows.

Shared by the harness (`toolrl:test`, `toolrl:<path>`) and the trainer
(`trainer.data`, which adds hub datasets and held-out checks), so both find
and read the files alike. Aliases are looked up in `search_dirs()`:
$REST_TOOLRL_DATA, the fetch cache, ../shared next to the repo. Row
conversion is pure; only `read_records` touches disk. Supported schemas: the
verl parquet (prompt + reward_model.ground_truth + extra_info), the SFT json
(instruction, input, output).

Ids: an explicit `id` field wins; else `<file stem>:<extra_info.index>` or
`<file stem>:<position>`; they are stable across runs, so `--resume` works.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.config import cache_root, sibling_data
from harness.types import DataMissing, UserError

# Files of `rest data fetch toolrl` (harness.data.manifest) by alias. Evaluation resolves ALIASES;
# training also reads ToolRL's 3,920 RL rows (`dataset/rlla_4k/train.parquet`), the paper's RL data.
ALIASES = {"toolrl:test": "rlla_4k_test.parquet", "toolrl:sft": "rlla_sft.json"}
SFT_ALIAS = "toolrl:sft"
RL_ALIAS = "toolrl:rl"
RL_FILE = "rlla_4k_train.parquet"
TRAIN_ALIASES = {**ALIASES, RL_ALIAS: RL_FILE}
SUFFIXES = (".parquet", ".json", ".jsonl")


def search_dirs() -> list[Path]:
    """Where aliases are looked up, in order."""
    dirs = []
    if os.environ.get("REST_TOOLRL_DATA"):
        dirs.append(Path(os.environ["REST_TOOLRL_DATA"]).expanduser())
    dirs.append(cache_root() / "data" / "toolrl")
    dirs.append(sibling_data("toolrl"))
    return dirs


def alias_file(spec: str) -> Path | None:
    """The file of alias `spec` (one of TRAIN_ALIASES) in the first search folder that holds it, else None."""
    for d in search_dirs():
        if (d / TRAIN_ALIASES[spec]).is_file():
            return d / TRAIN_ALIASES[spec]
    return None


def searched() -> str:
    """The search folders, for a message saying where an alias was not found."""
    return ", ".join(str(d) for d in search_dirs())


def resolve(spec: str) -> Path:
    """`toolrl:test`, `toolrl:sft` or a file path -> an existing .parquet/.json/.jsonl file."""
    spec = str(spec).strip()
    if spec in ALIASES:
        for d in search_dirs():
            if (d / ALIASES[spec]).is_file():
                return d / ALIASES[spec]
        tried = ", ".join(str(d) for d in search_dirs())
        raise DataMissing(f"{spec} needs {ALIASES[spec]}; not found in {tried} (run `rest data fetch toolrl`, or set "
                          "REST_TOOLRL_DATA to its folder)", dataset="toolrl")
    path = Path(spec).expanduser()
    if not path.is_file():
        raise UserError(f"ToolRL data file {spec!r} does not exist (or use {' / '.join(ALIASES)})")
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"ToolRL data file {spec!r}: unsupported extension (use .parquet, .json or .jsonl)")
    return path


def read_records(path: Path) -> list[dict[str, Any]]:
    """The file's records; a corrupt or truncated file is one UserError naming it (re-fetch it)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path)
    try:
        text = path.read_text(encoding="utf-8")
        if suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise UserError(f"{path}: not valid JSON ({type(exc).__name__}: {exc})") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if isinstance(data, dict):
        return list(data.values())
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON list (or mapping) of rows, got {type(data).__name__}")
    return data


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    """Rows as plain dicts, read with pyarrow alone (importing pandas would add ~45 MB to every eval's RSS)."""
    import pyarrow  # a dependency of `datasets`
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except (OSError, ValueError, pyarrow.ArrowException) as exc:
        raise UserError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                        "a partial download? fetch it again (`rest data fetch toolrl`)") from None


def plain(x: Any) -> Any:
    """numpy arrays / pyarrow structs from parquet -> plain lists and dicts."""
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        x = x.tolist()
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x


def to_row(rec: dict[str, Any], position: int, stem: str) -> dict[str, Any]:
    """One record -> {"id", "prompt": [messages], "ground_truth"} (pure)."""
    rec = plain(rec)
    if not isinstance(rec, dict):
        raise UserError(f"{stem}: row {position} is not an object (got {type(rec).__name__})")
    extra = rec.get("extra_info") if isinstance(rec.get("extra_info"), dict) else {}
    if isinstance(rec.get("prompt"), list):
        try:
            prompt = [{"role": str(m["role"]), "content": str(m["content"])} for m in rec["prompt"]]
        except (KeyError, TypeError):
            raise UserError(f"{stem}: row {position}: prompt messages need 'role' and 'content'") from None
        gt = rec.get("ground_truth")
        if gt is None and isinstance(rec.get("reward_model"), dict):
            gt = rec["reward_model"].get("ground_truth")
        if gt is None:
            gt = extra.get("output")
    elif "instruction" in rec and "output" in rec:
        prompt = [{"role": "system", "content": str(rec["instruction"])}, {"role": "user", "content": str(rec.get("input", ""))}]
        gt = rec["output"]
    else:
        raise UserError(f"{stem}: row {position} has none of the known schemas (prompt+ground_truth, instruction+output); "
                        f"keys: {sorted(rec)}")
    if not isinstance(gt, str) or not gt:
        raise UserError(f"{stem}: row {position} has no ground truth string")
    if rec.get("id") is not None:
        rid = str(rec["id"])
    elif extra.get("index") is not None:
        rid = f"{stem}:{extra['index']}"
    else:
        rid = f"{stem}:{position}"
    return {"id": rid, "prompt": prompt, "ground_truth": gt}


def load_rows(spec: str) -> list[dict[str, Any]]:
    """All rows of a ToolRL-format file or alias, in file order, with ids."""
    path = resolve(spec)
    rows = [to_row(r, i, path.stem) for i, r in enumerate(read_records(path))]
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise UserError(f"{spec}: duplicate row ids; give every row a unique `id`")
    return rows
