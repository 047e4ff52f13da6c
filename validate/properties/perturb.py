"""The perturbations, as pure functions of float64 jets `(p [B, N, 4], mask [B, N])` → perturbed jets.

One home for each: the checks, the hypothesis strategies and the fixtures all call these. Randomness is seeded
(`torch.Generator`), so a perturbation is reproducible from its arguments.
"""

from __future__ import annotations

import math

import torch

from .evaluate import left_aligned

F64 = torch.float64
PARITY = torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=F64)

#: permutation kinds: random, and adversarial orders that differ from the usual pT ordering
PERMUTATIONS = ("random", "reversed", "ascending energy", "by rapidity", "by azimuth")


def _gather(p, mask, idx):
    return p.gather(1, idx[..., None].expand(-1, -1, 4)), mask.gather(1, idx)


def permutation_index(p: torch.Tensor, mask: torch.Tensor, kind: str = "random", seed: int = 0) -> torch.Tensor:
    """Row index `[B, N]` long: the permuted jet is `p[b, idx[b, i]]`. Real rows are reordered by `kind` (one of
    PERMUTATIONS) and come first; padding rows follow in their order. "by rapidity" sorts by p_z/E (monotone in
    rapidity, finite for massless particles along z); "by azimuth" by atan2(p_y, p_x)."""
    b, n = mask.shape
    pos = torch.arange(n, dtype=F64).expand(b, n)
    if kind == "random":
        key = torch.rand((b, n), generator=torch.Generator().manual_seed(seed), dtype=F64)
    elif kind == "reversed":
        key = -pos
    elif kind == "ascending energy":
        key = p[..., 0]
    elif kind == "by rapidity":
        key = p[..., 3] / p[..., 0].clamp_min(torch.finfo(F64).tiny)
    elif kind == "by azimuth":
        key = torch.atan2(p[..., 2], p[..., 1])
    else:
        raise ValueError(f"permutation kind must be one of {PERMUTATIONS}, got {kind!r}")
    # padding after every real row, in its own order (stable sort: ties keep their order)
    key = torch.where(mask, key, torch.full_like(key, math.inf))
    return torch.argsort(key, dim=1, stable=True)


def permute(p, mask, kind: str = "random", seed: int = 0):
    """(p', mask', idx): the jets with real rows reordered (see permutation_index)."""
    idx = permutation_index(p, mask, kind, seed)
    return (*_gather(p, mask, idx), idx)


def pad(p, mask, extra: int):
    """Append `extra` all-zero rows with mask False."""
    if extra < 0:
        raise ValueError(f"extra padding must be ≥ 0, got {extra}")
    zeros = p.new_zeros(p.shape[0], extra, 4)
    return torch.cat([p, zeros], 1), torch.cat([mask, mask.new_zeros(mask.shape[0], extra)], 1)


def pad_to(p, mask, width: int):
    """Zero-pad to `width` rows (at least the current width)."""
    if width < p.shape[1]:
        raise ValueError(f"cannot pad {p.shape[1]} rows to a smaller width {width}")
    return pad(p, mask, width - p.shape[1])


def padding_first(p, mask, extra: int):
    """`extra` all-zero rows (mask False) put *before* every jet's rows: the mask is no longer left-aligned."""
    if extra < 0:
        raise ValueError(f"extra padding must be ≥ 0, got {extra}")
    zeros = p.new_zeros(p.shape[0], extra, 4)
    return torch.cat([zeros, p], 1), torch.cat([mask.new_zeros(mask.shape[0], extra), mask], 1)


def fill_masked(p, mask, seed: int = 0, extra: int = 0):
    """Masked rows (plus `extra` new ones) filled with finite garbage of the jet's scale: E uniform in [0, E_J],
    each p component uniform in [−E_J, E_J] (off shell, as left-over memory would be); mask unchanged."""
    p, mask = pad(p, mask, extra)
    g = torch.Generator().manual_seed(seed)
    ej = (p[..., 0] * mask).sum(1)[:, None, None]
    junk = torch.rand(p.shape, generator=g, dtype=F64) * torch.tensor([1.0, 2, 2, 2], dtype=F64) - torch.tensor(
        [0.0, 1, 1, 1], dtype=F64
    )
    return torch.where(mask[..., None], p, junk * ej), mask


def parity(p):
    """(E, p⃗) → (E, −p⃗)."""
    return p * PARITY.to(p.dtype)


