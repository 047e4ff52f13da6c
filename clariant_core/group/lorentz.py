"""The Lorentz group SO⁺(1,3) and its double cover SL(2,C) (conventions: docs/conventions.md).

Four-vectors are `(E, px, py, pz)` on the last axis, metric η = diag(+1, −1, −1, −1).
`X(p) = p^μ σ_μ` and `X(Λp) = M X(p) M†`; rotations are `M = exp(−i θ n̂·σ/2)`, boosts `M = exp(+y n̂·σ/2)`
(active: a particle at rest acquires velocity +tanh(y) n̂).
"""

from __future__ import annotations

import math

import torch

from clariant_core.numerics import (
    DEFAULT_REAL,
    SUPPORTED_COMPLEX,
    as_real_tensor,
    check_finite,
    complex_of,
    real_of,
    unit_roundoff,
)

__all__ = [
    "METRIC",
    "max_rapidity",
    "boost",
    "inverse_lorentz",
    "inverse_sl2c",
    "is_sl2c",
    "metric",
    "minkowski_dot",
    "minkowski_norm2",
    "pauli",
    "random_lorentz",
    "random_sl2c",
    "rotation",
    "sl2c",
    "to_so13",
]

METRIC = (1.0, -1.0, -1.0, -1.0)


def max_rapidity(dtype: torch.dtype = DEFAULT_REAL) -> float:
    """The largest |y| a boost may have in `dtype` (real or complex): Λ⁰₀ = cosh y and ‖M‖²_F = 2 cosh y ≈ e^|y| must
    stay below finfo.max/4, which leaves room for the sums in Λ = ½ tr(σ_μ M σ_ν M†). float64: 708.4, float32: 87.3.
    Beyond it the group functions raise instead of returning inf or NaN."""
    return math.log(torch.finfo(real_of(dtype)).max / 4)


def _first_beyond(x: torch.Tensor, limit: float) -> tuple | None:
    """Index of the first entry with |x| > limit, or None."""
    big = x.abs() > limit
    return tuple(int(i) for i in torch.nonzero(big)[0]) if big.any() else None


def _check_angle(theta: torch.Tensor, name: str) -> None:
    """theta: real angles (magnitudes); beyond π/u neighbouring floats are more than 2π apart, so the angle has no
    value modulo 2π in that dtype (and θ² overflows long before the exponential does)."""
    limit = math.pi / unit_roundoff(theta.dtype)
    idx = _first_beyond(theta, limit)
    if idx is not None:
        raise ValueError(
            f"{name}: angle {float(theta[idx]):.6g} at index {idx} cannot be resolved in {theta.dtype} "
            f"(beyond |θ| ≤ π/u = {limit:.4g} the spacing of floats exceeds 2π)"
        )


def _check_rapidity(y: torch.Tensor, name: str) -> None:
    """y: real rapidities (magnitudes) of any shape; raise if one exceeds max_rapidity(y.dtype)."""
    limit = max_rapidity(y.dtype)
    idx = _first_beyond(y, limit)
    if idx is not None:
        raise ValueError(
            f"{name}: rapidity {float(y[idx]):.6g} at index {idx} cannot be represented in {y.dtype} "
            f"(cosh y overflows for |y| > {limit:.4g}"
            + (f"; float64 allows {max_rapidity(torch.float64):.4g})" if y.dtype != torch.float64 else ")")
        )


def metric(dtype: torch.dtype = DEFAULT_REAL, device=None) -> torch.Tensor:
    """η = diag(+1, −1, −1, −1) as a `[4, 4]` tensor."""
    return torch.diag(torch.tensor(METRIC, dtype=dtype, device=device))


