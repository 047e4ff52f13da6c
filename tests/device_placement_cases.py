"""Where tensors live: the LGN, the validation suite and training on a second device, emulated on the CPU
(tests/second_device.py). A tensor left on the CPU while the model lives on the device raises there, as on a GPU;
the results must be those of the same operations on the CPU. What a GPU's own arithmetic does is measured on a GPU
(tests/test_devices.py, which skips here).

These cases run in a process of their own (tests/test_device_placement.py): registering the device changes the
process for good — autograd's engine starts a thread for it, after which forked children cannot run autograd — and
the rest of the suite must run as on a machine without one.
"""

from __future__ import annotations

import copy
import json
import warnings

import pytest
import torch
from torch import nn

import clariant_core as cc
from clariant.validate import attribute, forkpool, judge, sweep
from clariant.validate.consistency import sensitivity
from clariant.validate.properties import run_all
from clariant.validate.strategies import random_jets
from clariant_core.data import SAMPLE_DIR
from clariant_core.devices import model_device
from clariant_core.network import rows
from clariant_core.training import load_checkpoint
from tests.helpers import tol
from tests.second_device import PlacementError, device, placement

DEVICE = device()  # registered while pytest collects, before any test's backward pass (second_device.device)
P, MASK = random_jets(12, 10, seed=5)
SMALL = dict(n_rapidities=2, n_angles=1, axes=("z",))


def minkowski(a, b):
    return a[..., 0] * b[..., 0] - (a[..., 1:] * b[..., 1:]).sum(-1)


