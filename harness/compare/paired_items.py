"""Item-by-item comparison of two runs on their common items (pure: records in, a comparison out).

Two runs scored on the same items are paired: item difficulty cancels in the
per-item difference, so the paired interval is far narrower than the gap
between two separate intervals suggests. Per task and over all tasks:

- accuracy of each run on the common items, a failed generation counting as
  wrong (as BFCL's evaluator counts it);
- the difference b - a with a 95% paired bootstrap interval, resampling items
  and, where runs hold several samples of an item (`--repeats`), the samples
  within each item;
- McNemar's exact test on single-sample runs (the sign-flip test on per-item
  means when there are repeats: with one sample per item it *is* McNemar);
- the items that flipped, grouped by the error type of the wrong side;
- which settings differ between the two runs, so a difference caused by another
  prompt, template or sampling setup is named as such rather than read as skill.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.records import RunSummary, SampleRecord
from harness.stats.paired import mcnemar_exact, sign_flip_p

FAILED = "generation_failed"


def item_outcomes(records: Iterable[SampleRecord]) -> dict[str, list[int]]:
    """id -> the 0/1 outcome of each stored sample of the item (failed generation = 0), in file order."""
    out: dict[str, list[int]] = defaultdict(list)
    for r in records:
        out[r.id].append(1 if r.valid and not r.failed else 0)
    return dict(out)


def _error_of(records: Sequence[SampleRecord]) -> str:
    """The error type that stands for a wrong item: its first wrong sample's (a failed generation says so)."""
    for r in records:
        if r.failed:
            return FAILED
        if not r.valid:
            return r.error_type or "wrong"
    return ""


@dataclass
class Flip:
    """An item right in one run and wrong in the other (by majority over its samples)."""

    id: str
    task: str
    a_correct: float  # share of the item's samples that were right in run a
    b_correct: float
    error: str  # the wrong side's error type


@dataclass
class PairedResult:
    """b - a on the common items of one task (or all tasks pooled)."""

    name: str
    n_items: int
    acc_a: float | None
    acc_b: float | None
    delta: float | None
    ci95: tuple[float, float] | None
    p: float | None
    test: str  # "mcnemar-exact" or "sign-flip"
    a_only: int = 0  # items right in a only (majority)
    b_only: int = 0
    only_in_a: int = 0  # items not common to both runs
    only_in_b: int = 0
    flips: list[Flip] = field(default_factory=list)

    def flips_by_error(self) -> dict[str, dict[str, list[str]]]:
        """{"a_better"|"b_better": {error type of the wrong side: [ids]}}."""
        out: dict[str, dict[str, list[str]]] = {"a_better": {}, "b_better": {}}
        for f in self.flips:
            side = "b_better" if f.b_correct > f.a_correct else "a_better"
            out[side].setdefault(f.error, []).append(f.id)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "n_items": self.n_items, "acc_a": self.acc_a, "acc_b": self.acc_b,
                "delta": self.delta, "ci95": list(self.ci95) if self.ci95 else None, "p": self.p,
                "test": self.test, "a_only": self.a_only, "b_only": self.b_only,
                "only_in_a": self.only_in_a, "only_in_b": self.only_in_b, "flips": self.flips_by_error()}


def paired_bootstrap(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]], n_boot: int = 2000, seed: int = 0,
                     alpha: float = 0.05) -> tuple[float, float]:
    """Percentile interval of mean(b) - mean(a) over items, resampling items, then samples within each item.

    Vectorised (numpy, in chunks of resamples): a 4,400-item BFCL comparison takes well under a second.
    """
    import numpy as np

    n = len(a)
    if n == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    sides = []
    for side in (a, b):
        k = np.array([len(x) for x in side])
        pad = np.zeros((n, int(k.max())))
        for i, x in enumerate(side):
            pad[i, : len(x)] = x
        sides.append((k, pad))
    repeats = any(int(k.max()) > 1 for k, _ in sides)
    stats = []
    chunk = max(1, 2_000_000 // (n * max(int(k.max()) for k, _ in sides)))
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(m, n))
        diff = np.zeros((m, n))
        for sign, (k, pad) in zip((-1.0, 1.0), sides, strict=True):
            if not repeats:
                diff += sign * pad[idx, 0]
                continue
            width = pad.shape[1]
            kk = k[idx][..., None]  # (m, n, 1): samples of each drawn item
            pick = np.minimum((rng.random((m, n, width)) * kk).astype(int), kk - 1)
            vals = np.take_along_axis(pad[idx], pick, axis=2)
            diff += sign * np.where(np.arange(width) < kk, vals, 0.0).sum(axis=2) / kk[..., 0]
        stats.append(diff.mean(axis=1))
    values = np.sort(np.concatenate(stats))
    return float(values[int(alpha / 2 * (n_boot - 1))]), float(values[int((1 - alpha / 2) * (n_boot - 1))])


