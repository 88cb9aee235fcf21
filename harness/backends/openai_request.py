"""Chat-completions requests and responses for the `openai` and `llamacpp` backends: pure functions.

A request carries every sampling field explicitly (`sampling_fields`); a response
becomes a `Completion` with its text, native tool calls, token usage and, where
the server split it off (`reasoning_content`), the reasoning. Tested without a server.
"""

from __future__ import annotations

import json
import os
from typing import Any

from harness.backends.base import Completion, GenParams
from harness.reasoning import reasoning_of
from harness.records import Prompt

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
# Sampling fields every request carries, at neutral values unless --gen-kwargs sets them, so a server's own
# defaults (vLLM serve applies the model's generation_config.json: Qwen2.5's repetition_penalty 1.05; llama.cpp
# server's top_k 40 and min_p 0.05) cannot change a run unseen. The OpenAI API's own fields go to every server;
# the others (vLLM, SGLang, llama.cpp server) to all but api.openai.com, which refuses fields it does not know.
STANDARD_NEUTRAL = {"frequency_penalty": 0.0, "presence_penalty": 0.0}
EXTENDED_NEUTRAL = {"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0}
OPENAI_GEN_KEYS = frozenset({*STANDARD_NEUTRAL, *EXTENDED_NEUTRAL})
# "No top-k" has no single spelling: vLLM and SGLang take -1 (older vLLM and SGLang refuse 0), llama-cpp-python's
# server validates top_k >= 0 and takes 0. We send -1 and fall back to 0 once a server refuses it (`refuses_top_k`).
TOP_K_OFF_FALLBACK = 0


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


def openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages as chat-completions wants them: tool results without a call id folded (`tool_results_as_user`),
    call arguments as JSON text (chat templates take objects, the API takes text), and no `name` on a tool
    result that has a `tool_call_id` (the id says which call it answers)."""
    out = []
    for m in tool_results_as_user(messages):
        if m.get("role") == "assistant" and m.get("tool_calls"):
            calls = []
            for c in m["tool_calls"]:
                fn = c.get("function") if isinstance(c, dict) else None
                if isinstance(fn, dict) and not isinstance(fn.get("arguments"), str):
                    c = {**c, "function": {**fn, "arguments": json.dumps(fn.get("arguments", {}), ensure_ascii=False)}}
                calls.append(c)
            m = {**m, "tool_calls": calls}
        elif m.get("role") == "tool" and "tool_call_id" in m:
            m = {k: v for k, v in m.items() if k != "name"}
        out.append(m)
    return out


def sampling_fields(params: GenParams, extended: bool = True, top_k_off: int = -1) -> dict[str, Any]:
    """Every sampling field a request sends: the settings asked for, the rest at neutral values."""
    fields: dict[str, Any] = {"max_tokens": params.max_new_tokens, "temperature": params.temperature,
                              "top_p": params.top_p, "seed": params.seed, "n": 1, **STANDARD_NEUTRAL}
    if extended:
        fields.update(EXTENDED_NEUTRAL, top_k=top_k_off)
    fields.update(params.extra)
    if params.stop:
        fields["stop"] = list(params.stop)
    return fields


def build_request(prompt: Prompt, params: GenParams, model: str, extra: dict[str, Any] | None = None, *,
                  extended: bool = True, chat_template_kwargs: dict[str, Any] | None = None,
                  top_k_off: int = -1) -> dict:
    """The JSON body of one chat-completions request (`extended`: also the non-OpenAI sampling fields;
    `top_k_off`: the value that disables top-k on this server)."""
    body: dict[str, Any] = {"model": model, "messages": openai_messages(prompt.messages),
                            **sampling_fields(params, extended, top_k_off)}
    if prompt.tools:
        body["tools"] = as_openai_tools(prompt.tools)
    if chat_template_kwargs:
        body["chat_template_kwargs"] = dict(chat_template_kwargs)
    if extra:
        body.update(extra)
    return body


def refuses_top_k(status: int, text: str, body: dict[str, Any]) -> bool:
    """Whether a server refused the request for our neutral top_k of -1 (llama-cpp-python's server answers
    with a validation error naming top_k), so that the same request with `TOP_K_OFF_FALLBACK` is the fix."""
    return 400 <= status < 600 and body.get("top_k") == -1 and "top_k" in text


def sends_extended(base_url: str | None, standard_only: bool) -> bool:
    """Whether requests carry the non-OpenAI sampling fields: not to api.openai.com, nor with --standard-params-only."""
    url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    return not standard_only and url != DEFAULT_BASE_URL


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
    details = usage.get("completion_tokens_details") if isinstance(usage.get("completion_tokens_details"), dict) else {}
    thought = msg.get("reasoning_content") or msg.get("reasoning")  # vLLM/SGLang/DeepSeek reasoning parsers
    separate = isinstance(thought, str) and bool(thought)
    counted = details.get("reasoning_tokens")
    return Completion(text=text, tool_calls=calls, prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0),
                      reasoning=thought if separate else reasoning_of(text), reasoning_separate=separate,
                      reasoning_tokens=counted if isinstance(counted, int) and not isinstance(counted, bool) else None)
