"""The LGN: Lorentz, permutation and padding invariance, dtypes, gradients, declared structure, bad input."""

import math

import pytest
import torch
from helpers import REAL_DTYPES
from hypothesis import given
from hypothesis import strategies as st

import clariant_core as cc
from clariant.validate.strategies import jets, random_jets, sl2c_elements
from clariant_core.network import adjoints, layers

# Error model: the boost's condition number e^{2|y|} times u, times the jet's own sensitivity (nearly collinear
# constituent pairs make some jets ill-conditioned): typical jets stay within 16·u·e^{2|y|}, the worst of a batch of
# random jets within 2048·u·e^{2|y|} (measured: ≤ 460 in float64 and ≤ 160 in float32 over rapidities 0.5–6).
TYPICAL, WORST = 16, 2048


def _model(dtype, seed=0, **kw):
    torch.manual_seed(seed)
    return cc.LGN(cc.LGNConfig(**kw)).to(dtype).eval()


def _rel(a, b):
    a, b = a.double(), b.double()
    return (a - b).norm(dim=-1) / b.norm(dim=-1)


def _transform(lam, p):
    return torch.einsum("...ij,bnj->bni", lam, p)


def test_default_size_matches_the_paper():
    n = cc.count_parameters(cc.LGN())
    assert 3000 <= n <= 6000, n


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("axis", [(0, 0, 1), (1, 0, 0)])
@pytest.mark.parametrize("y", [0.5, 2.0, 6.0])
def test_invariant_under_large_boosts(dtype, axis, y):
    model = _model(dtype)
    p, mask = random_jets(32, 30, seed=1)
    lam = cc.boost(axis, y)
    with torch.no_grad():
        out = model(p.to(dtype), mask)
        out_b = model(_transform(lam, p).to(dtype), mask)  # Λx in float64, rounded once
    err = _rel(out_b, out)
    bound = cc.unit_roundoff(dtype) * math.exp(2 * y)
    assert err.median() <= TYPICAL * bound
    assert err.max() <= WORST * bound


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@given(m=sl2c_elements(max_rapidity=3.0), seed=st.integers(0, 1000))
def test_invariant_under_the_full_group(dtype, m, seed):
    model = _model(dtype)
    p, mask = random_jets(4, 20, seed=seed, min_particles=3)
    lam = cc.to_so13(m)
    y = math.acosh(max(float(lam[0, 0]), 1.0))  # the boost part's rapidity
    with torch.no_grad():
        err = _rel(model(_transform(lam, p).to(dtype), mask), model(p.to(dtype), mask))
    assert err.max() <= WORST * cc.unit_roundoff(dtype) * math.exp(2 * y)


def test_lab_frame_model_is_invariant_but_degrades_faster():
    """frame='lab' evaluates the network on the momenta as given: still invariant, but its error grows faster with
    rapidity (high-degree polynomials of boosted components cancel) — the reason for frame='jet' by default."""
    lab, jet = _model(torch.float64, frame="lab"), _model(torch.float64, frame="jet")  # same weights (same seed)
    p, mask = random_jets(16, 20, seed=2, min_particles=3)
    errs = {}
    with torch.no_grad():
        for name, model in (("lab", lab), ("jet", jet)):
            out = model(p, mask)
            errs[name] = [_rel(model(_transform(cc.boost((1, 0, 0), y), p), mask), out).max() for y in (1.0, 4.0)]
    u = cc.unit_roundoff(torch.float64)
    assert errs["lab"][0] <= math.sqrt(u)  # invariant up to rounding, not broken
    assert errs["lab"][1] >= 10 * errs["jet"][1]