class PairTanh(nn.Module):
    """Written for these tests, in the style of the pair-invariant taggers: Σ_ij tanh(p_i·p_j / s) through a small
    MLP. Its metric is a buffer, so it moves with the module."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.register_buffer("scale", torch.tensor(1e4))
        self.mlp = nn.Sequential(nn.Linear(1, 8), nn.SiLU(), nn.Linear(8, 1))

    def forward(self, p, mask):
        m = mask.to(p.dtype)
        g = torch.tanh(minkowski(p[:, :, None, :], p[:, None, :, :]) / self.scale) * m[:, :, None] * m[:, None, :]
        return self.mlp(g.sum((1, 2))[:, None] / 10)


class MetricLeftBehind(PairTanh):
    """The same model with its metric as a plain attribute: `.to(device)` does not move it."""

    def __init__(self):
        super().__init__()
        self.eta = torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64)

    def forward(self, p, mask):
        m = mask.to(p.dtype)
        dots = torch.einsum("bid,bjd,d->bij", p, p, self.eta.to(p.dtype))
        g = torch.tanh(dots / self.scale) * m[:, :, None] * m[:, None, :]
        return self.mlp(g.sum((1, 2))[:, None] / 10)


def on_device(model):
    """A copy of `model` living on the second device (the caller's module stays on the CPU)."""
    return copy.deepcopy(model).to(device())


# --- the check itself can fail -------------------------------------------------------------------------------------
def test_a_tensor_left_on_the_cpu_raises_on_the_second_device():
    model = MetricLeftBehind().double()
    model(P, MASK)  # fine on the CPU, where everything is
    with placement(), pytest.raises(PlacementError, match="two devices"):
        on_device(model)(P.to(device()), MASK.to(device()))
    with placement() as ops:
        out = on_device(PairTanh().double())(P.to(device()), MASK.to(device()))
        assert out.device == device() and ops.operations > 0
    assert torch.equal(out.cpu(), PairTanh().double()(P, MASK))


X = torch.randn(12, 10, dtype=torch.float64)


def _index_put():
    y = X.to(device()).clone()
    y[torch.tensor([0, 1])] = y[2:4].clone()


@pytest.mark.parametrize(
    "operation, cuda_refuses",
    [
        (lambda: X.to(device())[X > 0], False),  # CUDA moves CPU indices itself
        (lambda: X.to(device())[:, torch.tensor([0, 1])], False),
        (_index_put, False),
        (lambda: X.to(device()).new_tensor([1.0]), False),
        (lambda: X.to(device())[0, :2].tolist(), False),
        (lambda: X.to(device()) + torch.tensor(2.0, dtype=torch.float64), False),  # a CPU scalar, element-wise
        (lambda: X.to(device()).masked_fill(X.to(device()) > 0, torch.tensor(0.0, dtype=torch.float64)), False),
        (lambda: torch.cat([X.to(device()), torch.ones(12, 1, dtype=torch.float64)], 1), True),
        (lambda: torch.stack([X.to(device()).sum(), torch.tensor(1.0, dtype=torch.float64)]), True),  # not a scalar
        (lambda: X.to(device()).index_select(0, torch.tensor(0)), True),
        (lambda: torch.randn(3, generator=torch.Generator(), device=device()), True),
        (lambda: X.to(device()).numpy(), True),
    ],
    ids=[
        "bool-index", "long-index", "index-put", "new-tensor", "tolist", "scalar-add", "masked-fill-value",
        "cat", "stack-0-dim", "index-select-0-dim", "cpu-generator", "numpy",
    ],
)  # fmt: skip
def test_the_second_device_refuses_what_cuda_refuses_and_nothing_else(operation, cuda_refuses):
    """The emulator's rules against CUDA's (an outside attack found both false alarms and misses in an earlier
    version): CPU index tensors and CPU scalars in element-wise operations are accepted; CPU tensors elsewhere, a CPU
    generator for a device tensor and a device tensor's `numpy()` are refused."""
    with placement():
        if cuda_refuses:
            with pytest.raises((PlacementError, RuntimeError, TypeError)):
                operation()
        else:
            operation()


# --- the LGN ---------------------------------------------------------------------------------------------------------
def _gradients(model, p, mask):
    out = model(p, mask)
    return out, torch.autograd.grad(out.square().sum(), list(model.parameters()), allow_unused=True)


def _apart(a, b) -> float:
    """The largest difference of two gradient lists, relative to each parameter's largest gradient."""
    return max(float((x.cpu() - y).abs().max() / y.abs().max()) for x, y in zip(a, b) if y is not None)


@pytest.mark.parametrize(
    "config, dtype, chunk",
    [
        (cc.LGNConfig(), torch.float64, None),
        (cc.LGNConfig(), torch.float32, 400),  # checkpointed chunks of 400 pairs (4 jets)
        (cc.LGNConfig(task="mass"), torch.float64, None),
        (cc.LGNConfig(task="momentum"), torch.float32, None),
        (cc.LGNConfig(beams=True, frame="lab"), torch.float64, None),
    ],
    ids=["classify-f64", "classify-f32-chunked", "mass", "momentum", "beams-lab"],
)
def test_lgn_forward_and_gradients_on_the_second_device_equal_the_cpu(config, dtype, chunk, monkeypatch):
    """Off the CPU the CG products take the GEMM path (rows._rowwise): the CPU runs it too here, for the same
    operations. Outputs agree bit for bit. Gradients are the same sums added in another order (autograd's engine
    runs a device's backward on that device's own thread), so they agree to rounding: within 4× the difference
    between the CPU's two paths (by row and by GEMM, another order of the same sums) plus 64 u."""
    torch.manual_seed(0)
    model = cc.LGN(config).to(dtype)
    model.grad_chunk_pairs = chunk
    p, mask = P.to(dtype), MASK.clone()
    mask[0, 3:] = False  # padding
    p = p * mask[..., None]
    monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 1)
    _, by_row = _gradients(model, p, mask)
    monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 1 << 62)
    out, grads = _gradients(model, p, mask)
    with placement():
        there = on_device(model)
        out_there, grads_there = _gradients(there, p.to(device()), mask.to(device()))
        assert out_there.device == device() and all(g is None or g.device == device() for g in grads_there)
    assert torch.equal(out_there.cpu(), out)
    assert [g is None for g in grads_there] == [g is None for g in grads]
    assert _apart(grads_there, grads) <= 4 * _apart(by_row, grads) + tol(dtype, 64)


