"""Judging (docs/properties.md, "Verdicts"): must-vanish rows by floor and precision scaling; limit scans by the
fitted power and the plateau.

Must-vanish row (a change an exactly symmetric model shows from rounding alone):
- NONFINITE if any jet's output is inf/NaN;
- UNRESOLVED if the median floor itself is ≥ SATURATED (0.1): the dtype cannot resolve the function, and a
  change within such a floor proves nothing;
- PASS if the median excess Δ/φ is ≤ THRESHOLD (10²) and its p95 ≤ TAIL·THRESHOLD (10⁴) — the same bounds as the
  Lorentz verdict: a correct model's own rounding adds 10–10² over the input-rounding floor for typical jets and up
  to 10³–10⁴ for ill-conditioned ones, a symmetry bug moves every jet 10⁶–10¹⁴ above it;
- otherwise compared with another precision: rounding shrinks with u, so a ratio of p95 changes ≥ √(u_lo/u_hi)
  (the geometric midpoint between rounding and no scaling at all) is NUMERICAL, less is BROKEN. The checks measure
  float32 and float64 (when only one is asked for, the other as an unreported companion, _check.Dtypes); where no
  second precision runs, a median excess > TAIL·THRESHOLD (10⁴, beyond anything rounding explains) is BROKEN,
  less NUMERICAL.
Scan (Δ(t) as t = ε or θ → 0):
- a value is resolved when its median change is ≥ RESOLVE (10) × the median floor (rounding ≤ 10 % of the change,
  which biases a fitted log-slope by < 0.05 per decade);
- SAFE if the change reaches the floor before the smallest t, or still falls there like t^s with s ≥ MIN_POWER;
- UNSAFE if it is resolved at the smallest t and its tail power (last ≥ 1 decade) is < MIN_POWER: a plateau.
MIN_POWER = 0.25: an IR- or collinear-safe observable changes analytically in the soft momentum (power ≥ 1), or like
√ of an invariant quadratic in it (jet mass of a massless jet: power 1/2); an unsafe one does not vanish (power 0).
The cut sits midway between the slowest safe power and a plateau: a tail power fitted over about a decade scatters
by ±0.05–0.1 (rounding, jet-to-jet spread of the median), so a cut at 1/2 itself would call a clean √ε change
UNSAFE about half the time.
"""

from __future__ import annotations

import math

import torch

from ._deps import DEFAULT_THRESHOLD, SATURATED, TAIL, excess_scales, p95, unit_roundoff
from .result import Row, Scan
from .verdicts import PropertyVerdict

#: the Lorentz verdict's bounds (validate/verdict.py), so that a property row and a Lorentz row mean the same
THRESHOLD = DEFAULT_THRESHOLD
RESOLVE = 10.0
MIN_POWER = 0.25


_ALLOWANCE = "within the floor's rounding allowance"  # above the floor, within the PASS bounds: the model's rounding
#: a row or scan whose median floor is saturated
_UNRESOLVABLE = (
    PropertyVerdict.UNRESOLVED,
    f"the floor itself is ≥ {SATURATED}: this dtype cannot resolve the function",
)


def _dtype(name: str) -> torch.dtype:
    return getattr(torch, name)


def _finite_stats(x: torch.Tensor) -> tuple[float, float, float]:
    x = x[torch.isfinite(x)]
    if x.numel() == 0:
        return math.inf, math.inf, math.inf
    return float(x.median()), p95(x), float(x.max())


def _within(excess: torch.Tensor) -> bool:
    return float(excess.median()) <= THRESHOLD and p95(excess) <= TAIL * THRESHOLD