@given(data=jets(max_batch=3, max_particles=25), seed=st.integers(0, 10**6))
def test_permutation_invariant(data, seed):
    model = _model(torch.float64)
    p, mask = data
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(p.shape[1], generator=g)
    with torch.no_grad():
        err = _rel(model(p[:, perm], mask[:, perm]), model(p, mask))
    assert err.max() <= 64 * cc.unit_roundoff(torch.float64) * p.shape[1]


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_padding_invariant(dtype):
    model = _model(dtype)
    p, mask = random_jets(6, 15, seed=3, dtype=dtype)
    padded_p = torch.cat([p, torch.zeros(6, 40, 4, dtype=dtype)], 1)
    padded_mask = torch.cat([mask, torch.zeros(6, 40, dtype=torch.bool)], 1)
    garbage = padded_p.clone()
    garbage[~padded_mask] = 123.0  # whatever a caller leaves in padding rows is ignored
    with torch.no_grad():
        out = model(p, mask)
        assert _rel(model(padded_p, padded_mask), out).max() <= 64 * cc.unit_roundoff(dtype) * 55
        assert _rel(model(garbage, padded_mask), out).max() <= 64 * cc.unit_roundoff(dtype) * 55


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_jets_without_padding_skip_the_mask_and_agree_with_padded_ones(dtype):
    """Jets trimmed to their multiplicity (every row a real particle, as the validation suite evaluates them) skip
    the multiplications by the mask (LGN._all_real); the same jets with padding rows take the masked path. Both
    compute the same function: the outputs agree as in test_padding_invariant. A skipped mask that mattered — a
    padding row not zeroed — would move them by O(1)."""
    model = _model(dtype)
    p, mask = random_jets(6, 15, seed=4, dtype=dtype, min_particles=15)
    padded_p = torch.cat([p, torch.full((6, 5, 4), 7.0, dtype=dtype)], 1)  # junk in the padding rows
    padded_mask = torch.cat([mask, torch.zeros(6, 5, dtype=torch.bool)], 1)
    assert model._all_real(mask) and not model._all_real(padded_mask)
    with torch.no_grad():
        out = model(p, mask)
        assert _rel(model(padded_p, padded_mask), out).max() <= 64 * cc.unit_roundoff(dtype) * 20


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_single_particle_and_collinear_jets(dtype):
    model = _model(dtype)
    p = torch.zeros(3, 5, 4, dtype=dtype)
    mask = torch.zeros(3, 5, dtype=torch.bool)
    p[0, 0] = torch.tensor([100.0, 60.0, 0.0, 80.0])  # one massless particle
    mask[0, 0] = True
    p[1, :3] = torch.tensor([[50.0, 0, 30.0, 40.0], [10.0, 0, 6.0, 8.0], [5.0, 0, 3.0, 4.0]])  # exactly collinear
    mask[1, :3] = True
    p[2, :2] = torch.tensor([[200.0, 0, 0, 200.0], [100.0, 100.0, 0, 0]])
    mask[2, :2] = True
    out = model(p.requires_grad_(), mask)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(p.grad).all()
    with torch.no_grad():
        boosted = model(_transform(cc.boost((0, 1, 0), 2.0), p.detach().double()).to(dtype), mask)
    assert _rel(boosted, out.detach()).max() <= WORST * cc.unit_roundoff(dtype) * math.exp(4)


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_gradients_finite_and_dtype_kept(dtype):
    model = _model(dtype).train()
    p, mask = random_jets(8, 30, seed=4, dtype=dtype)
    out = model(p, mask)
    assert out.dtype == dtype and out.shape == (8, 2)
    torch.nn.functional.cross_entropy(out, torch.arange(8) % 2).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("beams", [False, True])
