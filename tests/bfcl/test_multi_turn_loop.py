"""Multi-turn data, ground-truth replay, the inference loop, the task, `rest eval` and `rest score bfcl`."""

from __future__ import annotations

import copy
import json

import pytest

from harness.backends.base import Completion
from harness.bfcl.categories import SHIPPED_COUNTS
from harness.bfcl.multi_turn import data
from harness.bfcl.multi_turn.env import Environment
from harness.bfcl.multi_turn.executor import ERROR_PREFIX, keyword_call
from harness.bfcl.multi_turn.loop import MAX_STEPS, Episode, StepOutput, run_episodes
from harness.bfcl.multi_turn.scoring import score_result, score_result_line
from harness.bfcl.multi_turn.tasks import MultiTurnTask
from tests.official_bfcl import official


def keyword_gt(entry: dict, gt: list[list[str]]) -> list[list[str]]:
    env = Environment.for_entry(entry, False)
    return [[keyword_call(c, env) for c in turn] for turn in gt]


# ------------------------------------------------------------------ data


@pytest.mark.parametrize("category", data.CATEGORIES)
@pytest.mark.parametrize("hint", [False, True])
def test_entries_equal_the_official_loader(category, hint):
    theirs = official().load_dataset_entry(category, include_prereq=False, include_language_specific_hint=hint)
    ours = data.load_entries(category, language_hint=hint)
    assert len(ours) == SHIPPED_COUNTS[category] == len(theirs)
    assert ours == theirs
    answers = data.load_answers(category)
    assert [answers[e["id"]] for e in ours] == [a["ground_truth"] for a in official().load_ground_truth_entry(category)]


def test_miss_func_holds_out_docs():
    entry = data.load_entries("multi_turn_miss_func")[0]
    held = entry["missed_function"]
    assert held and all(isinstance(doc, dict) for docs in held.values() for doc in docs)
    names = {doc["name"] for doc in entry["function"]}
    assert not names & {doc["name"] for docs in held.values() for doc in docs}


# ------------------------------------------------------------------ ground-truth replay


@pytest.mark.parametrize("category", data.CATEGORIES)
def test_ground_truth_replay_scores_100_percent(category):
    answers = data.load_answers(category)
    failures = []
    for entry in data.load_entries(category):
        gt = answers[entry["id"]]
        result = [[f"[{', '.join(turn)}]"] if turn else ["Nothing to do."] for turn in keyword_gt(entry, gt)]
        verdict = score_result(entry, gt, result)
        if not verdict.valid:
            failures.append((entry["id"], verdict.error_type))
    assert failures == []


def test_positional_ground_truth_fails_because_the_decoder_drops_positional_args():
    entry = data.load_entries("multi_turn_base")[0]
    gt = data.load_answers("multi_turn_base")[entry["id"]]
    assert any("sort('final_report.pdf')" in c for turn in gt for c in turn)
    verdict = score_result(entry, gt, [[f"[{', '.join(t)}]"] for t in gt])
    assert not verdict.valid and verdict.error_type == "multi_turn:execution_response_mismatch"  # sort() only reads
    assert verdict.detail["passed_prefix"] == 2 and verdict.detail["turns"][2]["valid"] is False


def test_checking_the_same_entry_twice_gives_the_same_verdict():
    entry = data.load_entries("multi_turn_base")[3]
    gt = data.load_answers("multi_turn_base")[entry["id"]]
    bad = [["I cannot."] for _ in gt]
    good = [[f"[{', '.join(t)}]"] for t in keyword_gt(entry, gt)]
    assert [score_result(entry, gt, r).valid for r in (bad, good, bad, good)] == [False, True, False, True]


# ------------------------------------------------------------------ the loop


class ScriptedBackend:
    """Replays each entry's keyword ground truth, `per_step` calls per step, then a text answer."""

    name = "scripted"

    def __init__(self, category: str, per_step: int = 1, always_call: str | None = None, fail: bool = False):
        self.by_first_user = {}
        answers = data.load_answers(category)
        for entry in data.load_entries(category):
            self.by_first_user[entry["question"][0][-1]["content"]] = keyword_gt(entry, answers[entry["id"]])
        self.per_step, self.always_call, self.fail = per_step, always_call, fail
        self.prompts = []

    def info(self):
        return {"backend": self.name}

    def generate(self, prompts, params):
        self.prompts.append(prompts)
        return [self._answer(p.messages) for p in prompts]

    def _answer(self, messages) -> Completion:
        if self.fail:
            return Completion(text="", error="boom")
        if self.always_call:
            return Completion(text=self.always_call, prompt_tokens=2, completion_tokens=1)
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        gt = self.by_first_user[messages[users[0]]["content"]]
        turn = len(users) - 1
        done_steps = sum(1 for m in messages[users[-1]:] if m["role"] == "assistant")
        calls = gt[turn][done_steps * self.per_step:(done_steps + 1) * self.per_step]
        text = f"[{', '.join(calls)}]" if calls else "All done."
        return Completion(text=text, prompt_tokens=2, completion_tokens=1)


