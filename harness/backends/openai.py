"""OpenAI-compatible chat-completions backend (vLLM serve, SGLang, llama.cpp server, Ollama, hosted APIs).

Plain `httpx`, no SDK. Requests run in a bounded thread pool; 429, 5xx,
timeouts, connection errors and malformed bodies are retried with exponential
backoff and full jitter; a sample that still fails gets `Completion.error` and
the run goes on (the runner counts it apart, `--resume` retries it). A
rejected key (401/403) is a configuration error and stops the run at once.
Request building and response parsing are pure functions, tested without a
server.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.backends.base import ArgGroup, BackendBase, Completion, GenParams, check_positive
from harness.records import Prompt
from harness.types import UserError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


class MalformedResponse(ValueError):
    """The server answered 200 with a body that is not a chat completion."""


def as_openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tools in the chat-completions shape; bare function docs are wrapped as `{"type": "function", ...}`."""
    return [t if t.get("type") == "function" and "function" in t else {"type": "function", "function": t}
            for t in tools]


def tool_results_as_user(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold runs of `tool` messages that carry no `tool_call_id` into one user message.

    Prompting-mode multi-turn feeds execution results back as `tool` messages
    (BFCL's local handlers); OpenAI-style endpoints reject those without a
    tool_call_id, so we send them as BFCL's API prompting handlers do: one user
    message holding the repr of the result list.
    """
    out: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for m in messages:
        if m.get("role") == "tool" and "tool_call_id" not in m:
            pending.append({"role": "tool", "name": m.get("name"), "content": m.get("content")})
            continue
        if pending:
            out.append({"role": "user", "content": repr(pending)})
            pending = []
        out.append(m)
    if pending:
        out.append({"role": "user", "content": repr(pending)})
    return out


def build_request(prompt: Prompt, params: GenParams, model: str, extra: dict[str, Any] | None = None) -> dict:
    """The JSON body of one chat-completions request."""
    body: dict[str, Any] = {
        "model": model,
        "messages": tool_results_as_user(prompt.messages),
        "max_tokens": params.max_new_tokens,
        "temperature": params.temperature,
        "seed": params.seed,
    }
    if params.temperature > 0 and params.top_p < 1.0:
        body["top_p"] = params.top_p
    if params.stop:
        body["stop"] = list(params.stop)
    if prompt.tools:
        body["tools"] = as_openai_tools(prompt.tools)
    if extra:
        body.update(extra)
    return body


def parse_response(body: Any) -> Completion:
    """A chat-completions body -> Completion (text, native tool calls, token usage). Raises MalformedResponse."""
    if not isinstance(body, dict):
        raise MalformedResponse("body is not a JSON object")
    if "error" in body and "choices" not in body:
        err = body["error"]
        raise MalformedResponse(f"server error: {err.get('message', err) if isinstance(err, dict) else err}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedResponse("no choices in the response")
    msg = choices[0].get("message")
    if not isinstance(msg, dict):
        raise MalformedResponse("choice has no message")
    text = msg.get("content") or ""
    if not isinstance(text, str):  # content parts
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    calls = msg.get("tool_calls") or None
    if calls is not None and not isinstance(calls, list):
        raise MalformedResponse("tool_calls is not a list")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    return Completion(text=text, tool_calls=calls, prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0))


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff (attempt 0 is the first retry); a server's Retry-After is a lower bound."""
    delay = (rng or random).uniform(0, min(cap, base * 2**attempt))
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAIBackend(BackendBase):
    """`--backend openai`: a model served behind an OpenAI-compatible chat-completions endpoint.

    Requests run `--concurrency` at a time; 429, 5xx, timeouts and connection errors are retried with backoff,
    and a sample that still fails gets `Completion.error`.
    """

    name = "openai"

    @classmethod
    def add_args(cls, group: ArgGroup) -> None:
        group.add_argument("--base-url", default=None,
                           help="openai backend: server URL ending in /v1 (default $OPENAI_BASE_URL, else api.openai.com)")
        group.add_argument("--api-key-env", default="OPENAI_API_KEY",
                           help="openai backend: environment variable holding the API key (default OPENAI_API_KEY)")
        group.add_argument("--concurrency", type=int, default=8, help="openai backend: parallel requests (default 8)")
        group.add_argument("--timeout", type=float, default=120.0,
                           help="openai backend: seconds per request (default 120)")
        group.add_argument("--max-retries", type=int, default=4,
                           help="openai backend: retries on 429/5xx/timeouts/connection errors (default 4)")

    @classmethod
    def check_args(cls, args: argparse.Namespace) -> None:
        check_positive(args, "concurrency")
        if not (math.isfinite(args.timeout) and args.timeout > 0):
            raise UserError(f"--timeout must be a positive number of seconds, got {args.timeout}")
        if args.max_retries < 0:
            raise UserError(f"--max-retries must be 0 or more, got {args.max_retries}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> OpenAIBackend:
        return cls(args.model, base_url=args.base_url, api_key_env=args.api_key_env, concurrency=args.concurrency,
                   timeout=args.timeout, max_retries=args.max_retries)

    @classmethod
    def run_batch_size(cls, args: argparse.Namespace) -> int:
        return max(args.batch_size, 4 * args.concurrency)  # the server batches itself: hand it enough work at once

    @classmethod
    def names_model(cls, args: argparse.Namespace) -> bool:
        return not args.model  # no --model: the server's first listed model runs

    def __init__(self, model: str | None = None, *, base_url: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8, timeout: float = 120.0,
                 max_retries: int = 4, backoff: float = 1.0, backoff_max: float = 30.0,
                 extra_body: dict[str, Any] | None = None) -> None:
        import httpx

        if concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise UserError("--concurrency must be >= 1, --max-retries >= 0 and --timeout > 0")
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise UserError(f"--base-url must start with http:// or https:// (got {self.base_url!r})")
        self.api_key_env = api_key_env
        key = os.environ.get(api_key_env)
        if not key and self.base_url == DEFAULT_BASE_URL:
            raise UserError(f"no API key: set {api_key_env} (or pick another variable with --api-key-env)")
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.concurrency, self.timeout, self.max_retries = concurrency, timeout, max_retries
        self.backoff, self.backoff_max, self.extra_body = backoff, backoff_max, extra_body
        self.client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout,
                                   limits=httpx.Limits(max_connections=concurrency,
                                                       max_keepalive_connections=concurrency))
        self._rng = random.Random(0)
        self._rng_lock = threading.Lock()
        self.model = model or self._first_served_model()

    def _first_served_model(self) -> str:
        """No --model: use the first model the server lists (local servers usually serve exactly one)."""
        import httpx

        try:
            resp = self.client.get("/models")
            resp.raise_for_status()
            return resp.json()["data"][0]["id"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise UserError(f"--model not given and {self.base_url}/models does not list one ({exc})") from None

    def info(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "base_url": self.base_url,
                "api_key_env": self.api_key_env, "concurrency": self.concurrency, "timeout_s": self.timeout,
                "max_retries": self.max_retries}

    def provenance(self) -> dict[str, Any]:
        """A served model is known by name and server only: its weights and chat template are the server's."""
        return {"model": self.model, "base_url": self.base_url, "chat_template_hash": None,
                "note": "weights and chat template are applied by the server and not visible here"}

    def generate(self, prompts: list[Prompt], params: GenParams) -> list[Completion]:
        if not prompts:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
            return list(pool.map(lambda p: self.complete(p, params), prompts))

    def _sleep(self, attempt: int, retry_after: float | None) -> None:
        with self._rng_lock:
            delay = backoff_delay(attempt, self.backoff, self.backoff_max, retry_after, self._rng)
        time.sleep(delay)

    def complete(self, prompt: Prompt, params: GenParams) -> Completion:
        """One request with retries; never raises for a per-sample failure."""
        import httpx

        body = build_request(prompt, params, self.model, self.extra_body)
        t0 = time.perf_counter()
        reason = "no attempt made"
        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                resp = self.client.post("/chat/completions", content=json.dumps(body))
            except httpx.TimeoutException:
                reason = f"timeout after {self.timeout:g} s"
            except httpx.TransportError as exc:
                reason = f"connection error: {type(exc).__name__}: {exc}"
            else:
                if resp.status_code in (401, 403):
                    raise UserError(f"{self.base_url} rejected the API key from {self.api_key_env} "
                                    f"(HTTP {resp.status_code})")
                if resp.status_code == 200:
                    try:
                        done = parse_response(resp.json())
                    except (ValueError, MalformedResponse) as exc:  # json.JSONDecodeError is a ValueError
                        reason = f"malformed response: {str(exc)[:200]}"
                    else:
                        done.latency_s = time.perf_counter() - t0
                        return done
                else:
                    reason = f"HTTP {resp.status_code}: {resp.text[:300]}"
                    if resp.status_code not in RETRY_STATUS:
                        break  # a request the server will never accept (400, 404, 422...)
                    retry_after = _retry_after(resp.headers)
            if attempt < self.max_retries:
                self._sleep(attempt, retry_after)
        tries = attempt + 1
        return Completion(text="", error=f"{reason} ({tries} attempt{'s' if tries > 1 else ''})",
                          latency_s=time.perf_counter() - t0)

    def close(self) -> None:
        self.client.close()
