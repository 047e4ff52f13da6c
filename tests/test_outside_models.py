"""Models in the styles outside users write, each with the verdict a physicist expects — the cases an outside attack
on the suite found wrong (a float32-inside model called BROKEN, order-one bugs passing in bfloat16, a rotation
symmetry by π passing a rotation claim, single-precision property checks that could not fail, …). Written
independently of the suite's code: plain torch, no helpers from `validate`."""

import math

import pytest
import torch
from torch import nn

from validate import BROKEN, NUMERICAL, PASS, UNRESOLVED, assert_lorentz_invariant, judge, sweep
from validate.properties import (
    PropertyVerdict,
    assert_parity_invariant,
    check_collinear,
    check_infrared,
    check_parity,
    run_all,
)
from validate.strategies import random_jets

P, MASK = random_jets(16, 12, seed=0)
SMALL = dict(n_rapidities=3, n_angles=2, axes=("x", "z"))
ETA = torch.tensor([1.0, -1.0, -1.0, -1.0])


def minkowski(a, b):
    return (a * b * ETA.to(a.dtype)).sum(-1)


def pair_model(p, mask):
    """PELICAN-style: Σ_ij tanh(p_i·p_j / 10⁴) over real pairs (invariant)."""
    m = mask.to(p.dtype)
    g = minkowski(p[:, :, None, :], p[:, None, :, :]) / 1e4
    return (torch.tanh(g) * m[:, :, None] * m[:, None, :]).sum((1, 2))[:, None]


def float32_inside(p, mask):
    """The same function computed after `p.float()` — a common first line of a tagger's forward."""
    return pair_model(p.float(), mask).to(p.dtype)


def float32_inside_broken(p, mask):
    """float32 inside and a 1 % frame-dependent term: broken whatever the precision."""
    x = p.float()
    m = mask.to(x.dtype)
    leak = 0.01 * (x[..., 3] * m).sum(1) / (x[..., 0] * m).sum(1)
    return (pair_model(x, mask)[:, 0] * (1 + leak))[:, None].to(p.dtype)


def lab_frame_leak(p, mask):
    """Invariant pairs times (1 + 0.3 p_z/E of the jet): a 15–35 % frame dependence."""
    m = mask.to(p.dtype)
    total = (p * m[..., None]).sum(1)
    return pair_model(p, mask) * (1 + 0.3 * total[:, 3:4] / total[:, 0:1])


def quadrupole(p, mask):
    """Σ p_x p_y / E: invariant under a turn by π about z, not under rotations about z."""
    m = mask.to(p.dtype)
    return ((p[..., 1] * p[..., 2] / p[..., 0].clamp_min(1e-9)) * m).sum(1, keepdim=True)


