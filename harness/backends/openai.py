"""OpenAI-compatible chat-completions backend (vLLM serve, SGLang, llama.cpp server, Ollama, hosted APIs).

Plain `httpx`, no SDK. Requests run in a bounded thread pool; 429, 5xx,
timeouts, connection errors and malformed bodies are retried with exponential
backoff and full jitter; a sample that still fails gets `Completion.error` and
the run goes on (the runner counts it apart, `--resume` retries it). A
rejected key (401/403) is a configuration error and stops the run at once.
Request building and response parsing are pure functions in openai_request.py,
tested without a server.
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
from harness.backends.openai_request import (
    DEFAULT_BASE_URL,
    EXTENDED_NEUTRAL,
    OPENAI_GEN_KEYS,
    RETRY_STATUS,
    STANDARD_NEUTRAL,
    TOP_K_OFF_FALLBACK,
    MalformedResponse,
    as_openai_tools,
    build_request,
    parse_response,
    refuses_top_k,
    sends_extended,
    tool_results_as_user,
)
from harness.records import Prompt

__all__ = ["DEFAULT_BASE_URL", "MalformedResponse", "OpenAIBackend", "as_openai_tools", "backoff_delay",
           "build_request", "parse_response", "tool_results_as_user"]
from harness.types import UserError


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
    gen_kwarg_keys = OPENAI_GEN_KEYS
    takes_chat_template_kwargs = True  # sent as `chat_template_kwargs` (vLLM, SGLang, llama.cpp server)

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
        group.add_argument("--standard-params-only", action="store_true",
                           help="openai backend: send only the OpenAI API's sampling fields, not top_k/min_p/"
                                "repetition_penalty at neutral values (for hosted APIs that refuse unknown fields; "
                                "automatic for api.openai.com)")

    @classmethod
    def check_args(cls, args: argparse.Namespace) -> None:
        check_positive(args, "concurrency")
        if not (math.isfinite(args.timeout) and args.timeout > 0):
            raise UserError(f"--timeout must be a positive number of seconds, got {args.timeout}")
        if args.max_retries < 0:
            raise UserError(f"--max-retries must be 0 or more, got {args.max_retries}")
        extra = sorted(set(getattr(args, "gen_kwargs", None) or {}) & set(EXTENDED_NEUTRAL))
        if extra and args.backend == cls.name and not sends_extended(args.base_url, args.standard_params_only):
            raise UserError(f"--gen-kwargs {', '.join(extra)}: not an OpenAI API field, and this server is sent "
                            "only those (api.openai.com or --standard-params-only)")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> OpenAIBackend:
        from harness.backends.passthrough import backend_kwargs

        kwargs: dict[str, Any] = backend_kwargs(args)
        if args.standard_params_only:
            kwargs["standard_params_only"] = True
        return cls(args.model, base_url=args.base_url, api_key_env=args.api_key_env, concurrency=args.concurrency,
                   timeout=args.timeout, max_retries=args.max_retries, **kwargs)

    @classmethod
    def run_batch_size(cls, args: argparse.Namespace) -> int:
        asked = 0 if args.batch_size == "auto" else args.batch_size
        return max(asked, 4 * args.concurrency)  # the server batches itself: hand it enough work at once

    @classmethod
    def names_model(cls, args: argparse.Namespace) -> bool:
        return not args.model  # no --model: the server's first listed model runs

    def __init__(self, model: str | None = None, *, base_url: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8, timeout: float = 120.0,
                 max_retries: int = 4, backoff: float = 1.0, backoff_max: float = 30.0,
                 extra_body: dict[str, Any] | None = None, standard_params_only: bool = False,
                 chat_template_kwargs: dict[str, Any] | None = None) -> None:
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
        self.extended = sends_extended(self.base_url, standard_params_only)
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.sent: dict[str, Any] = {}  # the sampling fields of the last request, for info()
        self.top_k_off = -1  # becomes TOP_K_OFF_FALLBACK once the server refuses -1 (see refuses_top_k)
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
                "max_retries": self.max_retries, "chat_template_kwargs": self.chat_template_kwargs or None,
                "sampling_sent": self.sent or {**STANDARD_NEUTRAL, **(EXTENDED_NEUTRAL if self.extended else {})}}

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

        def request() -> dict[str, Any]:
            body = build_request(prompt, params, self.model, self.extra_body, extended=self.extended,
                                 chat_template_kwargs=self.chat_template_kwargs, top_k_off=self.top_k_off)
            self.sent = {k: v for k, v in body.items() if k not in ("model", "messages", "tools")}
            return body

        body = request()
        ours_top_k = "top_k" not in params.extra and "top_k" not in (self.extra_body or {})  # else the user's value
        t0 = time.perf_counter()
        reason = "no attempt made"
        attempt = 0
        while True:
            retry_after = None
            if body.get("top_k") == -1 and self.top_k_off != -1:  # another thread learnt the server's spelling
                body = request()
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
                elif ours_top_k and refuses_top_k(resp.status_code, resp.text, body):
                    self.top_k_off = TOP_K_OFF_FALLBACK  # once per server, not an attempt: the same request, respelt
                    body = request()
                    continue
                else:
                    reason = f"HTTP {resp.status_code}: {resp.text[:300]}"
                    if resp.status_code not in RETRY_STATUS:
                        break  # a request the server will never accept (400, 404, 422...)
                    retry_after = _retry_after(resp.headers)
            if attempt >= self.max_retries:
                break
            self._sleep(attempt, retry_after)
            attempt += 1
        tries = attempt + 1
        return Completion(text="", error=f"{reason} ({tries} attempt{'s' if tries > 1 else ''})",
                          latency_s=time.perf_counter() - t0)

    def close(self) -> None:
        self.client.close()
