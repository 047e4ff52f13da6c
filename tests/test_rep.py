"""The representation value object `Rep`: irreps with an optional change of basis; homomorphism, the real
four-vector as (1,1) in the intertwiner's basis, generators against the algebra, parse/print, its use as `out_rep`."""

import copy
import pickle

import pytest
import torch
from helpers import COMPLEX_DTYPES, irrep_ops, rel_err, tol
from hypothesis import given, settings
from hypothesis import strategies as st

import clariant_core as cc
from clariant.validate import BROKEN, PASS, attribute, judge, sweep
from clariant.validate.groups import grid
from clariant.validate.strategies import irreps, random_jets, sl2c_elements

P, MASK = random_jets(6, 10, seed=5, min_particles=3)
_GEN = torch.Generator().manual_seed(7)
# a well-conditioned, otherwise arbitrary complex change of basis of "(0,0)+(1,0)" (d = 3)
MIXED = cc.Rep("1x(0,0)+1x(1,0)", torch.eye(3, dtype=torch.complex128) + 0.3 * torch.randn(3, 3, generator=_GEN))
REPS = [cc.SCALAR, cc.VECTOR, cc.Rep("2x(0,0)+1x(1,1)"), cc.Rep("1x(2,0)+1x(0,2)"), cc.Rep("(2,1)"), MIXED]


def _ops(rep: cc.Rep) -> float:
    """Rounding count of one ρ(M): the worst irrep's, plus the d-term products of B⁻¹ ρ B, times cond(B)."""
    cond = 1.0 if rep.basis is None else float(torch.linalg.cond(rep.basis))
    return cond * max(irrep_ops(ir) + 2 * rep.irreps.dim for ir in rep.irreps.irreps)


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@settings(max_examples=20, deadline=None)
@given(
    rep=st.one_of(st.sampled_from(REPS), irreps(3).map(lambda ir: cc.Rep(cc.Irreps([ir])))),
    m1=sl2c_elements(2.5),
    m2=sl2c_elements(2.5),
)
def test_rep_is_a_homomorphism(dtype, rep, m1, m2):
    m1, m2 = m1.to(dtype), m2.to(dtype)
    r1, r2, r12 = rep.matrix(m1), rep.matrix(m2), rep.matrix(m1 @ m2)
    assert r12.dtype == (cc.real_of(dtype) if rep.is_real else dtype)
    assert r12.shape == (rep.irreps.dim,) * 2
    scale = torch.linalg.matrix_norm(r1.to(torch.complex128)) * torch.linalg.matrix_norm(r2.to(torch.complex128))
    assert rel_err(r12, r1 @ r2, scale=scale) <= tol(dtype, 3 * _ops(rep))


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@settings(max_examples=20, deadline=None)
@given(m=sl2c_elements(4.0))
def test_vector_rep_is_the_real_lorentz_matrix(dtype, m):
    m = m.to(dtype)
    lam = cc.to_so13(m)
    got = cc.VECTOR.matrix(m)
    assert got.dtype == lam.dtype == cc.real_of(dtype) and cc.VECTOR.is_real and cc.VECTOR.dim == 4
    # both are quadratic in M: rounding u·‖M‖² per entry, summed over the 16 terms of T⁻¹ (M ⊗ M̄) T
    assert rel_err(got, lam, scale=torch.linalg.matrix_norm(lam.double())) <= tol(dtype, 4 * 16)
    assert cc.VECTOR == cc.Rep("(1,1)", cc.vector_intertwiner(), real=True)
    assert torch.equal(cc.VECTOR.lorentz_matrix(lam), lam)


def _sl2c_basis() -> torch.Tensor:
    """ξ_a: rotations −iσ_a/2 then boosts σ_a/2, the real basis of sl(2,C) that `Rep.generators` follows."""
    sig = cc.pauli()[1:]
    return torch.cat([-0.5j * sig, 0.5 * sig])


