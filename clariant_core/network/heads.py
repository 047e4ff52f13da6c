"""Output heads of the LGN and the PFN baseline (docs/network.md, "Heads"): what a network's final features mean.

The LGN ends in invariant features (Σ over particles of the (0,0) channels → MLP) and, for a four-vector output,
the (1,1) channels of its last level. A head turns them into the task's output:

- `classify`: the MLP's outputs are the logits `[B, num_classes]` (invariant).
- `mass`: one invariant relative to the naive jet mass, m = max(m_J, 1 GeV)·exp(f) GeV `[B, 1]` (m_J = √P²,
  P = Σ p_i): positive and invariant by construction.
- `momentum`: a four-vector `[B, 4]` (E, px, py, pz) GeV, (1 + g_0) P + Re(T† Σ_c g_c w_c V_c): a correction to the
  naive jet momentum P, with V_c = Σ_i F_i^{(1,1)} the last level's (1,1) channels summed over particles, mapped back
  to real components by the vector intertwiner T (T⁻¹ = T†), w_c learned complex weights and g_0, g_c invariant
  gates from the MLP. Each step commutes with the group (W acts as the identity on the representation index; gates
  are invariant; Re of T† v is a real four-vector because Λ is real), so the output is covariant by construction.
  The LGN computes the correction in its activation frame (the jet rest frame by default) and boosts it back to the
  lab by that frame's own transformation (`to_lab`).

The PFN baseline (not equivariant) regresses relative to the same P: mass as above; four-vector E = E_J e^a,
pT = pT_J e^b, η = η_J + c, φ = φ_J + d (`jet_relative_momentum`).
"""

from __future__ import annotations

import math
from enum import Enum

import torch
from torch import nn

from clariant_core.group.irreps import VECTOR_IRREP, vector_intertwiner
from clariant_core.group.lorentz import inverse_sl2c, minkowski_norm2, to_so13
from clariant_core.group.rep import SCALAR, VECTOR, Rep
from clariant_core.numerics import complex_of


class Task(str, Enum):
    """What a network predicts. Its value is the name used in configs, checkpoints and `clariant train --task`."""

    CLASSIFY = "classify"
    MASS = "mass"
    MOMENTUM = "momentum"

    @property
    def out_rep(self) -> Rep:
        """How the output transforms: the real four-vector Rep for a momentum, else real invariants (equal to the
        names "vector" / "scalar" the validation suite also accepts)."""
        return VECTOR if self is Task.MOMENTUM else SCALAR

    @property
    def is_regression(self) -> bool:
        return self is not Task.CLASSIFY

    @classmethod
    def parse(cls, value) -> Task:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"task must be one of {[t.value for t in cls]}, got {value!r}") from None


TASKS = tuple(t.value for t in Task)


def num_features(task: Task, num_classes: int, vector_channels: int) -> int:
    """Width of the invariant MLP's output a head consumes: logits, one log-mass, or the jet's gate and one gate per
    (1,1) channel."""
    return {Task.CLASSIFY: num_classes, Task.MASS: 1, Task.MOMENTUM: 1 + vector_channels}[task]


def num_outputs(task: Task, num_classes: int) -> int:
    """Width of the model's output: logits, mass, or (E, px, py, pz)."""
    return {Task.CLASSIFY: num_classes, Task.MASS: 1, Task.MOMENTUM: 4}[task]


def mass_from_log(f: torch.Tensor, scale: float | torch.Tensor) -> torch.Tensor:
    """m = scale·exp(f): real `[B, 1]` → `[B, 1]` GeV, positive."""
    return scale * torch.exp(f)


class VectorHead(nn.Module):
    """(gates `[B, τ]` real invariant, activations `{Irrep: [B, N, τ, d]}`, mask `[B, N]`) → real four-vector `[B, 4]`
    in the activations' frame and units (the LGN multiplies by its momentum scale): p = Re(T† Σ_c g_c w_c V_c) with
    V_c = Σ_i mask_i F_i^{(1,1)}."""

    def __init__(self, tau: int):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(tau, 2) / math.sqrt(2 * tau))  # complex w_c as (re, im)

    def forward(self, gates: torch.Tensor, x: dict, mask: torch.Tensor) -> torch.Tensor:
        v = (x[VECTOR_IRREP] * mask[:, :, None, None].to(gates.dtype)).sum(1)  # [B, τ, 4]
        w = torch.view_as_complex(self.weights) * gates.to(v.dtype)  # [B, τ]
        comb = (w[..., None] * v).sum(-2)  # [B, 4] on (1,1)
        t = vector_intertwiner(v.dtype, v.device)
        return (comb @ t.conj()).real  # (T† v)_μ = Σ_a conj(T_aμ) v_a


def to_lab(q: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """A four-vector computed in the frame L (to_so13(L) p_lab = p_frame) back to the lab: Λ(L)⁻¹ q (for the
    identity frame, q itself up to rounding).

    q: real `[B, 4]`; frame: SL(2,C) `[B, 2, 2]` of q's precision → real `[B, 4]`. L⁻¹ is exact in SL(2,C).
    """
    lam = to_so13(inverse_sl2c(frame.to(complex_of(q.dtype))))
    return (lam @ q[..., None])[..., 0]


def jet_momentum(p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The naive jet four-momentum P = Σ_i p_i over real constituents: `[B, N, 4]`, `[B, N]` → `[B, 4]`."""
    return (p * mask[..., None].to(p.dtype)).sum(1)


def invariant_mass(p: torch.Tensor) -> torch.Tensor:
    """√max(p², 0): `[..., 4]` → `[...]` (a spacelike p has mass 0)."""
    return minkowski_norm2(p).clamp_min(0).sqrt()


def jet_relative_momentum(jet: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The PFN's four-vector: jet `[B, 4]` (Σ constituents), out `[B, 4]` = (a, b, c, d) → (E_J e^a, pT_J e^b,
    η_J + c, φ_J + d) as (E, px, py, pz) `[B, 4]`."""
    tiny = torch.finfo(jet.dtype).tiny
    pt_j = torch.hypot(jet[:, 1], jet[:, 2]).clamp_min(tiny)
    eta = torch.asinh(jet[:, 3] / pt_j) + out[:, 2]
    phi = torch.atan2(jet[:, 2], jet[:, 1]) + out[:, 3]
    pt = pt_j * torch.exp(out[:, 1])
    e = jet[:, 0] * torch.exp(out[:, 0])
    return torch.stack([e, pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(eta)], -1)


def jet_relative_mass(jet: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The PFN's mass: max(m_J, 1 GeV)·exp(a): jet `[B, 4]`, out `[B, 1]` → `[B, 1]` GeV."""
    return mass_from_log(out, invariant_mass(jet).clamp_min(1.0)[:, None])
