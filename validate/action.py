"""The group action the suite applies: transformations as SL(2,C) elements (and Λ), on inputs and on outputs.

Inputs: Λx from the SL(2,C) element in double-double, rounded once to float64 (validate/exact.py); a user-given real
Λ is applied in float64 (it is itself Lorentz only to ~u‖Λ‖², which the errors then include). Outputs: ρ_out(M) f(x)
with a bound on the suite's own float64 rounding of it, so the suite never charges its arithmetic to the model.
"""

from __future__ import annotations

import torch

import clariant_core as cc

from .exact import lorentz_apply
from .groups import check_lorentz

_TINY = torch.finfo(torch.float64).tiny


def as_transforms(transforms: torch.Tensor, out_rep: cc.Rep) -> tuple[torch.Tensor | None, torch.Tensor]:
    """(M complex128 `[T, 2, 2]` or None, Λ float64 `[T, 4, 4]`) from SL(2,C) `[T, 2, 2]` or real Λ `[T, 4, 4]`
    (only for outputs whose representation is a function of Λ: `Rep.lorentz_matrix`)."""
    if not isinstance(transforms, torch.Tensor):
        raise ValueError(f"transforms must be a tensor [T, 2, 2] (SL(2,C)) or [T, 4, 4] (Λ), got {type(transforms)}")
    if transforms.ndim == 2:
        transforms = transforms[None]
    if transforms.shape[-2:] == (2, 2) and transforms.ndim == 3:
        m = cc.check_sl2c(transforms.to(torch.complex128), "transforms")
        lam = cc.to_so13(m)
    elif transforms.shape[-2:] == (4, 4) and transforms.ndim == 3:
        if out_rep.needs_sl2c:
            raise ValueError(f"'{out_rep}' outputs need SL(2,C) transformations [T, 2, 2], not Λ")
        m, lam = None, transforms.to(torch.float64)
    else:
        raise ValueError(f"transforms must be [T, 2, 2] SL(2,C) or [T, 4, 4] Λ, got {tuple(transforms.shape)}")
    check_lorentz(lam, "transform")
    return m, lam


def transformed(m: torch.Tensor | None, lam: torch.Tensor, x64: torch.Tensor) -> torch.Tensor:
    """Λx `[T, B, N, 4]` float64: from SL(2,C) elements in double-double, rounded once; a real Λ in float64.
    Zero rows (padding) stay exactly zero and are not computed."""
    if m is None:
        return torch.einsum("tij,bnj->tbni", lam, x64)
    rows = (x64 != 0).any(-1)
    if bool(rows.all()):
        return lorentz_apply(m, x64)
    out = x64.new_zeros((m.shape[0], *x64.shape))
    out[:, rows] = lorentz_apply(m, x64[rows])
    return out


def matrices(out_rep: cc.Rep, m: torch.Tensor | None, lam: torch.Tensor) -> torch.Tensor | None:
    """ρ_out per transformation `[T, dim, dim]` (real for real representations): Λ itself for four-vectors (already
    computed, or as the user gave it), else from M; None for invariants (the identity, on any number of components)."""
    if out_rep.is_invariant:
        return None
    return out_rep.matrix(m) if out_rep.needs_sl2c else out_rep.lorentz_matrix(lam)


def act(out_rep: cc.Rep, m: torch.Tensor | None, lam: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """ρ_out x on the last axis, one transformation per leading index: x `[T, B, ..., dim]` (or broadcastable).
    Computed in the wider of ρ's and x's types (complex if either is)."""
    r = matrices(out_rep, m, lam)
    if r is None:
        return x
    r = r.to(x.dtype if x.is_complex() or not r.is_complex() else r.dtype)
    x = x.to(r.dtype)
    shape = (r.shape[0],) + (1,) * (x.ndim - 2) + r.shape[-2:]
    return (r.reshape(shape) @ x[..., None])[..., 0]


_MAX = torch.finfo(torch.float64).max


def relative(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / max(den, tiny) for norms; a finite ratio too large for float64 (an output that is exactly zero in one
    frame and not in the other) is float64's largest number, never inf; non-finite norms give inf (never NaN)."""
    ok = torch.isfinite(num) & torch.isfinite(den)
    return torch.where(ok, (num / den.clamp_min(_TINY)).clamp_max(_MAX), torch.full_like(num, float("inf")))


def norm(x: torch.Tensor) -> torch.Tensor:
    """‖x‖₂ over everything after the two leading axes `[T, B, ...]` → `[T, B]`."""
    return torch.linalg.vector_norm(x.reshape(x.shape[0], x.shape[1], -1), dim=-1)


def expected(out_rep: cc.Rep, m, lam, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | float]:
    """ρ(M) f(x) `[T, B, ...]` and a bound on its own float64 rounding relative to its norm (0 where exact).

    Invariants: f(x). Four-vectors given as SL(2,C): Λf(x) in double-double, rounded once (validate/exact.py).
    Otherwise a float64 product, whose rounding u₆₄‖|ρ||f|‖ / ‖ρf‖ grows with the conditioning of ρ(M)
    (e^{(k+n)|y|/2} per irrep)."""
    t = lam.shape[0]
    if out_rep.is_invariant:
        return ref.expand(t, *ref.shape), 0.0
    if out_rep == cc.VECTOR and m is not None:  # the exact action of M on Minkowski components
        return lorentz_apply(m, ref), 0.0
    out = act(out_rep, m, lam, ref.expand(t, *ref.shape))
    r = matrices(out_rep, m, lam).abs()  # [T, dim, dim]
    mags = (r.reshape(t, *(1,) * (ref.ndim - 1), *r.shape[-2:]) @ ref.abs().to(r.dtype)[..., None])[..., 0]
    bound = cc.unit_roundoff(torch.float64) * norm(mags) / norm(out).clamp_min(_TINY)
    return out, bound


__all__ = ["act", "as_transforms", "expected", "matrices", "norm", "relative", "transformed"]
