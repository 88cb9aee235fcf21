"""BFCL and API-Bank inside lm-eval (harness/lm_eval_tasks): prompts equal `rest eval`'s, verdicts equal our checkers'.

Runs go through lm-eval's own Python API (`simple_evaluate` with our include path): a scripted LM
(answers looked up by the exact chat messages it is handed, so a prompt that differs from
`task.prompt` fails) for verdicts, groups and the multi-turn-history items, and a tiny Hugging Face
model through lm-eval's `hf` backend for the generation path.
"""

from __future__ import annotations

import json

import pytest

from harness import tasks
from harness.lm_eval_tasks import PATH
from harness.lm_eval_tasks.generate import expected_files
from tests.data_paths import needs

lm_eval = pytest.importorskip("lm_eval")
from lm_eval.api.model import LM  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

# lm-eval task name -> (harness task, prompt format)
HARNESS = {f"bfcl_{c}": (f"bfcl:{c}", "prompting") for c in ("simple_python", "simple_java", "simple_javascript",
                                                           "multiple", "parallel", "parallel_multiple", "live_simple",
                                                           "live_multiple", "live_parallel", "live_parallel_multiple",
                                                           "irrelevance", "live_irrelevance")}
HARNESS["bfcl_toolrl_simple_python"] = ("bfcl:simple_python", "toolrl")
HARNESS.update({f"apibank_level_{n}": (f"apibank:level-{n}", "toolrl") for n in (1, 2, 3)})


def _manager() -> TaskManager:
    return TaskManager(include_path=str(PATH), include_defaults=False)


def _gold(sample, fmt: str) -> str:
    """A right answer from the ground truth: Python calls (prompting) or a ToolRL <tool_call> block."""
    if sample.task.startswith("apibank:"):
        return "<tool_call>\n" + json.dumps(sample.ground_truth) + "\n</tool_call>"
    calls = []
    for call in sample.ground_truth or []:
        name, params = next(iter(call.items()))
        args = {k: [v for v in alts if v != ""][0] for k, alts in params.items() if alts[0] != ""}
        calls.append((name, args))
    if fmt == "toolrl":
        return "<tool_call>\n" + "\n".join(json.dumps({"name": n, "parameters": a}) for n, a in calls) + "\n</tool_call>"
    return "[" + ", ".join(f"{n}({', '.join(f'{k}={v!r}' for k, v in a.items())})" for n, a in calls) + "]"


class ScriptedLM(LM):
    """Answers each chat prompt from a table keyed by its exact messages; records what it was asked."""

    def __init__(self, answers: dict[str, str]) -> None:
        super().__init__()
        self.answers = answers
        self.unknown: list[str] = []

    def apply_chat_template(self, chat_history, add_generation_prompt=True) -> str:
        return json.dumps(chat_history, sort_keys=True, ensure_ascii=False)

    @property
    def tokenizer_name(self) -> str:
        return "scripted"

    def chat_template(self, chat_template=False) -> str:
        return "scripted"

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        out = []
        for request in requests:
            context = request.args[0]
            if context not in self.answers:
                self.unknown.append(context)
            out.append(self.answers.get(context, ""))
        return out

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def _script(picks: dict[str, list[int]]) -> tuple[dict[str, str], dict[tuple[str, int], tuple]]:
    """Answers for the picked docs (right on even positions, prose on odd) and (task, sample, fmt) by (name, id)."""
    answers, where = {}, {}
    for name, indices in picks.items():
        harness_name, fmt = HARNESS[name]
        task = tasks.get(harness_name)
        samples = task.samples()
        for pos, i in enumerate(indices):
            sample = samples[i]
            key = json.dumps(task.prompt(sample, fmt).messages, sort_keys=True, ensure_ascii=False)
            answers[key] = _gold(sample, fmt) if pos % 2 == 0 else "Sorry, I cannot do that."
            where[(name, sample.id)] = (task, sample, fmt)
    return answers, where


def _check_verdicts(out: dict, where: dict) -> list[bool]:
    """Every logged sample's lm-eval `acc` equals our checker's verdict on the same text; returns the verdicts."""
    verdicts = []
    for name, logged in out["samples"].items():
        for s in logged:
            task, sample, fmt = where[(name, s["doc"]["id"])]
            text = s["filtered_resps"][0]
            ours = task.score(sample, text, fmt).verdict.valid
            assert s["acc"] == float(ours), (name, sample.id, text)
            verdicts.append(ours)
    return verdicts


def test_yaml_files_are_the_generators_output():
    on_disk = {p.relative_to(PATH).as_posix(): p.read_text(encoding="utf-8")
               for p in PATH.rglob("*") if p.suffix == ".yaml" or p.name.endswith("_yaml")}
    assert on_disk == expected_files()


