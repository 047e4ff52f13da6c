"""Clebsch–Gordan coefficients and the batched CG product (docs/conventions.md)."""

import itertools
import math

import pytest
import torch
from helpers import COMPLEX_DTYPES, irrep_ops, tol
from hypothesis import given
from hypothesis import strategies as st

import clariant_core as cc
from clariant.validate.strategies import irreps

ALL_IRREPS = [cc.Irrep(k, n) for k in range(5) for n in range(5)]
PAIRS = list(itertools.product(ALL_IRREPS, ALL_IRREPS))


def _kron_rep(r1, r2):
    d1, d2 = r1.shape[-1], r2.shape[-1]
    return torch.einsum("...ac,...bd->...abcd", r1, r2).reshape(r1.shape[:-2] + (d1 * d2, d1 * d2))


def intertwining_errors(a, b, m):
    """max over the batch of ‖C(ρ₁⊗ρ₂) − ρC‖_F / (‖ρ₁‖_F‖ρ₂‖_F) for every (k,n) in a ⊗ b, at the dtype of m."""
    r1, r2 = a.matrix(m), b.matrix(m)
    kron = _kron_rep(r1, r2)
    scale = (torch.linalg.matrix_norm(r1) * torch.linalg.matrix_norm(r2)).to(torch.float64)
    out = {}
    for c in cc.decompose_product(a, b):
        cmat = cc.clebsch_gordan(a, b, c).reshape(a.dim * b.dim, c.dim).T.to(m.dtype)
        diff = cmat @ kron - c.matrix(m) @ cmat
        out[c] = float((torch.linalg.matrix_norm(diff).to(torch.float64) / scale).max())
    return out


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
def test_intertwining_for_all_pairs_up_to_4(dtype):
    """C(ρ₁⊗ρ₂) = ρC for all 625 ordered pairs with k, n ≤ 4, at rapidity up to 3 (mixed with rotations)."""
    m = cc.random_sl2c(3, max_rapidity=3.0, seed=7, dtype=dtype)
    m = torch.cat([m, cc.sl2c(rotation=[0.3, 1.1, -0.4], boost=[0.0, 0.0, 3.0]).to(dtype)[None]])
    worst = 0.0
    for a, b in PAIRS:
        for c, err in intertwining_errors(a, b, m).items():
            bound = tol(dtype, irrep_ops(a) + irrep_ops(b) + irrep_ops(c))
            assert err <= bound, f"{a}⊗{b}→{c}: {err:.3g} > {bound:.3g}"
            worst = max(worst, err / cc.unit_roundoff(dtype))
    print(f"worst intertwining error at rapidity ≤ 3, {dtype}: {worst:.1f} u")


@pytest.mark.parametrize("a,b", PAIRS, ids=lambda ir: str(ir))
def test_stacked_cg_matrix_is_orthogonal(a, b):
    outs = cc.decompose_product(a, b)
    assert sum(c.dim for c in outs) == a.dim * b.dim
    s = torch.cat([cc.clebsch_gordan(a, b, c).reshape(a.dim * b.dim, c.dim) for c in outs], dim=1)
    eye = torch.eye(a.dim * b.dim, dtype=torch.float64)
    bound = tol(torch.float64, 4 * a.dim * b.dim)
    assert (s.T @ s - eye).abs().max() <= bound
    assert (s @ s.T - eye).abs().max() <= bound


def test_su2_coefficients_match_sympy():
    cg = pytest.importorskip("sympy.physics.quantum.cg").CG
    for k1, k2 in itertools.product(range(5), range(5)):
        for k in range(abs(k1 - k2), k1 + k2 + 1, 2):
            table = cc.su2_clebsch_gordan(k1, k2, k)
            for a1, a2, a in itertools.product(range(k1 + 1), range(k2 + 1), range(k + 1)):
                half = [(x - 2 * y) / 2 for x, y in ((k1, a1), (k2, a2), (k, a))]
                from sympy import Rational

                ref = cg(
                    Rational(k1, 2),
                    Rational(k1 - 2 * a1, 2),
                    Rational(k2, 2),
                    Rational(k2 - 2 * a2, 2),
                    Rational(k, 2),
                    Rational(k - 2 * a, 2),
                ).doit()
                assert abs(table[a1, a2, a].item() - float(ref)) <= tol(torch.float64, 2), (k1, k2, k, half)


