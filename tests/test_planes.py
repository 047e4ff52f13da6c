"""The layouts a CG level computes in — complex rows (network/rows.py, eager) and real planes (network/planes.py,
compiled) — compute the same complex arithmetic, and a level gives the same outputs, gradients and forward-mode
derivatives in either; CGProduct's public pieces (terms, split) reproduce its own products; Irreps.filter is the one
irrep cut-off."""

import time

import pytest
import torch
from helpers import REAL_DTYPES, tol

import clariant_core as cc
from clariant.validate.strategies import random_jets
from clariant_core.network import planes, rows
from clariant_core.network.layers import CGLevel, PairBasis, vector_features

IRREPS = "3x(0,0)+3x(1,1)+3x(2,0)+3x(0,2)+3x(2,2)"
LAYOUTS = pytest.mark.parametrize("layout", [rows, planes], ids=["rows", "planes"])


def _complex(shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.view_as_complex(torch.randn(*shape, 2, generator=g, dtype=torch.float64)).to(dtype)


def _features(irreps, batch, seed):
    return {ir: _complex(batch + (tau, ir.dim), torch.complex128, seed + i) for i, (tau, ir) in enumerate(irreps)}


@LAYOUTS
def test_layout_round_trip_is_exact(layout):
    z = _complex((3, 5, 2, 9), torch.complex128, 0)
    r = layout.to_layout(z)
    assert r.shape[0] == 9 and r.shape[layout.CHANNELS] == 2 and r.shape[-2:] == (3, 5)
    assert torch.equal(layout.from_layout(r), z)


@LAYOUTS
def test_layout_linear_and_bias_are_the_complex_map(layout):
    w = torch.randn(3, 4, 2, dtype=torch.float64)
    z = _complex((2, 6, 4, 9), torch.complex128, 1)
    out = layout.from_layout(layout.linear(w, layout.to_layout(z)))
    ref = torch.view_as_complex(w) @ z
    assert (out - ref).abs().max() <= tol(torch.float64, 16) * ref.abs().max()
    bias = torch.randn(4, 2, dtype=torch.float64)
    s = _complex((2, 6, 4, 1), torch.complex128, 2)
    got = layout.from_layout(layout.add_bias(layout.to_layout(s), bias))
    assert torch.equal(got, s + torch.view_as_complex(bias)[:, None])


@LAYOUTS
def test_layout_scalar_features_interleave_re_im_per_channel(layout):
    s = _complex((2, 6, 4, 1), torch.complex128, 3)  # [B, N, τ, 1]
    real = layout.scalar_features(layout.to_layout(s))
    assert torch.equal(real, torch.view_as_real(s[..., 0]).flatten(2))  # [B, N, 2τ]: re₀, im₀, re₁, …
    assert torch.equal(layout.from_layout(layout.from_scalar_features(real)), s)


@LAYOUTS
def test_layout_aggregate_is_the_pair_sum(layout):
    tau, b, n = 3, 4, 7
    g = torch.Generator().manual_seed(4)
    f = torch.randn(tau * b, n, n, generator=g, dtype=torch.float64)
    parts = [_complex((b, n, tau, d), torch.complex128, 10 + d) for d in (1, 4, 9)]
    got = layout.aggregate(f, [layout.to_layout(z) for z in parts])
    fc = f.view(tau, b, n, n).to(torch.complex128)
    for z, a in zip(parts, got):
        ref = torch.einsum("cbij,bjcd->bicd", fc, z)
        assert (layout.from_layout(a) - ref).abs().max() <= tol(torch.float64, 4 * n) * ref.abs().max()


@LAYOUTS
@pytest.mark.parametrize("symmetric", [False, True])
def test_terms_and_layout_product_reproduce_the_dense_product(layout, symmetric):
    """CGProduct.terms (nonzero terms only, merged pairs for a ⊗ a) in the layout == CGProduct's own complex
    product, output split by CGProduct.split."""
    irs = cc.Irreps(IRREPS)
    prod = cc.CGProduct(irs, irs, max_label=2, channels="elementwise", symmetric=symmetric)
    x = _features(irs, (4, 7), 3)
    y = x if symmetric else _features(irs, (4, 7), 30)
    ref = prod(x, y)
    pieces: dict = {}
    terms = layout.terms(prod, torch.float64)
    for i, ((a, b, _), t) in enumerate(zip(prod.paths, terms)):
        for c, z in prod.split(i, layout.cg_product(layout.to_layout(x[a]), layout.to_layout(y[b]), t), 0):
            pieces.setdefault(c, []).append(layout.from_layout(z))
    for c, v in ref.items():
        got = torch.cat(pieces[c], -2)
        assert (got - v).abs().max() <= tol(torch.float64, 64 * c.dim) * v.abs().max()
    dense = sum(c.numel() for c in prod.coefficients(torch.float64))
    assert sum(t[2].numel() for t in prod.terms(torch.float64)) < dense  # the zeros are really dropped


def _level_inputs(dtype):
    """A CG level (all irreps up to label 2 in, 3 channels) and its inputs on 3 jets of 6 particles, the last jet
    with 2 padding rows."""
    torch.manual_seed(5)
    irs = cc.Irreps("3x(0,0)+3x(0,2)+3x(1,1)+3x(2,0)+3x(2,2)")
    level = CGLevel(irs, 3, max_label=2, num_basis=4, mlp_hidden=8).to(dtype)
    p, mask = random_jets(3, 6, seed=6, dtype=dtype, min_particles=4)
    x = {ir: _complex((3, 6, tau, ir.dim), cc.complex_of(dtype), 40 + i) for i, (tau, ir) in enumerate(irs)}
    q = vector_features(p / 100)
    basis = PairBasis(4).to(dtype)(cc.minkowski_norm2(p[:, :, None] - p[:, None]) / 1e4) * mask[None, :, None]
    return level, x, q, basis, mask


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_level_in_rows_equals_level_in_planes(dtype):
    """The eager layout (rows) and the compiled one (planes, run here eagerly) compute the same level: outputs,
    gradients of every parameter and input, and forward-mode derivatives (the floor's torch.func.jvp)."""
    level, x, q, basis, mask = _level_inputs(dtype)
    leaves = [*x.values(), basis]
    for t in leaves:
        t.requires_grad_(True)
    outs, grads = [], []
    for layout in (rows, planes):
        out = level.evaluate(layout, x, q, basis, mask)
        loss = sum((v.abs() ** 2).sum() for v in out.values())
        grads.append(torch.autograd.grad(loss, [*level.parameters(), *leaves]))
        outs.append(out)
    bound = tol(dtype, 256)
    for c, v in outs[1].items():
        assert (outs[0][c] - v).abs().max() <= bound * v.abs().max(), c
    for g_rows, g_planes in zip(*grads):
        assert (g_rows - g_planes).abs().max() <= bound * g_planes.abs().max()
    tangent = {c: _complex(v.shape, v.dtype, 60) for c, v in x.items()}
    jvps = []
    for layout in (rows, planes):

        def fn(*xs, layout=layout):
            return level.evaluate(layout, dict(zip(x, xs)), q, basis.detach(), mask)[cc.Irrep(0, 0)]

        primals = tuple(v.detach() for v in x.values())
        jvps.append(torch.func.jvp(fn, primals, tuple(tangent.values()))[1])
    assert (jvps[0] - jvps[1]).abs().max() <= bound * jvps[1].abs().max()


def test_the_function_compiled_is_the_level_with_its_own_code():
    """What `compiled = True` hands to torch.compile (`_planes_run`: planes, the CG terms bound as constants) computes
    the level, and each level gets its own code object — torch.compile's recompile limit counts per code object, and
    beyond it the code runs eagerly (the slow test below makes that an error)."""
    level, x, q, basis, mask = _level_inputs(torch.float64)
    run = level._planes_run()
    got = level.evaluate(planes, x, q, basis, mask, run=run)
    ref = level.evaluate(rows, x, q, basis, mask)
    for c, v in ref.items():
        assert (got[c] - v).abs().max() <= tol(torch.float64, 256) * v.abs().max(), c
    runs = [*(lv._planes_run() for lv in cc.LGN().levels), run, level._planes_run()]
    assert len({id(f.__code__) for f in runs}) == len(runs)  # distinct objects (equal ones compare equal)


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
    # three batch shapes, each compiled with and without gradients: 6 versions of each level — past torch.compile's
    # recompile limit (8) had the levels shared one code object (it failed so); running eagerly beyond the limit is
    # an error here, not a silent slowdown
    with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):
        for shape in ((8, 12), (5, 9), (3, 7)):
            p, mask = random_jets(*shape, seed=1, dtype=dtype, min_particles=shape[1])
            _compare_compiled(model, p, mask, dtype)


def _compare_compiled(model, p, mask, dtype):
    with torch.no_grad():
        model.compiled = False
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
