"""Real model outputs for agreement tests: completions our runs generated, with the item they answer.

The perturbed corpora (tests/bfcl/corpus.py, tests/apibank) are built from gold
answers; these are what an actual model wrote (SmolLM2-135M base and SFT, bf16
and fp32: prose, code fences, half-calls, Java and JavaScript attempts, stray
brackets), so decoders meet styles nobody thought to perturb into.

Export (from run directories written by `rest eval`):

    python -m tests.real.corpus runs/board/smollm2-135m-bf16 runs/sft-eval/*/ runs/mt-real/smollm2-mt1

which rewrites outputs.jsonl.gz beside this file: one line per (task, id, format, completion), deduplicated.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

FILE = Path(__file__).with_name("outputs.jsonl.gz")


def load() -> list[dict]:
    with gzip.open(FILE, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def export(run_dirs: list[Path], out: Path = FILE) -> int:
    seen: set[tuple] = set()
    rows = []
    for run in run_dirs:
        for path in sorted(Path(run).glob("samples/*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line of an interrupted run
                if r.get("backend_error") or not r["task"].startswith(("bfcl:", "apibank:")):
                    continue
                key = (r["task"], r["id"], r["format"], r["completion"])
                if key not in seen:
                    seen.add(key)
                    rows.append({"task": r["task"], "id": r["id"], "format": r["format"],
                                 "completion": r["completion"], "source": Path(run).name})
    rows.sort(key=lambda r: (r["task"], r["id"], r["source"], r["completion"]))
    with gzip.GzipFile(out, "wb", mtime=0) as f:  # mtime 0: the same outputs give the same bytes
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    return len(rows)


if __name__ == "__main__":
    print(export([Path(a) for a in sys.argv[1:]]), "outputs written to", FILE)
