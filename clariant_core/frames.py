"""Frames fixed by the jet itself: a covariant choice of Lorentz frame for numerically stable evaluation.

An exactly invariant function g satisfies g(x) = g(L(x) x) for any L(x) ∈ SO⁺(1,3). If L is *covariant*,
L(Λx) = R(Λ, x) L(x) Λ⁻¹ with R a rotation, then L(Λx)Λx = R L(x)x: the momenta fed to g differ only by a
(well-conditioned, unitary) rotation however large the boost Λ was. Evaluating g in that frame confines the boost's
ill-conditioning to the single, first-order computation of L(x)x (error ~ u·e^{2|y|}, the precision floor of the
input) instead of letting it grow through every polynomial layer of the network.

The jet rest frame is such a frame: L(x) is the pure boost taking the jet momentum P = Σ p_i to (m, 0, 0, 0).
"""

from __future__ import annotations

import torch

from ._dtypes import unit_roundoff
from .lorentz import minkowski_dot, pauli


def _timelike(m2: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """P² clearly above its rounding level (64·u·E²): below it a jet is light-like to working precision."""
    return m2 > 64 * unit_roundoff(m2.dtype) * e * e


def to_jet_rest_frame(p: torch.Tensor, mask: torch.Tensor, jet_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Momenta in the rest frame of their jet.

    p: `[B, N, 4]` real (padding rows zero), mask: `[B, N]` bool (rows to transform), jet_mask: `[B, N]` bool, the
    rows whose sum defines the jet (default: mask; e.g. exclude beam particles). Returns `[B, N, 4]` of p's dtype,
    rows outside mask zero. For P = (E, P⃗) with m² = P² > 0 the boost is Λ = [[E/m, −P⃗ᵀ/m], [−P⃗/m, 1 + P⃗P⃗ᵀ/(m(E+m))]]:
    E' = P·p/m, p⃗' = p⃗ + P⃗ ((P⃗·p⃗)/(m(E+m)) − p⁰/m). Where m² ≤ 64·u·E² (zero to working precision) —
    a single massless particle, or exactly
    collinear massless ones, whose invariants all vanish — the jet is boosted along −P̂ to energy 1 (in p's units):
    a light-like P has no rest frame, and every invariant of such a jet is zero in any frame.
    """
    w = mask.to(p.dtype)[..., None]
    wj = w if jet_mask is None else jet_mask.to(p.dtype)[..., None]
    total = (p * wj).sum(-2)  # [B, 4]
    e = total[..., 0]
    vec = total[..., 1:]
    m2 = minkowski_dot(total, total)
    timelike = _timelike(m2, e)
    m = torch.sqrt(torch.where(timelike, m2, torch.ones_like(m2)))
    pdot = minkowski_dot(total[:, None, :], p)  # P·p [B, N]
    vdot = (vec[:, None, :] * p[..., 1:]).sum(-1)  # P⃗·p⃗
    e_rest = pdot / m[:, None]
    coef = vdot / (m * (e + m))[:, None] - p[..., 0] / m[:, None]
    rest = torch.cat([e_rest[..., None], p[..., 1:] + coef[..., None] * vec[:, None, :]], -1)
    # light-like fallback: boost along −P̂ by rapidity log(E) → energy 1
    pnorm = torch.linalg.vector_norm(vec, dim=-1).clamp_min(torch.finfo(p.dtype).tiny)
    nhat = vec / pnorm[:, None]
    scale = torch.where(e > 0, e, torch.ones_like(e))
    ch, sh = (scale + 1 / scale) / 2, (scale - 1 / scale) / 2  # cosh, sinh of log(scale)
    par = (p[..., 1:] * nhat[:, None, :]).sum(-1)
    e_ll = ch[:, None] * p[..., 0] - sh[:, None] * par
    par_ll = ch[:, None] * par - sh[:, None] * p[..., 0]
    ll = torch.cat([e_ll[..., None], p[..., 1:] + (par_ll - par)[..., None] * nhat[:, None, :]], -1)
    out = torch.where(timelike[:, None, None], rest, ll)
    return out * w


def jet_frame_sl2c(p: torch.Tensor, mask: torch.Tensor, jet_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The SL(2,C) element L `[B, 2, 2]` with to_so13(L) p = to_jet_rest_frame(p, mask, jet_mask) (complex of p's
    precision). For m² > 0: L = exp(−y P̂·σ/2) = √((E+m)/2m)·1 − P⃗·σ/√(2m(E+m)); light-like: y = log E."""
    w = (mask if jet_mask is None else jet_mask).to(p.dtype)[..., None]
    total = (p * w).sum(-2)
    e, vec = total[..., 0], total[..., 1:]
    m2 = minkowski_dot(total, total)
    timelike = _timelike(m2, e)
    m = torch.sqrt(torch.where(timelike, m2, torch.ones_like(m2)))
    c_rest = torch.sqrt((e + m) / (2 * m))
    s_rest = 1 / torch.sqrt(2 * m * (e + m))  # multiplies P⃗
    pnorm = torch.linalg.vector_norm(vec, dim=-1).clamp_min(torch.finfo(p.dtype).tiny)
    scale = torch.where(e > 0, e, torch.ones_like(e))
    c_ll = (torch.sqrt(scale) + 1 / torch.sqrt(scale)) / 2
    s_ll = (torch.sqrt(scale) - 1 / torch.sqrt(scale)) / 2 / pnorm
    c = torch.where(timelike, c_rest, c_ll)
    s = torch.where(timelike, s_rest, s_ll)
    sig = pauli(p.dtype, p.device)
    a = (s[..., None] * vec).to(sig.dtype)
    return c[..., None, None].to(sig.dtype) * sig[0] - torch.einsum("...i,ijk->...jk", a, sig[1:])
