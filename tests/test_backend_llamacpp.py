"""llama.cpp backend: GGUF resolution and request building (pure), and the real engine when installed."""

from __future__ import annotations

import importlib.util

import pytest

from harness.backends import make_backend
from harness.backends.base import GenParams
from harness.backends.llamacpp import chat_kwargs, resolve_gguf
from harness.records import Prompt
from harness.types import UserError

HAVE_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
BUILD = "llama-cpp-python not installed: build it with `bash bench/build_llamacpp.sh` (about 5 min)"


def test_resolve_gguf(tmp_path):
    from harness.embedded import gguf_path

    assert resolve_gguf(None) == (str(gguf_path()), None)
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF")
    assert resolve_gguf(str(f)) == (str(f), None)
    assert resolve_gguf(str(tmp_path)) == (str(f), None)  # a dir with one GGUF
    (tmp_path / "n.gguf").write_bytes(b"GGUF")
    with pytest.raises(UserError, match="several GGUF files"):
        resolve_gguf(str(tmp_path))
    assert resolve_gguf(str(tmp_path), "n.gguf") == (str(tmp_path / "n.gguf"), None)
    assert resolve_gguf("org/repo-GGUF", "q4.gguf") == ("org/repo-GGUF", "q4.gguf")
    with pytest.raises(UserError, match="--gguf-file"):
        resolve_gguf("org/repo-GGUF")
    with pytest.raises(UserError, match="does not exist"):
        resolve_gguf(str(tmp_path / "missing.gguf"))
    (tmp_path / "x.bin").write_bytes(b"")
    with pytest.raises(UserError, match="not a .gguf"):
        resolve_gguf(str(tmp_path / "x.bin"))


def test_chat_kwargs():
    tool = {"name": "f", "parameters": {"type": "object", "properties": {}}}
    kw = chat_kwargs(Prompt(messages=[{"role": "user", "content": "hi"}], tools=[tool]), GenParams(max_new_tokens=9))
    assert kw["max_tokens"] == 9 and kw["temperature"] == 0.0 and kw["top_p"] == 1.0
    # every sampler explicit: llama-cpp-python's own defaults (top_k 40, min_p 0.05) never apply unseen
    assert {k: kw[k] for k in ("top_k", "min_p", "repeat_penalty", "frequency_penalty", "presence_penalty")} == {
        "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0, "frequency_penalty": 0.0, "presence_penalty": 0.0}
    assert chat_kwargs(Prompt(messages=[]), GenParams(extra={"repetition_penalty": 1.1}))["repeat_penalty"] == 1.1
    assert kw["tools"] == [{"type": "function", "function": tool}]
    kw = chat_kwargs(Prompt(messages=[]), GenParams(temperature=0.8, top_p=0.9, stop=["x"]))
    assert kw["top_p"] == 0.9 and kw["stop"] == ["x"] and "tools" not in kw


def test_missing_llama_cpp_is_a_clear_user_error():
    if HAVE_LLAMA_CPP:
        pytest.skip("llama-cpp-python is installed here; this test checks the message shown when it is absent")
    with pytest.raises(UserError, match="build_llamacpp.sh"):
        make_backend("llamacpp", model=None)


def test_embedded_gguf_generates_greedy_deterministically():
    if not HAVE_LLAMA_CPP:
        pytest.skip(BUILD)
    b = make_backend("llamacpp", model=None, threads=2, n_ctx=1024)
    p = [Prompt(messages=[{"role": "user", "content": "What is 2+2?"}])]
    one = b.generate(p, GenParams(max_new_tokens=12))
    two = b.generate(p, GenParams(max_new_tokens=12))
    assert one[0].error is None and one[0].text and 0 < one[0].completion_tokens <= 12
    assert one[0].text == two[0].text
    assert b.info()["model_path"].endswith(".gguf")
