"""Passes run together (validate/evaluation.py, `run_passes`): the floor's passes and the other precisions' f(Λx)
share one run of the workers. Only the wall time may change: every pass gets exactly its own results, each pass's
first call runs in the caller before any worker starts, and a precision that fails in the joint run is reported
where it is measured, as it is without the joint run."""

import copy
import threading
import warnings

import pytest
import torch
from torch import nn

import clariant_core as cc
from clariant.validate import floor, forkpool, sweep, workers
from clariant.validate.context import Context
from clariant.validate.evaluation import Evaluator, Pass, apply, run_passes
from clariant.validate.groups import grid
from clariant.validate.strategies import random_jets

P, MASK = random_jets(20, 14, seed=11, min_particles=1)
FORKS = pytest.mark.skipif(not forkpool.available(), reason="forked workers need Linux without CUDA initialised")
POOLS = ["threads", pytest.param("processes", marks=FORKS)]


class PairTanh(nn.Module):
    """Σ_ij tanh(p_i·p_j / s) over real pairs and the jet's mass: a Lorentz-invariant pairwise model in the usual
    style, written here independently of the suite."""

    def __init__(self):
        super().__init__()
        self.s = nn.Parameter(torch.tensor(40.0))

    def forward(self, p, mask):
        w = mask.to(p.dtype)
        dot = p[..., None, :, 0] * p[..., :, None, 0] - (p[..., None, :, 1:] * p[..., :, None, 1:]).sum(-1)
        pair = torch.tanh(dot / self.s) * w[:, :, None] * w[:, None, :]
        jet = (p * w[..., None]).sum(1)
        m2 = jet[:, 0] ** 2 - (jet[:, 1:] ** 2).sum(-1)
        return torch.stack([pair.sum((1, 2)), m2.clamp_min(0).sqrt()], -1)


class Bf16OneJetOnly(PairTanh):
    """Runs in bfloat16 on one jet trimmed to its particles (the suite's up-front check) and fails on any larger
    bfloat16 batch, and at the full width."""

    def forward(self, p, mask):
        if p.dtype == torch.bfloat16 and (p.shape[0] > 1 or p.shape[1] == MASK.shape[1]):
            raise RuntimeError("bfloat16 kernels here take one jet at a time")
        return super().forward(p, mask)


def _passes(model):
    """Three passes of different functions, dtypes and extra inputs over the same jets."""
    single = copy.deepcopy(model).float()

    def f64(x, m):
        with torch.no_grad():
            return model(x, m)

    def f32(x, m):
        with torch.no_grad():
            return single(x.float(), m).double()

    def shifted(x, m, d):
        with torch.no_grad():
            return model(x + d, m)

    d = 1e-3 * P
    return [
        (f64, (P, MASK), {}),
        (f32, (P, MASK), {}),
        (shifted, (P, MASK, d), {"weight": 3.0}),
    ]


