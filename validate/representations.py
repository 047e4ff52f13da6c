"""How a model's inputs and outputs transform: "scalar" (invariant), "vector" (four-vectors on the last axis) or
an `Irreps` (complex features on the last axis, flat layout channel-major; or a dict {Irrep: [..., τ, d]})."""

from __future__ import annotations

import torch

import clariant_core as cc


def parse(spec):
    """ "scalar" | "vector" | Irreps (or an irreps string such as "2x(0,0)+1x(1,1)")."""
    if spec in ("scalar", "vector"):
        return spec
    if isinstance(spec, (cc.Irreps, str)):
        try:
            return cc.Irreps(spec)
        except ValueError:
            raise ValueError(f"unknown representation {spec!r}: use 'scalar', 'vector' or an Irreps") from None
    raise ValueError(f"unknown representation {spec!r}: use 'scalar', 'vector' or an Irreps")


def flatten(out, rep) -> torch.Tensor:
    """A model output as one tensor `[B, ..., dim]` (dict outputs concatenated in the Irreps' order)."""
    if isinstance(out, dict):
        if not isinstance(rep, cc.Irreps):
            raise ValueError("a dict output needs an Irreps representation")
        return torch.cat([out[ir].flatten(-2) for _, ir in rep.simplify()], -1)
    return out


def rho(rep, m: torch.Tensor) -> torch.Tensor | None:
    """The matrix acting on the last axis for SL(2,C) `m: [..., 2, 2]`: None for scalars, Λ `[..., 4, 4]` real for
    vectors, block-diagonal ρ(M) complex `[..., dim, dim]` for Irreps."""
    if rep == "scalar":
        return None
    if rep == "vector":
        return cc.to_so13(m)
    return rep.simplify().matrix(m)


def act(rep, m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """ρ(M) x on the last axis; m `[T, 2, 2]`, x `[T, B, ..., dim]` (or broadcastable)."""
    r = rho(rep, m)
    if r is None:
        return x
    r = r.to(x.dtype if x.is_complex() or not r.is_complex() else r.dtype)
    x = x.to(r.dtype)
    shape = (r.shape[0],) + (1,) * (x.ndim - 2) + r.shape[-2:]
    return (r.reshape(shape) @ x[..., None])[..., 0]
