"""BFCL multi-turn entries and answers, read from the installed bfcl-eval data files.

Mirrors `load_dataset_entry` for multi_turn_*: the function docs of every
involved class are filled in from `multi_turn_func_doc`, and for miss_func
the held-out docs are moved from `function` into `missed_function[turn]`.
The Python language hint is added only to `function` (as BFCL: held-out docs
reach the model without it). Files are read once; every call parses afresh,
so callers may mutate what they get.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from harness.bfcl.categories import MULTI_TURN as CATEGORIES
from harness.bfcl.data import VERSION_PREFIX, data_dir
from harness.types import UserError

# Function-doc file of each environment class (BFCL's MULTI_TURN_FUNC_DOC_FILE_MAPPING, the 8 multi-turn ones).
DOC_FILES: dict[str, str] = {
    "GorillaFileSystem": "gorilla_file_system.json",
    "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json",
}

PYTHON_HINT = " Note that the provided function is in Python 3 syntax."


def check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise UserError(f"unknown BFCL multi-turn category {category!r}; known: {', '.join(CATEGORIES)}")


def is_long_context(category: str) -> bool:
    """BFCL loads the environments in long-context mode for these categories (its substring rule)."""
    return "long_context" in category or "composite" in category


@cache
def _text(relative: str) -> str:
    path = data_dir() / relative
    if not path.is_file():
        raise UserError(f"BFCL data file not found: {path}")
    return path.read_text(encoding="utf-8")


def _jsonl(relative: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _text(relative).splitlines() if line.strip()]


def class_docs(class_name: str) -> list[dict[str, Any]]:
    """The JSON-schema docs of one environment class's public functions."""
    if class_name not in DOC_FILES:
        raise UserError(f"unknown BFCL environment class {class_name!r}")
    return _jsonl(f"multi_turn_func_doc/{DOC_FILES[class_name]}")


def _fill_functions(entry: dict[str, Any], language_hint: bool) -> dict[str, Any]:
    functions: list[dict[str, Any]] = []
    for class_name in entry["involved_classes"]:
        functions.extend(class_docs(class_name))
    if "missed_function" in entry:
        held: dict[str, list[dict[str, Any]]] = {}
        for turn, names in entry["missed_function"].items():
            held[turn] = []
            for name in names:
                for i, doc in enumerate(functions):
                    if doc["name"] == name:
                        held[turn].append(functions.pop(i))
                        break
        entry["missed_function"] = held
    if language_hint:
        for doc in functions:
            doc["description"] = doc["description"] + PYTHON_HINT
    entry["function"] = functions
    return entry


def load_entries(category: str, language_hint: bool = False) -> list[dict[str, Any]]:
    """Entries of a category as `load_dataset_entry(category, False, language_hint)` returns them."""
    check_category(category)
    return [_fill_functions(e, language_hint) for e in _jsonl(f"{VERSION_PREFIX}_{category}.json")]


def load_answers(category: str) -> dict[str, list[list[str]]]:
    """Ground truth by id: per turn, the list of call strings (empty for held-out turns)."""
    check_category(category)
    return {a["id"]: a["ground_truth"] for a in _jsonl(f"possible_answer/{VERSION_PREFIX}_{category}.json")}
