"""How a model's outputs are laid out for their representation (docs/validation.md): `parse` reads the public
`out_rep` spec once — "scalar", "vector", an irreps string, an Irreps or a `clariant_core.Rep` — through `Rep.parse`;
`flatten` turns a dict output {Irrep: [..., τ, d]} into one tensor in the Irreps' order, `width_error` says why a
last axis cannot carry the representation. The matrices are the Rep's own."""

from __future__ import annotations

import torch

import clariant_core as cc


def flatten(out, rep: cc.Rep) -> torch.Tensor:
    """A model output as one tensor `[B, ..., dim]`: a dict {Irrep: [B, ..., τ, d]} concatenated in the order of
    `rep.irreps` (each irrep once, in the irreps' own basis), a tensor as it is."""
    if isinstance(out, dict):
        irreps = rep.irreps
        if rep.is_real or rep.basis is not None or len(irreps.irreps) != len(irreps):
            raise ValueError(
                f"a dict output {{Irrep: [B, ..., τ, d]}} needs an Irreps representation listing each irrep once, "
                f"not {rep}"
            )
        missing = [str(ir) for ir in irreps.irreps if ir not in out]
        if missing:
            raise ValueError(f"the dict output has no entry for {', '.join(missing)} of {rep}")
        return torch.cat([out[ir].flatten(-2) for _, ir in irreps], -1)
    return out


def width_error(rep: cc.Rep, shape: tuple) -> str | None:
    """Why a last axis of `shape` cannot carry `rep` (None when it can)."""
    if rep.fits(shape[-1] if shape else 1):
        return None
    what = " (E, px, py, pz)" if rep == cc.VECTOR else ""
    return f"a '{rep}' output must end in {rep.dim} components{what}, got {tuple(shape)}"
