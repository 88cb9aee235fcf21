"""The Python side of the lm-eval task configs: the dataset hook, the prompt, and the scorer.

The YAMLs (see `generate.py`) point here with `!function`:
- `load_docs` (lm-eval's `custom_dataset`): one doc per item of a harness task, holding the exact
  chat messages `rest eval` sends (`task.prompt(sample, fmt)`) and the item's id;
- `RestTask`: a ConfigurableTask whose prompt, under `--apply_chat_template`, is the model's chat
  template over those messages, all of them (a few BFCL items carry several turns; lm-eval's
  built-in path renders one system and one user turn), so prompts equal `rest eval`'s;
- `process_results`: the harness checker's verdict on the generated text (`task.score`), as `acc`.
Only lm-eval imports this module.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

from lm_eval.api.task import ConfigurableTask

log = logging.getLogger(__name__)


@cache
def _task(name: str) -> Any:
    from harness import tasks

    return tasks.get(name)


@cache
def _samples(name: str) -> dict[str, Any]:
    return {s.id: s for s in _task(name).samples()}


def _user_text(messages: list[dict[str, Any]]) -> str:
    """The turns after the system message as one text: lm-eval's plain (no chat template) prompt."""
    if len(messages) == 1:
        return str(messages[0].get("content", ""))
    return "\n\n".join(f"{m['role']}: {m.get('content', '')}" for m in messages)


def load_docs(rest_task: str, rest_format: str = "auto", **_metadata: Any) -> Any:
    """lm-eval's `custom_dataset`: a DatasetDict with one "test" split of the task's items.

    lm-eval passes the task's metadata (model arguments among them) too; they are not needed here.
    A missing data set (API-Bank before `rest data fetch apibank`) raises the harness's one-line error.
    """
    import datasets

    from harness.tasks import task_format

    task = _task(rest_task)
    fmt = task_format(task, rest_format)
    docs = []
    for sample in _samples(rest_task).values():
        prompt = task.prompt(sample, fmt)
        if prompt.tools:
            raise ValueError(f"{rest_task}: format {fmt!r} needs native tools, which lm-eval's chat path cannot send")
        messages = prompt.messages
        has_system = bool(messages) and messages[0]["role"] == "system"
        docs.append({
            "id": sample.id,
            "rest_task": rest_task,
            "rest_format": fmt,
            "system": str(messages[0].get("content", "")) if has_system else "",
            "user": _user_text(messages[1:] if has_system else messages),
            "messages": json.dumps(messages, ensure_ascii=False),
            "target": json.dumps(sample.ground_truth, ensure_ascii=False, default=str),
        })
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def doc_messages(doc: dict[str, Any], system_instruction: str | None = None) -> list[dict[str, Any]]:
    """The doc's chat messages; lm-eval's `--system_instruction`, when given, goes before the system text."""
    messages = json.loads(doc["messages"])
    if system_instruction:
        if messages and messages[0]["role"] == "system":
            messages[0] = {**messages[0], "content": f"{system_instruction}\n\n{messages[0]['content']}"}
        else:
            messages.insert(0, {"role": "system", "content": system_instruction})
    return messages


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """`acc`: 1.0 when the harness checker accepts the completion (the official scorers' verdict), else 0.0."""
    sample = _samples(doc["rest_task"])[doc["id"]]
    scored = _task(doc["rest_task"]).score(sample, results[0], doc["rest_format"])
    return {"acc": float(bool(scored.verdict.valid))}


class RestTask(ConfigurableTask):
    """A YAML-configured generate_until task whose chat prompt is the item's whole message list."""

    _warned = False

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config={k: v for k, v in (config or {}).items() if k != "class"})

    def fewshot_context(self, doc: dict[str, Any], num_fewshot: int = 0, system_instruction: str | None = None,
                        apply_chat_template: bool = False, fewshot_as_multiturn: bool = False,
                        chat_template: Any = None, gen_prefix: str | None = None) -> str:
        """The model's chat template over the doc's messages; without a template, lm-eval's plain text.

        Zero-shot always: the YAMLs pin `num_fewshot: 0` (lm-eval then ignores `--num_fewshot`), and
        BFCL and API-Bank have no few-shot split.
        """
        if not (apply_chat_template and chat_template):
            if not RestTask._warned:
                RestTask._warned = True
                log.warning("%s: without --apply_chat_template the prompt is the system text then the user text, "
                            "not the chat prompt BFCL and `rest eval` send", self.config.task)
            return super().fewshot_context(doc, num_fewshot=0, system_instruction=system_instruction,
                                           apply_chat_template=False, fewshot_as_multiturn=fewshot_as_multiturn,
                                           chat_template=None, gen_prefix=gen_prefix)
        messages = doc_messages(doc, system_instruction)
        if gen_prefix:
            messages.append({"role": "assistant", "content": gen_prefix})
        return chat_template(messages, add_generation_prompt=not gen_prefix)
