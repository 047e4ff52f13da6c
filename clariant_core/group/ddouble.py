"""Double-double arithmetic on tensors: error-free transformations (Knuth's two-sum, Dekker's two-product) and
numbers carried as an unevaluated sum hi + lo, about twice the working precision (float64 → ~106 bits, float32 →
~48 bits), with only working-precision operations — no extended precision, no FMA, the same result on every
platform. Used where a short computation must not lose the digits that cancellation would cost: the jet rest frame
(frames.py) and the validation suite's transformed inputs (validate/exact.py).
"""

from __future__ import annotations

import torch

_SPLITTER = {torch.float64: 134217729.0, torch.float32: 4097.0}  # 2^⌈p/2⌉ + 1


def two_sum(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """s + e = a + b exactly, s = fl(a + b) (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    c = _SPLITTER[a.dtype] * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """p + e = a·b exactly, p = fl(a·b) (Dekker; float32 or float64, far from overflow)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


class DD:
    """A double-double number hi + lo (|lo| ≤ ulp(hi)/2), elementwise over tensors of one real dtype."""

    __slots__ = ("hi", "lo")

    def __init__(self, hi: torch.Tensor, lo: torch.Tensor | None = None):
        self.hi = hi
        self.lo = torch.zeros_like(hi) if lo is None else lo

    def __getitem__(self, index) -> DD:
        return DD(self.hi[index], self.lo[index])

    @staticmethod
    def norm(s: torch.Tensor, e: torch.Tensor) -> DD:
        """hi + lo = s + e with |s| ≥ |e| (quick two-sum)."""
        hi = s + e
        return DD(hi, e - (hi - s))

    @staticmethod
    def product(a: torch.Tensor, b: torch.Tensor) -> DD:
        return DD(*two_prod(a, b))

    def __add__(self, other: DD) -> DD:  # the accurate (IEEE-style) double-double sum
        s, e = two_sum(self.hi, other.hi)
        t, f = two_sum(self.lo, other.lo)
        first = DD.norm(s, e + t)
        return DD.norm(first.hi, first.lo + f)

    def __neg__(self) -> DD:
        return DD(-self.hi, -self.lo)

    def __sub__(self, other: DD) -> DD:
        return self + (-other)

    def __mul__(self, other: DD) -> DD:
        p, e = two_prod(self.hi, other.hi)
        return DD.norm(p, e + (self.hi * other.lo + self.lo * other.hi))

    def __truediv__(self, other: DD) -> DD:
        q1 = self.hi / other.hi
        r = self - other * DD(q1)
        q2 = r.hi / other.hi
        r = r - other * DD(q2)
        return DD.norm(q1, q2) + DD(r.hi / other.hi)

    def sqrt(self) -> DD:
        """√(hi + lo) for hi > 0: one Newton correction of the working-precision root."""
        s = torch.sqrt(self.hi)
        r = self - DD.product(s, s)
        return DD.norm(s, r.hi / (2 * s))

    def half(self) -> DD:
        return DD(self.hi * 0.5, self.lo * 0.5)

    def value(self) -> torch.Tensor:
        """Rounded once to the working precision."""
        return self.hi + self.lo
