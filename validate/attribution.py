"""Per-layer attribution: which layer loses the symmetry.

Forward hooks record every layer the model declares in `activation_irreps()` ({submodule name: Irreps}, in forward
order) on x and on Λx; each layer's equivariance error per sample is ‖a(Λx) − ρ(M') a(x)‖ / ‖ρ(M') a(x)‖ over the real
particles, with M' = L(Λx) M L(x)⁻¹ for models that evaluate in an input-dependent frame and declare it through
`activation_frame(p, mask)` (SL(2,C) L per sample), else M' = M. Outputs may be dicts {Irrep: [B, N, τ, d]} or flat
tensors [B, N, dim]. Nothing here depends on the LGN's internals.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

import clariant_core as cc

from . import representations as reps
from .exact import lorentz_apply
from .measures import dtype_name
from .statistics import p95


@dataclass(frozen=True)
class LayerError:
    name: str
    irreps: str
    median: float
    p95: float
    max: float


@dataclass
class Attribution:
    layers: list[LayerError]
    threshold: float
    transform: str
    dtype: str

    @property
    def first_broken(self) -> str | None:
        for layer in self.layers:
            if layer.p95 > self.threshold:
                return layer.name
        return None


def default_element() -> torch.Tensor:
    """A generic element (boost of rapidity 1 along (1,2,2)/3 after a rotation by 1.1 about (−2,1,2)/3)."""
    return cc.sl2c(boost=torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64) / 3) @ cc.sl2c(
        rotation=torch.tensor([-2.0, 1.0, 2.0], dtype=torch.float64) / 3 * 1.1
    )


def attribute(model, p, mask, m: torch.Tensor | None = None, *, dtype=torch.float64, threshold=None) -> Attribution:
    """Equivariance error of every declared layer under one SL(2,C) element m (default: `default_element()`).
    A layer counts as breaking when its p95 error exceeds `threshold` (default √u of the dtype × cosh²(y), far above
    rounding, far below a symmetry bug)."""
    if not hasattr(model, "activation_irreps"):
        raise ValueError("per-layer attribution needs model.activation_irreps() → {submodule name: Irreps}")
    m = default_element() if m is None else cc.check_sl2c(m.to(torch.complex128), "m")
    y = float(torch.acosh(cc.to_so13(m)[0, 0].clamp_min(1.0)))
    threshold = math.sqrt(torch.finfo(dtype).eps) * math.cosh(y) ** 2 if threshold is None else threshold
    net = model
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    if params and params[0].dtype != dtype:
        net = copy.deepcopy(model).to(dtype)
    declared = {name: cc.Irreps(irreps).simplify() for name, irreps in net.activation_irreps().items()}
    records: dict[str, list] = {name: [] for name in declared}
    handles = [
        net.get_submodule(name).register_forward_hook(lambda mod, args, out, name=name: records[name].append(out))
        for name in declared
    ]
    x = p.to(torch.float64)
    xl = lorentz_apply(m[None], x)[0]  # rounded once from the exact action of M
    try:
        with torch.no_grad():
            net(x.to(dtype), mask)
            net(xl.to(dtype), mask)
    finally:
        for h in handles:
            h.remove()
    if hasattr(net, "activation_frame"):
        l0 = net.activation_frame(x, mask).to(torch.complex128)
        l1 = net.activation_frame(xl, mask).to(torch.complex128)
        m_act = l1 @ m @ cc.inverse_sl2c(l0)
        # a product of large factors: its determinant is 1 only to u·‖L₁‖²‖M‖²‖L₀‖²; project back onto SL(2,C)
        det = m_act[:, 0, 0] * m_act[:, 1, 1] - m_act[:, 0, 1] * m_act[:, 1, 0]
        m_act = m_act / torch.sqrt(det)[:, None, None]
    else:
        m_act = m.expand(p.shape[0], 2, 2)
    layers = []
    for name, irreps in declared.items():
        if len(records[name]) != 2:
            raise ValueError(f"layer {name!r} ran {len(records[name])} times per forward, expected once")
        a0, a1 = (reps.flatten(r, irreps).to(torch.complex128) for r in records[name])
        w = mask[..., None].to(torch.float64)
        extra = a0.shape[1] - mask.shape[1]
        if extra > 0:  # model-internal particles (e.g. the LGN's beams) come first: compare them too
            w = torch.cat([w.new_ones(w.shape[0], extra, 1), w], 1)
        rho = reps.rho(irreps, m_act).to(torch.complex128)  # [B, dim, dim]
        expected = torch.einsum("bij,bnj->bni", rho, a0) * w
        diff = (a1 * w - expected).reshape(p.shape[0], -1).norm(dim=-1)
        err = diff / expected.reshape(p.shape[0], -1).norm(dim=-1).clamp_min(torch.finfo(torch.float64).tiny)
        layers.append(LayerError(name, str(irreps), float(err.median()), p95(err), float(err.max())))
    return Attribution(layers, threshold, f"SL(2,C) element with rapidity {y:.3g}", dtype_name(dtype))
