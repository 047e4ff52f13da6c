"""The suite measures a deterministic function of one jet: models that are not — randomness in forward, outputs that
depend on the other jets of a call — must never PASS, and a symmetry break far beyond what they vary by is still
BROKEN (validate/consistency.py). The models are written here, independently of the suite."""

import numpy as np
import pytest
import torch
from torch import nn

from clariant.validate import assert_lorentz_invariant, judge, sweep
from clariant.validate.properties import assert_permutation_invariant, run_all
from clariant.validate.strategies import random_jets

P, M = random_jets(24, 12, seed=3, min_particles=3)
GRID = dict(n_rapidities=3, n_angles=2)
ETA = torch.tensor([1.0, -1.0, -1.0, -1.0])


def jet_mass2(p, mask):
    s = (p * mask[..., None].to(p.dtype)).sum(1)
    return (s * s * ETA.to(p.dtype)).sum(-1) / 1e4, s


def noisy(sigma, leak=0.0):
    """m² with a frame-dependent leak (∝ tanh(E_jet/1 TeV)) and multiplicative noise injected in forward."""

    def model(p, mask):
        m2, s = jet_mass2(p, mask)
        out = m2 * (1 + leak * torch.tanh(s[:, 0] / 1000))
        return out * (1 + sigma * torch.randn_like(out))

    return model


def batch_normalised(p, mask):
    """m² over the batch's mean jet energy squared: not a function of one jet."""
    m2, s = jet_mass2(p, mask)
    return m2 * 1e4 / s[:, 0].mean() ** 2


class MCDropout(nn.Module):
    """Dropout forced on at inference (F.dropout with training=True), as MC-dropout taggers do."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.a = nn.Parameter(torch.randn(1, 16, generator=g))
        self.b = nn.Parameter(torch.randn(16, 1, generator=g) / 4)

    def forward(self, p, mask):
        m2, _ = jet_mass2(p, mask)
        h = torch.tanh(m2[:, None] @ self.a)
        return (nn.functional.dropout(h, 0.3, training=True) @ self.b)[:, 0]


class PairMLP(nn.Module):
    """Deterministic and batched (matmuls over the whole call): its outputs move by rounding with the batch's
    composition, which must not read as a dependence on the other jets."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.net = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))

    def forward(self, p, mask):
        d = p[:, :, None] - p[:, None]
        m2 = (d * d * ETA.to(p.dtype)).sum(-1) / 1e4
        pair = (mask[:, :, None] & mask[:, None]).to(p.dtype)
        return (self.net(m2[..., None])[..., 0] * pair).sum((1, 2))


@pytest.mark.parametrize("sigma", [1e-2, 1e-9])
def test_noise_in_forward_is_never_pass(sigma):
    j = judge(sweep(noisy(sigma), P, M, **GRID))
    assert j.verdict == "UNRESOLVED"
    assert "not deterministic" in j.summary()
    with pytest.raises(AssertionError, match="not deterministic"):
        assert_lorentz_invariant(noisy(sigma), P, M, **GRID)


def test_noise_does_not_hide_a_break_as_pass_and_a_large_break_shows():
    assert judge(sweep(noisy(1e-2, leak=1e-3), P, M, **GRID)).verdict == "UNRESOLVED"  # the break hides in the noise
    assert judge(sweep(noisy(1e-6, leak=0.3), P, M, **GRID)).verdict == "BROKEN"  # far beyond it


@pytest.mark.parametrize("dtypes", [(torch.float32,), (torch.float64, torch.float32)])
def test_a_batch_statistic_is_never_pass(dtypes):
    j = judge(sweep(batch_normalised, P, M, dtypes=dtypes, **GRID))
    assert j.verdict == "UNRESOLVED"
    assert "depends on the other jets" in j.summary()


def test_dropout_forced_on_says_why():
    j = judge(sweep(MCDropout(), P, M, **GRID))
    assert j.verdict == "UNRESOLVED"
    assert all("not deterministic" in why for why in j.reasons_by_dtype().values())


def test_a_batched_deterministic_model_is_not_flagged():
    j = judge(sweep(PairMLP(), P, M, **GRID))
    assert j.verdict == "PASS" and j.inconsistent == ""


