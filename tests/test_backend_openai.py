"""OpenAI-compatible backend against real HTTP servers on loopback.

A small fake server (http.server, threads) plays each failure mode, chosen by
the request's model name; a second test uses llama-cpp-python's own server
on the embedded GGUF when it is installed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.backends import make_backend
from harness.backends.base import GenParams
from harness.backends.openai import (
    OpenAIBackend,
    as_openai_tools,
    backoff_delay,
    build_request,
    parse_response,
)
from harness.records import Prompt
from harness.types import UserError

TOOL = {"name": "calculate_triangle_area", "description": "Area.",
        "parameters": {"type": "object", "properties": {"base": {"type": "integer"}}, "required": ["base"]}}


def chat_body(text="", tool_calls=None):
    msg = {"role": "assistant", "content": text}
    if tool_calls:
        msg["tool_calls"] = tool_calls
    return {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 3}}


class FakeServer:
    """Scenario by model name: ok, tools, flaky (429 once per prompt), down (500), slow, malformed, auth."""

    def __init__(self):
        self.requests: list[dict] = []
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def send(self, code, payload, headers=None):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v1/models":
                    self.send(200, {"object": "list", "data": [{"id": "served-model", "object": "model"}]})
                else:
                    self.send(404, {"error": {"message": "no such path"}})

            def do_POST(self):
                if self.path != "/v1/chat/completions":
                    return self.send(404, {"error": {"message": "no such path"}})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["_auth"] = self.headers.get("Authorization")
                key = body["messages"][-1]["content"]
                with server.lock:
                    server.requests.append(body)
                    n = server.seen[key] = server.seen.get(key, 0) + 1
                scenario = body["model"]
                if scenario == "ok":
                    return self.send(200, chat_body(f"echo: {key}"))
                if scenario == "tools":
                    call = {"id": "c1", "type": "function",
                            "function": {"name": "calculate_triangle_area", "arguments": '{"base": 10}'}}
                    return self.send(200, chat_body(None, [call]))
                if scenario == "think":  # a server with a reasoning parser (vLLM --reasoning-parser qwen3)
                    body = chat_body("\n\n[f(a=1)]")
                    body["choices"][0]["message"]["reasoning_content"] = "\nweighing it up\n"
                    body["usage"]["completion_tokens_details"] = {"reasoning_tokens": 5}
                    return self.send(200, body)
                if scenario == "flaky":
                    if n == 1:
                        return self.send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
                    return self.send(200, chat_body(f"after retry: {key}"))
                if scenario == "down":
                    return self.send(500, {"error": {"message": "boom"}})
                if scenario == "slow":
                    time.sleep(1.0)
                    return self.send(200, chat_body("too late"))
                if scenario == "malformed":
                    return self.send(200, b'{"choices": [ this is not json')
                if scenario == "bad_request":
                    return self.send(400, {"error": {"message": "context too long"}})
                if scenario == "top_k_ge_0":  # llama-cpp-python's server validates top_k >= 0
                    if body.get("top_k", 0) < 0:
                        return self.send(500, {"error": {"message": "1 validation error: ('body', 'top_k') "
                                                                    "Input should be greater than or equal to 0"}})
                    return self.send(200, chat_body(f"top_k={body['top_k']}"))
                if scenario == "auth":
                    return self.send(401, {"error": {"message": "bad key"}})
                return self.send(404, {"error": {"message": f"unknown model {scenario}"}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


def prompts(n, tools=None):
    return [Prompt(messages=[{"role": "user", "content": f"q{i}"}], tools=tools) for i in range(n)]


def backend(server, model, **kw):
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", 5.0)
    return OpenAIBackend(model, base_url=server.url, **kw)


def test_canned_completions_keep_order_and_send_sampling_params(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sekret")
    b = backend(server, "ok", api_key_env="MY_KEY", concurrency=4)
    params = GenParams(max_new_tokens=33, temperature=0.7, top_p=0.9, seed=5, stop=["\n\n"])
    out = b.generate(prompts(10), params)
    assert [c.text for c in out] == [f"echo: q{i}" for i in range(10)]
    assert all(c.error is None and c.prompt_tokens == 11 and c.completion_tokens == 3 for c in out)
    req = server.requests[0]
    assert req["max_tokens"] == 33 and req["temperature"] == 0.7 and req["top_p"] == 0.9 and req["seed"] == 5
    assert req["stop"] == ["\n\n"] and "tools" not in req
    assert req["_auth"] == "Bearer sekret"
    assert b.info()["base_url"] == server.url


def test_greedy_sends_every_sampling_field_at_its_neutral_value(server):
    """A server's own defaults (vLLM serve applies generation_config.json) cannot change a greedy run: every
    sampling field is sent, and the run records what was sent."""
    b = backend(server, "ok")
    b.generate(prompts(1), GenParams(max_new_tokens=8))
    req = server.requests[0]
    sent = {"max_tokens": 8, "temperature": 0.0, "top_p": 1.0, "seed": 0, "n": 1, "frequency_penalty": 0.0,
            "presence_penalty": 0.0, "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0}
    assert {k: req[k] for k in sent} == sent and "stop" not in req
    assert b.info()["sampling_sent"] == sent


def test_server_refusing_top_k_minus_one_gets_zero_once(server):
    """llama-cpp-python's server refuses top_k=-1 (vLLM's "off"): the backend respells it as 0 (llama.cpp's "off")
    once, without spending a retry, and records what it sent; a top_k the user set is never rewritten."""
    b = backend(server, "top_k_ge_0", max_retries=0, concurrency=1)
    out = b.generate(prompts(3), GenParams())
    assert [c.text for c in out] == ["top_k=0"] * 3 and all(c.error is None for c in out)
    assert [r["top_k"] for r in server.requests] == [-1, 0, 0, 0]
    assert b.info()["sampling_sent"]["top_k"] == 0
    server.requests.clear()
    mine = backend(server, "top_k_ge_0", max_retries=0).generate(prompts(1), GenParams(extra={"top_k": -1}))[0]
    assert "HTTP 500" in mine.error and "top_k" in mine.error
    assert [r["top_k"] for r in server.requests] == [-1]  # the user's own value is refused as it is


def test_reasoning_content_and_chat_template_kwargs(server):
    b = backend(server, "think", chat_template_kwargs={"enable_thinking": True})
    out = b.generate(prompts(1), GenParams(max_new_tokens=8, extra={"repetition_penalty": 1.1}))[0]
    assert out.text == "\n\n[f(a=1)]" and out.reasoning == "\nweighing it up\n" and out.reasoning_separate
    assert out.reasoning_tokens == 5
    req = server.requests[0]
    assert req["chat_template_kwargs"] == {"enable_thinking": True} and req["repetition_penalty"] == 1.1
    assert b.info()["chat_template_kwargs"] == {"enable_thinking": True}
    raw = backend(server, "ok").generate(prompts(1), GenParams())[0]  # no reasoning parser: read from the text
    assert raw.reasoning is None and not raw.reasoning_separate
    c = parse_response({"choices": [{"message": {"content": "<think>\nhm\n</think>\n\nok", "reasoning": None}}]})
    assert c.reasoning == "hm" and not c.reasoning_separate and c.reasoning_tokens is None
    c = parse_response({"choices": [{"message": {"content": "ok", "reasoning": "hm"}}]})  # newer vLLM's field
    assert c.reasoning == "hm" and c.reasoning_separate


def test_standard_params_only_and_api_openai_com_get_only_openai_fields(monkeypatch):
    from harness.backends.openai_request import sampling_fields, sends_extended

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert not sends_extended(None, False) and not sends_extended("https://api.openai.com/v1/", False)
    assert sends_extended("http://127.0.0.1:8000/v1", False) and not sends_extended("http://127.0.0.1:8000/v1", True)
    fields = sampling_fields(GenParams(max_new_tokens=5, stop=["x"]), extended=False)
    assert fields == {"max_tokens": 5, "temperature": 0.0, "top_p": 1.0, "seed": 0, "n": 1,
                      "frequency_penalty": 0.0, "presence_penalty": 0.0, "stop": ["x"]}
    assert sampling_fields(GenParams(extra={"presence_penalty": 0.5}), extended=False)["presence_penalty"] == 0.5


def test_native_tool_calls_round_trip(server):
    out = backend(server, "tools").generate(prompts(2, tools=[TOOL]), GenParams())
    assert server.requests[0]["tools"] == [{"type": "function", "function": TOOL}]
    assert out[0].text == ""
    assert out[0].tool_calls[0]["function"] == {"name": "calculate_triangle_area", "arguments": '{"base": 10}'}


def test_429_is_retried_then_succeeds(server):
    out = backend(server, "flaky", concurrency=3).generate(prompts(5), GenParams())
    assert [c.text for c in out] == [f"after retry: q{i}" for i in range(5)]
    assert all(c.error is None for c in out)
    assert len(server.requests) == 10  # one 429 and one success per prompt


def test_500_forever_records_error_after_retries_and_run_continues(server):
    b = backend(server, "down", max_retries=2)
    out = b.generate(prompts(2), GenParams())
    assert all(c.text == "" and "HTTP 500" in c.error and "3 attempts" in c.error for c in out)
    assert len(server.requests) == 6


def test_timeout_is_recorded(server):
    b = backend(server, "slow", timeout=0.2, max_retries=1)
    t0 = time.perf_counter()
    out = b.generate(prompts(1), GenParams())
    assert "timeout after 0.2 s" in out[0].error and "2 attempts" in out[0].error
    assert time.perf_counter() - t0 < 2.0  # the 1 s responses were not waited for


def test_malformed_json_is_recorded(server):
    out = backend(server, "malformed", max_retries=1).generate(prompts(1), GenParams())
    assert out[0].error.startswith("malformed response") and out[0].text == ""


def test_400_is_not_retried(server):
    out = backend(server, "bad_request", max_retries=3).generate(prompts(1), GenParams())
    assert "HTTP 400" in out[0].error and "context too long" in out[0].error and "1 attempt)" in out[0].error
    assert len(server.requests) == 1


def test_rejected_key_stops_the_run(server):
    with pytest.raises(UserError, match="rejected the API key"):
        backend(server, "auth").generate(prompts(1), GenParams())


def test_connection_refused_is_recorded():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = OpenAIBackend("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff=0.01)
    out = b.generate(prompts(1), GenParams())
    assert out[0].error.startswith("connection error") and "2 attempts" in out[0].error


def test_model_defaults_to_first_served_and_factory_and_env(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    b = make_backend("openai", model=None)
    assert b.model == "served-model" and b.base_url == server.url


def test_hosted_default_without_key_is_user_error(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(UserError, match="NO_SUCH_KEY_VAR"):
        OpenAIBackend("gpt-x", api_key_env="NO_SUCH_KEY_VAR")


def test_pure_helpers():
    assert as_openai_tools([TOOL, {"type": "function", "function": TOOL}]) == [{"type": "function", "function": TOOL}] * 2
    body = build_request(prompts(1)[0], GenParams(max_new_tokens=4), "m", {"top_k": 1})
    assert body["top_k"] == 1 and body["messages"] == [{"role": "user", "content": "q0"}]
    with pytest.raises(ValueError, match="no choices"):
        parse_response({"choices": []})
    with pytest.raises(ValueError, match="server error: nope"):
        parse_response({"error": {"message": "nope"}})
    c = parse_response({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"text": "b"}]}}]})
    assert c.text == "ab" and c.tool_calls is None and c.prompt_tokens == 0
    import random

    rng = random.Random(1)
    delays = [backoff_delay(a, 0.5, 4.0, rng=rng) for a in range(8)]
    assert all(0 <= d <= min(4.0, 0.5 * 2**a) for a, d in enumerate(delays))
    assert backoff_delay(0, 0.5, 4.0, retry_after=3.0, rng=rng) >= 3.0
    assert backoff_delay(0, 0.5, 4.0, retry_after=99.0, rng=rng) <= 4.0


# -- llama-cpp-python's own OpenAI-compatible server on the embedded GGUF ----------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_llama_cpp_server_on_embedded_gguf(tmp_path):
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama-cpp-python[server] not installed: build it with `bash bench/build_llamacpp.sh` (about 5 min)")
    from harness.embedded import gguf_path

    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--host",
                             "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
                             "--model_alias", "smollm2"], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "OPENAI_API_KEY": ""})
    try:
        deadline = time.time() + 60
        while True:
            try:
                b = OpenAIBackend(None, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=60)
                break
            except UserError:
                if time.time() > deadline or proc.poll() is not None:
                    raise AssertionError((tmp_path / "server.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        assert b.model == "smollm2"
        out = b.generate([Prompt(messages=[{"role": "user", "content": "Say hello."}])] * 2,
                         GenParams(max_new_tokens=8))
        assert all(c.error is None and c.completion_tokens > 0 and c.text for c in out), [c.error for c in out]
        assert out[0].text == out[1].text  # greedy is deterministic
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_rest_eval_cli_with_openai_backend_records_failures_and_resumes(server, tmp_path):
    from harness.cli import main

    common = ["eval", "--backend", "openai", "--base-url", server.url, "--tasks", "bfcl:simple_python",
              "--limit", "3", "--output-dir", str(tmp_path), "--run-name", "r", "--no-progress",
              "--max-retries", "1", "--timeout", "5", "--concurrency", "2"]
    assert main([*common, "--model", "down"]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["tasks"]["bfcl:simple_python"]["failed"] == 3
    assert summary["backend"]["max_retries"] == 1 and summary["backend"]["concurrency"] == 2
    lines = [json.loads(x) for x in (tmp_path / "r" / "samples" / "bfcl__simple_python.jsonl").read_text().splitlines()]
    assert all("HTTP 500" in r["backend_error"] for r in lines)
    assert main([*common, "--model", "ok", "--resume"]) == 0  # the failed samples are retried
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["tasks"]["bfcl:simple_python"]["failed"] == 0


def test_bare_tool_messages_become_one_user_message_like_bfcl_api_handlers():
    from harness.backends.openai import tool_results_as_user

    msgs = [{"role": "user", "content": "go"}, {"role": "assistant", "content": "[ls(a=True)]"},
            {"role": "tool", "name": "ls(a=True)", "content": "x y"}, {"role": "tool", "name": "pwd()", "content": "/"},
            {"role": "tool", "tool_call_id": "c1", "content": "kept"}]
    out = tool_results_as_user(msgs)
    assert [m["role"] for m in out] == ["user", "assistant", "user", "tool"]
    assert out[2]["content"] == repr([{"role": "tool", "name": "ls(a=True)", "content": "x y"},
                                      {"role": "tool", "name": "pwd()", "content": "/"}])
    assert out[3]["tool_call_id"] == "c1"
