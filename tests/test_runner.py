"""Runner, run store and resume, with a fake task and a fake backend (no model)."""

from __future__ import annotations

import json

import pytest

from harness import tasks as registry
from harness.backends.base import Completion, GenParams
from harness.records import Prompt, Scored
from harness.rundir.store import RunStore
from harness.runner import RunConfig
from harness.runner import run as run_typed
from harness.types import Sample, UserError, Verdict


def run(*args, **kwargs) -> dict:
    """The run's summary as written to summary.json (the on-disk contract these tests check)."""
    return run_typed(*args, **kwargs).to_json()


class EchoTask:
    """Sample i expects the text 'ok' when i is even."""

    name = "test:echo"
    formats = ("prompting",)

    def __init__(self, n: int = 10) -> None:
        self.n = n

    def samples(self):
        return [Sample(id=f"echo_{i}", task=self.name, messages=[{"role": "user", "content": str(i)}],
                       ground_truth="ok" if i % 2 == 0 else "no") for i in range(self.n)]

    def prompt(self, sample, fmt):
        return Prompt(messages=sample.messages)

    def score(self, sample, completion, fmt, tool_calls=None):
        ok = completion == sample.ground_truth
        return Scored(Verdict(valid=ok, error_type=None if ok else "mismatch"), decoded=completion)


class OkBackend:
    name = "fake"

    def __init__(self, fail_ids=(), crash_after=None):
        self.calls = []
        self.fail_ids = set(fail_ids)
        self.crash_after = crash_after

    def info(self):
        return {"backend": self.name}

    def generate(self, prompts, params):
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise KeyboardInterrupt
        self.calls.append([p.messages[0]["content"] for p in prompts])
        out = []
        for p in prompts:
            i = int(p.messages[0]["content"])
            if i in self.fail_ids:
                out.append(Completion(text="", error="timeout"))
            else:
                out.append(Completion(text="ok", prompt_tokens=3, completion_tokens=1))
        return out


@pytest.fixture(autouse=True)
def echo_task():
    registry.register("test:echo", EchoTask)
    yield
    registry.TASKS.unregister("test:echo")


def cfg(tmp_path, **kw):
    return RunConfig(tasks=["test:echo"], out_dir=tmp_path / "run", batch_size=3, progress=False,
                     gen=GenParams(max_new_tokens=4), model_label="fake", **kw)


def test_run_scores_and_summarises(tmp_path):
    summary = run(OkBackend(), cfg(tmp_path))
    s = summary["tasks"]["test:echo"]
    assert (s["correct"], s["total"], s["failed"]) == (5, 10, 0)
    assert s["accuracy"] == 0.5
    assert 0.2 < s["ci95"][0] < 0.5 < s["ci95"][1] < 0.8
    lines = (tmp_path / "run" / "samples" / "test__echo.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == [f"echo_{i}" for i in range(10)]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["tasks"]["test:echo"]["correct"] == 5


def test_existing_run_needs_resume_or_overwrite(tmp_path):
    run(OkBackend(), cfg(tmp_path))
    with pytest.raises(UserError, match="--resume"):
        run(OkBackend(), cfg(tmp_path))


def test_resume_skips_done_and_redoes_torn_line(tmp_path):
    s = run(OkBackend(), cfg(tmp_path, limit=6))["tasks"]["test:echo"]
    assert (s["total"], s["planned"], s["available"]) == (6, 6, 10)  # a --limit run knows it is a subset
    path = tmp_path / "run" / "samples" / "test__echo.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 7])  # tear the last line (echo_5)
    backend = OkBackend()
    summary = run(backend, cfg(tmp_path, resume=True))
    regenerated = [x for batch in backend.calls for x in batch]
    assert regenerated == ["5", "6", "7", "8", "9"]
    assert summary["tasks"]["test:echo"]["total"] == 10
    ids = [json.loads(x)["id"] for x in path.read_text().splitlines()]
    assert sorted(ids) == sorted(f"echo_{i}" for i in range(10)) and len(ids) == 10


def test_interrupt_loses_at_most_the_batch_in_flight(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run(OkBackend(crash_after=2), cfg(tmp_path))
    assert len(RunStore(tmp_path / "run").load("test:echo")) == 6  # two batches of 3 persisted
    summary = run(OkBackend(), cfg(tmp_path, resume=True))
    assert summary["tasks"]["test:echo"]["total"] == 10


def test_backend_failures_counted_apart_and_retried(tmp_path):
    summary = run(OkBackend(fail_ids={1, 2}), cfg(tmp_path))
    s = summary["tasks"]["test:echo"]
    assert (s["total"], s["failed"]) == (8, 2)
    backend = OkBackend()
    summary = run(backend, cfg(tmp_path, resume=True))
    assert [x for b in backend.calls for x in b] == ["1", "2"]
    assert summary["tasks"]["test:echo"]["failed"] == 0


def test_unknown_task_is_user_error():
    with pytest.raises(UserError, match="unknown task"):
        registry.expand("nope:nothing")


def test_summarize_only_reports_an_interrupted_run_without_a_backend(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run(OkBackend(crash_after=2), cfg(tmp_path))  # 6 of 10 items stored, no summary.json
    assert not (tmp_path / "run" / "summary.json").exists()
    summary = run(None, cfg(tmp_path, backend_info={"backend": "hf"}))
    s = summary["tasks"]["test:echo"]
    assert (s["correct"], s["total"], s["planned"]) == (3, 6, 10) and summary["complete"] is False
    assert summary["backend"] == {"backend": "hf"}
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["tasks"]["test:echo"]["total"] == 6
    summary = run(OkBackend(), cfg(tmp_path, resume=True))  # and --resume still finishes it
    assert summary["tasks"]["test:echo"]["total"] == 10 and summary["complete"] is True
    again = run(None, cfg(tmp_path, backend_info={"backend": "hf", "dtype": None}))  # re-summarize a finished run
    assert again["tasks"]["test:echo"] == summary["tasks"]["test:echo"]
    assert again["backend"] == {"backend": "fake", "summarized_from_samples": True}  # the generating run's info kept
    with pytest.raises(UserError, match="no samples"):
        run(None, cfg(tmp_path / "empty"))
