"""Training rows in ToolRL's rlla format: `prompt` (system + user messages) and `ground_truth`.

Sources: the verl parquet schema (prompt, reward_model.ground_truth), the SFT
json (instruction, input, output), a hub dataset id with either schema, and
ToolRL-processed API-Bank items (for held-out evaluation sets only: never train
on test items). Files and aliases are found and read by `harness.toolrl.data`,
items rendered as rows by `harness.toolrl.convert`; this module adds hub
datasets, the held-out checks and TRL's dataset shape.

Aliases: `toolrl:rl` is ToolRL's 3,920 RL rows (`dataset/rlla_4k/train.parquet`,
fetched by `rest data fetch toolrl`), the paper's RL data and the RL presets'
default (`default_rl_train_spec`); `toolrl:sft` the 400-row SFT file, the SFT
default; `toolrl:test` the 80 held-out rows (`harness.toolrl.data.TRAIN_ALIASES`).

Held-out sets (`load_dataset(holdout=...)`, `load_holdout`): training rows that
are evaluation items are dropped (or, with `exclude_holdout=False`, an error).
`toolrl:test` or any data file: by id and exact prompt, as the SFT path does.
`apibank[:level-N]` (ToolRL's processed API-Bank items, rendered in the same
format as the training rows) and `bfcl[:CATEGORY|GROUP]` (BFCL single-turn
questions): by id, exact prompt and also by the same user question, because a
benchmark item can reach a training file with its tools rendered differently
(BFCL's function docs never equal ToolRL's system prompt, so for BFCL only the
question can match). Their data is checked where present and skipped with a
line where not (API-Bank is fetched separately; BFCL ships with bfcl-eval).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.toolrl import data as toolrl_data
from harness.toolrl.convert import apibank_to_rlla, is_apibank_item
from harness.toolrl.data import RL_ALIAS, SFT_ALIAS, TRAIN_ALIASES, plain, to_row
from harness.types import UserError

DEFAULT_HOLDOUT = ("toolrl:test", "apibank", "bfcl")


# ---------------------------------------------------------------- data location


def resolve_data_spec(spec: str, where: str = "data") -> tuple[str, str]:
    """Spec -> (kind, location) with kind in parquet|json|jsonl|hub; raises UserError if a file is missing."""
    spec = str(spec).strip()
    if spec in TRAIN_ALIASES:
        found = toolrl_data.alias_file(spec)
        if found is not None:
            return _kind(found), str(found)
        raise UserError(f"{where}: {spec} needs {TRAIN_ALIASES[spec]}; not found in {toolrl_data.searched()}; "
                        "run `rest data fetch toolrl` (or set REST_TOOLRL_DATA to its folder)")
    if spec.startswith("toolrl:"):
        raise UserError(f"{where}: unknown alias {spec!r}; known: {', '.join(TRAIN_ALIASES)}")
    path = Path(spec).expanduser()
    if path.exists():
        if path.is_dir():
            raise UserError(f"{where}: {spec!r} is a directory; give a .parquet/.json/.jsonl file")
        return _kind(path), str(path)
    if spec.endswith((".parquet", ".json", ".jsonl")) or spec.startswith(("/", "./", "../", "~")):
        raise UserError(f"{where}: data file {spec!r} does not exist")
    if spec.count("/") == 1 and all(spec.split("/")):
        return "hub", spec
    raise UserError(f"{where}: {spec!r} is neither a file, a {'|'.join(TRAIN_ALIASES)} alias nor a hub id (org/name)")


def default_rl_train_spec() -> tuple[str, str | None]:
    """(spec, note) for RL training data: `toolrl:rl` when it has been fetched; else `toolrl:sft`, with a
    one-line note to print, so a preset still runs on a machine that never fetched the paper's data."""
    try:
        resolve_data_spec(RL_ALIAS)
    except UserError:
        return SFT_ALIAS, (f"data: {RL_ALIAS} (ToolRL's 3,920 RL rows) is not fetched; training on {SFT_ALIAS} "
                           "(400 rows) instead; `rest data fetch toolrl` gets the paper's RL data")
    return RL_ALIAS, None


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".json", ".jsonl"):
        return suffix[1:]
    raise UserError(f"data file {str(path)!r}: unsupported extension {suffix!r} (use .parquet, .json or .jsonl)")


