"""Complex rows: the layout a CG level computes in when it runs eagerly (docs/network.md, "Speed").

A complex activation `[B, N, τ, d]` (complex64/complex128) is held inside a level as one complex tensor
`[d, τ, B, N]`: representation index first, then the channel, the particles last. A CG contraction is then one gather
of its nonzero terms, one complex multiply over long rows (one kernel: torch's complex arithmetic reads each number
once) and one real GEMM `[d_out, P] @ [P, τ·B·N·2]` on the interleaved (re, im) numbers, whose coefficients are real.
On long rows on the CPU each output row is instead summed from its own terms in place (`adjoints.products_by_row`:
a multiply and a multiply-add per term, and the same in its backward pass), which skips the gathered copies and
the GEMM's pass over them.
This moves about half the bytes of the real planes of network/planes.py, which spell a complex product as four real
ones so that `torch.compile` can fuse them (inductor does not generate complex kernels): a compiled level computes in
planes, an eager one in rows. Both modules offer the same functions, so a level is written once for either.
"""

from __future__ import annotations

import torch

from clariant_core.network import adjoints
from clariant_core.network.adjoints import gather, mix, products_by_row, stored
from clariant_core.numerics import is_transformed

#: the channel axis of a tensor in this layout
CHANNELS = 1


def to_layout(*zs: torch.Tensor) -> torch.Tensor:
    """complex `[B, N, τ, d_k]`, … → complex rows `[Σd_k, τ, B, N]`, stacked along d (one copy when the inputs are
    views of rows, as a level's outputs are)."""
    return torch.cat([z.permute(3, 2, 0, 1) for z in zs]).contiguous()


def from_layout(r: torch.Tensor) -> torch.Tensor:
    """complex rows `[d, τ, B, N]` → complex `[B, N, τ, d]` (a view)."""
    return r.permute(2, 3, 1, 0)


#: numbers per row (τ·B·N) from which a CG product is formed output row by output row (`adjoints.products_by_row`)
#: instead of by gather and GEMM. Measured on the shipped LGN (one thread, N = 45, 2-core AMD EPYC,
#: torch 2.13, alternating; ms per call, by GEMM against by row): float64 4 jets (720 numbers) 7.1 / 8.5, 16 jets
#: (2,880) 14.3 / 14.7, 32 jets (5,760) 23.2 / 22.2, 68 jets (12,240) 47.0 / 38.5; float32 16 jets 9.9 / 10.1,
#: 32 jets 15.2 / 15.2, 64 jets (11,520) 27.6 / 24.7, 136 jets 56.0 / 48.8. A training step (two threads, medians
#: of 22 alternating steps, by GEMM / by row): float32 B = 40, N = 52 (8,320) 51.1 / 43.1 ms, B = 1024, N = 20
#: 316 / 222 ms; float64 B = 40, N = 52 70.0 / 62.8 ms; below the cut-off, float64 B = 2, N = 45 18.7 / 22.0 ms
#: (the validation floor's reverse pass: short rows, where the GEMM stays), float32 B = 8, N = 45 19.6 / 20.5 ms
BY_ROW_MIN_ROW_NUMBERS = 8192


def terms(product, dtype: torch.dtype, device=None) -> list[tuple]:
    """A CGProduct's terms as this layout's `cg_product` takes them: index and coefficient tensors, and the same
    terms output row by output row as Python numbers (`CGProduct.constant_terms`)."""
    return [(*t, rows) for t, rows in zip(product.terms(dtype, device), product.constant_terms(), strict=True)]


def cg_product(x: torch.Tensor, y: torch.Tensor, terms: tuple) -> torch.Tensor:
    """z_c = Σ_ab C[a, b, c] x_a y_b on rows, channel by channel (τ_x = τ_y, or either is 1 and broadcasts).

    x `[d1, τ_x, ...]`, y `[d2, τ_y, ...]` complex; terms: `(i1, i2, coeff, by_row)` of `terms`, coeff real
    `[P, d_out]`. Returns rows `[d_out, τ, ...]`: the P nonzero products x_{i1} y_{i2} and one real GEMM over their
    interleaved real and imaginary parts — or, on long rows on the CPU, each output row summed from its own terms
    (`adjoints.products_by_row`, with its own backward pass)."""
    return products_by_row(x, y, terms[3]) if _rowwise(x, y) else _by_gemm(x, y, terms)


def cg_pieces(x: torch.Tensor, y: torch.Tensor, terms: tuple, sizes: list[int]) -> list[torch.Tensor]:
    """`cg_product` cut along its output rows into pieces of `sizes` rows (one per output irrep): summed by row, each
    piece is its own tensor (no split, whose backward concatenates the pieces' gradients: a float32 training step at
    B = 64, N = 50 took 1–7 % less time, min and median); by GEMM, views of the one product."""
    if _rowwise(x, y):
        return products_by_row(x, y, terms[3], sizes)
    return list(torch.split(_by_gemm(x, y, terms), sizes))


