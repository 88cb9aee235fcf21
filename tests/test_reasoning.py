"""Thinking models: reasoning split from the answer as BFCL's reasoning handlers do; ToolRL keeps its <think>.

Hand-written Qwen3-style completions (`<think>\\n...\\n</think>\\n\\n` then the answer) are scored through the
runner in the prompting, fc and toolrl formats; the split is checked against BFCL's own Qwen handlers.
"""

from __future__ import annotations

import json
import sys
import types

import pytest

from harness.backends.base import Completion, GenParams
from harness.reasoning import (
    apply_stop,
    completion_scoring_text,
    reasoning_token_count,
    scoring_text,
    split_reasoning,
)
from harness.rundir.store import RunStore
from harness.runner import RunConfig, run
from harness.toolrl.task import judge

THOUGHT = ("The user wants the area of a triangle with base 10 and height 5. I could try "
           "[calculate_triangle_area(base=1, height=1)] first, or\n<tool_call>\n"
           '{"name": "calculate_triangle_area", "arguments": {"base": 1, "height": 1}}\n</tool_call>\n'
           "but the numbers are given, so one call with base=10, height=5 does it.")
PLAIN_THOUGHT = "The user wants the area of a triangle with base 10 and height 5: one call does it."
# Qwen3 in thinking mode: its reasoning block, a blank line, then the answer in the prompt's format. The thought
# holds decoy calls with wrong arguments: scoring them instead of the answer would fail.
QWEN3 = {
    "prompting": f"<think>\n{THOUGHT}\n</think>\n\n[calculate_triangle_area(base=10, height=5)]",
    "fc": f"<think>\n{THOUGHT}\n</think>\n\n<tool_call>\n"
          '{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}\n</tool_call>',
    "toolrl": f"<think>\n{PLAIN_THOUGHT}\n</think>\n\n<tool_call>\n"
              '{"name": "calculate_triangle_area", "parameters": {"base": 10, "height": 5}}\n</tool_call>',
}


# ---------------------------------------------------------------- the split itself


def test_answer_after_last_close_tag_reasoning_before_it():
    s = split_reasoning(QWEN3["prompting"])
    assert s.answer == "[calculate_triangle_area(base=10, height=5)]" and s.reasoning == THOUGHT
    assert split_reasoning("[f(a=1)]") == split_reasoning("[f(a=1)]")  # no </think>: all answer, no reasoning
    assert split_reasoning("[f(a=1)]").reasoning is None and split_reasoning("[f(a=1)]").answer == "[f(a=1)]"
    # a template that opened <think> in the prompt (DeepSeek-R1, Qwen3-Thinking-2507) leaves no opening tag
    assert split_reasoning("hmm\n</think>\n\n[f()]") == split_reasoning("<think>\nhmm\n</think>\n\n[f()]")
    # several blocks: everything before the last </think> is reasoning
    s = split_reasoning("<think>a</think>\n<think>b</think>\n[f()]")
    assert s.answer == "[f()]" and s.reasoning == "a</think>\n<think>b"
    # unfinished thinking (budget spent): nothing to cut, as BFCL; the decoder then fails on it
    assert split_reasoning("<think>\nstill thinking").answer == "<think>\nstill thinking"


def test_scoring_text_per_format():
    for fmt in ("prompting", "fc", "apibank"):
        assert scoring_text(QWEN3["prompting"], fmt) == "[calculate_triangle_area(base=10, height=5)]"
    assert scoring_text(QWEN3["toolrl"], "toolrl") == QWEN3["toolrl"]  # <think> is part of ToolRL's format
    # a server's reasoning parser split the block off: ToolRL's checker gets the text the model wrote
    content = QWEN3["toolrl"].split("</think>")[1]
    assert scoring_text(content, "toolrl", separate_reasoning=f"\n{PLAIN_THOUGHT}\n") == QWEN3["toolrl"]
    assert scoring_text(content, "fc", separate_reasoning=PLAIN_THOUGHT) == content  # the server's answer as sent
    sent = Completion(text=content, reasoning=f"\n{PLAIN_THOUGHT}\n", reasoning_separate=True)
    assert completion_scoring_text(sent, "toolrl") == QWEN3["toolrl"]
    written = Completion(text=QWEN3["toolrl"], reasoning=PLAIN_THOUGHT)  # derived from the text: nothing to put back
    assert completion_scoring_text(written, "toolrl") == QWEN3["toolrl"]


