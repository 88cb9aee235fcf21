"""Held-out evaluation on ToolRL-format data: `toolrl:test` (80 items of rlla_4k) and `toolrl:<path>` for any file.

The prompt is the row's own system + user messages (format `toolrl`). Every
item is scored with the code the training rewards use, so evaluation and
training can never disagree on what a right answer is:

- `format_ok`: ResT's format rule (`harness.toolrl.reward.format_ok`) on the stripped
  assistant text against the tags the ground truth uses;
- `exact`: the API-Bank soft match (`harness.apibank.toolrl_protocol`:
  `parse_toolrl` + `score_toolrl`) applied to every ground-truth call (the
  item is exact when each gold call is matched; one gold call = API-Bank's rule);
- `correctness`: ToolRL's fine-grained correctness score (`harness.toolrl.reward.toolrl_reward`,
  base range [-3, 3], no schedule; 0 for answer-only items).

`Verdict.valid` is `exact`; for an answer-only ground truth (no `<tool_call>`)
it is "format ok and a non-empty `<response>`". `summarize` turns the sample
records into format-validity / exact / mean-correctness figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from harness import tasks as registry
from harness.apibank.toolrl_protocol import judge_toolrl, parse_toolrl, score_toolrl
from harness.records import Scored
from harness.toolrl.data import ALIASES, load_rows, resolve
from harness.toolrl.reward import assistant_text, format_ok, gt_answer, toolrl_reward
from harness.toolrl.schedule import RewardConfig
from harness.types import Sample, Verdict

FORMAT = "toolrl"
PREFIX = "toolrl:"
_BASE_RANGES = RewardConfig(schedule="none")  # format [0, 1], correctness [-3, 3]


@lru_cache(maxsize=8)
def _rows(path: str) -> tuple[dict[str, Any], ...]:
    return tuple(load_rows(path))


def gold_calls(ground_truth: str) -> list[Any]:
    """The ground truth's calls, parsed as the API-Bank protocol parses outputs (after the thought)."""
    answer = gt_answer(ground_truth)
    return parse_toolrl(answer) if "<tool_call>" in answer else []


def item_kind(ground_truth: str) -> str:
    """What the ground truth answers with: "tool_call", "response", "both" or "none" (a sample's `kind`)."""
    answer = gt_answer(ground_truth)
    call, resp = "<tool_call>" in answer, "<response>" in answer
    return "both" if call and resp else "tool_call" if call else "response" if resp else "none"


def _response_present(text: str) -> bool:
    if "<response>" not in text:
        return False
    return bool(text.split("<response>", 1)[1].split("</response>", 1)[0].strip())


def judge(completion: str, ground_truth: str) -> Verdict:
    """Verdict of one completion (pure); see the module doc."""
    response = assistant_text(completion or "")
    fmt = format_ok(response, ground_truth)
    corr = toolrl_reward(completion or "", ground_truth, 0, _BASE_RANGES).correctness
    gold = gold_calls(ground_truth)
    error: str | None = None
    if gold:
        parsed = parse_toolrl(response)
        hits = []
        for g in gold:
            try:
                hits.append(score_toolrl(parsed, g) == 1)
            except ValueError:  # a gold line that is not a {"name", "parameters"} object: never matched
                hits.append(False)
        exact = all(hits)
        if not exact:
            first_miss = gold[hits.index(False)]
            try:
                error = judge_toolrl(response, first_miss).error_type or "call_mismatch"
            except ValueError:
                error = "malformed_gold"
        valid = exact
    else:
        exact = None
        valid = fmt and _response_present(response)
        if not valid:
            error = "format_error" if not fmt else "empty_response"
    detail = {"format_ok": fmt, "exact": exact, "correctness": corr, "kind": item_kind(ground_truth), "n_gold": len(gold)}
    return Verdict(valid=bool(valid), error_type=error, errors=[error] if error else [], detail=detail)


class ToolRLTask(registry.OwnMessagesTask):
    """One ToolRL-format file as an evaluation task."""

    protocol = "ToolRL format: format validity, exact-call accuracy and ToolRL's correctness reward"

    formats = (FORMAT,)
    format_note = "the row's own ToolRL prompt"

    def __init__(self, name: str, spec: str) -> None:
        self.name = name
        self.spec = spec  # resolved only when samples are read: listing or describing a task needs no data

    @property
    def path(self) -> str:
        """The file `spec` names (DataMissing, one line, when it is nowhere)."""
        return str(resolve(self.spec))

    def samples(self) -> list[Sample]:
        return [
            Sample(id=r["id"], task=self.name, messages=[dict(m) for m in r["prompt"]], ground_truth=r["ground_truth"],
                   meta={"kind": item_kind(r["ground_truth"])})
            for r in _rows(self.path)
        ]

    def score(self, sample: Sample, completion: str, fmt: str, tool_calls: list[dict] | None = None) -> Scored:
        """Reads the text only (the ToolRL protocol); native `tool_calls` are ignored."""
        self.check_format(fmt)
        verdict = judge(completion or "", sample.ground_truth)
        return Scored(verdict=verdict, decoded=parse_toolrl(assistant_text(completion or "")),
                      extra={k: verdict.detail[k] for k in ("format_ok", "exact", "correctness")})


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Format validity, exact match (over items with gold calls) and mean correctness of scored sample records.

    Each record needs `valid` and `detail` (as the runner writes samples/<task>.jsonl); failed generations
    (`backend_error`) are left out.
    """
    rows = [r for r in records if not r.get("backend_error")]
    n = len(rows)
    fmt = sum(1 for r in rows if r["detail"].get("format_ok"))
    calls = [r for r in rows if r["detail"].get("exact") is not None]
    exact = sum(1 for r in calls if r["detail"]["exact"])
    corr = [float(r["detail"]["correctness"]) for r in rows if r["detail"].get("correctness") is not None]
    return {
        "total": n,
        "format_ok": fmt / n if n else None,
        "exact": exact / len(calls) if calls else None,
        "exact_items": len(calls),
        "valid": sum(1 for r in rows if r.get("valid")) / n if n else None,
        "correctness_mean": sum(corr) / len(corr) if corr else None,
    }


registry.register("toolrl:test", lambda: ToolRLTask("toolrl:test", "toolrl:test"))
registry.register_prefix(PREFIX, lambda name: ToolRLTask(name, name if name in ALIASES else name[len(PREFIX):]))
