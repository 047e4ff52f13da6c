"""Test transformations: named subgroups, batched constructors, the deterministic grid, and membership checks.

Transformations are carried as SL(2,C) elements M (complex128 `[T, 2, 2]`), from which Λ = to_so13(M); M is needed
for outputs in spinor-built irreps, Λ for four-vectors. Every element the suite generates passes `check_lorentz`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

import clariant_core as cc

GROUPS = ("full", "so3", "beam", "rot_z", "boost_z")
GROUP_NAMES = {
    "full": "the Lorentz group",
    "so3": "rotations",
    "beam": "the beam subgroup (rotations about z × boosts along z)",
    "rot_z": "rotations about z",
    "boost_z": "boosts along z",
}
AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def check_lorentz(lam: torch.Tensor, name: str = "Λ") -> torch.Tensor:
    """Raise ValueError unless every Λ `[..., 4, 4]` satisfies ΛᵀηΛ = η, det Λ = +1 and Λ⁰₀ ≥ 1 within rounding
    (tolerances 64·u·‖Λ‖², scaled by the element's own size). Returns Λ."""
    if not isinstance(lam, torch.Tensor) or lam.ndim < 2 or lam.shape[-2:] != (4, 4):
        raise ValueError(f"{name} must be a [..., 4, 4] tensor, got {getattr(lam, 'shape', type(lam))}")
    if not torch.isfinite(lam).all():
        raise ValueError(f"{name} contains NaN or inf")
    l64 = lam.to(torch.float64)
    u = cc.unit_roundoff(lam.dtype)
    eta = cc.metric(torch.float64, lam.device)
    size = torch.linalg.matrix_norm(l64) ** 2
    metric_err = torch.linalg.matrix_norm(l64.transpose(-1, -2) @ eta @ l64 - eta)
    bad = metric_err > 64 * u * size
    if bad.any():
        i = tuple(int(v) for v in torch.nonzero(bad)[0])
        raise ValueError(f"{name}{list(i)} does not preserve the metric: ‖ΛᵀηΛ − η‖ = {float(metric_err[i]):.3g}")
    det = torch.linalg.det(l64)
    bad = (det - 1).abs() > 64 * u * size**2
    if bad.any():
        i = tuple(int(v) for v in torch.nonzero(bad)[0])
        raise ValueError(f"{name}{list(i)} has det {float(det[i]):.6g}, not +1 (a parity or time reversal)")
    bad = l64[..., 0, 0] < 1 - 64 * u
    if bad.any():
        i = tuple(int(v) for v in torch.nonzero(bad)[0])
        raise ValueError(f"{name}{list(i)} has Λ⁰₀ = {float(l64[i][0, 0]):.6g} < 1: not orthochronous")
    return lam


def boost_sl2c(axis, rapidities) -> torch.Tensor:
    """SL(2,C) `[T, 2, 2]` of boosts along `axis` (name or 3-vector) for each rapidity."""
    n = torch.tensor(AXES.get(axis, axis) if isinstance(axis, str) else axis, dtype=torch.float64)
    n = n / torch.linalg.vector_norm(n)
    y = torch.as_tensor(rapidities, dtype=torch.float64).reshape(-1)
    return cc.sl2c(boost=y[:, None] * n)


def rotation_sl2c(axis, angles) -> torch.Tensor:
    """SL(2,C) `[T, 2, 2]` of rotations about `axis` for each angle (radians)."""
    n = torch.tensor(AXES.get(axis, axis) if isinstance(axis, str) else axis, dtype=torch.float64)
    n = n / torch.linalg.vector_norm(n)
    th = torch.as_tensor(angles, dtype=torch.float64).reshape(-1)
    return cc.sl2c(rotation=th[:, None] * n)


def sample(group: str, n: int, *, max_rapidity: float = 2.0, seed: int = 0) -> torch.Tensor:
    """n seeded random elements of a subgroup, SL(2,C) `[n, 2, 2]`: "full" (Haar rotation × boost of uniform
    direction and rapidity ≤ max_rapidity), "so3" (Haar rotations), "beam" (rotation about z × boost along z),
    "rot_z" (rotations about z), "boost_z" (boosts along z)."""
    check_group(group)
    if group == "full":
        return cc.random_sl2c(n, max_rapidity=max_rapidity, seed=seed)
    if group == "so3":
        return cc.random_sl2c(n, max_rapidity=0.0, seed=seed)
    g = torch.Generator().manual_seed(seed)
    phi = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * math.pi
    y = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * max_rapidity
    if group == "rot_z":
        return rotation_sl2c("z", phi)
    if group == "boost_z":
        return boost_sl2c("z", y)
    return boost_sl2c("z", y) @ rotation_sl2c("z", phi)


#: each group's subgroups among GROUPS (itself included): what a sweep restricted to it can speak for
SUBGROUPS = {
    "full": GROUPS,
    "so3": ("so3", "rot_z"),
    "beam": ("beam", "rot_z", "boost_z"),
    "rot_z": ("rot_z",),
    "boost_z": ("boost_z",),
}


def check_group(group: str) -> str:
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}, got {group!r}")
    return group


