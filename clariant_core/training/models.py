"""The trainable models by name: build one from its config dict, count its parameters without building it."""

from __future__ import annotations

import torch
from torch import nn

from clariant_core.network.baseline import ParticleFlowNetwork, PFNConfig
from clariant_core.network.heads import Task, num_outputs
from clariant_core.network.lgn import LGN, LGNConfig
from clariant_core.resources import check_memory
from clariant_core.training.config import MODELS

_CONFIGS = {"lgn": LGNConfig, "pfn": PFNConfig}


def _build(kind: str, config: dict) -> nn.Module:
    config = dict(config)
    try:
        if kind == "lgn":
            for key in ("channels", "pair_scales"):
                if key in config:
                    config[key] = tuple(config[key])
            return LGN(LGNConfig(**config))
        return ParticleFlowNetwork(PFNConfig(**config))
    except TypeError as e:  # a value of the wrong type (e.g. channels: 5)
        raise ValueError(f"bad {kind} config {config}: {e}") from None


def make_model(kind: str, config: dict | None = None, *, dtype: torch.dtype = torch.float32) -> nn.Module:
    """A fresh model of `kind` from its config dict. Unknown keys are refused, and the parameters, their gradients
    and the optimiser's two moments (4 copies, in `dtype`) must fit in memory — checked before anything is allocated.
    """
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {MODELS}")
    if not isinstance(config or {}, dict):
        raise ValueError(f"a {kind} config must be a JSON object (dict), got {type(config).__name__}")
    config = dict(config or {})
    known = set(_CONFIGS[kind].__dataclass_fields__)
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"unknown {kind} config key(s) {unknown}; known keys: {sorted(known)}")
    try:
        nbytes = parameter_count(kind, config) * torch.finfo(dtype).bits // 8
    except TypeError as e:
        raise ValueError(f"bad {kind} config {config}: {e}") from None
    check_memory(4 * nbytes, f"the {kind} model {config} (weights, gradients, optimiser state)")
    return _build(kind, config)


def parameter_count(kind: str, config: dict) -> int:
    """Number of (real) parameters of the model `config` describes, without building it.

    The LGN's count is multi-affine in the channel counts τ_0…τ_L with couplings only between neighbours (level i
    maps τ_i to τ_{i+1} channels; every other layer is linear in one τ), so it is exact from tiny probe models around
    τ = 1: P(τ) = P(1) + Σ_i D_i (τ_i − 1) + Σ_i A_i (τ_i − 1)(τ_{i+1} − 1). A PFN is built (it is small by design).
    """

    def count(cfg):
        return sum(p.numel() * (2 if p.is_complex() else 1) for p in _build(kind, cfg).parameters())

    if kind != "lgn" or "channels" not in config:
        if kind == "pfn":
            c = PFNConfig(**config)
            width = num_outputs(Task.parse(c.task), c.num_classes)
            return (
                (7 + c.num_scalars + 1) * c.phi_hidden
                + (c.phi_hidden + 1) * c.phi_hidden
                + (c.phi_hidden + 1) * c.latent
                + (c.latent + 1) * c.f_hidden
                + (c.f_hidden + 1) * width
            )
        return count(config)
    tau = list(config["channels"]) if isinstance(config["channels"], (list, tuple)) else None
    if tau is None or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 1 for t in tau) or len(tau) < 2:
        return count(config)  # let LGNConfig report the bad value

    def probe(bumps):
        ch = [1] * len(tau)
        for i in bumps:
            ch[i] = 2
        return count({**config, "channels": ch})

    base = probe(())
    d = [probe((i,)) - base for i in range(len(tau))]
    a = [probe((i, i + 1)) - base - d[i] - d[i + 1] for i in range(len(tau) - 1)]
    return (
        base
        + sum(d[i] * (tau[i] - 1) for i in range(len(tau)))
        + sum(a[i] * (tau[i] - 1) * (tau[i + 1] - 1) for i in range(len(tau) - 1))
    )
