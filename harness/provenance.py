"""What a run was made from, recorded so that "why do my numbers differ" has an answer.

Hashes are of canonical JSON (sorted keys, no whitespace), truncated to 16
hex digits: enough to tell two prompts, templates or data sets apart, short
enough to sit on every sample line. The project's commit comes from git when
the harness runs from a checkout (with `+dirty` when files differ), else from
the installed package's version.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HASH_CHARS = 16
WEIGHT_BIN_PREFIXES = ("pytorch_model", "adapter_model")  # .bin files that hold weights (not training_args.bin)
WEIGHT_HASH_MAX_BYTES = 2 << 30  # hash weight files up to 2 GiB (about 1 s a GiB); larger ones: size and mtime


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_CHARS]


def json_hash(value: Any) -> str:
    """Hash of `value` as canonical JSON: equal for equal data, whatever the key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return digest(text.encode("utf-8"))


def text_hash(text: str | None) -> str | None:
    return None if text is None else digest(text.encode("utf-8"))


def prompt_hash(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
    """Hash of what a backend was handed for one item: its chat messages and native tools."""
    return json_hash({"messages": messages, "tools": tools})


def samples_hash(samples: Iterable[Any]) -> str:
    """Hash of the items a task evaluated (ids, messages, functions, ground truth): its data as used."""
    return json_hash([{"id": s.id, "messages": s.messages, "functions": s.functions, "ground_truth": s.ground_truth}
                      for s in samples])


def file_fingerprint(path: Path) -> dict[str, Any]:
    """sha256 (truncated) of a file up to WEIGHT_HASH_MAX_BYTES, else its size and modification time."""
    st = path.stat()
    if st.st_size > WEIGHT_HASH_MAX_BYTES:
        return {"file": path.name, "bytes": st.st_size, "mtime": int(st.st_mtime)}
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return {"file": path.name, "bytes": st.st_size, "sha256": h.hexdigest()[:HASH_CHARS]}


def weights_fingerprint(model_dir: Path) -> list[dict[str, Any]] | None:
    """Fingerprints of a local checkpoint's weight files (safetensors, bin, gguf); None when it has none."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return None
    files = sorted(p for p in model_dir.iterdir() if p.is_file() and (
        p.suffix in (".safetensors", ".gguf") or (p.suffix == ".bin" and p.name.startswith(WEIGHT_BIN_PREFIXES))))
    return [file_fingerprint(p) for p in files] or None


def model_identity(model_path: str | None, tokenizer: Any = None, adapter: str | None = None,
                   revision: str | None = None) -> dict[str, Any]:
    """What identifies the model a backend runs: weights (local dirs: file hashes; hub ids: the resolved
    revision), the adapter's weights, the chat template's hash and the tokenizer."""
    out: dict[str, Any] = {"model_path": model_path}
    if model_path and Path(model_path).is_dir():
        out["weights"] = weights_fingerprint(Path(model_path))
    elif revision:
        out["revision"] = revision
    if adapter and Path(adapter).is_dir():
        out["adapter_weights"] = weights_fingerprint(Path(adapter))
    if tokenizer is not None:
        out["chat_template_hash"] = text_hash(getattr(tokenizer, "chat_template", None))
        out["tokenizer"] = f"{type(tokenizer).__name__}:{getattr(tokenizer, 'name_or_path', '')}"
        out["vocab_size"] = len(tokenizer) if hasattr(tokenizer, "__len__") else None
    return out


def project_commit() -> str:
    """The harness's git commit (`+dirty` when the tree differs from it), else `rest-harness <version>`."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        import importlib.metadata as md

        try:
            return f"rest-harness {md.version('rest-harness')}"
        except md.PackageNotFoundError:
            return "unknown"


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed (program name shortened to its basename)."""
    args = list(sys.argv if argv is None else argv)
    if args:
        args[0] = Path(args[0]).name
    return " ".join(args)[:2000]


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape a score."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("rest-harness", "torch", "transformers", "trl", "bfcl-eval"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def run_provenance(cfg: Any, backend: Any, plans: list[Any]) -> dict[str, Any]:
    """What this run was made from: the project's commit, the command, the backend's model identity
    (weights, chat template, tokenizer where it knows them), each task's data as evaluated, the seeds."""
    identity = getattr(backend, "provenance", None)
    return {
        "commit": project_commit(), "command": cfg.command or command_line(),
        "model": identity() if callable(identity) else {},
        "data": {p.task.name: samples_hash(p.samples) for p in plans},
        "ids": "given" if cfg.ids is not None else None,
        "seeds": [cfg.gen.seed + k for k in range(cfg.repeats)],
    }
