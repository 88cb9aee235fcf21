"""The multi-turn inference loop of BFCL's prompting-mode handlers, backend-agnostic.

Per turn the model is queried; its answer is decoded with the execute
decoder; if that fails or yields no call, the turn ends; otherwise the calls
run against the episode's own environment and each result is appended as a
`{"role": "tool", "name": <call>, "content": <result>}` message (the OSS
handler's layout), and the model is queried again. More than
`MAX_STEPS` executed steps in one turn force-quit the episode (BFCL's
`count > MAXIMUM_STEP_LIMIT`), which leaves fewer turns than the ground
truth, so the entry fails as force-terminated. Held-out functions (miss_func)
arrive as a user message listing their docs. Many episodes advance in
lockstep so a batched backend serves them together.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.bfcl.multi_turn.data import is_long_context
from harness.bfcl.multi_turn.env import Environment
from harness.bfcl.multi_turn.executor import execute_calls
from harness.bfcl.multi_turn.scoring import decode_step
from harness.bfcl.prompts import with_system_prompt
from harness.reasoning import split_reasoning

MAX_STEPS = 20  # BFCL's MAXIMUM_STEP_LIMIT
ADDED_FUNCTIONS_MESSAGE = "I have updated some more functions you can choose from. What about now?"


def held_out_message(functions: list[dict[str, Any]]) -> dict[str, str]:
    """BFCL's prompting-mode user message for a miss_func turn (the docs as a Python list repr)."""
    return {"role": "user", "content": f"{functions}\n{ADDED_FUNCTIONS_MESSAGE}"}


def turn_messages(entry: dict[str, Any], turn: int) -> list[dict[str, Any]]:
    """The user messages that open a turn."""
    held = entry.get("missed_function", {})
    if str(turn) in held:
        return [held_out_message(held[str(turn)])]
    return copy.deepcopy(entry["question"][turn])


@dataclass
class StepOutput:
    """What a backend returned for one step (text, or an error that aborts the episode)."""

    text: str
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0


@dataclass
class Episode:
    """One entry being run: its messages, environment, and BFCL-shaped result so far.

    `entry` must be loaded with the language hint (the docs the model sees).
    """

    entry: dict[str, Any]
    max_steps: int = MAX_STEPS
    messages: list[dict[str, Any]] = field(default_factory=list)
    result: list[list[str]] = field(default_factory=list)  # turn -> raw step outputs (BFCL `result`)
    turn: int = 0
    steps_in_turn: int = 0
    done: bool = False
    force_quit: bool = False
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    queries: int = 0

    def __post_init__(self) -> None:
        category = self.entry["id"].rsplit("_", 1)[0]
        self.env = Environment.for_entry(self.entry, is_long_context(category))
        first = turn_messages(self.entry, 0)
        self.messages = with_system_prompt(first, self.entry["function"])
        self.result = [[]]
        if not self.entry["question"]:
            self.done = True

    def pending(self) -> list[dict[str, Any]] | None:
        """The messages for the next query, or None when the episode is over."""
        return None if self.done else self.messages

    def feed(self, out: StepOutput) -> None:
        """Advance with the model's answer to the pending query."""
        if self.done:
            raise RuntimeError("episode already finished")
        self.queries += 1
        self.prompt_tokens += out.prompt_tokens
        self.completion_tokens += out.completion_tokens
        self.latency_s += out.latency_s
        if out.error is not None:
            self.error, self.done = out.error, True
            return
        answer = split_reasoning(out.text).answer  # a thinking model's reasoning is neither kept nor decoded (BFCL's Qwen handlers)
        self.result[-1].append(answer)
        self.messages.append({"role": "assistant", "content": answer})
        calls = decode_step(answer)
        if calls is None:
            self._next_turn()
            return
        for call, res in zip(calls, execute_calls(calls, self.env), strict=True):
            self.messages.append({"role": "tool", "name": call, "content": res})
        self.steps_in_turn += 1
        if self.steps_in_turn > self.max_steps:
            self.force_quit, self.done = True, True

    def _next_turn(self) -> None:
        self.turn += 1
        self.steps_in_turn = 0
        if self.turn >= len(self.entry["question"]):
            self.done = True
            return
        self.result.append([])
        self.messages.extend(turn_messages(self.entry, self.turn))


def run_episodes(episodes: list[Episode], generate: Callable[[list[list[dict[str, Any]]]], list[StepOutput]],
                 on_round: Callable[[int, int], None] | None = None) -> None:
    """Drive episodes to completion in lockstep: one `generate` call per round for all pending ones.

    `on_round(rounds_done, episodes_still_running)` is called after every round (progress reporting).
    """
    rounds = 0
    while True:
        active = [e for e in episodes if not e.done]
        if not active:
            return
        outputs = generate([e.messages for e in active])
        if len(outputs) != len(active):
            raise RuntimeError(f"backend returned {len(outputs)} outputs for {len(active)} prompts")
        for episode, out in zip(active, outputs, strict=True):
            episode.feed(out)
        rounds += 1
        if on_round is not None:
            on_round(rounds, sum(1 for e in episodes if not e.done))
