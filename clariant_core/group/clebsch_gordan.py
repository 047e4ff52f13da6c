"""Clebsch–Gordan decomposition of tensor products of Lorentz irreps (docs/conventions.md).

(k1,n1) ⊗ (k2,n2) = ⊕_{k=|k1−k2|, step 2}^{k1+k2} ⊕_{n=|n1−n2|, step 2}^{n1+n2} (k, n), each once. The map onto (k,n)
is the tensor product of the two SU(2) CG maps (holomorphic and antiholomorphic factor). SU(2) coefficients come from
Racah's formula in exact rational arithmetic (their squares are rational), are rounded once to float64, cached,
and cast to the working dtype once per dtype/device.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import torch

from clariant_core.group.irreps import Irrep, Irreps, _check_label
from clariant_core.numerics import is_transformed

__all__ = ["CGProduct", "clebsch_gordan", "decompose_product", "exchange_sign", "su2_clebsch_gordan"]


def _fact(x2: int) -> int:
    """(x2/2)! for an even doubled argument x2 ≥ 0."""
    if x2 % 2 or x2 < 0:
        raise AssertionError(f"non-integer factorial argument {x2}/2")
    return math.factorial(x2 // 2)


@functools.cache
def _su2_cg_exact(j1: int, m1: int, j2: int, m2: int, j: int, m: int) -> tuple[int, Fraction]:
    """⟨j1/2 m1/2; j2/2 m2/2 | j/2 m/2⟩ (all doubled) as (sign, square), exact. Racah's formula."""
    if m1 + m2 != m or not abs(j1 - j2) <= j <= j1 + j2 or (j1 + j2 + j) % 2:
        return 0, Fraction(0)
    if abs(m1) > j1 or abs(m2) > j2 or abs(m) > j:
        return 0, Fraction(0)
    pre = Fraction(
        (j + 1) * _fact(j + j1 - j2) * _fact(j - j1 + j2) * _fact(j1 + j2 - j),
        _fact(j1 + j2 + j + 2),
    ) * (_fact(j + m) * _fact(j - m) * _fact(j1 - m1) * _fact(j1 + m1) * _fact(j2 - m2) * _fact(j2 + m2))
    total = Fraction(0)
    for t in range(0, j1 + j2 + 1):  # t doubled-free integer summation index
        args = (
            2 * t,
            j1 + j2 - j - 2 * t,
            j1 - m1 - 2 * t,
            j2 + m2 - 2 * t,
            j - j2 + m1 + 2 * t,
            j - j1 - m2 + 2 * t,
        )
        if min(args) < 0:
            continue
        den = 1
        for a in args:
            den *= _fact(a)
        total += Fraction((-1) ** t, den)
    if total == 0:
        return 0, Fraction(0)
    return (1 if total > 0 else -1), pre * total * total


@functools.cache
def _su2_cg_table(k1: int, k2: int, k: int) -> torch.Tensor:
    out = torch.zeros(k1 + 1, k2 + 1, k + 1, dtype=torch.float64)
    for a1 in range(k1 + 1):
        for a2 in range(k2 + 1):
            for a in range(k + 1):
                sign, sq = _su2_cg_exact(k1, k1 - 2 * a1, k2, k2 - 2 * a2, k, k - 2 * a)
                if sign:
                    out[a1, a2, a] = sign * math.sqrt(sq)  # sqrt of the correctly rounded rational: ≤ 1 ulp
    return out


def su2_clebsch_gordan(k1: int, k2: int, k: int) -> torch.Tensor:
    """SU(2) CG coefficients ⟨k1/2 m1; k2/2 m2 | k/2 m⟩ as float64 `[k1+1, k2+1, k+1]` (m = j…−j order)."""
    k1, k2, k = _check_label(k1, "k1"), _check_label(k2, "k2"), _check_label(k, "k")
    if not (abs(k1 - k2) <= k <= k1 + k2 and (k1 + k2 + k) % 2 == 0):
        raise ValueError(f"spin {k}/2 does not occur in {k1}/2 ⊗ {k2}/2")
    return _su2_cg_table(k1, k2, k).clone()


