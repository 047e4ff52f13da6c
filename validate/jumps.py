"""A second look at jets whose error lies far beyond their floor: outputs that rounding flips between two values
(docs/validation.md, "A second look").

An output that jumps under rounding — which of two particles at equal p₀·p_j in exact arithmetic is the k-th nearest
neighbour (`torch.topk`) — does so for some fraction q of the roundings. The floor's probes and its `FINITE_DRAWS`
draws (floor.py) miss it with probability (1 − q)⁴, 41 % for q = 0.2; `MORE_DRAWS` draws with 0.8³² ≈ 10⁻³. Before an
error beyond `LOOK` × its floor is believed — or beyond the PASS bound (10²) on a row whose median fails that bound —
the jet is looked at again, each time with `MORE_DRAWS` seeded roundings
of the rounding model (floor.py) at the dtype's unit roundoff, f in float64:

- at rest: RMS ‖ρ(f(x + δ₀) − f(x + δ₀′))‖ / ‖ρ f(x)‖ over the pairs of the draws, one value for every
  transformation — a jump that rounding decides at the jet itself (an exact tie) happens under every transformation too;
- at a transformation: RMS ‖ρ_Λ(f(x + Λ⁻¹δ) − f(x + δ₀))‖ / ‖ρ_Λ f(x)‖, the rounding of Λx pulled back — a near-tie
  that only the larger roundings of a boosted jet reach.

A jet's floor becomes the larger of its floor and what the look found (never lower: a smooth response at rest is
below the floor, which grows with the boost). The look is bounded where it cannot change a verdict: first `SAMPLE`
jets spread over those beyond, at rest and at their transformation beyond with the largest floor (where a jump is
likeliest). Where that explains none of their errors, the errors stand — no rounding jump on them — and no other jet
is looked at: a smooth break beyond on every jet costs at most 8 × 2 × `MORE_DRAWS` evaluations. Otherwise every
jet beyond is looked at, at rest and at each transformation still beyond. Draws whose output is not finite say
nothing about a jump and are left out.
"""

from __future__ import annotations

import torch

from . import action
from . import floor as floors  # a cycle: floor.py holds a Jumps; used at call time only
from .bounds import DEFAULT_THRESHOLD, TAIL
from .context import Context
from .evaluation import evaluated_widths
from .statistics import row_medians, spread

MORE_DRAWS = 32
#: an error beyond this many times its floor is looked at again: beyond anything the verdicts allow rounding (the
#: default threshold on the median, and the tail's factor over it). The look is a measurement, made once at the
#: default threshold; a verdict judged at another threshold reads the floor it left.
LOOK = TAIL * DEFAULT_THRESHOLD
_TINY = torch.finfo(torch.float64).tiny
SAMPLE = 8  # jets looked at first (spread over those beyond)
STEP_NUMBERS = 1 << 22  # input numbers per step of the look at the transformations (32 MB in float64)


