"""Building blocks of the LGN (docs/network.md): equivariant linear maps, the input layer, one CG level.

Activations between layers are dicts `{Irrep: [B, N, τ, d]}` of complex tensors (complex64 for a float32 model,
complex128 for float64); inside a CG level they are complex rows `[d, τ, B, N]` (network/rows.py) when it runs
eagerly and real planes `[d, 2, τ, B, N]` (network/planes.py) when it is compiled: one algorithm, two layouts.
Parameters are real tensors (a complex weight is stored as a trailing (re, im) pair) so that
`model.to(torch.float64)` switches the whole network's precision.
"""

from __future__ import annotations

import functools
import math
import types

import torch
from torch import nn

from clariant_core.group.clebsch_gordan import CGProduct
from clariant_core.group.irreps import SCALAR_IRREP, VECTOR_IRREP, Irrep, Irreps, vector_intertwiner
from clariant_core.network import planes, rows
from clariant_core.numerics import complex_of


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
        self.bias = (
            _complex_param((self.irreps_out.count(SCALAR_IRREP),), 0.0)
            if SCALAR_IRREP in self.irreps_out.irreps
            else None
        )

    def weight(self, ir: Irrep) -> torch.Tensor:
        """W for one irrep, complex `[τ_out, τ_in]`."""
        return torch.view_as_complex(self.weights[str(ir)])

    def forward(self, x: dict[Irrep, torch.Tensor]) -> dict[Irrep, torch.Tensor]:
        out = {}
        for _, ir in self.irreps_out:
            out[ir] = self.weight(ir) @ x[ir]
        if self.bias is not None:
            out[SCALAR_IRREP] = out[SCALAR_IRREP] + torch.view_as_complex(self.bias)[:, None]
        return out

    def forward_inside(self, x: dict[Irrep, torch.Tensor], layout) -> dict[Irrep, torch.Tensor]:
        """The same map inside a CG level, on the layout it computes in (the module network/rows or
        network/planes): `{Irrep: τ_in channels}` → `{Irrep: τ_out channels}`."""
        out = {ir: layout.linear(self.weights[str(ir)], x[ir]) for _, ir in self.irreps_out}
        return self.biased_inside(out, layout)

    def biased_inside(self, out: dict[Irrep, torch.Tensor], layout) -> dict[Irrep, torch.Tensor]:
        """W x inside a CG level (`{Irrep: τ_out channels}`, in `layout`) plus the bias on (0,0)."""
        if self.bias is not None:
            out[SCALAR_IRREP] = layout.add_bias(out[SCALAR_IRREP], self.bias)
        return out

    def matrix(self) -> torch.Tensor:
        """Dense complex `[dim_out, dim_in]` matrix on the flat layouts of irreps_in/irreps_out (channel-major,
        representation index fastest): block (c_out, c_in) = W_c ⊗ 1_d if c_out == c_in else 0."""
        ref = next(iter(self.weights.values()))
        dense = torch.zeros(self.irreps_out.dim, self.irreps_in.dim, dtype=complex_of(ref.dtype), device=ref.device)
        cols = dict(zip(self.irreps_in.irreps, self.irreps_in.slices()))
        for (_, ir), out_rows in zip(self.irreps_out, self.irreps_out.slices()):
            eye = torch.eye(ir.dim, dtype=dense.dtype, device=dense.device)
            dense[out_rows, cols[ir]] = torch.kron(self.weight(ir), eye)
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
        self.vector = EquivariantLinear(Irreps([(1, VECTOR_IRREP)]), Irreps([(tau, VECTOR_IRREP)]))
        self.irreps_out = Irreps([(tau, SCALAR_IRREP), (tau, VECTOR_IRREP)])

    def forward(self, scalars: torch.Tensor, q: torch.Tensor) -> dict[Irrep, torch.Tensor]:
        """scalars: real `[B, N, S]`; q = T p: complex `[B, N, 1, 4]`."""
        ones = scalars.new_ones(scalars.shape[:-1] + (1,))
        # in the model's dtype: under autocast the linear map returns bfloat16/float16, which has no complex type
        s = self.scalar(torch.cat([ones, scalars], -1)).to(scalars.dtype)
        return {
            SCALAR_IRREP: torch.complex(s, torch.zeros_like(s))[..., None],
            VECTOR_IRREP: self.vector({VECTOR_IRREP: q})[VECTOR_IRREP],
        }


