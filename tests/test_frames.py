"""The jet rest frame (clariant_core.group.frames): an exact Lorentz transformation to working precision, even for jets
boosted far from the lab, thanks to its double-double evaluation."""

from fractions import Fraction

import pytest
import torch

import clariant_core as cc
from clariant.validate.exact import lorentz_apply
from clariant.validate.strategies import random_jets
from clariant_core.group.frames import to_jet_rest_frame


def _exact_gram(p: torch.Tensor) -> list[list[Fraction]]:
    rows = [[Fraction(float(v)) for v in row] for row in p.tolist()]
    return [[a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3] for b in rows] for a in rows]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rapidity", [0.0, 3.0, 6.0])
def test_rest_frame_preserves_every_minkowski_product(dtype, rapidity):
    """p'_i·p'_j = p_i·p_j for the given (rounded) momenta, to a few roundings of the rest-frame components
    (|error| ≤ 8u·E'_i E'_j), however boosted the jet is (γ up to ~10⁴ here). A float evaluation of the same formula
    misses this by ~γ²."""
    p, mask = random_jets(3, 12, seed=4, min_particles=12)
    m = cc.sl2c(boost=torch.tensor([rapidity, 0.0, 0.0], dtype=torch.float64))[None]
    p = lorentz_apply(m, p)[0].to(dtype)
    rest = to_jet_rest_frame(p, mask)
    u = cc.unit_roundoff(dtype)
    for b in range(3):
        exact = _exact_gram(p[b])
        e = rest[b, :, 0].double().abs()
        got = _exact_gram(rest[b])
        for i in range(12):
            for j in range(12):
                bound = 8 * u * float(e[i] * e[j])
                assert abs(float(got[i][j] - exact[i][j])) <= bound, (b, i, j)
    # and it is the rest frame of the jet momentum as summed in working precision: that sum's rounding (u·E per
    # component) leaves a residual velocity ~u·γ² — harmless, the frame need only be Lorentz
    lab = p.double().sum(1)
    gamma = lab[:, 0] / (lab[:, 0] ** 2 - (lab[:, 1:] ** 2).sum(-1)).sqrt()
    total = rest.double().sum(1)
    assert (total[:, 1:].norm(dim=-1) <= 16 * u * gamma**2 * total[:, 0]).all()
