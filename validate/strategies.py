"""Hypothesis strategies for Lorentz-group elements (the start of the suite's strategy library).

Elements are built from bounded parameters so hypothesis shrinks them toward the identity (zero angles/rapidities).
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

import clariant_core as cc

__all__ = ["directions", "irreps", "sl2c_elements"]


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
