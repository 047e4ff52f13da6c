"""Hypothesis strategies for Lorentz-group elements (the start of the suite's strategy library).

Elements are built from bounded parameters so hypothesis shrinks them toward the identity (zero angles/rapidities).
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

import clariant_core as cc

__all__ = ["directions", "irreps", "jets", "random_jets", "sl2c_elements"]


def directions() -> st.SearchStrategy[tuple[float, float, float]]:
    """Unit 3-vectors (x, y, z), from spherical angles."""
    return st.tuples(st.floats(-1.0, 1.0), st.floats(0.0, 2 * math.pi)).map(
        lambda t: (math.sqrt(1 - t[0] ** 2) * math.cos(t[1]), math.sqrt(1 - t[0] ** 2) * math.sin(t[1]), t[0])
    )


def sl2c_elements(max_rapidity: float = 2.0, dtype: torch.dtype = torch.complex128) -> st.SearchStrategy[torch.Tensor]:
    """SL(2,C) elements `M = B(y n̂) R(θ m̂)` `[2, 2]`, rapidity |y| ≤ max_rapidity, any rotation.
    Built in complex128 and rounded once to `dtype`."""
    if not math.isfinite(max_rapidity) or max_rapidity < 0:
        raise ValueError(f"max_rapidity must be finite and ≥ 0, got {max_rapidity}")

    def build(args):
        bdir, y, rdir, theta = args
        b = cc.sl2c(boost=[y * c for c in bdir])
        r = cc.sl2c(rotation=[theta * c for c in rdir])
        return (b @ r).to(dtype)

    return st.tuples(
        directions(), st.floats(-max_rapidity, max_rapidity), directions(), st.floats(-2 * math.pi, 2 * math.pi)
    ).map(build)


def irreps(max_label: int = 4) -> st.SearchStrategy[cc.Irrep]:
    """Irreps (k, n) with k, n ≤ max_label."""
    return st.builds(cc.Irrep, st.integers(0, max_label), st.integers(0, max_label))


def random_jets(
    batch: int,
    num_particles: int,
    *,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    min_particles: int = 1,
    jet_pt: float = 600.0,
    spread: float = 0.25,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random collimated jets of massless constituents, zero-padded.

    Each jet has a random axis (|η| < 2, any φ), a multiplicity uniform in [min_particles, num_particles], constituent
    (η, φ) offsets ~ N(0, spread²) and exponentially distributed pT summing to ~jet_pt GeV, sorted by pT.
    Returns p `[batch, num_particles, 4]` (E, px, py, pz) in `dtype` and mask `[batch, num_particles]` bool.
    """
    if not 1 <= min_particles <= num_particles:
        raise ValueError(f"need 1 ≤ min_particles ≤ num_particles, got {min_particles}, {num_particles}")
    g = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    n = torch.randint(min_particles, num_particles + 1, (batch,), generator=g)
    mask = torch.arange(num_particles)[None, :] < n[:, None]
    eta0 = (torch.rand(batch, 1, generator=g, dtype=f64) * 2 - 1) * 2
    phi0 = (torch.rand(batch, 1, generator=g, dtype=f64) * 2 - 1) * math.pi
    eta = eta0 + torch.randn(batch, num_particles, generator=g, dtype=f64) * spread
    phi = phi0 + torch.randn(batch, num_particles, generator=g, dtype=f64) * spread
    pt = -torch.log(torch.rand(batch, num_particles, generator=g, dtype=f64))
    pt = torch.where(mask, pt, torch.zeros_like(pt))
    pt = pt / pt.sum(1, keepdim=True) * jet_pt
    pt, order = pt.sort(dim=1, descending=True)
    eta, phi = eta.gather(1, order), phi.gather(1, order)
    p = torch.stack([pt * torch.cosh(eta), pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(eta)], -1)
    p = p * mask[..., None]
    return p.to(dtype), mask


def jets(
    max_batch: int = 4, max_particles: int = 30, dtype: torch.dtype = torch.float64
) -> st.SearchStrategy[tuple[torch.Tensor, torch.Tensor]]:
    """Random collimated jets `(p [B, N, 4], mask [B, N])` with variable multiplicity and zero padding."""
    return st.builds(
        lambda b, n, seed: random_jets(b, n, seed=seed, dtype=dtype),
        st.integers(1, max_batch),
        st.integers(1, max_particles),
        st.integers(0, 2**31 - 1),
    )
