"""Hand-written backward passes for the heavy operations of the complex rows (network/rows.py): the CG products (their
gathers, or the products summed output row by output row), the channel mixing of the equivariant linear maps and
the pair aggregation.

Each computes the derivatives autograd would, from the same numbers (the LGN's gradients agree with autograd's to
a few roundings: tests/test_adjoints.py), but moves fewer bytes on complex tensors. Measured with one thread on
the 2-core AMD EPYC reference machine (torch 2.13, level 1 of the shipped LGN at B = 64, N = 50):
- index_select's backward is index_add_, which on complex64 / complex128 rows took 5–9× as long as on the same
  numbers viewed as real (21 of 9 rows `[4, 64, 50]`: 0.71 ms against 0.075 ms in complex64);
- the backward of W x (bmm) forms W's gradient as g xᴴ, materialising the conjugate transpose of x — the level's
  concatenated pieces, its largest tensor: the (2,2) map's backward took ~3.7 ms, 1.6 ms as conj(ḡ xᵀ);
- the aggregation's chain of views, splits and contiguous copies copied its pair-summed tensor four times in
  backward; here twice;
- a product of gathered rows, z = C (x_{i1} ⊙ y_{i2}), cloned each conjugated factor in its backward, then ran a
  GEMM backward and two index_add_; summed row by row (`products_by_row`) its backward is one multiply-add per
  term and factor.

They are used only where autograd records and the rows are long (`MIN_ROW_NUMBERS`): a custom Function's Python
costs ~10 µs per call forward and ~25 µs in backward, which short rows do not pay back — the validation floor's
reverse pass (float64, a few jets per call) ran 30 % slower with them on every call. With gradients off
(validation, inference) the plain operations run, and so they do inside torch.func transforms (jvp, vmap, grad:
their tensors are functorch wrappers) and, for the aggregation, under autocast. A double backward differentiates
the backward's own operations. The CG products summed by row are the exception: their forward pays without
gradients too, so they run wherever `rows.cg_product` finds long rows on the CPU (`rows.BY_ROW_MIN_ROW_NUMBERS`,
outside torch.func, forward-mode AD and autocast), with their backward when autograd records.
"""

from __future__ import annotations

import torch

from clariant_core.numerics import is_transformed

#: numbers per row (τ·B·N: one representation component of every channel, jet and particle) from which the
#: hand-written backward passes are used. Measured per operation (one thread, complex64 and complex128, forward +
#: backward against autograd's): the gather breaks even at ~1,000 numbers and is 1.7–3× faster from 4,000, the
#: channel mixing breaks even at ~2,000; in the whole LGN, float64 calls of 32 jets × 45 particles (5,760) gained
#: nothing, float32 training steps of 64 × 50 (12,800) gained ~10 %.
MIN_ROW_NUMBERS = 8192


def recording(rows: torch.Tensor, *tensors: torch.Tensor) -> bool:
    """A hand-written backward pays here: autograd records an operation on these tensors (outside any torch.func
    transform) and the rows of `rows` (its first axis) are long."""
    return (
        torch.is_grad_enabled()
        and rows.numel() >= MIN_ROW_NUMBERS * max(rows.shape[0], 1)
        and any(t.requires_grad for t in tensors)
        and not any(is_transformed(t) for t in tensors)
    )