def test_stop_strings_cut_the_answer_never_the_reasoning():
    text = "<think>\nline one\n\nline two\n</think>\n\nanswer\n\ntrailing"
    assert apply_stop(text, ["\n\n"]) == "<think>\nline one\n\nline two\n</think>\n\nanswer"
    assert apply_stop("a\n\nb", ["\n\n"]) == "a" and apply_stop("a", []) == "a"
    assert apply_stop("\n\nb", ["\n\n"]) == ""  # no thought: the whole text is the answer, as before


def _bfcl_handlers(monkeypatch):
    """BFCL's Qwen reasoning handlers (bfcl-eval installed --no-deps: its model registry and the openai SDK,
    which the handlers import but these methods never use, are stubbed)."""
    from tests.official_bfcl import official

    official()
    monkeypatch.setitem(sys.modules, "openai", types.SimpleNamespace(OpenAI=object))
    from bfcl_eval.model_handler.local_inference.deepseek_reasoning import DeepseekReasoningHandler
    from bfcl_eval.model_handler.local_inference.qwen import QwenHandler
    from bfcl_eval.model_handler.local_inference.qwen_fc import QwenFCHandler

    return [cls.__new__(cls) for cls in (QwenHandler, QwenFCHandler, DeepseekReasoningHandler)]


def test_split_agrees_with_bfcl_reasoning_handlers(monkeypatch):
    qwen, qwen_fc, deepseek = _bfcl_handlers(monkeypatch)
    texts = [*QWEN3.values(), "[f(a=1)]", "hmm\n</think>\n\n[f()]", "<think>\n\n</think>\n\n[f()]",
             "<think>a</think>\n<think>b</think>\n[f()]", "<think>\nunfinished", "</think>"]
    for text in texts:
        response = types.SimpleNamespace(choices=[types.SimpleNamespace(text=text)],
                                         usage=types.SimpleNamespace(prompt_tokens=1, completion_tokens=1))
        ours = split_reasoning(text)
        for handler in (qwen, qwen_fc):
            theirs = handler._parse_query_response_prompting(response)
            assert ours.answer == theirs["model_responses"], text
            if text.count("</think>") == 1:  # with several blocks BFCL logs only the first one's text
                assert ours.reasoning == theirs["reasoning_content"], text
        # DeepseekReasoningHandler keeps the newlines before the answer (no decoder reads them)
        assert ours.answer == deepseek._parse_query_response_prompting(response)["model_responses"].lstrip("\n")


def test_reasoning_tokens_with_one_close_token_and_with_a_split_one(smollm_tokenizer):
    from tests.qwen_tokenizer import qwen_tokenizer

    for tok in (qwen_tokenizer(), smollm_tokenizer):
        ids = tok(QWEN3["fc"], add_special_tokens=False)["input_ids"]
        head = QWEN3["fc"][: QWEN3["fc"].index("</think>") + len("</think>")]
        n = reasoning_token_count(ids, lambda x, t=tok: t.decode(x, skip_special_tokens=False))
        assert tok.decode(ids[:n]).endswith("</think>") and "</think>" not in tok.decode(ids[: n - 1])
        assert tok.decode(ids[:n]) == head
        assert reasoning_token_count(ids[:5], lambda x, t=tok: t.decode(x)) is None
    qwen = qwen_tokenizer()
    ids = qwen(QWEN3["fc"], add_special_tokens=False)["input_ids"]
    assert n and reasoning_token_count(ids, qwen.decode) == ids.index(qwen.convert_tokens_to_ids("</think>")) + 1


# ---------------------------------------------------------------- scored through the runner, each format


