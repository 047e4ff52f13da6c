"""The suite's strategies and test elements: every Λ is a proper orthochronous Lorentz transformation."""

import math

import pytest
import torch
from hypothesis import given

import clariant_core as cc
from clariant.validate import groups, strategies

ETA = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))


def _is_lorentz(lam):
    scale = torch.linalg.matrix_norm(lam) ** 2
    assert torch.linalg.matrix_norm(lam.T @ ETA @ lam - ETA) <= 64 * cc.unit_roundoff(lam.dtype) * scale
    assert lam[0, 0] >= 1 - 1e-12 and torch.linalg.det(lam) > 0


@given(lam=strategies.lorentz_transformations(max_rapidity=6.0))
def test_general_elements(lam):
    _is_lorentz(lam)
    assert lam[0, 0] <= math.cosh(6.0) * (1 + 1e-12)


@given(lam=strategies.boosts(max_rapidity=3.0, axis=(0, 0, 1)))
def test_boosts_along_an_axis_keep_x_and_y(lam):
    _is_lorentz(lam)
    tol = 16 * cc.unit_roundoff(lam.dtype) * float(lam[0, 0]) ** 2
    assert (lam[1:3, 1:3] - torch.eye(2, dtype=lam.dtype)).abs().max() <= tol
    assert (lam - lam.T).abs().max() <= tol  # pure boosts are symmetric


@given(lam=strategies.rotations(max_angle=0.5))
def test_rotations_are_bounded_and_fix_time(lam):
    _is_lorentz(lam)
    tol = 16 * cc.unit_roundoff(lam.dtype)
    assert abs(lam[0, 0] - 1) <= tol and lam[0, 1:].abs().max() <= tol
    angle = math.acos(max(-1.0, min(1.0, (float(lam[1:, 1:].trace()) - 1) / 2)))
    assert angle <= 0.5 + 1e-9


@given(lam=strategies.beam_transformations(max_rapidity=2.0))
def test_beam_subgroup_keeps_the_beam_axis(lam):
    _is_lorentz(lam)
    beam = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64)  # a massless particle along the beam
    out = lam @ beam
    assert abs(out[1]) < 1e-12 and abs(out[2]) < 1e-12 and out[3] > 0


@given(p=strategies.four_momenta(mass=(0.0, 200.0)))
def test_on_shell_four_momenta(p):
    m2 = cc.minkowski_norm2(p)
    assert m2 >= -1e-9 * float(p[0]) ** 2 and p[0] >= 0


@given(p=strategies.four_momenta(mass=0.0))
def test_massless_four_momenta(p):
    assert abs(float(cc.minkowski_norm2(p))) <= 1e-12 * float(p[0]) ** 2 + 1e-300


@given(data=strategies.jets(max_batch=3, max_particles=12, padding=4))
def test_jets_have_mask_and_zero_padding(data):
    p, mask = data
    assert p.shape[:2] == mask.shape and mask.any(1).all()
    assert (p[~mask] == 0).all()
    assert (p[mask][:, 0] > 0).all()


def test_check_lorentz_rejects_parity_time_reversal_and_non_isometries():
    with pytest.raises(ValueError, match="det -1"):
        groups.check_lorentz(torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0])).double())
    with pytest.raises(ValueError, match="not orthochronous"):
        groups.check_lorentz(-torch.eye(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="does not preserve the metric"):
        groups.check_lorentz(torch.eye(4, dtype=torch.float64) * 1.1)
    with pytest.raises(ValueError, match="NaN"):
        groups.check_lorentz(torch.full((4, 4), float("nan")))


def test_deterministic_grid():
    pts, m = groups.grid(max_rapidity=6.0, n_rapidities=10, n_angles=8)
    pts2, m2 = groups.grid(max_rapidity=6.0, n_rapidities=10, n_angles=8)
    assert len(pts) == 42 and torch.equal(m, m2) and pts == pts2  # 3 × 10 boosts, 8 oblique + 4 z rotations
    member = groups.groups_of(m)
    assert all(set(member[i]) == {"full", "beam", "boost_z"} for i in range(20, 30))  # boosts along z
    assert all(set(member[i]) == {"full"} for i in range(20))  # boosts along x, y
    assert all(set(member[i]) == {"full", "so3"} for i in range(30, 38))  # the oblique axis
    assert all(set(member[i]) == {"full", "so3", "beam", "rot_z"} for i in range(38, 42))  # about z
    for g in ("rot_z", "boost_z", "beam", "so3"):
        assert bool(groups.in_group(groups.sample(g, 8, max_rapidity=3.0, seed=5), g).all()), g
    lam = cc.to_so13(m)
    ys = torch.acosh(lam[:30, 0, 0])
    expected = torch.tensor([0.6 * (i + 1) for i in range(10)] * 3, dtype=torch.float64)
    assert torch.allclose(ys, expected, rtol=1e-12)
    for g in groups.GROUPS:
        groups.check_lorentz(cc.to_so13(groups.sample(g, 16, max_rapidity=4.0, seed=1)))
    beam = cc.to_so13(groups.sample("beam", 16, seed=2))
    assert torch.allclose(beam[:, 1:3, 0], torch.zeros(16, 2, dtype=torch.float64), atol=1e-12)


def test_grid_at_given_rapidities_and_bad_settings():
    pts, m = groups.grid(axes=("x", "z"), n_angles=0, rapidities=(0.5, 6.0))
    assert [(p.axis, p.parameter) for p in pts] == [("x", 0.5), ("x", 6.0), ("z", 0.5), ("z", 6.0)]
    assert torch.allclose(torch.acosh(cc.to_so13(m)[:, 0, 0]), torch.tensor([0.5, 6.0] * 2, dtype=torch.float64))
    for bad in (dict(rapidities=(1.0, 0.0)), dict(rapidities=()), dict(axes=("w",)), dict(axes=()), dict(n_angles=-1)):
        with pytest.raises(ValueError):
            groups.grid(**bad)
