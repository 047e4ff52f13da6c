"""Parity (E, p⃗) → (E, −p⃗), measured as a property of the model: EVEN (f(Px) = f(x) to the precision floor), ODD
(f(Px) = −f(x), e.g. invariants built with ε_μνρσ, which are Lorentz invariant under SO⁺(1,3) yet flip sign), or
NEITHER (docs/properties.md)."""

from __future__ import annotations

import torch

from ._check import finish, rows_for, start
from ._deps import unit_roundoff
from .perturb import parity
from .result import PropertyResult
from .verdicts import HOLDS, PropertyVerdict

NAME = "parity"
EVEN_CHECK, ODD_CHECK = "f(Px) − f(x)", "f(Px) + f(x)"


def check_parity(model, p, mask, *, dtypes=None, **context_kw) -> PropertyResult:
    """Rows of the even residual ‖f(Px) − f(x)‖/s and the odd residual ‖f(Px) + f(x)‖/s per dtype, each judged as a
    must-vanish change; the classification per dtype is EVEN if the even residual holds (PASS or NUMERICAL), else
    ODD if the odd one does, else NEITHER (NONFINITE/UNRESOLVED pass through). The property's verdict is the
    classification at the highest precision measured."""
    ctx, dts, skipped, t0 = start(model, p, mask, dtypes, context_kw)
    pp = parity(ctx.p)
    outs = {dt: ctx.eval(dt, pp, ctx.mask) for dt in dts.judged}
    even = rows_for(ctx, dts, NAME, EVEN_CHECK, outs.__getitem__)
    odd = rows_for(ctx, dts, NAME, ODD_CHECK, outs.__getitem__, sign=-1.0)
    per_dtype = {}
    for e, o in zip(even, odd):
        if e.verdict in HOLDS:
            per_dtype[e.dtype] = PropertyVerdict.EVEN
        elif o.verdict in HOLDS:
            per_dtype[e.dtype] = PropertyVerdict.ODD
        elif PropertyVerdict.NONFINITE in (e.verdict, o.verdict):
            per_dtype[e.dtype] = PropertyVerdict.NONFINITE
        elif e.verdict == PropertyVerdict.UNRESOLVED:
            per_dtype[e.dtype] = PropertyVerdict.UNRESOLVED
        else:
            per_dtype[e.dtype] = PropertyVerdict.NEITHER
    top = min(per_dtype, key=lambda k: unit_roundoff(getattr(torch, k)))
    note = ""
    if len(set(per_dtype.values())) > 1:
        note = "precisions disagree: " + ", ".join(f"{k} {v}" for k, v in per_dtype.items())
    return finish(NAME, [*even, *odd], [], skipped, t0, verdict=per_dtype[top], note=note, per_dtype=per_dtype)


def assert_parity_invariant(model, p, mask, **kw) -> PropertyResult:
    """Assert that the model is parity-EVEN (f(E, −p⃗) = f(E, p⃗) to the floor); one-line AssertionError otherwise."""
    __tracebackhide__ = True
    result = check_parity(model, p, mask, **kw)
    if result.verdict != PropertyVerdict.EVEN:
        even = max((r for r in result.rows if r.check == EVEN_CHECK), key=lambda r: r.excess_p95)
        raise AssertionError(f"parity invariance: the model is {result.verdict}: {even.line()}")
    return result
