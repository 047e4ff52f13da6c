"""Models as users write them: each mistake the suite can see gets a message that says what to do."""

import pytest
import torch
from torch import nn

from clariant.validate import judge, sweep
from clariant.validate.properties import run_all
from clariant.validate.strategies import random_jets

P, MASK = random_jets(8, 6, seed=4)
SMALL = dict(n_rapidities=2, n_angles=2)
ETA = torch.tensor([1.0, -1.0, -1.0, -1.0])


def _pairs(p, mask):
    gram = torch.einsum("bni,bmi->bnm", p * ETA.to(p.dtype), p) / 1e4
    return (torch.tanh(gram) * (mask[:, :, None] & mask[:, None, :]).to(p.dtype)).sum((1, 2))


def test_a_closure_over_float32_weights_is_told_to_become_a_module():
    w = torch.randn(4, 4)  # float32, invisible to the suite

    def f(p, mask):
        return (p @ w).sum((1, 2))

    with pytest.raises(ValueError, match="failed in float64.*nn.Module"):
        sweep(f, P, MASK, dtypes=(torch.float64,), **SMALL)


def test_a_model_without_mask_argument_gets_the_hint_and_works_with_it():
    def f(p):
        return _pairs(p, p[..., 0] > 0)

    with pytest.raises(ValueError, match="takes_mask=False"):
        sweep(f, P, MASK, dtypes=(torch.float64,), **SMALL)
    assert judge(sweep(f, P, MASK, dtypes=(torch.float64,), takes_mask=False, **SMALL)).verdict == "PASS"


def test_a_fixed_width_model_gets_the_trim_hint_and_works_with_it():
    class Fixed(nn.Module):
        def forward(self, p, mask):
            assert p.shape[1] == 6, f"size {p.shape[1]} != 6"
            return _pairs(p, mask)

    with pytest.raises(ValueError, match="trim_padding=False"):
        sweep(Fixed(), P, MASK, dtypes=(torch.float64,), **SMALL)
    assert judge(sweep(Fixed(), P, MASK, dtypes=(torch.float64,), trim_padding=False, **SMALL)).verdict == "PASS"


def test_a_guard_that_refuses_some_jets_in_float16_skips_float16_not_the_width():
    """A model that raises on a non-finite jet mass (float16 overflows above ~256 GeV) fails on a batch holding hard
    jets, while the batch's first jet alone runs at every width: the failure is the model's own in float16, not a
    fixed particle count."""

    class Guarded(nn.Module):
        def forward(self, p, mask):
            total = (p * mask[..., None].to(p.dtype)).sum(1)
            m2 = total[:, 0] ** 2 - (total[:, 1:] ** 2).sum(-1)
            if not torch.isfinite(m2).all():
                raise RuntimeError("non-finite jet mass")
            return m2 / 1e4

    g = torch.Generator().manual_seed(5)
    direction = torch.nn.functional.normalize(torch.randn(4, 3, 3, generator=g, dtype=torch.float64), dim=-1)
    energy = torch.tensor([10.0, 300.0, 300.0, 300.0], dtype=torch.float64)[:, None, None]  # the first jet soft
    real = energy * torch.cat([torch.ones(4, 3, 1, dtype=torch.float64), direction], -1)  # 3 massless particles
    p = torch.cat([real, torch.zeros(4, 2, 4, dtype=torch.float64)], 1)  # width 5: trimmed to 3
    mask = torch.arange(5)[None, :].expand(4, 5) < 3
    s = sweep(Guarded(), p, mask, dtypes=(torch.float64, torch.float32, torch.float16), **SMALL)
    assert s.skipped == {"float16": "the model does not run in float16: RuntimeError: non-finite jet mass"}
    assert judge(s).verdict == "PASS"


