"""Region weights and per-token weights for ResT (pure: no torch, no TRL).

Three modes (method.md §1.2, §1.3, §6):

- `uniform`: every region weighs 1, so the loss is plain GRPO (the baseline).
- `code`: the official code's constants (format 1.0, name 1.2, args/think
  0.6 + 0.002*step capped at 1.2/1.0, everything else 0, clamp [1e-3, 8],
  mean-1 per sequence), applied to OUR region labels (every call of a block,
  last token kept, offsets from the generated ids).
- `entropy`: the paper. A region's base weight is the inverse of its smoothed
  measured mean entropy (`1/H` or `1/(1-e^-H)`, the Theorem 2 proxy),
  normalised so the base weights average 1 over the weighted regions; then the
  curriculum offsets, the clamp and the per-sequence normalisation.

Curriculum (`schedule`): `step` is the code's linear step rule
(`+step_increase*step` on args and think, `-format_step_decrease*step` on
format); `progress` is the paper's ν-form (format decays by `alpha_format*ν`
down to `w_min`, args/think grow by `alpha_*·ν` up to `w_max`/`think_max`, name
stays). An offset never crosses its bound and never moves a weight against its
direction: a base already beyond a bound stays where it is (so entropy-derived
bases above `w_max` are kept rather than cut). `auto` = `step` for `code`,
`progress` for `entropy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from harness.types import UserError
from trainer.regions import Region

MODES = ("uniform", "code", "entropy")
SCHEDULES = ("auto", "step", "progress", "none")
TRANSFORMS = ("inv", "inv_1mexp")
CONTENT = (Region.FORMAT, Region.NAME, Region.ARGS, Region.THINK)
ALL_REGIONS = tuple(int(r) for r in Region)


@dataclass
class WeightConfig:
    """How token weights are set; see the module doc. Defaults for `code` are the official constants."""

    mode: str = "uniform"
    schedule: str = "auto"
    # base weights (used by `code`, and by `entropy` for regions not measured yet)
    format: float = 1.0
    name: float = 1.2
    args: float = 0.6
    think: float = 0.6
    response: float = 0.6  # only when zero_other is False
    other: float = 0.6  # only when zero_other is False
    zero_other: bool = True  # OTHER and RESPONSE get 0 (the official code) instead of their base weight
    # step schedule (official code): per global step
    step_increase: float = 0.002
    format_step_decrease: float = 0.0  # the code keeps format constant; its commented-out variant used 0.002
    # progress schedule (paper): per unit of training progress nu in [0, 1]
    alpha_format: float = 0.2
    alpha_args: float = 0.6
    alpha_think: float = 0.4
    w_min: float = 0.2  # floor of the decaying format weight
    w_max: float = 1.2  # cap of the growing args weight (and think, with think_max)
    think_max: float = 1.0  # the code caps think at the format weight 1.0
    # clamp before the per-sequence normalisation (official w_min/w_max)
    clamp_min: float = 1e-3
    clamp_max: float = 8.0
    # entropy mode
    entropy_ema: float = 0.9  # weight of the past in the per-region entropy EMA
    entropy_transform: str = "inv"  # "inv": 1/H, "inv_1mexp": 1/(1-exp(-H))
    entropy_floor: float = 0.05  # H below this counts as this (format tags have H ~ 0; 1/H would explode)
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"weights.mode {self.mode!r}: expected one of {', '.join(MODES)}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"weights.schedule {self.schedule!r}: expected one of {', '.join(SCHEDULES)}")
        if self.entropy_transform not in TRANSFORMS:
            raise UserError(f"weights.entropy_transform {self.entropy_transform!r}: expected one of {', '.join(TRANSFORMS)}")
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise UserError(f"weights.{f.name} must be finite, got {v}")
        if not 0 < self.clamp_min <= self.clamp_max:
            raise UserError(f"weights: need 0 < clamp_min <= clamp_max, got {self.clamp_min}, {self.clamp_max}")
        if not 0.0 <= self.entropy_ema < 1.0:
            raise UserError(f"weights.entropy_ema must be in [0, 1), got {self.entropy_ema}")

    @property
    def effective_schedule(self) -> str:
        if self.schedule != "auto":
            return self.schedule
        return "progress" if self.mode == "entropy" else "step"


def _base_constants(cfg: WeightConfig) -> dict[int, float]:
    other = 0.0 if cfg.zero_other else cfg.other
    response = 0.0 if cfg.zero_other else cfg.response
    return {
        Region.OTHER: other,
        Region.FORMAT: cfg.format,
        Region.NAME: cfg.name,
        Region.ARGS: cfg.args,
        Region.THINK: cfg.think,
        Region.RESPONSE: response,
    }


def _inverse_entropy(cfg: WeightConfig, h: float) -> float:
    h = max(float(h), cfg.entropy_floor, cfg.eps)
    if cfg.entropy_transform == "inv":
        return 1.0 / h
    return 1.0 / (1.0 - math.exp(-h))


def entropy_base_weights(cfg: WeightConfig, region_entropy: Mapping[int, float] | None) -> dict[int, float]:
    """Base weights ∝ inverse region entropy, mean 1 over the measured weighted regions.

    Regions with no measurement (not seen yet) keep their constant base weight;
    OTHER/RESPONSE stay 0 when `zero_other`.
    """
    base = _base_constants(cfg)
    weighted = [r for r in ALL_REGIONS if base[r] > 0 or not cfg.zero_other]
    measured = {
        r: _inverse_entropy(cfg, region_entropy[r])
        for r in weighted
        if region_entropy and r in region_entropy and math.isfinite(region_entropy[r])
    }
    if measured:
        mean = sum(measured.values()) / len(measured)
        for r, v in measured.items():
            base[r] = v / (mean + cfg.eps)
    return base


def _grow(base: float, delta: float, cap: float) -> float:
    return base + min(delta, max(0.0, cap - base))


def _decay(base: float, delta: float, floor: float) -> float:
    return base - min(delta, max(0.0, base - floor))


def region_weights(
    cfg: WeightConfig, progress: float, step: int, region_entropy: Mapping[int, float] | None = None
) -> dict[int, float]:
    """Weight of every region at this point of training (before clamp and per-sequence normalisation).

    `progress` is ν = global_step / max_steps in [0, 1]; `step` the global step (the code's schedule unit).
    `region_entropy` (entropy mode) is the smoothed mean entropy per region, e.g. `EntropyTracker.smoothed()`.
    """
    if cfg.mode == "uniform":
        return {r: 1.0 for r in ALL_REGIONS}
    if cfg.mode == "entropy":
        w = entropy_base_weights(cfg, region_entropy)
    else:
        w = _base_constants(cfg)
    schedule = cfg.effective_schedule
    think_cap = min(cfg.w_max, cfg.think_max)
    if schedule == "step":
        s = max(0.0, float(step))
        w[Region.ARGS] = _grow(w[Region.ARGS], cfg.step_increase * s, cfg.w_max)
        w[Region.THINK] = _grow(w[Region.THINK], cfg.step_increase * s, think_cap)
        w[Region.FORMAT] = _decay(w[Region.FORMAT], cfg.format_step_decrease * s, cfg.w_min)
    elif schedule == "progress":
        nu = min(1.0, max(0.0, float(progress)))
        w[Region.ARGS] = _grow(w[Region.ARGS], cfg.alpha_args * nu, cfg.w_max)
        w[Region.THINK] = _grow(w[Region.THINK], cfg.alpha_think * nu, think_cap)
        w[Region.FORMAT] = _decay(w[Region.FORMAT], cfg.alpha_format * nu, cfg.w_min)
    return {int(r): float(v) for r, v in w.items()}


def token_weights(
    regions: Sequence[int],
    region_w: Mapping[int, float],
    cfg: WeightConfig,
    mask: Sequence[int] | None = None,
) -> list[float]:
    """Per-token weights of one sequence: region weight, clamp, then mean 1 over the weighted (w>0) tokens.

    Tokens whose region weighs 0 (or whose `mask` is 0) get 0 and are left out of the mean.
    """
    regions = _as_list(regions)
    raw = [float(region_w.get(r, 0.0)) for r in regions]
    if mask is not None:
        mask = _as_list(mask)
        raw = [w if i < len(mask) and mask[i] else 0.0 for i, w in enumerate(raw)]
    lo, hi = cfg.clamp_min, cfg.clamp_max
    clamped = [min(hi, max(lo, w)) if w > 0 else 0.0 for w in raw]
    pos = [w for w in clamped if w > 0]
    if not pos:
        return clamped
    mean = sum(pos) / len(pos)  # >= clamp_min > 0; eps only guards a degenerate config
    if mean == 1.0:
        return clamped  # exact ones in uniform mode, so the loss is bitwise plain GRPO
    return [w / max(mean, cfg.eps) for w in clamped]


class EntropyTracker:
    """Exponential moving average of each region's mean token entropy across steps.

    `ema` is the weight of the past: s <- ema*s + (1-ema)*x. The first value of a region is taken as is.
    """

    def __init__(self, ema: float = 0.9) -> None:
        if not 0.0 <= ema < 1.0:
            raise ValueError(f"ema must be in [0, 1), got {ema}")
        self.ema = ema
        self._s: dict[int, float] = {}

    @classmethod
    def from_config(cls, cfg: WeightConfig) -> EntropyTracker:
        return cls(cfg.entropy_ema)

    def update(self, region_means: Mapping[int, float]) -> None:
        for r, x in region_means.items():
            x = float(x[0] if isinstance(x, tuple) else x)
            if not math.isfinite(x):
                continue
            r = int(r)
            prev = self._s.get(r)
            self._s[r] = x if prev is None else self.ema * prev + (1.0 - self.ema) * x

    def smoothed(self) -> dict[int, float]:
        return dict(self._s)

    def state_dict(self) -> dict[str, object]:
        return {"ema": self.ema, "smoothed": {str(k): v for k, v in self._s.items()}}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        self.ema = float(state.get("ema", self.ema))  # type: ignore[arg-type]
        self._s = {int(k): float(v) for k, v in dict(state.get("smoothed", {})).items()}  # type: ignore[arg-type]


def _as_list(x):
    return x.tolist() if hasattr(x, "tolist") else x


def region_stats(
    regions: Sequence[Sequence[int]],
    entropies: Sequence[Sequence[float]],
    mask: Sequence[Sequence[int]] | None = None,
) -> dict[int, tuple[float, int]]:
    """Region -> (mean entropy, token count) over a batch; regions without tokens are absent.

    Pairs are taken position by position up to the shorter of each row (padded entropies are fine);
    positions where `mask` is 0 and non-finite entropies are skipped.
    """
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    masks = _as_list(mask) if mask is not None else [None] * len(regions)
    for reg_row, ent_row, m_row in zip(regions, entropies, masks, strict=False):
        reg_row, ent_row = _as_list(reg_row), _as_list(ent_row)
        m_row = _as_list(m_row) if m_row is not None else [1] * len(reg_row)
        for r, h, m in zip(reg_row, ent_row, m_row, strict=False):
            h = float(h)
            if not m or not math.isfinite(h):
                continue
            r = int(r)
            sums[r] = sums.get(r, 0.0) + h
            counts[r] = counts.get(r, 0) + 1
    return {r: (sums[r] / counts[r], counts[r]) for r in sums}
