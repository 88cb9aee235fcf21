"""Each backend declares its own `rest eval` flags and is built from them; the CLI knows none of them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.backends import BACKENDS, backend_class, backend_flags, make_backend, settings_argv
from harness.cli import build_parser
from harness.types import UserError

# flag -> (default, backends that read it): the flags `rest eval` had before backends declared them
FLAGS = {
    "--device": ("auto", {"hf"}),
    "--dtype": ("auto", {"hf", "vllm"}),
    "--adapter": (None, {"hf", "vllm"}),
    "--threads": (None, {"hf", "llamacpp"}),
    "--kv-budget-mb": (None, {"hf"}),
    "--no-prefix-cache": (False, {"hf"}),
    "--no-onednn": (False, {"hf"}),
    "--base-url": (None, {"openai"}),
    "--api-key-env": ("OPENAI_API_KEY", {"openai"}),
    "--concurrency": (8, {"openai"}),
    "--timeout": (120.0, {"openai"}),
    "--max-retries": (4, {"openai"}),
    "--standard-params-only": (False, {"openai"}),
    "--tensor-parallel-size": (1, {"vllm"}),
    "--max-model-len": (None, {"vllm"}),
    "--gguf-file": (None, {"llamacpp"}),
}


def eval_args(*argv: str):
    return build_parser().parse_args(["eval", *argv])


def test_every_backend_flag_is_declared_by_its_backends_and_added_once():
    assert BACKENDS.names() == ["hf", "llamacpp", "openai", "vllm"]
    declared: dict[str, set[str]] = {}
    for name in BACKENDS.names():
        for action in backend_flags(name).values():
            declared.setdefault(action.option_strings[0], set()).add(name)
    assert declared == {flag: users for flag, (_, users) in FLAGS.items()}
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    eval_flags = [s for a in sub.choices["eval"]._actions for s in a.option_strings]
    assert all(eval_flags.count(flag) == 1 for flag in FLAGS)
    args = eval_args()
    for flag, (default, _) in FLAGS.items():
        assert getattr(args, flag[2:].replace("-", "_")) == default, flag


def built(name: str, *argv: str):
    """(args, kwargs) the backend's constructor gets from `rest eval ARGV` (nothing loads)."""
    cls = backend_class(name)

    class Capture(cls):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            self.got = (args, kwargs)

    return Capture.from_args(eval_args("--backend", name, *argv)).got


def test_from_args_builds_each_backend_from_its_flags():
    assert built("hf", "--model", "m", "--device", "cpu", "--threads", "2", "--no-prefix-cache") == (
        ("m",), {"device": "cpu", "dtype": "auto", "batch_size": None, "adapter": None, "threads": 2,
                 "prefix_cache": False, "onednn": True})  # batch_size None: auto, the default
    assert {"batch_size": 12, "onednn": False}.items() <= built("hf", "--batch-size", "12", "--no-onednn")[1].items()
    assert built("hf", "--kv-budget-mb", "64")[1]["kv_budget_mb"] == 64
    assert built("openai", "--base-url", "http://x/v1", "--timeout", "5") == (
        (None,), {"base_url": "http://x/v1", "api_key_env": "OPENAI_API_KEY", "concurrency": 8, "timeout": 5.0,
                  "max_retries": 4})
    assert built("vllm", "--adapter", "a", "--seed", "3", "--max-model-len", "512") == (
        (None,), {"adapter": "a", "dtype": "auto", "tensor_parallel_size": 1, "max_model_len": 512, "seed": 3})
    assert built("llamacpp", "--gguf-file", "q.gguf", "--threads", "4") == (
        (None,), {"gguf_file": "q.gguf", "threads": 4, "seed": 0})


def test_requested_settings_batch_sizes_and_served_models(tmp_path):
    args = eval_args("--model", str(tmp_path), "--adapter", ".")
    assert backend_class("hf").requested(args) == {"model": str(tmp_path.resolve()), "backend": "hf",
                                                   "adapter": str(type(tmp_path)(".").resolve())}
    args = eval_args("--gguf-file", "q.gguf")
    assert backend_class("llamacpp").requested(args) == {"model": "embedded", "backend": "llamacpp",
                                                         "gguf_file": "q.gguf"}
    assert backend_class("openai").requested(args) == {"model": "embedded", "backend": "openai"}
    args = eval_args()
    assert [backend_class(n).run_batch_size(args) for n in ("hf", "llamacpp", "openai", "vllm")] == [64, 8, 32, 64]
    args = eval_args("--batch-size", "12")
    assert [backend_class(n).run_batch_size(args) for n in ("hf", "llamacpp", "openai", "vllm")] == [12, 12, 32, 64]
    assert backend_class("openai").names_model(args) and not backend_class("openai").names_model(eval_args("--model", "m"))
    assert not backend_class("hf").names_model(args)


def test_settings_become_rest_eval_flags():
    assert settings_argv("hf", {"device": "cpu", "threads": None, "no_prefix_cache": True, "dtype": "bfloat16"}) == [
        "--device", "cpu", "--no-prefix-cache", "--dtype", "bfloat16"]
    assert settings_argv("hf", {"no_prefix_cache": False}) == []
    with pytest.raises(UserError, match="top_k") as exc:
        settings_argv("hf", {"device": "cpu", "top_k": 3})
    assert "supported: device, dtype, adapter, threads, kv_budget_mb, no_prefix_cache" in str(exc.value)
    with pytest.raises(UserError, match="concurrency"):
        settings_argv("vllm", {"concurrency": 2})


def test_unknown_backend_is_one_user_error():
    with pytest.raises(UserError, match="unknown backend 'nosuch'; known: hf, llamacpp, openai, vllm"):
        make_backend("nosuch")


def test_rest_eval_help_imports_no_torch_and_unknown_backend_is_one_line():
    code = ("import sys; from harness.cli import main\n"
            "try:\n    main(['eval', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in ('torch', 'transformers', 'vllm', 'llama_cpp') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.splitlines()[-1] == "HEAVY []", out.stderr
    bad = subprocess.run([sys.executable, "-m", "harness.cli", "eval", "--backend", "nosuch"], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "rest: error: unknown backend 'nosuch'; known: hf, llamacpp, openai, vllm"]
