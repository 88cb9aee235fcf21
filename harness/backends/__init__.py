"""Backend factory: names to implementations, imported lazily (vLLM, llama.cpp are optional)."""

from __future__ import annotations

import importlib
from typing import Any

from harness.types import UserError

BACKENDS = {
    "hf": ("harness.backends.hf", "HFBackend"),
    "vllm": ("harness.backends.vllm", "VLLMBackend"),
    "openai": ("harness.backends.openai", "OpenAIBackend"),
    "llamacpp": ("harness.backends.llamacpp", "LlamaCppBackend"),
}


def make_backend(name: str, **kwargs: Any):
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module_name, cls = BACKENDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise UserError(f"backend {name!r} is not available in this build") from None
        raise
    return getattr(module, cls)(**kwargs)
