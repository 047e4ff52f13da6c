"""Irreps (k/2, n/2): homomorphism, generators, Lorentz algebra, Casimirs, characters, vector intertwiner."""

import math

import pytest
import torch
from helpers import COMPLEX_DTYPES, irrep_ops, rel_err, tol
from hypothesis import given
from hypothesis import strategies as st

import clariant_core as cc
from clariant.validate.strategies import directions, irreps, sl2c_elements

ALL_IRREPS = [cc.Irrep(k, n) for k in range(5) for n in range(5)]
EPS3 = torch.zeros(3, 3, 3, dtype=torch.complex128)
for i, j, k in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
    EPS3[i, j, k], EPS3[j, i, k] = 1, -1


def comm(a, b):
    return a @ b - b @ a


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@given(ir=irreps(4), m1=sl2c_elements(3.0), m2=sl2c_elements(3.0))
def test_representation_is_a_homomorphism(dtype, ir, m1, m2):
    m1, m2 = m1.to(dtype), m2.to(dtype)
    r1, r2, r12 = ir.matrix(m1), ir.matrix(m2), ir.matrix(m1 @ m2)
    assert r12.dtype == dtype and r12.shape == (ir.dim, ir.dim)
    scale = torch.linalg.matrix_norm(r1.to(torch.complex128)) * torch.linalg.matrix_norm(r2.to(torch.complex128))
    assert rel_err(r12, r1 @ r2, scale=scale) <= tol(dtype, 3 * irrep_ops(ir))


@pytest.mark.parametrize("ir", ALL_IRREPS, ids=str)
def test_center_and_inverse(ir):
    eye = torch.eye(2, dtype=torch.complex128)
    assert torch.equal(ir.matrix(eye), torch.eye(ir.dim, dtype=torch.complex128))
    assert torch.equal(ir.matrix(-eye), (-1) ** (ir.k + ir.n) * torch.eye(ir.dim, dtype=torch.complex128))
    m = cc.random_sl2c(8, max_rapidity=2.0, seed=ir.k * 5 + ir.n)
    r, rinv = ir.matrix(m), ir.matrix(cc.inverse_sl2c(m))
    scale = torch.linalg.matrix_norm(r) * torch.linalg.matrix_norm(rinv)
    assert (
        rel_err(rinv @ r, torch.eye(ir.dim, dtype=r.dtype).expand_as(r), scale=scale) <= tol(r.dtype, 3 * irrep_ops(ir))
    ).all()


@pytest.mark.parametrize("ir", ALL_IRREPS, ids=str)
def test_unitary_on_su2(ir):
    u = cc.random_sl2c(8, max_rapidity=0.0, seed=1)
    r = ir.matrix(u)
    eye = torch.eye(ir.dim, dtype=r.dtype).expand_as(r)
    assert (rel_err(r @ r.conj().transpose(-1, -2), eye) <= tol(r.dtype, 2 * irrep_ops(ir))).all()


@pytest.mark.parametrize("ir", ALL_IRREPS, ids=str)
def test_generators_exponentiate_to_the_representation(ir):
    jgen, kgen = ir.generators()
    assert jgen.shape == kgen.shape == (3, ir.dim, ir.dim)
    for n, angle in [((0.0, 0.0, 1.0), 0.8), ((0.6, 0.0, 0.8), -2.1), ((1.0, 0.0, 0.0), 2.4)]:
        nt = torch.tensor(n, dtype=torch.complex128)
        rot = ir.matrix(cc.sl2c(rotation=[angle * c for c in n]))
        assert rel_err(torch.linalg.matrix_exp(-1j * angle * torch.einsum("i,ijk->jk", nt, jgen)), rot) <= tol(
            torch.float64, 4 * irrep_ops(ir)
        )
        bst = ir.matrix(cc.sl2c(boost=[angle * c for c in n]))
        assert rel_err(torch.linalg.matrix_exp(angle * torch.einsum("i,ijk->jk", nt, kgen)), bst) <= tol(
            torch.float64, 16 * irrep_ops(ir)
        )


