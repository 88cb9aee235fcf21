"""Level-3 of the original protocol: API chains, judged step by step as `lv3_evaluator.py` does.

Each prediction row names a task (`sample_id`, index in level-3.json) and a
step (`api_id`); the step's predicted call is executed and the GOLD step's API
rule judges it. Unlike Level-1/2 there is no name check before execution: the
predicted API runs, and a rule without a name assertion (Calculator, AddMeeting,
GetWeatherForCoordinates, ToolSearcher) can accept another API's answer.
ToolSearcher keywords are CamelCase-split first ('QueryMeeting' -> 'Query Meeting').

Modes:
- official: ONE tool state for the whole row list, in input order, as the
  original's single ToolManager (FlightSearch/HotelAvailability answer a
  second matching query with an exception).
- stateful: fresh tools per step after replaying the task's earlier gold
  calls, so a verdict does not depend on other rows.

Accuracy = correct steps / rows; Sample Accuracy = tasks with no failed step / 50
(the original hard-codes 50).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.apibank.original.apis.lv3 import LV3_REGISTRY
from harness.apibank.original.env import MissingArgument, api_root
from harness.apibank.original.evaluator import MODES, CallVerdict, ErrorTable, execute_and_check, extract_call
from harness.apibank.original.rouge import EmptyText, rouge_l_f
from harness.apibank.original.toolsearcher import ToolSearcherUnavailable
from harness.types import UserError

TASKS = 50  # the original's denominator for Sample Accuracy
LV3_ERROR_CLASSES = ("INVALID_TOOL_NAME", "TYPE_ERROR")  # added to the Level-1/2 classes


class _BadArgument(AssertionError):
    """ToolManager's asserts: undeclared parameter name, or an int/float that is not digits."""


class _InvalidToolName(Exception):
    pass


LEVEL3_EXECUTE_ERRORS: ErrorTable = (  # level-3's evaluator: its own except order and classes
    (ToolSearcherUnavailable, "TOOLSEARCHER_UNAVAILABLE"),
    (MissingArgument, "MISS_INPUT_ARGUMENT"),
    (TypeError, "TYPE_ERROR"),
    (_BadArgument, "INVALID_INPUT_PARAMETER"),
    (_InvalidToolName, "INVALID_TOOL_NAME"),
)
LEVEL3_CHECK_ERRORS: ErrorTable = ((KeyError, "KEY_ERROR"), (AssertionError, "API_NAME_MISMATCH"))


class _Crash(Exception):
    """An error the original lets escape: its whole run would stop here."""


def split_camel(text: str) -> str:
    """The original's `split_by_uppercase`: a space before every capital, then strip (case kept)."""
    return "".join(" " + c if c.isupper() else c for c in text).strip()


class Lv3Env:
    """One ToolManager over lv3_apis: tool instances cached for the env's lifetime."""

    def __init__(self, registry: dict[str, type] | None = None) -> None:
        self.registry = registry if registry is not None else LV3_REGISTRY
        self._tools: dict[str, Any] = {}

    def tool(self, name: str) -> Any:
        if name not in self.registry:
            raise _InvalidToolName(name)
        if name not in self._tools:
            self._tools[name] = self.registry[name]()
        return self._tools[name]

    def execute(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        if name not in self.registry:
            raise _InvalidToolName(name)
        declared = self.registry[name].input_parameters
        converted: dict[str, Any] = {}
        for key, value in args.items():
            if key not in declared:
                raise _BadArgument(f"invalid parameter name. parameter: {key}")
            kind = declared[key]["type"]
            if kind in ("int", "float"):
                digits = value if kind == "int" else value.replace(".", "", 1) if isinstance(value, str) else ""
                if isinstance(value, str) and not digits.isdigit():
                    raise _BadArgument(f"invalid parameter type. parameter: {value}")
                try:
                    converted[key] = int(value) if kind == "int" else float(value)
                except (TypeError, ValueError) as exc:  # e.g. '²'.isdigit() holds but int('²') fails
                    raise _Crash(str(exc)) from exc
            elif kind in ("str", "list", "list(str)"):
                converted[key] = value
            elif kind == "bool":
                converted[key] = value == "True"
            else:
                raise _Crash("invalid parameter type.")
        return self.tool(name).call(**converted)


def judge_step(pred: str, gold_step: dict[str, Any], env: Lv3Env) -> CallVerdict:
    """Verdict of one raw model output against one gold step, executed in `env`."""
    parsed = extract_call(pred)
    if isinstance(parsed, CallVerdict):
        return parsed
    name, args = parsed

    def execute() -> Any:
        if name == "ToolSearcher":
            args["keywords"] = split_camel(args["keywords"])  # a missing keyword crashes the original
        return env.execute(name, args)

    return execute_and_check(execute, lambda r, g: env.tool(gold_step["api_name"]).check(r, g), gold_step["output"],
                             LEVEL3_EXECUTE_ERRORS, LEVEL3_CHECK_ERRORS)


def replay_task(env: Lv3Env, steps: list[dict[str, Any]]) -> None:
    """Stateful mode: run the task's earlier gold calls (their recorded inputs) in `env`."""
    for step in steps:
        if step["api_name"] == "ToolSearcher":
            continue  # stateless, and would need the embedder
        try:
            env.execute(step["api_name"], copy.deepcopy(step["input"]))
        except Exception:  # a gold call that fails to replay leaves the state as it is
            continue


def judge_task_step(pred: str, tasks: list[dict[str, Any]], sid: int, aid: int) -> CallVerdict:
    """Stateful-mode verdict of one step, independent of any other row (the task interface's)."""
    env = Lv3Env()
    replay_task(env, tasks[sid]["apis"][:aid])
    return judge_step(pred, tasks[sid]["apis"][aid], env)


def test_data(data_dir: str | Path, name: str) -> Any:
    return _read(str(api_root(data_dir) / "test-data" / name))


@lru_cache(maxsize=8)
def _read(path: str) -> Any:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"missing {p}; run `rest data fetch apibank` (or fix --data-dir)")
    return json.loads(p.read_text(encoding="utf-8"))


