"""The simulated APIs of BFCL multi-turn, instantiated fresh for every episode and every check.

The environment classes are the benchmark itself, so they are imported from
the installed bfcl-eval package (its func_source_code modules only). Unlike
BFCL, which caches instances in module globals keyed by model name and test
id, nothing here outlives the caller's reference: two checks of the same id
never share state.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from harness.bfcl.multi_turn.budget import Budget
from harness.types import UserError

_PACKAGE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
CLASS_MODULES: dict[str, str] = {
    "GorillaFileSystem": "gorilla_file_system",
    "MathAPI": "math_api",
    "MessageAPI": "message_api",
    "TwitterAPI": "posting_api",
    "TicketAPI": "ticket_api",
    "TradingBot": "trading_bot",
    "TravelAPI": "travel_booking",
    "VehicleControlAPI": "vehicle_control",
}
STATELESS_CLASSES = frozenset({"MathAPI"})  # BFCL does not call _load_scenario on these


def environment_class(class_name: str) -> type:
    if class_name not in CLASS_MODULES:
        raise UserError(f"unknown BFCL environment class {class_name!r}; known: {', '.join(CLASS_MODULES)}")
    module = importlib.import_module(f"{_PACKAGE}.{CLASS_MODULES[class_name]}")
    return getattr(module, class_name)


def make_instances(initial_config: dict[str, Any], involved_classes: list[str], long_context: bool) -> dict[str, Any]:
    """Fresh instances of the involved classes, loaded from a deep copy of their initial config."""
    instances: dict[str, Any] = {}
    for class_name in involved_classes:
        instance = environment_class(class_name)()
        if class_name not in STATELESS_CLASSES:
            instance._load_scenario(copy.deepcopy(initial_config.get(class_name, {})), long_context=long_context)
        instances[class_name] = instance
    return instances


def method_table(instances: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """Public bound methods by name; a name shared by two classes goes to the later one, as in BFCL."""
    table: dict[str, Callable[..., Any]] = {}
    for instance in instances.values():
        for name, method in inspect.getmembers(instance, predicate=inspect.ismethod):
            if not name.startswith("_"):
                table[name] = method
    return table


def public_state(instance: Any) -> dict[str, Any]:
    """The attributes the state check compares (every attribute not starting with "_")."""
    return {k: v for k, v in vars(instance).items() if not k.startswith("_")}


class Environment:
    """The instances of one episode (or one side of a check), the methods a call may reach, its time budget."""

    def __init__(self, initial_config: dict[str, Any], involved_classes: list[str], long_context: bool) -> None:
        self.instances = make_instances(initial_config, involved_classes, long_context)
        self.methods = method_table(self.instances)
        self.budget = Budget()

    @classmethod
    def for_entry(cls, entry: dict[str, Any], long_context: bool) -> Environment:
        return cls(entry.get("initial_config", {}), entry["involved_classes"], long_context)
