"""The held-out ToolRL-format task: toolrl:test, toolrl:<path>, per-item format / exact / correctness."""

from __future__ import annotations

import json

import pytest

from harness import tasks
from harness.toolrl.reward import toolrl_reward
from harness.toolrl.schedule import RewardConfig
from harness.toolrl.task import judge, summarize
from harness.types import UserError
from tests.data_paths import needs

GT = ('<think> I should use the appropriate tool. </think>\n<tool_call>\n'
      '{"name": "QR Code Generator", "parameters": {"url": "www.example.com", "size": 3}}\n</tool_call>')
GT2 = ('<think> two calls </think>\n<tool_call>\n{"name": "a", "parameters": {"x": 1}}\n'
       '{"name": "b", "parameters": {}}\n</tool_call>')
GT_RESP = "<think> no tool needed </think>\n<response> Hello! </response>"


@needs("toolrl")
def test_toolrl_test_task_scores_its_own_ground_truth_perfectly():
    task = tasks.get("toolrl:test")
    assert task.formats == ("toolrl",)
    samples = task.samples()
    assert len(samples) == 80 and len({s.id for s in samples}) == 80
    for s in samples:
        assert [m["role"] for m in s.messages] == ["system", "user"]
        assert task.prompt(s, "toolrl").messages == s.messages
        sc = task.score(s, s.ground_truth, "toolrl")
        assert sc.verdict.valid, (s.id, sc.verdict)
        d = sc.verdict.detail
        assert d["format_ok"] is True
        if d["kind"] in ("tool_call", "both"):
            assert d["exact"] is True and d["correctness"] == 3.0
    with pytest.raises(UserError, match="toolrl"):
        task.prompt(samples[0], "prompting")


def test_judge_exact_format_and_correctness():
    ok = judge(GT, GT)
    assert ok.valid and ok.detail == {"format_ok": True, "exact": True, "correctness": 3.0, "kind": "tool_call", "n_gold": 1}
    # right call, no think: exact (API-Bank soft match reads only the block) but format invalid
    bare = '<tool_call>\n{"name": "QR Code Generator", "parameters": {"size": 3, "url": "www.example.com"}}\n</tool_call>'
    v = judge(bare, GT)
    assert v.valid and v.detail["format_ok"] is False and v.detail["exact"] is True
    # a wrong value: not exact, partial correctness equal to the reward's
    wrong = GT.replace('"size": 3', '"size": "3"')
    v = judge(wrong, GT)
    assert not v.valid and v.detail["exact"] is False and v.error_type == "params_value_mismatch"
    expected = toolrl_reward(wrong, GT, 0, RewardConfig(schedule="none")).correctness
    assert v.detail["correctness"] == expected and -3.0 < expected < 3.0
    # chat markers around the completion are cut like the reward does
    assert judge("<|im_start|>assistant\n" + GT + "<|im_end|>", GT).valid
    v = judge("I cannot help.", GT)
    assert not v.valid and v.error_type == "no_tool_call_block" and v.detail["correctness"] == -3.0


def test_judge_multi_call_and_answer_only():
    both = judge(GT2, GT2)
    assert both.valid and both.detail["n_gold"] == 2
    half = judge(GT2.replace('{"name": "b", "parameters": {}}\n', ""), GT2)
    assert not half.valid and half.detail["exact"] is False and half.error_type == "name_mismatch"
    r = judge(GT_RESP, GT_RESP)
    assert r.valid and r.detail["exact"] is None and r.detail["correctness"] == 0.0 and r.detail["kind"] == "response"
    empty = judge("<think> x </think>\n<response>  </response>", GT_RESP)
    assert not empty.valid and empty.detail["format_ok"] and empty.error_type == "empty_response"
    bad = judge("<response> Hello! </response>", GT_RESP)
    assert not bad.valid and bad.error_type == "format_error"


def test_prefix_task_reads_any_toolrl_file(tmp_path):
    path = tmp_path / "mine.jsonl"
    recs = [{"instruction": "SYS", "input": "hi", "output": GT}, {"id": "custom-7", "instruction": "SYS", "input": "yo", "output": GT_RESP}]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    name = f"toolrl:{path}"
    assert tasks.expand(f"{name},toolrl:test") == [name, "toolrl:test"]
    task = tasks.get(name)
    samples = task.samples()
    assert [s.id for s in samples] == ["mine:0", "custom-7"]
    assert samples[0].messages == [{"role": "system", "content": "SYS"}, {"role": "user", "content": "hi"}]
    records = []
    for s, out in zip(samples, (GT, "nothing"), strict=True):
        v = task.score(s, out, "toolrl").verdict
        records.append({"valid": v.valid, "detail": v.detail})
    records.append({"valid": False, "detail": {}, "backend_error": "timeout"})
    summ = summarize(records)
    assert summ == {"total": 2, "format_ok": 0.5, "exact": 1.0, "exact_items": 1, "valid": 0.5, "correctness_mean": 1.5}
    missing = tasks.get(f"toolrl:{tmp_path / 'missing.parquet'}")  # built without reading (so listing needs no data)
    with pytest.raises(UserError, match="does not exist"):
        missing.samples()
    with pytest.raises(UserError, match="unknown task"):
        tasks.expand("toolrlx:test")
