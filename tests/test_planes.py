"""Real planes (network/planes.py): the LGN's internal layout computes the same complex arithmetic; CGProduct's
public pieces (terms, split) reproduce its own products; Irreps.filter is the one irrep cut-off."""

import time

import pytest
import torch
from helpers import REAL_DTYPES, tol

import clariant_core as cc
from clariant.validate.strategies import random_jets
from clariant_core.network import planes

IRREPS = "3x(0,0)+3x(1,1)+3x(2,0)+3x(0,2)+3x(2,2)"


def _complex(shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.view_as_complex(torch.randn(*shape, 2, generator=g, dtype=torch.float64)).to(dtype)


def _features(irreps, batch, seed):
    return {ir: _complex(batch + (tau, ir.dim), torch.complex128, seed + i) for i, (tau, ir) in enumerate(irreps)}


def test_planes_round_trip_is_exact():
    z = _complex((3, 5, 2, 9), torch.complex128, 0)
    r = planes.to_planes(z)
    assert r.shape == (9, 2, 2, 3, 5) and r.dtype == torch.float64
    assert torch.equal(planes.from_planes(r), z)


def test_planes_linear_is_the_complex_matrix():
    w = torch.randn(3, 4, 2, dtype=torch.float64)
    z = _complex((2, 6, 4, 9), torch.complex128, 1)
    out = planes.from_planes(planes.linear(w, planes.to_planes(z)))
    ref = torch.view_as_complex(w) @ z
    assert (out - ref).abs().max() <= tol(torch.float64, 16) * ref.abs().max()


@pytest.mark.parametrize("symmetric", [False, True])
def test_terms_and_planes_product_reproduce_the_dense_product(symmetric):
    """CGProduct.terms (nonzero terms only, merged pairs for a ⊗ a) on planes == CGProduct's own complex product,
    output split by CGProduct.split."""
    irs = cc.Irreps(IRREPS)
    prod = cc.CGProduct(irs, irs, max_label=2, channels="elementwise", symmetric=symmetric)
    x = _features(irs, (4, 7), 3)
    y = x if symmetric else _features(irs, (4, 7), 30)
    ref = prod(x, y)
    pieces: dict = {}
    for i, ((a, b, _), terms) in enumerate(zip(prod.paths, prod.terms(torch.float64, planes=True))):
        mx = planes.multiplier(planes.to_planes(x[a]))
        for c, z in prod.split(i, planes.cg_product(mx, planes.to_planes(y[b]), terms), 0):
            pieces.setdefault(c, []).append(planes.from_planes(z))
    for c, v in ref.items():
        got = torch.cat(pieces[c], -2)
        assert (got - v).abs().max() <= tol(torch.float64, 64 * c.dim) * v.abs().max()
    dense = sum(c.numel() for c in prod.coefficients(torch.float64))
    assert sum(t[2].numel() for t in prod.terms(torch.float64)) < dense  # the zeros are really dropped


def test_irreps_filter_is_the_cut_off():
    irs = cc.Irreps("2x(0,0)+1x(1,1)+1x(3,1)+2x(2,2)+1x(0,3)")
    assert irs.filter(max_label=2) == cc.Irreps("2x(0,0)+1x(1,1)+2x(2,2)")
    assert irs.filter(max_label=2, keep=["(0,0)"]) == cc.Irreps("2x(0,0)")
    assert irs.filter() == irs
    assert cc.Irrep(2, 1).within(2) and not cc.Irrep(3, 0).within(2)
    full = cc.decompose_product("(2,2)", "(1,1)")
    assert cc.decompose_product("(2,2)", "(1,1)", 2) == [ir for ir in full if ir.within(2)]
    with pytest.raises(ValueError, match="max_label"):
        irs.filter(max_label=-1)


@pytest.mark.slow  # compiling the levels takes ~3.5 minutes on a shared 2-core CPU
@pytest.mark.parametrize("dtype", REAL_DTYPES[:1])
def test_compiled_lgn_equals_eager(dtype):
    torch.manual_seed(0)
    model = cc.LGN(cc.LGNConfig(channels=(2, 3, 2))).to(dtype).eval()
    p, mask = random_jets(8, 12, seed=1, dtype=dtype, min_particles=12)
    with torch.no_grad():
        eager = model(p, mask)
        model.compiled = True
        start = time.perf_counter()
        compiled = model(p, mask)
    print(f"compile + first call: {time.perf_counter() - start:.0f} s")
    assert model.compiled
    assert ((compiled - eager).norm(dim=-1) / eager.norm(dim=-1)).max() <= tol(dtype, 256)
    # training through the compiled levels: the gradients of eager and compiled agree (the levels compile with
    # static shapes: torch's automatic dynamic shapes failed in inductor on the backward, "Exponent must be
    # non-negative", once the three levels' different shapes had been seen)
    grads = []
    for compiled_mode in (False, True):
        model.compiled = compiled_mode
        model.zero_grad(set_to_none=True)
        model(p, mask).square().sum().backward()
        grads.append([q.grad.clone() for q in model.parameters()])
    for g_eager, g_compiled in zip(*grads):
        assert (g_compiled - g_eager).norm() <= tol(dtype, 256) * g_eager.norm().clamp_min(torch.finfo(dtype).tiny)
