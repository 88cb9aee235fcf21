"""Functions the hostile-input fuzzers run inside a `tests.isolated` child (not tests themselves).

Each returns a small report instead of raising, so the parent sees which
decoder or call misbehaved; anything other than a value or a DecodeError is
reported as "unexpected".
"""

from __future__ import annotations

import time
from typing import Any

ALL_CLASSES = ["GorillaFileSystem", "MathAPI", "MessageAPI", "TwitterAPI", "TicketAPI", "TradingBot", "TravelAPI",
               "VehicleControlAPI"]


def decode_all(text: str) -> list[tuple[str, str, float]]:
    """Every decoder on `text`: (decoder, "ok" | "DecodeError" | "unexpected <type>: <message>", seconds)."""
    from harness.bfcl.decode import decode_ast, decode_execute
    from harness.bfcl.decode_native import decode_llama_json, decode_mistral, decode_tool_call_tags
    from harness.bfcl.errors import DecodeError

    decoders: list[tuple[str, Any]] = [(f"ast/{lang}", lambda t, lang=lang: decode_ast(t, lang))
                                       for lang in ("python", "java", "javascript", "json")]
    decoders += [("execute", decode_execute), ("llama", decode_llama_json), ("mistral", decode_mistral),
                 ("tags", decode_tool_call_tags), ("tags/lenient", lambda t: decode_tool_call_tags(t, lenient=True))]
    report = []
    for name, fn in decoders:
        start = time.process_time()  # CPU seconds: the budget must not depend on what else the machine runs
        try:
            fn(text)
            how = "ok"
        except DecodeError:
            how = "DecodeError"
        except BaseException as exc:  # the point of the fuzz: report it
            how = f"unexpected {type(exc).__name__}: {str(exc)[:200]}"
        report.append((name, how, time.process_time() - start))
    return report


def run_calls(calls: list[str]) -> dict[str, Any]:
    """Execute call strings on a fresh environment of every class; report result types and time."""
    from harness.bfcl.multi_turn.env import Environment
    from harness.bfcl.multi_turn.executor import execute_calls

    env = Environment({}, ALL_CLASSES, False)
    start = time.process_time()
    try:
        results = execute_calls(calls, env)
    except BaseException as exc:
        return {"unexpected": f"{type(exc).__name__}: {str(exc)[:200]}", "seconds": time.process_time() - start}
    return {"unexpected": None, "seconds": time.process_time() - start, "n": len(results),
            "all_str": all(isinstance(r, str) for r in results), "spent_s": env.budget.spent_s}


def check_episode(test_id: str, category: str, steps: list[str]) -> dict[str, Any]:
    """Score a hostile trajectory (the same steps in every turn) with the multi-turn scorer."""
    from harness.bfcl.multi_turn import data
    from harness.bfcl.multi_turn.scoring import score_result_line

    turns = len(next(e for e in data.load_entries(category) if e["id"] == test_id)["question"])
    start = time.process_time()
    try:
        verdict = score_result_line(test_id, category, [steps] * turns)
    except BaseException as exc:
        return {"unexpected": f"{type(exc).__name__}: {str(exc)[:200]}", "seconds": time.process_time() - start}
    return {"unexpected": None, "seconds": time.process_time() - start, "valid": verdict.valid,
            "error_type": verdict.error_type}
