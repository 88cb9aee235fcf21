"""The eval-free executor: same result strings as BFCL's executor, and model text never runs code."""

from __future__ import annotations

import copy
import json
import sys

import pytest

from harness.bfcl.multi_turn import data
from harness.bfcl.multi_turn.env import Environment, public_state
from harness.bfcl.multi_turn.executor import (
    ERROR_PREFIX,
    execute_calls,
    execute_one,
    format_result,
    keyword_call,
)
from harness.bfcl.multi_turn.loop import Episode, StepOutput
from tests.official_bfcl import official

ENTRY = data.load_entries("multi_turn_base")[0]  # GorillaFileSystem + TwitterAPI


def fresh() -> Environment:
    return Environment.for_entry(ENTRY, False)


def snapshot(env: Environment) -> dict:
    return {name: copy.deepcopy(public_state(inst)) for name, inst in env.instances.items()}


class Spy:
    """Wraps every method of an environment and records calls."""

    def __init__(self, env: Environment) -> None:
        self.called: list[str] = []
        for name, method in list(env.methods.items()):
            env.methods[name] = self._wrap(name, method)

    def _wrap(self, name, method):
        def spy(*a, **k):
            self.called.append(name)
            return method(*a, **k)
        return spy


ATTACKS = [
    "__import__(name='os')",
    "__import__('os').system('touch /tmp/pwned_mt')",
    "os.system(command='touch /tmp/pwned_mt')",
    "exec(source='import os')",
    "eval(source='1+1')",
    "open(file='/tmp/pwned_mt', mode='w')",
    "ls.__class__(a=True)",
    "ls.__globals__(a=True)",
    "ls.__self__._load_scenario(scenario={})",
    "cd.__func__.__code__(folder='x')",
    "GorillaFileSystem._load_scenario(scenario={})",
    "_load_scenario(scenario={}, long_context=True)",
    "__init__()",
    "__class__()",
    "_api_description()",
    "getattr(obj=ls, name='__globals__')",
    "ls(a=__import__('os'))",
    "ls(a=(lambda: 1)())",
    "ls(a=[x for x in ().__class__.__base__.__subclasses__()])",
    "ls(a=ls.__globals__)",
    "cd(folder=pwd())",
    "cd(**{'folder': 'document'})",
    "cd(*['document'])",
    "mkdir(dir_name=f'{1+1}')",
    "mkdir(dir_name='a' * 10)",
    "(lambda: 0)()",
    "ls()[0]",
    "[ls(a=True)][0]",
    "kill(pid=1)",
    "exit()",
    "quit()",
    "touch(file_name='x'); import os",
    "touch(file_name=1 if True else 2)",
    "breakpoint()",
]


@pytest.mark.parametrize("call", ATTACKS)
def test_model_text_designed_to_run_code_executes_nothing(call, tmp_path):
    env = fresh()
    before = snapshot(env)
    spy = Spy(env)
    modules_before = set(sys.modules)
    out = execute_one(call, env)
    assert out.startswith(ERROR_PREFIX), out
    assert spy.called == []  # not even an environment method ran
    assert snapshot(env) == before
    assert set(sys.modules) == modules_before  # nothing imported
    import os

    assert not os.path.exists("/tmp/pwned_mt")


def test_the_loop_feeds_refusals_back_as_tool_messages():
    entry = copy.deepcopy(data.load_entries("multi_turn_base", language_hint=True)[0])
    ep = Episode(entry)
    before = snapshot(ep.env)
    ep.feed(StepOutput("[__import__(name='os'), ls.__class__(a=True), _load_scenario(scenario={'root': 1})]"))
    tools = [m for m in ep.messages if m["role"] == "tool"]
    assert len(tools) == 3 and all(m["content"].startswith(ERROR_PREFIX) for m in tools)
    assert snapshot(ep.env) == before


def test_a_call_that_raises_inside_the_environment_is_an_error_message():
    env = fresh()
    # Wrong argument names and types raise inside the environment; BFCL reports them the same way.
    out = execute_calls(["cd(directory='document')", "mkdir(dir_name=5)", "tail(file_name='final_report.pdf', lines='x')"], env)
    assert all(o.startswith(ERROR_PREFIX) for o in out[:1]), out
    assert "unexpected keyword argument 'directory'" in out[0]


