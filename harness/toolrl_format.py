"""ToolRL's output protocol: the system prompt and a tolerant parser of `<think>/<tool_call>/<response>`.

The system prompt must be byte-identical to ToolRL's (rlla_4k data, its BFCL
handler and API-Bank files all use it), since models trained on it are
evaluated with it. Layout from ToolRL commit 8cee13e (`benchmarks/BFCL/rlla_qwen.py`
and `dataset/rlla_4k`): tools as `N. Name: …\\nDescription: …\\nParameters: {json}`
with `json.dumps` defaults; JSON-schema parameters contribute their `properties`.
The stored data has the template's trailing newline stripped; we follow the data.

`parse_completion` is for evaluation and inspection (it reports every problem
and never raises); the reward in `harness.rewards` follows ToolRL's stricter
rules on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TAGS = ("<think>", "</think>", "<tool_call>", "</tool_call>", "<response>", "</response>")

OUTPUT_FORMAT_EXAMPLE = (
    '{"name": "Tool name", "parameters": {"Parameter name": "Parameter content", "... ...": "... ..."}}\n'
    '{"name": "... ...", "parameters": {"... ...": "... ...", "... ...": "... ..."}}'
)

_HEAD = (
    "You are a helpful multi-turn dialogue assistant capable of leveraging tool calls to solve user tasks "
    "and provide structured chat responses.\n\n**Available Tools**\nIn your response, you can use the following tools:\n"
)
_TAIL = (
    "\n\n**Steps for Each Turn**\n"
    "1. **Think:** Recall relevant context and analyze the current user goal.\n"
    "2. **Decide on Tool Usage:** If a tool is needed, specify the tool and its parameters.\n"
    "3. **Respond Appropriately:** If a response is needed, generate one while maintaining consistency across user queries.\n\n"
    "**Output Format**\n```plaintext\n<think> Your thoughts and reasoning </think>\n<tool_call>\n"
    + OUTPUT_FORMAT_EXAMPLE
    + "\n...\n</tool_call>\n<response> AI's final response </response>\n```\n\n"
    "**Important Notes**\n"
    "1. You must always include the `<think>` field to outline your reasoning. Provide at least one of `<tool_call>` "
    "or `<response>`. Decide whether to use `<tool_call>` (possibly multiple times), `<response>`, or both.\n"
    "2. You can invoke multiple tool calls simultaneously in the `<tool_call>` fields. Each tool call should be a "
    'JSON object with a "name" field and an "parameters" field containing a dictionary of parameters. If no '
    'parameters are needed, leave the "parameters" field an empty dictionary.\n'
    "3. Refer to the previous dialogue records in the history, including the user's queries, previous `<tool_call>`, "
    "`<response>`, and any tool feedback noted as `<obs>` (if exists)."
)


def tool_parameters(tool: Mapping[str, Any]) -> Any:
    """What ToolRL prints after `Parameters:`: a JSON schema's `properties`, else the dict as given."""
    params = tool.get("parameters", {})
    if isinstance(params, Mapping) and params.get("type") in ("object", "dict") and "properties" in params:
        return params["properties"]
    return params if params is not None else {}


def format_tool(tool: Mapping[str, Any], index: int) -> str:
    return (
        f"{index}. Name: {tool.get('name', '')}\nDescription: {tool.get('description', '')}\n"
        f"Parameters: {json.dumps(tool_parameters(tool))}"
    )


def toolrl_system_prompt(tools: Sequence[Mapping[str, Any]]) -> str:
    """ToolRL's system prompt listing `tools` (dicts with name, description, parameters)."""
    listing = "\n".join(format_tool(t, i + 1) for i, t in enumerate(tools))
    return _HEAD + listing + _TAIL


@dataclass
class ToolRLParse:
    """What a completion holds. `tool_calls` is None when there is no `<tool_call>` block at all."""

    think: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    response: str | None = None
    tags_ok: bool = False
    errors: list[str] = field(default_factory=list)


def _between(text: str, open_tag: str, close_tag: str, last: bool = False) -> tuple[str | None, bool]:
    """Content of the first (or last) `open_tag` block and whether it was closed (unclosed: to the end)."""
    i = text.rfind(open_tag) if last else text.find(open_tag)
    if i < 0:
        return None, False
    start = i + len(open_tag)
    j = text.find(close_tag, start)
    if j < 0:
        return text[start:], False
    return text[start:j], True


def tags_in_order(text: str) -> bool:
    """ResT's lenient structure, independent of any ground truth: exactly one think block first, then at
    least one of tool_call/response, each at most once, in the order think < tool_call < response."""
    counts = {t: text.count(t) for t in TAGS}
    if counts["<think>"] != 1 or counts["</think>"] != 1:
        return False
    has_call = counts["<tool_call>"] or counts["</tool_call>"]
    has_resp = counts["<response>"] or counts["</response>"]
    if not (has_call or has_resp):
        return False
    order = ["<think>", "</think>"]
    for present, pair in ((has_call, ("<tool_call>", "</tool_call>")), (has_resp, ("<response>", "</response>"))):
        if present:
            if counts[pair[0]] != 1 or counts[pair[1]] != 1:
                return False
            order.extend(pair)
    pos = [text.find(t) for t in order]
    return all(a < b for a, b in zip(pos, pos[1:], strict=False))


def parse_tool_lines(block: str) -> tuple[list[dict[str, Any]], list[str]]:
    """One JSON object per non-blank line; bad lines are reported and skipped."""
    calls: list[dict[str, Any]] = []
    errors: list[str] = []
    for n, line in enumerate(block.strip().split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            errors.append(f"tool_call line {n}: not valid JSON")
            continue
        if not isinstance(obj, dict):
            errors.append(f"tool_call line {n}: not a JSON object")
            continue
        if not isinstance(obj.get("name"), str):
            errors.append(f"tool_call line {n}: missing string 'name'")
        if not isinstance(obj.get("parameters"), dict):
            errors.append(f"tool_call line {n}: missing object 'parameters'")
        calls.append(obj)
    return calls, errors


def parse_completion(text: str, block: str = "last") -> ToolRLParse:
    """Parse a ToolRL-format completion; never raises.

    `block`: which `<tool_call>` block's lines are read when there are several:
    "last" (ToolRL's BFCL handler and API-Bank), "first" (ToolRL's reward) or "all".
    """
    text = text.strip()
    out = ToolRLParse()
    think, closed = _between(text, "<think>", "</think>")
    if think is not None:
        out.think = think.strip()
        if not closed:
            out.errors.append("<think> is not closed")
    response, closed = _between(text, "<response>", "</response>")
    if response is not None:
        out.response = response.strip()
        if not closed:
            out.errors.append("<response> is not closed")
    if "<tool_call>" in text:
        if block == "all":
            pieces = [p.split("</tool_call>")[0] for p in text.split("<tool_call>")[1:]]
            if "</tool_call>" not in text.split("<tool_call>")[-1]:
                out.errors.append("<tool_call> is not closed")
        else:
            piece, closed = _between(text, "<tool_call>", "</tool_call>", last=block == "last")
            pieces = [piece or ""]
            if not closed:
                out.errors.append("<tool_call> is not closed")
        calls: list[dict[str, Any]] = []
        for piece in pieces:
            got, errs = parse_tool_lines(piece)
            calls.extend(got)
            out.errors.extend(errs)
        out.tool_calls = calls
    out.tags_ok = tags_in_order(text)
    if not out.tags_ok:
        out.errors.append("tags missing, repeated or out of order")
    return out
