"""CLARIANT validate: is a model Lorentz invariant/equivariant, how close to the float-precision floor, which layer
breaks it, and do its linear maps obey Schur's lemma. Definitions: docs/validation.md.

    from clariant.validate import sweep, judge, assert_lorentz_invariant, attribute, schur
"""

from . import groups, representations, schur, strategies
from .attribution import Attribution, LayerError, attribute
from .measures import DTYPES, PRECISIONS, Measurement, Sweep, measure, sweep
from .verdict import (
    BROKEN,
    NONFINITE,
    NUMERICAL,
    PASS,
    UNRESOLVED,
    Judgement,
    RowVerdict,
    Verdict,
    assert_lorentz_equivariant,
    assert_lorentz_invariant,
    judge,
)

__all__ = [
    "BROKEN",
    "NONFINITE",
    "UNRESOLVED",
    "Verdict",
    "DTYPES",
    "PRECISIONS",
    "NUMERICAL",
    "PASS",
    "Attribution",
    "Judgement",
    "LayerError",
    "Measurement",
    "RowVerdict",
    "Sweep",
    "assert_lorentz_equivariant",
    "assert_lorentz_invariant",
    "attribute",
    "groups",
    "judge",
    "measure",
    "representations",
    "schur",
    "strategies",
    "sweep",
]