def test_levels_accumulate_without_gradients_what_they_concatenate_with(dtype, beams):
    """Without gradients a CG level multiplies each piece of its concatenation by its block of W as it is made
    (layers._Accumulation); with gradients it concatenates and multiplies once (layers._Concatenation). Same function,
    sums in another order: the logits agree to 16 u of the largest plus 16× the logits' own rounding spread (their
    float32 error over u₃₂, times u) — the beams' large features make the logits ill-conditioned (measured: the
    paths 7 u apart and the spread 48 u without beams; 36,000–69,000 u apart and the spread 28,000 u with). A piece
    multiplied by the wrong block of W moves them by O(1)."""
    model = _model(dtype, beams=beams)
    p, mask = random_jets(96, 24, seed=5, min_particles=2)
    # long enough rows that the levels accumulate (shorter ones concatenate without gradients too)
    assert 96 * 24 * min(model.config.channels[:-1]) >= layers.ACCUMULATE_MIN_ROW_NUMBERS
    with torch.no_grad():
        accumulated = model(p.to(dtype), mask)
        exact = _model(torch.float64, beams=beams)(p, mask)
        single = _model(torch.float32, beams=beams)(p.float(), mask)
    concatenated = model(p.to(dtype), mask).detach()
    assert concatenated.dtype == accumulated.dtype == dtype
    u = cc.unit_roundoff(dtype)
    spread = u * (single.double() - exact).abs().max() / cc.unit_roundoff(torch.float32)
    assert (accumulated - concatenated).abs().max() <= 16 * u * concatenated.abs().max() + 16 * spread


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_cg_products_by_row_are_the_products_by_gemm(dtype, monkeypatch):
    """On long rows on the CPU a CG product is summed output row by output row (`adjoints.products_by_row`) instead
    of gathered and multiplied by its coefficients in one GEMM: the same function, its sums in another order.
    Every product of a level, on rows of both kinds (τ channels; one channel broadcast): within 8 u of the largest
    output (terms ≤ 21, coefficients ≤ 1) — a term added to the wrong row, or dropped, moves it by O(1). The whole LGN
    agrees to 16 u plus its rounding spread, with gradients too (test_adjoints.py checks their backward); under
    autocast, on short rows and under forward-mode AD the GEMM runs (bit for bit the logits with the rows forced to
    GEMM)."""
    from clariant_core.network import rows

    model = _model(dtype)
    level = model.levels[1]
    u = cc.unit_roundoff(dtype)
    cdt = cc.complex_of(dtype)
    g = torch.Generator().manual_seed(3)
    tau, b, n = level.tau_in, 64, 40
    x = {ir: torch.randn(ir.dim, tau, b, n, generator=g, dtype=cdt) for ir in level.irreps_in.irreps}
    q = torch.randn(4, 1, b, n, generator=g, dtype=cdt)
    differed = []
    for product, pairs in (
        (level.square, [(x[a], x[c]) for a, c, _ in level.square.paths]),
        (level.message, [(q, x[a]) for _, a, _ in level.message.paths]),
    ):
        for (xa, yb), t in zip(pairs, rows.terms(product, dtype), strict=True):
            assert max(xa[0].numel(), yb[0].numel()) >= rows.BY_ROW_MIN_ROW_NUMBERS
            with torch.no_grad():
                by_row = rows.cg_product(xa, yb, t)
                monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 10**12)
                by_gemm = rows.cg_product(xa, yb, t)
                monkeypatch.undo()
            assert by_row.shape == by_gemm.shape and by_row.dtype == by_gemm.dtype == cdt
            scale = by_gemm.abs().max()
            diff = (by_row - by_gemm).abs().max()
            assert diff <= 8 * u * scale * max(len(r) for r in t[3])
            differed.append(bool(diff > 0))
    assert any(differed)  # the sums really ran in another order
    row = torch.randn(2, tau, b, n, generator=g, dtype=cdt)
    two = adjoints.products_by_row(row, row, (((0, 1, 2.0),), ()))
    assert torch.equal(two, torch.stack([2 * row[0] * row[1], 0 * row[0]]))
    p, mask = random_jets(96, 24, seed=5, min_particles=2)
    with torch.no_grad():
        logits = model(p.to(dtype), mask)
        monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 10**12)
        gemm = model(p.to(dtype), mask)
        exact = _model(torch.float64)(p, mask)
        single = _model(torch.float32)(p.float(), mask)
    spread = u * (single.double() - exact).abs().max() / cc.unit_roundoff(torch.float32)
    assert (logits - gemm).abs().max() <= 16 * u * gemm.abs().max() + 16 * spread
    monkeypatch.undo()
    with_grad = model(p.to(dtype), mask)  # gradients on: summed by row too, against the GEMM with gradients
    monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 10**12)
    gemm_grad = model(p.to(dtype), mask)
    monkeypatch.undo()
    assert (with_grad - gemm_grad).abs().max() <= 16 * u * gemm_grad.abs().max() + 16 * spread
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        autocast = model(p.to(dtype), mask)
        monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 10**12)
        assert torch.equal(autocast, model(p.to(dtype), mask))
        monkeypatch.undo()
    with torch.no_grad():  # short rows: four jets
        short = model(p[:4].to(dtype), mask[:4])
        monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 10**12)
        assert torch.equal(short, model(p[:4].to(dtype), mask[:4]))
    monkeypatch.undo()
    # forward-mode AD (dual tensors) without gradients: the GEMM, whose derivative exists
    from torch.autograd import forward_ad

    tangent = torch.randn(p.shape, generator=g, dtype=torch.float64).to(dtype) * mask[..., None]
    with torch.no_grad(), forward_ad.dual_level():
        out = forward_ad.unpack_dual(model(forward_ad.make_dual(p.to(dtype), tangent), mask))
        monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 10**12)
        ref = forward_ad.unpack_dual(model(forward_ad.make_dual(p.to(dtype), tangent), mask))
    assert torch.equal(out.primal, ref.primal) and torch.equal(out.tangent, ref.tangent)