def test_known_values():
    # ⟨½ ½; ½ −½ | 1 0⟩ = 1/√2, ⟨½ ½; ½ −½ | 0 0⟩ = 1/√2, ⟨½ −½; ½ ½ | 0 0⟩ = −1/√2
    assert cc.su2_clebsch_gordan(1, 1, 2)[0, 1, 1].item() == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    assert cc.su2_clebsch_gordan(1, 1, 0)[0, 1, 0].item() == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    assert cc.su2_clebsch_gordan(1, 1, 0)[1, 0, 0].item() == pytest.approx(-1 / math.sqrt(2), rel=1e-15)
    # the Minkowski product is the (0,0) part of (1,1)⊗(1,1): ⟨Tp, Tq⟩ through CG ∝ p·q
    g = torch.Generator().manual_seed(0)
    p, q = torch.randn(2, 4, generator=g, dtype=torch.float64)
    t = cc.vector_intertwiner()
    s = torch.einsum(
        "a,b,abc->c", t @ p.to(t.dtype), t @ q.to(t.dtype), cc.clebsch_gordan("(1,1)", "(1,1)", "(0,0)").to(t.dtype)
    )
    ratio = s[0] / cc.minkowski_dot(p, q)
    assert abs(abs(ratio) - 0.5) <= tol(torch.float64, 32) and abs(ratio.imag) <= tol(torch.float64, 32)


@given(a=irreps(3), b=irreps(3), max_label=st.one_of(st.none(), st.integers(0, 4)))
def test_decomposition_dimensions(a, b, max_label):
    outs = cc.decompose_product(a, b, max_label)
    full = cc.decompose_product(a, b)
    assert sum(c.dim for c in full) == a.dim * b.dim
    assert len(set(full)) == len(full)
    assert outs == [c for c in full if max_label is None or (c.k <= max_label and c.n <= max_label)]


def _features(irreps, batch, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    real = dtype.to_real() if dtype.is_complex else dtype
    out = {}
    for tau, ir in cc.Irreps(irreps):
        x = torch.randn(batch + (tau, ir.dim), generator=g, dtype=real)
        if dtype.is_complex:
            x = torch.complex(x, torch.randn(batch + (tau, ir.dim), generator=g, dtype=real))
        out[ir] = x
    return out


@pytest.mark.parametrize("channels", ["full", "elementwise"])
def test_cg_product_matches_naive_contraction(channels):
    irs1, irs2 = "2x(0,0)+2x(1,1)+2x(2,1)", "2x(1,1)+2x(0,2)"
    prod = cc.CGProduct(irs1, irs2, max_label=2, channels=channels)
    x, y = _features(irs1, (3, 5), torch.complex128, 0), _features(irs2, (3, 5), torch.complex128, 1)
    out = prod(x, y)
    expected: dict = {}
    for a, b, outs in prod.paths:
        for c in outs:
            coeff = cc.clebsch_gordan(a, b, c).to(torch.complex128)
            if channels == "full":
                z = torch.einsum("...ia,...jb,abc->...ijc", x[a], y[b], coeff).flatten(-3, -2)
            else:
                z = torch.einsum("...ia,...ib,abc->...ic", x[a], y[b], coeff)
            expected.setdefault(c, []).append(z)
    assert set(out) == set(expected) == {ir for _, ir in prod.irreps_out}
    for c, zs in expected.items():
        ref = torch.cat(zs, dim=-2)
        assert out[c].shape == ref.shape == (3, 5, prod.irreps_out.count(c), c.dim)
        assert (out[c] - ref).abs().max() <= tol(torch.float64, 16 * c.dim) * ref.abs().max()
        assert all(ir.k <= 2 and ir.n <= 2 for ir in out)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, *COMPLEX_DTYPES])
