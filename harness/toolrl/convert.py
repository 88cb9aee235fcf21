"""API-Bank and BFCL items rendered as ToolRL rows, for held-out checks only (never train on test items).

A benchmark item can reach a training file in ToolRL's format; rendering it the
same way (ToolRL's system prompt, the `**Dialogue Records History**` user turn,
a `<think>` + `<tool_call>` ground truth) lets the trainer's contamination
check find it by its exact prompt.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from harness.toolrl.format import toolrl_system_prompt
from harness.types import UserError

USER_HEADER = "**Dialogue Records History**"
PLACEHOLDER_THINK = "<think> I should use the appropriate tool with proper parameters to respond to the user's need. </think>"


def calls_to_ground_truth(calls: list[dict[str, Any]], think: str = PLACEHOLDER_THINK) -> str:
    """[{"name", "parameters"}] -> `<think>..</think>\\n<tool_call>\\n{json}\\n...\\n</tool_call>` (rlla ground truth)."""
    lines = [json.dumps({"name": c["name"], "parameters": c.get("parameters", {})}, ensure_ascii=False) for c in calls]
    return f"{think}\n<tool_call>\n" + "\n".join(lines) + "\n</tool_call>"


def is_apibank_item(rec: dict[str, Any]) -> bool:
    """A ToolRL-processed API-Bank item (system, user, answer) rather than a ToolRL row."""
    return "system" in rec and "answer" in rec and "prompt" not in rec


def apibank_to_rlla(item: dict[str, Any]) -> dict[str, Any]:
    """A ToolRL-processed API-Bank item (system, user, answer) -> rlla row. Evaluation use only.

    `answer` is a Python-literal string (a list in L1/L3, a bare dict in L2); it is
    data, parsed with `ast.literal_eval` (literals only, nothing executed).
    """
    answer = item["answer"]
    if isinstance(answer, str):
        try:
            answer = ast.literal_eval(answer)
        except (ValueError, SyntaxError) as exc:
            raise UserError(f"API-Bank item: unparsable answer {item['answer'][:80]!r}") from exc
    calls = answer if isinstance(answer, list) else [answer]
    return {
        "prompt": [{"role": "system", "content": item["system"]}, {"role": "user", "content": item["user"]}],
        "ground_truth": calls_to_ground_truth(calls),
    }


def _first_acceptable(values: Any) -> tuple[bool, Any]:
    """BFCL lists acceptable values per parameter; "" means "may be omitted". -> (present, value)."""
    if not isinstance(values, list):
        return True, values
    for v in values:
        if v != "":
            return True, v
    return False, None


def bfcl_to_rlla(entry: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """A BFCL single-turn entry + its possible_answer -> rlla row (first acceptable value per parameter).

    Evaluation use only. The system prompt is ToolRL's (`harness.toolrl.format`), the
    question turns become the `**Dialogue Records History**` user message.
    """
    turns = entry["question"]
    messages = turns[0] if turns and isinstance(turns[0], list) else turns
    history = "\n".join(f"<{m['role']}> {m['content']} </{m['role']}>" for m in messages if m.get("role") != "system")
    calls = []
    for gt in answer.get("ground_truth", []):
        for name, params in gt.items():
            args = {}
            for key, values in params.items():
                present, value = _first_acceptable(values)
                if present:
                    args[key] = value
            calls.append({"name": name, "parameters": args})
    return {
        "prompt": [
            {"role": "system", "content": toolrl_system_prompt(entry.get("function", []))},
            {"role": "user", "content": f"{USER_HEADER}\n{history}"},
        ],
        "ground_truth": calls_to_ground_truth(calls),
    }
