"""Shared machinery of our API-Bank API implementations.

Each API is a class with the original's name, declared parameters (from
specs.json, the original descriptions), call signature (which arguments are
required), behaviour (`run`) and correctness rule (`check`). `call` builds the
response dict `{api_name?, input, output, exception}` exactly as the original
does, including which APIs omit `api_name`. Checks may raise KeyError (the
KEY_ERROR class) or other errors (the original evaluator would crash).
"""

from __future__ import annotations

import datetime
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.apibank.original.env import ApiError, MissingArgument

REGISTRY: dict[str, type[Api]] = {}


@lru_cache(maxsize=1)
def specs() -> dict[str, dict[str, Any]]:
    """name -> {description, input_parameters, output_parameters, database_name} of the 53 original APIs."""
    raw = json.loads((Path(__file__).with_name("specs.json")).read_text(encoding="utf-8"))
    return {s["name"]: s for s in raw}


def register(cls: type[Api]) -> type[Api]:
    spec = specs()[cls.__name__]
    cls.input_parameters = spec["input_parameters"]
    cls.description = spec["description"]
    cls.output_parameters = spec["output_parameters"]
    cls.database_name = spec["database_name"]
    REGISTRY[cls.__name__] = cls
    return cls


class Api:
    input_parameters: dict[str, dict[str, str]] = {}
    description = ""
    output_parameters: dict[str, Any] = {}
    database_name: str | None = None
    optional: tuple[str, ...] = ()  # parameters with default None
    var_kwargs = False  # call(first, **kwargs): input echoes only what was passed
    has_api_name = True

    def __init__(self, env: Any) -> None:
        self.env = env
        self.db = env.database(self.database_name) if env.has_database(self.database_name) else self.default_db()

    def default_db(self) -> Any:
        return {}

    def required(self) -> list[str]:
        names = list(self.input_parameters)
        if self.var_kwargs:
            return names[:1]
        return [n for n in names if n not in self.optional]

    def call(self, **kw: Any) -> dict[str, Any]:
        missing = [n for n in self.required() if n not in kw]
        if missing:
            quoted = [f"'{m}'" for m in missing]
            joined = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
            plural = "s" if len(missing) > 1 else ""
            raise MissingArgument(f"call() missing {len(missing)} required positional argument{plural}: {joined}")
        if self.var_kwargs:
            inputs = {self.required()[0]: kw[self.required()[0]], **{k: v for k, v in kw.items() if k not in self.required()}}
        else:
            inputs = {n: kw.get(n) for n in self.input_parameters}
        try:
            output = self.run(**inputs)
        except Exception as exc:  # the originals turn any failure into the `exception` field
            return self.response(inputs, None, str(exc))
        return self.response(inputs, output, None)

    def response(self, inputs: Any, output: Any, exception: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"api_name": type(self).__name__} if self.has_api_name else {}
        out.update({"input": inputs, "output": output, "exception": exception})
        return out

    def run(self, **kw: Any) -> Any:
        raise NotImplementedError

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        return exact(response, gold)

    def adopt(self, recorded: dict[str, Any], response: dict[str, Any]) -> None:
        """Stateful replay: align random outputs (ids, tokens) with the recorded dialogue."""


# ---- helpers shared by the correctness rules ---------------------------------------------


def exact(response: dict[str, Any], gold: dict[str, Any]) -> bool:
    return response["input"] == gold["input"] and response["output"] == gold["output"] and response["exception"] == gold["exception"]


def same_outcome(response: dict[str, Any], gold: dict[str, Any]) -> bool:
    return response["output"] == gold["output"] and response["exception"] == gold["exception"]


def assert_same_name(response: dict[str, Any], gold: dict[str, Any]) -> None:
    if response["api_name"] != gold["api_name"]:
        raise AssertionError("The API name is not correct.")


def words_overlap(a: str, b: str, lower: bool = False) -> bool:
    """Content rule of agenda/meeting/reminder APIs: Jaccard of space-split word sets > 0.5."""
    if lower:
        a, b = a.lower(), b.lower()
    sa, sb = set(a.split(" ")), set(b.split(" "))
    return len(sa & sb) / len(sa | sb) > 0.5


DT = "%Y-%m-%d %H:%M:%S"
D = "%Y-%m-%d"


def parse_time(value: Any, fmt: str = DT) -> datetime.datetime:
    return datetime.datetime.strptime(value, fmt)


def pad_year(text: str) -> str:
    """strip, and zero-pad the year when the text splits into three '-' parts."""
    text = text.strip()
    parts = text.split("-")
    if len(parts) == 3 and len(parts[0]) != 4:
        parts[0] = parts[0].zfill(4)
        text = "-".join(parts)
    return text


def normalise(value: str, fmt: str) -> Any:
    """Date normalisation: the canonical string, or the parse error (an error never equals anything)."""
    text = pad_year(value)  # outside the try: a non-string fails loudly, as in the original
    try:
        return datetime.datetime.strptime(text, fmt).strftime(fmt)
    except Exception as exc:
        return exc


def fail(message: str) -> ApiError:
    return ApiError(message)
