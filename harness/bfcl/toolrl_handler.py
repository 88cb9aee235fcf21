"""ToolRL's BFCL handler (`benchmarks/BFCL/rlla_qwen.py`, `RLLAHandler`, ToolRL commit 8cee13e), restated.

The handler is how ToolRL and ResT score their models on BFCL: it writes the
ToolRL system prompt with the tool list, folds the whole dialogue into one
user message ("Dialogue Records History"), and reads calls from the last
`<tool_call>` block as JSON lines. Single-turn and multi-turn prompts are
built here, byte for byte as the handler builds them, and both of its
decoders live here: `decode_toolrl` (its `decode_ast`, the single-turn
checker's input) and `decode_toolrl_execute` (its `decode_execute`, call
strings for the multi-turn executor).

BFCL's loop calls `_format_prompt(messages, function)` without the handler's
`turn_type` argument, so every user message, multi-turn ones included, gets
the single-turn instruction, as in ToolRL's own runs; the handler's
multi-turn instruction is kept below for reference but BFCL never selects it.
"""

from __future__ import annotations

from typing import Any

from harness.toolrl.format import OPEN, last_block, parse_lines, toolrl_system_prompt

USER_SUFFIX = (
    "If there's no appropriate tools to apply or required parameters are missing, please directly inform me in "
    "your response without any tool call, or call the tool with the name as 'None'. Otherwise, you should use "
    "one or more necessary tool calls to complete the given task in this turn."
)
MULTI_TURN_SUFFIX_UNUSED = (  # turn_type="multi_turn": BFCL's loop never passes it (see the module docstring)
    "Use the one or more necessary tool calls to complete the task. You could perform tool calls for multiple "
    "rounds so you can try and error. Please make a comprehensive plan about how to achieve the goal step by "
    "step, and begin to call the tool step by step. If no tools apply or required parameters are missing, please "
    "also directly state this in your response without tool calls."
)
AFTER_OBSERVATION = (  # appended when the history ends with a tool result (the spelling is the handler's)
    "If you think you have completed the current task, or the task cannot be finished, please respond directly "
    "without additional tool calls. If you encounter an error during tool execution or the task remains "
    "unfinished, retry with the one or more necessary tool calls according to your thought and plan until "
    "completion. Based on the tool execution feedback, reflect on if understanding or selectioin of tool is "
    "wrong, what tool calling step is missing, and how to achieve the task goal from now on."
)


def listed_tools(functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each doc as the handler lists it: name, description and `parameters["properties"]` (or {})."""
    return [{"name": f["name"], "description": f.get("description", ""),
             "parameters": {"type": "object", "properties": (f.get("parameters") or {}).get("properties", {})}}
            for f in functions]


def history_text(messages: list[dict[str, Any]]) -> str:
    """The handler's "Dialogue Records History" user message: system messages dropped, users wrapped with the
    instruction, assistant texts stripped, tool results as `<obs>`, and a closing note after a final result."""
    text = "**Dialogue Records History**\n"
    for i, message in enumerate(messages):
        role = message["role"]
        if role == "user":
            text += f"<user> {str(message.get('content', '')).strip()}\n{USER_SUFFIX} </user>\n"
        elif role == "tool":
            text += (f"<obs> You have made the tool call {str(message.get('name', '')).strip()}. "
                     f"Execution returns: {str(message.get('content', '')).strip()} </obs>\n")
            if i == len(messages) - 1:
                text += f"\n<user> {AFTER_OBSERVATION} </user>\n"
        elif role == "assistant":
            text += f"\n{str(message.get('content', '')).strip()}\n"
    return text.strip()


def handler_messages(messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> list[dict[str, str]]:
    """[system, user]: the two ChatML turns the handler writes. Its system prompt ends with a newline that
    ToolRL's training data's does not have; kept, so the text is what its BFCL runs sent."""
    system = toolrl_system_prompt(listed_tools(functions)) + "\n"
    return [{"role": "system", "content": system}, {"role": "user", "content": history_text(messages)}]


def decode_toolrl(text: str) -> list[dict[str, Any]]:
    """`decode_ast`: `{"name", "parameters"}` objects of the last <tool_call> block, name "None" skipped."""
    if OPEN not in text:
        return []
    return [{c["name"]: c["parameters"]} for c in parse_lines(last_block(text))
            if isinstance(c, dict) and isinstance(c.get("name"), str) and "parameters" in c
            and c["name"].strip().lower() != "none"]


def decode_toolrl_execute(text: str) -> list[str]:
    """`decode_execute`: the last block's JSON objects as call strings `name(k=repr(v), ...)`.

    As the handler's `xlam_json_to_python_tool_calls`: lines that are not JSON objects are skipped, a missing
    "parameters" is `{}`, name "None" is skipped; a name that is not text or parameters that are not an
    object raise (BFCL then ends the turn, and its evaluator skips the step).
    """
    if OPEN not in text:
        return []
    out = []
    for call in parse_lines(last_block(text)):
        if not isinstance(call, dict):
            continue
        name, arguments = call.get("name", ""), call.get("parameters", {})
        if not isinstance(name, str):
            raise ValueError(f"tool call name is not text: {name!r}")
        if name.strip().lower() == "none":
            continue
        if not isinstance(arguments, dict):
            raise ValueError(f"tool call parameters are not an object: {arguments!r}")
        out.append(f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in arguments.items()) + ")")
    return out
