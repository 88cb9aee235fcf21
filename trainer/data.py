"""Training rows in ToolRL's rlla format: `prompt` (system + user messages) and `ground_truth`.

Sources: the verl parquet schema (prompt, reward_model.ground_truth), the SFT
json (instruction, input, output), a hub dataset id with either schema, and
converters from API-Bank / BFCL items (for held-out evaluation sets only: never
train on test items). Row conversion is pure; only the loaders touch disk.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from harness.toolrl_data import ALIASES, plain, to_row
from harness.toolrl_data import search_dirs as toolrl_search_dirs
from harness.types import UserError

USER_HEADER = "**Dialogue Records History**"
PLACEHOLDER_THINK = "<think> I should use the appropriate tool with proper parameters to respond to the user's need. </think>"


# ---------------------------------------------------------------- data location


def resolve_data_spec(spec: str, where: str = "data") -> tuple[str, str]:
    """Spec -> (kind, location) with kind in parquet|json|jsonl|hub; raises UserError if a file is missing."""
    spec = str(spec).strip()
    if spec in ALIASES:
        fname = ALIASES[spec]
        for d in toolrl_search_dirs():
            if (d / fname).is_file():
                return _kind(d / fname), str(d / fname)
        tried = ", ".join(str(d) for d in toolrl_search_dirs())
        raise UserError(f"{where}: {spec} needs {fname}; not found in {tried} (set REST_TOOLRL_DATA to its folder)")
    if spec.startswith("toolrl:"):
        raise UserError(f"{where}: unknown alias {spec!r}; known: {', '.join(ALIASES)}")
    path = Path(spec).expanduser()
    if path.exists():
        if path.is_dir():
            raise UserError(f"{where}: {spec!r} is a directory; give a .parquet/.json/.jsonl file")
        return _kind(path), str(path)
    if spec.endswith((".parquet", ".json", ".jsonl")) or spec.startswith(("/", "./", "../", "~")):
        raise UserError(f"{where}: data file {spec!r} does not exist")
    if spec.count("/") == 1 and all(spec.split("/")):
        return "hub", spec
    raise UserError(f"{where}: {spec!r} is neither a file, a toolrl:test|toolrl:sft alias nor a hub id (org/name)")


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".json", ".jsonl"):
        return suffix[1:]
    raise UserError(f"data file {str(path)!r}: unsupported extension {suffix!r} (use .parquet, .json or .jsonl)")


# ---------------------------------------------------------------- row conversion (pure)


def to_rlla_row(rec: dict[str, Any]) -> dict[str, Any]:
    """One record in any supported schema -> {"prompt": [messages], "ground_truth": str}.

    The ToolRL schemas are read by the harness's reader (one copy of that logic);
    API-Bank items are converted here, for held-out evaluation sets only.
    """
    rec = plain(rec)
    if "system" in rec and "answer" in rec and "prompt" not in rec:
        return apibank_to_rlla(rec)
    row = to_row(rec, 0, "data")
    return {"prompt": row["prompt"], "ground_truth": row["ground_truth"]}


def calls_to_ground_truth(calls: list[dict[str, Any]], think: str = PLACEHOLDER_THINK) -> str:
    """[{"name", "parameters"}] -> `<think>..</think>\\n<tool_call>\\n{json}\\n...\\n</tool_call>` (rlla ground truth)."""
    lines = [json.dumps({"name": c["name"], "parameters": c.get("parameters", {})}, ensure_ascii=False) for c in calls]
    return f"{think}\n<tool_call>\n" + "\n".join(lines) + "\n</tool_call>"


def apibank_to_rlla(item: dict[str, Any]) -> dict[str, Any]:
    """A ToolRL-processed API-Bank item (system, user, answer) -> rlla row. Evaluation use only.

    `answer` is a Python-literal string (a list in L1/L3, a bare dict in L2); it is
    data, parsed with `ast.literal_eval` (literals only, nothing executed).
    """
    answer = item["answer"]
    if isinstance(answer, str):
        try:
            answer = ast.literal_eval(answer)
        except (ValueError, SyntaxError) as exc:
            raise UserError(f"API-Bank item: unparsable answer {item['answer'][:80]!r}") from exc
    calls = answer if isinstance(answer, list) else [answer]
    return {
        "prompt": [{"role": "system", "content": item["system"]}, {"role": "user", "content": item["user"]}],
        "ground_truth": calls_to_ground_truth(calls),
    }


def _first_acceptable(values: Any) -> tuple[bool, Any]:
    """BFCL lists acceptable values per parameter; "" means "may be omitted". -> (present, value)."""
    if not isinstance(values, list):
        return True, values
    for v in values:
        if v != "":
            return True, v
    return False, None


def bfcl_to_rlla(entry: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """A BFCL single-turn entry + its possible_answer -> rlla row (first acceptable value per parameter).

    Evaluation use only. The system prompt is ToolRL's (harness.toolrl_format), the
    question turns become the `**Dialogue Records History**` user message.
    """
    from harness.toolrl_format import toolrl_system_prompt

    turns = entry["question"]
    messages = turns[0] if turns and isinstance(turns[0], list) else turns
    history = "\n".join(f"<{m['role']}> {m['content']} </{m['role']}>" for m in messages if m.get("role") != "system")
    calls = []
    for gt in answer.get("ground_truth", []):
        for name, params in gt.items():
            args = {}
            for key, values in params.items():
                present, value = _first_acceptable(values)
                if present:
                    args[key] = value
            calls.append({"name": name, "parameters": args})
    return {
        "prompt": [
            {"role": "system", "content": toolrl_system_prompt(entry.get("function", []))},
            {"role": "user", "content": f"{USER_HEADER}\n{history}"},
        ],
        "ground_truth": calls_to_ground_truth(calls),
    }


# ---------------------------------------------------------------- loading


def read_records(spec: str) -> list[dict[str, Any]]:
    """Raw records of a local file or hub dataset (no conversion)."""
    kind, loc = resolve_data_spec(spec)
    if kind == "parquet":
        import pandas as pd

        return pd.read_parquet(loc).to_dict(orient="records")
    if kind == "json":
        data = json.loads(Path(loc).read_text())
        if isinstance(data, dict):  # {id: record}
            data = list(data.values())
        return list(data)
    if kind == "jsonl":
        return [json.loads(line) for line in Path(loc).read_text().splitlines() if line.strip()]
    from datasets import load_dataset as hf_load

    try:
        return list(hf_load(loc, split="train"))
    except Exception as exc:  # offline machines, missing datasets: one line for the user
        raise UserError(f"data: could not load hub dataset {loc!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def load_rows(spec: str, limit: int | None = None) -> list[dict[str, Any]]:
    rows = [to_rlla_row(r) for r in read_records(spec)]
    return rows[:limit] if limit else rows


def prompt_length(tokenizer: Any, prompt: list[dict[str, str]]) -> int:
    text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def load_dataset(spec: str, tokenizer: Any = None, max_prompt_length: int | None = None, limit: int | None = None):
    """rlla rows as a `datasets.Dataset` (columns prompt, ground_truth), overlong prompts dropped first."""
    from datasets import Dataset

    rows = load_rows(spec)
    if tokenizer is not None and max_prompt_length:
        kept = [r for r in rows if prompt_length(tokenizer, r["prompt"]) <= max_prompt_length]
        if not kept:
            raise UserError(f"data: all {len(rows)} prompts of {spec} exceed grpo.max_prompt_length={max_prompt_length} tokens")
        rows = kept
    if limit:
        rows = rows[:limit]
    return Dataset.from_list(rows)
