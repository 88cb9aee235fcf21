"""`--format toolrl` on BFCL single-turn: the text the model sees equals what ToolRL's BFCL handler sends.

ToolRL evaluates on BFCL with its own handler (benchmarks/BFCL/rlla_qwen.py, `RLLAHandler._format_prompt`,
ToolRL commit 8cee13e), which writes ChatML by hand. `handler_text` below restates that builder from its
documented behaviour, independently of harness/bfcl/tasks.py: the system prompt (ToolRL's, ending with a
newline), each tool as `N. Name / Description / Parameters: json.dumps(parameters["properties"])`, system
messages dropped, each user turn wrapped in `<user> ... </user>` with the single-turn instruction, and the
whole history stripped. Every one of the single-turn prompts must be byte-identical once our messages
are rendered as ChatML (the chat format the handler hard-codes).
"""

from __future__ import annotations

import json

import pytest

from harness.bfcl.categories import GROUPS
from harness.bfcl.tasks import BfclTask
from harness.toolrl.format import _HEAD, _TAIL

SINGLE_TURN_INSTRUCTION = (
    "If there's no appropriate tools to apply or required parameters are missing, please directly inform me in "
    "your response without any tool call, or call the tool with the name as 'None'. Otherwise, you should use one "
    "or more necessary tool calls to complete the given task in this turn."
)


def handler_text(messages: list[dict], functions: list[dict]) -> str:
    tools = "\n".join(f"{i}. Name: {f['name']}\nDescription: {f['description']}\n"
                      f"Parameters: {json.dumps(f['parameters'].get('properties', {}))}"
                      for i, f in enumerate(functions, 1))
    system = _HEAD + tools + _TAIL + "\n"  # the handler's SYSTEM_PROMPT is a triple-quoted block ending in a newline
    user = "**Dialogue Records History**\n"
    for m in messages:
        if m["role"] == "user":
            user += f"<user> {m['content'].strip()}\n{SINGLE_TURN_INSTRUCTION} </user>\n"
        elif m["role"] == "assistant":
            user += f"\n{m['content'].strip()}\n"
    return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user.strip()}<|im_end|>\n<|im_start|>assistant\n"


def chatml(messages: list[dict]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"


@pytest.mark.parametrize("category", GROUPS["single_turn"])
def test_every_single_turn_toolrl_prompt_is_the_handlers(category):
    task = BfclTask(category)
    samples = task.samples()
    differ = [s.id for s in samples
              if chatml(task.prompt(s, "toolrl").messages) != handler_text(s.messages, task.hinted_functions(s))]
    assert differ == [], f"{len(differ)} of {len(samples)} prompts differ, e.g. {differ[:3]}"


def test_the_system_prompt_differs_from_the_training_datas_only_by_the_final_newline():
    task = BfclTask("simple_python")
    s = task.samples()[0]
    system = task.prompt(s, "toolrl").messages[0]["content"]
    assert system.endswith("(if exists).\n") and not system.endswith("\n\n")
