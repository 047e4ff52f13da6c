"""Finite-dimensional irreps (k/2, n/2) of SL(2,C) and multisets of them (conventions: docs/conventions.md).

`Irrep(k, n)` acts on Sym^k(C²) ⊗ Sym^n(C̄²), dimension (k+1)(n+1), with ρ(M) = D^{k/2}(M) ⊗ conj(D^{n/2}(M)),
D^j in the |j, m⟩ basis m = j, …, −j (Condon–Shortley), flattened index a·(n+1) + b.
"""

from __future__ import annotations

import functools
import math
import numbers
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch

from clariant_core.group.lorentz import check_sl2c, pauli
from clariant_core.numerics import complex_of

__all__ = ["SCALAR_IRREP", "VECTOR_IRREP", "Irrep", "Irreps", "spin_matrices", "vector_intertwiner", "wigner_d"]

_IRREP_RE = re.compile(r"^\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)$")


def _check_label(x, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 0:
        raise ValueError(f"irrep label {name} must be a non-negative integer, got {x!r}")
    return int(x)


@dataclass(frozen=True, order=True)
class Irrep:
    """The (k/2, n/2) irrep of SL(2,C), labelled by non-negative integers (k, n).

    `(0,0)` scalars, `(1,1)` four-vectors, `(2,0)⊕(0,2)` antisymmetric tensors, `(2,2)` symmetric traceless.
    """

    k: int
    n: int

    def __post_init__(self):
        object.__setattr__(self, "k", _check_label(self.k, "k"))
        object.__setattr__(self, "n", _check_label(self.n, "n"))

    @classmethod
    def parse(cls, text: str | Irrep | tuple) -> Irrep:
        """`"(k,n)"`, a tuple `(k, n)` or an Irrep → Irrep."""
        if isinstance(text, Irrep):
            return text
        if isinstance(text, tuple):
            if len(text) != 2:
                raise ValueError(f"an irrep is a pair (k, n), got {text!r}")
            return cls(*text)
        if not isinstance(text, str):
            raise ValueError(f"cannot read an irrep from {type(text).__name__} {text!r}")
        m = _IRREP_RE.match(text.strip())
        if not m:
            raise ValueError(f"cannot parse irrep {text!r}: expected '(k,n)' with non-negative integers k, n")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"({self.k},{self.n})"

    def __repr__(self) -> str:
        return f"Irrep{str(self)}"

    @property
    def dim(self) -> int:
        return (self.k + 1) * (self.n + 1)

    @property
    def is_real_type(self) -> bool:
        """True for (k,k): equivalent to its complex conjugate (n,k), so it has a real form of the same dimension.
        For k ≠ n the real representation is (k,n)⊕(n,k), whose commutant is C (identity and a 'Hodge dual')."""
        return self.k == self.n

    @property
    def is_scalar(self) -> bool:
        return self.k == 0 and self.n == 0

    def within(self, max_label: int | None) -> bool:
        """The irrep cut-off of every layer: k, n ≤ max_label (None: no cut-off)."""
        if max_label is None:
            return True
        if isinstance(max_label, bool) or not isinstance(max_label, numbers.Integral) or max_label < 0:
            raise ValueError(f"max_label must be a non-negative integer, got {max_label!r}")
        return self.k <= max_label and self.n <= max_label

    def conjugate(self) -> Irrep:
        """The complex-conjugate irrep: conj ρ_(k,n) ≅ ρ_(n,k)."""
        return Irrep(self.n, self.k)

    def matrix(self, m: torch.Tensor) -> torch.Tensor:
        """ρ_(k,n)(M) for `m: [..., 2, 2]` in SL(2,C) (complex; float input is taken as complex of equal precision).
        Returns complex `[..., d, d]`, d = (k+1)(n+1)."""
        m = check_sl2c(m)
        self._check_resources(m)
        left = wigner_d(self.k, m)
        if self.n == 0:
            return left
        right = wigner_d(self.n, m).conj()
        if self.k == 0:
            return right
        d = self.dim
        return torch.einsum("...ac,...bd->...abcd", left, right).reshape(m.shape[:-2] + (d, d))

    def _check_resources(self, m: torch.Tensor) -> None:
        """Before allocating: the monomial tables (T ≤ (k+1)(k+2)(k+3)/6 terms of (k+1)² float64 each), the monomials
        and the result must fit in memory, and the entries (~‖M‖_F^(k+n)) must not overflow m's dtype."""
        from clariant_core.resources import check_memory

        batch = m[..., 0, 0].numel()
        itemsize = torch.empty((), dtype=m.dtype).element_size()
        nbytes = 0
        for j in {self.k, self.n}:
            terms = (j + 1) * (j + 2) * (j + 3) // 6
            nbytes += terms * (j + 1) ** 2 * 8 + batch * (terms + 4 * (j + 1)) * itemsize
        check_memory(nbytes + 2 * batch * self.dim**2 * itemsize, f"the matrices of irrep {self} for {batch} elements")
        norm2 = float((m.abs() ** 2).sum((-2, -1)).max()) if batch else 1.0
        log_max = (self.k + self.n) / 2 * math.log(max(norm2, 1.0)) + math.log(self.dim)
        if log_max > math.log(torch.finfo(m.real.dtype).max):
            raise ValueError(
                f"ρ_{self}(M) has entries up to ~‖M‖_F^{self.k + self.n} = e^{log_max:.4g}, beyond what {m.dtype} can "
                f"represent; use a smaller rapidity, a smaller irrep or complex128"
            )

    def generators(self, dtype: torch.dtype = torch.complex128, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotation and boost generators `(J, K)`, each complex `[3, d, d]`, with
        ρ(exp(−i θ n̂·σ/2)) = exp(−i θ n̂·J) and ρ(exp(y n̂·σ/2)) = exp(y n̂·K).

        Lorentz algebra: [J_i, J_j] = i ε_ijk J_k, [J_i, K_j] = i ε_ijk K_k, [K_i, K_j] = i ε_ijk J_k
        (K here is the 'real' boost generator; the physicists' K_phys = i K). Casimirs:
        ((J+K)/2)² = (k/2)(k/2+1), ((J−K)/2)² = (n/2)(n/2+1).
        """
        j_left = spin_matrices(self.k)  # spin k/2, holomorphic factor: J = K = J^(k)
        j_right = spin_matrices(self.n)  # antiholomorphic factor: J = −conj J^(n), K = conj J^(n)
        eye_l = torch.eye(self.k + 1, dtype=torch.complex128)
        eye_r = torch.eye(self.n + 1, dtype=torch.complex128)
        jl = _kron3(j_left, eye_r)
        jr = _kron3(eye_l, j_right.conj())
        cdtype = complex_of(dtype)
        return (jl - jr).to(device=device, dtype=cdtype), (jl + jr).to(device=device, dtype=cdtype)


def _kron3(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kronecker product over the last two axes, with a leading axis of 3 on one side."""
    if a.ndim == 2:
        a = a.expand(3, *a.shape)
    if b.ndim == 2:
        b = b.expand(3, *b.shape)
    da, db = a.shape[-1], b.shape[-1]
    return torch.einsum("iac,ibd->iabcd", a, b).reshape(3, da * db, da * db)


@functools.cache
def _spin_matrices(k: int) -> torch.Tensor:
    j = k / 2
    ms = [j - a for a in range(k + 1)]
    jz = torch.diag(torch.tensor(ms, dtype=torch.complex128))
    jp = torch.zeros(k + 1, k + 1, dtype=torch.complex128)
    for a in range(1, k + 1):  # J₊|j,m⟩ = √((j−m)(j+m+1)) |j,m+1⟩; row a−1 has m+1
        m = ms[a]
        jp[a - 1, a] = math.sqrt((j - m) * (j + m + 1))
    jm = jp.T.conj()
    return torch.stack([(jp + jm) / 2, (jp - jm) / 2j, jz])


def spin_matrices(k: int) -> torch.Tensor:
    """Angular-momentum matrices (Jx, Jy, Jz) of spin k/2 in the |j, m⟩ basis m = j…−j, complex128 `[3, k+1, k+1]`."""
    return _spin_matrices(_check_label(k, "k")).clone()


@functools.cache
def _wigner_table(k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Monomial exponents `[T, 4]` of (a, b, c, d) and coefficients `[T, k+1, k+1]` such that
    D^{k/2}(M)_{m'm} = Σ_t coeff[t, m', m] · a^α b^β c^γ d^δ for M = [[a, b], [c, d]].

    From the action on e₁^{j+m} e₂^{j−m} / √((j+m)!(j−m)!), with e₁ → a e₁ + c e₂, e₂ → b e₁ + d e₂.
    """
    j2 = k
    fact = math.factorial
    terms: dict[tuple[int, int, int, int], torch.Tensor] = {}
    for col in range(k + 1):  # column index ↔ m, j+m = k − col
        p_up, p_dn = k - col, col  # powers of e₁, e₂ in |j,m⟩
        for r in range(p_up + 1):  # r factors a e₁ from e₁-powers
            for s in range(p_dn + 1):  # s factors b e₁ from e₂-powers
                up = r + s  # = j + m'
                row = k - up
                coeff = (
                    math.comb(p_up, r)
                    * math.comb(p_dn, s)
                    * math.sqrt(fact(up) * fact(j2 - up) / (fact(p_up) * fact(p_dn)))
                )
                key = (r, s, p_up - r, p_dn - s)  # exponents of a, b, c, d
                if key not in terms:
                    terms[key] = torch.zeros(k + 1, k + 1, dtype=torch.float64)
                terms[key][row, col] += coeff
    keys = sorted(terms)
    return torch.tensor(keys, dtype=torch.long), torch.stack([terms[t] for t in keys])


def wigner_d(k: int, m: torch.Tensor) -> torch.Tensor:
    """D^{k/2}(M), the holomorphic spin-k/2 representation of SL(2,C): complex `[..., 2, 2]` → `[..., k+1, k+1]`.

    Vectorised over the batch: a fixed table of monomials in the entries of M (no loops over the batch).
    `m` is assumed validated (see Irrep.matrix).
    """
    if k == 0:
        return torch.ones(m.shape[:-2] + (1, 1), dtype=m.dtype, device=m.device)
    if k == 1:
        return m
    exps, coeff = _wigner_table(k)
    entries = m.reshape(m.shape[:-2] + (4,))  # a, b, c, d
    # powers x^0 … x^k by repeated multiplication (complex 0**0 would be NaN)
    ones = torch.ones_like(entries)[..., None]
    powers = torch.cat([ones, entries[..., None].expand(entries.shape + (k,))], -1).cumprod(-1)  # [..., 4, k+1]
    exps = exps.to(m.device)
    mono = (
        powers[..., 0, exps[:, 0]]
        * powers[..., 1, exps[:, 1]]
        * powers[..., 2, exps[:, 2]]
        * powers[..., 3, exps[:, 3]]
    )  # [..., T]
    return torch.einsum("...t,tij->...ij", mono, coeff.to(device=m.device, dtype=m.dtype))


#: the trivial irrep (invariants) and the one four-vectors live in (via `vector_intertwiner`); the representations
#: of a model's *output*, with their real forms, are `clariant_core.group.rep.SCALAR` / `VECTOR`
SCALAR_IRREP = Irrep(0, 0)
VECTOR_IRREP = Irrep(1, 1)


def vector_intertwiner(dtype: torch.dtype = torch.complex128, device=None) -> torch.Tensor:
    """The unitary T `[4, 4]` with T Λ(M) = ρ_(1,1)(M) T: (T p)_{a·2+b} = (p^μ σ_μ)_{ab} / √2.

    Since X(Λp) = M X(p) M† and ρ_(1,1)(M) = M ⊗ conj(M) acts on the row-major flattening of X, T maps
    Minkowski four-vectors onto the (1,1) irrep; the tests prove the intertwining relation.
    """
    sig = pauli(torch.complex128)
    t = sig.reshape(4, 4).T / math.sqrt(2)  # column μ = flattened σ_μ
    return t.to(device=device, dtype=complex_of(dtype))


_IRREPS_TERM_RE = re.compile(r"^(?:(\d+)\s*x\s*)?(\(.*\))$")


class Irreps:
    """An ordered multiset of irreps with channel counts, e.g. `Irreps("3x(0,0)+2x(1,1)")`.

    Entries are `(mul, Irrep)` pairs in the given order; repeated irreps are merged by `simplify()`.
    """

    __slots__ = ("_items",)

    def __init__(self, spec: str | Irreps | Iterable = ()):
        if isinstance(spec, Irreps):
            items = spec._items
        elif isinstance(spec, str):
            items = tuple(self._parse(spec))
        elif isinstance(spec, Irrep):
            items = ((1, spec),)
        else:
            items = []
            for entry in spec:
                if isinstance(entry, (Irrep, str)):
                    items.append((1, Irrep.parse(entry)))
                else:
                    try:
                        mul, ir = entry
                    except (TypeError, ValueError):
                        raise ValueError(f"Irreps entries are (mul, irrep) pairs, got {entry!r}") from None
                    if isinstance(mul, tuple) or isinstance(ir, int):
                        raise ValueError(f"Irreps entries are (mul, irrep) pairs, got {entry!r}")
                    items.append((_check_label(mul, "multiplicity"), Irrep.parse(ir)))
            items = tuple(items)
        self._items: tuple[tuple[int, Irrep], ...] = items

    @staticmethod
    def _parse(text: str) -> Iterator[tuple[int, Irrep]]:
        text = text.strip()
        if not text:
            return
        for term in text.split("+"):
            m = _IRREPS_TERM_RE.match(term.strip())
            if not m:
                raise ValueError(f"cannot parse irreps term {term.strip()!r} in {text!r}: expected e.g. '3x(1,1)'")
            mul = int(m.group(1)) if m.group(1) is not None else 1
            yield mul, Irrep.parse(m.group(2))

    @classmethod
    def from_dict(cls, channels: dict) -> Irreps:
        """`{Irrep or "(k,n)": τ}` → Irreps, in sorted irrep order."""
        return cls([(t, ir) for ir, t in sorted((Irrep.parse(i), t) for i, t in channels.items())])

    def __iter__(self) -> Iterator[tuple[int, Irrep]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):
        return self._items[i]

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = Irreps(other)
            except ValueError:
                return False
        return isinstance(other, Irreps) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __str__(self) -> str:
        return "+".join(f"{mul}x{ir}" for mul, ir in self._items)

    def __repr__(self) -> str:
        return f"Irreps('{self}')"

    def __add__(self, other) -> Irreps:
        return Irreps(self._items + Irreps(other)._items)

    @property
    def dim(self) -> int:
        """Total dimension Σ τ · d."""
        return sum(mul * ir.dim for mul, ir in self._items)

    @property
    def num_channels(self) -> int:
        return sum(mul for mul, _ in self._items)

    @property
    def irreps(self) -> tuple[Irrep, ...]:
        """Distinct irreps, in order of first appearance."""
        return tuple(dict.fromkeys(ir for _, ir in self._items))

    def count(self, irrep) -> int:
        """Total channels of `irrep`."""
        ir = Irrep.parse(irrep)
        return sum(mul for mul, i in self._items if i == ir)

    def filter(self, max_label: int | None = None, keep=None) -> Irreps:
        """The entries whose irrep has k, n ≤ max_label (`Irrep.within`) and, if `keep` is given, lies in it."""
        keep = None if keep is None else {Irrep.parse(c) for c in keep}
        return Irreps([(mul, ir) for mul, ir in self._items if ir.within(max_label) and (keep is None or ir in keep)])

    def simplify(self) -> Irreps:
        """Merge equal irreps (summing channels), sorted by (k, n), dropping zero-channel entries."""
        merged: dict[Irrep, int] = {}
        for mul, ir in self._items:
            merged[ir] = merged.get(ir, 0) + mul
        return Irreps([(mul, ir) for ir, mul in sorted(merged.items()) if mul > 0])

    def matrix(self, m: torch.Tensor) -> torch.Tensor:
        """Block-diagonal ρ(M) `[..., dim, dim]` complex on the flat layout (entries in this order, each channel one
        block ρ_(k,n)(M)) for SL(2,C) `m: [..., 2, 2]`."""
        blocks = [ir.matrix(m) for mul, ir in self._items for _ in range(mul)]
        if not blocks:
            raise ValueError("an empty Irreps has no matrix")
        out = torch.zeros(m.shape[:-2] + (self.dim, self.dim), dtype=blocks[0].dtype, device=m.device)
        start = 0
        for b in blocks:
            d = b.shape[-1]
            out[..., start : start + d, start : start + d] = b
            start += d
        return out

    def slices(self) -> list[slice]:
        """Slices of the flat `[..., dim]` layout (channel-major within each entry)."""
        out, start = [], 0
        for mul, ir in self._items:
            out.append(slice(start, start + mul * ir.dim))
            start += mul * ir.dim
        return out