def test_cg_product_is_equivariant_and_keeps_dtype(dtype):
    irs = "2x(0,0)+2x(1,1)+1x(2,0)+1x(0,2)+1x(2,2)"
    prod = cc.CGProduct(irs, irs, max_label=2)
    x, y = _features(irs, (4,), dtype, 2), _features(irs, (4,), dtype, 3)
    cdtype = cc.complex_of(dtype)
    m = cc.random_sl2c(4, max_rapidity=1.5, seed=9, dtype=cdtype)
    rho = {ir: ir.matrix(m) for ir in cc.Irreps(irs).irreps}
    out = prod(x, y)
    assert all(v.dtype == dtype for v in out.values())
    xt = {ir: (v.to(cdtype) @ rho[ir].transpose(-1, -2)) for ir, v in x.items()}
    yt = {ir: (v.to(cdtype) @ rho[ir].transpose(-1, -2)) for ir, v in y.items()}
    out_t = prod(xt, yt)
    for c, v in out.items():
        lhs = out_t[c]
        rhs = v.to(cdtype) @ c.matrix(m).transpose(-1, -2)
        scale = rhs.abs().amax(dim=(-2, -1), keepdim=True) + lhs.abs().amax(dim=(-2, -1), keepdim=True)
        assert ((lhs - rhs).abs() / scale).max() <= tol(dtype, 64 * irrep_ops(c)) * math.cosh(1.5) ** 4


def test_cg_product_gradients():
    prod = cc.CGProduct("1x(1,1)+1x(1,0)", "1x(1,1)", max_label=2)
    x = _features("1x(1,1)+1x(1,0)", (2,), torch.complex128, 4)
    y = _features("1x(1,1)", (2,), torch.complex128, 5)
    leaves = [v.requires_grad_() for v in (*x.values(), *y.values())]

    def f(*args):
        out = prod(dict(zip(x, args[:2])), dict(zip(y, args[2:])))
        return tuple(out[c] for c in sorted(out))

    assert torch.autograd.gradcheck(f, leaves)


def test_cg_product_bad_input():
    prod = cc.CGProduct("2x(1,1)", "1x(1,1)")
    x = _features("2x(1,1)", (3,), torch.complex64, 0)
    y = _features("1x(1,1)", (3,), torch.complex128, 0)
    with pytest.raises(ValueError, match="one dtype"):
        prod(x, y)
    with pytest.raises(ValueError, match=r"no features for irrep \(1,1\)"):
        prod({cc.Irrep(0, 0): torch.zeros(3, 2, 1)}, y)
    with pytest.raises(ValueError, match=r"must have shape \[\.\.\., 2, 4\]"):
        prod({cc.Irrep(1, 1): torch.zeros(3, 3, 4)}, y)
    with pytest.raises(ValueError, match="elementwise"):
        cc.CGProduct("2x(1,1)", "1x(1,1)", channels="elementwise")
    with pytest.raises(ValueError, match="'full' or 'elementwise'"):
        cc.CGProduct("2x(1,1)", "1x(1,1)", channels="outer")


@given(a=irreps(3), b=irreps(3))
def test_exchange_sign(a, b):
    for c in cc.decompose_product(a, b):
        ab = cc.clebsch_gordan(a, b, c)
        ba = cc.clebsch_gordan(b, a, c)
        assert torch.equal(ba, cc.exchange_sign(a, b, c) * ab.transpose(0, 1))


def test_symmetric_square_equals_full_elementwise_square():
    """x ⊗ x with the redundant half dropped spans the same outputs: every dropped term is ± a kept one or zero."""
    irs = "3x(0,0)+3x(1,1)+3x(2,0)+3x(0,2)+3x(2,2)"
    x = _features(irs, (7,), torch.complex128, 11)
    full = cc.CGProduct(irs, irs, max_label=2, channels="elementwise")(x, x)
    sym_prod = cc.CGProduct(irs, irs, max_label=2, channels="elementwise", symmetric=True)
    sym = sym_prod(x, x)
    for c, v in full.items():
        kept = sym[c]  # [7, τ_kept, d]
        # each full-product channel is ± a kept channel or vanishes
        for ch in range(v.shape[-2]):
            w = v[..., ch, :]
            if w.abs().max() <= tol(torch.float64, 64) * max(1.0, float(v.abs().max())):
                continue
            dist = torch.minimum((kept - w[:, None]).abs().amax((0, 2)), (kept + w[:, None]).abs().amax((0, 2)))
            assert dist.min() <= tol(torch.float64, 64) * float(w.abs().max())
    assert sym_prod.irreps_out.num_channels < cc.CGProduct(irs, irs, 2, "elementwise").irreps_out.num_channels
