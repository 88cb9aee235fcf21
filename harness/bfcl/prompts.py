"""The prompting-mode messages BFCL sends for a single-turn entry.

BFCL's default prompt format (`ret_fmt=python&tool_call_tag=False&func_doc_fmt=json&
prompt_fmt=plaintext&style=classic`, "classic" style) is a system prompt that
explains the `[func(a=1)]` output format and lists the function docs as
indented JSON. It is prepended as a system message, or put in front of an
existing system message's content. Tests compare every entry byte for byte
with the official builder.
"""

from __future__ import annotations

import copy
import json
from typing import Any

PERSONA = "You are an expert in composing functions."
TASK = (
    "You are given a question and a set of possible functions. Based on the question, you will need to "
    "make one or more function/tool calls to achieve the purpose. If none of the functions can be used, "
    "point it out. If the given question lacks the parameters required by the function, also point it out."
)
PYTHON_CALL_FORMAT = "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)]"
TOOL_CALL_FORMAT = (
    "You should only return the function calls in your response.\n\n"
    f"If you decide to invoke any of the function(s), you MUST put it in the format of {PYTHON_CALL_FORMAT}.  "
    "You SHOULD NOT include any other text in the response."
)
MULTITURN_BEHAVIOR = (
    "At each turn, you should try your best to complete the tasks requested by the user within the current "
    "turn. Continue to output functions to call until you have fulfilled the user's request to the best of "
    "your ability. Once you have no more functions to call, the system will consider the current turn "
    "complete and proceed to the next turn or task."
)


def system_prompt(functions: list[dict[str, Any]]) -> str:
    """BFCL's default system prompt for these function docs (already language-hinted)."""
    tools = f"Here is a list of functions in json format that you can invoke.\n{json.dumps(functions, indent=4)}\n"
    return f"{PERSONA}{TASK}\n\n{TOOL_CALL_FORMAT}\n\n{MULTITURN_BEHAVIOR}\n\n{tools}"


def with_system_prompt(messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of `messages` with the system prompt added in first position, as BFCL does."""
    out = copy.deepcopy(messages)
    prompt = system_prompt(functions)
    if out and out[0]["role"] == "system":
        out[0]["content"] = prompt + "\n\n" + out[0]["content"]
    else:
        out.insert(0, {"role": "system", "content": prompt})
    return out


def build_messages(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Messages for the first turn of an entry loaded with `load_entries(cat, language_hint=True)`."""
    return with_system_prompt(entry["question"][0], entry["function"])