def _by_gemm(x: torch.Tensor, y: torch.Tensor, terms: tuple) -> torch.Tensor:
    """`cg_product` as the P gathered products and one real GEMM by their coefficients."""
    i1, i2, coeff, _ = terms
    prod = gather(x, i1) * gather(y, i2)  # [P, τ, ...] complex
    real = torch.view_as_real(prod)
    out = stored(coeff.T @ real.reshape(prod.shape[0], -1), real)  # [d_out, τ·…·2]
    return torch.view_as_complex(out.view((coeff.shape[1],) + prod.shape[1:] + (2,)))


def _rowwise(x: torch.Tensor, y: torch.Tensor) -> bool:
    """`products_by_row` computes the same function here and pays: no torch.func transform wraps the tensors and no
    forward-mode tangent rides on them (it writes into its result, which neither can follow; reverse-mode autograd
    gets its hand-written backward), no autocast (whose GEMM rounds to bfloat16/float16: the precision modes measure
    what autocast does), the CPU (on a GPU its many small kernels would each cost a launch), and rows long enough to
    pay for its Python loop."""
    return (
        x.device.type == "cpu"
        and max(row_numbers(x), row_numbers(y)) >= BY_ROW_MIN_ROW_NUMBERS
        and not torch.is_autocast_enabled(x.device.type)
        and not (is_transformed(x) or is_transformed(y))
        and not _dual(x, y)
    )


def row_numbers(x: torch.Tensor) -> int:
    """Numbers per row (x[0].numel(), without dispatching an indexing operation: this is asked ~80 times a call)."""
    return x.numel() // x.shape[0] if x.shape[0] else 0


def _dual(*tensors: torch.Tensor) -> bool:
    """A forward-mode AD tangent on any of the tensors (torch.autograd.forward_ad: out= functions have no forward
    derivative)."""
    from torch.autograd import forward_ad

    return any(forward_ad.unpack_dual(t).tangent is not None for t in tensors)


def linear(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """W x for a complex `[m, n]` matrix stored as (re, im) pairs `w: [m, n, 2]` on rows `x: [d, n, ...]` →
    `[d, m, ...]`: one batched complex GEMM, W shared by the d components (no copy of x)."""
    wc = torch.view_as_complex(w)
    d, n = x.shape[:2]
    return mix(wc, x.reshape(d, n, -1)).view((d, wc.shape[0]) + x.shape[2:])


def linear_add_(acc: torch.Tensor, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """acc += W x in place (`linear`'s product added into rows acc `[d, m, ...]` by the GEMM itself, no temporary);
    without gradients only, and in the rows only: a level accumulates its linear map only when it runs eagerly
    (layers._Accumulation)."""
    wc = torch.view_as_complex(w)
    d, n = x.shape[:2]
    acc.view(d, wc.shape[0], -1).baddbmm_(wc.expand(d, *wc.shape), x.reshape(d, n, -1))
    return acc


def add_bias(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """x + b on the channels of rows `[1, τ, ...]`, b stored as (re, im) pairs `[τ, 2]`."""
    return x + torch.view_as_complex(bias).view((1, -1) + (1,) * (x.ndim - 2))


def aggregate(f: torch.Tensor, parts: list[torch.Tensor]) -> list[torch.Tensor]:
    """Σ_j f[c·B + b, i, j] · part[…, c, b, j] for each rows part `[D_k, τ, B, N]`, f real `[τ·B, N_i, N_j]`. The
    parts are laid out once as real planes (per channel and jet a `[2ΣD, N]` matrix), multiplied by f in one batched
    real GEMM — half the arithmetic of a complex one — and the result read back as complex rows."""
    return adjoints.aggregate(f, parts)


def scalar_features(s: torch.Tensor) -> torch.Tensor:
    """(0,0) rows `[1, τ, B, N]` → real `[B, N, 2τ]`, (re, im) interleaved per channel."""
    return torch.view_as_real(s[0]).permute(1, 2, 0, 3).flatten(2)


def from_scalar_features(r: torch.Tensor) -> torch.Tensor:
    """The inverse of `scalar_features`: real `[B, N, 2τ]` → (0,0) rows `[1, τ, B, N]`."""
    return torch.view_as_complex(r.unflatten(-1, (-1, 2)).contiguous()).permute(2, 0, 1)[None]


__all__ = [
    "CHANNELS",
    "add_bias",
    "aggregate",
    "cg_pieces",
    "cg_product",
    "from_layout",
    "from_scalar_features",
    "linear",
    "linear_add_",
    "row_numbers",
    "scalar_features",
    "terms",
    "to_layout",
]