def pauli(dtype: torch.dtype = torch.complex128, device=None) -> torch.Tensor:
    """σ_μ = (1, σx, σy, σz) as a complex `[4, 2, 2]` tensor."""
    s = torch.tensor(
        [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
        dtype=torch.complex128,
    )
    return s.to(dtype=complex_of(dtype), device=device)


def minkowski_dot(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """p·q = p⁰q⁰ − p⃗·q⃗ over the last axis. `p, q: [..., 4]` (broadcast) → `[...]`."""
    _check_four_vector(p, "p")
    _check_four_vector(q, "q")
    if p.dtype != q.dtype:
        raise ValueError(f"p and q have different dtypes ({p.dtype}, {q.dtype})")
    return p[..., 0] * q[..., 0] - (p[..., 1:] * q[..., 1:]).sum(-1)


def minkowski_norm2(p: torch.Tensor) -> torch.Tensor:
    """p² = E² − |p⃗|² over the last axis. `p: [..., 4]` → `[...]`."""
    return minkowski_dot(p, p)


def _check_four_vector(p: torch.Tensor, name: str) -> None:
    if not isinstance(p, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape [..., 4], got {type(p).__name__}")
    if p.ndim == 0 or p.shape[-1] != 4:
        raise ValueError(f"{name} must have shape [..., 4], got {tuple(p.shape)}")


# --- SL(2,C) -----------------------------------------------------------------------------------------


def sl2c(rotation=None, boost=None, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """SL(2,C) matrices `M = exp(−i θ⃗·σ/2 + y⃗·σ/2)`.

    rotation: θ⃗ `[..., 3]` (angle × unit axis, radians); boost: y⃗ `[..., 3]` (rapidity × unit axis).
    Either may be omitted (zero); shapes broadcast. dtype: float32/float64 (or their complex
    counterparts); default: that of the tensor arguments, float64 for Python numbers.
    Returns complex `[..., 2, 2]` (complex64 for float32 input, complex128 for float64).

    Note the exponent is one sl(2,C) element: for non-parallel θ⃗ and y⃗ this is not "rotate then boost".
    """
    if rotation is None and boost is None:
        raise ValueError("sl2c needs rotation=θ⃗ and/or boost=y⃗")
    real = None if dtype is None else real_of(dtype)
    theta = None if rotation is None else as_real_tensor(rotation, real, "rotation")
    rap = None if boost is None else as_real_tensor(boost, real, "boost")
    if theta is not None and rap is not None and theta.dtype != rap.dtype:
        raise ValueError(f"rotation and boost have different dtypes ({theta.dtype}, {rap.dtype})")
    ref = theta if theta is not None else rap
    for name, v in (("rotation", theta), ("boost", rap)):
        if v is not None and (v.ndim == 0 or v.shape[-1] != 3):
            raise ValueError(f"{name} must have shape [..., 3], got {tuple(v.shape)}")
    theta = torch.zeros_like(ref) if theta is None else theta
    rap = torch.zeros_like(ref) if rap is None else rap
    _check_rapidity(torch.linalg.vector_norm(rap, dim=-1), "sl2c boost")
    _check_angle(torch.linalg.vector_norm(theta, dim=-1), "sl2c rotation")
    theta, rap = torch.broadcast_tensors(theta, rap)
    a = torch.complex(rap, -theta) / 2  # exponent = a⃗·σ with complex a⃗
    return _exp_pauli(a)


def _exp_pauli(a: torch.Tensor) -> torch.Tensor:
    """exp(a⃗·σ) for complex `a: [..., 3]`, closed form: (a⃗·σ)² = (a⃗·a⃗)·1, so
    exp(a⃗·σ) = cosh(s)·1 + sinh(s)/s · a⃗·σ with s² = a⃗·a⃗ (both even in s: the branch of √ is irrelevant)."""
    z = (a * a).sum(-1)
    s = torch.sqrt(z)
    u = unit_roundoff(a.dtype)
    small = s.abs() < (5040 * u) ** (1 / 6)  # where the series 1 + z/6 + z²/120 is exact to rounding
    s_safe = torch.where(small, torch.ones_like(s), s)
    cosh = torch.where(small, 1 + z / 2 + z * z / 24, torch.cosh(s_safe))
    sinhc = torch.where(small, 1 + z / 6 + z * z / 120, torch.sinh(s_safe) / s_safe)
    sig = pauli(a.dtype, a.device)
    eye = sig[0]
    return cosh[..., None, None] * eye + sinhc[..., None, None] * torch.einsum("...i,ijk->...jk", a, sig[1:])


def is_sl2c(m: torch.Tensor) -> torch.Tensor:
    """Boolean `[...]`: finite, representable (‖M‖²_F ≤ finfo.max/2, i.e. |rapidity| ≲ max_rapidity) and det M = 1
    within rounding (|det − 1| ≤ 32·u·‖M‖²_F)."""
    if not isinstance(m, torch.Tensor) or m.ndim < 2 or m.shape[-2:] != (2, 2):
        return torch.zeros((), dtype=torch.bool)
    det = m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]
    scale = (m.abs() ** 2).sum((-2, -1))
    finite = torch.isfinite(m).all(-1).all(-1)
    fits = scale <= torch.finfo(scale.dtype).max / 2  # else ‖M‖² (and det) overflowed: nothing can be verified
    return finite & fits & ((det - 1).abs() <= 32 * unit_roundoff(m.dtype) * scale)


def check_sl2c(m, name: str = "M") -> torch.Tensor:
    """Validate an SL(2,C) batch `[..., 2, 2]` and return it as complex (float → complex of same precision)."""
    if not isinstance(m, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape [..., 2, 2], got {type(m).__name__}")
    if m.ndim < 2 or m.shape[-2:] != (2, 2):
        raise ValueError(f"{name} must have shape [..., 2, 2], got {tuple(m.shape)}")
    m = m.to(complex_of(m.dtype))
    check_finite(m, name)
    scale = (m.abs() ** 2).sum((-2, -1))
    big = ~(scale <= torch.finfo(scale.dtype).max / 2)
    if big.any():
        idx = tuple(int(i) for i in torch.nonzero(big)[0])
        mi = (m[idx] if idx else m).to(torch.complex128).abs()
        y = 2 * math.log(float(mi.max())) + math.log(float(((mi / mi.max()) ** 2).sum()))  # ln ‖M‖²_F ≈ |y|
        raise ValueError(
            f"{name} at batch index {idx} is a boost of rapidity ≈ {y:.4g}, beyond the |y| ≤ "
            f"{max_rapidity(m.dtype):.4g} that {m.dtype} can represent (its products overflow)"
        )
    ok = is_sl2c(m)
    if not ok.all():
        idx = tuple(int(i) for i in torch.nonzero(~ok)[0])
        mi = m[idx] if idx else m
        det = (mi[0, 0] * mi[1, 1] - mi[0, 1] * mi[1, 0]).item()
        raise ValueError(
            f"{name} is not in SL(2,C): det = {det:.6g} (|det − 1| = {abs(det - 1):.3g}) at batch index {idx}"
        )
    return m


def inverse_sl2c(m: torch.Tensor) -> torch.Tensor:
    """M⁻¹ = [[d, −b], [−c, a]] for det M = 1 (exact, no division). `[..., 2, 2]` → `[..., 2, 2]`."""
    m = check_sl2c(m)
    out = torch.empty_like(m)
    out[..., 0, 0] = m[..., 1, 1]
    out[..., 1, 1] = m[..., 0, 0]
    out[..., 0, 1] = -m[..., 0, 1]
    out[..., 1, 0] = -m[..., 1, 0]
    return out


def to_so13(m: torch.Tensor) -> torch.Tensor:
    """The double cover SL(2,C) → SO⁺(1,3): Λ^μ_ν = ½ tr(σ_μ M σ_ν M†), real `[..., 4, 4]`.

    m: complex `[..., 2, 2]` in SL(2,C) (checked). Λ acts on `(E, px, py, pz)` column vectors; M and −M give
    the same Λ. Output dtype: float32 for complex64, float64 for complex128.
    """
    m = check_sl2c(m)
    sig = pauli(m.dtype, m.device)
    # (M σ_ν M†)_{ab}, then contract with σ_μ: ½ Σ_ab (σ_μ)_{ba} (M σ_ν M†)_{ab}
    msm = torch.einsum("...ab,nbc,...dc->...nad", m, sig, m.conj())
    lam = 0.5 * torch.einsum("mba,...nab->...mn", sig, msm)
    return lam.real.contiguous()


# --- SO⁺(1,3) directly ----------------------------------------------------------------------------


def _unit_axis(axis, dtype, name="axis") -> torch.Tensor:
    n = as_real_tensor(axis, dtype, name)
    if n.ndim == 0 or n.shape[-1] != 3:
        raise ValueError(f"{name} must have shape [..., 3], got {tuple(n.shape)}")
    norm = torch.linalg.vector_norm(n, dim=-1, keepdim=True)
    if (norm == 0).any():
        raise ValueError(f"{name} must be non-zero (a direction), got a zero vector")
    return n / norm


def boost(axis, rapidity, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Active boost Λ `[..., 4, 4]` of rapidity y along unit axis n̂ (normalised here); shapes broadcast.

    Λ⁰₀ = cosh y, Λ⁰ᵢ = Λⁱ₀ = n_i sinh y, Λⁱⱼ = δᵢⱼ + (cosh y − 1) n_i n_j; equals to_so13(sl2c(boost=y n̂)).
    dtype defaults to that of the tensor arguments (float64 for Python numbers).
    """
    y = as_real_tensor(rapidity, dtype, "rapidity")
    _check_rapidity(y, "boost")
    n = _unit_axis(axis, dtype if dtype is not None else y.dtype, "axis")
    if n.dtype != y.dtype:
        raise ValueError(f"axis and rapidity have different dtypes ({n.dtype}, {y.dtype})")
    n, y = torch.broadcast_tensors(n, y[..., None])
    y = y[..., 0]
    ch, sh = torch.cosh(y), torch.sinh(y)
    lam = torch.empty(n.shape[:-1] + (4, 4), dtype=n.dtype, device=n.device)
    lam[..., 0, 0] = ch
    lam[..., 0, 1:] = sh[..., None] * n
    lam[..., 1:, 0] = sh[..., None] * n
    # cosh y − 1 = 2 sinh²(y/2): no cancellation at small y
    lam[..., 1:, 1:] = torch.eye(3, dtype=n.dtype, device=n.device) + (2 * torch.sinh(y / 2) ** 2)[..., None, None] * (
        n[..., :, None] * n[..., None, :]
    )
    return lam


def rotation(axis, angle, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Active rotation Λ `[..., 4, 4]` by angle θ (right-handed) about unit axis n̂; Rodrigues' formula.

    Equals to_so13(sl2c(rotation=θ n̂)).
    """
    th = as_real_tensor(angle, dtype, "angle")
    _check_angle(th, "rotation")
    n = _unit_axis(axis, dtype if dtype is not None else th.dtype, "axis")
    if n.dtype != th.dtype:
        raise ValueError(f"axis and angle have different dtypes ({n.dtype}, {th.dtype})")
    n, th = torch.broadcast_tensors(n, th[..., None])
    th = th[..., 0]
    zero = torch.zeros_like(th)
    # cross-product matrix [n]×
    kx = torch.stack(
        [
            torch.stack([zero, -n[..., 2], n[..., 1]], -1),
            torch.stack([n[..., 2], zero, -n[..., 0]], -1),
            torch.stack([-n[..., 1], n[..., 0], zero], -1),
        ],
        -2,
    )
    eye3 = torch.eye(3, dtype=n.dtype, device=n.device)
    r = eye3 + torch.sin(th)[..., None, None] * kx + (2 * torch.sin(th / 2) ** 2)[..., None, None] * (kx @ kx)
    lam = torch.zeros(n.shape[:-1] + (4, 4), dtype=n.dtype, device=n.device)
    lam[..., 0, 0] = 1
    lam[..., 1:, 1:] = r
    return lam


def inverse_lorentz(lam: torch.Tensor) -> torch.Tensor:
    """Λ⁻¹ = η Λᵀ η (exact, no solve). `[..., 4, 4]` → `[..., 4, 4]`."""
    if not isinstance(lam, torch.Tensor) or lam.ndim < 2 or lam.shape[-2:] != (4, 4):
        shape = tuple(lam.shape) if isinstance(lam, torch.Tensor) else type(lam).__name__
        raise ValueError(f"Λ must have shape [..., 4, 4], got {shape}")
    sign = torch.tensor(METRIC, dtype=lam.dtype, device=lam.device)
    return sign[:, None] * lam.transpose(-1, -2) * sign[None, :]


# --- random elements ------------------------------------------------------------------------------


def _generator(seed) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    g = torch.Generator()
    g.manual_seed(0 if seed is None else int(seed))
    return g


def random_sl2c(
    shape=(),
    *,
    max_rapidity: float = 1.0,
    seed: int | torch.Generator | None = 0,
    dtype: torch.dtype = torch.complex128,
) -> torch.Tensor:
    """Seeded random SL(2,C) elements `M = B(y n̂) U`: U Haar-uniform in SU(2), n̂ uniform on the sphere,
    rapidity y uniform in [0, max_rapidity]. Sampled in float64, rounded once to `dtype`.

    shape: batch shape (int or tuple). Returns complex `[*shape, 2, 2]`.
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    cdtype = complex_of(dtype)
    if cdtype not in SUPPORTED_COMPLEX:
        raise ValueError(f"unsupported dtype {dtype}")
    if not math.isfinite(max_rapidity) or max_rapidity < 0:
        raise ValueError(f"max_rapidity must be finite and ≥ 0, got {max_rapidity}")
    _check_rapidity(torch.tensor(max_rapidity, dtype=real_of(cdtype)), "random_sl2c max_rapidity")
    g = _generator(seed)
    q = torch.randn(shape + (4,), generator=g, dtype=torch.float64)
    q = q / torch.linalg.vector_norm(q, dim=-1, keepdim=True)
    # unit quaternion → SU(2): U = w·1 − i (x σx + y σy + z σz)
    sig = pauli(torch.complex128)
    u = q[..., 0, None, None] * sig[0] - 1j * torch.einsum("...i,ijk->...jk", q[..., 1:].to(torch.complex128), sig[1:])
    n = torch.randn(shape + (3,), generator=g, dtype=torch.float64)
    n = n / torch.linalg.vector_norm(n, dim=-1, keepdim=True)
    y = torch.rand(shape, generator=g, dtype=torch.float64) * max_rapidity
    b = sl2c(boost=n * y[..., None])
    return (b @ u).to(cdtype)


def random_lorentz(
    shape=(),
    *,
    max_rapidity: float = 1.0,
    seed: int | torch.Generator | None = 0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Seeded random SO⁺(1,3) elements (image of `random_sl2c`), computed in float64 and rounded once.
    Returns real `[*shape, 4, 4]`."""
    m = random_sl2c(shape, max_rapidity=max_rapidity, seed=seed, dtype=torch.complex128)
    return to_so13(m).to(real_of(dtype))
