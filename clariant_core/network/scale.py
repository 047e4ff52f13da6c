"""Units and scale of four-momenta: is the model's arithmetic able to represent these momenta in this dtype?

The LGN divides momenta by `momentum_scale` (GeV) and forms products of them: pair invariants p_ij² (degree 2) and,
level by level, products of ever higher degree. Momenta given in MeV or eV instead of GeV (×10³, ×10⁹) overflow
those products in float32; momenta scaled far down underflow them to zero, so every jet looks the same. Both are
reported as errors naming the scale and the likely unit, never as a silent NaN or a silently constant output.

- Underflow is checked before the forward pass: the softest constituent's x = E/momentum_scale must keep x² a normal
  number with full precision, x² ≥ tiny/u (below it p_ij² loses digits and then vanishes).
- Overflow is checked on the result: the degree that matters depends on the architecture, so the forward pass
  itself is the test; a non-finite output raises with the diagnosis below.
"""

from __future__ import annotations

import math

import torch

from clariant_core.numerics import unit_roundoff

__all__ = ["ScaleError", "check_underflow", "overflow_error"]


class ScaleError(ValueError):
    """Momenta whose scale the model's arithmetic cannot represent in the working dtype."""


def _extremes(p: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    p = p.detach()
    e = p[..., 0].abs()
    real = mask & (e > 0)
    if not real.any():
        return 0.0, 0.0
    return float(e[real].min()), float(p.abs()[mask].max())


def _unit_hint(e_max: float) -> str:
    for name, factor in (("eV", 1e9), ("keV", 1e6), ("MeV", 1e3)):
        if e_max / factor > 10:
            return f"momenta up to {e_max:.3g} look like {name} — the model expects GeV (divide by {factor:.0e})"
    return f"momenta up to {e_max:.3g} GeV are too large for this dtype — use float64 or a larger momentum_scale"


def check_underflow(p: torch.Tensor, mask: torch.Tensor, momentum_scale: float) -> None:
    """Raise ScaleError if the softest real constituent's (E/momentum_scale)² is below tiny/u of p's dtype."""
    e_min, _ = _extremes(p, mask)
    if e_min == 0.0:
        return
    fi = torch.finfo(p.dtype)
    x_min = e_min / momentum_scale
    if 2 * math.log(x_min) < math.log(fi.tiny / unit_roundoff(p.dtype)):
        bound = momentum_scale * math.sqrt(fi.tiny / unit_roundoff(p.dtype))
        raise ScaleError(
            f"a constituent has energy {e_min:.3g} GeV: its pair invariants underflow {p.dtype} "
            f"(energies must be ≥ {bound:.3g} GeV at momentum_scale {momentum_scale:g}); were the momenta scaled "
            "down, or are they in TeV or another unit? The model expects GeV"
        )


def overflow_error(p: torch.Tensor, mask: torch.Tensor, momentum_scale: float) -> ScaleError:
    """The error to raise when the model's output is not finite for finite momenta `p` (under autocast: the
    autocast dtype's range, not the momenta's unit)."""
    _, e_max = _extremes(p, mask)
    kind = p.device.type
    if torch.is_autocast_enabled(kind):
        low = torch.get_autocast_dtype(kind)
        name = str(low).replace("torch.", "")
        return ScaleError(
            f"the model's output overflowed under autocast to {name} for momenta up to {e_max:.3g}: products inside "
            f"its layers exceed {name}'s largest number ({torch.finfo(low).max:.3g}) — autocast to bfloat16 keeps "
            "float32's range"
        )
    return ScaleError(
        f"the model's output overflowed {p.dtype} for these momenta (|p| up to {e_max:.3g}, momentum_scale "
        f"{momentum_scale:g}): {_unit_hint(e_max)}"
    )
