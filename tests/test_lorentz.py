"""SL(2,C), the double cover and SO⁺(1,3) constructors (docs/conventions.md)."""

import math

import pytest
import torch
from helpers import COMPLEX_DTYPES, REAL_DTYPES, rel_err, tol
from hypothesis import given
from hypothesis import strategies as st

import clariant_core as cc
from clariant.validate.strategies import directions, sl2c_elements

ETA = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_sl2c_matches_matrix_exponential(dtype):
    g = torch.Generator().manual_seed(3)
    theta = torch.randn(50, 3, generator=g, dtype=torch.float64) * 2
    y = torch.randn(50, 3, generator=g, dtype=torch.float64)
    sig = cc.pauli(torch.complex128)
    gen = torch.einsum("bi,ijk->bjk", (-1j * theta + y).to(torch.complex128) / 2, sig[1:])
    ref = torch.linalg.matrix_exp(gen)
    m = cc.sl2c(rotation=theta.to(dtype), boost=y.to(dtype))
    assert m.dtype == cc.complex_of(dtype)
    assert m.shape == (50, 2, 2)
    # inputs rounded to dtype: the exponential's condition number is ~ |a| ≤ a few
    assert rel_err(m, ref).max() < tol(dtype, 64)


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("size", [1e-12, 1e-6, 1e-3, 0.01, 0.2, 0.3, 1.0])
def test_sl2c_near_identity_matches_matrix_exponential(dtype, size):
    # exercises the series branch and both sides of its switch-over point
    theta = torch.tensor([0.6, -0.3, 0.2], dtype=torch.float64) * size
    y = torch.tensor([-0.2, 0.5, 0.7], dtype=torch.float64) * size
    a = (-1j * theta + y).to(torch.complex128) / 2
    ref = torch.linalg.matrix_exp(torch.einsum("i,ijk->jk", a, cc.pauli()[1:]))
    m = cc.sl2c(rotation=theta.to(dtype), boost=y.to(dtype))
    assert rel_err(m, ref) <= tol(dtype, 16)


def test_sl2c_null_exponent():
    # a⃗ = (1, 0, −i)/2 has a⃗·a⃗ = 0, so (a⃗·σ)² = 0 and exp(a⃗·σ) = 1 + a⃗·σ exactly
    null = cc.sl2c(rotation=[0, 0, 1.0], boost=[1.0, 0, 0])
    a = torch.tensor([0.5, 0, -0.5j], dtype=torch.complex128)
    expected = torch.eye(2, dtype=torch.complex128) + torch.einsum("i,ijk->jk", a, cc.pauli()[1:])
    assert rel_err(null, expected) <= tol(torch.float64, 8)


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@given(m=sl2c_elements(max_rapidity=3.0))
def test_double_cover_is_a_lorentz_transformation(dtype, m):
    lam = cc.to_so13(m.to(dtype)).to(torch.float64)
    scale = torch.linalg.matrix_norm(lam) ** 2
    assert torch.linalg.matrix_norm(lam.T @ ETA @ lam - ETA) <= tol(dtype, 64) * scale
    assert abs(torch.linalg.det(lam) - 1) <= tol(dtype, 64) * scale**2
    assert lam[0, 0] >= 1 - tol(dtype, 8)


@given(m=sl2c_elements(max_rapidity=3.0), p=st.lists(st.floats(-100, 100), min_size=4, max_size=4))
def test_double_cover_acts_as_conjugation(m, p):
    p = torch.tensor(p, dtype=torch.float64)
    sig = cc.pauli()
    x = torch.einsum("m,mab->ab", p.to(torch.complex128), sig)
    lam = cc.to_so13(m)
    xp = torch.einsum("m,mab->ab", (lam @ p).to(torch.complex128), sig)
    scale = torch.linalg.matrix_norm(m) ** 2 * torch.linalg.vector_norm(p)
    assert torch.linalg.matrix_norm(xp - m @ x @ m.conj().T) <= tol(torch.float64, 64) * scale