@given(
    st.lists(st.sampled_from([0, 1, 2, 3]), min_size=0, max_size=4).flatmap(
        lambda a: st.tuples(st.just(a), st.lists(st.sampled_from([0, 1, 2, 3]), min_size=len(a), max_size=len(a) + 1))
    )
)
def test_rows_broadcast_shape_is_torchs(shapes):
    """The by-row products' output shape (`rows._broadcast`, a fast path) is torch.broadcast_shapes' — zeros and
    ones included — and shapes that do not broadcast raise torch's own error."""
    a, b = (torch.Size(s) for s in shapes)
    try:
        expected = tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        with pytest.raises(RuntimeError):
            adjoints._broadcast(a, b)
        return
    assert adjoints._broadcast(a, b) == expected


def _step(dtype, p, mask, chunk_pairs, jet_by_jet=False, **kw):
    model = _model(dtype, **kw).train()
    model.grad_chunk_pairs = chunk_pairs
    z = p.to(dtype, copy=True).requires_grad_(True)
    out = torch.cat([model(z[i : i + 1], mask[i : i + 1]) for i in range(len(p))]) if jet_by_jet else model(z, mask)
    torch.nn.functional.cross_entropy(out, torch.arange(len(p)) % 2).backward()
    return [out.detach(), z.grad] + [prm.grad for prm in model.parameters()]


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("beams", [False, True])
def test_chunked_levels_give_the_same_outputs_and_gradients(dtype, beams):
    """grad_chunk_pairs (activation checkpointing over batch chunks) is a memory setting: it must not change the
    logits or any gradient by more than rounding already does — 64·u of the largest entry, or 16× the rounding
    spread of the quantity: the larger of its float32 error (over u₃₂, times u) and the difference between two
    evaluations at this dtype that round differently (the whole batch in one call, and jet by jet). Input gradients
    pass through the ill-conditioned jet frame and, with beams, huge beam features make some weight gradients sums of
    large cancelling terms: there one rounding draw lands up to 6× from another. A chunking bug (a jet lost, a stale
    mask) moves them by O(1) of their size."""
    p, mask = random_jets(7, 12, seed=9)
    plain = _step(dtype, p, mask, None, beams=beams)
    chunked = _step(dtype, p, mask, 2 * 12 * 12, beams=beams)  # chunks of 2 jets (4 chunks, the last one 1 jet)
    by_jet = _step(dtype, p, mask, None, jet_by_jet=True, beams=beams)
    single = _step(torch.float32, p, mask, None, beams=beams)
    exact = _step(torch.float64, p, mask, None, beams=beams)
    u, u32 = cc.unit_roundoff(dtype), cc.unit_roundoff(torch.float32)
    for i, (a, b, c, lo, ref) in enumerate(zip(plain, chunked, by_jet, single, exact)):
        spread = max(u * (lo.double() - ref).abs().max() / u32, (c - a).abs().max())
        assert (b - a).abs().max() <= 64 * u * a.abs().max() + 16 * spread, i
    assert cc.LGN().grad_chunk_pairs is not None  # the default chunks large batches


