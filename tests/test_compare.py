"""`harness.compare.paired_items`: paired comparison of two runs item by item (pure core of `rest compare`)."""

from __future__ import annotations

import random

import pytest

from harness.compare.paired_items import (
    FAILED,
    compare_records,
    compare_runs,
    item_outcomes,
    paired_bootstrap,
    prompt_diff,
    settings_diff,
)
from harness.records import RunSummary, SampleRecord, TaskResult


def recs(task: str, outcomes: dict[str, bool | str], prompt_hash: str | None = None) -> list[SampleRecord]:
    """Records from id -> True (right), False (wrong: value_error) or "failed" (generation failed)."""
    out = []
    for i, o in outcomes.items():
        if o == "failed":
            out.append(SampleRecord(i, task, prompt_hash=prompt_hash, backend_error="timeout"))
        else:
            out.append(SampleRecord(i, task, valid=bool(o), error_type=None if o else "value_error:string",
                                    prompt_hash=prompt_hash))
    return out


def test_finds_exactly_the_items_that_differ_and_groups_them_by_error_type():
    rng = random.Random(3)
    ids = [f"t_{i}" for i in range(200)]
    a = {i: rng.random() < 0.6 for i in ids}
    b = dict(a)
    flipped_up = ids[:7]  # wrong in a, right in b
    flipped_down = ids[100:103]
    for i in flipped_up:
        a[i], b[i] = False, True
    for i in flipped_down:
        a[i], b[i] = True, "failed"
    res = compare_records("bfcl:simple_python", recs("bfcl:simple_python", a), recs("bfcl:simple_python", b))
    assert res.n_items == 200 and res.b_only == 7 and res.a_only == 3
    groups = res.flips_by_error()
    assert groups["b_better"] == {"value_error:string": flipped_up}
    assert groups["a_better"] == {FAILED: flipped_down}  # a failed generation is wrong, and says why
    assert res.test == "mcnemar-exact" and res.p == pytest.approx(0.34375)  # 10 discordant, 7 vs 3
    assert res.delta == pytest.approx(4 / 200)
    lo, hi = res.ci95
    assert lo < res.delta < hi and lo < 0 < hi


def test_identical_runs_differ_by_nothing():
    a = recs("x", {f"i{k}": k % 3 == 0 for k in range(50)})
    res = compare_records("x", a, list(a))
    assert res.delta == 0 and res.p == 1.0 and res.flips == [] and res.ci95 == (0.0, 0.0)


def test_only_common_items_are_compared_and_the_rest_counted():
    a = recs("x", {"1": True, "2": False, "3": True})
    b = recs("x", {"2": True, "3": True, "4": False})
    res = compare_records("x", a, b)
    assert res.n_items == 2 and res.only_in_a == 1 and res.only_in_b == 1
    assert res.acc_a == 0.5 and res.acc_b == 1.0


def test_a_large_consistent_gain_is_significant_and_its_interval_excludes_zero():
    ids = [str(i) for i in range(300)]
    a = recs("x", {i: int(i) % 2 == 0 for i in ids})
    b = recs("x", {i: int(i) % 2 == 0 or int(i) % 5 == 1 for i in ids})  # 30 more right, none lost
    res = compare_records("x", a, b)
    assert res.b_only == 30 and res.a_only == 0 and res.p < 1e-8 and res.ci95[0] > 0


def test_repeats_use_per_item_means_and_the_sign_flip_test():
    a = [SampleRecord("q", "x", valid=v) for v in (True, False, False)] + [SampleRecord("r", "x", valid=True)] * 3
    b = [SampleRecord("q", "x", valid=v) for v in (True, True, True)] + [SampleRecord("r", "x", valid=True)] * 3
    assert item_outcomes(a) == {"q": [1, 0, 0], "r": [1, 1, 1]}
    res = compare_records("x", a, b)
    assert res.test == "sign-flip" and res.delta == pytest.approx((1 - 1 / 3) / 2)
    assert [f.id for f in res.flips] == ["q"]


def test_bootstrap_over_repeats_is_wider_than_over_items_alone():
    rng = random.Random(0)
    a = [[rng.random() < 0.5 for _ in range(4)] for _ in range(100)]
    b = [[rng.random() < 0.5 for _ in range(4)] for _ in range(100)]
    lo, hi = paired_bootstrap(a, b, n_boot=400)
    means_a = [[sum(x) / 4] for x in a]
    means_b = [[sum(x) / 4] for x in b]
    lo1, hi1 = paired_bootstrap(means_a, means_b, n_boot=400)
    assert hi - lo > hi1 - lo1


def test_runs_pool_common_tasks_into_all():
    a = {"t1": recs("t1", {"1": True, "2": False}), "t2": recs("t2", {"1": False}), "t3": recs("t3", {"1": True})}
    b = {"t1": recs("t1", {"1": True, "2": True}), "t2": recs("t2", {"1": True})}
    out = {r.name: r for r in compare_runs(a, b)}
    assert set(out) == {"t1", "t2", "all"}
    assert out["all"].n_items == 3 and out["all"].b_only == 2
    assert {f.id for f in out["all"].flips} == {"t1/2", "t2/1"}


def test_settings_diff_names_what_differs_and_ignores_timings():
    a = RunSummary(model="m", backend={"backend": "hf", "dtype": "float32", "load_s": 1.0},
                   generation={"max_new_tokens": 96, "temperature": 0.0},
                   tasks={"t": TaskResult(format="prompting")}, timings={"wall_s": 3.0})
    b = RunSummary(model="m", backend={"backend": "hf", "dtype": "bfloat16", "load_s": 2.0},
                   generation={"max_new_tokens": 96, "temperature": 0.0},
                   tasks={"t": TaskResult(format="toolrl")}, timings={"wall_s": 9.0})
    assert settings_diff(a, b) == [("backend.dtype", "float32", "bfloat16"), ("tasks.t.format", "prompting", "toolrl")]
    assert settings_diff(a, a) == []


def test_prompt_diff_counts_items_shown_another_prompt():
    a = {"t": recs("t", {"1": True, "2": True}, prompt_hash="h1")}
    b = {"t": recs("t", {"1": True}, prompt_hash="h2") + recs("t", {"2": True}, prompt_hash="h1")}
    assert prompt_diff(a, b) == {"t": 1}
    assert prompt_diff({"t": recs("t", {"1": True})}, b) == {"t": 0}  # no hash recorded: not counted


def test_the_model_under_comparison_is_not_a_confound():
    a = RunSummary(model="ckpt-0", backend={"backend": "hf", "model_path": "ckpt-0", "dtype": "float32"},
                   provenance={"model": {"weights": [{"sha256": "aa"}], "chat_template_hash": "t"}})
    b = RunSummary(model="ckpt-50", backend={"backend": "hf", "model_path": "ckpt-50", "dtype": "float32"},
                   provenance={"model": {"weights": [{"sha256": "bb"}], "chat_template_hash": "t2"}})
    assert settings_diff(a, b) == [("provenance.model.chat_template_hash", "t", "t2")]  # a template change is flagged
    assert [k for k, _, _ in settings_diff(a, b, models=True)] == ["backend.model_path", "model",
                                                                   "provenance.model.weights"]
