"""The closed vocabulary of the property checks: verdicts of a must-vanish change and property words
(docs/properties.md, "Verdicts").

Members compare equal to, print as and serialise to their plain words ("PASS", …), like the Lorentz `Verdict`'s, but the
two are distinct types (`clariant.validate.verdict.VerdictWord`): comparing one with the other raises TypeError.
"""

from __future__ import annotations

from ..verdict import VerdictWord


class PropertyVerdict(VerdictWord):
    """Verdict of one row (one check at one dtype) or of one property.

    Not the Lorentz `clariant.validate.Verdict`: it holds more words (safety and parity outcomes), its shared words are
    combined differently (`worst`: UNRESOLVED counts against a property, BROKEN/UNSAFE rank above NONFINITE; EVEN/ODD
    are classifications, not grades), and no Lorentz gate (`--lorentz-fail-on`, the CLI's exit code) reads it.

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


# worst first wins when rows are combined into a property's verdict
_SEVERITY = {
    PropertyVerdict.PASS: 0,
    PropertyVerdict.SAFE: 0,
    PropertyVerdict.EVEN: 0,
    PropertyVerdict.ODD: 0,
    PropertyVerdict.NEITHER: 0,
    PropertyVerdict.UNRESOLVED: 1,
    PropertyVerdict.NUMERICAL: 2,
    PropertyVerdict.NONFINITE: 3,
    PropertyVerdict.BROKEN: 4,
    PropertyVerdict.UNSAFE: 4,
}

#: verdicts that mean "the property holds (up to rounding)"
HOLDS = frozenset({PropertyVerdict.PASS, PropertyVerdict.NUMERICAL, PropertyVerdict.SAFE})


def worst(verdicts, default: PropertyVerdict = PropertyVerdict.PASS) -> PropertyVerdict:
    """The most severe of `verdicts` (BROKEN/UNSAFE > NONFINITE > NUMERICAL > UNRESOLVED > the rest)."""
    vs = [PropertyVerdict.of(v) for v in verdicts]
    return max(vs, key=_SEVERITY.__getitem__) if vs else default


def as_safety(v: PropertyVerdict) -> PropertyVerdict:
    """A must-vanish verdict in safety words: PASS/NUMERICAL → SAFE, BROKEN → UNSAFE, others unchanged."""
    v = PropertyVerdict.of(v)
    if v in (PropertyVerdict.PASS, PropertyVerdict.NUMERICAL):
        return PropertyVerdict.SAFE
    if v == PropertyVerdict.BROKEN:
        return PropertyVerdict.UNSAFE
    return v
