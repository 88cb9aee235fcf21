"""BFCL multi-turn in the fc and toolrl formats: ground truth replayed through the loop scores 100%, the
prompts are what BFCL's FC loop and ToolRL's handler build, and the records re-score the same.

The replay drives each episode with the keyword ground truth written as the format's model would write it:
fc as native `tool_calls` (an OpenAI-compatible server) and as `<tool_call>` JSON blocks in the text
(a Hermes/Qwen chat template), toolrl as `<think>...</think>` then a `<tool_call>` block of JSON lines.
"""

from __future__ import annotations

import ast
import json

import pytest

from harness.bfcl.multi_turn import data
from harness.bfcl.multi_turn.formats import ADDED_FUNCTIONS_MESSAGE, call_string, dialogue_format
from harness.bfcl.multi_turn.loop import Episode, StepOutput
from harness.bfcl.multi_turn.scoring import decode_step, score_result
from harness.bfcl.multi_turn.tasks import MultiTurnTask
from harness.bfcl.toolrl_handler import AFTER_OBSERVATION, USER_SUFFIX
from harness.toolrl.format import _HEAD, _TAIL
from tests.bfcl.test_multi_turn_loop import keyword_gt

STYLES = ("fc-native", "fc-text", "toolrl")


def parsed(call: str) -> tuple[str, dict]:
    node = ast.parse(call, mode="eval").body
    return node.func.id, {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}


def answer(style: str, calls: list[str], step: int) -> StepOutput:
    """What a model of this style writes to make `calls` (none: it answers in text and the turn ends)."""
    if style == "fc-native":
        native = [{"id": f"call_{step}_{i}", "type": "function",
                   "function": {"name": n, "arguments": json.dumps(a)}} for i, (n, a) in enumerate(map(parsed, calls))]
        return StepOutput("" if calls else "All done.", tool_calls=native or None)
    if style == "fc-text":
        blocks = [f"<tool_call>\n{json.dumps({'name': n, 'arguments': a})}\n</tool_call>" for n, a in map(parsed, calls)]
        return StepOutput("\n".join(blocks) if calls else "All done.")
    if not calls:
        return StepOutput("<think> The task is complete. </think>\n<response> All done. </response>")
    lines = "\n".join(json.dumps({"name": n, "parameters": a}) for n, a in map(parsed, calls))
    return StepOutput(f"<think> Step {step}: call the tools. </think>\n<tool_call>\n{lines}\n</tool_call>")


def replay(entry: dict, gt: list[list[str]], style: str, per_step: int = 2) -> Episode:
    hinted = MultiTurnTask(entry["id"].rsplit("_", 1)[0]).entry(_sample(entry, gt))
    ep = Episode(hinted, fmt=style.split("-")[0])
    turns = keyword_gt(entry, gt)
    while not ep.done:
        done = ep.steps_in_turn
        ep.feed(answer(style, turns[ep.turn][done * per_step:(done + 1) * per_step], done))
    return ep


def _sample(entry: dict, gt: list[list[str]]):
    from harness.bfcl.multi_turn.tasks import ENTRY_KEYS
    from harness.types import Sample

    meta = {"category": entry["id"].rsplit("_", 1)[0], "entry": {k: entry[k] for k in ENTRY_KEYS if k in entry}}
    return Sample(id=entry["id"], task="t", messages=entry["question"][0], functions=entry["function"],
                  ground_truth=gt, meta=meta)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("category", data.CATEGORIES)
def test_ground_truth_replayed_through_the_loop_scores_100_percent(category, style):
    answers = data.load_answers(category)
    fmt = style.split("-")[0]
    failures = []
    for entry in data.load_entries(category):
        gt = answers[entry["id"]]
        ep = replay(entry, gt, style)
        assert not ep.force_quit and ep.error is None
        verdict = score_result(entry, gt, ep.result, fmt)
        if not verdict.valid:
            failures.append((entry["id"], verdict.error_type, verdict.errors[:1]))
    assert failures == [], f"{len(failures)} entries fail, e.g. {failures[:3]}"


