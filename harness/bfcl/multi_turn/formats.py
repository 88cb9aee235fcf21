"""How a multi-turn dialogue looks in each output format: the prompt, the history, and how a step is read.

One `DialogueFormat` per `--format`, pure over plain messages; the loop
(loop.py) and the scorer (scoring.py) share it, so an episode is decoded the
same way while it runs and when its record is re-scored.

- `prompting`: BFCL's prompting-mode OSS handlers. System prompt with the
  docs; the model writes `[f(a=1)]`; results go back as `{"role": "tool",
  "name": <call>, "content": <result>}`; held-out docs arrive in a user
  message (`{docs}\\nI have updated ...`).
- `fc`: native tool calling, as BFCL's FC loop (`inference_multi_turn_FC`).
  The docs are tools (`tools=` of the chat template, or the request); calls
  come from the `tool_calls` field, or from `<tool_call>` JSON blocks in the
  text (Qwen/Hermes, BFCL's Qwen FC handler); a step is recorded as BFCL's
  FC handlers record it (`[{name: arguments-json}]`, or the text); results
  go back as tool messages tied to their call ids; held-out docs join the
  tools and the turn opens with BFCL's FC message.
- `toolrl`: ToolRL's BFCL handler (toolrl_handler.py) on BFCL's prompting
  loop: ToolRL's system prompt and one "Dialogue Records History" user turn;
  the whole text (its `<think>` included) is recorded and read for the last
  `<tool_call>` block; held-out docs arrive as in `prompting`.

`decode` returns call strings for the executor, or None when BFCL ends the
turn (no call, or a step that does not decode).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from harness.bfcl.decode import decode_execute
from harness.bfcl.decode_native import tool_call_blocks
from harness.bfcl.errors import DecodeError
from harness.bfcl.fc_tools import to_tools
from harness.bfcl.multi_turn.checker import is_empty_turn
from harness.bfcl.prompts import with_system_prompt
from harness.bfcl.toolrl_handler import decode_toolrl_execute, handler_messages
from harness.records import Prompt

ADDED_FUNCTIONS_MESSAGE = "I have updated some more functions you can choose from. What about now?"  # BFCL's


@dataclass(frozen=True)
class Step:
    """One answer as a format reads it: the text to decode (reasoning handled) and native calls, if any."""

    text: str
    tool_calls: list[dict[str, Any]] | None = None


def call_string(name: Any, arguments: Any) -> str:
    """BFCL's `convert_to_function_call` for one call: JSON-text arguments parsed, `name(k=repr(v),...)`."""
    if isinstance(arguments, str):
        arguments = json.loads(arguments)
    if not isinstance(arguments, dict):
        raise DecodeError(f"tool call arguments are not an object: {arguments!r}")
    return f"{name}(" + ",".join(f"{k}={v!r}" for k, v in arguments.items()) + ")"


