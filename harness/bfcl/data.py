"""BFCL single-turn data, read from the installed bfcl-eval package's data files.

The package is located with `importlib.util.find_spec` and never imported
(importing it creates folders and pulls in vendor SDKs). Files are read once
and cached as text; every call parses afresh, so callers may mutate results.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

from harness.bfcl.categories import CATEGORIES, RELEVANCE_CATEGORIES, language_of
from harness.types import UserError

VERSION_PREFIX = "BFCL_v4"


@cache
def data_dir() -> Path:
    """The bfcl_eval/data folder of the installed package."""
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("bfcl-eval is not installed; install it with `pip install --no-deps bfcl-eval==2026.3.23`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise UserError(f"unknown BFCL category {category!r}; known: {', '.join(CATEGORIES)}")


@cache
def _lines(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        raise UserError(f"BFCL data file not found: {path}")
    return tuple(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def category_of(test_id: str) -> str:
    """Category of an entry id (`live_simple_0-0-0` -> `live_simple`), exactly as BFCL derives it.

    Works for any BFCL id, multi_turn_* and format-sensitivity ids included;
    the result is not checked against `CATEGORIES`.
    """
    if not isinstance(test_id, str) or "_" not in test_id:
        raise UserError(f"not a BFCL entry id: {test_id!r}")
    return test_id.split(":")[0].rsplit("_", 1)[0]


def _hint(category: str) -> str:
    lang = language_of(category)
    if lang == "java":
        return " Note that the provided function is in Java 8 SDK syntax."
    if lang == "javascript":
        return " Note that the provided function is in JavaScript syntax."
    return " Note that the provided function is in Python 3 syntax."


def apply_language_hint(functions: list[dict[str, Any]], category: str) -> list[dict[str, Any]]:
    """The function docs as BFCL sends them at generation time (mutates and returns `functions`).

    Appends the language note to each description; for Java/JS every top-level
    parameter becomes a `string` whose description states the original type
    (and, for lists/dicts, the element schema, which is then removed).
    """
    lang = language_of(category)
    for fn in functions:
        fn["description"] = fn["description"] + _hint(category)
        props = fn["parameters"]["properties"]
        if lang == "python":
            continue
        label = "Java" if lang == "java" else "JavaScript"
        for value in props.values():
            if value["type"] == "any":
                value["description"] += (
                    f" This parameter can be of any type of {label} object in string representation."
                )
            else:
                value["description"] += f" This is {label} {value['type']} type parameter in string representation."
            list_types = ("ArrayList", "Array") if lang == "java" else ("array",)
            if value["type"] in list_types:
                value["description"] += (
                    f" The list elements are of type {value['items']['type']}; they are not in string representation."
                )
                del value["items"]
            if lang == "javascript" and value["type"] == "dict" and "properties" in value:
                value["description"] += (
                    " The dictionary entries have the following schema; they are not in string representation. "
                    + json.dumps(value["properties"])
                )
                del value["properties"]
            value["type"] = "string"
    return functions


def load_entries(category: str, language_hint: bool) -> list[dict[str, Any]]:
    """Entries `{"id", "question", "function"}` of a category, as `load_dataset_entry` gives them.

    `language_hint=True` is what BFCL uses to generate (prompts, FC tools);
    `False` is what its evaluator uses to check (original parameter types).
    """
    _check_category(category)
    entries = [json.loads(line) for line in _lines(data_dir() / f"{VERSION_PREFIX}_{category}.json")]
    if language_hint:
        for entry in entries:
            if entry["function"]:
                apply_language_hint(entry["function"], category)
    return entries


def load_answers(category: str) -> dict[str, list]:
    """Possible answers by id (`ground_truth` lists); empty for the relevance categories."""
    _check_category(category)
    if category in RELEVANCE_CATEGORIES:
        return {}
    path = data_dir() / "possible_answer" / f"{VERSION_PREFIX}_{category}.json"
    out = {}
    for line in _lines(path):
        item = json.loads(line)
        out[item["id"]] = item["ground_truth"]
    return out
