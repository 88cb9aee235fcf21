"""GGUF models in-process through llama-cpp-python (extra `[llamacpp]`).

On a CPU, llama.cpp's quantised kernels run the embedded SmolLM2 several
times faster than transformers at batch 1. Chat goes through
`create_chat_completion`, which applies the chat template stored in the GGUF;
its response has the chat-completions shape, so it is parsed like the
`openai` backend's. Prompts run one after the other (a `Llama` is not thread
safe; llama.cpp parallelises inside a request).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from harness.backends import base
from harness.backends.base import ArgGroup, BackendBase, Completion, GenParams
from harness.records import Prompt
from harness.types import UserError

INSTALL_HINT = ("backend 'llamacpp' needs llama-cpp-python: run `bash bench/build_llamacpp.sh` (builds the wheel "
                "once, about 5 min, and caches it) or `pip install -e '.[llamacpp]'`")


def resolve_gguf(model: str | None, gguf_file: str | None = None) -> tuple[str, str | None]:
    """(local .gguf path, None) or (hub repo id, file name) for `Llama.from_pretrained`."""
    if model is None or model in ("embedded", "smollm2"):
        from harness.embedded import gguf_path

        return str(gguf_path()), None
    path = Path(model).expanduser()
    if path.is_file():
        if path.suffix != ".gguf":
            raise UserError(f"{model!r} is not a .gguf file")
        return str(path), None
    if path.is_dir():
        candidates = [path / gguf_file] if gguf_file else sorted(path.glob("*.gguf"))
        if not candidates or not candidates[0].is_file():
            raise UserError(f"no .gguf file in {model!r}" + (f" named {gguf_file!r}" if gguf_file else ""))
        if len(candidates) > 1:
            names = ", ".join(c.name for c in candidates)
            raise UserError(f"{model!r} holds several GGUF files ({names}); choose one with --gguf-file")
        return str(candidates[0]), None
    if model.startswith((".", "/", "~")):
        raise UserError(f"GGUF path {model!r} does not exist")
    if not gguf_file:
        raise UserError(f"{model!r} is neither a .gguf file nor a directory; for a hub repo pass --gguf-file")
    return model, gguf_file


# --model-args `llama_cpp.Llama` takes as they are; --gen-kwargs it honours (repetition_penalty is its repeat_penalty)
LLAMACPP_MODEL_ARGS = frozenset({"n_ctx", "n_batch", "n_gpu_layers", "chat_format", "flash_attn", "use_mmap",
                                 "use_mlock"})
LLAMACPP_GEN_KEYS = frozenset({"top_k", "min_p", "repetition_penalty", "frequency_penalty", "presence_penalty"})
# every sampler set explicitly: llama-cpp-python's own defaults are top_k 40 and min_p 0.05
NEUTRAL = {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0, "frequency_penalty": 0.0, "presence_penalty": 0.0}


def chat_kwargs(prompt: Prompt, params: GenParams) -> dict[str, Any]:
    """Arguments of `Llama.create_chat_completion` for one prompt (temperature 0 is greedy), every sampler explicit."""
    kw: dict[str, Any] = {"messages": prompt.messages, "max_tokens": params.max_new_tokens,
                          "temperature": params.temperature, "seed": params.seed, "top_p": params.top_p, **NEUTRAL}
    kw.update({("repeat_penalty" if k == "repetition_penalty" else k): v for k, v in params.extra.items()})
    if params.stop:
        kw["stop"] = list(params.stop)
    if prompt.tools:
        from harness.backends.openai import as_openai_tools

        kw["tools"] = as_openai_tools(prompt.tools)
    return kw


class LlamaCppBackend(BackendBase):
    """`--backend llamacpp`: a GGUF model run in this process by llama-cpp-python.

    Its chat template is the one stored in the GGUF; prompts run one after the other (a `Llama` is not
    thread safe).
    """

    name = "llamacpp"
    model_arg_keys = LLAMACPP_MODEL_ARGS
    gen_kwarg_keys = LLAMACPP_GEN_KEYS

    @classmethod
    def add_args(cls, group: ArgGroup) -> None:
        group.add_argument("--gguf-file", default=None,
                           help="llamacpp backend: GGUF file inside a --model dir or hub repo (default: the embedded GGUF)")
        base.add_threads_flag(group)

    @classmethod
    def check_args(cls, args: argparse.Namespace) -> None:
        base.check_positive(args, "threads")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LlamaCppBackend:
        from harness.backends.passthrough import backend_kwargs

        return cls(args.model, gguf_file=args.gguf_file, threads=args.threads, seed=args.seed, **backend_kwargs(args))

    @classmethod
    def requested(cls, args: argparse.Namespace) -> dict[str, object]:
        return {**super().requested(args), "gguf_file": args.gguf_file}

    def __init__(self, model: str | None = None, *, gguf_file: str | None = None, threads: int | None = None,
                 n_ctx: int = 4096, seed: int = 0, model_args: dict[str, Any] | None = None, **_ignored: Any) -> None:
        try:
            import llama_cpp
        except ImportError:
            raise UserError(INSTALL_HINT) from None
        source, filename = resolve_gguf(model, gguf_file)
        kw: dict[str, Any] = {"n_ctx": n_ctx, "seed": seed, "verbose": False}
        if threads:
            kw["n_threads"] = threads
        kw.update(model_args or {})  # --model-args: llama_cpp.Llama arguments as given
        try:
            if filename:
                self.llm = llama_cpp.Llama.from_pretrained(repo_id=source, filename=filename, **kw)
            else:
                self.llm = llama_cpp.Llama(model_path=source, **kw)
        except (ValueError, OSError, RuntimeError) as exc:
            raise UserError(f"llama.cpp cannot load {source!r}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
        self.source, self.filename, self.n_ctx, self.model_args = source, filename, kw["n_ctx"], dict(model_args or {})
        self.version = getattr(llama_cpp, "__version__", "?")

    def info(self) -> dict[str, Any]:
        return {"backend": self.name, "model_path": self.source, "gguf_file": self.filename, "n_ctx": self.n_ctx,
                "llama_cpp_python": self.version, **({"model_args": self.model_args} if self.model_args else {})}

    def provenance(self) -> dict[str, Any]:
        """The GGUF file's fingerprint and the chat template it carries (llama.cpp applies that one)."""
        from harness.provenance import file_fingerprint, text_hash

        path = Path(self.source)
        meta = getattr(self.llm, "metadata", None) or {}
        return {"model_path": self.source, "gguf_file": self.filename,
                "weights": [file_fingerprint(path)] if not self.filename and path.is_file() else None,
                "chat_template_hash": text_hash(meta.get("tokenizer.chat_template"))}

    def generate(self, prompts: list[Prompt], params: GenParams) -> list[Completion]:
        from harness.backends.openai import MalformedResponse, parse_response

        out = []
        for p in prompts:
            t0 = time.perf_counter()
            try:
                c = parse_response(self.llm.create_chat_completion(**chat_kwargs(p, params)))
            except (ValueError, RuntimeError, MalformedResponse) as exc:  # e.g. prompt longer than n_ctx
                c = Completion(text="", error=f"llama.cpp: {type(exc).__name__}: {str(exc)[:300]}")
            c.latency_s = time.perf_counter() - t0
            out.append(c)
        return out
