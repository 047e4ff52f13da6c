"""dtype bookkeeping shared by the whole package: real ↔ complex pairs, unit roundoff, input checks, and the
precision modes (`Precision`, `PRECISIONS`: storage dtypes, TF32, autocast) with their unit roundoffs
(docs/devices.md)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

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


#: how far a real particle's |p⃗| may exceed its E, relative to E, before it counts as spacelike: a massless (E, p⃗)
#: rounded component by component to float32 can have |p⃗| above E by ~2u₃₂E; 8u₃₂ leaves room for one more
#: conversion. Applied whatever dtype the values are stored in (float32 data are often saved as float64).
LIGHTCONE_SLACK = 8 * unit_roundoff(torch.float32)


def beyond_lightcone(e: float, three: float, slack: float) -> str:
    """How far a particle's |p⃗| exceeds its E, in words, for the messages that refuse it (one wording for the file
    reader and the validation suite)."""
    excess = (three - e) / max(abs(e), three)
    return f"|p⃗| = {three:.9g} > E = {e:.9g}, by {excess:.2g} relative; rounding allows {slack:.2g}"


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


# --- precision modes ------------------------------------------------------------------------------------------
# One home for every precision a model can be run or judged in (docs/devices.md, docs/validation.md "Precision
# modes"): the four storage dtypes, TF32 matmuls and mixed precision by autocast. The validation suite measures
# each as a row; the CLI's --dtype choices and training's dtypes are read from here.


@dataclass(frozen=True)
class Precision:
    """A precision mode: `name`, the dtype the model and its inputs are converted to (`dtype`), the dtype its
    arithmetic rounds to (`compute`: the autocast dtype; for TF32 float32 storage with 10-bit-mantissa matmuls),
    its unit roundoff `u` (the largest relative rounding error of one operation in the coarsest arithmetic it
    uses), and how to enter it (`enter(device)`, a context manager; `unavailable(device)` says why it cannot run)."""

    name: str
    dtype: torch.dtype
    u: float
    kind: str = "plain"  # "plain" (convert and run), "tf32" (TF32 matmuls allowed), "autocast" (torch.autocast)
    compute: torch.dtype | None = None  # autocast's dtype; None: `dtype`

    def __str__(self) -> str:
        return self.name

    @property
    def compute_dtype(self) -> torch.dtype:
        return self.compute or self.dtype

    def unavailable(self, device: torch.device | str = "cpu") -> str | None:
        """None when this mode can run on `device`, else the reason it cannot."""
        device = torch.device(device)
        if self.kind == "tf32":
            if device.type != "cuda":
                return f"{self.name}: TF32 matmuls exist only on CUDA GPUs (compute capability ≥ 8), not on {device}"
            major, minor = torch.cuda.get_device_capability(device)
            if major < 8:
                return f"{self.name}: TF32 needs compute capability ≥ 8.0, {device} has {major}.{minor}"
        if self.kind == "autocast" and device.type == "cuda" and self.compute == torch.bfloat16:
            with torch.cuda.device(device):  # asks the current GPU: this one, on a machine of several kinds
                if not torch.cuda.is_bf16_supported():
                    return f"{self.name}: {device} has no bfloat16 arithmetic"
        if self.kind == "autocast" and device.type not in ("cpu", "cuda"):
            return f"{self.name}: torch.autocast does not support {device.type}"
        return None

    @contextmanager
    def enter(self, device: torch.device | str = "cpu") -> Iterator[None]:
        """Run the block in this mode on `device`: TF32 flags set (and restored afterwards, also on error), or
        torch.autocast on the device's type. A plain mode enters nothing (the caller converts to `dtype`)."""
        device = torch.device(device)
        if self.kind == "tf32":
            switches = _tf32_switches()
            saved = [getattr(owner, name) for owner, name, _ in switches]
            for owner, name, on in switches:
                setattr(owner, name, on)
            try:
                yield
            finally:
                for (owner, name, _), value in zip(switches, saved):
                    setattr(owner, name, value)
        elif self.kind == "autocast":
            with torch.autocast(device_type=device.type, dtype=self.compute):
                yield
        else:
            yield


def _tf32_switches() -> list[tuple[object, str, object]]:
    """(owner, attribute, value that allows TF32) for cuBLAS matmuls and cuDNN convolutions, in the API the program
    uses. torch ≥ 2.9 has `fp32_precision` ("tf32" / "ieee" / "none") beside the legacy `allow_tf32` flags, and
    reading a legacy flag raises ("mix of the legacy and new APIs") once the new one was set: so the legacy flags
    where they can be read (code inside the block may read them too), else the new switches."""
    legacy = [(torch.backends.cuda.matmul, "allow_tf32", True), (torch.backends.cudnn, "allow_tf32", True)]
    try:
        for owner, name, _ in legacy:
            getattr(owner, name)
    except RuntimeError:
        return [
            (torch.backends.cuda.matmul, "fp32_precision", "tf32"),
            (torch.backends.cudnn.conv, "fp32_precision", "tf32"),
        ]
    return legacy


def _plain(dtype: torch.dtype) -> Precision:
    return Precision(str(dtype).replace("torch.", ""), dtype, unit_roundoff(dtype))


#: TF32 keeps float32's 8-bit exponent and rounds matmul operands to a 10-bit mantissa (11 significant bits):
#: u = 2⁻¹¹, the same as float16's.
TF32_UNIT_ROUNDOFF = 2.0**-11

PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in (
        _plain(torch.float64),
        _plain(torch.float32),
        _plain(torch.bfloat16),
        _plain(torch.float16),
        Precision("tf32", torch.float32, TF32_UNIT_ROUNDOFF, "tf32"),
        Precision("autocast-bf16", torch.float32, unit_roundoff(torch.bfloat16), "autocast", torch.bfloat16),
        Precision("autocast-fp16", torch.float32, unit_roundoff(torch.float16), "autocast", torch.float16),
    )
}
#: the storage dtypes every validation sweep measures by default (the modes are asked for by name)
DEFAULT_SWEEP = tuple(PRECISIONS[n] for n in ("float64", "float32", "bfloat16", "float16"))
#: what a model can be trained in (the LGN computes in complex64/complex128 only)
TRAIN_DTYPES = {n: PRECISIONS[n].dtype for n in ("float32", "float64")}


def precision(spec: Precision | torch.dtype | str) -> Precision:
    """The Precision for a mode name ("tf32", "autocast-bf16", "float32", …), a torch dtype or a Precision."""
    if isinstance(spec, Precision):
        return spec
    if isinstance(spec, torch.dtype):
        name = str(spec).replace("torch.", "")
        if name in PRECISIONS and PRECISIONS[name].kind == "plain":
            return PRECISIONS[name]
        raise ValueError(f"unsupported dtype {spec}: use one of {', '.join(PRECISIONS)}")
    if isinstance(spec, str) and spec in PRECISIONS:
        return PRECISIONS[spec]
    raise ValueError(f"unknown precision {spec!r}: use one of {', '.join(PRECISIONS)} or a torch float dtype")
