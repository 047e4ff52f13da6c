"""Statistics over jets: the order statistics that rows report and verdicts use (docs/validation.md, "Statistics").

Every statistic is an actual sample (never an interpolation), so an infinite error stays infinite instead of
becoming NaN. The tail statistic holds for small batches: it sets aside the worst ⌊5 %⌋ of jets — at least one
jet once there are two — so with fewer than 20 jets one ill-conditioned jet does not decide the row on its own
(a symmetry bug moves every jet, and the median sees it).
"""

from __future__ import annotations

import torch

TAIL_FRACTION = 0.05


def spread(n: int, k: int) -> torch.Tensor:
    """At most k indices spread evenly over range(n), first and last included."""
    return torch.linspace(0, n - 1, min(k, n)).round().long().unique()


def median(x: torch.Tensor) -> float:
    """The lower median of a 1-d tensor (an actual sample)."""
    return float(x.to(torch.float64).median())


def tail_index(n: int) -> int:
    """Index into the ascending sort of n samples that `p95` returns: n − 1 − max(1, ⌊0.05 n⌋) for n ≥ 2.
    For n ≥ 20 this is the 95th percentile taken as the next sample above it."""
    if n < 1:
        raise ValueError("no samples")
    if n == 1:
        return 0
    return n - 1 - max(1, int(TAIL_FRACTION * n))


def row_medians(x: torch.Tensor) -> torch.Tensor:
    """`median` of each row of `[T, B]` (per transformation, over its jets) → `[T]` float64."""
    return torch.tensor([median(r) for r in x], dtype=torch.float64)


def p95(x: torch.Tensor) -> float:
    """The tail statistic of a 1-d tensor: the largest sample after setting aside the worst max(1, ⌊0.05 n⌋)."""
    x = x.reshape(-1).to(torch.float64)
    return float(x.sort().values[tail_index(x.numel())])


def summary(x: torch.Tensor, prefix: str) -> dict:
    """{prefix_median, prefix_p95, prefix_max} of a 1-d tensor."""
    x = x.reshape(-1).to(torch.float64)
    return {f"{prefix}_median": median(x), f"{prefix}_p95": p95(x), f"{prefix}_max": float(x.max())}


__all__ = ["TAIL_FRACTION", "median", "p95", "row_medians", "spread", "summary", "tail_index"]
