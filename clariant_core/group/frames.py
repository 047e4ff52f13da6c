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

from clariant_core.group.ddouble import DD
from clariant_core.group.lorentz import pauli
from clariant_core.numerics import unit_roundoff


def _timelike(m2: DD, e: torch.Tensor) -> torch.Tensor:
    """P² (computed to ~u² in double-double) clearly above the noise that rounding the momenta puts in it (a rounded
    massless particle, or a set of exactly collinear ones, has |P²| ≤ 4u·E²): below 8·u·E² a jet is light-like to
    working precision. float32 jets stay timelike up to γ ≈ 1400, float64 ones up to γ ≈ 3·10⁷."""
    return m2.value() > 8 * unit_roundoff(e.dtype) * e * e


def to_jet_rest_frame(p: torch.Tensor, mask: torch.Tensor, jet_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Momenta in the rest frame of their jet.

    p: `[B, N, 4]` real (padding rows zero), mask: `[B, N]` bool (rows to transform), jet_mask: `[B, N]` bool, the
    rows whose sum defines the jet (default: mask; e.g. exclude beam particles). Returns `[B, N, 4]` of p's dtype,
    rows outside mask zero. For P = (E, P⃗) with m² = P² > 0 the boost is Λ = [[E/m, −P⃗ᵀ/m], [−P⃗/m, 1 + P⃗P⃗ᵀ/(m(E+m))]]:
    E' = P·p/m, p⃗' = p⃗ + P⃗ ((P⃗·p⃗)/(m(E+m)) − p⁰/m), evaluated in double-double arithmetic (see _rest_frame_dd).
    Where m² ≤ 8·u·E² (zero to working precision) — a single massless particle, or exactly collinear massless
    ones, whose invariants all vanish — the jet is boosted along −P̂ to energy 1 (in p's units): a light-like P has
    no rest frame, and every invariant of such a jet is zero in any frame.
    """
    w = mask.to(p.dtype)[..., None]
    wj = w if jet_mask is None else jet_mask.to(p.dtype)[..., None]
    total = (p * wj).sum(-2)  # [B, 4]
    e = total[..., 0]
    vec = total[..., 1:]
    # P·P and every P·p_i in one double-double pass (P as an extra row in front)
    dots = _minkowski_dd(total[:, None, :], torch.cat([total[:, None, :], p], 1))
    m2 = dots[:, 0]
    timelike = _timelike(m2, e)
    rest = _rest_frame_dd(p, total, m2, dots[:, 1:], timelike)
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


def _minkowski_dd(a: torch.Tensor, b: torch.Tensor) -> DD:
    """a·b in double-double from working-precision four-vectors (broadcast over leading axes): the four exact
    products, then a pairwise double-double sum."""
    eta = torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=a.dtype, device=a.device)
    terms = DD.product(a * eta, b)  # [..., 4]; a·η is exact
    half = terms[..., :2] + terms[..., 2:]
    return half[..., 0] + half[..., 1]


def _rest_frame_dd(p: torch.Tensor, total: torch.Tensor, m2: DD, pdot: DD, timelike: torch.Tensor) -> torch.Tensor:
    """The boost to the rest frame of the *computed* P = total, in double-double, rounded once.

    m, P·p and the boost's coefficient all cancel catastrophically for a boosted jet (relative losses ~γ²); computed
    to ~u² from the same rounded P, the transformation is Lorentz to ~u²γ² — exactly what the invariant network
    needs (a slightly wrong P only moves the frame; an inconsistent m would distort it). The coefficient is
    written without cancellation: (P⃗·p⃗)/(m(E+m)) − p⁰/m = −(P·p + p⁰m)/(m(E+m)). pdot: P·p_i `[B, N]`. Vectorised
    over components, and the two reciprocals share one division (a few hundred elementwise operations per call,
    whatever the batch)."""
    one = torch.ones_like(m2.hi)
    m = DD(torch.where(timelike, m2.hi, one), torch.where(timelike, m2.lo, 0 * one)).sqrt()
    den = m * (DD(total[..., 0]) + m)  # m(E+m)
    inv = DD(torch.ones_like(one)[:, None].expand(-1, 2)) / DD(
        torch.stack([m.hi, den.hi], -1), torch.stack([m.lo, den.lo], -1)
    )
    inv_m, inv_den = inv[:, 0], inv[:, 1]  # 1/m, 1/(m(E+m))
    e_rest = (pdot * inv_m[:, None]).value()
    coef = -((pdot + DD(p[..., 0]) * m[:, None]) * inv_den[:, None])
    spatial = (DD(p[..., 1:]) + coef[..., None] * DD(total[:, None, 1:])).value()
    return torch.cat([e_rest[..., None], spatial], -1)


def jet_frame_sl2c(p: torch.Tensor, mask: torch.Tensor, jet_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The SL(2,C) element L `[B, 2, 2]` with to_so13(L) p = to_jet_rest_frame(p, mask, jet_mask) (complex of p's
    precision). For m² > 0: L = exp(−y P̂·σ/2) = √((E+m)/2m)·1 − P⃗·σ/√(2m(E+m)); light-like: y = log E."""
    w = (mask if jet_mask is None else jet_mask).to(p.dtype)[..., None]
    total = (p * w).sum(-2)
    e, vec = total[..., 0], total[..., 1:]
    m2 = _minkowski_dd(total, total)
    timelike = _timelike(m2, e)
    m = torch.sqrt(torch.where(timelike, m2.value(), torch.ones_like(e)))
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
