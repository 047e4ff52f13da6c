"""A representation of SL(2,C) as one value: a sum of irreps, optionally in another basis (docs/group-library.md,
"Representations").

`Rep(irreps, basis=B)` acts by ρ(M) = B⁻¹ ρ_irreps(M) B: its components x are those of B x in the irreps' own basis.
The real four-vector representation is (1,1) in the basis of the intertwiner T (T Λ(M) = ρ_(1,1)(M) T), so that
ρ(M) = T⁻¹ ρ_(1,1)(M) T = Λ(M), real. `Rep.parse` reads the names the validation suite accepts — "scalar", "vector"
or an irreps string such as "2x(0,0)+1x(1,1)" — once, at the public boundary.
"""

from __future__ import annotations

import torch

from clariant_core.group.irreps import Irrep, Irreps, vector_intertwiner
from clariant_core.group.lorentz import check_sl2c
from clariant_core.numerics import complex_of, real_of, unit_roundoff

__all__ = ["SCALAR", "VECTOR", "Rep"]

_NAMES_HINT = "use 'scalar', 'vector', an irreps string such as '2x(0,0)+1x(1,1)', an Irreps or a Rep"


class Rep:
    """An immutable representation of SL(2,C) on the last axis of a tensor.

    irreps: the irreps it decomposes into (in order; the flat layout of `Irreps.matrix`).
    basis: B complex128 `[dim, dim]`, invertible, or None for the irreps' own basis; ρ(M) = B⁻¹ ρ_irreps(M) B.
    real: the matrices are real in this basis (checked on the Lie-algebra generators); `matrix` then returns float.
    any_width: invariant components however many there are on the last axis ("scalar": the identity acts on each);
      `dim` is then None.
    name: what `str` prints ("vector", "scalar"); not part of equality.

    Equal Reps have equal irreps, reality, width rule and basis; printing gives what `parse` reads back for the
    named and the plain ones.
    """

    __slots__ = ("_any_width", "_basis", "_inverse", "_irreps", "_name", "_real")

    def __init__(
        self,
        irreps,
        basis: torch.Tensor | None = None,
        *,
        real: bool = False,
        any_width: bool = False,
        name: str | None = None,
    ):
        irreps = Irreps(irreps)
        if irreps.dim == 0:
            raise ValueError(f"a representation needs at least one irrep, got {str(irreps)!r}")
        if any_width and set(irreps.irreps) != {Irrep(0, 0)}:
            raise ValueError(f"any_width is for invariant components only, not {irreps}")
        b = inverse = None
        if basis is not None:
            b = torch.as_tensor(basis).detach().to(device="cpu", dtype=torch.complex128).clone()  # ours alone
            if b.shape != (irreps.dim, irreps.dim):
                raise ValueError(
                    f"the change of basis of {irreps} must be [{irreps.dim}, {irreps.dim}], got {tuple(b.shape)}"
                )
            s = torch.linalg.svdvals(b)
            if not bool(torch.isfinite(s).all()) or float(s[-1]) <= irreps.dim * unit_roundoff(torch.float64) * s[0]:
                raise ValueError(f"the change of basis of {irreps} is singular (or not finite)")
            inverse = torch.linalg.inv(b)
        for key, value in dict(
            _irreps=irreps, _basis=b, _inverse=inverse, _real=bool(real), _any_width=bool(any_width), _name=name
        ).items():
            object.__setattr__(self, key, value)
        if self._real:
            self._check_real()

    # --- reading and printing --------------------------------------------------------------------------------

    @classmethod
    def parse(cls, spec) -> Rep:
        """A Rep from "scalar" (real invariants, any number), "vector" (real four-vectors (E, px, py, pz)), an
        irreps string ("2x(0,0)+1x(1,1)", complex components), an Irreps, an Irrep or a Rep (returned as is).
        Raises ValueError naming the spec and what is accepted."""
        if isinstance(spec, Rep):
            return spec
        if isinstance(spec, str) and spec.strip() in _NAMED:
            return _NAMED[spec.strip()]
        if isinstance(spec, (str, Irreps, Irrep)):
            try:
                return cls(Irreps([spec]) if isinstance(spec, Irrep) else spec)
            except ValueError as e:
                raise ValueError(f"unknown representation {spec!r} ({e}): {_NAMES_HINT}") from None
        raise ValueError(f"unknown representation {spec!r} of type {type(spec).__name__}: {_NAMES_HINT}")

    def __str__(self) -> str:
        if self._name is not None:
            return self._name
        return str(self._irreps) + ("" if self._basis is None else " (changed basis)") + (" real" if self._real else "")

    def __repr__(self) -> str:
        return f"Rep('{self}')"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = Rep.parse(other)
            except ValueError:
                return False
        if not isinstance(other, Rep):
            return NotImplemented
        if (self._irreps, self._real, self._any_width) != (other._irreps, other._real, other._any_width):
            return False
        if self._basis is None or other._basis is None:
            return self._basis is None and other._basis is None
        return torch.equal(self._basis, other._basis)

    def __hash__(self) -> int:
        return hash((self._irreps, self._real, self._any_width))

    def __setattr__(self, name, value):
        raise AttributeError(f"Rep is immutable: cannot set {name}")

    def __reduce__(self):  # copy and pickle through the constructor (its checks included), not attribute by attribute
        kw = dict(real=self._real, any_width=self._any_width, name=self._name)
        return _rebuild, (str(self._irreps), self._basis, kw)

    # --- facts ------------------------------------------------------------------------------------------------

    @property
    def irreps(self) -> Irreps:
        return self._irreps

    @property
    def basis(self) -> torch.Tensor | None:
        """B complex128 `[dim, dim]` (a copy), None in the irreps' own basis."""
        return None if self._basis is None else self._basis.clone()

    @property
    def dim(self) -> int | None:
        """Components on the last axis; None for any number of invariants ("scalar")."""
        return None if self._any_width else self._irreps.dim

    @property
    def is_real(self) -> bool:
        return self._real

    @property
    def is_invariant(self) -> bool:
        """Every component is a scalar: ρ(M) is the identity."""
        return set(self._irreps.irreps) == {Irrep(0, 0)}

    def fits(self, width: int) -> bool:
        """Whether a last axis of `width` components carries this representation."""
        return self._any_width or width == self._irreps.dim

    # --- the action ------------------------------------------------------------------------------------------

    def matrix(self, m: torch.Tensor) -> torch.Tensor:
        """ρ(M) `[..., d, d]` for SL(2,C) `m: [..., 2, 2]` (float input is taken as complex of equal precision):
        complex of m's precision, or real of it for a real Rep (d = 1 for "scalar"). The change of basis is computed
        in complex128 and cast to the working dtype once."""
        m = check_sl2c(m)
        r = self._irreps.matrix(m)
        r = self._in_basis(r)
        return r.real.contiguous() if self._real else r

    def lorentz_matrix(self, lam: torch.Tensor) -> torch.Tensor:
        """ρ as a function of a real Lorentz matrix Λ `[..., 4, 4]`, for the representations that are one: Λ itself
        for "vector", the identity for invariants. Others need the SL(2,C) element (Λ fixes M only up to sign, and
        recovering M would add rounding the model would be charged with)."""
        if self.needs_sl2c:
            raise ValueError(f"a '{self}' representation needs SL(2,C) transformations [T, 2, 2], not Λ")
        if self.is_invariant:
            d = 1 if self._any_width else self._irreps.dim
            return torch.eye(d, dtype=lam.dtype, device=lam.device).expand(*lam.shape[:-2], d, d)
        return lam

    @property
    def needs_sl2c(self) -> bool:
        """Whether ρ needs the SL(2,C) element: all but invariants and "vector" (see `lorentz_matrix`)."""
        return not (self.is_invariant or self == VECTOR)

    def generators(self, dtype: torch.dtype = torch.complex128, device=None) -> torch.Tensor:
        """dρ of the six generators of sl(2,C) — rotations −iσ_a/2, then boosts σ_a/2 (a = x, y, z) — `[6, d, d]`:
        ρ(exp(t ξ_a)) = exp(t X_a). Complex of `dtype`'s precision, real for a real Rep. In the irreps' basis they
        are (−iJ, K) of `Irrep.generators`, block-diagonal; then B⁻¹ X B."""
        gens = self._complex_generators()
        if self._real:
            return gens.real.to(device=device, dtype=real_of(complex_of(dtype)))
        return gens.to(device=device, dtype=complex_of(dtype))

    def _complex_generators(self) -> torch.Tensor:
        """The six generators in this basis, complex128 `[6, d, d]`."""
        blocks: list[list[torch.Tensor]] = [[] for _ in range(6)]
        for mul, ir in self._irreps:
            jg, kg = ir.generators()
            for i, g in enumerate([*(-1j * jg), *kg]):
                blocks[i] += [g] * mul
        return self._in_basis(torch.stack([torch.block_diag(*b) for b in blocks]))

    def _in_basis(self, x: torch.Tensor) -> torch.Tensor:
        """B⁻¹ x B for x `[..., d, d]` in the irreps' basis (B cast to x's dtype and device)."""
        if self._basis is None:
            return x
        b, inv = (t.to(device=x.device, dtype=x.dtype).expand_as(x) for t in (self._basis, self._inverse))
        return inv @ x @ b  # expanded: the broadcast [d, d] @ [..., d, d] measured ~10³× slower (torch 2.13, CPU)

    def _check_real(self) -> None:
        """ρ(M) is real for every M iff the six generators are real in this basis (SL(2,C) is generated by their
        exponentials). Bound: B⁻¹ X B rounds to u·cond(B)·‖X‖ per entry, times the d terms of each product."""
        gens = self._complex_generators()
        scale = max(float(gens.abs().max()), 1.0)
        cond = 1.0 if self._basis is None else float(torch.linalg.cond(self._basis))
        bound = 2 * self._irreps.dim * cond * unit_roundoff(torch.float64) * scale
        worst = float(gens.imag.abs().max())
        if not worst <= bound:
            raise ValueError(
                f"{self._irreps} is not real in this basis: its generators have imaginary parts up to {worst:.3g}"
            )


def _rebuild(irreps: str, basis, kw: dict) -> Rep:
    return Rep(irreps, basis, **kw)


SCALAR = Rep("1x(0,0)", real=True, any_width=True, name="scalar")
VECTOR = Rep("1x(1,1)", vector_intertwiner(), real=True, name="vector")
_NAMED = {"scalar": SCALAR, "vector": VECTOR}
