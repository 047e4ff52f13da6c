"""Building blocks of the LGN (docs/network.md): equivariant linear maps, the input layer, one CG level.

Activations are dicts `{Irrep: [B, N, τ, d]}` of complex tensors (complex64 for a float32 model, complex128 for
float64). Parameters are real tensors (a complex weight is stored as a trailing (re, im) pair) so that
`model.to(torch.float64)` switches the whole network's precision.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from clariant_core.group.clebsch_gordan import CGProduct
from clariant_core.group.irreps import Irrep, Irreps, vector_intertwiner
from clariant_core.numerics import complex_of

SCALAR = Irrep(0, 0)
VECTOR = Irrep(1, 1)


def _complex_param(shape, std: float) -> nn.Parameter:
    return nn.Parameter(torch.randn(*shape, 2) * (std / math.sqrt(2)))


class EquivariantLinear(nn.Module):
    """W: mixes channels within each irrep only (Schur's lemma): out[c] = W_c @ x[c], W_c complex `[τ_out, τ_in]`,
    acting as the identity on the representation index; a complex bias on (0,0) only.

    irreps_in / irreps_out: Irreps with one entry per irrep (channel counts); every output irrep must be an input
    irrep (a map between different irreps must be zero).
    """

    def __init__(self, irreps_in, irreps_out):
        super().__init__()
        self.irreps_in = Irreps(irreps_in).simplify()
        self.irreps_out = Irreps(irreps_out).simplify()
        tau_in = {ir: t for t, ir in self.irreps_in}
        self.weights = nn.ParameterDict()
        for t_out, ir in self.irreps_out:
            if ir not in tau_in:
                raise ValueError(f"output irrep {ir} is not among the inputs {self.irreps_in}: W would have to be 0")
            self.weights[str(ir)] = _complex_param((t_out, tau_in[ir]), 1 / math.sqrt(tau_in[ir]))
        self.bias = _complex_param((self.irreps_out.count(SCALAR),), 0.0) if SCALAR in self.irreps_out.irreps else None

    def weight(self, ir: Irrep) -> torch.Tensor:
        """W for one irrep, complex `[τ_out, τ_in]`."""
        return torch.view_as_complex(self.weights[str(ir)])

    def forward(self, x: dict[Irrep, torch.Tensor]) -> dict[Irrep, torch.Tensor]:
        out = {}
        for _, ir in self.irreps_out:
            out[ir] = self.weight(ir) @ x[ir]
        if self.bias is not None:
            out[SCALAR] = out[SCALAR] + torch.view_as_complex(self.bias)[:, None]
        return out

    def matrix(self) -> torch.Tensor:
        """Dense complex `[dim_out, dim_in]` matrix on the flat layouts of irreps_in/irreps_out (channel-major,
        representation index fastest): block (c_out, c_in) = W_c ⊗ 1_d if c_out == c_in else 0."""
        ref = next(iter(self.weights.values()))
        dense = torch.zeros(self.irreps_out.dim, self.irreps_in.dim, dtype=complex_of(ref.dtype), device=ref.device)
        cols = dict(zip(self.irreps_in.irreps, self.irreps_in.slices()))
        for (_, ir), rows in zip(self.irreps_out, self.irreps_out.slices()):
            eye = torch.eye(ir.dim, dtype=dense.dtype, device=dense.device)
            dense[rows, cols[ir]] = torch.kron(self.weight(ir), eye)
        return dense

    @property
    def num_free_parameters(self) -> int:
        """Real parameters of the linear part (bias excluded): 2·τ_out·τ_in per irrep."""
        return sum(p.numel() for p in self.weights.values())


class InputLayer(nn.Module):
    """Level 0: (0,0) channels from per-particle scalars (a constant plus any given), (1,1) channels w_c · T p."""

    def __init__(self, num_scalars: int, tau: int):
        super().__init__()
        self.scalar = nn.Linear(num_scalars + 1, tau)
        self.vector = EquivariantLinear(Irreps([(1, VECTOR)]), Irreps([(tau, VECTOR)]))
        self.irreps_out = Irreps([(tau, SCALAR), (tau, VECTOR)])

    def forward(self, scalars: torch.Tensor, q: torch.Tensor) -> dict[Irrep, torch.Tensor]:
        """scalars: real `[B, N, S]`; q = T p: complex `[B, N, 1, 4]`."""
        ones = scalars.new_ones(scalars.shape[:-1] + (1,))
        s = self.scalar(torch.cat([ones, scalars], -1))
        return {SCALAR: torch.complex(s, torch.zeros_like(s))[..., None], VECTOR: self.vector({VECTOR: q})[VECTOR]}


class PairBasis(nn.Module):
    """Fixed basis φ_b(x) = 1 / (1 + (x/s_b)²) of the invariant x = p_ij², scales s_b geometric in [s_min, s_max]."""

    def __init__(self, num_basis: int, s_min: float = 1e-3, s_max: float = 1.0):
        super().__init__()
        scales = torch.logspace(math.log10(s_min), math.log10(s_max), num_basis, dtype=torch.float64)
        self.register_buffer("inv_scales", 1 / scales)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: real `[...]` → `[..., num_basis]`."""
        return 1 / (1 + (x[..., None] * self.inv_scales.to(x.dtype)) ** 2)


class ScalarMLP(nn.Module):
    """Residual MLP on the (0,0) channels (real and imaginary parts): the only nonlinearity, invariant by design."""

    def __init__(self, tau: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * tau, hidden), nn.SiLU(), nn.Linear(hidden, 2 * tau))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        """s: complex `[B, N, τ, 1]` → same."""
        real = torch.view_as_real(s[..., 0]).flatten(-2)  # [B, N, 2τ] (re, im interleaved)
        out = real + self.net(real)
        return torch.view_as_complex(out.unflatten(-1, (-1, 2)).contiguous())[..., None]


