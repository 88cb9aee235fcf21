"""Tool state for one evaluation: the init databases, live tool instances, the token checker.

Mirrors the original ToolManager where verdicts depend on it: every database
file is one dict shared by all tools that name it (so CheckToken sees what
RegisterUser wrote), tool instances are cached for the env's lifetime (so
ForgotPassword remembers its verification code), and arguments are converted
by the declared parameter type before the call. A fresh env per call is the
official protocol; the stateful mode reuses one env across a dialogue.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any


class InvalidParameterName(Exception):
    """An argument the API does not declare (original: AssertionError 'invalid parameter name')."""


class MissingArgument(TypeError):
    """A required argument is absent (original: TypeError 'missing ... required positional argument')."""


class Unhandled(Exception):
    """An error the original evaluator does not catch: its whole run would stop here."""


class ApiError(Exception):
    """A failure inside an API; its text becomes the response's `exception`."""


def api_root(data_dir: str | Path) -> Path:
    """The `api-bank` folder: accepts the data root (…/apibank) or the folder itself."""
    p = Path(data_dir)
    for cand in (p, p / "damo-convai" / "api-bank"):
        if (cand / "init_database").is_dir():
            return cand
    from harness.types import UserError

    raise UserError(f"no API-Bank init_database under {p}; run `rest data fetch apibank` or fix --data-dir")


@lru_cache(maxsize=8)
def _load_databases(init_dir: str) -> dict[str, Any]:
    out = {}
    for f in sorted(Path(init_dir).glob("*.json")):
        out[f.stem] = json.loads(f.read_text(encoding="utf-8"))
    return out


def load_databases(data_dir: str | Path) -> dict[str, Any]:
    """Parsed init databases by name (read-only: envs copy what they touch)."""
    return _load_databases(str(api_root(data_dir) / "init_database"))


class ToolEnv:
    """One ToolManager's worth of state."""

    def __init__(self, databases: dict[str, Any], registry: dict[str, type] | None = None) -> None:
        from harness.apibank.original.apis import REGISTRY

        self._init = databases
        self._dbs: dict[str, Any] = {}
        self._tools: dict[str, Any] = {}
        self.registry = registry if registry is not None else REGISTRY

    def has_database(self, name: str | None) -> bool:
        return name is not None and name in self._init

    def database(self, name: str) -> Any:
        if name not in self._dbs:
            self._dbs[name] = copy.deepcopy(self._init[name])
        return self._dbs[name]

    def tool(self, name: str) -> Any:
        if name not in self._tools:
            if name not in self.registry:
                raise Unhandled(f"invalid tool name: {name}")
            self._tools[name] = self.registry[name](self)
        return self._tools[name]

    def check_token(self, token: str) -> str:
        """CheckToken's lookup over the shared Account database."""
        accounts = self.database("Account") if self.has_database("Account") else {}
        for username in accounts:
            if accounts[username]["token"] == token:
                return username
        raise ApiError("The token is invalid.")

    def execute(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Convert arguments by declared type and call the API (ToolManager.api_call)."""
        tool = self.tool(name)
        declared = tool.input_parameters
        converted: dict[str, Any] = {}
        for key, value in args.items():
            if key not in declared:
                raise InvalidParameterName(f"invalid parameter name. parameter: {key}")
            kind = declared[key]["type"]
            if kind == "int":
                if isinstance(value, str) and not value.isdigit():
                    raise Unhandled(f"invalid parameter type. parameter: {value}")
                converted[key] = _to_int(value)
            elif kind == "float":
                if isinstance(value, str) and not value.replace(".", "", 1).isdigit():
                    raise Unhandled("invalid parameter type.")
                converted[key] = _to_float(value)
            elif kind in ("str", "list", "list(str)"):
                converted[key] = value
            elif kind == "bool":
                converted[key] = value == "True" if isinstance(value, str) else value  # replayed bools stay bools
            else:
                raise Unhandled("invalid parameter type.")
        return tool.call(**converted)


def _to_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:  # e.g. '²'.isdigit() is True but int('²') fails
        raise Unhandled(str(exc)) from exc


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise Unhandled(str(exc)) from exc
