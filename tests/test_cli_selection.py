"""`rest eval --ids / --limit FRACTION / --repeats / --exclude-failed`, and `rest compare`, in process with fakes."""

from __future__ import annotations

import json

import pytest

import harness.backends as backends
from harness import tasks as registry
from harness.cli import main
from tests.test_runner import EchoTask, OkBackend
from tests.test_runner_selection import CoinBackend


@pytest.fixture(autouse=True)
def fakes(monkeypatch):
    registry.register("test:echo", EchoTask)
    made = []

    def make(name, args=None, **kw):
        backend = CoinBackend() if args is not None and args.temperature > 0 else OkBackend(fail_ids={3})
        made.append(backend)
        return backend

    monkeypatch.setattr(backends, "make_backend", make)
    yield made
    registry.TASKS.unregister("test:echo")


def rest_eval(tmp_path, name, *flags):
    return main(["eval", "--tasks", "test:echo", "--output-dir", str(tmp_path), "--run-name", name, "--no-progress",
                 "--no-fetch", *flags])


def summary_of(tmp_path, name):
    return json.loads((tmp_path / name / "summary.json").read_text())


def test_ids_and_fractional_limit(tmp_path, capsys):
    assert rest_eval(tmp_path, "ids", "--ids", "echo_1,echo_4") == 0
    assert summary_of(tmp_path, "ids")["tasks"]["test:echo"]["planned"] == 2
    ids = tmp_path / "ids.txt"
    ids.write_text("echo_0\nnot_an_item\n")
    assert main(["eval", "--tasks", "test:echo", "--ids", str(ids), "--output-dir", str(tmp_path)]) == 2
    assert "name no item of test:echo: not_an_item" in capsys.readouterr().err
    assert rest_eval(tmp_path, "half", "--limit", "0.5") == 0
    assert summary_of(tmp_path, "half")["tasks"]["test:echo"]["planned"] == 5
    assert main(["eval", "--tasks", "test:echo", "--limit", "2.5"]) == 2


def test_failed_generations_count_as_wrong_unless_excluded(tmp_path, capsys):
    assert rest_eval(tmp_path, "f") == 0  # item 3 fails; even items are right: 5 of 10
    out = capsys.readouterr().out
    task = summary_of(tmp_path, "f")["tasks"]["test:echo"]
    assert task["accuracy"] == 0.5 and task["accuracy_excl_failed"] == pytest.approx(5 / 9) and task["failed"] == 1
    assert "accuracy %" in out and "50.00" in out and "generation_failed" not in out.split("top error")[0]
    assert rest_eval(tmp_path, "f", "--summarize-only", "--exclude-failed") == 0
    out = capsys.readouterr().out
    assert "failed left out" in " ".join(out.split()) and "55.56" in out


def test_repeats_need_sampling(tmp_path, capsys):
    assert rest_eval(tmp_path, "g", "--repeats", "3") == 0
    assert "deterministic" in capsys.readouterr().out
    assert summary_of(tmp_path, "g")["tasks"]["test:echo"]["repeats"] == 1
    assert rest_eval(tmp_path, "s", "--repeats", "3", "--temperature", "0.7") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "pass@k" in out and "3 samples per item" in out
    task = summary_of(tmp_path, "s")["tasks"]["test:echo"]
    assert task["repeats"] == 3 and task["total"] == 30


def test_rest_compare_finds_the_items_that_differ(tmp_path, capsys):
    assert rest_eval(tmp_path, "a") == 0
    assert rest_eval(tmp_path, "b", "--temperature", "0.7", "--seed", "5") == 0
    a = {json.loads(x)["id"]: json.loads(x)["valid"]
         for x in (tmp_path / "a/samples/test__echo.jsonl").read_text().splitlines()}
    b = {json.loads(x)["id"]: json.loads(x)["valid"]
         for x in (tmp_path / "b/samples/test__echo.jsonl").read_text().splitlines()}
    expected = sorted(i for i in a if a[i] != b[i])
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json", str(tmp_path / "c.json"),
                 "--markdown", str(tmp_path / "c.md")]) == 0
    out = capsys.readouterr().out
    doc = json.loads((tmp_path / "c.json").read_text())
    flipped = sorted(i for side in doc["tasks"][0]["flips"].values() for ids in side.values() for i in ids)
    assert flipped == expected
    settings = {d["setting"] for d in doc["settings_diff"]}
    assert {"generation.temperature", "generation.seed", "backend.backend"} <= settings
    assert "not made the same way" in out
    assert (tmp_path / "c.md").read_text().startswith("# ")


def test_rest_compare_needs_two_runs(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    assert "at least two runs" in capsys.readouterr().err


def test_bfcl_layout_is_written_after_a_bfcl_run(tmp_path, monkeypatch):
    import csv

    class Answers:
        name = "scripted"

        def info(self):
            return {"backend": self.name}

        def generate(self, prompts, params):
            from harness.backends.base import Completion

            return [Completion(text="[calculate_triangle_area(base=10, height=5)]") for _ in prompts]

    monkeypatch.setattr(backends, "make_backend", lambda name, args=None, **kw: Answers())
    out = tmp_path / "bfcl_out"
    assert main(["eval", "--tasks", "bfcl:simple_python", "--limit", "2", "--output-dir", str(tmp_path),
                 "--run-name", "r", "--no-progress", "--bfcl-layout", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "score" / "data_overall.csv", encoding="utf-8")))
    assert len(rows) == 1 and list((out / "result").iterdir())
    assert main(["eval", "--tasks", "test:echo", "--bfcl-layout", str(tmp_path / "r" / "summary.json")]) == 2
