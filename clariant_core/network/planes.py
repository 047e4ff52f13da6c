"""Complex activations as real planes: the layout a CG level computes in (docs/network.md, "Speed").

A complex activation `[B, N, τ, d]` (complex64/complex128) is held inside a level as one real tensor
`[d, 2, τ, B, N]` (float32/float64): representation index first, then the plane (0 real, 1 imaginary part), the
channel, and the particles last. Every operation is then real arithmetic on long contiguous rows — elementwise
kernels run over B·N numbers at a time, and a CG contraction is one gather of its nonzero terms and one GEMM
`[d_out, K] @ [K, 2·τ·B·N]` — and
`torch.compile` can fuse it (inductor does not generate complex kernels). The function computed is unchanged: a
complex product is its four real products, a complex matrix W = A + iB acts on (re; im) as [[A, −B], [B, A]].
"""

from __future__ import annotations

import torch


def to_planes(z: torch.Tensor) -> torch.Tensor:
    """complex `[B, N, τ, d]` → real planes `[d, 2, τ, B, N]` of the matching precision (a copy)."""
    return torch.stack([z.real, z.imag]).permute(4, 0, 3, 1, 2).contiguous()


def from_planes(r: torch.Tensor) -> torch.Tensor:
    """real planes `[d, 2, τ, B, N]` → complex `[B, N, τ, d]`."""
    return torch.complex(r[:, 0], r[:, 1]).permute(2, 3, 1, 0)


def multiplier(x: torch.Tensor) -> torch.Tensor:
    """The real 2×2 form of multiplication by x: planes `[d, 2, τ, ...]` → `[d, 2 (t, in), 2 (s, out), τ, ...]` with
    (x·y)_s = Σ_t y_t m[t, s]: m = [[x_re, x_im], [−x_im, x_re]]."""
    re, im = x[:, 0], x[:, 1]
    return torch.stack([re, im, -im, re], 1).unflatten(1, (2, 2))


def cg_product(mx: torch.Tensor, y: torch.Tensor, terms: tuple) -> torch.Tensor:
    """z_c = Σ_ab C[a, b, c] x_a y_b on planes, channel by channel (τ_x = τ_y, or either is 1 and broadcasts).

    mx: `multiplier(x)` `[d1, 2, 2, τ_x, ...]`; y: planes `[d2, 2, τ_y, ...]`; terms: `(i1, i2, coeff)` of
    CGProduct.terms(…, planes=True), coeff `[d_out, 2P]`. Returns planes `[d_out, 2, τ, ...]`: the P nonzero products
    x_{i1} y_{i2} over long rows and one real GEMM, whose K axis also sums the input planes."""
    i1, i2, coeff = terms
    prod = mx.index_select(0, i1) * y.index_select(0, i2)[:, :, None]  # [P, t, s, τ, ...]
    out = coeff @ prod.flatten(0, 1).flatten(1)  # [d_out, 2P] @ [2P, 2·τ·...]
    return out.view((coeff.shape[0],) + prod.shape[2:])


def real_block(w: torch.Tensor) -> torch.Tensor:
    """[[A, −B], [B, A]] `[2m, 2n]` of a complex `[m, n]` matrix stored as `w: [m, n, 2]` (A = re, B = im). Built each
    call: a block kept between calls would go stale when a weight is written without a version bump (a fused
    optimizer step, writes through `.data`)."""
    re, im = w[..., 0], w[..., 1]
    return torch.cat([torch.cat([re, -im], 1), torch.cat([im, re], 1)])


def linear(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """W x for a complex `[m, n]` matrix stored as (re, im) pairs `w: [m, n, 2]` on planes `x: [d, 2, n, ...]`
    → `[d, 2, m, ...]`: one real GEMM per representation component with [[A, −B], [B, A]]."""
    out = real_block(w) @ x.flatten(1, 2).flatten(2)  # [d, 2m, ...]
    return out.view(x.shape[:1] + (2, w.shape[0]) + x.shape[3:])


__all__ = ["cg_product", "from_planes", "linear", "multiplier", "real_block", "to_planes"]
