"""The multi-turn inference loop of BFCL's handlers, backend-agnostic and format-agnostic.

Per turn the model is queried; its answer is decoded by the episode's format
(formats.py: prompting, fc or toolrl); if that fails or yields no call, the
turn ends; otherwise the calls run against the episode's own environment,
each result goes back into the history as the format writes it, and the
model is queried again. More than `MAX_STEPS` executed steps in one turn
force-quit the episode (BFCL's `count > MAXIMUM_STEP_LIMIT`), which leaves
fewer turns than the ground truth, so the entry fails as force-terminated.
Held-out functions (miss_func) open their turn as the format says. Many
episodes advance in lockstep so a batched backend serves them together.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.bfcl.multi_turn.data import is_long_context
from harness.bfcl.multi_turn.env import Environment
from harness.bfcl.multi_turn.executor import execute_calls
from harness.bfcl.multi_turn.formats import Step, dialogue_format
from harness.reasoning import scoring_text
from harness.records import Prompt

MAX_STEPS = 20  # BFCL's MAXIMUM_STEP_LIMIT


@dataclass
class StepOutput:
    """What a backend returned for one step (text and native calls, or an error that aborts the episode).

    `separate_reasoning`: the reasoning a server returned apart from the text (`reasoning_content`).
    """

    text: str
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    tool_calls: list[dict[str, Any]] | None = None
    separate_reasoning: str | None = None


@dataclass
class Episode:
    """One entry being run: its messages, environment, and BFCL-shaped result so far.

    `entry` must be loaded with the language hint (the docs the model sees); `fmt` names its format.
    """

    entry: dict[str, Any]
    max_steps: int = MAX_STEPS
    fmt: str = "prompting"
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
        self.format = dialogue_format(self.fmt)
        self.functions = copy.deepcopy(self.entry["function"])  # the docs offered now (fc: held-out ones join)
        self.messages = self.format.opening(self._turn_messages(0), self.functions)
        self.result = [[]]
        if not self.entry["question"]:
            self.done = True

    def pending(self) -> list[dict[str, Any]] | None:
        """The history for the next query, or None when the episode is over."""
        return None if self.done else self.messages

    def prompt(self) -> Prompt:
        """The next query as the backend gets it (the format renders the history and the tools)."""
        return self.format.prompt(self.messages, self.functions)

    def _turn_messages(self, turn: int) -> list[dict[str, Any]]:
        """The messages that open a turn (a held-out turn: the format's, and its docs join the tools)."""
        held = self.entry.get("missed_function", {})
        if str(turn) in held:
            messages, docs = self.format.held_out(held[str(turn)])
            self.functions.extend(docs)
            return messages
        return copy.deepcopy(self.entry["question"][turn])

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
        # A thinking model's reasoning is neither kept nor decoded (BFCL's Qwen handlers), except in toolrl,
        # whose output format holds its <think> block (harness/reasoning.py).
        step = Step(scoring_text(out.text, self.fmt, out.separate_reasoning), out.tool_calls or None)
        raw = self.format.record(step)
        self.result[-1].append(raw)
        self.messages.append(self.format.assistant(step))
        calls = self.format.decode(raw)
        if calls is None:
            self._next_turn()
            return
        self.messages.extend(self.format.results(step, calls, execute_calls(calls, self.env)))
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
        self.messages.extend(self._turn_messages(self.turn))


def run_episodes(episodes: list[Episode], generate: Callable[[list[Prompt]], list[StepOutput]],
                 on_round: Callable[[int, int], None] | None = None) -> None:
    """Drive episodes to completion in lockstep: one `generate` call per round for all pending ones.

    `on_round(rounds_done, episodes_still_running)` is called after every round (progress reporting).
    """
    rounds = 0
    while True:
        active = [e for e in episodes if not e.done]
        if not active:
            return
        outputs = generate([e.prompt() for e in active])
        if len(outputs) != len(active):
            raise RuntimeError(f"backend returned {len(outputs)} outputs for {len(active)} prompts")
        for episode, out in zip(active, outputs, strict=True):
            episode.feed(out)
        rounds += 1
        if on_round is not None:
            on_round(rounds, sum(1 for e in episodes if not e.done))