def _structure_constants() -> torch.Tensor:
    """c[a, b, c] with [ξ_a, ξ_b] = Σ_c c_abc ξ_c, solved over the reals from the 2×2 matrices themselves."""
    xi = _sl2c_basis()
    flat = torch.view_as_real(xi.reshape(6, 4)).reshape(6, 8).T  # columns: ξ_c as real 8-vectors
    comm = torch.einsum("aij,bjk->abik", xi, xi) - torch.einsum("bij,ajk->abik", xi, xi)
    rhs = torch.view_as_real(comm.reshape(36, 4)).reshape(36, 8).T
    c = torch.linalg.lstsq(flat, rhs).solution.T.reshape(6, 6, 6)
    assert rel_err(
        torch.einsum("abc,cij->abij", c.to(xi.dtype), xi).reshape(36, 2, 2), comm.reshape(36, 2, 2), scale=1.0
    ).max() <= tol(torch.float64, 16)
    return c


@pytest.mark.parametrize("rep", REPS, ids=str)
def test_generators_exponentiate_and_close_the_algebra(rep):
    gens = rep.generators()
    assert gens.shape == (6, rep.irreps.dim, rep.irreps.dim)
    assert gens.dtype == (torch.float64 if rep.is_real else torch.complex128)
    xi = _sl2c_basis()
    ops = _ops(rep)
    for t in (0.7, -1.3):  # ρ(exp(t ξ_a)) = exp(t dρ(ξ_a))
        group = rep.matrix(torch.linalg.matrix_exp(t * xi))
        algebra = torch.linalg.matrix_exp(t * gens)
        assert (rel_err(algebra, group) <= tol(torch.float64, 16 * ops)).all()
    c = _structure_constants()
    g = gens.to(torch.complex128)
    comm = torch.einsum("aij,bjk->abik", g, g) - torch.einsum("bij,ajk->abik", g, g)
    want = torch.einsum("abc,cij->abij", c.to(g.dtype), g)
    scale = max(float(torch.linalg.matrix_norm(g).max()) ** 2, 1.0)
    assert float((comm - want).abs().max()) <= tol(torch.float64, 8 * ops) * scale


@pytest.mark.parametrize("spec", ["vector", "scalar", "2x(0,0)+1x(1,1)", "1x(2,0)+1x(0,2)", "1x(1,1)"])
def test_parse_and_print_round_trip(spec):
    rep = cc.Rep.parse(spec)
    assert str(rep) == spec and cc.Rep.parse(str(rep)) == rep and rep == spec
    assert cc.Rep.parse(rep) is rep and hash(cc.Rep.parse(spec)) == hash(rep)


def test_named_reps_and_what_they_accept():
    assert cc.Rep.parse("vector") is cc.VECTOR and cc.Rep.parse(" scalar ") is cc.SCALAR
    assert cc.Rep.parse(cc.Irreps("2x(1,1)")) == cc.Rep("2x(1,1)") != cc.VECTOR
    assert cc.Rep.parse(cc.Irrep(1, 1)) == cc.Rep("1x(1,1)") != cc.VECTOR  # complex components: not the real vector
    assert cc.SCALAR.dim is None and cc.SCALAR.fits(7) and cc.SCALAR.is_invariant and cc.SCALAR.is_real
    assert cc.VECTOR.fits(4) and not cc.VECTOR.fits(3) and not cc.VECTOR.is_invariant
    assert cc.Rep("2x(0,0)").fits(2) and not cc.Rep("2x(0,0)").fits(3)
    assert not cc.VECTOR.needs_sl2c and not cc.SCALAR.needs_sl2c and cc.Rep("(1,1)").needs_sl2c


@pytest.mark.parametrize(
    "spec, match",
    [
        ("vectr", "unknown representation 'vectr'.*use 'scalar', 'vector'"),
        ("3x(1,1", "unknown representation '3x\\(1,1'"),
        ("", "unknown representation ''"),
        (4, "unknown representation 4 of type int"),
    ],
)
def test_unknown_specs_are_one_clear_error(spec, match):
    with pytest.raises(ValueError, match=match):
        cc.Rep.parse(spec)