def decompose_product(irrep1, irrep2, max_label: int | None = None) -> list[Irrep]:
    """The irreps of `irrep1 ⊗ irrep2`, each once, sorted; optionally only those with k, n ≤ max_label."""
    a, b = Irrep.parse(irrep1), Irrep.parse(irrep2)
    out = [
        Irrep(k, n) for k in range(abs(a.k - b.k), a.k + b.k + 1, 2) for n in range(abs(a.n - b.n), a.n + b.n + 1, 2)
    ]
    return [ir for ir in out if ir.within(max_label)]


@functools.cache
def _lorentz_cg(a: Irrep, b: Irrep, c: Irrep) -> torch.Tensor:
    ck = _su2_cg_table(a.k, b.k, c.k)
    cn = _su2_cg_table(a.n, b.n, c.n)
    # flattened index a·(n+1) + b on each side
    t = torch.einsum("ACX,BDY->ABCDXY", ck, cn)
    return t.reshape(a.dim, b.dim, c.dim)


def clebsch_gordan(irrep1, irrep2, irrep) -> torch.Tensor:
    """CG coefficients C `[d1, d2, d]` (float64, real) of `irrep1 ⊗ irrep2 → irrep`:
    out_c = Σ_ab C[a, b, c] x_a y_b, and C (ρ₁(M) ⊗ ρ₂(M)) = ρ(M) C.
    Stacked over `decompose_product(irrep1, irrep2)` these form a real orthogonal `[d1·d2, d1·d2]` matrix."""
    a, b, c = Irrep.parse(irrep1), Irrep.parse(irrep2), Irrep.parse(irrep)
    if c not in decompose_product(a, b):
        raise ValueError(f"{c} does not occur in {a} ⊗ {b} = {' ⊕ '.join(str(i) for i in decompose_product(a, b))}")
    return _lorentz_cg(a, b, c).clone()


