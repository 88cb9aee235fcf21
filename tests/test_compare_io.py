"""`rest compare` inputs: run directories, per-sample score files and BFCL result files, compared item by item."""

from __future__ import annotations

import json

import pytest

from harness.bfcl import data as bfcl_data
from harness.compare.inputs import comparison, load_run, markdown
from harness.records import RunSummary, SampleRecord, TaskResult
from harness.rundir.store import RunStore
from harness.types import UserError

TASK = "bfcl:simple_python"


def make_run(root, outcomes: dict[str, bool], dtype: str = "float32", prompt_hash: str = "p") -> str:
    store = RunStore(root)
    store.prepare()
    store.append(TASK, [SampleRecord(i, TASK, "prompting", valid=v, error_type=None if v else "value_error:int",
                                     prompt_hash=prompt_hash) for i, v in outcomes.items()])
    summary = RunSummary(model="m", backend={"backend": "hf", "dtype": dtype}, generation={"max_new_tokens": 96},
                         tasks={TASK: TaskResult(correct=sum(outcomes.values()), total=len(outcomes),
                                                 format="prompting")})
    store.write_json("summary.json", summary.to_json())
    return str(root)


def test_two_runs_differing_in_known_items(tmp_path):
    ids = [f"simple_python_{i}" for i in range(40)]
    a = {i: n % 2 == 0 for n, i in enumerate(ids)}
    b = dict(a)
    b["simple_python_1"] = True
    b["simple_python_4"] = False
    doc = comparison(load_run(make_run(tmp_path / "a", a)), load_run(make_run(tmp_path / "b", b)))
    (task,) = doc["tasks"]
    assert task["n_items"] == 40 and task["a_only"] == 1 and task["b_only"] == 1
    assert task["flips"] == {"b_better": {"value_error:int": ["simple_python_1"]},
                             "a_better": {"value_error:int": ["simple_python_4"]}}
    assert doc["settings_diff"] == [] and doc["prompt_diff"] == {TASK: 0}
    text = markdown(doc)
    assert "simple_python_1" in text and "| bfcl:simple_python | 40 |" in text


def test_runs_with_different_prompts_and_dtypes_say_so(tmp_path):
    outcomes = {f"simple_python_{i}": True for i in range(5)}
    doc = comparison(load_run(make_run(tmp_path / "a", outcomes)),
                     load_run(make_run(tmp_path / "b", outcomes, dtype="bfloat16", prompt_hash="q")))
    assert doc["settings_diff"] == [{"setting": "backend.dtype", "a": "float32", "b": "bfloat16"}]
    assert doc["prompt_diff"] == {TASK: 5}
    text = markdown(doc)
    assert "not made the same way" in text and "different prompts on common items: bfcl:simple_python: 5" in text


def _bfcl_line(item_id: str, right: bool) -> str:
    (call,) = bfcl_data.load_answers("simple_python")[item_id]
    (name, params), = call.items()
    args = ", ".join(f"{k}={v[0]!r}" for k, v in params.items() if v[0] != "") if right else "zzz=1"
    return json.dumps({"id": item_id, "result": f"[{name}({args})]"}) + "\n"


def test_a_bfcl_result_file_made_elsewhere_compares_with_our_run(tmp_path):
    ids = [f"simple_python_{i}" for i in range(6)]
    ours = {i: i != "simple_python_2" for i in ids}
    result = tmp_path / "BFCL_v3_simple_python_result.json"
    result.write_text("".join(_bfcl_line(i, right=i not in ("simple_python_2", "simple_python_5")) for i in ids))
    theirs = load_run(str(result))
    assert theirs.kind == "bfcl result files" and [r.valid for r in theirs.samples[TASK]] == \
        [True, True, False, True, True, False]
    doc = comparison(load_run(make_run(tmp_path / "ours", ours)), theirs)
    (task,) = doc["tasks"]
    assert task["a_only"] == 1 and task["b_only"] == 0
    assert list(task["flips"]["a_better"].values()) == [["simple_python_5"]]


def test_a_per_sample_score_file_is_a_run(tmp_path):
    f = tmp_path / "scored.jsonl"
    f.write_text('{"id": "simple_python_0", "category": "simple_python", "valid": true, "error_type": null}\n')
    run = load_run(str(f))
    assert run.kind == "scored file" and run.samples[TASK][0].valid


def test_unreadable_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="no such run"):
        load_run(str(tmp_path / "nope"))
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"foo": 1}\n')
    with pytest.raises(UserError, match="neither per-sample verdicts"):
        load_run(str(bad))
    other = tmp_path / "o.jsonl"
    other.write_text('{"id": "1", "task": "apibank:level-1", "valid": true}\n')
    with pytest.raises(UserError, match="share no task"):
        comparison(load_run(make_run(tmp_path / "a", {"simple_python_0": True})), load_run(str(other)))


def test_settings_only_one_run_recorded_are_named_not_compared(tmp_path):
    outcomes = {f"simple_python_{i}": True for i in range(3)}
    old, new = make_run(tmp_path / "old", outcomes), make_run(tmp_path / "new", outcomes)
    summary = json.loads((tmp_path / "new" / "summary.json").read_text())
    summary["provenance"] = {"commit": "abc", "command": "rest eval", "model": {"chat_template_hash": "t"}}
    (tmp_path / "new" / "summary.json").write_text(json.dumps(summary))
    doc = comparison(load_run(old), load_run(new))
    assert doc["settings_diff"] == [] and doc["unrecorded"]["a"] == ["provenance.commit",
                                                                     "provenance.model.chat_template_hash"]
    assert "A did not record 2 setting(s)" in markdown(doc)
