"""Issue 22: fuzz the decoders and the multi-turn executor with hostile text, under a time and memory budget.

Inputs are built from the shapes that broke things (deep nesting, operator
chains, unclosed openings repeated, huge literals, explosive math calls) in
random mixtures and sizes up to past the decoders' limits. Everything runs
in one child process (`tests.isolated`), so a segfault or a hang is a test
failure naming the input, and the child's peak RSS bounds the memory used.
The default run is derandomised and small (CI's `make test`); `-m slow` runs
a longer random one.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.isolated import Isolated

DECODE_SECONDS = 10.0  # all nine decoders on one input (each is well under a second on a loaded CI core)
CALLS_SECONDS = 10.0  # one step of up to 12 calls; a normal call takes microseconds
CHECK_SECONDS = 30.0  # scoring a whole hostile trajectory (model and ground-truth environments)
PEAK_RSS_MB = 600  # growth of the child's peak RSS over its start (3 MB of '[],' alone once took 1.4 GB)
MAX_PIECE = 300_000  # characters per repeated piece; a few pieces may pass MAX_TEXT_CHARS on purpose

SMALL = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LONG = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def child():
    """One child for the module; `baseline_mb` is its peak RSS once every target module is imported, so the
    budget bounds what scoring uses, not what the interpreter and its imports happen to weigh on this machine."""
    runner = Isolated()
    runner.call("tests.bfcl.hostile_targets:decode_all", "f(a=1)", timeout=120)
    runner.call("tests.bfcl.hostile_targets:run_calls", ["add(a=1, b=2)"], timeout=120)
    runner.baseline_mb = runner.call("tests.bfcl.hostile_targets:decode_all", "", timeout=120).peak_rss_mb
    yield runner
    runner.close()


# ------------------------------------------------------------------ decoders

BLOCKS = ["(", ")", "[", "]", "{", "}", ",", "=", "'", '"', "`", "\\", "\n", " ", "f(", "a=", "obj.f(",
          "new int[]", "1", "0x", "ff", "9" * 50, "-", "+", "*", "**", "!", "not ", "lambda ", "1+", "1e999",
          "<tool_call>\n", "\n</tool_call>", "<tool_call>", "</tool_call>", "[TOOL_CALLS]", "<|python_tag|>",
          '{"name": "f", "arguments": {', '{"function": "f", "parameters": {', "}", ";", "[{", "}]", "}, {",
          "\u2028", "é", "\x00", "'a' * 10", "[]", "[],"]
piece = st.tuples(st.one_of(st.sampled_from(BLOCKS), st.text(max_size=6)),
                  st.sampled_from([1, 1, 1, 2, 3, 10, 600, 20_000, 200_000]))
hostile_text = st.lists(piece, min_size=1, max_size=6).map(
    lambda parts: "".join(b * min(n, MAX_PIECE // max(len(b), 1)) for b, n in parts))


def _check_decoders(child: Isolated, text: str) -> None:
    outcome = child.call("tests.bfcl.hostile_targets:decode_all", text, timeout=DECODE_SECONDS * 12)  # hang detector, wall
    assert outcome.kind == "returned", f"{outcome.kind} (exit {outcome.exitcode}) on {text[:200]!r}..."
    report = outcome.result
    bad = [r for r in report if r[1] not in ("ok", "DecodeError")]
    assert not bad, (bad, text[:200])
    assert sum(r[2] for r in report) < DECODE_SECONDS, (report, len(text))
    assert outcome.peak_rss_mb - child.baseline_mb < PEAK_RSS_MB, (outcome.peak_rss_mb, child.baseline_mb, len(text))


@SMALL
@given(text=hostile_text)
def test_decoders_only_fail_with_decode_errors_in_time_and_memory(child, text):
    _check_decoders(child, text)


@pytest.mark.slow
@LONG
@given(text=hostile_text)
def test_decoders_fuzz_long(child, text):
    _check_decoders(child, text)


# ------------------------------------------------------------------ multi-turn executor

METHODS = ["power", "round_number", "logarithm", "square_root", "add", "multiply", "divide", "mean",
           "standard_deviation", "percentage", "sum_values", "max_value", "si_unit_conversion", "absolute_value",
           "mkdir", "cd", "echo", "cat", "tail", "find", "du", "sort", "grep", "diff", "wc", "touch", "cp",
           "send_message", "post_tweet", "place_order", "fund_account", "fillFuelTank", "set_budget_limit",
           "compute_exchange_rate", "create_ticket", "unknown_fn", "_load_scenario"]
PARAMS = ["base", "exponent", "number", "decimal_places", "value", "precision", "a", "b", "numbers", "part",
          "whole", "dir_name", "folder", "content", "file_name", "lines", "name", "path", "pattern", "amount",
          "fuelAmount", "budget_limit", "unit_in", "unit_out", "x"]
scalar = st.one_of(
    st.integers(-10**12, 10**12).map(str),
    st.sampled_from(["-1000000000", "-10001", "10000", "1000000", "0", "1", "-1", "2", "True", "None",
                     "1e999", "-1e999", "1e-999", "0.5", "'km'", "'m'", "'.'", "'a' 'b'", "b'x'", "1j",
                     "0x" + "f" * 100, "0x" + "f" * 3700, "0x" + "f" * 5000, "9" * 1000, "9" * 4000,
                     repr("x" * 20_000), repr("(" * 5000)]),
    st.text(max_size=12).map(repr),
    st.floats(allow_nan=False).map(repr),
)
value = st.recursive(scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.lists(st.tuples(st.text(max_size=4).map(repr), inner), max_size=3).map(
        lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
), max_leaves=12)
call = st.tuples(st.sampled_from(METHODS), st.lists(st.tuples(st.sampled_from(PARAMS), value), max_size=3)).map(
    lambda t: f"{t[0]}(" + ", ".join(f"{k}={v}" for k, v in t[1]) + ")")
step = st.lists(call, min_size=1, max_size=12)


def _check_calls(child: Isolated, calls: list[str]) -> None:
    outcome = child.call("tests.bfcl.hostile_targets:run_calls", calls, timeout=CALLS_SECONDS * 6)
    assert outcome.kind == "returned", f"{outcome.kind} (exit {outcome.exitcode}) on {calls!r:.500}"
    report = outcome.result
    assert report["unexpected"] is None and report["all_str"] and report["n"] == len(calls), (report, calls)
    assert report["seconds"] < CALLS_SECONDS, (report, [c[:120] for c in calls])
    assert outcome.peak_rss_mb - child.baseline_mb < PEAK_RSS_MB, (outcome.peak_rss_mb, child.baseline_mb)


@SMALL
@given(calls=step)
def test_executor_returns_a_string_per_call_in_time_and_memory(child, calls):
    _check_calls(child, calls)


@pytest.mark.slow
@LONG
@given(calls=step)
def test_executor_fuzz_long(child, calls):
    _check_calls(child, calls)


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=st.lists(step.map(lambda cs: "[" + ", ".join(cs) + "]"), min_size=1, max_size=3))
def test_scoring_a_hostile_trajectory_ends_in_a_verdict(child, steps):
    outcome = child.call("tests.bfcl.hostile_targets:check_episode", "multi_turn_base_15", "multi_turn_base", steps,
                         timeout=CHECK_SECONDS * 3)
    assert outcome.kind == "returned", f"{outcome.kind} (exit {outcome.exitcode}) on {steps!r:.500}"
    report = outcome.result
    assert report["unexpected"] is None, (report, steps)
    assert report["valid"] is False and report["seconds"] < CHECK_SECONDS, report
    assert outcome.peak_rss_mb - child.baseline_mb < PEAK_RSS_MB, (outcome.peak_rss_mb, child.baseline_mb)