def _episodes(category: str, n: int) -> list[Episode]:
    return [Episode(e) for e in data.load_entries(category, language_hint=True)[:n]]


@pytest.mark.parametrize("category", data.CATEGORIES)
@pytest.mark.parametrize("per_step", [1, 3])
def test_scripted_ground_truth_through_the_loop_is_valid(category, per_step):
    backend = ScriptedBackend(category, per_step=per_step)
    task = MultiTurnTask(category)
    samples = task.samples()[:4]
    pairs = task.run_batch(samples, "prompting", backend, None)
    for sample, (completion, scored) in zip(samples, pairs, strict=True):
        assert completion.error is None and scored is not None
        assert scored.verdict.valid, (sample.id, scored.verdict.error_type, scored.verdict.errors)
        result = json.loads(completion.text)
        assert len(result) == len(sample.ground_truth)
        assert task.score(sample, completion.text, "prompting").verdict.valid  # re-scoring the record agrees


def test_message_layout_matches_bfcl_prompting_handlers():
    o = official()
    category = "multi_turn_miss_func"
    theirs = o.load_dataset_entry(category, include_prereq=False, include_language_specific_hint=True)[0]
    ep = _episodes(category, 1)[0]
    first = o.system_prompt(copy.deepcopy(theirs["question"][0]), theirs["function"], theirs["id"])
    assert ep.pending() == first
    backend = ScriptedBackend(category)
    run_episodes([ep], lambda prompts: [StepOutput(backend._answer(p.messages).text) for p in prompts])
    tools = [m for m in ep.messages if m["role"] == "tool"]
    assert tools and all(set(m) == {"role", "name", "content"} for m in tools)
    assert tools[0]["name"].startswith(("cd(", "mkdir(", "mv(", "ls("))
    held_turn = int(next(iter(theirs["missed_function"])))
    from bfcl_eval.constants.default_prompts import DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING as P

    expected = P.format(functions=theirs["missed_function"][str(held_turn)])
    assert {"role": "user", "content": expected} in ep.messages
    assert len(ep.result) == len(theirs["question"]) and ep.done and not ep.force_quit


def test_a_model_that_never_stops_calling_ends_at_the_step_limit():
    category = "multi_turn_base"
    backend = ScriptedBackend(category, always_call="[pwd()]")
    task = MultiTurnTask(category)
    sample = task.samples()[0]
    (completion, scored), = task.run_batch([sample], "prompting", backend, None)
    result = json.loads(completion.text)
    assert len(backend.prompts) == MAX_STEPS + 1  # BFCL executes 21 steps, then force-quits
    assert len(result) == 1 and len(result[0]) == MAX_STEPS + 1
    assert scored.verdict.error_type == "multi_turn:force_terminated"
    assert scored.verdict.detail["force_quit"] is True


def test_an_environment_error_is_fed_back_not_raised():
    ep = _episodes("multi_turn_base", 1)[0]
    ep.feed(StepOutput("[cd(directory='nowhere'), cat(file_name=1)]"))
    tools = [m["content"] for m in ep.messages if m["role"] == "tool"]
    assert tools[0].startswith(ERROR_PREFIX) and "directory" in tools[0]
    assert not ep.done and ep.pending() is not None


def test_a_backend_error_aborts_the_episode_unscored():
    backend = ScriptedBackend("multi_turn_base", fail=True)
    task = MultiTurnTask("multi_turn_base")
    (completion, scored), = task.run_batch(task.samples()[:1], "prompting", backend, None)
    assert completion.error == "boom" and scored is None


def test_unsupported_format_is_a_user_error():
    from harness.types import UserError

    task = MultiTurnTask("multi_turn_base")
    with pytest.raises(UserError):
        task.prompt(task.samples()[0], "json")


def test_groups_are_registered():
    from harness import tasks as registry

    groups = registry.known_groups()
    assert groups["bfcl:multi_turn"] == [f"bfcl:{c}" for c in data.CATEGORIES]
    assert groups["bfcl:all"][-4:] == groups["bfcl:multi_turn"] and "bfcl:simple_python" in groups["bfcl:all"]


# ------------------------------------------------------------------ rest eval / rest score bfcl


