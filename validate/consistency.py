"""Is the model a deterministic function of one jet? The sweep compares f(Λx) with f(x) from different model calls,
and the floors perturb the inputs and watch the output move; both assume the output is a fixed function of the jet.
A model with randomness in forward (noise injection, dropout forced on) or one that mixes the jets of a call (batch
statistics, normalising by the batch) shows differences that are not about symmetry, and its floor absorbs them
(docs/validation.md, "A deterministic function of one jet").

The probe: `PROBE_JETS` jets, evaluated apart from the rest of the batch twice through the same calls (one after
the other, from one thread) and compared with each other and with their outputs in a batched pass:
- the two identical evaluations differ by more than the verdicts' threshold × the tolerance → **not deterministic**;
- the jets apart differ from the same jets in the batch beyond the verdicts' bounds for rounding — their median
  ratio to the threshold × the tolerance above 1, or any jet's above `TAIL` — → **a jet's output depends on the other
  jets of the call**; so does a model that fails, or gives NaN/inf, on jets apart where the batch gave numbers.
The tolerance is the rounding a deterministic per-jet model can show between two batch compositions: the caller's
floor for those jets (never below u). The spread found becomes the least floor, and the rows can be BROKEN (far
beyond it) or UNRESOLVED, never PASS or NUMERICAL (verdict.py, properties/_check.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .bounds import DEFAULT_THRESHOLD, TAIL
from .evaluation import MODEL_ERRORS, first_line
from .statistics import median, spread

#: jets probed, spread over the batch: a batch statistic moves every jet, noise on a fraction f of the jets is missed
#: with probability (1 − f)⁸ (25 % of the jets: 10 %); each jet costs two model calls
PROBE_JETS = 8


@dataclass
class Consistency:
    spread: float  # the largest relative difference found (0 when consistent)
    reason: str | None  # what is wrong, None when the model is a deterministic per-jet function here
    short: str = ""  # the same in a few words, for one-line summaries


CONSISTENT = Consistency(0.0, None)
_RANDOM = "the model is not deterministic"
_COUPLED = "a jet's output depends on the other jets of the call"


def probe_jets(b: int) -> torch.Tensor:
    """The jets probed: `PROBE_JETS` spread over a batch of b."""
    return spread(b, PROBE_JETS)


def probe(
    apart: Callable[[], torch.Tensor],
    batched: torch.Tensor,
    tolerance: torch.Tensor,
    scale: torch.Tensor,
    *,
    repeat_tolerance: torch.Tensor | None = None,
    nudged: Callable[[], torch.Tensor] | None = None,
) -> Consistency:
    """apart(): the probed jets' outputs `[K, ...]`, evaluated apart from the rest of the batch (called twice);
    batched: their outputs in the batched pass; tolerance `[K]`: the relative difference rounding can give between
    two batch compositions (the floor, ≥ u); scale `[K]`: what differences are relative to. `repeat_tolerance`: the
    same for two identical calls, where it differs (default: `tolerance`). `nudged()`: the same calls on the jets with
    every input number moved by about one unit in the last place — how much the model's output moves under a
    rounding-sized change where first order does not describe it (√ of a p² of rounding size, a kink), measured in
    the probe's own calls, so that noise drawn per position in a call cancels; jets apart may differ from the batch
    by that much too."""
    try:
        once, again = apart().detach(), apart().detach()
    except MODEL_ERRORS as e:
        return Consistency(
            math.inf,
            f"the model fails on jets evaluated apart from the rest of the batch ({type(e).__name__}: "
            f"{first_line(e)}) while it runs on the batch: {_COUPLED} — batch statistics (batch norm in training "
            "mode, normalising over the batch)? The suite measures a function of one jet",
            _COUPLED,
        )
    fine = _finite(batched)
    if bool((fine & ~(_finite(once) & _finite(again))).any()):
        return Consistency(
            math.inf,
            f"jets evaluated apart from the rest of the batch give NaN or inf where the batch gave numbers: {_COUPLED} "
            "— a statistic over the batch (a standard deviation of one jet)? The suite measures a function of one jet",
            _COUPLED,
        )
    keep = fine & _finite(once) & _finite(again)  # a NaN or an overflow everywhere is a finding of its own
    if not keep.any():
        return CONSISTENT
    size = scale[keep].clamp_min(torch.finfo(torch.float64).tiny)
    repeat_limit = DEFAULT_THRESHOLD * (tolerance if repeat_tolerance is None else repeat_tolerance)[keep]
    repeat = _norm(once[keep] - again[keep]) / size
    if bool((repeat > repeat_limit).any()):
        return _finding(
            _RANDOM,
            repeat,
            repeat_limit,
            "the same jets through the same calls give outputs {worst} apart (relative), {times}× what rounding "
            "explains — randomness in forward (noise, dropout left on), or state it updates on every call (running "
            "statistics)? A symmetry error below that cannot be told from it",
        )
    if nudged is not None:  # only now: a noisy model's nudge moves by its noise
        try:
            moved = _norm(nudged().detach()[keep] - once[keep]) / size
            tolerance = torch.maximum(tolerance[keep], torch.nan_to_num(moved, nan=0.0, posinf=0.0))
        except MODEL_ERRORS:  # a nudged input the model refuses (|p⃗| > E by an ulp): the first-order yardstick
            tolerance = tolerance[keep]
    else:
        tolerance = tolerance[keep]
    apart_diff = _norm(once[keep] - batched[keep]) / size
    limit = DEFAULT_THRESHOLD * tolerance
    # the verdicts' bounds for what rounding explains (median within the threshold, the tail within TAIL× that): a
    # jet whose output nearly cancels (a logit near 0) shows the rounding of the model's own arithmetic, which the
    # floor — input rounding — does not hold, ~100× beyond it; a dependence on the other jets moves them all, or
    # moves some far beyond
    ratio = apart_diff / limit
    if median(ratio) > 1 or float(ratio.max()) > TAIL:
        return _finding(
            _COUPLED,
            apart_diff,
            limit,
            "jets evaluated apart from the rest of the batch differ from their outputs in it by up to {worst} "
            "(relative), {times}× what rounding explains — batch statistics (batch norm in training mode, "
            "normalising over the batch)? The suite measures a function of one jet",
        )
    return CONSISTENT


def _finding(short: str, diff: torch.Tensor, limit: torch.Tensor, detail: str) -> Consistency:
    """A finding from relative differences `diff` against their limits (10² × the tolerance): the largest difference
    is the spread; `detail` is formatted with it ({worst}) and its multiple of the tolerance ({times})."""
    worst = float(diff.max())
    times = float((diff / limit).max()) * DEFAULT_THRESHOLD
    return Consistency(worst, f"{short}: " + detail.format(worst=f"{worst:.2g}", times=f"{times:.2g}"), short)


def sensitivity(call: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, max_outputs: int) -> torch.Tensor | None:
    """√(Σ_μ ‖∂f/∂x_μ‖² x_μ² / 3) `[K]` of outputs `call(x)` `[K, ...]` (float64 inputs x `[K, N, 4]`, one jet per
    row): the RMS first-order response of f to rounding every input number x_μ(1 + r_μ), r uniform in [−1, 1], for a
    unit roundoff of 1 — multiplied by u it is the rounding a deterministic model shows between two evaluations that
    round differently, which noise in forward exceeds. Reverse mode, one pass per output number (at most
    `max_outputs`); None when the model has no usable gradient."""
    z = x.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            out = call(z)
            out = torch.view_as_real(out.resolve_conj()) if out.is_complex() else out
            out = out.reshape(out.shape[0], -1)
            if out.shape[1] > max_outputs or not out.requires_grad:
                return None
            acc = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
            for k in range(out.shape[1]):
                (g,) = torch.autograd.grad(out[:, k].sum(), z, retain_graph=k + 1 < out.shape[1], allow_unused=True)
                if g is not None:
                    acc += (g.to(torch.float64) * x).square().flatten(1).sum(1) / 3
    except MODEL_ERRORS:
        return None
    return acc.sqrt() if bool(torch.isfinite(acc).all()) else None


def nudge(x: torch.Tensor, unit: float, seed: int = 0) -> torch.Tensor:
    """x with every number moved by a seeded r·2u·x, r uniform in [−1, 1]: about one unit in the last place of the
    precision whose unit roundoff is `unit` (half of that would often round back to x)."""
    g = torch.Generator().manual_seed(seed)
    return x + 2 * unit * (torch.rand(x.shape, generator=g, dtype=x.dtype) * 2 - 1) * x


def represented_unit(z: torch.Tensor, unit: float) -> float:
    """The unit roundoff of the coarsest of bfloat16 and float16 that holds every finite number of z exactly, where
    coarser than `unit` (a model computing in float16 inside returns float32 numbers of float16 precision), else
    `unit`."""
    z = z[torch.isfinite(z)]
    for dt in (torch.bfloat16, torch.float16):
        u = torch.finfo(dt).eps / 2
        if u > unit and z.numel() and bool((z.to(dt).to(z.dtype) == z).all()):
            return u
    return unit


def _finite(z: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(z.reshape(z.shape[0], -1)).all(1)


def norm(z: torch.Tensor) -> torch.Tensor:
    """‖z_b‖₂ per jet `[B]` of outputs `[B, ...]`."""
    return torch.linalg.vector_norm(z.reshape(z.shape[0], -1), dim=-1)


_norm = norm

__all__ = [
    "CONSISTENT",
    "PROBE_JETS",
    "Consistency",
    "norm",
    "nudge",
    "probe",
    "probe_jets",
    "represented_unit",
    "sensitivity",
]
