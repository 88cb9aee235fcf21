"""ToolRL's output format: the tags, the system prompt and the `<tool_call>` block rules.

The system prompt must be byte-identical to ToolRL's (rlla_4k data, its BFCL
handler and API-Bank files all use it), since models trained on it are
evaluated with it. Layout from ToolRL commit 8cee13e (`benchmarks/BFCL/rlla_qwen.py`
and `dataset/rlla_4k`): tools as `N. Name: …\\nDescription: …\\nParameters: {json}`
with `json.dumps` defaults; JSON-schema parameters contribute their `properties`.
The stored data has the template's trailing newline stripped; we follow the data.

The block helpers at the end are shared by the API-Bank protocol, the BFCL
`toolrl` decoding and the training reward, so the three read blocks alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

# The six tags of the format (ResT's region labeller, trainer/regions.py, marks them FORMAT).
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
    """One numbered entry of the tool listing, laid out as ToolRL's data has it."""
    return (
        f"{index}. Name: {tool.get('name', '')}\nDescription: {tool.get('description', '')}\n"
        f"Parameters: {json.dumps(tool_parameters(tool))}"
    )


def toolrl_system_prompt(tools: Sequence[Mapping[str, Any]]) -> str:
    """ToolRL's system prompt listing `tools` (dicts with name, description, parameters)."""
    listing = "\n".join(format_tool(t, i + 1) for i, t in enumerate(tools))
    return _HEAD + listing + _TAIL


# ---------------------------------------------------------------- tool_call blocks
# One home for the block rules every ToolRL-format consumer uses: ToolRL's API-Bank
# generate.py and BFCL handler read the LAST block and drop bad lines; its reward
# reads the FIRST block and fails on any bad line. The callers keep those rules;
# the string handling lives only here.

OPEN = "<tool_call>"
CLOSE = "</tool_call>"


def last_block(text: str) -> str:
    """generate.py: `split("<tool_call>")[-1].split("</tool_call>")[0]`, stripped."""
    return text.strip().split(OPEN)[-1].split(CLOSE)[0].strip()


def first_block_lines(text: str) -> list[str]:
    """The reward: text after the first `<tool_call>` up to the next `</tool_call>`, stripped, split on newlines."""
    return text.split(OPEN, 1)[1].split(CLOSE, 1)[0].strip().split("\n")


def parse_lines(block: str) -> list[Any]:
    """One JSON value per non-blank line (split on "\\n" only); lines that fail are dropped."""
    calls: list[Any] = []
    for line in block.split("\n"):
        if not line.strip():
            continue
        try:
            calls.append(json.loads(line))
        except (ValueError, RecursionError):
            continue
    return calls
