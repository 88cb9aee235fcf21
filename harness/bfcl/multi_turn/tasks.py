"""BFCL multi-turn categories as tasks: `bfcl:multi_turn_*`, groups `bfcl:multi_turn` and `bfcl:all`.

A multi-turn sample needs many generate calls, so the task provides
`run_batch` (the runner's hook for multi-step tasks): it runs the episodes
of a batch in lockstep through the backend and scores each. A record's
`completion` is the BFCL `result` (turn -> raw step outputs) as JSON, so
`score` can re-score it and `write_native_results` writes files `bfcl
evaluate` reads.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from harness.bfcl.categories import GROUPS
from harness.bfcl.multi_turn import data
from harness.bfcl.multi_turn.formats import FORMATS, dialogue_format
from harness.bfcl.multi_turn.loop import Episode, StepOutput, run_episodes
from harness.records import Prompt, Scored
from harness.tasks import register, register_group
from harness.types import Sample, UserError, Verdict

ENTRY_KEYS = ("id", "question", "initial_config", "involved_classes", "missed_function")


class MultiTurnTask:
    """One BFCL multi-turn category, in any of the dialogue formats (formats.py)."""

    protocol = "BFCL multi-turn: calls executed in BFCL's stateful environments (no eval), states and results checked"

    formats = tuple(FORMATS)

    def __init__(self, category: str) -> None:
        data.check_category(category)
        self.category = category
        self.name = f"bfcl:{category}"

    def samples(self) -> list[Sample]:
        answers = data.load_answers(self.category)
        out = []
        for entry in data.load_entries(self.category, language_hint=False):
            meta = {"category": self.category, "entry": {k: entry[k] for k in ENTRY_KEYS if k in entry}}
            out.append(Sample(id=entry["id"], task=self.name, messages=entry["question"][0],
                              functions=entry["function"], ground_truth=answers[entry["id"]], meta=meta))
        return out

    def entry(self, sample: Sample) -> dict[str, Any]:
        """The entry as BFCL generates with it: docs with the Python hint, held-out docs without."""
        entry = copy.deepcopy(sample.meta["entry"])
        entry["function"] = [
            {**doc, "description": doc["description"] + data.PYTHON_HINT} for doc in copy.deepcopy(sample.functions)
        ]
        return entry

    def _check_format(self, fmt: str) -> None:
        if fmt not in self.formats:
            raise UserError(f"format {fmt!r} is not supported for {self.name}; expected one of {', '.join(self.formats)}")

    def prompt(self, sample: Sample, fmt: str) -> Prompt:
        """The first step's prompt (later steps depend on the model's answers; see `run_batch`)."""
        self._check_format(fmt)
        entry, form = self.entry(sample), dialogue_format(fmt)  # turn 0 is never a held-out turn
        return form.prompt(form.opening(copy.deepcopy(entry["question"][0]), entry["function"]), entry["function"])

    def score(self, sample: Sample, completion: str, fmt: str, tool_calls: list[dict] | None = None) -> Scored:
        """Score a completed episode given as its BFCL `result` list in JSON."""
        from harness.bfcl.multi_turn.scoring import INFERENCE_ERROR, score_result

        try:
            result = json.loads(completion)
        except (TypeError, ValueError):
            return Scored(Verdict(False, INFERENCE_ERROR, ["completion is not a JSON list of turns"]))
        verdict = score_result(sample.meta["entry"], sample.ground_truth, result, fmt)
        return Scored(verdict, decoded=verdict.detail.pop("decoded", None))

    def run_batch(self, samples: list[Sample], fmt: str, backend: Any, gen: Any,
                  on_progress: Callable[[str], None] | None = None) -> list[tuple[Any, Scored | None]]:
        """Run the episodes of `samples` through `backend` and score them: [(Completion, Scored | None)].

        `on_progress` gets a short text after every query round (the runner's progress display).
        """
        from harness.backends.base import Completion

        self._check_format(fmt)
        episodes = [Episode(self.entry(s), fmt=fmt) for s in samples]

        def generate(prompts: list[Prompt]) -> list[StepOutput]:
            return [StepOutput(c.text, c.error, c.prompt_tokens, c.completion_tokens, c.latency_s,
                               tool_calls=c.tool_calls,
                               separate_reasoning=c.reasoning if c.reasoning_separate else None)
                    for c in backend.generate(prompts, gen)]

        def on_round(rounds: int, running: int) -> None:
            if on_progress is not None:
                on_progress(f"{len(episodes)} episodes, {rounds} query rounds, {running} still running")

        run_episodes(episodes, generate, on_round)
        out: list[tuple[Any, Scored | None]] = []
        for sample, ep in zip(samples, episodes, strict=True):
            completion = Completion(text=json.dumps(ep.result, ensure_ascii=False), prompt_tokens=ep.prompt_tokens,
                                    completion_tokens=ep.completion_tokens, latency_s=ep.latency_s, error=ep.error)
            scored = None
            if ep.error is None:
                scored = self.score(sample, completion.text, fmt)
                scored.verdict.detail.update({"queries": ep.queries, "force_quit": ep.force_quit})
            out.append((completion, scored))
        return out

    def write_native_results(self, records: list[dict[str, Any]], out_dir: Any, model_label: str) -> None:
        """Also write the episodes in `bfcl generate`'s layout, so `bfcl evaluate` can cross-check our scores."""
        from harness.bfcl.scorefile import write_result_files

        rows = []
        for r in records:
            try:
                result = json.loads(r.get("completion") or "")
            except ValueError:
                continue
            rows.append({"id": r["id"], "result": result, "input_token_count": r.get("prompt_tokens"),
                         "output_token_count": r.get("completion_tokens"), "latency": r.get("latency_s")})
        if rows:
            write_result_files(rows, out_dir, model_label.split(" (")[0])


for _category in data.CATEGORIES:
    register(f"bfcl:{_category}", lambda c=_category: MultiTurnTask(c))
register_group("bfcl:multi_turn", [f"bfcl:{c}" for c in data.CATEGORIES])
register_group("bfcl:all", [f"bfcl:{c}" for c in GROUPS["single_turn"]] + [f"bfcl:{c}" for c in data.CATEGORIES])
