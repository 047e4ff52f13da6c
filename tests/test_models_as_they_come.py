"""Models as users write them: each mistake the suite can see gets a message that says what to do."""

import pytest
import torch
from torch import nn

from clariant.validate import judge, sweep
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