def order_leak(sigma):
    """Noisy m² plus a 10⁻⁵ row-order dependent term: permutation BROKEN in float64, far beyond a 10⁻⁹ noise."""

    def model(p, mask):
        w = 1 + 1e-2 * torch.arange(p.shape[1], dtype=p.dtype) / p.shape[1]
        return noisy(sigma)(p, mask) + 1e-3 * (p[..., 0] * mask * w).sum(1) / 100

    return model


@pytest.mark.parametrize("model", [noisy(1e-2), batch_normalised, MCDropout()], ids=["noise", "batch", "dropout"])
def test_property_checks_never_pass_such_a_model(model):
    results = run_all(model, P, M, train_width=30)
    for name, r in results.items():
        assert r.verdict == "UNRESOLVED", name
        assert "not deterministic" in r.worst_line() or "depends on the other jets" in r.worst_line(), name
    with pytest.raises(AssertionError, match="UNRESOLVED"):
        assert_permutation_invariant(model, P, M)


def test_property_checks_still_see_a_break_far_beyond_the_noise():
    r = run_all(order_leak(1e-9), P, M, train_width=30, properties=("permutation",))["permutation"]
    assert r.verdict == "BROKEN" and r.by_dtype["float32"] == "UNRESOLVED"


def test_property_checks_do_not_flag_a_batched_deterministic_model():
    results = run_all(PairMLP(), P, M, train_width=30, properties=("permutation", "padding", "parity"))
    assert [str(r.verdict) for r in results.values()] == ["PASS", "PASS", "EVEN"]


# --- no false alarms on deterministic per-jet models that only round differently, and the batch statistics that
# evade a naive probe (a call of one jet giving NaN, or raising)


def float32_inside(p, mask):
    """x.float() first, float64 out: deterministic, its float64 outputs carry float32 rounding."""
    return jet_mass2(p.float(), mask)[0].double()


def random_order_mass(p, mask):
    """m² of a sum taken in a random order each call (as atomics on a GPU): nondeterministic by rounding only."""
    q = p * mask[..., None].to(p.dtype)
    s = torch.zeros(p.shape[0], 4, dtype=p.dtype)
    for i in torch.randperm(p.shape[1]).tolist():
        s = s + q[:, i]
    return (s * s * ETA.to(p.dtype)).sum(-1) / 1e4


def standardised(p, mask):
    """(m² − batch mean) / batch std: a call of one jet gives NaN."""
    m2, _ = jet_mass2(p, mask)
    return (m2 - m2.mean()) / m2.std()


def functional_batch_norm(p, mask):
    """F.batch_norm with training=True on [m², m]: a call of one jet raises."""
    m2, _ = jet_mass2(p, mask)
    feats = torch.stack([m2, m2.clamp_min(0).sqrt()], -1)
    return nn.functional.batch_norm(feats, None, None, training=True).sum(-1)


@pytest.mark.parametrize("model", [float32_inside, random_order_mass], ids=["float32 inside", "random order"])
def test_rounding_differences_are_not_a_finding(model):
    assert judge(sweep(model, P, M, **GRID)).inconsistent == ""
    r = run_all(model, P, M, train_width=30, properties=("permutation",))["permutation"]
    assert r.verdict in ("PASS", "NUMERICAL"), r.worst_line()


def test_a_logit_near_zero_is_not_a_finding():
    edge = float(torch.tanh(jet_mass2(P[:1], M[:1])[0]))  # jet 0, a probed jet, sits on the decision boundary

    def logit(p, mask):
        return torch.tanh(jet_mass2(p, mask)[0]) - edge

    r = run_all(logit, P, M, train_width=30, properties=("permutation",))["permutation"]
    assert r.verdict in ("PASS", "NUMERICAL"), r.worst_line()


@pytest.mark.filterwarnings("ignore:std:UserWarning")  # the model's own, on a call of one jet
@pytest.mark.parametrize("model", [standardised, functional_batch_norm], ids=["standardised", "batch norm"])
def test_batch_statistics_that_fail_apart_are_found_not_raised(model):
    p, mask = random_jets(24, 12, seed=3, min_particles=12)  # one multiplicity: every batched call has > 1 jet
    j = judge(sweep(model, p, mask, **GRID))
    assert j.verdict == "UNRESOLVED" and "depends on the other jets" in j.summary()
    r = run_all(model, p, mask, train_width=30, properties=("permutation", "parity"))
    assert {str(x.verdict) for x in r.values()} == {"UNRESOLVED"}