def _excess(change: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """change / floor per jet, 0 where the change is exactly 0."""
    ex = change / floor
    return torch.where(change == 0, torch.zeros_like(ex), ex)


def judge_rows(
    prop: str, check: str, changes: dict[str, torch.Tensor], floors: dict[str, torch.Tensor], units=None
) -> list[Row]:
    """Rows of one must-vanish check: changes and floors `[B]` per dtype name (infinite change = non-finite);
    `units`: the unit roundoff each dtype is judged at, where the model computes in a coarser one (default: the
    dtype's own). Precisions judged at the same unit cannot tell rounding from a bug for each other."""
    unit = {name: (units or {}).get(name) or unit_roundoff(_dtype(name)) for name in changes}
    rows = []
    for name, d in changes.items():
        fl = floors[name]
        finite = torch.isfinite(d)
        bad = int((~finite).sum())
        ex = _excess(d, fl)
        cm, cp, cx = _finite_stats(d)
        fm, fp, _ = _finite_stats(fl)
        em, ep, _ = _finite_stats(ex)
        scaling = expected = None
        if bad:
            v, why = PropertyVerdict.NONFINITE, f"{bad} of {d.numel()} jets give inf/NaN outputs"
        elif fm >= SATURATED:
            v, why = _UNRESOLVABLE
        elif _within(ex):
            v, why = PropertyVerdict.PASS, "within the precision floor" if ep <= 1 else _ALLOWANCE
        else:
            others = [o for o in changes if unit[o] != unit[name] and bool(torch.isfinite(changes[o]).all())]
            if not others and em > TAIL * THRESHOLD:
                v, why = PropertyVerdict.BROKEN, "median change beyond anything rounding explains (no second precision)"
            elif not others:
                v, why = PropertyVerdict.NUMERICAL, "beyond the floor; no second precision to tell rounding from a bug"
            else:
                other = min(others, key=lambda o: abs(math.log(unit[o] / unit[name])))
                lo, hi = sorted((name, other), key=lambda o: -unit[o])
                expected = unit[lo] / unit[hi]
                scaling = p95(changes[lo]) / max(p95(changes[hi]), 1e-300)
                e_lo, e_hi = (_finite_stats(_excess(changes[o], floors[o]))[0] for o in (lo, hi))
                if scaling >= math.sqrt(expected) and not excess_scales(
                    e_lo, e_hi, _finite_stats(floors[lo])[0], _finite_stats(changes[lo])[0], THRESHOLD
                ):
                    v, why = (
                        PropertyVerdict.BROKEN,
                        (
                            f"the change's excess over the floor does not scale with the unit roundoff: median "
                            f"{e_lo:.3g}× in {lo}, {e_hi:.3g}× in {hi} (rounding gives the same excess at every "
                            "precision)"
                        ),
                    )
                elif scaling >= math.sqrt(expected):
                    v, why = PropertyVerdict.NUMERICAL, "beyond the floor, but it shrinks with the unit roundoff"
                else:
                    v, why = PropertyVerdict.BROKEN, "the change does not shrink with the unit roundoff"
        if unit[name] > unit_roundoff(_dtype(name)):
            why += f" (judged at u = {unit[name]:.2g}: the model computes in a coarser dtype inside)"
        rows.append(Row(prop, check, name, v, why, cm, cp, cx, fm, fp, em, ep, bad, scaling, expected))
    return rows


def _slope(t: list[float], c: list[float]) -> float:
    x = torch.tensor([math.log10(v) for v in t], dtype=torch.float64)
    y = torch.tensor([math.log10(v) for v in c], dtype=torch.float64)
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / (x * x).sum())


def judge_scan(
    prop: str, check: str, dtype: str, parameter: str, values, changes: torch.Tensor, floor: torch.Tensor
) -> Scan:
    """Scan of one limit: values descending `[K]`, changes `[K, B]` (inf = non-finite), per-jet floor `[B]`."""
    values = [float(v) for v in values]
    bad = int((~torch.isfinite(changes)).sum())
    cm = [_finite_stats(changes[k])[0] for k in range(len(values))]
    cp = [_finite_stats(changes[k])[1] for k in range(len(values))]
    fl = _finite_stats(floor)[0]
    resolved = [c >= RESOLVE * fl for c in cm]
    idx = [k for k, r in enumerate(resolved) if r and cm[k] > 0]
    power = _slope([values[k] for k in idx], [cm[k] for k in idx]) if len(idx) >= 2 else None
    # the tail: trailing resolved values (ending at the smallest) spanning ≥ 1 decade
    tail = []
    for k in reversed(range(len(values))):
        if not resolved[k] or cm[k] <= 0:
            break
        tail.insert(0, k)
        if len(tail) >= 2 and values[tail[0]] / values[tail[-1]] >= 10 * (1 - 1e-9):
            break
    tail_power = _slope([values[k] for k in tail], [cm[k] for k in tail]) if len(tail) >= 2 else None
    plateau = cm[-1]
    if bad:
        v, why = PropertyVerdict.NONFINITE, f"{bad} of {changes.numel()} (jet, {parameter}) changes are inf/NaN"
    elif fl >= SATURATED:
        v, why = _UNRESOLVABLE
    elif not resolved[-1]:
        v, why = PropertyVerdict.SAFE, f"the change falls to the precision floor as {parameter} → 0"
    elif tail_power is None:
        v, why = PropertyVerdict.UNRESOLVED, f"resolved only at the smallest {parameter}: no power can be fitted"
    elif tail_power >= MIN_POWER:
        v, why = (
            PropertyVerdict.SAFE,
            f"the change still falls like {parameter}^{tail_power:.2f} at the smallest values",
        )
    else:
        v, why = PropertyVerdict.UNSAFE, f"the change plateaus at {plateau:.3g} ≫ the floor {fl:.2g} as {parameter} → 0"
    return Scan(
        prop, check, dtype, parameter, v, why, values, cm, cp, fl, resolved, power, tail_power, plateau, bad, MIN_POWER
    )
