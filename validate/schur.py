"""Schur checks on linear maps declared equivariant (docs/validation.md).

(a) structure: zero blocks between different irreps, c ⊗ 1_d (c a complex τ_out×τ_in matrix) within an irrep;
(b) numerical: ‖W ρ_in(M) − ρ_out(M) W‖ / (‖W‖ ‖ρ_in(M)‖) over random M;
(c) independent: the dimension of the intertwiner space {X : X A_in = A_out X for the six Lie-algebra generators},
    from the null space of that linear system (SVD), compared with the layer's free parameter count.
The generators come from the representation's own `Rep.generators()`; for real representations (`field="real"`, e.g.
four-vectors or antisymmetric tensors F_μν acted on by Λ) the space is solved over R: there complex-type pairs show
up, e.g. the real 6-dim F_μν has a 2-dim commutant (identity and Hodge dual), the complex (2,0)⊕(0,2) also 2
(complex) — one scalar per inequivalent irrep.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

import clariant_core as cc


@dataclass(frozen=True)
class SchurResult:
    name: str
    irreps_in: str
    irreps_out: str
    structure_residual: float  # relative norm of W outside the Schur-allowed pattern
    commutation_residual: float  # max over random M
    intertwiner_dim: int  # real dimension of the solved intertwiner space
    free_parameters: int | None  # real parameters of the layer (None if not given)
    tolerance: float

    @property
    def ok(self) -> bool:
        dims = self.free_parameters is None or self.intertwiner_dim == self.free_parameters
        return self.structure_residual <= self.tolerance and self.commutation_residual <= self.tolerance and dims


def algebra_generators(rep) -> list[torch.Tensor]:
    """The six generators (−iJ₁..₃ for rotations, K₁..₃ for boosts) of a representation (a `cc.Rep` or what
    `Rep.parse` reads), `[dim, dim]` each: complex128, float64 for a real one (`Rep.generators`)."""
    return list(cc.Rep.parse(rep).generators())


def intertwiner_basis(gens_in, gens_out, field: str = "complex", tol: float | None = None) -> torch.Tensor:
    """Basis `[k, d_out, d_in]` of {X : X A_i = B_i X ∀i}; field "complex" gives a complex basis (real dimension
    2k), "real" a real one (real dimension k; generators must be real)."""
    if field not in ("complex", "real"):
        raise ValueError(f"field must be 'complex' or 'real', got {field!r}")
    d_in, d_out = gens_in[0].shape[0], gens_out[0].shape[0]
    dt = torch.complex128 if field == "complex" else torch.float64
    eye_in, eye_out = torch.eye(d_in, dtype=dt), torch.eye(d_out, dtype=dt)
    rows = []
    for a, b in zip(gens_in, gens_out):
        a, b = a.to(dt) if field == "complex" else _real(a), b.to(dt) if field == "complex" else _real(b)
        rows.append(torch.kron(eye_out, a.T.contiguous()) - torch.kron(b.contiguous(), eye_in))  # row-major vec
    mat = torch.cat(rows)
    _, s, vh = torch.linalg.svd(mat)
    tol = 1e3 * torch.finfo(torch.float64).eps * max(float(s[0]), 1.0) if tol is None else tol
    rank = int((s > tol).sum())
    basis = vh[rank:].conj().resolve_conj() if field == "complex" else vh[rank:]
    return basis.reshape(-1, d_out, d_in)


def _real(x: torch.Tensor) -> torch.Tensor:
    if x.is_complex():
        if x.imag.abs().max() > 1e-12:
            raise ValueError("field='real' needs real generators (a real representation)")
        x = x.real
    return x.to(torch.float64).contiguous()


@functools.cache
def _hom_dimension(a: cc.Irrep, b: cc.Irrep) -> int:
    return intertwiner_basis(algebra_generators(cc.Irreps([(1, a)])), algebra_generators(cc.Irreps([(1, b)]))).shape[0]


def intertwiner_dimension(irreps_in, irreps_out) -> int:
    """Real dimension of the space of complex-linear equivariant maps between two sums of irreps.

    Hom(⊕ τ_a V_a, ⊕ τ_b V_b) = ⊕ τ_a τ_b Hom(V_a, V_b) (plain linear algebra); each dim Hom(V_a, V_b) is solved from
    the generators' null space — not assumed from Schur's lemma — so the count is independent of the layer."""
    total = 0
    for t_in, a in cc.Irreps(irreps_in).simplify():
        for t_out, b in cc.Irreps(irreps_out).simplify():
            total += t_in * t_out * _hom_dimension(a, b)
    return 2 * total


def structure_residual(w: torch.Tensor, irreps_in, irreps_out) -> float:
    """‖W − Π(W)‖/‖W‖ where Π projects on block-diagonal-over-irreps, c ⊗ 1_d-within-irrep matrices."""
    irreps_in, irreps_out = cc.Irreps(irreps_in), cc.Irreps(irreps_out)
    w = w.to(torch.complex128)
    allowed = torch.zeros_like(w)
    col_slices = list(zip(irreps_in, irreps_in.slices()))
    for (t_out, ir_out), rows in zip(irreps_out, irreps_out.slices()):
        for (t_in, ir_in), cols in col_slices:
            if ir_out != ir_in:
                continue
            d = ir_in.dim
            block = w[rows, cols].reshape(t_out, d, t_in, d)
            c = block.diagonal(dim1=1, dim2=3).mean(-1)  # [t_out, t_in]
            allowed[rows, cols] = torch.kron(c, torch.eye(d, dtype=w.dtype))
    return float(torch.linalg.matrix_norm(w - allowed) / torch.linalg.matrix_norm(w).clamp_min(1e-300))


def commutation_residual(
    w: torch.Tensor, irreps_in, irreps_out, *, n: int = 8, max_rapidity: float = 1.0, seed: int = 0
) -> float:
    m = cc.random_sl2c(n, max_rapidity=max_rapidity, seed=seed)
    r_in = cc.Rep.parse(irreps_in).matrix(m).to(torch.complex128)
    r_out = cc.Rep.parse(irreps_out).matrix(m).to(torch.complex128)
    w = w.to(torch.complex128)
    res = torch.linalg.matrix_norm(w @ r_in - r_out @ w) / (
        torch.linalg.matrix_norm(w) * torch.linalg.matrix_norm(r_in)
    )
    return float(res.max())


def check_map(name, w, irreps_in, irreps_out, free_parameters: int | None = None) -> SchurResult:
    tol = 1e3 * torch.finfo(torch.float64).eps * max(w.shape)
    return SchurResult(
        name,
        str(cc.Irreps(irreps_in)),
        str(cc.Irreps(irreps_out)),
        structure_residual(w, irreps_in, irreps_out),
        commutation_residual(w, irreps_in, irreps_out),
        intertwiner_dimension(irreps_in, irreps_out),
        free_parameters,
        tol,
    )


def check_model(model) -> list[SchurResult]:
    """Schur checks on every map of `model.equivariant_linear_maps()` → (name, W, irreps_in, irreps_out). The free
    parameter count is taken from the submodule of that name (its `num_free_parameters`, else its weights), if any.
    The checks run on the CPU in complex128, wherever the model lives."""
    if not hasattr(model, "equivariant_linear_maps"):
        raise ValueError("Schur checks need model.equivariant_linear_maps() → (name, W, irreps_in, irreps_out)")
    out = []
    with torch.no_grad():
        for name, w, irreps_in, irreps_out in model.equivariant_linear_maps():
            free = None
            try:
                mod = model.get_submodule(name)
                free = getattr(mod, "num_free_parameters", None)
            except AttributeError:
                pass
            out.append(check_map(name, w.detach().to("cpu", torch.complex128), irreps_in, irreps_out, free))
    return out