def load_tasks(data_dir: str | Path) -> list[dict[str, Any]]:
    """level-3.json: 50 tasks, each {requirement, response, apis: [{api_name, input, output}]}."""
    return test_data(data_dir, "level-3.json")


def _int(row: dict[str, Any], key: str, n: int, size: int, what: str) -> int:
    v = row[key]
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < size:
        raise UserError(f"prediction {n}: {key} must be an integer in 0..{size - 1} ({what}), got {v!r}")
    return v


def score_level3(rows: list[dict[str, Any]], data_dir: str | Path, mode: str = "official") -> list[dict[str, Any]]:
    """Rows `{sample_id, api_id, pred}` (a step) or `{sample_id, pred}` (the final reply), in input order.

    Steps give `{sample_id, api_id, kind: "call", correct: bool, error}`; replies
    `{sample_id, kind: "reply", correct: ROUGE-L F, error}` against the task's response.
    """
    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    tasks = load_tasks(data_dir)
    shared = Lv3Env()
    out = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "sample_id" not in row or "pred" not in row:
            raise UserError(f"prediction {n}: Level-3 rows need keys sample_id, pred (and api_id for a step)")
        sid = _int(row, "sample_id", n, len(tasks), "task index in level-3.json")
        pred = row["pred"] if isinstance(row["pred"], str) else ""
        if "api_id" not in row:
            out.append({"sample_id": sid, "kind": "reply"} | _reply_score(pred, tasks[sid]["response"]))
            continue
        aid = _int(row, "api_id", n, len(tasks[sid]["apis"]), f"step of task {sid}")
        if mode == "official":
            v = judge_step(pred, tasks[sid]["apis"][aid], shared)
        else:
            v = judge_task_step(pred, tasks, sid, aid)
        out.append({"sample_id": sid, "api_id": aid, "kind": "call", "correct": v.correct, "error": v.error})
    return out


def _reply_score(pred: str, reference: str) -> dict[str, Any]:
    """The original strips 'User:' and 'AI:' from the prediction; empty scores 0."""
    text = pred.replace("User:", "").replace("AI:", "").strip()
    if not text:
        return {"correct": 0.0, "error": None}
    try:
        return {"correct": round(rouge_l_f(text, reference), 4), "error": None}
    except EmptyText:
        return {"correct": 0.0, "error": "UNHANDLED_EXCEPTION"}


def gold_rows_level3(data_dir: str | Path, replies: bool = False) -> list[dict[str, Any]]:
    """level-3-batch-inf.json's expected steps as predictions (and, with replies, the expected responses)."""
    rows = [{"sample_id": x["sample_id"], "api_id": x["api_id"], "pred": x["output"]} for x in test_data(data_dir, "level-3-batch-inf.json")]
    if replies:
        rows += [{"sample_id": x["sample_id"], "pred": x["output"]} for x in test_data(data_dir, "level-3-batch-inf-response.json")]
    return rows


def sample_accuracy(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The original's Sample Accuracy: (50 - tasks with any failed step) / 50."""
    failed = {r["sample_id"] for r in results if r.get("kind") == "call" and not r["correct"]}
    seen = {r["sample_id"] for r in results if r.get("kind") == "call"}
    # The original divides by all 50 tasks, so a task with no predicted step counts as passed;
    # `samples_with_predictions` below 50 flags such a partial file.
    return {"samples": TASKS, "samples_with_predictions": len(seen), "samples_correct": TASKS - len(failed),
            "sample_accuracy": (TASKS - len(failed)) / TASKS}
