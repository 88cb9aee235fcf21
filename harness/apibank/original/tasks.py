"""Tasks `apibank-original:level-1` / `level-2`: the original prompt, scored by execution.

Prompt: the JSON test data's `instruction` (format rules + API descriptions) as
the system message and its `input` (the dialogue so far, ending in
"Generate API Request:") as the user message; the expected completion is
`API-Request: [ApiName(key='value', ...)]`. Scoring runs our evaluator in the
official mode (fresh tools per call) against the raw dialogue's gold turn.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.apibank.original.dialogues import load_dialogue, samples_of
from harness.apibank.original.env import api_root, load_databases
from harness.apibank.original.evaluator import judge_in_context
from harness.records import Prompt, Scored
from harness.tasks import register
from harness.types import Sample, UserError, Verdict

FORMAT = "apibank"


@lru_cache(maxsize=4)
def _test_items(root: str, level: int) -> list[dict[str, Any]]:
    path = api_root(root) / "test-data" / f"level-{level}-api.json"
    if not path.is_file():
        raise UserError(f"missing {path}; run `rest data fetch apibank` (or fix --data-dir)")
    return json.loads(path.read_text(encoding="utf-8"))


class OriginalTask:
    """One level of API-Bank in its original protocol."""

    formats = (FORMAT,)
    protocol = "API-Bank, original protocol: calls executed on the API-Bank tools, results compared"

    def __init__(self, level: int, data_dir: str | Path | None = None, mode: str = "official") -> None:
        self.level, self.mode = level, mode
        self.name = f"apibank-original:level-{level}"
        self._root = data_dir

    def root(self) -> Path:
        if self._root is None:
            from harness.apibank.data import data_dir

            self._root = data_dir()
        return Path(self._root)

    def samples(self) -> list[Sample]:
        return [
            self._sample(x, f"{x['file']}#{x['id']}", x["expected_output"],
                         {"file": x["file"], "sample_id": x["id"], "level": self.level})
            for x in _test_items(str(self.root()), self.level)
        ]

    def _sample(self, item: dict[str, Any], sample_id: str, ground_truth: str, meta: dict[str, Any]) -> Sample:
        """One test item as a sample: its `instruction` is the system message, its `input` the user message."""
        messages = [{"role": "system", "content": item["instruction"]}, {"role": "user", "content": item["input"]}]
        return Sample(id=sample_id, task=self.name, messages=messages, ground_truth=ground_truth, meta=meta)

    def prompt(self, sample: Sample, fmt: str) -> Prompt:
        if fmt != FORMAT:
            raise UserError(f"{self.name} supports only the {FORMAT!r} format, got {fmt!r}")
        return Prompt(messages=[dict(m) for m in sample.messages])

    def score(self, sample: Sample, completion: str, fmt: str, tool_calls: list[dict] | None = None) -> Scored:
        root = self.root()
        target = samples_of(load_dialogue(root, sample.meta["file"], self.level))[sample.meta["sample_id"]]
        v = judge_in_context(completion or "", target.history, target.target, load_databases(root), self.mode)
        return Scored(Verdict(v.correct, error_type=v.error), decoded=v.response)


class Level3Task(OriginalTask):
    """level-3-batch-inf.json's 245 step prompts; each step is scored in the stateful mode.

    The official Level-3 mode shares one tool state across the whole row list in
    input order, which a per-sample score() cannot reproduce; use
    score.score_predictions(rows, level=3) for the official figure.
    """

    def __init__(self, data_dir: str | Path | None = None, mode: str = "stateful") -> None:
        super().__init__(3, data_dir, mode)

    def samples(self) -> list[Sample]:
        from harness.apibank.original.level3 import test_data

        return [
            self._sample(x, f"level-3#{x['sample_id']}.{x['api_id']}", x["output"],
                         {"sample_id": x["sample_id"], "api_id": x["api_id"], "level": 3})
            for x in test_data(self.root(), "level-3-batch-inf.json")
        ]

    def score(self, sample: Sample, completion: str, fmt: str, tool_calls: list[dict] | None = None) -> Scored:
        from harness.apibank.original.level3 import judge_task_step, load_tasks

        v = judge_task_step(completion or "", load_tasks(self.root()), sample.meta["sample_id"], sample.meta["api_id"])
        return Scored(Verdict(v.correct, error_type=v.error), decoded=v.response)


for _lvl in (1, 2):
    register(f"apibank-original:level-{_lvl}", lambda lvl=_lvl: OriginalTask(lvl))
register("apibank-original:level-3", Level3Task)