def test_replayed_records_are_bfcls_result_shapes():
    entry = data.load_entries("multi_turn_base")[0]
    gt = data.load_answers("multi_turn_base")[entry["id"]]
    native = replay(entry, gt, "fc-native").result
    assert isinstance(native[0][0], list) and all(len(c) == 1 for c in native[0][0])  # [{name: arguments-json}]
    name, args = next(iter(native[0][0][0].items()))
    assert isinstance(args, str) and isinstance(json.loads(args), dict)
    assert native[0][-1] == "All done."  # the text answer that ended the turn
    toolrl = replay(entry, gt, "toolrl").result
    assert toolrl[0][0].startswith("<think>") and "<tool_call>" in toolrl[0][0]  # the whole text, <think> kept


def test_step_decoders_follow_their_handlers():
    fc = dialogue_format("fc")
    assert fc.decode([{"cd": '{"folder": "docs"}'}]) == ["cd(folder='docs')"]  # convert_to_function_call: no space
    assert fc.decode([{"mv": '{"source": "a", "destination": "b"}'}]) == ["mv(source='a',destination='b')"]
    assert fc.decode('<tool_call>\n{"name": "ls", "arguments": {"a": true}}\n</tool_call>') == ["ls(a=True)"]
    assert fc.decode('<tool_call>\n{"name": "ls", "arguments": "{\\"a\\": 1}"}\n</tool_call>') == ["ls(a=1)"]
    assert fc.decode('<tool_call>{"name": "ls", "arguments": {}}</tool_call>') is None  # strict newlines, as BFCL
    assert fc.decode('<tool_call>\n[1, 2]\n</tool_call>') is None  # a block that is not an object: undecodable
    assert fc.decode('<tool_call>\n{"name": "ls"}\n</tool_call>') is None  # no arguments: KeyError in BFCL
    assert fc.decode([{"cd": "not json"}]) is None and fc.decode("plain text") is None and fc.decode([]) is None
    tr = dialogue_format("toolrl")
    text = '<think> x </think>\n<tool_call>\n{"name": "cd", "parameters": {"folder": "d"}}\nnot json\n' \
           '{"name": "None", "parameters": {}}\n{"name": "pwd"}\n</tool_call>'
    assert tr.decode(text) == ["cd(folder='d')", "pwd()"]  # bad line and "None" skipped, no parameters is {}
    assert tr.decode("<think> no call </think>\n<response> hi </response>") is None
    assert tr.decode('<tool_call>\n{"name": 3, "parameters": {}}\n</tool_call>') is None  # raises in the handler
    assert tr.decode('<tool_call>\n{"name": "cd", "parameters": [1]}\n</tool_call>') is None
    two = '<tool_call>\n{"name": "ls", "parameters": {}}\n</tool_call> then <tool_call>\n{"name": "pwd", ' \
          '"parameters": {}}\n</tool_call>'
    assert tr.decode(two) == ["pwd()"]  # the last block only
    assert decode_step("[cd(folder='d')]") == ["cd(folder='d')"]  # prompting stays the default
    assert call_string("f", {"a": [1, "x"], "b": None}) == "f(a=[1, 'x'],b=None)"


def handler_history(messages: list[dict]) -> str:
    """RLLAHandler._format_prompt's user turn, restated from its source (ToolRL 8cee13e) for this test."""
    text = "**Dialogue Records History**\n"
    for i, m in enumerate(messages):
        if m["role"] == "user":
            text += f"<user> {m['content'].strip()}\n{USER_SUFFIX} </user>\n"
        elif m["role"] == "tool":
            text += f"<obs> You have made the tool call {m['name'].strip()}. Execution returns: {m['content'].strip()} </obs>\n"
            if i == len(messages) - 1:
                text += f"\n<user> {AFTER_OBSERVATION} </user>\n"
        elif m["role"] == "assistant":
            text += f"\n{m['content'].strip()}\n"
    return text.strip()


