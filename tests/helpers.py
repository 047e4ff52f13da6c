"""Shared test helpers: tolerances derived from the dtype's unit roundoff, never fixed numbers."""

import torch

import clariant_core as cc

REAL_DTYPES = [torch.float32, torch.float64]
COMPLEX_DTYPES = [torch.complex64, torch.complex128]


def tol(dtype: torch.dtype, ops: float) -> float:
    """A bound of `ops` accumulated roundings of `dtype` (relative)."""
    return ops * cc.unit_roundoff(dtype)


def rel_err(a: torch.Tensor, b: torch.Tensor, scale=None) -> torch.Tensor:
    """Frobenius-norm relative error over the last two axes, `[...]`, computed in float64/complex128."""
    a = a.to(torch.complex128 if a.is_complex() else torch.float64)
    b = b.to(torch.complex128 if b.is_complex() else torch.float64)
    if scale is None:
        scale = torch.linalg.matrix_norm(b)
    return torch.linalg.matrix_norm(a - b) / scale


def irrep_ops(ir: cc.Irrep) -> float:
    """Rounding count for one ρ_(k,n)(M) evaluation: degree-(k+n) monomials of the entries of M (each rounded once
    on input), summed over at most d terms; the d·(k+n+2) bound is the usual one for polynomial evaluation."""
    return 4 * (ir.k + ir.n + 2) * ir.dim