@pytest.mark.parametrize("ir", ALL_IRREPS, ids=str)
def test_lorentz_algebra_and_casimirs(ir):
    jg, kg = ir.generators()
    t = tol(torch.float64, 8 * ir.dim) * max(1.0, ir.k + ir.n) ** 2
    for i in range(3):
        for j in range(3):
            rhs_j = torch.einsum("k,kab->ab", EPS3[i, j], jg)
            rhs_k = torch.einsum("k,kab->ab", EPS3[i, j], kg)
            assert (comm(jg[i], jg[j]) - 1j * rhs_j).abs().max() <= t  # rotations close
            assert (comm(jg[i], kg[j]) - 1j * rhs_k).abs().max() <= t  # boosts rotate as vectors
            assert (comm(kg[i], kg[j]) - 1j * rhs_j).abs().max() <= t  # two boosts close on a rotation
    eye = torch.eye(ir.dim, dtype=torch.complex128)
    left, right = (jg + kg) / 2, (jg - kg) / 2
    jl, jr = ir.k / 2, ir.n / 2
    assert ((left @ left).sum(0) - jl * (jl + 1) * eye).abs().max() <= t
    assert ((right @ right).sum(0) - jr * (jr + 1) * eye).abs().max() <= t
    # the two Casimirs in J, K_phys = iK:  J² − K_phys² and J·K_phys
    c1 = (jg @ jg).sum(0) + (kg @ kg).sum(0)
    c2 = 1j * (jg @ kg).sum(0)
    assert (c1 - 2 * (jl * (jl + 1) + jr * (jr + 1)) * eye).abs().max() <= t
    assert (c2 - 1j * (jl * (jl + 1) - jr * (jr + 1)) * eye).abs().max() <= t


def _su2_character(k: int, trace: torch.Tensor) -> torch.Tensor:
    """χ_k(M) = Σ λ^{k−2i} from tr M = λ + 1/λ by the Chebyshev recursion χ_{k+1} = t χ_k − χ_{k−1}."""
    prev, cur = torch.ones_like(trace), trace
    if k == 0:
        return prev
    for _ in range(k - 1):
        prev, cur = cur, trace * cur - prev
    return cur


@pytest.mark.parametrize("ir", ALL_IRREPS, ids=str)
def test_character(ir):
    m = cc.random_sl2c(16, max_rapidity=2.0, seed=100 + ir.k * 5 + ir.n)
    tr = m.diagonal(dim1=-2, dim2=-1).sum(-1)
    expected = _su2_character(ir.k, tr) * _su2_character(ir.n, tr).conj()
    got = ir.matrix(m).diagonal(dim1=-2, dim2=-1).sum(-1)
    scale = torch.linalg.matrix_norm(ir.matrix(m))
    assert ((got - expected).abs() <= tol(torch.float64, 4 * irrep_ops(ir)) * scale).all()


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@given(m=sl2c_elements(3.0))
def test_vector_intertwiner(dtype, m):
    m = m.to(dtype)
    t = cc.vector_intertwiner(dtype)
    lam = cc.to_so13(m).to(dtype)
    lhs, rhs = t @ lam, cc.Irrep(1, 1).matrix(m) @ t
    assert rel_err(lhs, rhs, scale=torch.linalg.matrix_norm(lam.to(torch.complex128))) <= tol(dtype, 64)
    assert rel_err(t @ t.conj().T, torch.eye(4, dtype=dtype)) <= tol(dtype, 8)


def _intertwiner_space_dim(a_gens, b_gens) -> tuple[int, torch.Tensor]:
    """Dimension and basis of {X : X A − B X = 0 for every generator}, from the null space (SVD)."""
    da, db = a_gens[0].shape[0], b_gens[0].shape[0]
    eye_a, eye_b = torch.eye(da, dtype=torch.complex128), torch.eye(db, dtype=torch.complex128)
    rows = [
        torch.kron(eye_b, a.T.contiguous()) - torch.kron(b.contiguous(), eye_a)  # row-major vec(XA − BX)
        for a, b in zip(a_gens, b_gens)
    ]
    _, s, vh = torch.linalg.svd(torch.cat(rows))
    null = s <= tol(torch.float64, 64) * s[0]
    basis = vh[-int(null.sum()) :].conj().resolve_conj() if null.any() else vh[:0]
    return int(null.sum()), basis.reshape(-1, db, da)