class CGLevel(nn.Module):
    """One CG level: F_i ← W · (F_i ⊕ CG(F_i ⊗ F_i) ⊕ Σ_j mask_j f(p_ij²) CG(p_ij ⊗ F_j)), truncated to
    k, n ≤ max_label, then the scalar MLP on (0,0).

    The pair sum is bilinear and is formed without the N² Kronecker tensor (docs/network.md):
    Σ_j f_ij CG(p_ij ⊗ F_j) = CG(p_i ⊗ Σ_j f_ij F_j) − Σ_j f_ij CG(p_j ⊗ F_j)
    — two N×N aggregations (one batched real matmul per channel) and O(N) CG products.
    """

    def __init__(
        self, irreps_in, tau_out: int, max_label: int, num_basis: int, mlp_hidden: int, scalars_only: bool = False
    ):
        super().__init__()
        outputs = [SCALAR] if scalars_only else None
        self.irreps_in = Irreps(irreps_in).simplify()
        taus = {t for t, _ in self.irreps_in}
        if len(taus) != 1:
            raise ValueError(f"a CG level needs one channel count for all input irreps, got {self.irreps_in}")
        self.tau_in = taus.pop()
        self.square = CGProduct(
            self.irreps_in, self.irreps_in, max_label, channels="elementwise", symmetric=True, outputs=outputs
        )
        self.message = CGProduct(Irreps([(1, VECTOR)]), self.irreps_in, max_label, channels="full", outputs=outputs)
        cat: dict[Irrep, int] = {
            ir: t
            for t, ir in self.irreps_in
            if ir.k <= max_label and ir.n <= max_label and (not scalars_only or ir == SCALAR)
        }
        for t, ir in (*self.square.irreps_out, *self.message.irreps_out):
            cat[ir] = cat.get(ir, 0) + t
        self.irreps_cat = Irreps.from_dict(cat)
        self.irreps_out = Irreps([(tau_out, ir) for _, ir in self.irreps_cat])
        self.linear = EquivariantLinear(self.irreps_cat, self.irreps_out)
        self.radial = nn.Linear(num_basis, self.tau_in, bias=False)
        self.mlp = ScalarMLP(tau_out, mlp_hidden)
        # message paths in input-irrep order: (1,1) ⊗ a → outs, τ_in channels each
        self._msg_paths = [(a, outs) for _, a, outs in self.message.paths]
        self._msg_irreps = [a for a, _ in self._msg_paths]

    def _aggregate(self, basis: torch.Tensor, parts: list[torch.Tensor]) -> list[torch.Tensor]:
        """Σ_j f_c(p_ij²) mask_j · part[b, j, c, ...] for each complex part `[B, N, τ, D_k]`, in one real matmul.
        (The memory of f `[B, τ, N, N]` in training is bounded by LGN.grad_chunk_pairs, which runs large batches in
        recomputed chunks.)"""
        sizes = [t.shape[-1] for t in parts]
        packed = torch.view_as_real(torch.cat(parts, -1)).flatten(-2).transpose(1, 2)  # [B, τ, N, 2ΣD]
        f = (basis @ self.radial.weight.T).permute(0, 3, 1, 2)  # [B, τ, N_i, N_j] (basis already × mask_j)
        agg = torch.view_as_complex((f @ packed).transpose(1, 2).unflatten(-1, (-1, 2)).contiguous())
        return list(torch.split(agg, sizes, -1))

    def _messages(self, x: dict, q: torch.Tensor, basis: torch.Tensor) -> dict:
        """Σ_j f_ij CG(p_ij ⊗ F_j) = CG(q_i ⊗ Σ_j f_ij F_j) − Σ_j f_ij CG(q_j ⊗ F_j), f_ij = f(p_ij²)·mask_j.

        CG(q_j ⊗ F_j) is truncated before it is aggregated (it is often much smaller than q_j ⊗ F_j), so each input
        irrep costs one shared aggregation and two GEMMs."""
        in_irreps = self._msg_irreps  # those with a message path (all of them unless outputs are restricted)
        coeffs = self.message._coefficients(q.dtype, q.device)

        g = [(q[..., :, :, None] * x[a][..., None, :]).flatten(-2) @ c for a, c in zip(in_irreps, coeffs)]
        agg = self._aggregate(basis, [x[a] for a in in_irreps] + g)
        n = len(in_irreps)
        pieces: dict[Irrep, list[torch.Tensor]] = {}
        for (_, outs), coeff, a_agg, g_agg in zip(self._msg_paths, coeffs, agg[:n], agg[n:]):
            z = (q[..., :, :, None] * a_agg[..., None, :]).flatten(-2) @ coeff - g_agg
            start = 0
            for c in outs:
                pieces.setdefault(c, []).append(z[..., start : start + c.dim])
                start += c.dim
        return {c: torch.cat(v, -2) if len(v) > 1 else v[0] for c, v in pieces.items()}

    def forward(self, x: dict, q: torch.Tensor, basis: torch.Tensor, mask: torch.Tensor) -> dict:
        """x: `{Irrep: [B, N, τ, d]}`; q = T p: `[B, N, 1, 4]`; basis: real `[B, N, N, num_basis]` of p_ij², already
        multiplied by mask_j; mask `[B, N]`."""
        msg = self._messages(x, q, basis)
        sq = self.square(x, x)
        cat = {}
        for _, c in self.irreps_cat:
            pieces = [t[c] for t in (x, sq, msg) if c in t]
            cat[c] = torch.cat(pieces, -2) if len(pieces) > 1 else pieces[0]
        out = self.linear(cat)
        out[SCALAR] = self.mlp(out[SCALAR])
        m = mask[:, :, None, None].to(out[SCALAR].real.dtype)
        return {c: v * m for c, v in out.items()}


def vector_features(p: torch.Tensor) -> torch.Tensor:
    """q = T p: real `[B, N, 4]` → complex `[B, N, 1, 4]` on the (1,1) irrep."""
    t = vector_intertwiner(complex_of(p.dtype), p.device)
    return (p.to(t.dtype) @ t.T)[..., None, :]
