"""Invariance measures (DESIGN.md §3) — the first piece of the suite's measure module.

Relative error of one sample under Λ for an invariant model f: ε = ‖f(Λx) − f(x)‖₂ / max(‖f(x)‖₂, tiny), with Λx
computed in float64 and rounded once to the dtype under test, the difference taken in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

import clariant_core as cc


@dataclass(frozen=True)
class ErrorSummary:
    """Per-sample relative errors and their median / 95th percentile / max."""

    errors: torch.Tensor

    @property
    def median(self) -> float:
        return float(self.errors.median())

    @property
    def p95(self) -> float:
        return float(torch.quantile(self.errors, 0.95))

    @property
    def max(self) -> float:
        return float(self.errors.max())

    def as_dict(self) -> dict:
        return {"median": self.median, "p95": self.p95, "max": self.max}


def _as_model_dtype(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    ref = next(model.parameters())
    return model if ref.dtype == dtype else model.to(dtype)


@torch.no_grad()
def invariance_error(model, p: torch.Tensor, mask: torch.Tensor, lam: torch.Tensor, dtype: torch.dtype) -> ErrorSummary:
    """Relative invariance error per jet of `model(p, mask)` under Λ `[4, 4]` or `[B, 4, 4]` (float64) at `dtype`.

    p: `[B, N, 4]`, taken as exact (converted to float64; x itself is rounded once to dtype for the reference)."""
    p64 = p.to(torch.float64)
    lam = lam.to(torch.float64)
    transformed = torch.einsum("...ij,bnj->bni", lam, p64)
    ref = model(p64.to(dtype), mask).to(torch.float64)
    out = model(transformed.to(dtype), mask).to(torch.float64)
    tiny = torch.finfo(torch.float64).tiny
    err = (out - ref).norm(dim=-1) / ref.norm(dim=-1).clamp_min(tiny)
    return ErrorSummary(err)


def boost_sweep(
    model,
    p,
    mask,
    *,
    rapidities=(0.5, 1, 2, 4, 6),
    axes=((0, 0, 1), (1, 0, 0)),
    dtypes=(torch.float32, torch.float64),
    rotations: int = 1,
    seed: int = 0,
) -> list[dict]:
    """Rows {dtype, group, axis, rapidity, median, p95, max} for boosts along each axis and random rotations."""
    rows = []
    for dtype in dtypes:
        m = _as_model_dtype(model, dtype)
        for axis in axes:
            for y in rapidities:
                s = invariance_error(m, p, mask, cc.boost(axis, float(y)), dtype)
                rows.append(
                    {
                        "dtype": str(dtype).replace("torch.", ""),
                        "group": "boost",
                        "axis": list(axis),
                        "rapidity": float(y),
                        **s.as_dict(),
                    }
                )
        for r in range(rotations):
            lam = cc.random_lorentz(p.shape[0], max_rapidity=0.0, seed=seed + r)
            s = invariance_error(m, p, mask, lam, dtype)
            rows.append(
                {
                    "dtype": str(dtype).replace("torch.", ""),
                    "group": "rotation",
                    "axis": None,
                    "rapidity": 0.0,
                    **s.as_dict(),
                }
            )
    return rows