def test_plain_tensor_attributes_are_named_in_a_note():
    class Attr(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.tensor(1e-4)  # not a buffer: .to(dtype) leaves it float32

        def forward(self, p, mask):
            return _pairs(p, mask) * self.scale

    j = judge(sweep(Attr(), P, MASK, dtypes=(torch.float64, torch.float32), **SMALL))
    assert any("scale (float32)" in n and "buffer" in n for n in j.notes), j.notes


def test_a_four_vector_judged_as_a_scalar_gets_the_vector_hint():
    def total(p, mask):
        return (p * mask[..., None].to(p.dtype)).sum(1)

    j = judge(sweep(total, P, MASK, dtypes=(torch.float64,), **SMALL))
    hint = [n for n in j.notes if "out_rep='vector'" in n and "assert_lorentz_equivariant" in n]
    assert j.verdict == "BROKEN" and hint, j.notes
    assert judge(sweep(total, P, MASK, dtypes=(torch.float64,), out_rep="vector", **SMALL)).verdict == "PASS"


def test_a_coarser_output_dtype_is_noted_and_never_certified():
    def coarse(p, mask):
        return _pairs(p, mask).to(torch.bfloat16)

    j = judge(sweep(coarse, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL))
    assert j.verdict == "UNRESOLVED" and any("bfloat16 outputs" in n for n in j.notes), (j.verdict, j.notes)
    assert all(r.verdict == "UNRESOLVED" for r in j.rows)
    assert all("output rounding" in r.reason for r in j.rows if r.dtype == "float64"), {r.reason for r in j.rows}


def test_jet_chunks_give_the_same_measurement(monkeypatch):
    """Large batches go through in chunks of JET_CHUNK jets (bounded memory): the numbers do not change."""
    from clariant.validate import measures

    whole = sweep(_pairs, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL)
    monkeypatch.setattr(measures, "JET_CHUNK", 3)
    parts = sweep(_pairs, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL)
    for name in whole.measurements:
        a, b = whole.measurements[name], parts.measurements[name]
        assert torch.equal(a.errors, b.errors) and a.errors.shape == (len(a.points), P.shape[0])
        assert torch.allclose(a.floor, b.floor, rtol=1e-12, atol=0)
    assert judge(whole).verdict == judge(parts).verdict == "PASS"


def _first_four_det(p, mask):
    """|det| of the first four rows (an invariant of SO⁺(1,3)), in (100 GeV)⁴: needs ≥ 4 rows, whatever the jets'
    multiplicity (a user's model)."""
    return torch.linalg.det(p[:, :4] * ETA.to(p.dtype)).abs() / 1e8


def test_a_model_that_needs_its_width_gets_the_hint_whatever_its_error_says():
    # the error ("square matrices") names neither size nor shape: the hint comes from re-running at the full width
    p, mask = random_jets(8, 8, seed=2, min_particles=3)
    with pytest.raises(ValueError, match="full width 8.*pass trim_padding=False"):
        sweep(_first_four_det, p, mask, dtypes=(torch.float64,), **SMALL)
    with pytest.raises(ValueError, match="full width 8.*pass trim=False"):
        run_all(_first_four_det, p, mask, properties=("permutation",))
    assert judge(sweep(_first_four_det, p, mask, trim_padding=False, **SMALL)).verdict == "PASS"


def test_a_companion_precision_the_model_fails_at_is_left_out():
    def euclidean_cholesky(p, mask):  # not Lorentz invariant; float32 rounding breaks positive-definiteness
        q = p * mask[..., None].to(p.dtype)
        t = torch.einsum("bni,bnj->bij", q, q) + 1e-3 * torch.eye(4, dtype=p.dtype)
        return torch.log(torch.diagonal(torch.linalg.cholesky(t), dim1=-2, dim2=-1)).sum(-1)

    p, mask = random_jets(24, 16, seed=1, min_particles=5)
    s = sweep(euclidean_cholesky, p, mask, dtypes=(torch.float64,), n_rapidities=5, n_angles=2)
    assert "comparison precision, left out" in s.skipped["float32"]
    assert judge(s).verdict == "BROKEN"  # from float64 alone: far beyond anything rounding explains
    r = run_all(euclidean_cholesky, p, mask, dtypes=(torch.float64,), properties=("permutation", "infrared"))
    assert set(r) == {"permutation", "infrared"}  # no exception from the companion's failure


def test_a_model_with_a_maximum_particle_count_keeps_its_report():
    class Positional(nn.Module):
        """Per-particle embedding of the row index (32 slots), then a sum: fails beyond 32 rows."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.pos = nn.Embedding(32, 1)

        def forward(self, p, mask):
            rows = torch.arange(p.shape[1], device=p.device)
            e = p[..., 0] * mask / 100
            return (e * (1 + 1e-3 * self.pos(rows)[:, 0].to(p.dtype))).sum(1)

    r = run_all(Positional(), P, MASK, train_width=200, properties=("padding",))["padding"]
    assert "padded to 200: not measured" in r.note and "train_width" in r.note
    assert not any(row.check == "padded to 200" for row in r.rows)


def test_outputs_that_underflow_to_zero_are_not_pass():
    def tiny(p, mask):  # E_jet² · 10⁻⁴⁸: a number in float64, exactly 0 in float32 (and not invariant)
        return (p[..., 0] * mask).sum(1) ** 2 * 1e-48

    j = judge(sweep(tiny, P, MASK, dtypes=(torch.float32,), **SMALL))
    assert j.verdict == "UNRESOLVED" and any("exactly 0" in n for n in j.notes)
    assert judge(sweep(tiny, P, MASK, **SMALL)).by_dtype()["float64"] == "BROKEN"
    assert judge(sweep(lambda p, mask: 0 * p[..., 0].sum(1), P, MASK, **SMALL)).verdict == "PASS"  # 0 everywhere