def test_vector_intertwiner_is_the_unique_one_up_to_scale():
    # generators of the defining rep on Minkowski space, exactly from the double cover's derivative:
    # d/dt Λ(exp(tA))^μ_ν = ½ tr(σ_μ (A σ_ν + σ_ν A†)),  A = −iσ_i/2 (rotations) or σ_i/2 (boosts)
    sig = cc.pauli()
    mink = []
    for a in [*(-0.5j * sig[1:]), *(0.5 * sig[1:])]:
        d = a @ sig + sig @ a.conj().T  # [ν, 2, 2]
        mink.append(0.5 * torch.einsum("mba,nab->mn", sig, d))
    jg, kg = cc.Irrep(1, 1).generators()
    vec = [*(-1j * jg), *kg]  # d/dθ ρ = −iJ, d/dy ρ = K
    dim, basis = _intertwiner_space_dim(mink, vec)
    assert dim == 1
    # T lies in that one-dimensional space: its component orthogonal to the basis vector vanishes
    t = cc.vector_intertwiner().flatten()
    x = basis[0].flatten() / torch.linalg.vector_norm(basis[0])
    residual = t - (x.conj() @ t) * x
    assert torch.linalg.vector_norm(residual) <= tol(torch.float64, 64) * torch.linalg.vector_norm(t)


@given(k=st.integers(0, 6), n=st.integers(0, 6))
def test_irrep_value_object(k, n):
    ir = cc.Irrep(k, n)
    assert ir.dim == (k + 1) * (n + 1)
    assert cc.Irrep.parse(str(ir)) == ir == cc.Irrep.parse((k, n))
    assert ir.is_real_type == (k == n)
    assert ir.conjugate() == cc.Irrep(n, k)
    assert hash(ir) == hash(cc.Irrep(k, n))


def test_irreps_multiset():
    irs = cc.Irreps("3x(0,0)+2x(1,1)+(2,0)")
    assert str(irs) == "3x(0,0)+2x(1,1)+1x(2,0)"
    assert irs.dim == 3 + 8 + 3 and irs.num_channels == 6
    assert irs.count("(1,1)") == 2 and irs.count(cc.Irrep(0, 2)) == 0
    assert cc.Irreps(str(irs)) == irs and irs == "3x(0,0)+2x(1,1)+1x(2,0)"
    assert (irs + "1x(0,0)").simplify() == cc.Irreps("4x(0,0)+2x(1,1)+1x(2,0)")
    assert cc.Irreps.from_dict({"(1,1)": 2, cc.Irrep(0, 0): 5}) == cc.Irreps("5x(0,0)+2x(1,1)")
    assert [s.stop - s.start for s in irs.slices()] == [3, 8, 3]
    assert cc.Irreps("").dim == 0


def test_spin_matrices_are_standard():
    jx, jy, jz = cc.spin_matrices(1)
    assert torch.allclose(2 * jx, cc.pauli()[1]) and torch.allclose(2 * jy, cc.pauli()[2])
    assert torch.allclose(2 * jz, cc.pauli()[3])
    j = cc.spin_matrices(2)
    # J₊|1,0⟩ = √2 |1,1⟩ (Condon–Shortley: positive)
    assert math.isclose((j[0] + 1j * j[1])[0, 1].real, math.sqrt(2))


@given(n=directions(), y=st.floats(-3, 3))
def test_pure_boost_along_z_is_diagonal(n, y):
    # ρ of a z-boost is diagonal with entries e^{y(m_k + m_n)}: exact structure, no mixing
    ir = cc.Irrep(3, 2)
    r = ir.matrix(cc.sl2c(boost=[0, 0, y]))
    ms = torch.tensor([1.5 - a + (1 - b) for a in range(4) for b in range(3)], dtype=torch.float64)
    assert rel_err(r, torch.diag(torch.exp(y * ms)).to(torch.complex128)) <= tol(torch.float64, 16)


def test_irreps_matrix_is_block_diagonal_and_a_representation():
    rep = cc.Irreps("2x(0,0)+1x(1,1)+1x(2,0)")
    m1, m2 = cc.random_sl2c(2, max_rapidity=1.5, seed=4)
    r1, r2, r12 = rep.matrix(m1), rep.matrix(m2), rep.matrix(m1 @ m2)
    assert r1.shape == (rep.dim, rep.dim)
    assert torch.allclose(r12, r1 @ r2, atol=1e-12)
    # the (1,1) block sits at rows/columns 2..5 and is that irrep's matrix; nothing outside the blocks
    assert torch.allclose(r1[2:6, 2:6], cc.Irrep(1, 1).matrix(m1))
    mask = torch.block_diag(torch.ones(1, 1), torch.ones(1, 1), torch.ones(4, 4), torch.ones(3, 3)).bool()
    assert float(r1[~mask].abs().max()) == 0.0