class DropoutPairs(nn.Module):
    """An invariant model with dropout, left in training mode by its user."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, p, mask):
        return self.drop(pair_model(p, mask))


def test_a_model_computing_in_float32_inside_is_not_called_broken():
    j = judge(sweep(float32_inside, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL))
    assert j.verdict == PASS and j.by_dtype() == {"float64": UNRESOLVED, "float32": PASS}
    assert any("computes in float32 inside" in n for n in j.notes)
    # a broken one: float32 is then the finest precision measured, judged against bfloat16/float16
    bad = judge(sweep(float32_inside_broken, P, MASK, **SMALL))
    assert bad.verdict == BROKEN and bad.by_dtype()["float32"] == BROKEN and bad.by_dtype()["float64"] == UNRESOLVED
    # with float32 alone left to judge, an excess it cannot tell from rounding is never PASS
    alone = judge(sweep(float32_inside_broken, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL))
    assert alone.verdict in (NUMERICAL, BROKEN)


def test_a_true_float64_model_is_not_flagged_as_float32_inside():
    j = judge(sweep(pair_model, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL))
    assert j.by_dtype() == {"float64": PASS, "float32": PASS} and not any("inside" in n for n in j.notes)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_an_order_one_bug_does_not_pass_in_a_low_precision(dtype):
    p, mask = P / 10, MASK  # energies that float16 holds squared
    j = judge(sweep(lab_frame_leak, p, mask, dtypes=(dtype,), **SMALL))
    assert j.verdict == BROKEN, j.summary()
    with pytest.raises(AssertionError, match="BROKEN"):
        assert_lorentz_invariant(lab_frame_leak, p, mask, dtypes=(dtype,), **SMALL)
    # a correct model keeps its PASS in that precision
    assert judge(sweep(pair_model, p, mask, dtypes=(dtype,), **SMALL)).verdict in (PASS, UNRESOLVED)


def test_a_discrete_rotation_symmetry_fails_a_rotation_claim_at_the_smallest_grid():
    with pytest.raises(AssertionError, match="BROKEN.*rotations about z"):
        assert_lorentz_invariant(quadrupole, P, MASK, group="rot_z", n_rapidities=2, n_angles=2)
    angles = [pt.parameter for pt in sweep(quadrupole, P, MASK, n_rapidities=1, n_angles=6).points]
    assert all(abs(math.remainder(a, math.pi / 6)) > 1e-3 for a in angles[3:])  # no multiple of π/6


def test_a_model_in_training_mode_is_measured_in_eval_mode_and_left_as_it_was():
    model = DropoutPairs()
    assert model.training
    result = sweep(model, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL)
    assert model.training, "the suite switched the user's module to eval mode"
    assert judge(result).verdict == PASS and any("training mode" in n for n in result.notes)


def test_assert_lorentz_invariant_points_a_covariant_output_to_the_equivariant_assert():
    with pytest.raises(ValueError, match="assert_lorentz_equivariant"):
        assert_lorentz_invariant(pair_model, P, MASK, out_rep="vector", **SMALL)


# --- properties ----------------------------------------------------------------------------------------------------
def pz_fraction(p, mask):
    """Σ p_z / Σ E: parity odd."""
    m = mask.to(p.dtype)
    return ((p[..., 3] * m).sum(1) / (p[..., 0] * m).sum(1))[:, None]


def mass_window(p, mask):
    """relu(m_jet − cut): exactly 0 for most jets, IR and collinear safe."""
    total = (p * mask[..., None].to(p.dtype)).sum(1)
    m = torch.sqrt(minkowski(total, total).clamp_min(0))
    return torch.relu(m - m.median() * 1.2)[:, None]


def sqrt_energies(p, mask):
    """Σ √E_i: a soft particle changes it like √ε (IR safe, the slowest safe power)."""
    return (p[..., 0].clamp_min(0).sqrt() * mask.to(p.dtype)).sum(1, keepdim=True)


def test_a_single_precision_property_check_can_fail():
    for dtypes in ((torch.float64,), (torch.float32,), ("float64",)):
        assert check_parity(pz_fraction, P, MASK, dtypes=dtypes).verdict == PropertyVerdict.ODD
        with pytest.raises(AssertionError, match="ODD"):
            assert_parity_invariant(pz_fraction, P, MASK, dtypes=dtypes)


def test_outputs_exactly_zero_for_most_jets_are_not_nonfinite():
    out = mass_window(P.double(), MASK)
    assert (out == 0).float().mean() > 0.5
    for check in (check_infrared, check_collinear):
        r = check(mass_window, P, MASK)
        assert r.verdict == PropertyVerdict.SAFE, r.worst_line()


def test_a_square_root_change_is_infrared_safe_in_both_precisions():
    r = check_infrared(sqrt_energies, P, MASK)
    assert r.verdict == PropertyVerdict.SAFE and set(r.by_dtype.values()) == {PropertyVerdict.SAFE}


class FixedWidth(nn.Module):
    """A fixed-N tagger: a Linear on the flattened [B, N·4] momenta."""

    def __init__(self, n):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(4 * n, 1)

    def forward(self, p, mask):
        x = p * mask[..., None].to(p.dtype) / 100
        return self.lin(x.flatten(1))


def test_a_fixed_width_model_gets_every_property_that_keeps_its_width():
    p, mask = random_jets(12, 10, seed=2, min_particles=3)
    full = torch.zeros(1, 10, 4, dtype=p.dtype)
    full[..., 0], full[..., 3] = 10.0, 10.0 * torch.linspace(0.1, 0.9, 10)  # a jet with no free padding row
    p, mask = torch.cat([p, full]), torch.cat([mask, torch.ones(1, 10, dtype=torch.bool)])
    results = run_all(FixedWidth(10), p, mask, trim_padding=False)
    assert results["permutation"].verdict == PropertyVerdict.BROKEN
    assert results["infrared"].verdict == PropertyVerdict.SAFE  # linear in the soft momentum
    assert results["collinear"].verdict == PropertyVerdict.UNSAFE  # a split moves momentum to another row's weights
    full_jets = int(mask.all(1).sum())
    assert (
        full_jets >= 1
        and f"{full_jets} jet" in results["infrared"].note
        and "free padding row" in results["infrared"].note
    )
    assert "fixed-width" in results["padding"].note


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: run_all(pair_model, P[:0], MASK[:0]), "no jets to measure"),
        (lambda: run_all(pair_model, P.numpy(), MASK), "torch tensor"),
        (lambda: run_all(pair_model, P[..., [1, 2, 3, 0]], MASK), "is the energy stored last"),
        (lambda: run_all(lambda p: p.sum((1, 2)), P, MASK), "takes_mask=False"),
        (lambda: run_all(lambda p, m: p[..., 0], P, MASK, properties=("permutation",)), "per_particle=True"),
        (lambda: run_all(lambda p, m: p.sum(), P, MASK, properties=("parity",)), "one row per jet"),
        (lambda: run_all(pair_model, P, MASK, dtypes=("float99",)), "dtypes are torch dtypes or one of"),
    ],
)
def test_property_checks_say_what_to_do(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def mass_with_a_special_case(p, mask):
    """√(P² + 1) — but a one-particle jet returns its energy (a code-path bug in one jet of the batch)."""
    m = mask.to(p.dtype)
    total = (p * m[..., None]).sum(1)
    mass = torch.sqrt(minkowski(total, total).clamp_min(0) + 1.0)
    return torch.where(mask.sum(1) == 1, total[:, 0], mass)[:, None]


def test_one_bad_jet_the_p95_rule_lets_through_is_named_in_a_note():
    p, mask = random_jets(16, 20, seed=0)
    lone = torch.nonzero(mask.sum(1) == 1)[:, 0].tolist()
    assert len(lone) == 1  # one jet of 16: below the p95 rule's reach
    j = judge(sweep(mass_with_a_special_case, p, mask, dtypes=(torch.float64, torch.float32), **SMALL))
    assert j.verdict == PASS
    assert any("1 of 16 jets exceed" in n and f"jet {lone[0]}" in n for n in j.notes), j.notes
    clean = judge(sweep(lambda p, m: mass_with_a_special_case(p, m & (m.sum(1, keepdim=True) > 1)), p, mask, **SMALL))
    assert not any("exceed" in n for n in clean.notes)


class DropoutVectors(nn.Module):
    """Dropout on the constituents' four-vectors (declared covariant for attribution: in training mode it zeroes
    components at random, which no Lorentz transformation commutes with), then the jet mass², then dropout again."""

    def __init__(self):
        super().__init__()
        self.vectors = nn.Dropout(0.5)
        self.drop = nn.Dropout(0.5)

    def activation_irreps(self):
        return {"vectors": "vector"}

    def forward(self, p, mask):
        v = self.vectors(p * mask[..., None].to(p.dtype))
        total = v.sum(1)
        return self.drop(minkowski(total, total)[:, None])


def test_attribution_runs_a_training_mode_model_in_eval_mode_and_gives_it_back():
    from validate import attribute

    model = DropoutVectors().double()
    model.drop.eval()  # a mixed state of the user's own: kept exactly
    a = attribute(model, P, MASK)
    assert a.first_broken is None, a.layers  # measured as deployed: dropout off
    assert model.training and model.vectors.training and not model.drop.training
