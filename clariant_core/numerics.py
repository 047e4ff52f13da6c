"""dtype bookkeeping shared by the whole package: real ↔ complex pairs, unit roundoff, input checks."""

from __future__ import annotations

from collections.abc import Sequence

import torch

_REAL_TO_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}
_COMPLEX_TO_REAL = {v: k for k, v in _REAL_TO_COMPLEX.items()}
SUPPORTED_REAL = tuple(_REAL_TO_COMPLEX)
SUPPORTED_COMPLEX = tuple(_COMPLEX_TO_REAL)
DEFAULT_REAL = torch.float64


def complex_of(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype with the precision of `dtype` (float32 → complex64, float64 → complex128)."""
    if dtype in _COMPLEX_TO_REAL:
        return dtype
    try:
        return _REAL_TO_COMPLEX[dtype]
    except KeyError:
        raise ValueError(f"unsupported dtype {dtype}: use float32/float64 or complex64/complex128") from None


def real_of(dtype: torch.dtype) -> torch.dtype:
    """The real dtype with the precision of `dtype` (complex64 → float32, complex128 → float64)."""
    if dtype in _REAL_TO_COMPLEX:
        return dtype
    try:
        return _COMPLEX_TO_REAL[dtype]
    except KeyError:
        raise ValueError(f"unsupported dtype {dtype}: use float32/float64 or complex64/complex128") from None


def unit_roundoff(dtype: torch.dtype) -> float:
    """u = eps/2 of the (real part of the) dtype: the largest relative rounding error of one operation."""
    real = dtype.to_real() if dtype.is_complex else dtype
    return torch.finfo(real).eps / 2


def as_real_tensor(x, dtype: torch.dtype | None, name: str) -> torch.Tensor:
    """Turn `x` (tensor, number or nested sequence) into a real floating tensor of a supported dtype.

    A tensor keeps its dtype unless `dtype` is given; Python numbers default to float64.
    Complex or integer-only tensors without an explicit dtype are rejected rather than silently converted.
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise ValueError(f"{name} must be real, got dtype {x.dtype}")
        target = dtype if dtype is not None else (x.dtype if x.is_floating_point() else DEFAULT_REAL)
        if target not in SUPPORTED_REAL:
            raise ValueError(f"{name}: unsupported dtype {target}; use float32 or float64")
        out = x.to(target)
    else:
        target = dtype if dtype is not None else DEFAULT_REAL
        if target not in SUPPORTED_REAL:
            raise ValueError(f"{name}: unsupported dtype {target}; use float32 or float64")
        if isinstance(x, (str, bytes)) or not isinstance(x, (int, float, Sequence)):
            raise ValueError(f"{name} must be a number, sequence or tensor, got {type(x).__name__}")
        out = torch.as_tensor(x, dtype=target)
    check_finite(out, name)
    return out


def check_finite(x: torch.Tensor, name: str) -> None:
    """Raise ValueError naming the first non-finite entry of `x`."""
    bad = ~torch.isfinite(x)
    if bad.any():
        idx = tuple(int(i) for i in torch.nonzero(bad)[0])
        kind = "NaN" if torch.isnan(x[idx]).item() else "inf"
        raise ValueError(f"{name} contains {kind} at index {idx}")


def is_transformed(t: torch.Tensor) -> bool:
    """True inside a torch.func transform (jvp, vmap, grad…), where t is a functorch wrapper."""
    check = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
    return bool(check(t)) if check is not None else False
