"""The one small interface every generation backend implements.

Chat messages (+ optional tools) and sampling parameters in, completions out.
The runner and the benchmarks never know which backend runs; a backend never
knows which benchmark it serves. Likewise the CLI and the checkpoint callback
never know a backend's options: each backend class declares its own `rest eval`
flags and builds itself from them (`BackendBase`), as lm-eval's backends take
`--model_args`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.records import Prompt
from harness.types import UserError


@dataclass
class GenParams:
    max_new_tokens: int = 512
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    seed: int = 0
    stop: list[str] = field(default_factory=list)  # cut the answer at these (never the reasoning: see reasoning.py)
    extra: dict[str, Any] = field(default_factory=dict)  # --gen-kwargs a backend declares (top_k, repetition_penalty..)


@dataclass
class Completion:
    text: str
    tool_calls: list[dict[str, Any]] | None = None  # native tool-call fields, when the backend returns them
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    error: str | None = None  # set when generation failed for this sample; text is then ""
    reasoning: str | None = None  # a thinking model's reasoning (harness/reasoning.py), None when it wrote none
    reasoning_tokens: int | None = None  # its length in tokens, where the backend knows it
    reasoning_separate: bool = False  # True: the server sent `reasoning` apart from `text` (reasoning_content)


class Backend(Protocol):
    name: str

    def generate(self, prompts: list[Prompt], params: GenParams) -> list[Completion]: ...

    def info(self) -> dict[str, Any]: ...


class ArgGroup(Protocol):
    """Where a backend adds its flags: an argparse parser or argument group."""

    def add_argument(self, *names: str, **kwargs: Any) -> Any: ...


class BackendBase:
    """The flag side of a backend class: which `rest eval` flags it reads and how it is built from them.

    `args` is the parsed `rest eval` namespace; besides the backend's own flags it holds the general
    ones a backend may read (`model`, `batch_size`, `seed`). The defaults suit a backend that loads
    `--model` and has no options; each backend overrides what it needs.
    """

    name: str = ""
    # keys of the general pass-through flags this backend honours (harness/backends/passthrough.py checks them)
    model_arg_keys: frozenset[str] = frozenset()  # --model-args: loading options (revision, trust_remote_code..)
    gen_kwarg_keys: frozenset[str] = frozenset()  # --gen-kwargs beyond stop/temperature/top_p/max_new_tokens/seed
    takes_chat_template_kwargs: bool = False  # --chat-template-kwargs reach the chat template it applies

    @classmethod
    def add_args(cls, group: ArgGroup) -> None:
        """Add this backend's flags to `group`; a flag several backends read is added by the first."""

    @classmethod
    def check_args(cls, args: argparse.Namespace) -> None:
        """Refuse flag values that would crash this backend, before any data or model loads (UserError)."""

    @classmethod
    def check_machine(cls, args: argparse.Namespace) -> None:
        """Refuse settings this machine cannot run (a device it lacks) before the run directory is opened."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Backend:
        """The backend the flags ask for (loads the model)."""
        return cls(args.model)  # type: ignore[call-arg]

    @classmethod
    def requested(cls, args: argparse.Namespace) -> dict[str, object]:
        """The settings that shape generation, as asked for (compared with the stored run's on --resume)."""
        from harness.backends.passthrough import requested_passthrough

        return {"model": requested_model(args.model), "backend": cls.name, **requested_passthrough(args)}

    @classmethod
    def run_batch_size(cls, args: argparse.Namespace) -> int:
        """Prompts the runner hands to one `generate` call: `--batch-size`, or under `auto` the backend's choice."""
        return cls.auto_batch_size(args) if args.batch_size == "auto" else args.batch_size

    @classmethod
    def auto_batch_size(cls, args: argparse.Namespace) -> int:
        """What `--batch-size auto` (the default) hands one `generate` call; backends that batch well say more."""
        return 8

    @classmethod
    def names_model(cls, args: argparse.Namespace) -> bool:
        """True when only the built backend knows which model runs (a server's), so it is built before the run
        directory is named."""
        return False


def requested_model(model: str | None) -> str:
    """`--model` as asked for: a local path resolved (the same folder by any spelling), else as given."""
    if model and Path(model).expanduser().exists():
        return str(Path(model).expanduser().resolve())
    return model or "embedded"


def requested_adapter(adapter: str | None) -> str | None:
    return str(Path(adapter).expanduser().resolve()) if adapter else None


def check_positive(args: argparse.Namespace, *dests: str) -> None:
    """Integer flags (by destination) that must be > 0 when given."""
    for dest in dests:
        value = getattr(args, dest, None)
        if value is not None and value != "auto" and value <= 0:
            raise UserError(f"--{dest.replace('_', '-')} must be a positive integer, got {value}")


def template_kwargs(prompt: Prompt, chat_template_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Arguments of `tokenizer.apply_chat_template` for one prompt (hf and vllm render alike):
    tools when the prompt has them, and the `--chat-template-kwargs` options (enable_thinking...)."""
    kw: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True}
    if prompt.tools:
        kw["tools"] = prompt.tools
    kw.update(chat_template_kwargs or {})
    return kw


# -- flags several backends read (added once, by the first backend that declares them)

def add_dtype_flag(group: ArgGroup) -> None:
    group.add_argument("--dtype", default="auto",
                       help="hf backend: auto (fp32 on CPU, bf16 on GPU), float32, bfloat16, float16")


def add_adapter_flag(group: ArgGroup) -> None:
    group.add_argument("--adapter", default=None, help="hf backend: LoRA adapter dir applied on top of --model")


def add_threads_flag(group: ArgGroup) -> None:
    group.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
