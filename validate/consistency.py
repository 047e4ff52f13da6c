"""Is the model a deterministic function of one jet? The sweep compares f(Λx) with f(x) from different model calls,
so it needs both: a model with randomness in forward (noise injection, dropout forced on) or one that mixes the jets
of a call (batch statistics, normalising by the batch) shows errors that are not about symmetry, and its precision
floor — measured by perturbing the inputs and watching the output move — absorbs them (docs/validation.md,
"A deterministic function of one jet").

The probe: `PROBE_JETS` jets spread over the batch, evaluated twice by the same calls (one after another, from one
thread: a deterministic model gives the same bits) and compared with their outputs in the sweep's own batched pass.
- two identical calls differ by more than THRESHOLD·u (relative) → not deterministic;
- the jets' outputs on their own differ from the batched ones by more than THRESHOLD × their floor (and u) → the
  output depends on the other jets of the call. A batched model's legitimate differences are rounding: at its floor.
The spread found becomes the least floor of the measurement, and its rows can be BROKEN or UNRESOLVED, never PASS or
NUMERICAL (verdict.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import action
from .bounds import DEFAULT_THRESHOLD
from .context import Context

PROBE_JETS = 4


@dataclass
class Consistency:
    spread: float  # the largest relative difference found (0 when consistent)
    reason: str | None  # what is wrong, None when the model is a deterministic per-jet function here
    short: str = ""  # the same in a few words, for one-line summaries


def probe_jets(b: int) -> torch.Tensor:
    """The jets probed: `PROBE_JETS` spread over a batch of b."""
    return torch.linspace(0, b - 1, min(PROBE_JETS, b)).round().long().unique()


def probe(ctx: Context, prec, ref: torch.Tensor, floor: torch.Tensor, unit: float) -> Consistency:
    """The Lorentz sweep's probe. ref: f(x) `[B, ...]` from the batched pass; floor `[T, B]` relative; unit: the
    precision's unit roundoff."""
    idx = probe_jets(ctx.x64.shape[0])
    x, m = ctx.x64[idx], ctx.mask[idx]
    once, again = (ctx.evaluate(prec, x, m, serial=True) for _ in range(2))
    floor_b = torch.nan_to_num(floor[:, idx], nan=0.0, posinf=0.0).amin(0)
    return compare(once, again, ref[idx], floor_b, unit, prec.name)


def compare(
    once: torch.Tensor, again: torch.Tensor, batched: torch.Tensor, floor: torch.Tensor, unit: float, name: str
) -> Consistency:
    """The finding from the probed jets' outputs `[K, ...]`: twice through the same calls (`once`, `again`) and in a
    batched pass (`batched`); `floor` `[K]`: their relative floors; unit: the precision's unit roundoff."""
    # jets whose outputs are finite in all three (a NaN or an overflow is a finding of its own)
    finite = _finite(once) & _finite(again) & _finite(batched)
    if not finite.any():
        return Consistency(0.0, None)
    once, again, batched, floor = once[finite], again[finite], batched[finite], floor[finite]
    repeat = action.relative(_norm(once - again), _norm(once))
    worst = float(repeat.max())
    if worst > DEFAULT_THRESHOLD * unit:
        return Consistency(
            worst,
            f"the model is not deterministic: the same jets through the same calls give outputs {worst:.2g} apart "
            f"(relative; {worst / unit:.2g} u of {name}) — randomness in forward (noise, dropout left on)? A "
            "symmetry error below that cannot be told from it",
            "the model is not deterministic",
        )
    alone = action.relative(_norm(once - batched), _norm(batched))
    coupled = alone > DEFAULT_THRESHOLD * floor.clamp_min(unit)
    if bool(coupled.any()):
        worst = float(alone[coupled].max())
        return Consistency(
            worst,
            f"the output of a jet depends on the other jets evaluated with it: on their own, jets differ from their "
            f"outputs in a batch by up to {worst:.2g} (relative) — batch statistics (batch norm in training mode, "
            "normalising over the batch)? The suite measures a function of one jet",
            "a jet's output depends on the other jets of the call",
        )
    return Consistency(0.0, None)


def _finite(z: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(z.reshape(z.shape[0], -1)).all(1)


def _norm(z: torch.Tensor) -> torch.Tensor:
    """‖z_b‖₂ per jet `[B]` of outputs `[B, ...]`."""
    return torch.linalg.vector_norm(z.reshape(z.shape[0], -1), dim=-1)


__all__ = ["PROBE_JETS", "Consistency", "compare", "probe", "probe_jets"]
