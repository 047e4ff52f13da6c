"""The closed vocabulary of the property checks: verdicts of a must-vanish change and property words.

Members are `str` subclasses, so they compare equal to, print as and serialise to their plain words ("PASS", …).
"""

from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    """Verdict of one row (one check at one dtype) or of one property.

    Must-vanish changes (permutation, padding, exact collinear splits, parity residuals):
      PASS — within the precision floor; NUMERICAL — beyond it, but it shrinks with the unit roundoff (rounding
      amplified, not a symmetry bug); BROKEN — it does not shrink with the unit roundoff.
    Either kind: UNRESOLVED — the dtype cannot resolve the function (its floor is O(1)) or too few points resolve a
      power; NONFINITE — the model returned inf/NaN on some jets.
    Scans (infrared, near-collinear): SAFE — the change vanishes like a power ≥ the bound, or reaches the floor;
      UNSAFE — it plateaus far above the floor.
    Parity: EVEN — f(Px) = f(x) to the floor; ODD — f(Px) = −f(x) to the floor; NEITHER.
    """

    PASS = "PASS"
    NUMERICAL = "NUMERICAL"
    BROKEN = "BROKEN"
    UNRESOLVED = "UNRESOLVED"
    NONFINITE = "NONFINITE"
    SAFE = "SAFE"
    UNSAFE = "UNSAFE"
    EVEN = "EVEN"
    ODD = "ODD"
    NEITHER = "NEITHER"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


# worst first wins when rows are combined into a property's verdict
_SEVERITY = {
    Verdict.PASS: 0,
    Verdict.SAFE: 0,
    Verdict.EVEN: 0,
    Verdict.ODD: 0,
    Verdict.NEITHER: 0,
    Verdict.UNRESOLVED: 1,
    Verdict.NUMERICAL: 2,
    Verdict.NONFINITE: 3,
    Verdict.BROKEN: 4,
    Verdict.UNSAFE: 4,
}

#: verdicts that mean "the property holds (up to rounding)"
HOLDS = frozenset({Verdict.PASS, Verdict.NUMERICAL, Verdict.SAFE})


def worst(verdicts, default: Verdict = Verdict.PASS) -> Verdict:
    """The most severe of `verdicts` (BROKEN/UNSAFE > NONFINITE > NUMERICAL > UNRESOLVED > the rest)."""
    vs = [Verdict(v) for v in verdicts]
    return max(vs, key=_SEVERITY.__getitem__) if vs else default


def as_safety(v: Verdict) -> Verdict:
    """A must-vanish verdict in safety words: PASS/NUMERICAL → SAFE, BROKEN → UNSAFE, others unchanged."""
    v = Verdict(v)
    if v in (Verdict.PASS, Verdict.NUMERICAL):
        return Verdict.SAFE
    if v == Verdict.BROKEN:
        return Verdict.UNSAFE
    return v
