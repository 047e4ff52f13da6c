"""Λx as exact as float64 allows: the SL(2,C) action in double-double arithmetic, rounded once.

The suite wants the transformed input rounded *once* to the dtype under test. Two float64 shortcuts would break
that at large rapidity and charge their error to the model: a float64 Λ is itself Lorentz only to ~u‖Λ‖²
(Λᵀ η Λ − η ≈ 2·10⁻¹² at rapidity 6), and the float64 product Λx carries errors ~u(|Λ||x|) that exceed u|Λx| by up to
e^{2|y|} where components cancel. Here the SL(2,C) element M (its float64 entries taken as exact) acts on
X = x^μ σ_μ as X' = M X M† / |det M| in double-double arithmetic (clariant_core/ddouble.py): every intermediate
carries ~2·53 bits, so the result is an exact Lorentz transformation of x to ~u², then rounded to float64 once.

Only float64 operations are used (no extended precision, no FMA), so the result is the same on every platform.
"""

from __future__ import annotations

import torch

from clariant_core.group.ddouble import DD, two_sum

from .workers import run, workers_for


class CDD:
    """A complex double-double number (re, im as DD)."""

    __slots__ = ("re", "im")

    def __init__(self, re: DD, im: DD):
        self.re, self.im = re, im

    @staticmethod
    def of(z: torch.Tensor) -> CDD:
        return CDD(DD(z.real.contiguous()), DD(z.imag.contiguous()))

    def __add__(self, o: CDD) -> CDD:
        return CDD(self.re + o.re, self.im + o.im)

    def __sub__(self, o: CDD) -> CDD:
        return CDD(self.re - o.re, self.im - o.im)

    def __mul__(self, o: CDD) -> CDD:
        return CDD(self.re * o.re - self.im * o.im, self.re * o.im + self.im * o.re)

    def conj(self) -> CDD:
        return CDD(self.re, -self.im)


def lorentz_apply(m: torch.Tensor, x: torch.Tensor, *, chunk: int = 1 << 16) -> torch.Tensor:
    """Λ(M) x for SL(2,C) `m: [T, 2, 2]` complex128 and four-vectors `x: [..., 4]` float64 → `[T, ..., 4]` float64,
    computed in double-double and rounded once (agrees with `to_so13(m) @ x` up to float64 rounding of the latter).
    Works through at most `chunk` (transformation, vector) pairs at a time (temporaries ~25 MB each), the chunks
    on the CPU's cores at once."""
    if m.dtype != torch.complex128 or x.dtype != torch.float64:
        raise ValueError(f"lorentz_apply needs complex128 M and float64 x, got {m.dtype} and {x.dtype}")
    if m.ndim != 3 or m.shape[-2:] != (2, 2) or x.shape[-1:] != (4,):
        raise ValueError(f"lorentz_apply needs m [T, 2, 2] and x [..., 4], got {tuple(m.shape)} and {tuple(x.shape)}")
    t = m.shape[0]
    flat = x.reshape(-1, 4)
    out = torch.empty((t, flat.shape[0], 4), dtype=torch.float64, device=x.device)
    mm = [[CDD.of(m[:, i, j, None]) for j in range(2)] for i in range(2)]  # entries [T, 1]
    det = mm[0][0] * mm[1][1] - mm[0][1] * mm[1][0]
    # 1/|det M| = (1 + ε)^(-1/2), ε = |det M|² − 1 ~ u: 1 − ε/2 + 3ε²/8 is exact to O(u³)
    eps = (det.re * det.re + det.im * det.im) - DD(torch.ones_like(det.re.hi))
    inv = DD(torch.ones_like(eps.hi)) - eps.half() + DD(0.375 * eps.hi * eps.hi)
    step = max(1, chunk // max(t, 1))

    def job(start):
        def call():
            out[:, start : start + step] = _apply(mm, inv, flat[start : start + step])

        return call

    # the chunks are independent: on the CPU's cores at once (validate/workers.py); the result does not depend on it
    run([job(s) for s in range(0, flat.shape[0], step)], workers_for(x.device))
    return out.reshape((t, *x.shape))


def _apply(mm, inv: DD, x: torch.Tensor) -> torch.Tensor:
    """M X M† / |det M| for rows x `[V, 4]` and every M (entries `[T, 1]`) → `[T, V, 4]`."""
    x0, x1, x2, x3 = (x[None, :, k] for k in range(4))
    zero = DD(torch.zeros_like(x0))
    # X = x^μ σ_μ = [[x0 + x3, x1 − i x2], [x1 + i x2, x0 − x3]], exactly (two-sum for the diagonal)
    big = [
        [CDD(DD.norm(*two_sum(x0, x3)), zero), CDD(DD(x1), DD(-x2))],
        [CDD(DD(x1), DD(x2)), CDD(DD.norm(*two_sum(x0, -x3)), zero)],
    ]
    z = [[mm[i][0] * big[0][col] + mm[i][1] * big[1][col] for col in range(2)] for i in range(2)]  # M X
    y00 = z[0][0] * mm[0][0].conj() + z[0][1] * mm[0][1].conj()  # (M X M†)_00, real
    y11 = z[1][0] * mm[1][0].conj() + z[1][1] * mm[1][1].conj()
    y10 = z[1][0] * mm[0][0].conj() + z[1][1] * mm[0][1].conj()
    out = [(y00.re + y11.re).half(), y10.re, y10.im, (y00.re - y11.re).half()]
    return torch.stack([(c * inv).value() for c in out], -1)