def exchange_sign(a: Irrep, b: Irrep, c: Irrep) -> int:
    """±1 with C_{b,a→c}[j, i, :] = sign · C_{a,b→c}[i, j, :] (product of the SU(2) signs (−1)^{j1+j2−J})."""
    return (-1) ** ((a.k + b.k - c.k) // 2 + (a.n + b.n - c.n) // 2)


class CGProduct:
    """Batched CG product of two feature sets, precomputed for fixed irreps.

    Inputs are dicts `{Irrep: [..., τ, d]}` (or single tensors with a given irrep); the product of every pair of
    input irreps is decomposed and truncated to k, n ≤ max_label. Channels: `"full"` takes every channel pair
    (τ_out = τ₁·τ₂ per irrep pair, channel index i·τ₂ + j), `"elementwise"` pairs channel i with channel i
    (τ₁ = τ₂). `symmetric=True` (elementwise only) is for the square x ⊗ x: it drops the pairs (b, a) that repeat
    (a, b) up to sign and, for a = b, the outputs that are antisymmetric under exchange (identically zero).
    `outputs` (optional): compute only these output irreps.
    Output: `{Irrep: [..., τ, d]}` with all contributions concatenated along τ in the order of `self.paths`.
    Complex or real inputs (both of one dtype); coefficients are cast once per dtype and device.

    Per input pair the work is one outer product and one GEMM over the flattened batch and channels
    ([B·N·τ, d1·d2] @ [d1·d2, Σd_out]): no Python loops over batch, particles or components.

    Public pieces for layers that run the products themselves (e.g. on real planes, network/planes.py):
    `paths`, `coefficients(dtype, device)` (one dense `[d1·d2, Σd_out]` matrix per path), `terms(dtype, device)`
    (the same bilinear forms as their nonzero terms only) and `split(path, z)` (a path's stacked output into its
    irreps).
    """

    def __init__(
        self,
        irreps1,
        irreps2,
        max_label: int | None = None,
        channels: str = "full",
        symmetric: bool = False,
        outputs=None,
    ):
        if channels not in ("full", "elementwise"):
            raise ValueError(f"channels must be 'full' or 'elementwise', got {channels!r}")
        self.irreps1 = Irreps(irreps1).simplify()
        self.irreps2 = Irreps(irreps2).simplify()
        if symmetric and (channels != "elementwise" or self.irreps1 != self.irreps2):
            raise ValueError("symmetric=True needs channels='elementwise' and equal irreps on both sides")
        self.channels = channels
        self.symmetric = symmetric
        self.max_label = max_label
        keep = None if outputs is None else {Irrep.parse(c) for c in outputs}
        # one path per input pair: (ir1, ir2, [out irreps]); stacked coefficients [d1·d2, Σ d_out]
        self.paths: list[tuple[Irrep, Irrep, list[Irrep]]] = []
        self._coeff64: list[torch.Tensor] = []
        self._terms64: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        out_channels: dict[Irrep, int] = {}
        for t1, a in self.irreps1:
            for t2, b in self.irreps2:
                if symmetric and b < a:
                    continue
                outs = decompose_product(a, b, max_label)
                if symmetric and a == b:
                    outs = [c for c in outs if exchange_sign(a, b, c) == 1]
                if keep is not None:
                    outs = [c for c in outs if c in keep]
                if not outs:
                    continue
                if channels == "elementwise" and t1 != t2:
                    raise ValueError(f"elementwise CG product needs equal channel counts, got {t1}x{a} and {t2}x{b}")
                self.paths.append((a, b, outs))
                coeff = torch.cat([_lorentz_cg(a, b, c) for c in outs], dim=-1)
                self._coeff64.append(coeff.reshape(a.dim * b.dim, -1))
                self._terms64.append(_nonzero_terms(coeff, symmetric and a == b))
                tau = t1 * t2 if channels == "full" else t1
                for c in outs:
                    out_channels[c] = out_channels.get(c, 0) + tau
        self.irreps_out = Irreps.from_dict(out_channels)
        self._cache: dict[tuple[str, torch.dtype, torch.device], list] = {}
        self._constant_terms: list | None = None
        for dt in (torch.float32, torch.float64, torch.complex64, torch.complex128):  # plain constants, made up front
            self.coefficients(dt, torch.device("cpu"))

    def coefficients(self, dtype: torch.dtype, device=None) -> list[torch.Tensor]:
        """The CG coefficients of each path (order of `paths`), `[d1·d2, Σd_out]` of `dtype` on `device`: column
        block j is `clebsch_gordan(ir1, ir2, outs[j])` flattened. Cast once per dtype and device."""
        return self._cast("dense", dtype, device, lambda: self._coeff64)

    def terms(self, dtype: torch.dtype, device=None) -> list[tuple]:
        """Each path's bilinear form by its nonzero terms: `(i1 [P], i2 [P], coeff [P, Σd_out])` with
        z = Σ_p coeff[p] · x[..., i1[p]] · y[..., i2[p]] — the dense form restricted to the index pairs (i, j) it does
        not zero, and for the symmetric square's a ⊗ a to i ≤ j (x_i x_j = x_j x_i: the rows (i, j) and (j, i) are
        added). Cast once per dtype and device."""
        return self._cast("terms", dtype, device, lambda: self._terms64)

    def constant_terms(self) -> list[tuple[tuple[tuple[int, int, float], ...], ...]]:
        """The same terms as Python constants, per path and output row: `((i1, i2, c), …)` for each of the Σd_out
        rows, c ≠ 0 (float64, exact as stored). A function built from them has the coefficients in its code, which
        `torch.compile` fuses into one kernel per product (network/planes.py)."""
        if self._constant_terms is None:
            self._constant_terms = [
                tuple(
                    tuple((int(i), int(j), float(k)) for i, j, k in zip(i1.tolist(), i2.tolist(), col.tolist()) if k)
                    for col in coeff.T
                )
                for i1, i2, coeff in self._terms64
            ]
        return self._constant_terms

    def _cast(self, kind, dtype: torch.dtype, device, make) -> list:
        key = (kind, dtype, torch.device(device or "cpu"))
        if key not in self._cache:
            cast = [
                tuple(t.to(key[2]) if t.dtype == torch.long else t.to(device=key[2], dtype=dtype) for t in item)
                if isinstance(item, tuple)
                else item.to(device=key[2], dtype=dtype)
                for item in make()
            ]
            flat = [t for item in cast for t in (item if isinstance(item, tuple) else (item,))]
            if any(is_transformed(t) for t in flat):  # inside torch.func (jvp, vmap…): use, never cache
                return cast
            self._cache[key] = cast
        return self._cache[key]

    def split(self, path: int, z: torch.Tensor, dim: int = -1) -> list[tuple[Irrep, torch.Tensor]]:
        """Path `path`'s stacked output (`Σd_out` along `dim`) → `[(irrep, view with d along dim), …]` in the order
        of its outputs."""
        outs = self.paths[path][2]
        # one split (its backward is one concatenation), not a narrow per irrep (each narrow's backward writes a
        # zero tensor of z's full size)
        return list(zip(outs, torch.split(z, [c.dim for c in outs], dim)))

    def __call__(self, x: dict, y: dict) -> dict[Irrep, torch.Tensor]:
        x = _as_feature_dict(x, self.irreps1, "x")
        y = _as_feature_dict(y, self.irreps2, "y")
        ref = next(iter(x.values()))
        dtypes = {t.dtype for t in (*x.values(), *y.values())}
        if len(dtypes) != 1:
            raise ValueError(f"CG product inputs must share one dtype, got {sorted(map(str, dtypes))}")
        coeffs = self.coefficients(ref.dtype, ref.device)
        pieces: dict[Irrep, list[torch.Tensor]] = {}
        for i, ((a, b, _), coeff) in enumerate(zip(self.paths, coeffs)):
            xa, yb = x[a], y[b]
            tau1, tau2 = xa.shape[-2], yb.shape[-2]
            if self.channels == "full" and tau1 > 1 and tau2 > 1:
                # two contractions (cheaper backward than the outer product here):
                # t[..., j, a, c] = Σ_b y[..., j, b] C[a, b, c];  z[..., i, j, c] = Σ_a x[..., i, a] t[..., j, a, c]
                batch = torch.broadcast_shapes(xa.shape[:-2], yb.shape[:-2])
                dout = coeff.shape[-1]
                cperm = coeff.reshape(a.dim, b.dim, dout).transpose(0, 1).reshape(b.dim, a.dim * dout)
                t = (yb @ cperm).reshape(yb.shape[:-2] + (tau2, a.dim, dout)).transpose(-3, -2)
                z = xa.expand(batch + xa.shape[-2:]) @ t.expand(batch + t.shape[-3:]).reshape(
                    batch + (a.dim, tau2 * dout)
                )
                z = z.reshape(batch + (tau1 * tau2, dout))
            else:
                if self.channels == "full":
                    # u[..., i, j, a, b] = x[..., i, a] y[..., j, b], channels flattened i·τ₂ + j
                    u = xa[..., :, None, :, None] * yb[..., None, :, None, :]
                    u = u.reshape(u.shape[:-4] + (tau1 * tau2, a.dim * b.dim))
                else:
                    u = (xa[..., :, :, None] * yb[..., :, None, :]).flatten(-2)
                z = u @ coeff  # [..., τ, Σ d_out]
            for c, piece in self.split(i, z):
                pieces.setdefault(c, []).append(piece)
        return {c: torch.cat(pieces[c], dim=-2) if len(pieces[c]) > 1 else pieces[c][0] for _, c in self.irreps_out}


def _nonzero_terms(coeff: torch.Tensor, symmetric: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """float64 `[d1, d2, d_out]` → (i1, i2, rows): the index pairs with a nonzero row; `symmetric` (a ⊗ a of one
    feature with itself): rows (i, j) and (j, i) merged into i ≤ j."""
    if symmetric:
        i, j = torch.meshgrid(torch.arange(coeff.shape[0]), torch.arange(coeff.shape[1]), indexing="ij")
        merged = torch.where((i == j)[..., None], coeff, coeff + coeff.transpose(0, 1))
        coeff = merged * (i <= j)[..., None]
    i1, i2 = torch.nonzero(coeff.abs().sum(-1) > 0, as_tuple=True)
    return i1, i2, coeff[i1, i2]


def _as_feature_dict(x, irreps: Irreps, name: str) -> dict[Irrep, torch.Tensor]:
    if isinstance(x, torch.Tensor):
        if len(irreps) != 1:
            raise ValueError(f"{name}: a single tensor needs a single irrep, the product was built for {irreps}")
        x = {irreps[0][1]: x}
    if not isinstance(x, dict):
        raise ValueError(f"{name} must be a dict {{Irrep: [..., τ, d] tensor}} or a tensor, got {type(x).__name__}")
    x = {Irrep.parse(k): v for k, v in x.items()}
    for tau, ir in irreps:
        if ir not in x:
            raise ValueError(f"{name} has no features for irrep {ir} (expected irreps {irreps})")
        v = x[ir]
        if not isinstance(v, torch.Tensor) or v.ndim < 2 or v.shape[-2:] != (tau, ir.dim):
            shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise ValueError(f"{name}[{ir}] must have shape [..., {tau}, {ir.dim}], got {shape}")
    return x
