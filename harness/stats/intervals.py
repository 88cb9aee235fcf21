"""Confidence intervals for accuracies (pure).

API-Bank Level-2 has 67 items: one item moves it 1.5 points, so every
accuracy we publish carries its n and a 95% interval.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence


def wilson(correct: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion, as fractions in [0, 1]."""
    if total <= 0:
        return (0.0, 0.0)
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap(groups: dict[str, Sequence[int]], statistic: Callable[[dict[str, Sequence[int]]], float],
              n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap over items, resampling each group (category) independently.

    `groups` maps a category to its per-item 0/1 outcomes; `statistic` turns such
    a mapping into the aggregate (e.g. BFCL's weighted overall).
    """
    rng = random.Random(seed)
    stats = []
    for _ in range(n_boot):
        sample = {k: [v[rng.randrange(len(v))] for _ in range(len(v))] if v else [] for k, v in groups.items()}
        stats.append(statistic(sample))
    return percentile_interval(stats, alpha)


def percentile_interval(values: Sequence[float], alpha: float = 0.05) -> tuple[float, float]:
    """The (alpha/2, 1 - alpha/2) percentiles of resampled statistics, by the nearest-lower-rank rule."""
    vals = sorted(values)
    n = len(vals)
    return (vals[int(alpha / 2 * (n - 1))], vals[int((1 - alpha / 2) * (n - 1))])
