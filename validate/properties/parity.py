"""Parity (E, p⃗) → (E, −p⃗), measured as a property of the model: EVEN (f(Px) = f(x) to the precision floor), ODD
(f(Px) = −f(x), e.g. invariants built with ε_μνρσ, which are Lorentz invariant under SO⁺(1,3) yet flip sign), or
NEITHER (docs/properties.md)."""

from __future__ import annotations

import torch

import clariant_core as cc

from ._check import finish, judged_outputs, rows_for, start
from ._deps import unit_roundoff
from .perturb import parity
from .result import PropertyResult
from .verdicts import HOLDS, PropertyVerdict

NAME = "parity"
EVEN_CHECK, ODD_CHECK = "f(Px) − f(x)", "f(Px) + f(x)"
EVEN_VECTOR, ODD_VECTOR = "f(Px) − P f(x)", "f(Px) + P f(x)"  # four-vector outputs


def _vector_parity(z: torch.Tensor) -> torch.Tensor:
    """P acting on four-vector outputs `[B, 4]`: compares P f(Px) with f(x), which is ‖f(Px) − P f(x)‖ (P keeps
    the Euclidean norm)."""
    if z.shape[-1] != 4:
        raise ValueError(f"out_rep='vector' needs four-vector outputs [B, 4], got {z.shape[-1]} numbers per jet")
    return z * torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=z.dtype)


def check_parity(model, p, mask, *, dtypes=None, out_rep="scalar", **context_kw) -> PropertyResult:
    """Rows of the even residual ‖f(Px) − f(x)‖/s and the odd residual ‖f(Px) + f(x)‖/s per dtype, each judged as a
    must-vanish change; the classification per dtype is EVEN if the even residual holds (PASS or NUMERICAL), else
    ODD if the odd one does, else NEITHER (NONFINITE/UNRESOLVED pass through). The property's verdict is the
    classification at the highest precision measured. `out_rep="vector"`: a four-vector output, compared with
    P f(x) = (f⁰, −f⃗) — EVEN is then a true (polar) vector, ODD an axial one."""
    rep = cc.Rep.parse(out_rep)
    if not (rep.is_invariant or rep == cc.VECTOR):
        raise ValueError(
            f"parity is checked for scalar and four-vector outputs (out_rep 'scalar' or 'vector'), not {rep}"
        )
    ctx, dts, skipped, t0 = start(model, p, mask, dtypes, context_kw)
    pp = parity(ctx.p)
    act = (lambda z: z) if rep.is_invariant else _vector_parity
    outs = judged_outputs(dts, lambda dt: act(ctx.eval(dt, pp, ctx.mask)))
    even_check, odd_check = (EVEN_CHECK, ODD_CHECK) if rep.is_invariant else (EVEN_VECTOR, ODD_VECTOR)
    even = rows_for(ctx, dts, NAME, even_check, outs.__getitem__)
    odd = rows_for(ctx, dts, NAME, odd_check, outs.__getitem__, sign=-1.0)
    per_dtype = {}
    for e, o in zip(even, odd):
        if e.verdict in HOLDS:
            per_dtype[e.dtype] = PropertyVerdict.EVEN
        elif o.verdict in HOLDS:
            per_dtype[e.dtype] = PropertyVerdict.ODD
        elif PropertyVerdict.NONFINITE in (e.verdict, o.verdict):
            per_dtype[e.dtype] = PropertyVerdict.NONFINITE
        elif PropertyVerdict.UNRESOLVED in (e.verdict, o.verdict):  # the one that might hold cannot say: no claim
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
        even = max((r for r in result.rows if r.check in (EVEN_CHECK, EVEN_VECTOR)), key=lambda r: r.excess_p95)
        raise AssertionError(f"parity invariance: the model is {result.verdict}: {even.line()}")
    return result