def test_a_noisy_parity_odd_model_is_unresolved_not_neither():
    def pseudoscalar(p, mask):  # ε_μνρσ p₁p₂p₃p₄ of the four leading rows, with noise
        q = p[:, :4] * mask[:, :4, None].to(p.dtype) / 100
        return torch.linalg.det(q) * (1 + 1e-6 * torch.randn(p.shape[0], dtype=p.dtype))

    p, mask = random_jets(24, 12, seed=3, min_particles=4)
    r = run_all(pseudoscalar, p, mask, train_width=30, properties=("parity",))["parity"]
    assert r.verdict == "UNRESOLVED"


# --- noise the floors absorb: without a gradient, at fixed positions in a call, on some jets only


def numpy_noisy(p, mask):
    """m² computed in numpy (no gradient for the suite) with 10⁻⁶ noise."""
    s = (p * mask[..., None].to(p.dtype)).sum(1).detach().cpu().numpy()
    with np.errstate(over="ignore", invalid="ignore"):  # float16 overflows at large boosts: the model's own
        m2 = (s[:, 0] ** 2 - (s[:, 1:] ** 2).sum(-1)) / 1e4
    m2 = m2 * (1 + 1e-6 * np.random.default_rng().standard_normal(m2.shape))
    return torch.from_numpy(m2).to(p.dtype)


def fixed_seed_noise(p, mask):
    """1e-6 noise from a generator seeded the same in every call: row i of every call gets the same draw."""
    m2, _ = jet_mass2(p, mask)
    g = torch.Generator().manual_seed(0)
    return m2 * (1 + 1e-6 * torch.randn(m2.shape, generator=g, dtype=torch.float64).to(p.dtype))


def noise_on_large_jets(p, mask):
    """1e-4 noise on jets of more than 8 particles only (a stochastic path behind a branch)."""
    m2, _ = jet_mass2(p, mask)
    large = (mask.sum(1) > 8).to(p.dtype)
    return m2 * (1 + 1e-4 * large * torch.randn_like(m2))


@pytest.mark.parametrize(
    "model", [numpy_noisy, fixed_seed_noise, noise_on_large_jets], ids=["numpy", "fixed seed", "large jets only"]
)
def test_noise_the_floors_absorb_is_still_found(model):
    p, mask = random_jets(24, 12, seed=7, min_particles=3)
    assert (mask.sum(1) > 8).float().mean() < 0.5  # the noisy jets are a minority
    assert judge(sweep(model, p, mask, **GRID)).verdict == "UNRESOLVED"
    r = run_all(model, p, mask, train_width=30, properties=("permutation",))["permutation"]
    assert r.verdict == "UNRESOLVED", r.worst_line()


def test_a_model_raising_an_arithmetic_error_at_a_low_precision_is_skipped_there():
    def overflowing(p, mask):  # int() of an inf that float16 produces
        m2, _ = jet_mass2(p, mask)
        if p.dtype == torch.float16:
            int(float("inf"))
        return m2

    s = sweep(overflowing, P, M, **GRID)
    assert "OverflowError" in s.skipped["float16"] and judge(s).verdict == "PASS"


class SqrtPairMLP(nn.Module):
    """An MLP on √|m²| of every pair, i = j included (√ of a rounding-sized p² for massless particles), batched:
    jets apart differ from the batch by √u-sized rounding, which is that model's own floor, not a dependence."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))

    def forward(self, p, mask):
        d = p[:, :, None] + p[:, None]
        m2 = (d * d * ETA.to(p.dtype)).sum(-1) / 1e4
        pair = (mask[:, :, None] & mask[:, None]).to(p.dtype)
        return (self.net(m2.abs().sqrt()[..., None])[..., 0] * pair).sum((1, 2))


def test_a_batched_model_with_a_square_root_kink_is_not_flagged():
    p, mask = random_jets(24, 10, seed=1)
    j = judge(sweep(SqrtPairMLP(), p, mask, **GRID))
    assert j.verdict == "PASS" and j.inconsistent == ""
    r = run_all(SqrtPairMLP(), p, mask, train_width=20, properties=("permutation",))["permutation"]
    assert r.verdict == "PASS", r.worst_line()
