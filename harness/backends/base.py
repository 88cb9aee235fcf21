"""The one small interface every generation backend implements.

Chat messages (+ optional tools) and sampling parameters in, completions out.
The runner and the benchmarks never know which backend runs; a backend never
knows which benchmark it serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.records import Prompt


@dataclass
class GenParams:
    max_new_tokens: int = 512
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    seed: int = 0
    stop: list[str] = field(default_factory=list)


@dataclass
class Completion:
    text: str
    tool_calls: list[dict[str, Any]] | None = None  # native tool-call fields, when the backend returns them
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    error: str | None = None  # set when generation failed for this sample; text is then ""


class Backend(Protocol):
    name: str

    def generate(self, prompts: list[Prompt], params: GenParams) -> list[Completion]: ...

    def info(self) -> dict[str, Any]: ...