class Jumps:
    """What the second looks found, per unit roundoff: `[T, B]` floors (0 where not looked at), and how many jets
    they looked at and found within rounding."""

    def __init__(self):
        self.found: dict[float, torch.Tensor] = {}
        self.jets: dict[float, int] = {}  # jets looked at
        self.explained: dict[float, int] = {}  # jets with an error beyond that the look found within rounding

    def at(self, u: float) -> list[torch.Tensor]:
        """The floors found at u and at every finer unit roundoff (a jump found there happens at u too)."""
        return [jump for v, jump in self.found.items() if v <= u]

    def look(self, ctx: Context, u: float, errors: torch.Tensor, floor: torch.Tensor, rest) -> bool:
        """Look again at the jets whose finite error `[T, B]` exceeds `LOOK` × their floor somewhere — or the PASS
        bound on a row whose median fails it (floor: the input floor `[T, B]` at u; rest: what the floor adds to it,
        output and harness rounding). Whether it looked."""
        if u in self.found:
            return False
        t, b = errors.shape
        # beyond `LOOK` × the floor; on a row whose median fails the PASS bound, beyond that bound already (a jump
        # that rounding decides, 10²–10⁴ × the floor on most jets — a feature binned by torch.round — fails it)
        fails = row_medians(errors / (floor + rest).clamp_min(_TINY)) > DEFAULT_THRESHOLD
        limit = torch.where(fails, DEFAULT_THRESHOLD, LOOK).to(errors.dtype)[:, None]
        beyond = torch.isfinite(errors) & (errors > limit * (floor + rest))
        if not bool(beyond.any()):
            return False
        jets = torch.nonzero(beyond.any(0))[:, 0]
        jump = torch.zeros(t, b, dtype=torch.float64)
        draws = {}
        first = jets[spread(len(jets), SAMPLE)]
        # each sampled jet at its transformation beyond with the largest rounding: where a jump is likeliest
        largest = torch.zeros(t, b, dtype=torch.bool)
        largest[torch.where(beyond, floor, -1.0)[:, first].argmax(0), first] = True
        self._expect(ctx, first, 2)
        self._at_rest(ctx, first, u, jump, draws)
        self._at_transformations(ctx, largest, u, jump, draws)

        def still():
            return beyond & (errors > limit * (torch.maximum(floor, jump) + rest))

        looked = len(first)
        if bool((beyond & ~still())[:, first].any()):  # rounding flips the output: every jet beyond is looked at
            others = jets[~torch.isin(jets, first)]
            if len(others):
                self._expect(ctx, others, 1)
                self._at_rest(ctx, others, u, jump, draws)
            entries = still() & ~largest
            self._expect_entries(ctx, entries)
            self._at_transformations(ctx, entries, u, jump, draws)
            looked = len(jets)
        self.found[u], self.jets[u] = jump, looked
        self.explained[u] = int((beyond & ~still()).any(0).sum())
        return True

    def _at_rest(self, ctx: Context, jets: torch.Tensor, u: float, jump: torch.Tensor, draws: dict) -> None:
        """RMS over the pairs of `MORE_DRAWS` roundings of the jets themselves (from their spread: E‖a − b‖² over
        independent draws is twice their variance); keeps f(x + δ₀) for the look at the transformations."""
        x, mask = ctx.x64[jets], ctx.mask[jets]
        n = len(jets)
        g = torch.Generator().manual_seed(ctx.seed + 130363 + n)
        r = torch.rand((MORE_DRAWS, *x.shape), generator=g, dtype=torch.float64) * 2 - 1
        f = ctx.evaluate(torch.float64, (x + floors.drawn_at(u) * r * x).flatten(0, 1), mask.repeat(MORE_DRAWS, 1))
        f = f.unflatten(0, (MORE_DRAWS, n)).transpose(0, 1)  # [n, K, ...]
        for i, j in enumerate(jets.tolist()):
            draws[j] = f[i]
        # draws whose output is not finite are left out of the spread
        finite = torch.isfinite(f.reshape(n, MORE_DRAWS, -1)).all(-1)  # [n, K]
        k = finite.sum(1)
        zero = torch.zeros_like(f)
        shape = (n, MORE_DRAWS) + (1,) * (f.ndim - 2)
        mean = torch.where(finite.view(shape), f, zero).sum(1, keepdim=True) / k.clamp_min(1).view((n, 1) + shape[2:])
        spread = torch.where(finite.view(shape), f - mean, zero).flatten(0, 1)[None]  # [1, n·K, ...]
        ref = ctx.reference(torch.float64)[jets][None]
        invariant = ctx.out_rep.is_invariant  # ρ = 1: one value for every transformation
        pairs = 2 / (k - 1).clamp_min(1)  # E‖a − b‖² over the pairs = 2 Σ_k ‖f_k − f̄‖² / (k − 1)
        for s in range(1 if invariant else ctx.shape[0]):
            one = slice(s, s + 1)
            sq = action.norm(ctx.act(spread, one)).square().view(n, MORE_DRAWS).sum(1) * pairs
            found = action.relative(sq.sqrt(), action.norm(ctx.act(ref, one))[0])
            rows = slice(None) if invariant else s
            jump[rows, jets] = torch.maximum(jump[rows, jets], found)

    def _at_transformations(self, ctx: Context, entries: torch.Tensor, u: float, jump: torch.Tensor, draws) -> None:
        """RMS over `MORE_DRAWS` roundings of Λx pulled back, against the jet's own draws at rest, at `entries`
        `[T, B]` (bool), in steps of at most `STEP_NUMBERS` input numbers."""
        ts, js = torch.nonzero(entries, as_tuple=True)
        g = torch.Generator().manual_seed(ctx.seed + 15485863)
        per = max(1, STEP_NUMBERS // (MORE_DRAWS * ctx.x64[0].numel()))
        ref = ctx.reference(torch.float64)
        for s in range(0, len(ts), per):
            t, j = ts[s : s + per], js[s : s + per]
            x, mask, xs = ctx.x64[j], ctx.mask[j], ctx.xs[t, j]  # [E, N, 4]
            r = torch.rand((MORE_DRAWS, *xs.shape), generator=g, dtype=torch.float64) * 2 - 1
            pulled = torch.einsum("eij,kenj->keni", ctx.lam_inv[t], floors.drawn_at(u) * r * xs)
            f = ctx.evaluate(torch.float64, (x + pulled).flatten(0, 1), mask.repeat(MORE_DRAWS, 1))
            f = f.unflatten(0, (MORE_DRAWS, len(t))).transpose(0, 1)  # [E, K, ...]
            at_rest = torch.stack([draws[i] for i in j.tolist()])  # [E, K, ...]
            sq = _finite_mean(action.norm(ctx.act(f - at_rest, t)).square())
            found = action.relative(sq.sqrt(), action.norm(ctx.act(ref[j][:, None], t))[:, 0])
            jump[t, j] = torch.maximum(jump[t, j], found)

    @staticmethod
    def _expect(ctx: Context, jets: torch.Tensor, evaluations: int) -> None:
        if ctx.expect is not None:
            ctx.expect(evaluations * MORE_DRAWS * float(evaluated_widths(ctx.mask[jets], ctx.trim).sum()))

    @staticmethod
    def _expect_entries(ctx: Context, entries: torch.Tensor) -> None:
        if ctx.expect is not None and bool(entries.any()):
            width = evaluated_widths(ctx.mask, ctx.trim).to(torch.float64)
            ctx.expect(MORE_DRAWS * float((entries.sum(0) * width).sum()))


def _finite_mean(sq: torch.Tensor) -> torch.Tensor:
    """Mean over the last axis of the finite values (0 where none is)."""
    finite = torch.isfinite(sq)
    return torch.where(finite, sq, torch.zeros_like(sq)).sum(-1) / finite.sum(-1).clamp_min(1)


__all__ = ["LOOK", "MORE_DRAWS", "SAMPLE", "Jumps"]