# --- the validation suite ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make", [lambda: cc.LGN().double().eval(), lambda: PairTanh().double()], ids=["lgn", "pair-tanh"]
)
def test_sweep_of_a_model_living_on_the_second_device_gives_the_cpu_verdicts(make):
    model = make()
    cpu = sweep(model, P, MASK, **SMALL)
    with placement() as ops:
        there = on_device(model)
        res = sweep(there, P, MASK, **SMALL)
    assert not ops.mismatches  # none raised, none caught and passed over either
    assert model_device(model) == torch.device("cpu") and res.device == str(device())
    a, b = judge(cpu), judge(res)
    assert b.verdict == a.verdict and [r.verdict for r in b.rows] == [r.verdict for r in a.rows]
    for name, m in res.measurements.items():
        if m.errors is None:
            assert cpu.measurements[name].skipped and m.skipped
            continue
        # the same function, evaluated by other kernels (the GEMM path off the CPU): within each floor
        ref = cpu.measurements[name]
        near = (m.errors - ref.errors).abs() <= 4 * torch.maximum(m.floor, ref.floor)
        assert torch.all((m.errors == ref.errors) | near)  # equal where both overflowed (inf)


class ComponentsLeftBehind(PairTanh):
    """The pair model reading (E, px, py, pz) through an index tensor kept as a plain attribute."""

    def __init__(self):
        super().__init__()
        self.order = torch.tensor([0, 1, 2, 3])

    def forward(self, p, mask):
        return super().forward(p.index_select(-1, self.order), mask)


class RankWeightsOnTheCpu(PairTanh):
    """The pair model weighting particles by their rank, with the ranks made by torch.arange without a device."""

    def forward(self, p, mask):
        w = 1 + torch.arange(p.shape[1], dtype=p.dtype) / 100
        return super().forward(p * w[None, :, None], mask)


_LEFT = "does not move tensors kept as plain attributes"
_MADE = "a tensor the model makes while it runs is on the CPU, not on its inputs' device"


@pytest.mark.parametrize(
    "make, said",
    [
        (MetricLeftBehind, f"{_LEFT} (eta (float64, cpu))"),
        (ComponentsLeftBehind, f"{_LEFT} (order (int64, cpu))"),
        (RankWeightsOnTheCpu, _MADE),
    ],
)
def test_sweep_says_what_a_model_left_on_the_cpu(make, said):
    make().double()(P, MASK)  # runs on the CPU, where everything is
    with placement():
        there = on_device(make().double())
        with pytest.raises(ValueError, match="same device") as err:
            sweep(there, P, MASK, **SMALL)
    assert said in str(err.value)


def test_properties_and_attribution_of_a_model_on_the_second_device_agree_with_the_cpu():
    model = cc.LGN(cc.LGNConfig(channels=(2, 2, 2))).double().eval()
    props = ("permutation", "parity")
    cpu = run_all(model, P, MASK, properties=props, scan_jets=None)
    a = attribute(model, P, MASK)
    with placement() as ops:
        there = on_device(model)
        res = run_all(there, P, MASK, properties=props, scan_jets=None)
        b = attribute(there, P, MASK)
    assert not ops.mismatches  # the consistency probe's yardstick caught one once (the next case)
    assert {k: r.verdict for k, r in res.items()} == {k: r.verdict for k, r in cpu.items()}
    assert [r.name for r in a.layers] == [r.name for r in b.layers]
    u = cc.unit_roundoff(torch.float64)
    assert all(r.p95 <= b.threshold and abs(r.p95 - s.p95) <= 1e6 * u for r, s in zip(b.layers, a.layers))


