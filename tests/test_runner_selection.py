"""The runner's item selection (--ids, --limit as a fraction), repeats, prompt store and provenance."""

from __future__ import annotations

import json
import random

import pytest

from harness.backends.base import Completion, GenParams
from harness.rundir.store import RunStore
from harness.runner import RunConfig, run
from tests.test_runner import OkBackend, echo_task  # noqa: F401  (echo_task: the autouse fixture registering test:echo)


class CoinBackend:
    """Answers "ok" with probability 1/2, from a generator seeded by the request's seed and the item."""

    name = "coin"

    def __init__(self):
        self.seeds = []

    def info(self):
        return {"backend": self.name}

    def provenance(self):
        return {"weights": [{"file": "w.safetensors", "sha256": "abc"}], "chat_template_hash": "t1"}

    def generate(self, prompts, params):
        self.seeds.append(params.seed)
        out = []
        for p in prompts:
            rng = random.Random(params.seed * 1000 + int(p.messages[0]["content"]))
            out.append(Completion(text="ok" if rng.random() < 0.5 else "no", completion_tokens=1))
        return out


def cfg(tmp_path, **kw) -> RunConfig:
    return RunConfig(tasks=["test:echo"], out_dir=tmp_path / "run", progress=False, **kw)


def test_ids_run_exactly_those_items_in_task_order(tmp_path):
    backend = OkBackend()
    summary = run(backend, cfg(tmp_path, ids=["echo_7", "test:echo/echo_2", "other:t/echo_3"]))
    assert backend.calls == [["2", "7"]]
    assert summary.tasks["test:echo"].planned == 2 and summary.tasks["test:echo"].available == 10
    assert summary.provenance["ids"] == "given"


def test_limit_as_a_fraction_takes_that_share_of_each_task(tmp_path):
    summary = run(OkBackend(), cfg(tmp_path, limit=0.25))
    assert summary.tasks["test:echo"].planned == 3  # ceil(2.5)
    assert summary.limit == 0.25


def test_repeats_sample_each_item_k_times_with_k_seeds_and_report_pass_at_k(tmp_path):
    backend = CoinBackend()
    summary = run(backend, cfg(tmp_path, repeats=4, gen=GenParams(temperature=1.0, seed=10)))
    assert sorted(set(backend.seeds)) == [10, 11, 12, 13]
    lines = [json.loads(x) for x in (tmp_path / "run/samples/test__echo.jsonl").read_text().splitlines()]
    assert len(lines) == 40 and sorted({x["repeat"] for x in lines}) == [0, 1, 2, 3]
    assert all(x["gen"]["seed"] == 10 + x["repeat"] for x in lines)
    t = summary.tasks["test:echo"]
    assert t.repeats == 4 and t.total == 40 and t.held == 10 and t.planned == 10
    per_item = {}
    for x in lines:
        per_item.setdefault(x["id"], []).append(x["valid"])
    assert t.pass_at_k == pytest.approx(sum(any(v) for v in per_item.values()) / 10)
    assert t.flip_rate == pytest.approx(sum(len(set(v)) > 1 for v in per_item.values()) / 10)
    assert t.accuracy == pytest.approx(sum(x["valid"] for x in lines) / 40)  # avg@4
    assert summary.provenance["seeds"] == [10, 11, 12, 13]


def test_an_interrupted_repeat_run_resumes_only_the_missing_samples(tmp_path):
    run(CoinBackend(), cfg(tmp_path, repeats=2, gen=GenParams(temperature=1.0)))
    store = RunStore(tmp_path / "run")
    kept = [r for r in store.load("test:echo") if not (r["repeat"] == 1 and r["id"] in ("echo_3", "echo_4"))]
    store.rewrite("test:echo", kept)
    backend = CoinBackend()
    summary = run(backend, cfg(tmp_path, repeats=2, resume=True, gen=GenParams(temperature=1.0)))
    assert backend.seeds == [1] and summary.tasks["test:echo"].total == 20


def test_prompts_are_stored_once_and_each_sample_names_its_prompt(tmp_path):
    run(OkBackend(), cfg(tmp_path, repeats=2, gen=GenParams(temperature=1.0)))
    prompts = [json.loads(x) for x in (tmp_path / "run/prompts/test__echo.jsonl").read_text().splitlines()]
    assert len(prompts) == 10 and len({p["hash"] for p in prompts}) == 10
    samples = [json.loads(x) for x in (tmp_path / "run/samples/test__echo.jsonl").read_text().splitlines()]
    by_hash = {p["hash"]: p for p in prompts}
    for s in samples:
        assert by_hash[s["prompt_hash"]]["messages"] == [{"role": "user", "content": s["id"].split("_")[1]}]


def test_summary_records_provenance(tmp_path):
    summary = run(CoinBackend(), cfg(tmp_path, command="rest eval --tasks test:echo"))
    p = summary.provenance
    assert p["command"] == "rest eval --tasks test:echo" and p["model"]["chat_template_hash"] == "t1"
    assert set(p["data"]) == {"test:echo"} and len(p["data"]["test:echo"]) == 16
    assert p["commit"]
    on_disk = json.loads((tmp_path / "run/summary.json").read_text())
    assert on_disk["provenance"] == p
    again = run(None, cfg(tmp_path))  # re-summarizing keeps what the generating run recorded
    assert again.provenance == p


def test_repeats_interval_resamples_items_not_samples(tmp_path):
    """Four identical samples of each item add no information: the interval is that of 10 items, not 40 samples."""
    from harness.stats.intervals import wilson
    from harness.summary import outcomes_of

    summary = run(OkBackend(), cfg(tmp_path, repeats=4, gen=GenParams(temperature=1.0)))
    t = summary.tasks["test:echo"]
    assert t.accuracy == 0.5 and t.flip_rate == 0.0 and t.pass_at_k == 0.5
    lo, hi = t.ci95
    wlo, whi = wilson(20, 40)
    assert hi - lo > 1.5 * (whi - wlo)
    records = RunStore(tmp_path / "run").load("test:echo")
    assert outcomes_of(records) == [1, 0] * 5  # one outcome per item for the aggregates' bootstrap


def test_repeats_add_pass_at_k_aggregates_beside_avg_at_k():
    from harness.records import TaskResult
    from harness.summary import run_aggregates

    per_task = {"bfcl:simple_python": TaskResult(correct=5, total=12, repeats=4)}
    outcomes = {"bfcl:simple_python": [0.5, 0.0, 0.75]}  # per-item means over 4 samples
    agg = run_aggregates(per_task, outcomes, repeats=4, n_boot=200)
    assert set(agg) == {"bfcl", "bfcl pass@4"}
    assert agg["bfcl"]["non_live"]["accuracy"] < agg["bfcl pass@4"]["non_live"]["accuracy"]
    ratio = agg["bfcl pass@4"]["non_live"]["accuracy"] / agg["bfcl"]["non_live"]["accuracy"]
    assert ratio == pytest.approx((2 / 3) / (1.25 / 3))  # pass@4: two of three items; avg@4: 1.25 of three
    assert set(run_aggregates(per_task, outcomes, repeats=1, n_boot=200)) == {"bfcl"}