def test_toolrl_prompts_are_the_handlers_at_every_step():
    category = "multi_turn_miss_func"
    entry = data.load_entries(category)[0]
    gt = data.load_answers(category)[entry["id"]]
    hinted = MultiTurnTask(category).entry(_sample(entry, gt))
    ep = Episode(hinted, fmt="toolrl")
    turns = keyword_gt(entry, gt)
    seen = 0
    while not ep.done:
        prompt = ep.prompt()
        system, user = prompt.messages
        tools = "\n".join(f"{i}. Name: {f['name']}\nDescription: {f['description']}\n"
                          f"Parameters: {json.dumps(f['parameters'].get('properties', {}))}"
                          for i, f in enumerate(hinted["function"], 1))
        assert system == {"role": "system", "content": _HEAD + tools + _TAIL + "\n"}  # tools never change
        assert user == {"role": "user", "content": handler_history(ep.messages)} and prompt.tools is None
        assert user["content"].endswith(f"<user> {AFTER_OBSERVATION} </user>") == (ep.messages[-1]["role"] == "tool")
        seen += 1
        done = ep.steps_in_turn
        ep.feed(answer("toolrl", turns[ep.turn][done:done + 1], done))
    assert seen > 2 * len(gt)
    history = ep.prompt().messages[1]["content"]
    assert "<obs> You have made the tool call cd(folder=" in history or "<obs> You have made the tool call " in history
    held = entry["missed_function"]
    turn = next(iter(held))
    assert f"<user> {held[turn]}\n{ADDED_FUNCTIONS_MESSAGE}\n{USER_SUFFIX} </user>" in history  # BFCL's prompting note
    assert not any(m["role"] == "system" for m in ep.messages)


def test_fc_held_out_docs_join_the_tools_and_the_turn_opens_with_bfcls_fc_message():
    category = "multi_turn_miss_func"
    entry = data.load_entries(category)[0]
    gt = data.load_answers(category)[entry["id"]]
    task = MultiTurnTask(category)
    first = task.prompt(_sample(entry, gt), "fc")
    assert first.messages == entry["question"][0] and not any(m["role"] == "system" for m in first.messages)
    names = [t["function"]["name"] for t in first.tools]
    held = entry["missed_function"]
    turn = int(next(iter(held)))
    ep = Episode(task.entry(_sample(entry, gt)), fmt="fc")
    turns = keyword_gt(entry, gt)
    while ep.turn < turn:
        ep.feed(answer("fc-native", turns[ep.turn][ep.steps_in_turn:ep.steps_in_turn + 1], ep.steps_in_turn))
    later = ep.prompt()
    assert [t["function"]["name"] for t in later.tools] == names + [d["name"] for d in held[str(turn)]]
    assert later.messages[-1] == {"role": "user", "content": ADDED_FUNCTIONS_MESSAGE}
    calls = [m for m in later.messages if m["role"] == "assistant" and m.get("tool_calls")]
    results = [m for m in later.messages if m["role"] == "tool"]
    assert calls and {c["id"] for m in calls for c in m["tool_calls"]} == {r["tool_call_id"] for r in results}
    assert all(isinstance(c["function"]["arguments"], dict) for m in calls for c in m["tool_calls"])


def test_fc_history_reaches_an_openai_server_as_the_api_wants_it():
    from harness.backends.base import GenParams
    from harness.backends.openai_request import build_request

    entry = data.load_entries("multi_turn_base")[0]
    gt = data.load_answers("multi_turn_base")[entry["id"]]
    ep = Episode(MultiTurnTask("multi_turn_base").entry(_sample(entry, gt)), fmt="fc")
    ep.feed(answer("fc-native", keyword_gt(entry, gt)[0][:1], 0))
    body = build_request(ep.prompt(), GenParams(), "m")
    assistant = next(m for m in body["messages"] if m["role"] == "assistant")
    assert isinstance(assistant["tool_calls"][0]["function"]["arguments"], str)
    tool = next(m for m in body["messages"] if m["role"] == "tool")
    assert tool["tool_call_id"] == "call_0_0" and "name" not in tool
    assert body["tools"] and body["tools"][0]["type"] == "function"


