"""A non-equivariant baseline: a Particle-Flow (Deep-Sets) network of similar size to the LGN.

Per-particle features (not Lorentz invariant — the point of the comparison): log pT, log E, log(pT/pT_J), log(E/E_J),
Δη, Δφ, ΔR to the jet axis, and any per-particle scalars (particle information). φ: MLP per particle → masked sum →
F: MLP → logits, or a regression relative to the jet four-momentum (heads.py). Permutation and padding invariant.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from clariant_core.network import heads
from clariant_core.network.scale import overflow_error
from clariant_core.numerics import SUPPORTED_REAL, check_finite


@dataclass(frozen=True)
class PFNConfig:
    phi_hidden: int = 48
    latent: int = 24
    f_hidden: int = 48
    num_classes: int = 2
    num_scalars: int = 0
    task: str = "classify"

    def __post_init__(self):
        if min(self.phi_hidden, self.latent, self.f_hidden, self.num_classes) < 1 or self.num_scalars < 0:
            raise ValueError(f"PFNConfig sizes must be ≥ 1, got {self}")
        heads.Task.parse(self.task)

    def to_dict(self) -> dict:
        return asdict(self)


def jet_features(p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """p `[B, N, 4]`, mask `[B, N]` → features `[B, N, 7]` (zeros on padding)."""
    w = mask.to(p.dtype)[..., None]
    tiny = torch.finfo(p.dtype).tiny
    jet = (p * w).sum(1)
    pt = torch.hypot(p[..., 1], p[..., 2]).clamp_min(tiny)
    jpt = torch.hypot(jet[:, 1], jet[:, 2]).clamp_min(tiny)
    eta = torch.asinh(p[..., 3] / pt)
    jeta = torch.asinh(jet[:, 3] / jpt)
    dphi = (
        torch.remainder(
            torch.atan2(p[..., 2], p[..., 1]) - torch.atan2(jet[:, 2], jet[:, 1])[:, None] + math.pi, 2 * math.pi
        )
        - math.pi
    )
    deta = eta - jeta[:, None]
    e = p[..., 0].clamp_min(tiny)
    feats = torch.stack(
        [
            torch.log(pt),
            torch.log(e),
            torch.log(pt / jpt[:, None]),
            torch.log(e / jet[:, :1].clamp_min(tiny)),
            deta,
            dphi,
            torch.hypot(deta, dphi),
        ],
        -1,
    )
    return feats * w


class ParticleFlowNetwork(nn.Module):
    def __init__(self, config: PFNConfig | None = None):
        super().__init__()
        self.config = c = config or PFNConfig()
        self.task = heads.Task.parse(c.task)
        self.phi = nn.Sequential(
            nn.Linear(7 + c.num_scalars, c.phi_hidden),
            nn.ReLU(),
            nn.Linear(c.phi_hidden, c.phi_hidden),
            nn.ReLU(),
            nn.Linear(c.phi_hidden, c.latent),
            nn.ReLU(),
        )
        width = heads.num_outputs(self.task, c.num_classes)
        self.f = nn.Sequential(nn.Linear(c.latent, c.f_hidden), nn.ReLU(), nn.Linear(c.f_hidden, width))

    @property
    def dtype(self) -> torch.dtype:
        return self.f[0].weight.dtype

    def forward(self, p: torch.Tensor, mask: torch.Tensor, scalars=None) -> torch.Tensor:
        if not isinstance(p, torch.Tensor) or p.ndim != 3 or p.shape[-1] != 4:
            raise ValueError(f"p must be a [B, N, 4] tensor of four-momenta, got {getattr(p, 'shape', type(p))}")
        if p.dtype not in SUPPORTED_REAL:
            raise ValueError(f"p must be float32 or float64, got {p.dtype}")
        if p.dtype != self.dtype:
            raise ValueError(f"p is {p.dtype} but the model is {self.dtype}")
        if mask.dtype != torch.bool or mask.shape != p.shape[:2]:
            raise ValueError(f"mask must be a bool tensor of shape {tuple(p.shape[:2])}")
        check_finite(p, "p")
        empty = ~mask.any(1)
        if empty.any():
            raise ValueError(f"jet {int(torch.nonzero(empty)[0])} has no particles (mask all False)")
        feats = jet_features(p, mask)
        if self.config.num_scalars:
            if scalars is None or scalars.shape != p.shape[:2] + (self.config.num_scalars,):
                raise ValueError(f"the model expects per-particle scalars [B, N, {self.config.num_scalars}]")
            feats = torch.cat([feats, scalars.to(p.dtype) * mask[..., None].to(p.dtype)], -1)
        x = self.phi(feats) * mask[..., None].to(p.dtype)
        out = self.f(x.sum(1) / 50)
        if self.task is heads.Task.MASS:
            out = heads.jet_relative_mass(heads.jet_momentum(p, mask), out)
        elif self.task is heads.Task.MOMENTUM:
            out = heads.jet_relative_momentum(heads.jet_momentum(p, mask), out)
        if not torch.isfinite(out).all():
            raise overflow_error(p, mask, 1.0)
        return out