def test_index_holds_every_single_turn_category_and_api_bank_level():
    from harness.bfcl.categories import CATEGORIES

    manager = _manager()
    want = {f"{p}_{c}" for p in ("bfcl", "bfcl_toolrl") for c in CATEGORIES} | {f"apibank_level_{n}" for n in (1, 2, 3)}
    assert set(manager.all_subtasks) == want
    assert set(manager.all_groups) == {"apibank", "bfcl", "bfcl_toolrl"} | {
        f"{p}_{g}" for p in ("bfcl", "bfcl_toolrl") for g in ("simple", "non_live", "live", "hallucination")}


def test_prompts_verdicts_and_bfcl_subscores_through_lm_eval():
    picks = {"bfcl_simple_python": [0, 1, 2, 3], "bfcl_simple_java": [0, 1], "bfcl_simple_javascript": [0],
             "bfcl_multiple": [0, 1], "bfcl_parallel": [0, 1, 2], "bfcl_parallel_multiple": [0],
             "bfcl_live_simple": [0, 1, 2], "bfcl_live_multiple": [0, 2], "bfcl_live_parallel": [0],
             "bfcl_live_parallel_multiple": [0],
             "bfcl_irrelevance": [0, 1], "bfcl_live_irrelevance": [125, 0, 292],  # 125, 292: several user/assistant turns before the question
             "bfcl_toolrl_simple_python": [0, 1, 2]}
    answers, where = _script(picks)
    lm = ScriptedLM(answers)
    out = lm_eval.simple_evaluate(model=lm, tasks=["bfcl_non_live", "bfcl_live", "bfcl_hallucination",
                                                   "bfcl_toolrl_simple_python"],
                                  samples=picks, task_manager=_manager(), apply_chat_template=True,
                                  log_samples=True, bootstrap_iters=0)
    assert lm.unknown == []  # every prompt lm-eval built is the one `rest eval` sends, whole histories included
    verdicts = _check_verdicts(out, where)
    assert len(verdicts) == sum(map(len, picks.values())) and True in verdicts and False in verdicts
    assert {s["doc"]["id"] for s in out["samples"]["bfcl_live_irrelevance"]} == {
        "live_irrelevance_0-0-0", "live_irrelevance_125-11-0", "live_irrelevance_292-72-1"}
    res = {k: v["acc,none"] for k, v in out["results"].items() if "acc,none" in v}
    size = {k: v["sample_len"] for k, v in out["results"].items() if "sample_len" in v}
    simple = (res["bfcl_simple_python"] + res["bfcl_simple_java"] + res["bfcl_simple_javascript"]) / 3
    assert res["bfcl_simple"] == pytest.approx(simple)  # BFCL: unweighted over the three languages
    assert "acc,none" not in out["results"]["bfcl_non_live"]  # lm-eval cannot weight it as BFCL does
    assert res["bfcl_hallucination"] == pytest.approx((res["bfcl_irrelevance"] + res["bfcl_live_irrelevance"]) / 2)
    live = [f"bfcl_{c}" for c in ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")]
    assert res["bfcl_live"] == pytest.approx(sum(res[t] * size[t] for t in live) / sum(size[t] for t in live))


def test_tiny_hf_model_generates_and_is_scored_by_our_checker(tiny_model_dir, smollm_tokenizer):
    out = lm_eval.simple_evaluate(model="hf", model_args={"pretrained": str(tiny_model_dir), "dtype": "float32"},
                                  tasks=["bfcl_simple_python"], limit=2, device="cpu", batch_size=2,
                                  gen_kwargs="max_gen_toks=12", task_manager=_manager(), apply_chat_template=True,
                                  log_samples=True, bootstrap_iters=0)
    task = tasks.get("bfcl:simple_python")
    samples = task.samples()
    logged = out["samples"]["bfcl_simple_python"]
    assert [s["doc"]["id"] for s in logged] == [samples[0].id, samples[1].id]
    for s in logged:
        sample = samples[s["doc_id"]]
        want = smollm_tokenizer.apply_chat_template(task.prompt(sample, "prompting").messages, tokenize=False,
                                                    add_generation_prompt=True)
        assert s["arguments"][0][0] == want  # the prompt `rest eval` renders with the same chat template
        assert s["acc"] == float(task.score(sample, s["filtered_resps"][0], "prompting").verdict.valid)
    assert out["results"]["bfcl_simple_python"]["acc,none"] == sum(s["acc"] for s in logged) / 2


@needs("apibank")
def test_api_bank_levels_pool_like_toolrl():
    picks = {f"apibank_level_{n}": [0, 1, 2][: n + 1] for n in (1, 2, 3)}
    answers, where = _script(picks)
    out = lm_eval.simple_evaluate(model=ScriptedLM(answers), tasks=["apibank"], samples=picks, task_manager=_manager(),
                                  apply_chat_template=True, log_samples=True, bootstrap_iters=0)
    verdicts = _check_verdicts(out, where)
    assert out["results"]["apibank"]["acc,none"] == pytest.approx(sum(verdicts) / len(verdicts))  # micro-average