def _hardest(p, mask):
    """Index `[B]` of the most energetic real particle."""
    return torch.where(mask, p[..., 0], -math.inf).argmax(1)


def _unit(v):
    return v / torch.linalg.vector_norm(v, dim=-1, keepdim=True).clamp_min(torch.finfo(F64).tiny)


def _insert(p, mask, new):
    """Left-align, widen by one row and put `new [B, 4]` in each jet's first free row → (p', mask')."""
    p, mask = pad(*left_aligned(p, mask), 1)
    at = mask.sum(1)
    rows = torch.arange(p.shape[0])
    p, mask = p.clone(), mask.clone()
    p[rows, at] = new
    mask[rows, at] = True
    return p, mask


def random_directions(batch: int, seed: int = 0) -> torch.Tensor:
    """Seeded unit 3-vectors `[B, 3]`, uniform on the sphere."""
    return _unit(torch.randn((batch, 3), generator=torch.Generator().manual_seed(seed), dtype=F64))


def soft_emission(p, mask, fraction: float, *, collinear: bool = False, seed: int = 0):
    """Add one massless particle of energy `fraction`·E_jet: in a seeded random direction (uniform on the sphere;
    the same for every fraction at one seed), or exactly along the most energetic particle (collinear=True).
    The jets are left-aligned and widened by one row, the new particle in the first free row."""
    if not (0 <= fraction and math.isfinite(fraction)):
        raise ValueError(f"soft fraction must be finite and ≥ 0, got {fraction}")
    ej = (p[..., 0] * mask).sum(1, keepdim=True)
    if collinear:
        k = _hardest(p, mask)
        n = _unit(p[torch.arange(p.shape[0]), k, 1:])
    else:
        n = random_directions(p.shape[0], seed)
    new = torch.cat([ej, ej * n], -1) * fraction
    return _insert(p, mask, new)


def collinear_split(p, mask, z: float, theta: float = 0.0, *, seed: int = 0):
    """Split the most energetic particle k into two with energy fractions z and 1 − z.

    θ = 0: exactly collinear, `z p_k` (in its row) and `(1 − z) p_k` (new row): the total momentum is kept.
    θ > 0: both daughters keep |p⃗|/E of p_k (so massless stays massless) and are rotated in a seeded random plane
    containing p⃗_k by θ₁ = (1 − z)θ and θ₂ = −asin(z sin θ₁ / (1 − z)): their momentum transverse to p⃗_k cancels
    exactly, energy is kept, the opening angle is θ₁ − θ₂ ≈ θ."""
    if not (0 < z < 1):
        raise ValueError(f"split fraction z must be in (0, 1), got {z}")
    if not (0 <= theta <= math.pi / 2 and math.isfinite(theta)):
        raise ValueError(f"opening angle θ must be in [0, π/2], got {theta}")
    b = p.shape[0]
    rows = torch.arange(b)
    k = _hardest(p, mask)
    pk = p[rows, k]
    if theta == 0:
        d1, d2 = z * pk, (1 - z) * pk
    else:
        size = torch.linalg.vector_norm(pk[:, 1:], dim=-1, keepdim=True)
        n = _unit(pk[:, 1:])
        r = random_directions(b, seed)
        m = _unit(r - (r * n).sum(-1, keepdim=True) * n)  # ⟂ n (a random r is parallel to n with probability 0)
        t1 = (1 - z) * theta
        t2 = -math.asin(z * math.sin(t1) / (1 - z))

        def daughter(frac, t):
            return frac * torch.cat([pk[:, :1], size * (math.cos(t) * n + math.sin(t) * m)], -1)

        d1, d2 = daughter(z, t1), daughter(1 - z, t2)
    p = p.clone()
    p[rows, k] = d1
    return _insert(p, mask, d2)


def decades(low: float, high: float = 0.1, per_decade: int = 2) -> list[float]:
    """Log-spaced values from `high` down to ≥ `low`: 10^(−j/per_decade) for integer j, descending."""
    if not (0 < low <= high):
        raise ValueError(f"need 0 < low ≤ high, got {low}, {high}")
    top = round(-math.log10(high) * per_decade)
    bottom = math.floor(-math.log10(low) * per_decade + 1e-9)
    return [10.0 ** (-j / per_decade) for j in range(top, bottom + 1)]