def test_construction_checks():
    with pytest.raises(ValueError, match="not real in this basis"):
        cc.Rep("(1,0)", real=True)
    with pytest.raises(ValueError, match="singular"):
        cc.Rep("(1,1)", torch.ones(4, 4))
    with pytest.raises(ValueError, match=r"must be \[4, 4\]"):
        cc.Rep("(1,1)", torch.eye(3))
    with pytest.raises(ValueError, match="needs SL\\(2,C\\)"):
        cc.Rep("(1,1)").lorentz_matrix(torch.eye(4, dtype=torch.float64))
    with pytest.raises(AttributeError, match="immutable"):
        cc.VECTOR._basis = None
    basis = cc.VECTOR.basis
    basis.zero_()  # a copy: the value object is unchanged
    assert cc.VECTOR == cc.Rep("(1,1)", cc.vector_intertwiner(), real=True)
    for rep in REPS:  # models holding a Rep are deep-copied (one copy per dtype) and may be pickled
        assert copy.deepcopy(rep) == rep == pickle.loads(pickle.dumps(rep)) and str(copy.deepcopy(rep)) == str(rep)


def _total(p, mask):
    return (p * mask[..., None]).sum(1)


def test_suite_takes_reps_and_strings_alike():
    """out_rep as a Rep, its string, or the same rep in another basis: one verdict; a wrong one is BROKEN."""
    kw = dict(dtypes=(torch.float64,), n_rapidities=3, max_rapidity=4.0, n_angles=2)
    t = cc.vector_intertwiner()
    as_vector = judge(sweep(_total, P, MASK, out_rep=cc.VECTOR, **kw))
    assert as_vector.verdict == PASS and judge(sweep(_total, P, MASK, out_rep="vector", **kw)).verdict == PASS
    # a real four-vector is (1,1) in the basis T: the complex matrices T⁻¹ρ_(1,1)T act on it as Λ does
    assert judge(sweep(_total, P, MASK, out_rep=cc.Rep("(1,1)", t), **kw)).verdict == PASS
    assert judge(sweep(_total, P, MASK, out_rep=cc.Rep("(1,1)"), **kw)).verdict == BROKEN  # wrong basis
    with pytest.raises(ValueError, match="unknown representation 'vectors'"):
        sweep(_total, P, MASK, out_rep="vectors", **kw)


def test_attribution_takes_reps():
    class Layers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.total = torch.nn.Identity()

        def forward(self, p, mask):
            return self.total(_total(p, mask))

        def activation_irreps(self):
            return {"total": cc.Rep("(1,1)", cc.vector_intertwiner())}

    a = attribute(Layers(), P, MASK)
    assert a.layers[0].irreps == "1x(1,1) (changed basis)" and a.first_broken is None
    model = Layers()
    model.activation_irreps = lambda: {"total": "vecter"}
    with pytest.raises(ValueError, match=r"activation_irreps\(\)\['total'\]: unknown representation 'vecter'"):
        attribute(model, P, MASK)


def test_a_wrong_basis_is_broken_under_custom_transformations_too():
    """Custom transformations form one family: its rotations (rapidity 0, some of which a wrong basis happens to get
    right) are no evidence that the saturated boost rows' errors scale with the unit roundoff."""
    _, m = grid(4.0, 2, n_angles=1)
    j = judge(sweep(_total, P, MASK, out_rep=cc.Rep("(1,1)"), dtypes=(torch.float64,), transforms=m))
    assert j.verdict == BROKEN, [r.line() for r in j.rows]


def test_the_summary_says_equivariant_for_a_transforming_output():
    """A covariant output (the jet's four-momentum) is summarised as equivariant, an invariant one as invariant."""
    from clariant.validate.strategies import random_jets

    p, mask = random_jets(4, 6, seed=11)

    def jet_momentum(p, mask):
        return (p * mask[..., None]).sum(1)

    def jet_mass2(p, mask):
        q = jet_momentum(p, mask)
        return q[:, 0] ** 2 - (q[:, 1:] ** 2).sum(-1)

    vec = judge(sweep(jet_momentum, p, mask, out_rep="vector", n_rapidities=2, n_angles=2))
    inv = judge(sweep(jet_mass2, p, mask, n_rapidities=2, n_angles=2))
    assert vec.verdict == "PASS" and vec.summary().startswith("equivariant under")
    assert inv.verdict == "PASS" and inv.summary().startswith("invariant under")
