"""BFCL single-turn categories as tasks: `bfcl:<category>`, plus groups non_live, live, single_turn.

Samples keep the function docs as the evaluator sees them (original types,
needed by the checker); prompts use the docs as BFCL generates with them
(language hint added), so prompts match `bfcl generate` and scores match
`bfcl evaluate`.
"""

from __future__ import annotations

import copy
from typing import Any

from harness.bfcl.categories import CATEGORIES, GROUPS, language_of
from harness.bfcl.data import apply_language_hint, load_answers, load_entries
from harness.bfcl.fc_tools import to_tools
from harness.bfcl.prompts import with_system_prompt
from harness.bfcl.toolrl_handler import handler_messages
from harness.records import Prompt, Scored
from harness.tasks import register, register_group
from harness.types import Sample, UserError


class BfclTask:
    """One BFCL single-turn category."""

    protocol = "BFCL single-turn: calls decoded and AST-checked as `bfcl evaluate` does"

    formats = ("prompting", "fc", "toolrl")

    def __init__(self, category: str) -> None:
        if category not in CATEGORIES:
            raise UserError(f"unknown BFCL category {category!r}")
        self.category = category
        self.name = f"bfcl:{category}"
        self.language = language_of(category)

    def samples(self) -> list[Sample]:
        answers = load_answers(self.category)
        return [
            Sample(
                id=entry["id"],
                task=self.name,
                messages=entry["question"][0],
                functions=entry["function"],
                ground_truth=answers.get(entry["id"]),
                meta={"category": self.category, "language": self.language},
            )
            for entry in load_entries(self.category, language_hint=False)
        ]

    def hinted_functions(self, sample: Sample) -> list[dict[str, Any]]:
        """The sample's docs as BFCL sends them to the model (language hint applied to a copy)."""
        return apply_language_hint(copy.deepcopy(sample.functions), self.category)

    def prompt(self, sample: Sample, fmt: str) -> Prompt:
        functions = self.hinted_functions(sample)
        if fmt == "prompting":
            return Prompt(messages=with_system_prompt(sample.messages, functions))
        if fmt == "fc":
            return Prompt(messages=copy.deepcopy(sample.messages), tools=to_tools(functions, "openai", rename_dots=False))
        if fmt == "toolrl":  # ToolRL's BFCL handler: tools in its system prompt, the history in one user turn
            return Prompt(messages=handler_messages(sample.messages, functions))
        raise UserError(f"unknown prompt format {fmt!r} for {self.name}; expected one of {', '.join(self.formats)}")

    def score(self, sample: Sample, completion: str, fmt: str, tool_calls: list[dict] | None = None) -> Scored:
        from harness.bfcl.scoring import score_output  # the checker's module, loaded only when scoring

        verdict = score_output(
            category=self.category,
            functions=sample.functions,
            possible_answer=sample.ground_truth,
            text=completion,
            fmt=fmt,
            tool_calls=tool_calls,
        )
        return Scored(verdict, decoded=verdict.detail.get("decoded"))

    def write_native_results(self, records: list[dict[str, Any]], out_dir: Any, model_label: str) -> None:
        """Also write generations in `bfcl generate`'s layout, so `bfcl evaluate` can cross-check our scores."""
        from harness.bfcl.scorefile import write_result_files

        rows = []
        for r in records:
            result: Any = r.get("completion", "")
            if r.get("tool_calls"):  # native FC: BFCL stores [{name: arguments-json}]
                result = [{c.get("function", c).get("name", ""): c.get("function", c).get("arguments", "{}")}
                          for c in r["tool_calls"]]
            rows.append({"id": r["id"], "result": result, "input_token_count": r.get("prompt_tokens"),
                         "output_token_count": r.get("completion_tokens"), "latency": r.get("latency_s")})
        if rows:
            write_result_files(rows, out_dir, model_label.split(" (")[0])


for _category in CATEGORIES:
    register(f"bfcl:{_category}", lambda c=_category: BfclTask(c))
for _group, _members in GROUPS.items():
    register_group(f"bfcl:{_group}", [f"bfcl:{c}" for c in _members])