def stored(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A real GEMM's result in the rows' real dtype: under autocast the GEMM computes and rounds in bfloat16/float16,
    which has no complex type to hold the result (a no-op otherwise)."""
    return out.to(like.dtype)


# --- gathers ---------------------------------------------------------------------------------------------------
def _index_add(rows: int, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """The rows of src summed into `rows` rows at `index` (index_select's adjoint), on the real view of complex src;
    out of place when autograd records (a double backward), in place on fresh zeros otherwise."""
    real = torch.view_as_real(src.resolve_conj()) if src.is_complex() else src
    zero = real.new_zeros((rows, *real.shape[1:]))
    out = zero.index_add(0, index, real) if torch.is_grad_enabled() else zero.index_add_(0, index, real)
    return torch.view_as_complex(out) if src.is_complex() else out


class _Gather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, index):
        ctx.save_for_backward(index)
        ctx.rows = x.shape[0]
        return x.index_select(0, index)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return _index_add(ctx.rows, index, grad), None


def gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x.index_select(0, index) on rows (complex or real), its gradient summed back on the real view."""
    return _Gather.apply(x, index) if recording(x, x) else x.index_select(0, index)


# --- CG products output row by output row ----------------------------------------------------------------------
def _broadcast(a: torch.Size, b: torch.Size) -> tuple[int, ...]:
    """The broadcast shape of two rows' shapes (each extent equal, or 1 in one of them): what `torch.broadcast_shapes`
    returns, which is written in Python and took ~35 µs per call — about 2 % of a float64 LGN call of 64 jets, whose
    by-row products ask ~19 times."""
    if len(a) != len(b) or any(i != j and 1 not in (i, j) for i, j in zip(a, b)):
        return tuple(torch.broadcast_shapes(a, b))  # torch's own error for shapes that do not broadcast
    return tuple(i if j == 1 else j for i, j in zip(a, b))


def _summed_by_row(x: torch.Tensor, y: torch.Tensor, by_row: tuple, sizes: tuple[int, ...]) -> tuple:
    """z_c = Σ_k c_k x_{a_k} y_{b_k} for each output row c, by_row[c] = ((a_k, b_k, c_k), …): one multiply and one
    multiply-add per term on whole rows, written into pieces of `sizes` rows each (no gradient is recorded here)."""
    shape = _broadcast(x.shape[1:], y.shape[1:])
    outs = tuple(x.new_empty((size, *shape)) for size in sizes)
    xs, ys = x.unbind(0), y.unbind(0)
    for o, row in zip((o for piece in outs for o in piece.unbind(0)), by_row, strict=True):
        if not row:  # an output no term reaches
            o.zero_()
            continue
        (a, b, k), *rest = row
        torch.mul(xs[a], ys[b], out=o)
        if k != 1:
            o.mul_(k)
        for a, b, k in rest:
            o.addcmul_(xs[a], ys[b], value=k)
    return outs


def _adjoint_rows(gs: list, other: torch.Tensor, by_row: tuple, rows: int, mine: int, like: torch.Tensor):
    """dL/d(one factor) of z = products_by_row(x, y) from the rows gs[c] = dL/dz_c: row r gets Σ c_k g_c
    conj(other_{k'}) over the terms (c; a_k, b_k, c_k) whose factor index (`mine`: 0 for x, 1 for y) is r, summed over
    the channels where that factor broadcast (`like`: the factor). Written into fresh zeros, or out of place when
    autograd records (a double backward)."""
    conj, theirs, shape = other.conj_physical(), 1 - mine, gs[0].shape
    if torch.is_grad_enabled():
        acc: list = [None] * rows
        cs = conj.unbind(0)
        for gc, row in zip(gs, by_row, strict=True):
            for term in row:
                r, t = term[mine], term[2] * (gc * cs[term[theirs]])
                acc[r] = t if acc[r] is None else acc[r] + t
        zero = gs[0].new_zeros(shape)
        out = torch.stack([zero if a is None else a for a in acc])
    else:
        out = gs[0].new_zeros((rows, *shape))
        outs, cs = out.unbind(0), conj.unbind(0)
        for gc, row in zip(gs, by_row, strict=True):
            for term in row:
                outs[term[mine]].addcmul_(gc, cs[term[theirs]], value=term[2])
    broadcast = [i for i in range(1, out.ndim) if like.shape[i] == 1 and out.shape[i] != 1]
    return out.sum(broadcast, keepdim=True) if broadcast else out


class _ProductsByRow(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, by_row, sizes):
        ctx.save_for_backward(x, y)
        ctx.by_row = by_row
        return _summed_by_row(x, y, by_row, sizes)

    @staticmethod
    def backward(ctx, *grads):
        x, y = ctx.saved_tensors
        gs = [row for g in grads for row in g.resolve_conj().unbind(0)]
        gx = _adjoint_rows(gs, y, ctx.by_row, x.shape[0], 0, x) if ctx.needs_input_grad[0] else None
        gy = _adjoint_rows(gs, x, ctx.by_row, y.shape[0], 1, y) if ctx.needs_input_grad[1] else None
        return gx, gy, None, None


def products_by_row(x: torch.Tensor, y: torch.Tensor, by_row: tuple, sizes=None):
    """A CG product on complex rows summed output row by output row: z_c = Σ_k c_k x_{a_k} y_{b_k}, by_row[c] =
    ((a_k, b_k, c_k), …) with real c_k; x `[d1, τ_x, ...]`, y `[d2, τ_y, ...]` (τ equal, or 1 and broadcast) →
    `[len(by_row), τ, ...]`, or with `sizes` a list of pieces of that many rows each (one per output irrep), each its
    own tensor: no split, whose backward would concatenate the pieces' gradients again. It reads each input row where
    a gather would and writes nothing in between: the gathered copies, their product and the GEMM's pass over them
    are gone (float64 calls of 68 jets × 45 particles took 11–18 % less time). Where autograd records, its backward
    is summed the same way — dL/dx_a = Σ c_k g_c conj(y_b) — instead of autograd's clones of the conjugated factors,
    product and GEMM backward and index_add_ (a float32 training step at B = 64, N = 50 took 13 % less time).

    For `rows.cg_product`, which calls it where it applies (`rows._rowwise`): not inside torch.func transforms, under
    forward-mode AD or autocast (it writes into its result, which none of them can follow). With gradients it keeps
    x and y themselves for its backward (not gathered copies), so changing either in place before the backward is
    autograd's usual error, and inference-mode tensors cannot be kept: both are never the case inside the LGN."""
    if x.ndim != y.ndim or x.dtype != y.dtype:
        raise ValueError(
            f"a product by row needs rows of one rank and dtype, got {x.dtype} {tuple(x.shape)} and "
            f"{y.dtype} {tuple(y.shape)}"
        )
    pieces = (len(by_row),) if sizes is None else tuple(sizes)
    if sum(pieces) != len(by_row):
        raise ValueError(f"pieces of {pieces} rows do not cut a product of {len(by_row)} rows")
    if torch.is_grad_enabled() and (x.requires_grad or y.requires_grad):
        outs = _ProductsByRow.apply(x, y, by_row, pieces)
    else:
        outs = _summed_by_row(x, y, by_row, pieces)
    return outs[0] if sizes is None else list(outs)


# --- channel mixing --------------------------------------------------------------------------------------------
def _mix(wc: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """W x per component: `[m, n]` on `[d, n, L]` → `[d, m, L]` (one batched GEMM, W broadcast over d)."""
    return torch.bmm(wc.expand(x.shape[0], *wc.shape), x)


class _Mix(torch.autograd.Function):
    @staticmethod
    def forward(ctx, wc, x):
        ctx.save_for_backward(wc, x)
        return _mix(wc, x)

    @staticmethod
    def backward(ctx, g):
        wc, x = ctx.saved_tensors
        gw = gx = None
        if ctx.needs_input_grad[0]:  # g xᴴ summed over the components, as conj(ḡ xᵀ): x is only transposed
            gw = torch.bmm(g.conj().resolve_conj(), x.mT).sum(0).conj()
        if ctx.needs_input_grad[1]:
            gx = torch.matmul(wc.mH.resolve_conj(), g)
        return gw, gx


def mix(wc: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """W x for complex W `[m, n]` on every component of x `[d, n, L]` → `[d, m, L]`."""
    return _Mix.apply(wc, x) if recording(x, wc, x) else _mix(wc, x)


# --- pair aggregation ------------------------------------------------------------------------------------------
def _planes_of(parts) -> torch.Tensor:
    """Complex rows `[D_k, τ, B, N]`, … → real planes `[ΣD, 2, τ, B, N]`, each number copied once."""
    tau, b, n = parts[0].shape[1:]
    first = torch.view_as_real(parts[0].resolve_conj())
    planes = first.new_empty((sum(t.shape[0] for t in parts), 2, tau, b, n))
    start = 0
    for t in parts:
        planes[start : start + t.shape[0]].copy_(torch.view_as_real(t.resolve_conj()).permute(0, 4, 1, 2, 3))
        start += t.shape[0]
    return planes


def _aggregated(f: torch.Tensor, planes: torch.Tensor, sizes, tau: int, b: int, n: int) -> list[torch.Tensor]:
    """Planes `[ΣD, 2, τ, B, N]` summed over j with f `[τ·B, N_i, N_j]` (one batched real GEMM), as complex rows per
    part: strided views of one tensor that keeps the jets outermost, which the consumers' gathers read as they
    are."""
    agg = stored(torch.bmm(planes.view(-1, tau * b, n).transpose(0, 1), f.mT), planes)  # [τ·B, 2ΣD, N_i]
    # to complex: each (jet, row)'s 2 × N block interleaved by torch.complex, which reads the real and imaginary
    # rows contiguously (a transposing copy moved the same bytes 2–3 % of a call slower: float64 B = 68, N = 45)
    a = agg.view(tau * b, -1, 2, n)
    z = torch.complex(a[:, :, 0], a[:, :, 1])  # [τ·B, ΣD, N_i]
    return list(torch.split(z.transpose(0, 1).view(-1, tau, b, n), sizes))


class _Aggregate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, f, *parts):
        tau, b, n = parts[0].shape[1:]
        sizes = [t.shape[0] for t in parts]
        planes = _planes_of(parts)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(f, *parts)
        ctx.planes, ctx.sizes, ctx.dims = planes, sizes, (tau, b, n)
        return tuple(_aggregated(f, planes, sizes, tau, b, n))

    @staticmethod
    def backward(ctx, *grads):
        f, *parts = ctx.saved_tensors
        # in a double backward the planes are differentiated as a function of the parts
        planes = _planes_of(parts) if torch.is_grad_enabled() else ctx.planes
        tau, b, n = ctx.dims
        rows = [
            torch.view_as_real(g.resolve_conj()) if g is not None else planes.new_zeros((d, tau, b, n, 2))
            for g, d in zip(grads, ctx.sizes)
        ]
        # dL/d(agg) `[τ·B, 2ΣD, N_i]`: each part's gradient `[D, τ, B, N, 2]` read as `[τ·B, D, 2, N]`, one copy
        g = torch.cat([r.flatten(1, 2).permute(1, 0, 3, 2) for r in rows], 1).view(tau * b, -1, n)
        gf = torch.bmm(g.mT, planes.view(-1, tau * b, n).transpose(0, 1)) if ctx.needs_input_grad[0] else None
        ga = torch.bmm(g, f).view(tau * b, -1, 2, n)  # [τ·B, ΣD, 2, N_j]
        out = [
            torch.view_as_complex(piece.permute(1, 0, 3, 2).contiguous()).view(d, tau, b, n)  # one copy
            for piece, d in zip(torch.split(ga, ctx.sizes, 1), ctx.sizes)
        ]
        return (gf, *out)


def aggregate(f: torch.Tensor, parts: list[torch.Tensor]) -> list[torch.Tensor]:
    """Σ_j f[c·B + b, i, j] · part[…, c, b, j] for each rows part `[D_k, τ, B, N]` (complex), f real
    `[τ·B, N_i, N_j]` → complex rows per part."""
    if recording(parts[0], f, *parts) and not torch.is_autocast_enabled(f.device.type):
        return list(_Aggregate.apply(f, *parts))
    tau, b, n = parts[0].shape[1:]
    return _aggregated(f, _planes_of(parts), [t.shape[0] for t in parts], tau, b, n)


__all__ = ["MIN_ROW_NUMBERS", "aggregate", "gather", "mix", "products_by_row", "recording", "stored"]