def in_group(m: torch.Tensor, group: str) -> torch.Tensor:
    """Which SL(2,C) elements `m [T, 2, 2]` lie in `group`, read off Λ within 64·u·‖Λ‖² → bool `[T]`:
    rotations fix the time axis; rotations about z also fix z; boosts along z fix x and y; the beam subgroup keeps
    the (t, z) and (x, y) planes apart."""
    check_group(group)
    lam = cc.to_so13(m.to(torch.complex128))
    tol = 64 * cc.unit_roundoff(torch.float64) * torch.linalg.matrix_norm(lam) ** 2
    eye = torch.eye(4, dtype=torch.float64)

    def fixes(axes):  # Λ e_a = e_a for each axis a
        return torch.stack([(lam[:, :, a] - eye[:, a]).abs().amax(-1) <= tol for a in axes]).all(0)

    def blocks():  # no mixing between {t, z} and {x, y}
        return lam[:, [0, 3]][:, :, [1, 2]].abs().amax((-1, -2)).le(tol) & lam[:, [1, 2]][:, :, [0, 3]].abs().amax(
            (-1, -2)
        ).le(tol)

    if group == "full":
        return torch.ones(lam.shape[0], dtype=torch.bool)
    if group == "so3":
        return fixes([0])
    if group == "rot_z":
        return fixes([0, 3])
    if group == "boost_z":
        return fixes([1, 2])
    return blocks()


def groups_of(m: torch.Tensor) -> list[tuple[str, ...]]:
    """For each element, the groups of GROUPS it belongs to."""
    member = {g: in_group(m, g).tolist() for g in GROUPS}
    return [tuple(g for g in GROUPS if member[g][i]) for i in range(m.shape[0])]


@dataclass(frozen=True)
class GridPoint:
    kind: str  # "boost" | "rotation" | group name for random elements | "custom"
    axis: str | None
    parameter: float  # rapidity, or angle in radians

    @property
    def family(self) -> str:
        """Human name of the family this point belongs to: "boosts along x", "rotations about z", …"""
        if self.kind == "boost":
            return f"boosts along {self.axis}"
        if self.kind == "rotation":
            return f"rotations about {self.axis}"
        if self.kind == "custom":
            return "given transformations"
        return f"random elements of {GROUP_NAMES.get(self.kind, self.kind)}"


#: the grid's rotation angles are offset by this irrational fraction of a step (the golden ratio's): no angle is a
#: rational multiple of π, so a model with only a discrete rotation symmetry (invariant under π, π/2, 2π/3 —
#: a quadrupole term p_x p_y) fails at every angle instead of passing at θ = π
ANGLE_OFFSET = (math.sqrt(5.0) - 1.0) / 2.0


def rotation_angles(n: int) -> list[float]:
    """n angles in (0, π): θ_k = π (k − 1 + ANGLE_OFFSET) / n, k = 1 … n."""
    return [math.pi * (k + ANGLE_OFFSET) / n for k in range(n)]


def grid(
    max_rapidity: float = 6.0, n_rapidities: int = 10, axes=("x", "y", "z"), n_angles: int = 8, rapidities=None
) -> tuple[list[GridPoint], torch.Tensor]:
    """The fixed deterministic grid of reproducible reports: boosts along each axis at n_rapidities evenly spaced
    rapidities in (0, max_rapidity] (or at the given `rapidities`), and rotations about an oblique axis at n_angles
    angles in (0, π) (`rotation_angles`: never a rational multiple of π) and about z at max(1, n_angles // 2)
    angles (the beam subgroup's rotations). Returns (points, SL(2,C) `[T, 2, 2]`)."""
    if rapidities is not None:
        ys = [float(y) for y in rapidities]
        if not ys or not all(math.isfinite(y) and y > 0 for y in ys):
            raise ValueError(f"rapidities must be finite and > 0, got {list(rapidities)}")
    elif not (math.isfinite(max_rapidity) and max_rapidity > 0 and n_rapidities >= 1):
        raise ValueError(f"bad grid settings max_rapidity={max_rapidity}, n_rapidities={n_rapidities}")
    else:
        ys = [max_rapidity * (i + 1) / n_rapidities for i in range(n_rapidities)]
    if n_angles < 0:
        raise ValueError(f"n_angles must be ≥ 0, got {n_angles}")
    if not axes or not all(isinstance(a, str) and a in AXES for a in axes):
        raise ValueError(f"axes must be a non-empty list of {', '.join(AXES)}, got {list(axes)}")
    points, mats = [], []
    for a in axes:
        points += [GridPoint("boost", a, y) for y in ys]
        mats.append(boost_sl2c(a, ys))
    if n_angles:
        angles = rotation_angles(n_angles)
        oblique = (1.0, 2.0, 2.0)
        points += [GridPoint("rotation", "(1,2,2)/3", th) for th in angles]
        mats.append(rotation_sl2c(oblique, angles))
        around_z = rotation_angles(max(1, n_angles // 2))
        points += [GridPoint("rotation", "z", th) for th in around_z]
        mats.append(rotation_sl2c("z", around_z))
    m = torch.cat(mats)
    check_lorentz(cc.to_so13(m), "grid element")
    return points, m