def compare_records(name: str, a: Sequence[SampleRecord], b: Sequence[SampleRecord], n_boot: int = 2000,
                    seed: int = 0) -> PairedResult:
    """The paired comparison of two runs' samples of one task (or of several tasks, ids prefixed by task)."""
    oa, ob = item_outcomes(a), item_outcomes(b)
    common = [i for i in oa if i in ob]
    by_a: dict[str, list[SampleRecord]] = defaultdict(list)
    by_b: dict[str, list[SampleRecord]] = defaultdict(list)
    for r in a:
        by_a[r.id].append(r)
    for r in b:
        by_b[r.id].append(r)
    xa, xb = [oa[i] for i in common], [ob[i] for i in common]
    if not common:
        return PairedResult(name, 0, None, None, None, None, None, "none", only_in_a=len(oa), only_in_b=len(ob))
    ma = [sum(x) / len(x) for x in xa]
    mb = [sum(x) / len(x) for x in xb]
    acc_a, acc_b = sum(ma) / len(ma), sum(mb) / len(mb)
    single = all(len(x) == 1 for x in xa) and all(len(x) == 1 for x in xb)
    flips, a_only, b_only = [], 0, 0
    for i, x, y in zip(common, ma, mb, strict=True):
        if (x > 0.5) == (y > 0.5):
            continue
        if x > 0.5:
            a_only += 1
            flips.append(Flip(i, by_b[i][0].task, x, y, _error_of(by_b[i])))
        else:
            b_only += 1
            flips.append(Flip(i, by_a[i][0].task, x, y, _error_of(by_a[i])))
    if single:
        p, test = mcnemar_exact(a_only, b_only), "mcnemar-exact"
    else:
        p, test = sign_flip_p([y - x for x, y in zip(ma, mb, strict=True)], seed=seed), "sign-flip"
    return PairedResult(name, len(common), acc_a, acc_b, acc_b - acc_a, paired_bootstrap(xa, xb, n_boot, seed), p,
                        test, a_only, b_only, len(oa) - len(common), len(ob) - len(common), flips)


def compare_runs(a: dict[str, list[SampleRecord]], b: dict[str, list[SampleRecord]], n_boot: int = 2000,
                 seed: int = 0) -> list[PairedResult]:
    """Per common task, then "all" (every common item of every common task pooled, ids qualified by task)."""
    tasks = [t for t in a if t in b]
    out = [compare_records(t, a[t], b[t], n_boot, seed) for t in tasks]
    if len(tasks) > 1:
        def pooled(side: dict[str, list[SampleRecord]]) -> list[SampleRecord]:
            return [SampleRecord.from_json({**r.to_json(), "id": f"{t}/{r.id}"}) for t in tasks for r in side[t]]

        out.append(compare_records("all", pooled(a), pooled(b), n_boot, seed))
    return out


# ---------------------------------------------------------------- settings

def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


# What shapes the generated text or its verdicts; timings, versions of unrelated packages and dates do not.
SETTING_PATHS = ("model", "format", "limit", "backend", "generation", "provenance")
IGNORED = ("backend.load_s", "provenance.command", "provenance.started_at", "backend.summarized_from_samples")
# What names the model under comparison: a difference here is the point of the comparison, not a confound.
MODEL_IDENTITY = ("model", "backend.model_path", "backend.adapter", "provenance.model.model_path",
                  "provenance.model.weights", "provenance.model.adapter_weights", "provenance.model.revision")


def settings_diff(a: RunSummary, b: RunSummary, models: bool = False) -> list[tuple[str, Any, Any]]:
    """(setting, value in a, value in b) for every setting both runs recorded and that differs between them:
    everything that shapes the text or its verdict except which model it is, or (`models`) only that.
    Settings only one run recorded are listed by `unrecorded`."""
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    for key in SETTING_PATHS:
        _flat(key, getattr(a, key), fa)
        _flat(key, getattr(b, key), fb)
    for task in sorted(set(a.tasks) & set(b.tasks)):
        fa[f"tasks.{task}.format"] = a.tasks[task].format
        fb[f"tasks.{task}.format"] = b.tasks[task].format
    keys = sorted(set(fa) | set(fb))
    def under(k: str, prefixes: tuple[str, ...]) -> bool:
        return any(k == i or k.startswith(i + ".") for i in prefixes)

    return [(k, fa.get(k), fb.get(k)) for k in keys
            if not under(k, IGNORED) and under(k, MODEL_IDENTITY) == models and fa.get(k) != fb.get(k)
            and fa.get(k) is not None and fb.get(k) is not None]


def unrecorded(a: RunSummary, b: RunSummary) -> tuple[list[str], list[str]]:
    """Settings only one run recorded (a run from an older harness records less): (missing in a, missing in b)."""
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    for key in SETTING_PATHS:
        _flat(key, getattr(a, key), fa)
        _flat(key, getattr(b, key), fb)
    keys = sorted(k for k in set(fa) | set(fb) if not any(k == i or k.startswith(i + ".") for i in IGNORED))
    return ([k for k in keys if fa.get(k) is None and fb.get(k) is not None],
            [k for k in keys if fb.get(k) is None and fa.get(k) is not None])


def prompt_diff(a: dict[str, list[SampleRecord]], b: dict[str, list[SampleRecord]]) -> dict[str, int]:
    """Per common task, how many common items were shown a different prompt (by the recorded prompt hash).

    Runs from before prompts were recorded carry no hash: such items are not counted either way.
    """
    out = {}
    for task in [t for t in a if t in b]:
        ha = {r.id: r.prompt_hash for r in a[task]}
        hb = {r.id: r.prompt_hash for r in b[task]}
        out[task] = sum(1 for i in ha if i in hb and ha[i] and hb[i] and ha[i] != hb[i])
    return out