class Qwen3Backend:
    """Answers every prompt with the hand-written Qwen3 completion of the format it is told."""

    name = "qwen3-scripted"

    def __init__(self, fmt: str, server_split: bool = False) -> None:
        self.fmt, self.server_split = fmt, server_split

    def info(self):
        return {"backend": self.name}

    def generate(self, prompts, params):
        text = QWEN3[self.fmt]
        if self.server_split:  # what an OpenAI-compatible server with a reasoning parser sends
            head, _, content = text.partition("</think>")
            return [Completion(text=content, reasoning=head.removeprefix("<think>"), reasoning_separate=True,
                               reasoning_tokens=40, completion_tokens=60) for _ in prompts]
        return [Completion(text=text, reasoning=split_reasoning(text).reasoning, completion_tokens=60)
                for _ in prompts]


@pytest.mark.parametrize("server_split", [False, True])
@pytest.mark.parametrize("fmt", ["prompting", "fc", "toolrl"])
def test_qwen3_thinking_completion_scores_right_in_every_format(tmp_path, fmt, server_split):
    summary = run(Qwen3Backend(fmt, server_split), RunConfig(
        tasks=["bfcl:simple_python"], out_dir=tmp_path / fmt, fmt=fmt, ids=["simple_python_0"], progress=False,
        gen=GenParams(max_new_tokens=64)))
    assert summary.tasks["bfcl:simple_python"].correct == 1
    rec = json.loads(RunStore(tmp_path / fmt).path("bfcl:simple_python").read_text().splitlines()[0])
    assert rec["valid"] and rec["decoded"] == [{"calculate_triangle_area": {"base": 10, "height": 5}}]
    assert rec["reasoning"].strip("\n") == (PLAIN_THOUGHT if fmt == "toolrl" else THOUGHT)
    assert rec["reasoning_tokens"] == (40 if server_split else None)


@pytest.mark.parametrize("fmt", ["prompting", "fc"])
def test_unstripped_thinking_would_score_wrong(fmt):
    """The control: the checker on the raw text fails (prompting cannot decode it, fc picks the decoy call)."""
    from harness import tasks as registry

    task = registry.get("bfcl:simple_python")
    sample = task.samples()[0]
    assert not task.score(sample, QWEN3[fmt], fmt).verdict.valid
    assert task.score(sample, scoring_text(QWEN3[fmt], fmt), fmt).verdict.valid


GROUND_TRUTH = ("<think> The user wants a triangle's area. </think>\n<tool_call>\n"
                '{"name": "calculate_triangle_area", "parameters": {"base": 10, "height": 5}}\n</tool_call>')


def test_toolrl_reward_sees_the_one_think_block_it_requires():
    """ToolRL's format check needs exactly one <think>...</think>: the block a thinking model writes counts.
    (It also needs exactly one <tool_call>: a thought that writes calls out fails it, in ToolRL's reward too.)"""
    verdict = judge(scoring_text(QWEN3["toolrl"], "toolrl"), GROUND_TRUTH)
    assert verdict.valid and verdict.detail["format_ok"] and verdict.detail["exact"]
    # stripped of its block (what the prompting rule would give), the same completion fails ToolRL's format check
    # (reported as format_ok, and the training reward's format term)
    assert judge(scoring_text(QWEN3["toolrl"], "fc"), GROUND_TRUTH).detail["format_ok"] is False
    answer_only = GROUND_TRUTH.replace("<tool_call>\n{\"name\": \"calculate_triangle_area\", \"parameters\": "
                                       "{\"base\": 10, \"height\": 5}}\n</tool_call>", "<response> 25 </response>")
    told = "<think>\nA plain question.\n</think>\n\n<response> 25 </response>"
    assert judge(scoring_text(told, "toolrl"), answer_only).valid  # answer-only items: valid needs the format
    assert not judge(scoring_text(told, "prompting"), answer_only).valid
    assert not judge(f"<think>\n{THOUGHT}\n</think>\n\n" + QWEN3["toolrl"].partition("</think>")[2],
                     GROUND_TRUTH).detail["format_ok"]
    # a server that split the block off: it is put back, so the verdict is the written text's
    content = QWEN3["toolrl"].partition("</think>")[2]
    rebuilt = scoring_text(content, "toolrl", separate_reasoning=f"\n{PLAIN_THOUGHT}\n")
    assert judge(rebuilt, GROUND_TRUTH).valid