@pytest.mark.parametrize("style", STYLES)
def test_a_qwen3_thinking_completion_in_each_format(style):
    """A thinking model's block: cut before decoding in fc, kept in toolrl (its format has one), and a server's
    separate reasoning_content put back in toolrl only."""
    entry = data.load_entries("multi_turn_base")[0]
    gt = data.load_answers("multi_turn_base")[entry["id"]]
    fmt = style.split("-")[0]
    ep = Episode(MultiTurnTask("multi_turn_base").entry(_sample(entry, gt)), fmt=fmt)
    out = answer(style, keyword_gt(entry, gt)[0][:1], 0)
    thinking = "<think>\nShould I call rm(file_name='x') first? No.\n</think>\n\n"
    ep.feed(StepOutput(thinking + out.text, tool_calls=out.tool_calls))
    assert len([m for m in ep.messages if m["role"] == "tool"]) == 1
    raw = ep.result[0][0]
    if fmt == "fc":
        assert "rm(" not in json.dumps(raw) and "Should I" not in json.dumps(ep.messages)
    else:
        assert raw.startswith("<think>\nShould I")
    ep2 = Episode(MultiTurnTask("multi_turn_base").entry(_sample(entry, gt)), fmt=fmt)
    ep2.feed(StepOutput(out.text.split("</think>")[-1] if fmt == "toolrl" else out.text, tool_calls=out.tool_calls,
                        separate_reasoning="weighing it up"))
    assert ("weighing it up" in json.dumps(ep2.result)) == (fmt == "toolrl")


@pytest.mark.parametrize("fmt", ["fc", "toolrl"])
def test_rest_eval_and_rest_score_agree_in_fc_and_toolrl(fmt, tmp_path, monkeypatch, capsys):
    import harness.backends as backends
    from harness.backends.base import Completion
    from harness.bfcl.scorefile import read_result_files, score_lines
    from harness.cli import main

    category = "multi_turn_base"
    entries = data.load_entries(category)[:3]
    answers = data.load_answers(category)
    style = "fc-native" if fmt == "fc" else "toolrl"
    scripts = {e["question"][0][-1]["content"]: keyword_gt(e, answers[e["id"]]) for e in entries}

    class Backend:
        name = "scripted"

        def info(self):
            return {"backend": self.name}

        def generate(self, prompts, params):
            return [self._one(p) for p in prompts]

        def _one(self, prompt):
            if fmt == "fc":
                users = [i for i, m in enumerate(prompt.messages) if m["role"] == "user"]
                first, turn = prompt.messages[users[0]]["content"], len(users) - 1
                step = sum(1 for m in prompt.messages[users[-1]:] if m["role"] == "assistant")
            else:
                history = prompt.messages[1]["content"]
                first = next(k for k in scripts if f"<user> {k.strip()}\n" in history)
                turn = history.count(USER_SUFFIX) - 1
                step = history.rsplit(USER_SUFFIX, 1)[1].count("</think>")
            out = answer(style, scripts[first][turn][step:step + 1], step)
            return Completion(text=out.text, tool_calls=out.tool_calls, prompt_tokens=3, completion_tokens=2)

    monkeypatch.setattr(backends, "make_backend", lambda name, **kw: Backend())
    rc = main(["eval", "--tasks", f"bfcl:{category}", "--limit", "3", "--format", fmt, "--output-dir", str(tmp_path),
               "--run-name", "r", "--no-progress", "--model", "scripted/model"])
    assert rc == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["tasks"][f"bfcl:{category}"]["correct"] == 3
    files = list((tmp_path / "r").rglob(f"BFCL_v4_{category}_result.json"))
    assert [r["valid"] for r in score_lines(read_result_files(files), fmt)] == [True] * 3
    assert [r["valid"] for r in score_lines(read_result_files(files), "prompting")] == [False] * 3  # wrong decoder
    capsys.readouterr()
    assert main(["score", "bfcl", "--format", fmt, str(files[0])]) == 0


@pytest.mark.parametrize("category", ["multi_turn_base", "multi_turn_miss_func"])
def test_task_prompt_is_the_episodes_first_prompt_in_every_format(category):
    """`MultiTurnTask.prompt` (the recorded prompt and its hash) builds no environment but equals what the loop sends."""
    task = MultiTurnTask(category)
    for sample in task.samples()[:10]:
        for fmt in task.formats:
            assert task.prompt(sample, fmt) == Episode(task.entry(sample), fmt=fmt).prompt(), (sample.id, fmt)