def test_beams_keep_only_rotations_about_z():
    model = _model(torch.float64, beams=True)
    p, mask = random_jets(8, 20, seed=5, min_particles=3)
    u = cc.unit_roundoff(torch.float64)
    with torch.no_grad():
        out = model(p, mask)
        assert _rel(model(_transform(cc.rotation((0, 0, 1), 0.7), p), mask), out).max() <= WORST * u
        for broken in (cc.boost((1, 0, 0), 1.5), cc.boost((0, 0, 1), 1.5), cc.rotation((1, 0, 0), 0.7)):
            assert _rel(model(_transform(broken, p), mask), out).max() > 1e-6


def test_scalars_input():
    model = _model(torch.float64, num_scalars=2)
    p, mask = random_jets(3, 10, seed=6)
    s = torch.randn(3, 10, 2, dtype=torch.float64)
    lam = cc.boost((0.3, 0.4, 0.5), 1.2)
    with torch.no_grad():
        assert _rel(model(_transform(lam, p), mask, s), model(p, mask, s)).max() <= WORST * 1e-16 * math.exp(2.4)
    with pytest.raises(ValueError, match="expects 2 per-particle scalars"):
        model(p, mask)


def test_declared_linear_maps_commute_with_the_group():
    model = _model(torch.float64)
    m = cc.random_sl2c((), max_rapidity=1.0, seed=3)
    maps = list(model.equivariant_linear_maps())
    assert {name for name, *_ in maps} >= {"input_layer.vector", "levels.0.linear", "levels.2.linear"}

    def rep(irreps):
        blocks = [torch.kron(torch.eye(t, dtype=torch.complex128), ir.matrix(m)) for t, ir in irreps]
        return torch.block_diag(*blocks)

    for name, w, irreps_in, irreps_out in maps:
        assert w.shape == (irreps_out.dim, irreps_in.dim), name
        lhs, rhs = w @ rep(irreps_in), rep(irreps_out) @ w
        scale = torch.linalg.matrix_norm(w) * torch.linalg.matrix_norm(rep(irreps_in))
        assert torch.linalg.matrix_norm(lhs - rhs) <= 64 * cc.unit_roundoff(torch.float64) * scale, name


def test_lab_frame_activations_are_covariant():
    """Every level's activations transform with their declared irreps (frame='lab'), found through forward hooks."""
    model = _model(torch.float64, frame="lab")
    p, mask = random_jets(2, 8, seed=7, min_particles=8)
    m = cc.random_sl2c((), max_rapidity=0.5, seed=4)
    lam = cc.to_so13(m)
    acts = {}

    def hook(name):
        return lambda mod, args, out: acts.setdefault(name, []).append(out)

    handles = [model.get_submodule(n).register_forward_hook(hook(n)) for n in model.activation_irreps()]
    with torch.no_grad():
        model(p, mask)
        model(_transform(lam, p), mask)
    for h in handles:
        h.remove()
    for name, irreps in model.activation_irreps().items():
        before, after = acts[name]
        for _, ir in irreps:
            expected = before[ir] @ ir.matrix(m).T
            scale = expected.abs().max() + 1e-300
            assert (after[ir] - expected).abs().max() <= 1e-10 * scale, (name, ir)


def test_bad_input():
    model = _model(torch.float32)
    p, mask = random_jets(2, 5, seed=8, dtype=torch.float32)
    bad = p.clone()
    bad[1, 2, 3] = float("nan")
    with pytest.raises(ValueError, match=r"p contains NaN at index \(1, 2, 3\)"):
        model(bad, mask)
    bad[1, 2, 3] = float("inf")
    with pytest.raises(ValueError, match="p contains inf"):
        model(bad, mask)
    with pytest.raises(ValueError, match=r"\[B, N, 4\]"):
        model(p[..., :3], mask)
    with pytest.raises(ValueError, match="the model is torch.float32"):
        model(p.double(), mask)
    with pytest.raises(ValueError, match="mask must be a bool tensor"):
        model(p, mask.float())
    empty = mask.clone()
    empty[1] = False
    with pytest.raises(ValueError, match="jet 1 has no particles"):
        model(p, empty)
    for kw in [dict(channels=(2,)), dict(max_label=0), dict(momentum_scale=-1.0), dict(frame="cms")]:
        with pytest.raises(ValueError):
            cc.LGNConfig(**kw)
