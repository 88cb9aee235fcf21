"""Issue 22 item 1: short model text must not hang or crash the multi-turn executor, loop or checker.

The hang cases run in a child process with a timeout, so that a regression
fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from harness.bfcl.multi_turn import data
from harness.bfcl.multi_turn.checker import check_decoded
from harness.bfcl.multi_turn.env import Environment
from harness.bfcl.multi_turn.executor import ERROR_PREFIX, execute_calls, execute_one
from tests.bfcl.test_multi_turn_executor import _official_results

ROOT = Path(__file__).resolve().parents[2]
MATH_ID = "multi_turn_base_15"  # GorillaFileSystem + MathAPI


def run_isolated(code: str, timeout: float) -> str:
    """Run `code` in a fresh interpreter; its stdout, or a test failure when it hangs or crashes."""
    try:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not finish within {timeout} s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def math_env() -> Environment:
    return Environment({}, ["MathAPI"], False)


def budget(per_call_s: float, per_episode_s: float):
    """A `Budget` (imported here so that each test, not the module, fails on code without one)."""
    from harness.bfcl.multi_turn.budget import Budget

    return Budget(per_call_s=per_call_s, per_episode_s=per_episode_s)


HANGS = [
    "round_number(number=5, decimal_places=-1000000000)",
    "power(base=" + "7" * 1000 + ", exponent=10000)",
    "power(base=" + "7" * 4000 + ", exponent=9999)",
    "logarithm(value=2, base=3, precision=1e9)",
    "square_root(number=2, precision=100000000)",
]


@pytest.mark.parametrize("call", HANGS)
def test_explosive_literal_calls_return_an_error_at_once(call):
    out = run_isolated(f"""
        import json, time
        from harness.bfcl.multi_turn.env import Environment
        from harness.bfcl.multi_turn.executor import execute_calls
        env = Environment({{}}, ["MathAPI"], False)
        start = time.perf_counter()
        result = execute_calls([{call!r}], env)[0]
        print(json.dumps([result, time.perf_counter() - start]))
    """, timeout=20)
    result, elapsed = json.loads(out)
    assert result.startswith(ERROR_PREFIX), result
    assert elapsed < 1.0, elapsed


def test_the_issue_round_number_step_ends_quickly_in_the_loop_and_in_scoring():
    out = run_isolated(f"""
        from harness.bfcl.multi_turn import data
        from harness.bfcl.multi_turn.loop import Episode, StepOutput
        from harness.bfcl.multi_turn.scoring import score_result_line
        entry = next(e for e in data.load_entries("multi_turn_base", language_hint=True) if e["id"] == {MATH_ID!r})
        ep = Episode(entry)
        ep.feed(StepOutput("[round_number(number=5, decimal_places=-1000000000)]"))
        print(ep.messages[-1]["content"])
        hostile = ["[round_number(number=5, decimal_places=-1000000000)]",
                   "[power(base=" + "7" * 1000 + ", exponent=10000)]"]
        verdict = score_result_line({MATH_ID!r}, "multi_turn_base", [hostile] * len(entry["question"]))
        print(verdict.valid, verdict.error_type)
    """, timeout=60)
    tool_message, verdict = out.strip().splitlines()
    assert tool_message.startswith(ERROR_PREFIX)
    assert verdict.startswith("False multi_turn:")


def test_oversized_integers_spelled_in_hex_are_refused_anywhere_in_the_arguments():
    env = math_env()
    big = "0x" + "f" * 4097  # 16,388 bits: more than any decimal literal Python parses
    for call in (f"add(a={big}, b=1)", f"mean(numbers=[1, [2, {big}]])", f"sum_values(numbers={{1: {big}}})"):
        assert execute_one(call, env).startswith(ERROR_PREFIX + "integer argument too large"), call
    assert execute_one("add(a=0x" + "f" * 100 + ", b=1)", env) == json.dumps({"result": 16 ** 100})


ALLOWED_MATH = [
    "power(base=2, exponent=10)", "power(base=10, exponent=1000)", "power(base=10, exponent=5000)",
    "power(base=2.5, exponent=-3)", "power(base=-2, exponent=3)", "power(base=1, exponent=10000)",
    "round_number(number=123456, decimal_places=-3)", "round_number(number=3.14159, decimal_places=2)",
    "round_number(number=5, decimal_places=-10000)", "logarithm(value=100, base=10, precision=50)",
    "square_root(number=2, precision=100)", "square_root(number=16, precision=1000)",
]


def test_calls_inside_the_limits_give_the_official_result_strings():
    entry = {"initial_config": {}, "involved_classes": ["MathAPI"], "id": "multi_turn_base_hostile"}
    ours = execute_calls(ALLOWED_MATH, math_env())
    assert ours == _official_results(ALLOWED_MATH, entry, "hostile_allowed_math")


def _slow_method(seconds: float, swallow: bool = False):
    """An environment method that spins in Python for `seconds` (swallowing Exception when asked)."""
    def method(x: int = 0) -> dict:
        end = time.perf_counter() + seconds
        try:
            while time.perf_counter() < end:
                pass
        except Exception:  # an environment's own broad except must not swallow the budget
            if swallow:
                return {"swallowed": True}
            raise
        return {"done": True}
    return method


@pytest.mark.parametrize("swallow", [False, True])
def test_a_call_past_its_budget_is_interrupted_and_scored_as_an_execution_error(swallow):
    env = math_env()
    env.budget = budget(per_call_s=0.2, per_episode_s=10)
    env.methods["spin"] = _slow_method(5.0, swallow)
    start = time.perf_counter()
    out = execute_one("spin(x=1)", env)
    assert time.perf_counter() - start < 2.0
    assert out.startswith(ERROR_PREFIX) and "time budget" in out, out
    assert execute_one("add(a=1, b=2)", env) == json.dumps({"result": 3})  # the episode goes on


def test_the_episode_budget_stops_running_calls_once_spent():
    env = math_env()
    env.budget = budget(per_call_s=1.0, per_episode_s=0.25)
    env.methods["spin"] = _slow_method(0.1)
    out = execute_calls(["spin(x=1)"] * 6 + ["add(a=1, b=2)"], env)
    assert out[:2] == [json.dumps({"done": True})] * 2
    assert all(o.startswith(ERROR_PREFIX) for o in out[3:]), out
    assert "used up" in out[-1]


def test_outside_the_main_thread_an_overlong_call_is_judged_afterwards():
    env = math_env()
    env.budget = budget(per_call_s=0.05, per_episode_s=10)
    env.methods["spin"] = _slow_method(0.2)
    out: list[str] = []
    worker = threading.Thread(target=lambda: out.extend(execute_calls(["spin(x=1)", "add(a=1, b=2)"], env)))
    worker.start()
    worker.join(10)
    assert out[0].startswith(ERROR_PREFIX) and "time budget" in out[0], out
    assert out[1] == json.dumps({"result": 3})


def test_the_alarm_leaves_other_handlers_and_timers_as_it_found_them():
    before = signal.getsignal(signal.SIGALRM)
    execute_calls(["add(a=1, b=2)"], math_env())
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 100.0)
        env = math_env()
        env.budget = budget(per_call_s=0.05, per_episode_s=10)
        env.methods["spin"] = _slow_method(0.1)
        assert execute_one("spin(x=1)", env).startswith(ERROR_PREFIX)  # judged afterwards, timer untouched
        assert 90 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _entry_and_gt(test_id: str = "multi_turn_base_0") -> tuple[dict, list]:
    entry = next(e for e in data.load_entries("multi_turn_base") if e["id"] == test_id)
    return entry, data.load_answers("multi_turn_base")[test_id]


def test_a_deeply_nested_directory_tree_is_a_state_mismatch_not_a_crash():
    entry, gt = _entry_and_gt()
    steps = [c for i in range(600) for c in (f"mkdir(dir_name='d{i}')", f"cd(folder='d{i}')")]
    turns = [[steps]] + [[["ls()"]] for _ in gt[1:]]
    verdict = check_decoded(entry, turns, gt)
    assert (verdict.valid, verdict.error_type) == (False, "multi_turn:instance_state_mismatch")


def test_state_holding_an_unprintable_integer_is_reported_not_raised():
    entry, gt = _entry_and_gt()
    big = "0x" + "f" * 3700  # 14,800 bits (4,455 digits): allowed as an argument, too long for str()
    calls = ["cd(folder='document')", f"echo(content={big}, file_name='final_report.pdf')"]
    turns = [[calls]] + [[["ls()"]] for _ in gt[1:]]
    verdict = check_decoded(entry, turns, gt)
    assert verdict.valid is False
    json.dumps(verdict.detail, default=str)
