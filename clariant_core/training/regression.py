"""Regression tasks (docs/training.md, "Regression"): which jets, the losses, prediction and the resolution metrics.

Targets come from the matched top four-momentum t (`truth`), so only top jets (label 1, t² > 0) take part.

Losses, both independent of the frame in which they are evaluated:
- mass: (log m_pred − log m_t)² — a relative error, symmetric in over- and under-estimation.
- momentum: ‖Δ‖²_t / m_t² with Δ = p_pred − t and ‖Δ‖²_t = 2 (Δ·t / m_t)² − Δ² the squared Euclidean norm of the
  residual in the top's rest frame (Δ·t/m_t is the residual energy there, Δ² = ΔE*² − |Δp⃗*|²). Built from the
  Minkowski invariants Δ² and Δ·t, so a boost or rotation of prediction and truth together leaves it unchanged;
  positive definite, zero only for Δ = 0.

Metrics on a split (relative residuals r = x_pred / x_true − 1): median (bias) and half-width of the central 68 %
(σ68 = (q84 − q16)/2, the core width) of r for the mass, energy and pT; the mass tail fraction (|r − median| > 3 σ68);
ΔR between predicted and true directions (median and 68th percentile).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from clariant_core.data.particles import particle_scalars
from clariant_core.data.readers import Batch
from clariant_core.group.lorentz import minkowski_dot, minkowski_norm2
from clariant_core.network.heads import Task, invariant_mass, jet_momentum


def regression_jets(batch: Batch) -> Batch | None:
    """The top jets with a timelike truth four-momentum, or None when the batch has none."""
    if batch.truth is None:
        raise ValueError("regression needs the truth four-momentum (truthE… columns or truth_Pmu); the data lack it")
    keep = (batch.label == 1) & (minkowski_norm2(batch.truth) > 0)
    if not keep.any():
        return None
    return batch if keep.all() else batch.select(torch.nonzero(keep)[:, 0])


def mass_loss(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """pred `[B, 1]` GeV (positive), truth `[B, 4]` → mean (log m_pred − log m_t)², a scalar."""
    m_true = minkowski_norm2(truth).sqrt()
    return ((torch.log(pred[:, 0]) - torch.log(m_true)) ** 2).mean()


def momentum_loss(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """pred, truth `[B, 4]` GeV → mean ‖Δ‖²_t / m_t², the rest-frame squared residual (module docstring)."""
    d = pred - truth
    m2 = minkowski_norm2(truth)
    e_rest2 = minkowski_dot(d, truth) ** 2 / m2
    return ((2 * e_rest2 - minkowski_norm2(d)) / m2).mean()


def task_loss(task: Task, out: torch.Tensor, batch: Batch) -> torch.Tensor:
    """The training loss of `task` for the model output `out` on `batch` (regression: its regression_jets)."""
    if task is Task.CLASSIFY:
        return nn.functional.cross_entropy(out, batch.label)
    return (mass_loss if task is Task.MASS else momentum_loss)(out, batch.truth)


def model_inputs(batch: Batch, particle: tuple[str, ...]) -> tuple:
    """The positional inputs of a model: (p, mask) or (p, mask, scalars) with the particle-information scalars."""
    if not particle:
        return batch.p, batch.mask
    return batch.p, batch.mask, particle_scalars(batch.particle, particle, batch.p.dtype)


@torch.no_grad()
def predict_regression(model: nn.Module, batches, task: Task, particle=(), device=None) -> dict:
    """Over the regression jets of `batches`: {"pred": `[n, 1 or 4]`, "truth": `[n, 4]`, "jet": `[n, 4]` naive
    Σ constituents} as float64 numpy arrays, and "loss" (mean over jets)."""
    model.eval()
    preds, truths, jets, loss, n = [], [], [], 0.0, 0
    for b in batches:
        b = regression_jets(b)
        if b is None:
            continue
        if device is not None:
            b = b.to(device)
        out = model(*model_inputs(b, particle))
        loss += float(task_loss(task, out, b)) * len(b.label)
        n += len(b.label)
        preds.append(out.double().cpu().numpy())
        truths.append(b.truth.double().cpu().numpy())
        jets.append(jet_momentum(b.p, b.mask).double().cpu().numpy())
    if not n:
        raise ValueError("no top jets with a truth four-momentum to evaluate")
    cat = np.concatenate
    return {"pred": cat(preds), "truth": cat(truths), "jet": cat(jets), "loss": loss / n}


def _spread(r: np.ndarray) -> tuple[float, float]:
    """(median, σ68 = half-width of the central 68 %) of r."""
    q16, q50, q84 = np.quantile(r, [0.16, 0.5, 0.84])
    return float(q50), float((q84 - q16) / 2)


def _eta_phi(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pt = np.maximum(np.hypot(p[:, 1], p[:, 2]), np.finfo(np.float64).tiny)
    return np.arcsinh(p[:, 3] / pt), np.arctan2(p[:, 2], p[:, 1])


def regression_metrics(pred: np.ndarray, truth: np.ndarray) -> dict:
    """Resolution metrics of predictions `[n, 1]` (masses, GeV) or `[n, 4]` (four-vectors, GeV; their mass is
    √max(p², 0)) against truth `[n, 4]`. Four-vectors add energy, pT and ΔR metrics."""
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    t = torch.from_numpy(truth)
    m_true = invariant_mass(t).numpy()
    m_pred = pred[:, 0] if pred.shape[1] == 1 else invariant_mass(torch.from_numpy(pred)).numpy()
    r = m_pred / m_true - 1
    bias, width = _spread(r)
    out = {
        "jets": int(len(truth)),
        "mass_bias": bias,
        "mass_resolution": width,
        "mass_tail_fraction": float((np.abs(r - bias) > 3 * width).mean()),
    }
    if pred.shape[1] == 4:
        out["energy_bias"], out["energy_resolution"] = _spread(pred[:, 0] / truth[:, 0] - 1)
        pt = lambda p: np.hypot(p[:, 1], p[:, 2])  # noqa: E731
        out["pt_bias"], out["pt_resolution"] = _spread(pt(pred) / pt(truth) - 1)
        (e1, f1), (e2, f2) = _eta_phi(pred), _eta_phi(truth)
        dr = np.hypot(e1 - e2, (f1 - f2 + np.pi) % (2 * np.pi) - np.pi)
        out["delta_r_median"], out["delta_r_68"] = float(np.median(dr)), float(np.quantile(dr, 0.68))
    return out


#: the metrics of a regression card, in the order shown (docs/training.md)
CARD_KEYS = (
    "mass_bias",
    "mass_resolution",
    "mass_tail_fraction",
    "energy_bias",
    "energy_resolution",
    "pt_bias",
    "pt_resolution",
    "delta_r_median",
    "delta_r_68",
    "jets",
)
