"""The rewards as TRL reward functions: the two logged parts, the step they read, re-decoding, the BFCL reward."""

from __future__ import annotations

from types import SimpleNamespace

from harness.toolrl.schedule import RewardConfig
from trainer.reward_funcs import make_trl_reward_funcs


def test_trl_adapters():
    fmt, corr = make_trl_reward_funcs(RewardConfig())
    assert (fmt.__name__, corr.__name__) == ("toolrl_format", "toolrl_correctness")
    gt = '<think>x</think>\n<tool_call>\n{"name": "f", "parameters": {"a": 1}}\n</tool_call>'
    good = gt
    bad = "<think>x</think> none"
    completions = [[{"role": "assistant", "content": good}], [{"role": "assistant", "content": bad}]]
    state = SimpleNamespace(global_step=149, max_steps=300)  # step 150 (1-based) -> final ToolRL ranges
    f = fmt(prompts=["p", "p"], completions=completions, ground_truth=[gt, gt], trainer_state=state)
    c = corr(prompts=["p", "p"], completions=[good, bad], ground_truth=[gt, gt], trainer_state=state)
    assert f == [1.0, -1.0] and c == [3.0, -3.0]
    # rlla's nested `reward_model` column works too
    c2 = corr(prompts=["p"], completions=[good], reward_model=[{"ground_truth": gt}], trainer_state=state)
    assert c2 == [3.0]
    # progress schedule reads max_steps
    fmt_p, _ = make_trl_reward_funcs(RewardConfig(schedule="progress"))
    assert fmt_p(prompts=["p"], completions=[good], ground_truth=[gt], trainer_state=SimpleNamespace(global_step=0, max_steps=10)) == [2.0]


def test_trl_adapter_redecodes_ids_with_special_tokens():
    class Tok:  # TRL's own decode dropped the special tags; the ids still hold them
        def batch_decode(self, ids, skip_special_tokens):
            assert skip_special_tokens is False
            return ["<think>a</think><tool_call>\n" + '{"name": "f", "parameters": {}}' + "\n</tool_call>" for _ in ids]

    fmt, corr = make_trl_reward_funcs(RewardConfig(schedule="none"), tokenizer=Tok())
    gt = '<think>x</think>\n<tool_call>\n{"name": "f", "parameters": {}}\n</tool_call>'
    kw = dict(prompts=["p"], completions=['a\n{"name": "f", "parameters": {}}\n'], ground_truth=[gt])
    assert fmt(completion_ids=[[1, 2, 3]], **kw) == [1.0]
    assert corr(completion_ids=[[1, 2, 3]], **kw) == [3.0]
    assert fmt(**kw) == [0.0]  # without ids, the stripped text is all there is


# ---------------------------------------------------------------- BFCL AST reward (delegates to harness.bfcl)