# ---------------------------------------------------------------- row conversion (pure)


def to_rlla_row(rec: dict[str, Any]) -> dict[str, Any]:
    """One record in any supported schema -> {"prompt": [messages], "ground_truth": str}.

    The ToolRL schemas are read by `harness.toolrl.data` (one copy of that logic);
    API-Bank items are converted by `harness.toolrl.convert`, for held-out evaluation sets only.
    """
    rec = plain(rec)
    if is_apibank_item(rec):
        return apibank_to_rlla(rec)
    row = to_row(rec, 0, "data")
    return {"prompt": row["prompt"], "ground_truth": row["ground_truth"]}


# ---------------------------------------------------------------- loading


def read_records(spec: str) -> list[dict[str, Any]]:
    """Raw records of a local file or hub dataset (no conversion)."""
    kind, loc = resolve_data_spec(spec)
    if kind in ("parquet", "json", "jsonl"):  # the harness's reader: a corrupt file is one line naming it
        return toolrl_data.read_records(Path(loc))
    from datasets import load_dataset as hf_load

    try:
        return list(hf_load(loc, split="train"))
    except Exception as exc:  # offline machines, missing datasets: one line for the user
        raise UserError(f"data: could not load hub dataset {loc!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def load_rows(spec: str, limit: int | None = None) -> list[dict[str, Any]]:
    rows = [to_rlla_row(r) for r in read_records(spec)]
    return rows[:limit] if limit else rows


def rows_with_ids(spec: str) -> list[dict[str, Any]]:
    """rlla rows of a file, alias or hub dataset, each with an `id` (its own, else `<file stem>:<index or position>`,
    as the harness names ToolRL rows), so a held-out check can match by id."""
    _, loc = resolve_data_spec(spec)
    stem = Path(loc).stem if "/" in loc and Path(loc).exists() else loc
    rows = []
    for i, rec in enumerate(read_records(spec)):
        rec = plain(rec)
        if is_apibank_item(rec):
            rows.append({"id": str(rec.get("id", f"{stem}:{i}")), **apibank_to_rlla(rec)})
        else:
            rows.append(to_row(rec, i, stem))
    return rows


# ---------------------------------------------------------------- held-out sets


@dataclass(frozen=True)
class Holdout:
    """Rows of one evaluation set, and whether the user question alone also identifies an item."""

    name: str
    rows: list[dict[str, Any]]
    by_question: bool = False


def _benchmark_spec(spec: str, where: str = "data.holdout") -> tuple[str, tuple[str, ...]] | None:
    """`apibank[:level-N]` -> ("apibank", levels); `bfcl[:CATEGORY|GROUP]` -> ("bfcl", categories); else None.
    Raises UserError for a malformed benchmark spec (a typo must not silently check nothing)."""
    head, _, tail = spec.partition(":")
    if head == "apibank":
        from harness.apibank.data import LEVELS

        if not tail:
            return "apibank", tuple(str(lv) for lv in LEVELS)
        if tail.startswith("level-") and tail[len("level-"):] in {str(lv) for lv in LEVELS}:
            return "apibank", (tail[len("level-"):],)
        raise UserError(f"{where}: {spec!r}: API-Bank sets are apibank or apibank:level-1|level-2|level-3")
    if head == "bfcl":
        from harness.bfcl.categories import CATEGORIES, GROUPS

        if not tail:
            return "bfcl", GROUPS["single_turn"]
        if tail in GROUPS:
            return "bfcl", GROUPS[tail]
        if tail in CATEGORIES:
            return "bfcl", (tail,)
        raise UserError(f"{where}: {spec!r}: BFCL sets are bfcl or bfcl:<one of {', '.join([*GROUPS, *CATEGORIES])}>")
    return None


def check_holdout_spec(spec: str, where: str = "data.holdout") -> None:
    """Config-time check of one held-out spec's form: a benchmark set, a ToolRL alias (its file may be
    absent: such a set is skipped with a line when the data loads), or a data file / hub id that resolves."""
    spec = str(spec).strip()
    if _benchmark_spec(spec, where) is None and spec not in TRAIN_ALIASES:
        resolve_data_spec(spec, where=where)


def bfcl_question_row(entry: dict[str, Any]) -> dict[str, Any]:
    """A BFCL entry as a held-out row: its id and its first turn's user messages (the question; no tools)."""
    turns = entry["question"]
    messages = turns[0] if turns and isinstance(turns[0], list) else turns
    return {"id": entry["id"], "prompt": [{"role": "user", "content": m["content"]} for m in messages if m.get("role") == "user"]}


def load_holdout(spec: str) -> Holdout:
    """The rows of one held-out spec; UserError if its data is not available (the caller decides what that means)."""
    spec = str(spec).strip()
    bench = _benchmark_spec(spec)
    if bench is None:
        return Holdout(spec, rows_with_ids(spec))
    kind, parts = bench
    if kind == "apibank":
        from harness.apibank.data import load_level

        rows = [{"id": it["id"], "prompt": [{"role": "system", "content": it["system"]}, {"role": "user", "content": it["user"]}]}
                for lv in parts for it in load_level(int(lv))]
        return Holdout(spec, rows, by_question=True)
    from harness.bfcl.data import load_entries

    return Holdout(spec, [bfcl_question_row(e) for c in parts for e in load_entries(c, language_hint=False)], by_question=True)


def exclude_holdout_rows(rows: list[dict[str, Any]], train_name: str, holdouts: Sequence[Holdout], exclude: bool = True,
                         log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Training rows without the items of `holdouts` (a count per set is logged), or, with `exclude=False`,
    the rows unchanged after checking that none is held out (one-line UserError otherwise). Pure but for `log`."""
    from trainer.data_prep import check_contamination, drop_overlap

    for h in holdouts:
        if exclude:
            rows, dropped = drop_overlap(rows, h.rows, by_question=h.by_question)
            log(f"data: dropped {dropped} training rows that are items of {h.name} (data.exclude_holdout)")
        try:
            check_contamination(rows, h.rows, train_name=train_name, eval_name=h.name, by_question=h.by_question)
        except UserError as exc:
            raise UserError(f"{exc} (data.exclude_holdout=false; true drops them)") from None
    return rows


def apply_holdout(rows: list[dict[str, Any]], spec: str, holdout: Sequence[str], exclude: bool = True,
                  log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Load each held-out set and exclude its items from `rows` (read from `spec`).

    A set that is `spec` itself is not checked (that is loading an evaluation set,
    not training on it); a set whose data is absent is skipped with one line
    naming why, while a malformed spec is an error.
    """
    own = _location(spec)
    sets = []
    for h in holdout:
        if _benchmark_spec(str(h).strip()) is None and own is not None and _location(h) == own:
            log(f"data: {spec} is the held-out set {h} itself; not checked against it")
            continue
        try:
            sets.append(load_holdout(h))
        except UserError as exc:
            log(f"data: held-out set {h} not checked: {exc}")
    return exclude_holdout_rows(rows, spec, sets, exclude, log)


def _location(spec: str) -> str | None:
    try:
        return resolve_data_spec(spec)[1]
    except UserError:
        return None


def prompt_length(tokenizer: Any, prompt: list[dict[str, str]]) -> int:
    text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def load_dataset(spec: str, tokenizer: Any = None, max_prompt_length: int | None = None, limit: int | None = None, *,
                 holdout: Sequence[str] = DEFAULT_HOLDOUT, exclude_holdout: bool = True,
                 log: Callable[[str], None] = print):
    """rlla rows as a `datasets.Dataset` (columns prompt, ground_truth) for GRPO: overlong prompts dropped,
    then held-out items (`holdout`: dropped with a count, or an error with `exclude_holdout=False`), then cut.

    The same contamination check the SFT path runs; pass `holdout=()` when loading an evaluation set.
    """
    from datasets import Dataset

    rows = rows_with_ids(spec)
    if tokenizer is not None and max_prompt_length:
        kept = [r for r in rows if prompt_length(tokenizer, r["prompt"]) <= max_prompt_length]
        if not kept:
            raise UserError(f"data: all {len(rows)} prompts of {spec} exceed grpo.max_prompt_length={max_prompt_length} tokens")
        rows = kept
    rows = apply_holdout(rows, spec, holdout, exclude_holdout, log)
    if not rows:
        raise UserError(f"data: every row of {spec} is a held-out item; nothing left to train on")
    if limit:
        rows = rows[:limit]
    return Dataset.from_list([{"prompt": r["prompt"], "ground_truth": r["ground_truth"]} for r in rows])
