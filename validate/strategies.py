"""Hypothesis strategies for Lorentz-group elements, four-momenta and jets.

Every strategy is built from bounded floats, so hypothesis shrinks toward the identity (zero angles and rapidities),
toward small momenta and toward few particles. Generated Λ are checked (ΛᵀηΛ = η, det +1, Λ⁰₀ ≥ 1).
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

import clariant_core as cc

from .groups import check_lorentz

__all__ = [
    "beam_transformations",
    "boosts",
    "directions",
    "four_momenta",
    "irreps",
    "jets",
    "lorentz_transformations",
    "random_jets",
    "rotations",
    "sl2c_elements",
]


def _bound(value: float, name: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and ≥ 0, got {value}")
    return float(value)


def directions() -> st.SearchStrategy[tuple[float, float, float]]:
    """Unit 3-vectors (x, y, z), uniform on the sphere (from cos θ and φ)."""
    return st.tuples(st.floats(-1.0, 1.0), st.floats(0.0, 2 * math.pi)).map(
        lambda t: (math.sqrt(1 - t[0] ** 2) * math.cos(t[1]), math.sqrt(1 - t[0] ** 2) * math.sin(t[1]), t[0])
    )


def _axis(axis):
    if axis is None:
        return directions()
    n = torch.tensor(axis, dtype=torch.float64)
    n = n / torch.linalg.vector_norm(n)
    return st.just(tuple(float(c) for c in n))


def _rotation_m(axis, angle):
    return cc.sl2c(rotation=[angle * c for c in axis])


def _boost_m(axis, y):
    return cc.sl2c(boost=[y * c for c in axis])


def sl2c_elements(max_rapidity: float = 2.0, dtype: torch.dtype = torch.complex128) -> st.SearchStrategy:
    """SL(2,C) elements `M = B(y n̂) R(θ m̂)` `[2, 2]`, |y| ≤ max_rapidity, any rotation; complex128 rounded once."""
    max_rapidity = _bound(max_rapidity, "max_rapidity")
    return st.tuples(
        directions(), st.floats(-max_rapidity, max_rapidity), directions(), st.floats(-math.pi, math.pi)
    ).map(lambda a: (_boost_m(a[0], a[1]) @ _rotation_m(a[2], a[3])).to(dtype))


def _lorentz(m_strategy, dtype):
    return m_strategy.map(lambda m: check_lorentz(cc.to_so13(m)).to(dtype))


def rotations(max_angle: float = math.pi, axis=None, dtype: torch.dtype = torch.float64) -> st.SearchStrategy:
    """Rotations Λ `[4, 4]` by |θ| ≤ max_angle about `axis` (any direction when None)."""
    max_angle = _bound(max_angle, "max_angle")
    return _lorentz(st.tuples(_axis(axis), st.floats(-max_angle, max_angle)).map(lambda a: _rotation_m(*a)), dtype)


def boosts(max_rapidity: float = 2.0, axis=None, dtype: torch.dtype = torch.float64) -> st.SearchStrategy:
    """Pure boosts Λ `[4, 4]` of rapidity |y| ≤ max_rapidity along `axis` (any direction when None)."""
    max_rapidity = _bound(max_rapidity, "max_rapidity")
    return _lorentz(st.tuples(_axis(axis), st.floats(-max_rapidity, max_rapidity)).map(lambda a: _boost_m(*a)), dtype)


def lorentz_transformations(max_rapidity: float = 2.0, dtype: torch.dtype = torch.float64) -> st.SearchStrategy:
    """General elements of SO⁺(1,3), Λ `[4, 4]`: a boost (|y| ≤ max_rapidity, any direction) times any rotation."""
    return _lorentz(sl2c_elements(max_rapidity), dtype)


def beam_transformations(max_rapidity: float = 2.0, dtype: torch.dtype = torch.float64) -> st.SearchStrategy:
    """The beam subgroup: a boost along z (|y| ≤ max_rapidity) times a rotation about z."""
    max_rapidity = _bound(max_rapidity, "max_rapidity")
    return _lorentz(
        st.tuples(st.floats(-max_rapidity, max_rapidity), st.floats(-math.pi, math.pi)).map(
            lambda a: _boost_m((0.0, 0.0, 1.0), a[0]) @ _rotation_m((0.0, 0.0, 1.0), a[1])
        ),
        dtype,
    )


def four_momenta(
    max_energy: float = 1000.0, mass: float | tuple[float, float] = 0.0, dtype: torch.dtype = torch.float64
) -> st.SearchStrategy:
    """On-shell four-momenta `[4]` (E, px, py, pz) with |p⃗| ≤ max_energy and p² = m²: massless for mass=0, a fixed
    mass, or a mass drawn from a (low, high) range."""
    masses = st.floats(*mass) if isinstance(mass, tuple) else st.just(float(mass))

    def build(args):
        (nx, ny, nz), size, m = args
        e = math.sqrt(size * size + m * m)
        return torch.tensor([e, size * nx, size * ny, size * nz], dtype=torch.float64).to(dtype)

    return st.tuples(directions(), st.floats(0.0, _bound(max_energy, "max_energy")), masses).map(build)


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
    max_batch: int = 4,
    max_particles: int = 30,
    *,
    min_particles: int = 1,
    padding: int = 5,
    dtype: torch.dtype = torch.float64,
) -> st.SearchStrategy[tuple[torch.Tensor, torch.Tensor]]:
    """Random collimated jets `(p [B, N, 4], mask [B, N])`: variable multiplicity in [min_particles, max_particles],
    up to `padding` extra all-zero rows (mask False), shrinking toward one small jet."""

    def build(args):
        b, n, pad, seed = args
        p, mask = random_jets(b, n, seed=seed, dtype=dtype, min_particles=min(min_particles, n))
        return torch.cat([p, p.new_zeros(b, pad, 4)], 1), torch.cat([mask, mask.new_zeros(b, pad)], 1)

    return st.tuples(
        st.integers(1, max_batch),
        st.integers(max(1, min_particles), max_particles),
        st.integers(0, padding),
        st.integers(0, 2**31 - 1),
    ).map(build)