def test_refused_huge_computations():
    env = Environment({}, ["MathAPI"], False)
    assert execute_one("power(base=10, exponent=1000000000)", env).startswith(ERROR_PREFIX)
    assert execute_one("power(base=2, exponent=10)", env) == json.dumps({"result": 1024})


def test_result_formatting_matches_bfcl():
    assert format_result("a") == "a"
    assert format_result({"a": 1}) == '{"a": 1}'
    assert format_result([1, "x"]) == "[1, 'x']"
    assert format_result(None) == "None"
    assert format_result({"s": {1, 2}}) == "{'s': {1, 2}}"  # not JSON-serialisable: str()


def _official_results(calls, entry, name):
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils as mtu

    official()
    try:
        results, _ = mtu.execute_multi_turn_func_call(calls, entry["initial_config"], entry["involved_classes"],
                                                       name, entry["id"], long_context=False, is_evaL_run=True)
    finally:
        for key in [k for k in vars(mtu) if k.startswith(name)]:
            del vars(mtu)[key]
    return results


NON_ATTACK_CALLS = [
    "ls(a=True)", "cd(folder='document')", "cd(folder='nope')", "mkdir(dir_name='t')", "mkdir(dir_name='t')",
    "cat(file_name='final_report.pdf')", "sort('final_report.pdf')", "wc(file_name='final_report.pdf', mode='w')",
    "cd(directory='document')", "unknown_fn(x=1)", "kill(pid=1)", "rm.x(a=1)", "cd(folder=nonexistent_name)",
    "cd(folder={[1]: 2})", "cd(folder='a', folder='b')", "cd(folder='a'", "post_tweet(content='hi', tags=['#a'])",
    "get_user_stats(username='analyst_pro')", "ls(a=1.5)", "echo(content='x', file_name=None)", "pwd()",
]


def test_result_strings_equal_the_official_executor_call_by_call():
    entry = data.load_entries("multi_turn_base")[0]
    ours = execute_calls(NON_ATTACK_CALLS, Environment.for_entry(entry, False))
    theirs = _official_results(NON_ATTACK_CALLS, entry, "exec_agree_0")
    assert ours == theirs


def test_result_strings_equal_the_official_executor_on_every_ground_truth_turn():
    """Every ground-truth call of 100 entries (all classes), keyword-rewritten, run turn by turn on both."""
    for i, entry in enumerate(data.load_entries("multi_turn_base")[::2]):
        gt = data.load_answers("multi_turn_base")[entry["id"]]
        env = Environment.for_entry(entry, False)
        calls = [keyword_call(c, env) for turn in gt for c in turn]
        assert execute_calls(calls, env) == _official_results(calls, entry, f"exec_agree_gt_{i}"), entry["id"]


def test_instances_are_fresh_for_every_environment():
    a, b = fresh(), fresh()
    execute_one("mkdir(dir_name='only_in_a')", a)
    assert snapshot(a) != snapshot(b)
    assert snapshot(fresh()) == snapshot(b)


def test_keyword_call_names_positional_arguments():
    assert keyword_call("sort('final_report.pdf')", fresh()) == "sort(file_name='final_report.pdf')"
    assert keyword_call("cd(folder='x')", fresh()) == "cd(folder='x')"


# Deliberate divergences from BFCL's eval-based executor, counted apart from the agreement corpus.
DIVERGENT = [
    # BFCL evaluates the nested call (an environment method) and passes its return value; we refuse.
    ("mv(source=pwd(), destination='x')", "nested"),
    ("cd(folder=mkdir(dir_name='temp'))", "nested"),
    # BFCL's eval reaches Python builtins and its module globals; for us they are unknown names.
    ("len(obj=[1])", "builtin"),
    ("print(value='x')", "builtin"),
    # BFCL rewrites method names followed by "(" even inside string literals (prefixing an instance name).
    ("echo(content='then ls(a=True)')", "string_mangling"),
]


@pytest.mark.parametrize("call,kind", DIVERGENT)
def test_deliberate_divergences_are_limited_to_these_cases(call, kind):
    entry = data.load_entries("multi_turn_base")[0]
    ours = execute_one(call, Environment.for_entry(entry, False))
    theirs = _official_results([call], entry, f"diverge_{kind}_{abs(hash(call))}")[0]
    assert ours != theirs
    if kind != "string_mangling":
        assert ours.startswith(ERROR_PREFIX)
    else:
        assert "then ls(a=True)" in ours and "then ls(a=True)" not in theirs
