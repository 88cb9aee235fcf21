"""Plain data shared by every benchmark, backend and the trainer.

Kept free of torch and I/O so checkers and rewards stay pure and fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """One decoded tool call: a function name and its keyword arguments."""

    name: str
    args: dict[str, Any]


@dataclass
class Sample:
    """One benchmark item, independent of prompt format and backend.

    `functions` are the item's tool docs in the benchmark's own schema;
    `ground_truth` is whatever the task's scorer needs; `meta` holds extra
    per-item facts (category, language, level...).
    """

    id: str
    task: str
    messages: list[dict[str, Any]]
    functions: list[dict[str, Any]] = field(default_factory=list)
    ground_truth: Any = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Verdict:
    """A scorer's judgement of one output, detailed enough to become a reward.

    `error_type` uses the official scorer's vocabulary (e.g. BFCL's
    `value_error:string`); `detail` carries per-call / per-parameter facts.
    """

    valid: bool
    error_type: str | None = None
    errors: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "error_type": self.error_type, "errors": self.errors, "detail": self.detail}


class UserError(Exception):
    """Bad input from the user: the CLI prints it as one line and exits non-zero."""


class DataMissing(UserError):
    """A benchmark's data files were looked for everywhere and not found.

    A subclass, not a flag, so callers that can do something about it (fetch the
    pinned copy, skip the task in the demo, skip a test) catch exactly this case
    and nothing else; everyone else still sees a plain one-line UserError.
    `dataset` is the `rest data fetch` name that would provide the files.
    """

    def __init__(self, message: str, dataset: str) -> None:
        super().__init__(message)
        self.dataset = dataset
