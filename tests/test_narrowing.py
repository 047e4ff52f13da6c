"""The trace of one float64 call (validate/narrowing.py): what it finds in models written here, plainly."""

import numpy as np
import torch
from torch import nn

import clariant_core as cc
from clariant.validate.evaluation import Evaluator
from clariant.validate.narrowing import trace
from clariant.validate.strategies import random_jets
from clariant_core.data import SAMPLE_DIR
from clariant_core.training import load_checkpoint

P, MASK = random_jets(2, 6, seed=3)


def _trace(model, takes_mask=True):
    return trace(Evaluator(model, takes_mask, None), P, MASK, cc.SCALAR)


def energy_sum(p, mask):
    return (p[..., 0] * mask).sum(1)


def energy_sum_in_float32(p, mask):
    return (p[..., 0].float() * mask).sum(1).double()


def eigenvalues_of_a_float32_copy(p, mask):
    g = p.mT @ p
    return torch.linalg.eigvalsh(g.to(torch.float32)).to(p.dtype).sum(-1)


def through_numpy(p, mask):
    return torch.from_numpy(np.asarray(p.numpy()[..., 0].sum(1), dtype=np.float32)).double()


def checked_in_float32(p, mask):
    if torch.isnan(p.float()).any():
        raise ValueError("NaN")
    return energy_sum(p, mask)


def float32_padding_mask(p, mask):
    real = p[..., 0].float() > 0  # a comparison in float32: a decision, not a float32 value
    return (p[..., 0] * real).sum(1)


class Float32Constant(nn.Module):
    """A float32 constant that never holds a number computed from the inputs: not a narrowing."""

    def forward(self, p, mask):
        scale = torch.tensor(0.5)
        return (p[..., 0] * mask).sum(1) * scale


def test_float64_models_are_traced_to_their_outputs_without_a_narrowing():
    for model in (energy_sum, Float32Constant(), checked_in_float32, float32_padding_mask):
        t = _trace(model)
        assert t.complete and t.narrowed is None, (model, t)
    lgn, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float64)
    t = _trace(lgn)
    assert t.complete and t.narrowed is None, t


def test_a_cast_to_float32_is_named():
    for model in (energy_sum_in_float32, eigenvalues_of_a_float32_copy):
        t = _trace(model)
        assert t.complete and t.narrowed is not None and "float64 → float32" in t.narrowed, (model, t)


def test_a_model_that_leaves_torch_is_not_traced_to_its_outputs():
    t = _trace(through_numpy)
    assert not t.complete