@given(m1=sl2c_elements(2.0), m2=sl2c_elements(2.0))
def test_double_cover_is_a_homomorphism_with_kernel_pm1(m1, m2):
    l1, l2, l12 = cc.to_so13(m1), cc.to_so13(m2), cc.to_so13(m1 @ m2)
    scale = torch.linalg.matrix_norm(l1) * torch.linalg.matrix_norm(l2)
    assert torch.linalg.matrix_norm(l12 - l1 @ l2) <= tol(torch.float64, 128) * scale
    assert torch.equal(cc.to_so13(-m1), l1)


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("y", [-3.0, -0.5, 0.0, 1e-6, 0.7, 4.0])
def test_boost_along_z_is_the_textbook_active_boost(dtype, y):
    expected = torch.tensor(
        [[math.cosh(y), 0, 0, math.sinh(y)], [0, 1, 0, 0], [0, 0, 1, 0], [math.sinh(y), 0, 0, math.cosh(y)]],
        dtype=torch.float64,
    )
    lam = cc.boost((0, 0, 1), torch.tensor(y, dtype=dtype))
    assert lam.dtype == dtype
    assert (lam.to(torch.float64) - expected).abs().max() <= tol(dtype, 4) * math.cosh(y)
    via_cover = cc.to_so13(cc.sl2c(boost=torch.tensor([0, 0, y], dtype=dtype)))
    assert (via_cover.to(torch.float64) - expected).abs().max() <= tol(dtype, 16) * math.cosh(y)
    # active: a particle at rest gets velocity +tanh(y) ẑ
    rest = torch.tensor([1.0, 0, 0, 0], dtype=dtype)
    moved = lam @ rest
    assert abs(moved[3] / moved[0] - math.tanh(y)) <= tol(dtype, 8)


@given(n=directions(), y=st.floats(-4, 4), theta=st.floats(-7, 7))
def test_boost_and_rotation_agree_with_double_cover(n, y, theta):
    nt = torch.tensor(n, dtype=torch.float64)
    b = cc.boost(n, y)
    assert rel_err(b, cc.to_so13(cc.sl2c(boost=nt * y))) <= tol(torch.float64, 64)
    r = cc.rotation(n, theta)
    assert rel_err(r, cc.to_so13(cc.sl2c(rotation=nt * theta))) <= tol(torch.float64, 64)
    # right-handed: a rotation by +π/2 about z takes x̂ to ŷ
    q = cc.rotation((0, 0, 1), math.pi / 2) @ torch.tensor([1.0, 1.0, 0, 0], dtype=torch.float64)
    assert torch.allclose(q, torch.tensor([1.0, 0, 1.0, 0], dtype=torch.float64), atol=tol(torch.float64, 4), rtol=0)


def test_batched_constructors_broadcast():
    axes = torch.eye(3, dtype=torch.float32)
    y = torch.tensor([[0.1], [0.5]], dtype=torch.float32)
    lam = cc.boost(axes, y)
    assert lam.shape == (2, 3, 4, 4) and lam.dtype == torch.float32
    assert cc.rotation(axes, torch.zeros(3, dtype=torch.float32)).shape == (3, 4, 4)


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_inverses(dtype):
    m = cc.random_sl2c(20, max_rapidity=3, seed=5, dtype=dtype)
    eye2 = torch.eye(2, dtype=m.dtype)
    assert rel_err(m @ cc.inverse_sl2c(m), eye2.expand(20, 2, 2), scale=torch.linalg.matrix_norm(m) ** 2).max() <= tol(
        dtype, 8
    )
    lam = cc.random_lorentz(20, max_rapidity=3, seed=5, dtype=dtype)
    eye4 = torch.eye(4, dtype=dtype).expand(20, 4, 4)
    scale = torch.linalg.matrix_norm(lam) ** 2
    assert rel_err(lam @ cc.inverse_lorentz(lam), eye4, scale=scale).max() <= tol(dtype, 64)


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_minkowski_products_are_invariant(dtype):
    g = torch.Generator().manual_seed(0)
    p = torch.randn(100, 4, generator=g, dtype=torch.float64)
    q = torch.randn(100, 4, generator=g, dtype=torch.float64)
    lam = cc.random_lorentz(100, max_rapidity=2, seed=1)
    before = cc.minkowski_dot(p.to(dtype), q.to(dtype))
    after = cc.minkowski_dot((lam @ p[..., None])[..., 0].to(dtype), (lam @ q[..., None])[..., 0].to(dtype))
    assert before.dtype == dtype
    scale = (torch.linalg.matrix_norm(lam) ** 2) * p.norm(dim=-1) * q.norm(dim=-1)
    assert ((after - before).abs().to(torch.float64) <= tol(dtype, 64) * scale).all()
    assert torch.equal(cc.minkowski_norm2(p), cc.minkowski_dot(p, p))
    assert cc.minkowski_norm2(torch.tensor([5.0, 3.0, 0.0, 0.0])) == 16.0


def test_random_elements_are_seeded_and_bounded():
    a = cc.random_sl2c((4, 3), max_rapidity=2.5, seed=11)
    b = cc.random_sl2c((4, 3), max_rapidity=2.5, seed=11)
    c = cc.random_sl2c((4, 3), max_rapidity=2.5, seed=12)
    assert a.shape == (4, 3, 2, 2) and torch.equal(a, b) and not torch.equal(a, c)
    lam = cc.to_so13(a)
    # Λ⁰₀ = cosh of the boost's rapidity (the rotation does not change it)
    assert (lam[..., 0, 0] <= math.cosh(2.5) * (1 + tol(torch.float64, 16))).all()
    assert cc.random_lorentz(7, seed=0, dtype=torch.float32).dtype == torch.float32