class PairBasis(nn.Module):
    """Fixed basis φ_b(x) = 1 / (1 + (x/s_b)²) of the invariant x = p_ij², scales s_b geometric in [s_min, s_max]."""

    def __init__(self, num_basis: int, s_min: float = 1e-3, s_max: float = 1.0):
        super().__init__()
        scales = torch.logspace(math.log10(s_min), math.log10(s_max), num_basis, dtype=torch.float64)
        self.register_buffer("inv_scales", 1 / scales)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: real `[B, N, N]` → `[num_basis, B, N, N]` (basis index first: a level's f = W φ is then one GEMM over
        long rows, and comes out `[τ, B, N, N]`, the layout its aggregation multiplies by)."""
        return 1 / (1 + (x[None] * self.inv_scales.to(x.dtype)[:, None, None, None]) ** 2)


class ScalarMLP(nn.Module):
    """Residual MLP on the (0,0) channels (real and imaginary parts): the only nonlinearity, invariant by design."""

    def __init__(self, tau: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * tau, hidden), nn.SiLU(), nn.Linear(hidden, 2 * tau))

    def forward(self, s: torch.Tensor, layout) -> torch.Tensor:
        """s: the (0,0) channels in a level's layout (network/rows or network/planes) → same."""
        real = layout.scalar_features(s)  # [B, N, 2τ] (re, im interleaved per channel)
        return layout.from_scalar_features(real + self.net(real))


class _Pieces:
    """Collects the pieces of a CG level's concatenation F ⊕ CG(F ⊗ F) ⊕ messages, irrep by irrep in order of
    arrival (W's columns are the concatenation's channels in that order), and returns W · (pieces) (+ b on
    (0,0)) in the level's layout."""

    def __init__(self, linear: EquivariantLinear, layout):
        self.linear, self.layout = linear, layout
        self.offsets: dict[Irrep, int] = {}

    def __call__(self, c: Irrep, z: torch.Tensor) -> None:
        k = self.offsets.get(c, 0)
        self.offsets[c] = k + z.shape[self.layout.CHANNELS]
        self.add(c, z, k)

    def result(self) -> dict[Irrep, torch.Tensor]:
        for t, c in self.linear.irreps_in:
            if self.offsets.get(c, 0) != t:
                raise AssertionError(f"the pieces of {c} gave {self.offsets.get(c, 0)} channels, W expects {t}")
        return self.mapped()


class _Concatenation(_Pieces):
    """One concatenation per irrep and one GEMM (`EquivariantLinear.forward_inside`)."""

    def __init__(self, linear, layout):
        super().__init__(linear, layout)
        self.pieces: dict[Irrep, list[torch.Tensor]] = {}

    def add(self, c: Irrep, z: torch.Tensor, k: int) -> None:
        self.pieces.setdefault(c, []).append(z)

    def mapped(self) -> dict[Irrep, torch.Tensor]:
        ch = self.layout.CHANNELS
        cat = {c: torch.cat(v, ch) if len(v) > 1 else v[0] for c, v in self.pieces.items()}
        return self.linear.forward_inside(cat, self.layout)


#: numbers per row (τ·B·N) from which a level accumulates its linear map (`_Accumulation`): below, one GEMM per
#: irrep costs less than one per piece. Measured on the shipped LGN without gradients (one thread, N = 45, 2-core
#: AMD EPYC, torch 2.13, alternating), accumulated against concatenated, ms per call: float64 4 jets (720 numbers)
#: 7.4 against 6.5, 16 jets (2,880) 15.1 against 15.1, 32 jets (5,760) 25.6 against 26.9; float32 4 jets 6.3
#: against 5.3, 16 jets 9.3 against 8.7, 32 jets 17.3 against 19.9
ACCUMULATE_MIN_ROW_NUMBERS = 4096


class _Accumulation(_Pieces):
    """Each piece multiplied by its block of W's columns as it arrives, while it is still in the cache, and the
    products added up per irrep: the concatenation is never formed. In float64 at B = 66, N = 45 it was a copy of
    ~14 MB for the (2,2) irrep alone, read again by the GEMM; accumulated, the forward took 16 % less time in
    float64 and 15 % in float32 (one thread, 2-core AMD EPYC, torch 2.13). With gradients the concatenation is
    faster (one GEMM and one backward node per irrep instead of one per piece: a float32 training step at B = 64,
    N = 50 took 12 % longer accumulated), so a level accumulates only without gradients, in the rows, and only when
    its linear map is a plain EquivariantLinear (it uses the weights directly, not `forward_inside`)."""

    def __init__(self, linear, layout):
        super().__init__(linear, layout)
        self.sums: dict[Irrep, torch.Tensor] = {}

    def add(self, c: Irrep, z: torch.Tensor, k: int) -> None:
        w = self.linear.weights[str(c)][:, k : k + z.shape[self.layout.CHANNELS]]
        if c in self.sums:  # the GEMM adds into the sum: no temporary per piece
            self.layout.linear_add_(self.sums[c], w, z)
        else:
            self.sums[c] = self.layout.linear(w, z)

    def mapped(self) -> dict[Irrep, torch.Tensor]:
        return self.linear.biased_inside({c: self.sums[c] for _, c in self.linear.irreps_out}, self.layout)