def test_the_consistency_yardstick_of_a_model_on_the_second_device_is_the_cpus():
    """The properties' consistency probe measures each jet's first-order response to rounding (reverse mode) on the
    model's device; a placement error there was swallowed, and the probe fell back to a bare u."""
    model = PairTanh().double()
    x, m = P[:1, :6], MASK[:1, :6]
    cpu = sensitivity(lambda z: model(z, m), x, max_outputs=16)
    with placement():
        there = on_device(model)
        xd, md = x.to(device()), m.to(device())
        got = sensitivity(lambda z: there(z, md), xd, max_outputs=16)
        assert got is not None and got.device == device()
    assert cpu is not None and torch.allclose(got.cpu(), cpu, rtol=tol(torch.float64, 64), atol=0)


# --- training ------------------------------------------------------------------------------------------------------
def test_training_on_the_second_device_resumes_there_and_writes_checkpoints_that_load_anywhere(tmp_path, monkeypatch):
    """A run on the device, stopped after one epoch and resumed there (its optimiser state read back from the CPU),
    ends bitwise where the straight run ends; every checkpoint holds CPU tensors, so a plain `torch.load` reads it on
    a machine without the device."""
    from clariant_core.training import TrainConfig, loop, train

    monkeypatch.setattr(loop, "resolve_device", lambda name: device())  # the name "emu" is no user's device
    quick = dict(data=str(SAMPLE_DIR), model="lgn", batch_size=32, max_train_jets=64, progress=False, threads=1)
    with placement() as ops:
        straight = train(TrainConfig(out=str(tmp_path / "a"), epochs=2, patience=10, **quick))
        part = train(TrainConfig(out=str(tmp_path / "b"), epochs=2, patience=10, stop_after=1, **quick))
        assert part["epoch"] == 1 and not part["finished"]
        resumed = train(TrainConfig(out=str(tmp_path / "b"), epochs=2, patience=10, resume=True, **quick))
        assert ops.operations > 0 and not ops.mismatches
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in straight["history"]]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in resumed["history"]] == strip
    for name in ("a/best.pt", "b/best.pt", "b/last.pt"):
        ckpt = torch.load(tmp_path / name, weights_only=True)  # no map_location: every tensor is on the CPU
        found = _tensors(ckpt)
        assert found and all(t.device.type == "cpu" for t in found)
        if name == "b/last.pt":  # the optimiser's moments too, not only the weights
            assert len(found) > 2 * len(ckpt["state_dict"])
    (a, meta), (b, _) = load_checkpoint(tmp_path / "a/best.pt"), load_checkpoint(tmp_path / "b/best.pt")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert meta["device"] == "emu:0" and json.loads((tmp_path / "a/metrics.json").read_text())["device"] == "emu:0"
    assert model_device(a) == torch.device("cpu")


def _tensors(obj) -> list:
    if isinstance(obj, torch.Tensor):
        return [obj]
    items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
    return [t for v in items for t in _tensors(v)]


# --- the CPU pool of a machine with an accelerator -----------------------------------------------------------------
def test_a_sweep_on_the_cpu_of_a_machine_with_an_accelerator_uses_threads_not_forked_autograd(monkeypatch):
    """With a device present, autograd's engine starts a thread for it at the process's first backward pass, and a
    forked child's backward pass then raises: the floor's reverse-mode jobs failed in every worker and ran again
    here, one at a time, with a warning. Worker processes are not used on such machines: no warning, the results of
    one worker."""
    assert not forkpool.available()
    torch.ones((), requires_grad=True).mul(2).backward()  # the engine's device thread exists from here on
    model = PairTanh().double()
    p, mask = random_jets(24, 12, seed=3)
    grid = dict(n_rapidities=3, n_angles=2, groups=("beam",), n_random=2)
    monkeypatch.setenv("CLARIANT_EVAL_WORKERS", "1")
    one = sweep(model, p, mask, **grid)
    monkeypatch.setenv("CLARIANT_EVAL_WORKERS", "2")
    monkeypatch.setenv("CLARIANT_EVAL_POOL", "processes")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        two = sweep(model, p, mask, **grid)
    assert not [w for w in said if "worker process" in str(w.message)]
    for name, m in one.measurements.items():
        assert (m.errors is None and two.measurements[name].errors is None) or torch.equal(
            m.errors, two.measurements[name].errors
        )
