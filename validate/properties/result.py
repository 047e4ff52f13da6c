"""Results of the property checks: plain data, JSON-serialisable through `to_dict()`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from .verdicts import PropertyVerdict


@dataclass(frozen=True)
class Row:
    """One must-vanish change (a perturbation that must leave the output unchanged) at one dtype.

    change_*: statistics over jets of Δ_b = ‖f(x') − f(x)‖/s_b (finite jets); floor_*: of the floor φ_b;
    excess_*: of Δ_b/φ_b. scaling: the change's p95 at the lower precision over the higher one (None without a
    second precision); expected_scaling: u_lo/u_hi, what rounding gives."""

    property: str
    check: str
    dtype: str
    verdict: PropertyVerdict
    reason: str
    change_median: float
    change_p95: float
    change_max: float
    floor_median: float
    floor_p95: float
    excess_median: float
    excess_p95: float
    nonfinite: int = 0
    scaling: float | None = None
    expected_scaling: float | None = None

    def line(self) -> str:
        s = (
            f"{self.dtype} {self.check}: change p95 {self.change_p95:.3g} = {self.excess_p95:.3g}× the precision "
            f"floor (median {self.change_median:.3g})"
        )
        if self.nonfinite:
            s += f"; {self.nonfinite} jets with non-finite outputs"
        if self.scaling is not None:
            s += f"; lower precision scales it {self.scaling:.3g}× (rounding would give {self.expected_scaling:.3g}×)"
        return s + _why(self)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Scan:
    """A change that must vanish in a limit (soft fraction ε → 0, opening angle θ → 0) at one dtype.

    values: the parameter, descending; change_median/change_p95 per value over jets; floor: median floor;
    resolved: change_median ≥ RESOLVE·floor; power: least-squares slope of log Δ vs log parameter over the resolved
    values (None if < 2); tail_power: the same over the smallest resolved values spanning ≥ 1 decade; plateau: the
    median change at the smallest value."""

    property: str
    check: str
    dtype: str
    parameter: str
    verdict: PropertyVerdict
    reason: str
    values: list[float]
    change_median: list[float]
    change_p95: list[float]
    floor: float
    resolved: list[bool]
    power: float | None
    tail_power: float | None
    plateau: float
    nonfinite: int = 0
    min_power: float = 0.25

    def line(self) -> str:
        lo, hi = min(self.values), max(self.values)
        pw, tail = (_power(x) for x in (self.power, self.tail_power))
        s = (
            f"{self.dtype} {self.check}: change at {self.parameter} = {lo:.2g} is {self.plateau:.3g} "
            f"(floor {self.floor:.2g}); fitted power {pw} over {self.parameter} {hi:.2g}…{lo:.2g}, "
            f"{tail} at the smallest (bound {self.min_power:g})"
        )
        if self.nonfinite:
            s += f"; {self.nonfinite} non-finite changes"
        return s + _why(self)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PropertyResult:
    """One property (permutation, padding, infrared, collinear, parity) of one model."""

    name: str
    verdict: PropertyVerdict
    rows: list[Row] = field(default_factory=list)
    scans: list[Scan] = field(default_factory=list)
    by_dtype: dict[str, PropertyVerdict] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""

    def worst_line(self) -> str:
        """The line of the row or scan that decided the verdict."""
        cands = [r for r in [*self.rows, *self.scans] if r.verdict == self.verdict]
        if not cands:  # a classification (parity: EVEN/ODD/NEITHER) over PASS/BROKEN rows: the largest change
            finite = [r for r in self.rows if math.isfinite(r.excess_p95)]
            return max(finite, key=lambda r: r.excess_p95).line() if finite else ""
        if all(isinstance(c, Row) for c in cands):
            return max(cands, key=lambda r: r.excess_p95).line()
        return cands[0].line()

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            "by_dtype": {k: v.value for k, v in self.by_dtype.items()},
            "rows": [r.to_dict() for r in self.rows],
            "scans": [s.to_dict() for s in self.scans],
            "skipped": dict(self.skipped),
            "seconds": self.seconds,
            "note": self.note,
        }


def _power(x: float | None) -> str:
    """A fitted power for messages: 2 decimals, no "-0.00"."""
    return "—" if x is None else f"{x:.2f}".replace("-0.00", "0.00")


def _why(item) -> str:
    """An UNRESOLVED row's or scan's reason, for its line: what it cannot say, and why."""
    return f" — {item.reason}" if item.verdict == PropertyVerdict.UNRESOLVED and item.reason else ""
