"""Hypothesis strategies for the perturbations: soft emissions, collinear splittings, permutations, paddings.

Each strategy draws a small frozen value object whose `apply(p, mask)` returns the perturbed float64 jets (through
clariant.validate.properties.perturb, the one home of every perturbation), shrinking toward the mildest case: the
largest
soft fraction and split angle allowed shrink toward their bounds' simple ends, the fewest padding rows, the
reversed order. Combine with `clariant.validate.strategies.jets` for the jets themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from hypothesis import strategies as st

from . import perturb

__all__ = [
    "CollinearSplit",
    "Padding",
    "Permutation",
    "SoftEmission",
    "collinear_splittings",
    "paddings",
    "permutations",
    "soft_emissions",
]


@dataclass(frozen=True)
class SoftEmission:
    """One massless particle of energy `fraction`·E_jet, random direction (seeded) or along the hardest particle."""

    fraction: float
    collinear: bool = False
    seed: int = 0

    def apply(self, p: torch.Tensor, mask: torch.Tensor):
        return perturb.soft_emission(p.to(torch.float64), mask, self.fraction, collinear=self.collinear, seed=self.seed)


@dataclass(frozen=True)
class CollinearSplit:
    """The hardest particle split into fractions z, 1 − z with opening angle θ (0: exactly collinear)."""

    z: float
    theta: float = 0.0
    seed: int = 0

    def apply(self, p: torch.Tensor, mask: torch.Tensor):
        return perturb.collinear_split(p.to(torch.float64), mask, self.z, self.theta, seed=self.seed)


@dataclass(frozen=True)
class Permutation:
    """A reordering of the real particles (kind in perturb.PERMUTATIONS; seed for "random")."""

    kind: str = "random"
    seed: int = 0

    def apply(self, p: torch.Tensor, mask: torch.Tensor):
        """(p', mask', idx): row i of the result is row idx[b, i] of the input."""
        return perturb.permute(p.to(torch.float64), mask, self.kind, self.seed)


@dataclass(frozen=True)
class Padding:
    """`extra` all-zero masked rows appended (or put first), optionally every masked row filled with garbage."""

    extra: int = 0
    garbage: bool = False
    first: bool = False
    seed: int = 0

    def apply(self, p: torch.Tensor, mask: torch.Tensor):
        p = p.to(torch.float64)
        if self.first:
            p, mask = perturb.padding_first(p, mask, self.extra)
        else:
            p, mask = perturb.pad(p, mask, self.extra)
        if self.garbage:
            p, mask = perturb.fill_masked(p, mask, self.seed)
        return p, mask


def _log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    if not (0 < low <= high and math.isfinite(high)):
        raise ValueError(f"need 0 < low ≤ high < ∞, got {low}, {high}")
    return st.floats(math.log10(low), math.log10(high)).map(lambda e: 10.0**e)


def _seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**31 - 1)


def soft_emissions(min_fraction: float = 1e-8, max_fraction: float = 0.1, collinear: bool | None = None):
    """SoftEmission with a log-uniform fraction in [min_fraction, max_fraction]; collinear None draws both."""
    col = st.booleans() if collinear is None else st.just(collinear)
    return st.builds(SoftEmission, _log_uniform(min_fraction, max_fraction), col, _seeds())


def collinear_splittings(
    min_z: float = 1e-3, max_theta: float = 0.1, min_theta: float = 1e-8, exact: bool | None = None
):
    """CollinearSplit with z log-uniform in [min_z, 1/2] and θ = 0 (exact) or log-uniform in [min_theta,
    max_theta]; exact None draws both."""
    if not (0 < min_z <= 0.5):
        raise ValueError(f"min_z must be in (0, 1/2], got {min_z}")
    zs = _log_uniform(min_z, 0.5)
    exact_theta = st.just(0.0)
    angle = _log_uniform(min_theta, max_theta)
    thetas = exact_theta if exact else angle if exact is False else st.one_of(exact_theta, angle)
    return st.builds(CollinearSplit, zs, thetas, _seeds())


def permutations(kinds=perturb.PERMUTATIONS):
    """Permutation of one of `kinds` (reversed and the sorted orders shrink first, then random with a seed)."""
    kinds = tuple(kinds)
    if set(kinds) - set(perturb.PERMUTATIONS):
        raise ValueError(f"permutation kinds must be among {perturb.PERMUTATIONS}, got {kinds}")
    return st.builds(Permutation, st.sampled_from(sorted(kinds, key=lambda k: k == "random")), _seeds())


def paddings(max_extra: int = 8, garbage: bool | None = None, first: bool | None = None):
    """Padding with 0…max_extra extra rows; garbage/first None draw both."""
    if max_extra < 0:
        raise ValueError(f"max_extra must be ≥ 0, got {max_extra}")

    def flag(v):
        return st.booleans() if v is None else st.just(v)

    return st.builds(Padding, st.integers(0, max_extra), flag(garbage), flag(first), _seeds())
