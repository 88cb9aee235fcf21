"""Paired comparisons of two evaluations on the same items (pure).

Two checkpoints scored on the same items are paired: item difficulty cancels
in the per-item difference, so a paired test sees differences that two
separate intervals hide. With several seeds per arm the unit of resampling is
the item (all seeds of an item move together), since seeds of one item are
not independent. Scores are per item and per seed: 0/1 for a verdict, any
float for a reward.

- `paired_diff`: mean over items of the seed-averaged difference a - b.
- `sign_flip_p`: two-sided p-value of the paired randomisation (sign-flip)
  test on the per-item differences: exact for up to 20 non-zero items,
  Monte Carlo otherwise. Valid for 0/1 and real scores alike; on 0/1 scores
  with one seed it is the exact McNemar test.
- `paired_bootstrap_ci`: percentile interval of the mean difference,
  resampling items.
- `mcnemar_exact`: the classic exact McNemar p from discordant counts.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

Matrix = Sequence[Sequence[float]]  # [seed][item]


def item_means(scores: Matrix) -> list[float]:
    """Per-item mean over seeds of a [seed][item] matrix (every seed scores the same items, in order)."""
    if not scores:
        raise ValueError("no seeds")
    n = len(scores[0])
    if any(len(row) != n for row in scores):
        raise ValueError("every seed must score the same items")
    return [sum(row[i] for row in scores) / len(scores) for i in range(n)]


def diffs(a: Matrix, b: Matrix) -> list[float]:
    """Per-item difference of the seed means (a - b)."""
    ma, mb = item_means(a), item_means(b)
    if len(ma) != len(mb):
        raise ValueError(f"a scores {len(ma)} items, b {len(mb)}: a paired comparison needs the same items")
    return [x - y for x, y in zip(ma, mb, strict=True)]


def sign_flip_p(d: Sequence[float], n_perm: int = 20000, seed: int = 0) -> float:
    """Two-sided p of the sign-flip test of mean(d) = 0 (exact when <= 20 items differ)."""
    nz = [x for x in d if x != 0]
    if not nz:
        return 1.0
    obs = abs(sum(nz))
    tol = 1e-12 * max(1.0, obs)
    if len(nz) <= 20:
        hits = sum(1 for signs in itertools.product((1, -1), repeat=len(nz))
                   if abs(sum(s * x for s, x in zip(signs, nz, strict=True))) >= obs - tol)
        return hits / 2 ** len(nz)
    rng = random.Random(seed)
    hits = sum(1 for _ in range(n_perm) if abs(sum(x if rng.random() < 0.5 else -x for x in nz)) >= obs - tol)
    return (hits + 1) / (n_perm + 1)


def paired_bootstrap_ci(d: Sequence[float], n_boot: int = 5000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile interval of mean(d), resampling items."""
    n = len(d)
    if n == 0:
        return (0.0, 0.0)
    rng = random.Random(seed)
    stats = sorted(sum(d[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    return stats[int(alpha / 2 * (n_boot - 1))], stats[int((1 - alpha / 2) * (n_boot - 1))]


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p: b items right only in a, c right only in b."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Comparison:
    """a - b on one metric over the same items: mean difference, its 95% interval, the sign-flip p."""

    a: str
    b: str
    metric: str
    delta: float
    ci: tuple[float, float]
    p: float
    n_items: int
    seeds_a: int
    seeds_b: int

    def as_dict(self) -> dict[str, object]:
        return {"a": self.a, "b": self.b, "metric": self.metric, "delta": self.delta, "ci95": list(self.ci),
                "p": self.p, "n_items": self.n_items, "seeds_a": self.seeds_a, "seeds_b": self.seeds_b}


def compare(a_name: str, a: Matrix, b_name: str, b: Matrix, metric: str, seed: int = 0) -> Comparison:
    """The paired comparison of two arms (each a [seed][item] matrix) on one metric."""
    d = diffs(a, b)
    delta = sum(d) / len(d) if d else 0.0
    return Comparison(a_name, b_name, metric, delta, paired_bootstrap_ci(d, seed=seed), sign_flip_p(d, seed=seed),
                      len(d), len(a), len(b))