@pytest.mark.parametrize("pool", POOLS)
def test_passes_run_together_give_each_its_own_results(pool, monkeypatch):
    monkeypatch.setenv(workers.POOL_ENV, pool)
    model = PairTanh().double()
    specs = _passes(model)
    alone = [apply(fn, args[0], args[1], 3000, True, *args[2:], particles=20) for fn, args, _ in specs]
    passes = [Pass.grouped(fn, args[0], args[1], 3000, True, *args[2:], particles=20, **kw) for fn, args, kw in specs]
    assert all(len(ps.chunks) > 1 for ps in passes)  # several jobs per pass, interleaved in the joint run
    together = run_passes(passes, workers=2)
    for a, b in zip(alone, together, strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(together[0], together[2])  # the passes really differ


def test_each_passes_first_call_runs_here_before_any_worker(monkeypatch):
    monkeypatch.setenv(workers.POOL_ENV, "threads")
    calls = []

    def tagged(k):
        def fn(x, m):
            calls.append((k, threading.current_thread() is threading.main_thread()))
            return x[:, :, 0].sum(1, keepdim=True)

        return fn

    passes = [Pass.grouped(tagged(k), P, MASK, 3000, True, particles=20) for k in range(3)]
    run_passes(passes, workers=2, state=lambda: ())
    # one per pass, here, then the state-checked call here, then the workers
    assert [k for k, here in calls[:3]] == [0, 1, 2] and all(here for _, here in calls[:4])
    assert not all(here for _, here in calls[4:])
    assert len(calls) == sum(len(ps.chunks) for ps in passes)


def _ctx(model):
    _, m = grid(3.0, 2, n_angles=1)
    return Context(Evaluator(model), P, MASK, m, cc.to_so13(m), cc.Rep.parse("scalar"))


def test_the_floor_with_other_precisions_is_the_floor_alone():
    model = PairTanh().double()
    joint, plain = _ctx(model), _ctx(model)
    fm_joint = floor.build(joint, ahead=True, also=[torch.float32])
    fm_plain = floor.build(plain, ahead=True)
    assert torch.equal(fm_joint.smooth, fm_plain.smooth) and torch.equal(fm_joint.linear, fm_plain.linear)
    assert joint.evaluated(torch.float32) and not plain.evaluated(torch.float32)
    for dtype in (torch.float64, torch.float32):
        assert torch.equal(joint.transformed_outputs(dtype), plain.transformed_outputs(dtype))
        assert torch.equal(joint.reference(dtype), plain.reference(dtype))


def test_a_precision_that_fails_in_the_joint_run_is_reported_where_it_is_measured():
    with_bf16 = sweep(
        Bf16OneJetOnly(), P, MASK, dtypes=(torch.float64, torch.float32, torch.bfloat16), n_rapidities=2, n_angles=1
    )
    assert "one jet at a time" in with_bf16.skipped["bfloat16"]
    without = sweep(Bf16OneJetOnly(), P, MASK, dtypes=(torch.float64, torch.float32), n_rapidities=2, n_angles=1)
    for name in ("float64", "float32"):
        a, b = with_bf16.measurements[name], without.measurements[name]
        assert torch.equal(a.errors, b.errors) and torch.equal(a.floor, b.floor), name


def test_dtype_copies_made_by_each_passes_first_call_are_not_a_state_change(monkeypatch):
    """A module in training mode without parameters is evaluated as an eval-mode copy per precision, made by the
    first call at that precision: the joint run's state check must not see those copies as the model changing."""
    monkeypatch.setenv(workers.POOL_ENV, "threads")
    monkeypatch.setenv(workers.ENV, "2")

    class Mass(nn.Module):
        def forward(self, p, mask):
            jet = (p * mask.to(p.dtype)[..., None]).sum(1)
            return (jet[:, 0] ** 2 - (jet[:, 1:] ** 2).sum(-1)).clamp_min(0).sqrt()[:, None]

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        s = sweep(Mass(), P, MASK, n_rapidities=2, n_angles=1)
    assert not s.skipped


def test_a_model_that_writes_its_state_in_one_kind_of_call_only_is_seen(monkeypatch):
    """The state check runs the second call of every pass alone: a model that writes an attribute only where autograd
    records (the floor's reverse-mode pass) is caught, as it was when each pass was checked by itself."""
    monkeypatch.setenv(workers.POOL_ENV, "threads")
    monkeypatch.setenv(workers.ENV, "2")

    class KeepsInputs(PairTanh):
        def forward(self, p, mask):
            if p.requires_grad:
                self.seen = p
            return super().forward(p, mask)

    with pytest.warns(RuntimeWarning, match="changes its own attributes"):
        sweep(KeepsInputs().double(), P, MASK, dtypes=(torch.float64, torch.float32), n_rapidities=2, n_angles=1)


def test_a_failing_pass_costs_the_others_nothing(monkeypatch):
    """float32's work and the progress count are the same whether or not a precision that fails on larger batches
    runs with it (each pass's failure is its own; the failing one is run again where it is measured)."""
    monkeypatch.setenv(workers.ENV, "1")
    seen = {}

    class Bf16SmallBatches(PairTanh):
        def forward(self, p, mask):
            seen[p.dtype] = seen.get(p.dtype, 0) + p.shape[0] * p.shape[1]
            if p.dtype == torch.bfloat16 and (p.shape[0] > 3 or p.shape[1] == MASK.shape[1]):
                raise RuntimeError("bfloat16 kernels here take up to three jets, of fewer particles than the width")
            return super().forward(p, mask)

    runs = {}
    reports = []
    for dtypes in ((torch.float64, torch.float32), (torch.float64, torch.float32, torch.bfloat16)):
        seen.clear()
        reports.clear()
        s = sweep(
            Bf16SmallBatches().double(),
            P,
            MASK,
            dtypes=dtypes,
            n_rapidities=2,
            n_angles=1,
            progress=lambda d, t: reports.append((d, t)),
        )
        runs[len(dtypes)] = dict(seen), reports[-1], s
    (two, end2, s2), (three, end3, s3) = runs[2], runs[3]
    assert "up to three jets" in s3.skipped["bfloat16"]
    assert three[torch.float32] == two[torch.float32]
    assert three[torch.float64] == two[torch.float64]
    assert end3 == end2 and end3[0] == end3[1]
    assert torch.equal(s3.measurements["float32"].errors, s2.measurements["float32"].errors)


def test_the_progress_total_holds_when_every_jet_needs_finite_perturbations():
    """A model whose float64 output is rounding noise sends every jet to finite perturbations, at every precision:
    the progress total counts them for each precision still to measure, so the bar is not at 99 % with much left."""

    class Cancels(nn.Module):
        def forward(self, p, mask):
            jet = (p * mask.to(p.dtype)[..., None]).sum(1)
            return ((jet[:, 0] ** 2 - (jet[:, 1:] ** 2).sum(-1) + 1e14) - 1e14)[:, None]

    reports = []
    sweep(
        Cancels(),
        P,
        MASK,
        dtypes=(torch.float64, torch.float32),
        n_rapidities=2,
        n_angles=1,
        progress=lambda d, t: reports.append((d, t)),
    )
    final = reports[-1][0]
    assert reports[-1] == (final, final)
    first_at_99 = next(d for d, t in reports if d >= 0.99 * t)
    assert first_at_99 >= 0.97 * final
