"""Output heads (clariant_core/network/heads.py): the four-vector head is covariant, the mass head invariant, the
regression losses do not depend on the frame, the metrics measure what they say; a broken head is caught."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from clariant import validate
from clariant.validate.exact import lorentz_apply
from clariant.validate.strategies import random_jets
from clariant_core.group.lorentz import minkowski_norm2, random_sl2c, sl2c, to_so13
from clariant_core.network.baseline import ParticleFlowNetwork, PFNConfig
from clariant_core.network.heads import Task, jet_momentum, jet_relative_momentum
from clariant_core.network.lgn import LGN, LGNConfig
from clariant_core.training.regression import mass_loss, momentum_loss, regression_metrics
from tests.helpers import REAL_DTYPES, tol

SMALL = dict(n_rapidities=4, n_angles=3, groups=(), max_rapidity=6.0)
CHANNELS = (2, 3, 3, 2)


def _model(task: str, frame: str = "jet", seed: int = 0) -> LGN:
    torch.manual_seed(seed)
    return LGN(LGNConfig(task=task, channels=CHANNELS, frame=frame)).double().eval()


@pytest.fixture(scope="module")
def jets():
    return random_jets(6, 12, seed=3, dtype=torch.float64)


def test_task_vocabulary():
    assert [t.out_rep for t in Task] == ["scalar", "scalar", "vector"]
    with pytest.raises(ValueError, match="task must be one of"):
        LGNConfig(task="energy")


def test_output_shapes(jets):
    p, mask = jets
    assert _model("mass")(p, mask).shape == (6, 1) and (_model("mass")(p, mask) > 0).all()
    assert _model("momentum")(p, mask).shape == (6, 4)
    assert _model("momentum")(p[:0], mask[:0]).shape == (0, 4)


@pytest.mark.parametrize("frame", ["jet", "lab"])
def test_vector_head_on_exactly_transformed_inputs(jets, frame):
    """f(Λp) = Λ f(p) with Λp computed in double-double and rounded once; the bound grows like u·e^{2|y|} (the
    input's own rounding after the boost) times the rounding count of a short network."""
    p, mask = jets
    model = _model("momentum", frame)
    y = 2.0
    m = sl2c(rotation=torch.tensor([0.3, -0.2, 0.5]), boost=torch.tensor([0.0, y * 0.6, y * 0.8]), dtype=torch.float64)
    lam = to_so13(m)
    with torch.no_grad():
        out, out_t = model(p, mask), model(lorentz_apply(m[None], p)[0], mask)
    expected = out @ lam.T
    err = (out_t - expected).norm(dim=-1) / expected.norm(dim=-1)
    assert (err < tol(torch.float64, 1e4) * math.exp(2 * y)).all(), err.max()


@pytest.mark.parametrize("task", ["mass", "momentum"])
def test_heads_pass_the_suite_in_both_dtypes(jets, task):
    p, mask = jets
    model = _model(task)
    rep = Task(task).out_rep
    j = validate.judge(validate.sweep(model, p, mask, dtypes=tuple(REAL_DTYPES), out_rep=rep, **SMALL))
    assert str(j.verdict) == "PASS", j.summary()
    assert set(map(str, j.by_dtype().values())) == {"PASS"}


class _ForgetsTheLab(LGN):
    """A four-vector head whose frame correction is missing: the jet-frame correction is returned as if it were
    in the lab (the classic bug of evaluating in a covariant frame)."""

    def activation_frame(self, p, mask):
        return super().activation_frame(p, mask).new_tensor([[1.0, 0], [0, 1.0]]).expand(p.shape[0], 2, 2)


def test_suite_finds_a_head_that_forgets_the_frame(jets):
    p, mask = jets
    torch.manual_seed(0)
    broken = _ForgetsTheLab(LGNConfig(task="momentum", channels=CHANNELS)).double().eval()
    j = validate.judge(validate.sweep(broken, p, mask, dtypes=(torch.float64,), out_rep="vector", **SMALL))
    assert str(j.verdict) == "BROKEN"
    # and a correct four-vector judged as an invariant is not passed either
    j = validate.judge(validate.sweep(_model("momentum"), p, mask, dtypes=(torch.float64,), out_rep="scalar", **SMALL))
    assert str(j.verdict) == "BROKEN"


def test_pfn_regression_heads_start_from_the_jet(jets):
    p, mask = jets
    jet = jet_momentum(p, mask)
    assert torch.allclose(jet_relative_momentum(jet, torch.zeros_like(jet)), jet, rtol=tol(torch.float64, 64))
    for task, width in (("mass", 1), ("momentum", 4)):
        net = ParticleFlowNetwork(PFNConfig(task=task)).double()
        assert net(p, mask).shape == (6, width)


# --- losses: frame independence ---------------------------------------------------------------------------------


def _timelike(seed, n, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    three = torch.randn(n, 3, generator=g, dtype=dtype) * 300
    mass = 100 + 100 * torch.rand(n, generator=g, dtype=dtype)
    return torch.cat([(three.square().sum(-1) + mass**2).sqrt()[:, None], three], -1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rapidity=st.floats(0.0, 3.0), scale=st.floats(1e-3, 0.5))
def test_momentum_loss_is_frame_independent(seed, rapidity, scale):
    truth = _timelike(seed, 8)
    pred = truth + scale * _timelike(seed + 1, 8) * torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    m = random_sl2c(1, max_rapidity=rapidity, seed=seed)[0]
    lam = to_so13(m)
    a, b = momentum_loss(pred, truth), momentum_loss(pred @ lam.T, truth @ lam.T)
    # the boosted momenta carry rounding of order u·e^{2y}·|p|/m (|p|/m ≲ 10 here) and the loss sums squares
    assert abs(float(a - b)) <= tol(torch.float64, 1e5) * math.exp(2 * rapidity) * (1 + float(a))
    assert float(a) > 0


def test_momentum_loss_is_the_rest_frame_euclidean_norm():
    truth = _timelike(0, 5)
    pred = truth + _timelike(1, 5) * 0.1
    # in the truth's rest frame the loss is |Δ|²_Euclid / m²: boost each truth to rest and compare
    m = minkowski_norm2(truth).sqrt()
    losses = []
    for t, p in zip(truth, pred, strict=True):
        rapidity = torch.atanh(t[1:].norm() / t[0])
        boost = sl2c(boost=-rapidity * t[1:] / t[1:].norm())
        lam = to_so13(boost)
        losses.append((lam @ (p - t)).square().sum())
    expected = (torch.stack(losses) / m**2).mean()
    assert float(momentum_loss(pred, truth)) == pytest.approx(float(expected), rel=tol(torch.float64, 1e4))
    assert float(momentum_loss(truth, truth)) == 0.0


def test_mass_loss():
    truth = _timelike(2, 4)
    m = minkowski_norm2(truth).sqrt()[:, None]
    assert float(mass_loss(m, truth)) == pytest.approx(0.0, abs=tol(torch.float64, 16))
    assert float(mass_loss(m * math.e, truth)) == pytest.approx(1.0, rel=tol(torch.float64, 64))


# --- metrics ---------------------------------------------------------------------------------------------------


def test_regression_metrics_measure_known_spreads():
    rng = np.random.default_rng(0)
    truth = _timelike(3, 20_000).numpy()
    sigma = 0.05
    scale = 1 + sigma * rng.standard_normal((len(truth), 1))
    pred = truth * scale  # every component scaled: mass, energy and pT by the same factor, direction kept
    r = regression_metrics(pred, truth)
    # σ68 of a normal sample of 20k: statistical error ≈ σ/√(2n)·1.5 ≈ 4·10⁻⁴ relative to σ = 0.05 → 2 %
    for key in ("mass_resolution", "energy_resolution", "pt_resolution"):
        assert r[key] == pytest.approx(sigma, rel=0.03)
    assert r["delta_r_median"] < tol(torch.float64, 1e3)
    assert r["mass_tail_fraction"] < 0.01  # a normal distribution has 0.27 % beyond 3σ
    m = regression_metrics(np.sqrt(np.maximum(truth[:, 0] ** 2 - (truth[:, 1:] ** 2).sum(1), 0))[:, None], truth)
    assert m["mass_resolution"] < tol(torch.float64, 1e3) and "energy_resolution" not in m
