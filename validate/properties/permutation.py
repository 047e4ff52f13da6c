"""Permutation invariance (jet outputs) or equivariance (per-particle outputs, `per_particle=True`): reorder the real
particles — randomly, reversed, by ascending energy, by rapidity, by azimuth — and measure the change against the
precision floor (docs/properties.md)."""

from __future__ import annotations

import torch

from ._check import fail_unless, finish, rows_many, start
from .perturb import PERMUTATIONS, permute
from .result import PropertyResult
from .verdicts import PropertyVerdict

NAME = "permutation"


def check_permutation(
    model, p, mask, *, dtypes=None, kinds=PERMUTATIONS, seed: int = 0, **context_kw
) -> PropertyResult:
    """Measure and judge `model(p, mask)` under reorderings of the real particles.

    p: `[B, N, 4]` float (taken as exact, float64), mask `[B, N]` bool. dtypes: default (float64, float32).
    context_kw: takes_mask, per_particle, draws (floor draws), budget, device. Per-particle outputs `[B, N, ...]` are
    compared row by row after undoing the permutation. Returns a PropertyResult (rows per kind × dtype)."""
    ctx, dts, skipped, t0 = start(model, p, mask, dtypes, context_kw)
    cases = []
    for kind in kinds:
        p2, m2, idx = permute(ctx.p, ctx.mask, kind, seed)
        cases.append((kind, p2, m2, torch.argsort(idx, dim=1)))  # rows: the permuted row holding each original
    rows = rows_many(ctx, dts, NAME, cases)
    return finish(NAME, rows, [], skipped, t0)


def assert_permutation_invariant(model, p, mask, *, allow_numerical: bool = False, **kw) -> PropertyResult:
    """Assert PASS (NUMERICAL too with allow_numerical) of check_permutation; one-line AssertionError otherwise."""
    __tracebackhide__ = True
    ok = {PropertyVerdict.PASS} | ({PropertyVerdict.NUMERICAL} if allow_numerical else set())
    return fail_unless(check_permutation(model, p, mask, **kw), ok, "permutation invariance")