class CGLevel(nn.Module):
    """One CG level: F_i ← W · (F_i ⊕ CG(F_i ⊗ F_i) ⊕ Σ_j mask_j f(p_ij²) CG(p_ij ⊗ F_j)), truncated to
    k, n ≤ max_label, then the scalar MLP on (0,0).

    The pair sum is bilinear and is formed without the N² Kronecker tensor (docs/network.md):
    Σ_j f_ij CG(p_ij ⊗ F_j) = CG(p_i ⊗ Σ_j f_ij F_j) − Σ_j f_ij CG(p_j ⊗ F_j)
    — one N×N aggregation (one batched real matmul per channel) and O(N) CG products.
    Inside, activations are complex rows (network/rows.py); `compiled = True` runs the same algorithm on real planes
    (network/planes.py) through `torch.compile`, which fuses real arithmetic only.
    """

    def __init__(
        self, irreps_in, tau_out: int, max_label: int, num_basis: int, mlp_hidden: int, scalars_only: bool = False
    ):
        super().__init__()
        outputs = [SCALAR_IRREP] if scalars_only else None
        self.irreps_in = Irreps(irreps_in).simplify()
        taus = {t for t, _ in self.irreps_in}
        if len(taus) != 1:
            raise ValueError(f"a CG level needs one channel count for all input irreps, got {self.irreps_in}")
        self.tau_in = taus.pop()
        self.square = CGProduct(
            self.irreps_in, self.irreps_in, max_label, channels="elementwise", symmetric=True, outputs=outputs
        )
        self.message = CGProduct(
            Irreps([(1, VECTOR_IRREP)]), self.irreps_in, max_label, channels="full", outputs=outputs
        )
        cat: dict[Irrep, int] = {ir: t for t, ir in self.irreps_in.filter(max_label, keep=outputs)}
        for t, ir in (*self.square.irreps_out, *self.message.irreps_out):
            cat[ir] = cat.get(ir, 0) + t
        self.irreps_cat = Irreps.from_dict(cat)
        self.irreps_out = Irreps([(tau_out, ir) for _, ir in self.irreps_cat])
        self.linear = EquivariantLinear(self.irreps_cat, self.irreps_out)
        self.radial = nn.Linear(num_basis, self.tau_in, bias=False)
        self.mlp = ScalarMLP(tau_out, mlp_hidden)
        self.compiled = False
        self._compiled_run = None  # (owner id, compiled callable): a deep copy compiles its own

    def _run(self, layout, xs, q, basis, mask, sq_c, msg_c):
        """The level in `layout` (the module network/rows or network/planes). xs: all input irreps stacked along the
        representation axis (first) in irreps_in order (one conversion per level); q: p as the (1,1) irrep, one
        channel; basis: `[num_basis, B, N, N]` × mask_j; sq_c / msg_c: the products' terms (`layout.terms`, in the
        layout's format). Returns the output irreps in the layout.

        The pair sum Σ_j f_c(p_ij²) mask_j F_j (`layout.aggregate`) is one batched real matmul; the memory of
        f `[τ, B, N, N]` in training is bounded by LGN.grad_chunk_pairs, which runs large batches in recomputed
        chunks."""
        x = dict(zip(self.irreps_in.irreps, torch.split(xs, [a.dim for a in self.irreps_in.irreps])))
        # accumulated only where it is the same function: eager, without gradients, and a linear map whose
        # forward_inside is EquivariantLinear's own (a subclass that changes it gets its own method called); and
        # where it pays: on long rows
        own = type(self.linear).forward_inside is EquivariantLinear.forward_inside
        long = rows.row_numbers(xs) >= ACCUMULATE_MIN_ROW_NUMBERS
        sink = _Accumulation if layout is rows and own and long and not torch.is_grad_enabled() else _Concatenation
        out = sink(self.linear, layout)
        for c in self.irreps_cat.irreps:
            if c in x:  # F_i itself, the first channels of the concatenation
                out(c, x[c])
        # CG(F_i ⊗ F_i) path by path, in pieces per output irrep: each path's product stays cache-sized (gathering
        # every path's terms at once saved ≤ 0.4 ms per call in float32 at B ≤ 4 and cost up to 3 ms in float64 from
        # B = 2 on, one core)
        for (a, b, outs), c2 in zip(self.square.paths, sq_c):
            for c, z in zip(outs, layout.cg_pieces(x[a], x[b], c2, [c.dim for c in outs]), strict=True):
                out(c, z)
        # Σ_j f_ij CG(q_ij ⊗ F_j) = CG(q_i ⊗ Σ_j f_ij F_j) − Σ_j f_ij CG(q_j ⊗ F_j), f_ij = f(p_ij²)·mask_j;
        # CG(q_j ⊗ F_j) is truncated before it is aggregated (often much smaller than q_j ⊗ F_j), piece by piece
        inputs = [x[a] for _, a, _ in self.message.paths]
        dims = [[c.dim for c in outs] for _, _, outs in self.message.paths]
        g = [layout.cg_pieces(q, xa, c2, d) for xa, c2, d in zip(inputs, msg_c, dims)]
        jets, n = basis.shape[1:3]
        f = (self.radial.weight @ basis.flatten(1)).view(self.tau_in * jets, n, n)  # [τ·B, N_i, N_j], × mask_j
        agg = layout.aggregate(f, inputs + [z for pieces in g for z in pieces])
        g_agg = iter(agg[len(inputs) :])
        for (_, _, outs), c2, a_agg, d in zip(self.message.paths, msg_c, agg, dims):
            for c, z in zip(outs, layout.cg_pieces(q, a_agg, c2, d), strict=True):
                out(c, z - next(g_agg))
        out = out.result()
        out[SCALAR_IRREP] = self.mlp(out[SCALAR_IRREP], layout)
        if mask is None:  # every particle real (LGN._all_real)
            return [out[c] for _, c in self.irreps_out]
        m = mask.to(basis.dtype)
        return [out[c] * m for _, c in self.irreps_out]

    def forward(self, x: dict, q: torch.Tensor, basis: torch.Tensor, mask: torch.Tensor) -> dict:
        """x: `{Irrep: [B, N, τ, d]}` complex; q = T p: `[B, N, 1, 4]`; basis: real `[num_basis, B, N, N]` of p_ij²,
        already multiplied by mask_j; mask `[B, N]`, or None when every particle is real (eager levels only). Returns
        `{Irrep: [B, N, τ_out, d]}` complex."""
        if not self.compiled:
            return self.evaluate(rows, x, q, basis, mask)
        if self._compiled_run is None or self._compiled_run[0] != id(self):
            self._compiled_run = (id(self), torch.compile(self._planes_run(), dynamic=False))
        return self.evaluate(planes, x, q, basis, mask, run=self._compiled_run[1])

    def _planes_run(self):
        """`_run` in planes with this level's CG terms bound as constants (inductor then fuses each product into one
        kernel: network/planes.py), as a function with its own code object: torch.compile keeps at most
        `torch._dynamo.config.recompile_limit` (8) compiled versions per code object and runs the code eagerly beyond
        that — shared by every level of every model, 3 levels × (with, without gradients) passed it at the third
        batch shape and fell back to the planes run eagerly, several times slower than the rows."""
        sq_c, msg_c = self.square.constant_terms(), self.message.constant_terms()

        def run(xs, q, basis, mask):
            return self._run(planes, xs, q, basis, mask, sq_c, msg_c)

        return types.FunctionType(run.__code__.replace(), run.__globals__, run.__name__, None, run.__closure__)

    def evaluate(self, layout, x: dict, q: torch.Tensor, basis: torch.Tensor, mask: torch.Tensor, run=None) -> dict:
        """`forward` computed in `layout` (the module network/rows or network/planes; both compute the same function);
        `run`: `_run` in that layout with its terms bound (compiled)."""
        if run is None:
            dt, dev = basis.dtype, basis.device
            sq_c, msg_c = layout.terms(self.square, dt, dev), layout.terms(self.message, dt, dev)
            run = functools.partial(self._run, layout, sq_c=sq_c, msg_c=msg_c)
        out = run(layout.to_layout(*(x[c] for c in self.irreps_in.irreps)), layout.to_layout(q), basis, mask)
        return {c: layout.from_layout(v) for (_, c), v in zip(self.irreps_out, out)}


def vector_features(p: torch.Tensor) -> torch.Tensor:
    """q = T p: real `[B, N, 4]` → complex `[B, N, 1, 4]` on the (1,1) irrep."""
    t = vector_intertwiner(complex_of(p.dtype), p.device)
    return (p.to(t.dtype) @ t.T)[..., None, :]
