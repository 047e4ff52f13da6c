"""Complex activations as real planes: the layout a CG level computes in when it is compiled (docs/network.md,
"Speed").

A complex activation `[B, N, τ, d]` (complex64/complex128) is held inside a level as one real tensor
`[d, 2, τ, B, N]` (float32/float64): representation index first, then the plane (0 real, 1 imaginary part), the
channel, and the particles last. Every operation is real arithmetic on long contiguous rows, which `torch.compile`
can fuse (inductor does not generate complex kernels). A CG contraction is written out term by term with its
coefficients as constants (`CGProduct.constant_terms`): compiled, each product becomes one fused loop over B·N that
reads its two inputs and writes its output, with no gathered copies of the P terms in between. Run eagerly, the same
code is thousands of small kernels: an eager level computes in the complex rows of network/rows.py instead. The
function computed is unchanged: a complex product is its four real products, a complex matrix W = A + iB acts on
(re; im) as [[A, −B], [B, A]]. Both modules offer the same functions, so a level is written once for either.
"""

from __future__ import annotations

import torch

#: the channel axis of a tensor in this layout
CHANNELS = 2


def to_layout(*zs: torch.Tensor) -> torch.Tensor:
    """complex `[B, N, τ, d_k]`, … → real planes `[Σd_k, 2, τ, B, N]` of the matching precision, stacked along d (a
    copy)."""
    z = torch.cat(zs, -1) if len(zs) > 1 else zs[0]
    return torch.stack([z.real, z.imag]).permute(4, 0, 3, 1, 2).contiguous()


def from_layout(r: torch.Tensor) -> torch.Tensor:
    """real planes `[d, 2, τ, B, N]` → complex `[B, N, τ, d]`."""
    return torch.complex(r[:, 0], r[:, 1]).permute(2, 3, 1, 0)


def terms(product, dtype: torch.dtype, device=None) -> list:
    """A CGProduct's terms as this layout's `cg_product` takes them: Python constants (dtype and device unused)."""
    return product.constant_terms()


def cg_product(x: torch.Tensor, y: torch.Tensor, terms: tuple) -> torch.Tensor:
    """z_c = Σ_ab C[a, b, c] x_a y_b on planes, channel by channel (τ_x = τ_y, or either is 1 and broadcasts).

    x `[d1, 2, τ_x, ...]`, y `[d2, 2, τ_y, ...]`; terms: one path of `CGProduct.constant_terms()`, `((a, b, C), …)`
    per output row. Returns planes `[d_out, 2, τ, ...]`. Each product x_a y_b is formed once (re = x_re y_re −
    x_im y_im, im = x_re y_im + x_im y_re) and the rows are sums of constant multiples of them."""
    xr, xi, yr, yi = x[:, 0], x[:, 1], y[:, 0], y[:, 1]
    products: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}
    rows = []
    for row in terms:
        re = im = None
        for a, b, c in row:
            if (a, b) not in products:
                products[a, b] = (xr[a] * yr[b] - xi[a] * yi[b], xr[a] * yi[b] + xi[a] * yr[b])
            pr, pi = products[a, b]
            re, im = (c * pr, c * pi) if re is None else (re + c * pr, im + c * pi)
        if re is None:  # a row without terms
            re = im = torch.zeros_like(xr[0] * yr[0])
        rows.append(torch.stack([re, im]))
    return torch.stack(rows)


def cg_pieces(x: torch.Tensor, y: torch.Tensor, terms: tuple, sizes: list[int]) -> list[torch.Tensor]:
    """`cg_product` cut along its output rows into pieces of `sizes` rows (one per output irrep): views."""
    return list(torch.split(cg_product(x, y, terms), sizes))


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


def add_bias(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """x + b on the channels of planes `[1, 2, τ, ...]`, b stored as (re, im) pairs `[τ, 2]`."""
    return x + bias.T.reshape((2, -1) + (1,) * (x.ndim - 3))


def aggregate(f: torch.Tensor, parts: list[torch.Tensor]) -> list[torch.Tensor]:
    """Σ_j f[c·B + b, i, j] · part[…, c, b, j] for each planes part `[D_k, 2, τ, B, N]`, f real `[τ·B, N_i, N_j]`, in
    one real batched matmul that reads and writes the planes layout in place: per (channel, jet) the rows (D, plane)
    are one matrix with a long stride, which BLAS takes as it is (no transposed copy of the parts or of the result)."""
    sizes = [t.shape[0] for t in parts]
    tau, b, n = parts[0].shape[2:]
    rows = torch.cat(parts).view(-1, tau * b, n)  # [2ΣD, τ·B, N_j]
    agg = torch.bmm(rows.transpose(0, 1), f.mT).transpose(0, 1)  # [2ΣD, τ·B, N_i], a strided view
    return list(torch.split(agg.view(-1, 2, tau, b, n), sizes))


def scalar_features(s: torch.Tensor) -> torch.Tensor:
    """(0,0) planes `[1, 2, τ, B, N]` → real `[B, N, 2τ]`, (re, im) interleaved per channel."""
    return s[0].permute(2, 3, 1, 0).flatten(2)


def from_scalar_features(r: torch.Tensor) -> torch.Tensor:
    """The inverse of `scalar_features`: real `[B, N, 2τ]` → (0,0) planes `[1, 2, τ, B, N]`."""
    return r.unflatten(-1, (-1, 2)).permute(3, 2, 0, 1)[None]


__all__ = [
    "CHANNELS",
    "add_bias",
    "aggregate",
    "cg_pieces",
    "cg_product",
    "from_layout",
    "from_scalar_features",
    "linear",
    "real_block",
    "scalar_features",
    "terms",
    "to_layout",
]