def _calls_or_none(read: Any, raw: Any) -> list[str] | None:
    try:
        calls = read(raw)
    except (DecodeError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    return None if is_empty_turn([calls]) else calls


class PromptingFormat:
    """BFCL's prompting-mode handlers (see the module docstring)."""

    name = "prompting"

    def opening(self, messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return with_system_prompt(messages, functions)

    def held_out(self, docs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(the messages that open a held-out turn, the docs that join the tools)."""
        return [{"role": "user", "content": f"{docs}\n{ADDED_FUNCTIONS_MESSAGE}"}], []

    def record(self, step: Step) -> Any:
        """The step as BFCL's `result` holds it."""
        return step.text

    def decode(self, raw: Any) -> list[str] | None:
        return _calls_or_none(decode_execute, raw) if isinstance(raw, str) else None

    def assistant(self, step: Step) -> dict[str, Any]:
        return {"role": "assistant", "content": step.text}

    def results(self, step: Step, calls: list[str], outputs: list[str]) -> list[dict[str, Any]]:
        return [{"role": "tool", "name": c, "content": r} for c, r in zip(calls, outputs, strict=True)]

    def prompt(self, messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> Prompt:
        return Prompt(messages=copy.deepcopy(messages))


class ToolRLFormat(PromptingFormat):
    """ToolRL's BFCL handler on BFCL's prompting loop (see the module docstring)."""

    name = "toolrl"

    def opening(self, messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return copy.deepcopy(messages)  # BFCL's system prompt would be added here; the handler drops it

    def decode(self, raw: Any) -> list[str] | None:
        return _calls_or_none(decode_toolrl_execute, raw) if isinstance(raw, str) else None

    def prompt(self, messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> Prompt:
        return Prompt(messages=handler_messages(messages, functions))


def _text_calls(text: str) -> list[dict[str, Any]]:
    """BFCL's Qwen FC handler `_extract_tool_calls`: every strict `<tool_call>` block that parses as JSON."""
    out = []
    for block in tool_call_blocks(text):
        try:
            out.append(json.loads(block))
        except (ValueError, RecursionError):
            continue
    return out


def _fc_calls(raw: Any) -> list[str]:
    if isinstance(raw, str):  # the Qwen FC handler's decode_execute
        calls = _text_calls(raw)
        if any(not isinstance(c, dict) for c in calls):
            raise DecodeError("a <tool_call> block is not a JSON object")
        return [call_string(c["name"], c["arguments"]) for c in calls]
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise DecodeError("not a list of calls")
    return [call_string(name, args) for item in raw for name, args in item.items()]  # BFCL's FC API handlers


class FcFormat:
    """Native tool calling (see the module docstring)."""

    name = "fc"

    def opening(self, messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return copy.deepcopy(messages)

    def held_out(self, docs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return [{"role": "user", "content": ADDED_FUNCTIONS_MESSAGE}], copy.deepcopy(docs)

    def record(self, step: Step) -> Any:
        if step.tool_calls:
            return [{fn.get("name", ""): fn.get("arguments", "{}")} for fn in (_function(c) for c in step.tool_calls)]
        return step.text

    def decode(self, raw: Any) -> list[str] | None:
        return _calls_or_none(_fc_calls, raw)

    def _native(self, step: Step) -> list[dict[str, Any]]:
        """The answer's calls as chat-history tool calls (ids kept, else numbered; arguments as objects)."""
        if step.tool_calls:
            calls = [(c.get("id"), _function(c)) for c in step.tool_calls]
        else:
            calls = [(None, c) for c in _text_calls(step.text) if isinstance(c, dict)]
        out = []
        for i, (call_id, fn) in enumerate(calls):
            arguments = fn.get("arguments", {})
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments)
                except ValueError:
                    pass
            out.append({"id": call_id or f"call_{i}", "type": "function",
                        "function": {"name": fn.get("name", ""), "arguments": arguments}})
        return out

    def assistant(self, step: Step) -> dict[str, Any]:
        calls = self._native(step)
        if calls:  # as the Qwen FC handler keeps it: the calls, no text
            return {"role": "assistant", "content": "", "tool_calls": calls}
        return {"role": "assistant", "content": step.text}

    def results(self, step: Step, calls: list[str], outputs: list[str]) -> list[dict[str, Any]]:
        ids = [c["id"] for c in self._native(step)]
        ids += [f"call_{i}" for i in range(len(ids), len(calls))]
        return [{"role": "tool", "tool_call_id": i, "name": c, "content": r}
                for i, c, r in zip(ids, calls, outputs, strict=False)]

    def prompt(self, messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> Prompt:
        return Prompt(messages=copy.deepcopy(messages), tools=to_tools(functions, "openai", rename_dots=False))


def _function(call: dict[str, Any]) -> dict[str, Any]:
    fn = call.get("function", call) if isinstance(call, dict) else {}
    return fn if isinstance(fn, dict) else {}


FORMATS: dict[str, PromptingFormat | FcFormat] = {f.name: f for f in (PromptingFormat(), FcFormat(), ToolRLFormat())}


def dialogue_format(name: str) -> PromptingFormat | FcFormat:
    """The format named `name` (KeyError for an unknown one; tasks check names before they get here)."""
    return FORMATS[name]