def test_rest_eval_runs_the_loop_and_rest_score_agrees(tmp_path, monkeypatch, capsys):
    import harness.backends as backends
    from harness.bfcl.scorefile import read_result_files, score_lines
    from harness.cli import main

    backend = ScriptedBackend("multi_turn_base", per_step=2)
    monkeypatch.setattr(backends, "make_backend", lambda name, **kw: backend)
    rc = main(["eval", "--tasks", "bfcl:multi_turn_base", "--limit", "3", "--batch-size", "2",
               "--output-dir", str(tmp_path), "--run-name", "mt", "--no-progress", "--model", "scripted/model"])
    assert rc == 0
    summary = json.loads((tmp_path / "mt" / "summary.json").read_text())
    assert summary["tasks"]["bfcl:multi_turn_base"]["correct"] == 3
    multi_turn = summary["aggregates"]["bfcl"]["multi_turn"]  # V4: mean of 4 categories, unrun ones count 0
    assert multi_turn.get("accuracy", multi_turn.get("value")) == pytest.approx(0.25)
    files = list((tmp_path / "mt").rglob("BFCL_v4_multi_turn_base_result.json"))
    assert len(files) == 1
    rows = score_lines(read_result_files(files))
    assert [r["valid"] for r in rows] == [True, True, True]
    capsys.readouterr()
    assert main(["score", "bfcl", str(files[0])]) == 0
    assert "multi_turn_base" in capsys.readouterr().out


def test_rest_score_bfcl_scores_multi_turn_result_files(tmp_path):
    from harness.bfcl.scorefile import read_result_files, score_lines

    entries = data.load_entries("multi_turn_long_context")[:4]
    answers = data.load_answers("multi_turn_long_context")
    lines = []
    for i, entry in enumerate(entries[:3]):
        gt = answers[entry["id"]]
        turns = keyword_gt(entry, gt)
        result = [[f"[{', '.join(t)}]", "ok"] for t in turns] if i != 1 else [["no"] for _ in turns]
        lines.append(json.dumps({"id": entry["id"], "result": result}))
    lines.append(json.dumps({"id": entries[3]["id"], "result": "not a list"}))  # ids are unique per scoring
    path = tmp_path / "BFCL_v4_multi_turn_long_context_result.json"
    path.write_text("\n".join(lines) + "\n")
    rows = score_lines(read_result_files([path]))
    assert [(r["valid"], r["error_type"]) for r in rows] == [
        (True, None), (False, "multi_turn:empty_turn_model_response"), (True, None),
        (False, "multi_turn:inference_error")]


def test_unknown_multi_turn_ids_are_user_errors():
    from harness.types import UserError

    with pytest.raises(UserError):
        score_result_line("multi_turn_base_9999", "multi_turn_base", [])
    with pytest.raises(UserError):
        score_result_line("multi_turn_composite_1", "multi_turn_composite", [])


@pytest.mark.parametrize("fmt", ["prompting", "fc", "toolrl"])
def test_tiny_model_runs_one_entry_end_to_end(tmp_path, tiny_model_dir, fmt):
    from harness.cli import main

    rc = main(["eval", "--model", str(tiny_model_dir), "--tasks", "bfcl:multi_turn_base", "--limit", "1",
               "--max-new-tokens", "8", "--device", "cpu", "--output-dir", str(tmp_path), "--run-name", "tiny",
               "--no-progress", "--format", fmt])
    assert rc == 0
    sample_file, = (tmp_path / "tiny" / "samples").glob("*multi_turn_base*.jsonl")
    record = json.loads(sample_file.read_text().splitlines()[0])
    assert record["backend_error"] is None
    result = json.loads(record["completion"])
    assert isinstance(result, list) and all(isinstance(t, list) for t in result)
    assert isinstance(record["valid"], bool) and record["detail"]["queries"] >= 1


def test_run_batch_reports_each_query_round():
    backend = ScriptedBackend("multi_turn_base", per_step=1)
    task = MultiTurnTask("multi_turn_base")
    notes: list[str] = []
    pairs = task.run_batch(task.samples()[:3], "prompting", backend, None, on_progress=notes.append)
    assert len(notes) == len(backend.prompts) > 0  # one note per generate call (query round)
    assert notes[0].startswith("3 episodes, 1 query rounds, ") and notes[-1].endswith(", 0 still running")
    assert all(scored.verdict.valid for _, scored in pairs)


def test_a_thinking_models_reasoning_is_neither_decoded_nor_fed_back():
    ep = _episodes("multi_turn_base", 1)[0]
    ep.feed(StepOutput("<think>maybe [rm(file_name='x')] first?</think>\n\n[cd(directory='nowhere')]"))
    assert ep.messages[-2] == {"role": "assistant", "content": "[cd(directory='nowhere')]"}
    tools = [m for m in ep.messages if m["role"] == "tool"]
    assert len(tools) == 1 and ep.result[-1] == ["[cd(directory='nowhere')]"]
