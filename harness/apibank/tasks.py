"""API-Bank tasks under the ToolRL/ResT protocol: `apibank:level-{1,2,3}`, group `apibank:all`.

The prompt is the item's own system + user messages (the backend applies the
model's chat template, as ToolRL's `llm.chat` does); scoring is
`toolrl_protocol.judge_toolrl` (soft match, strict column in the detail).
Tasks take no arguments, so the data dir comes from $REST_APIBANK_DATA, the
fetch cache or the dev checkout (see `data.data_dir`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness import tasks as registry
from harness.apibank import data
from harness.apibank.toolrl_protocol import judge_toolrl
from harness.records import Scored
from harness.types import Sample

FORMAT = "toolrl"
NATIVE_DIR = "apibank-toolrl"  # run-dir subfolder with `rest score apibank` input files


@lru_cache(maxsize=4)
def _items(level: int, root: str) -> tuple[dict[str, Any], ...]:
    return tuple(data.load_level(level, root))


class ToolRLLevel(registry.OwnMessagesTask):
    """One level of the ToolRL/ResT processed split."""

    protocol = "API-Bank, ToolRL/ResT protocol: the first API call of each item judged against the gold call"

    formats = (FORMAT,)
    format_note = "the ToolRL/ResT prompt"

    def __init__(self, level: int):
        self.level = level
        self.name = f"apibank:level-{level}"

    def samples(self) -> list[Sample]:
        items = _items(self.level, str(data.data_dir()))
        return [
            Sample(
                id=it["id"],
                task=self.name,
                messages=[{"role": "system", "content": it["system"]}, {"role": "user", "content": it["user"]}],
                ground_truth=it["answer"],
                meta={"level": it["level"], "index": it["index"], "other": it["other"], "answer_raw": it["answer_raw"]},
            )
            for it in items
        ]

    def score(self, sample: Sample, completion: str, fmt: str, tool_calls: list[dict] | None = None) -> Scored:
        """ToolRL reads only the text; native `tool_calls` are ignored, as in their vLLM pipeline."""
        self.check_format(fmt)
        verdict = judge_toolrl(completion or "", sample.ground_truth)
        parsed = verdict.detail["parsed"]
        verdict.detail = {
            "level": self.level,
            "strict": verdict.detail["strict"],
            "strict_error": verdict.detail["strict_error"],
            "parsed": parsed,
            "n_calls": verdict.detail["n_calls"],
            "blocks": verdict.detail["blocks"],
        }
        return Scored(verdict=verdict, decoded=parsed, extra={"level": self.level, "strict": verdict.detail["strict"]})

    def write_native_results(self, records: list[dict[str, Any]], out_dir: Path, model_label: str = "") -> Path:
        """Write `{"id", "result"}` lines so `rest score apibank` can rescore this run (strict column too)."""
        path = Path(out_dir) / NATIVE_DIR / f"level-{self.level}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            json.dumps({"id": r["id"], "result": r.get("completion") or ""}, ensure_ascii=False)
            for r in records
            if not r.get("backend_error")
        ]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path


for _level in data.LEVELS:
    registry.register(f"apibank:level-{_level}", lambda level=_level: ToolRLLevel(level))
registry.register_group("apibank:all", [f"apibank:level-{lv}" for lv in data.LEVELS])
