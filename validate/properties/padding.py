"""Padding invariance: the jets as given (full width), with k more all-zero rows (mask False), with finite garbage in
masked rows, with padding before the real rows, and at the padded width a user trains with — none may change the
output (docs/properties.md). The Lorentz sweep trims padding before evaluating, so only this check sees padding bugs.

The reference is the model on the jets trimmed to their span (last real row + 1; see evaluate.Context): the
appended rows of each check come right after a jet's real rows, so they are what the model sees as padding.
"""

from __future__ import annotations

import torch

from ._check import fail_unless, finish, rows_for, rows_many, start
from ._deps import MODEL_ERRORS, ModelCallError, first_line
from .perturb import fill_masked, pad, pad_to, padding_first
from .result import PropertyResult
from .verdicts import PropertyVerdict

NAME = "padding"


def check_padding(
    model,
    p,
    mask,
    *,
    dtypes=None,
    extra=(1, 6),
    train_width: int | None = 200,
    width_jets: int | None = 64,
    seed: int = 0,
    **context_kw,
) -> PropertyResult:
    """Measure and judge `model(p, mask)` against padded variants of the same jets.

    Checks: "as given (width N)" (the jets at the width they came in; with trim=False the reference is that and the
    check is "trimmed to the span" instead); "append k rows" for each k in `extra`; "garbage in k masked rows"
    (k = max(extra), finite junk of the jet's energy scale, mask False; only for models that take a mask);
    "k padding rows first" (before the real rows); "padded to W" (W = train_width, when wider than the jets; on the
    first `width_jets` jets, None: all — each costs ∝ W²).
    context_kw: takes_mask, per_particle, draws, budget, trim, device."""
    ctx, dts, skipped, t0 = start(model, p, mask, dtypes, context_kw)
    b, n = ctx.mask.shape
    k_max = max(extra, default=1)
    rows = []

    def add(check, outputs, where=None, jets=None):
        rows.extend(rows_for(ctx, dts, NAME, check, outputs, where, jets=jets))

    if not ctx.trim:  # a fixed-width model: only the checks that keep the N rows
        fixed = _fixed_width_rows(ctx, dts, k_max, seed)
        return finish(NAME, fixed, [], skipped, t0, note=_FIXED_NOTE + ("" if fixed else _NO_ROOM))
    add(f"as given (width {n})", lambda dt: ctx.at_full_width(dt, ctx.p, ctx.mask))
    note = ""
    cases = {}  # rows kept after each jet's span → [(check, p', mask', rows)], one batched pass each
    for k in extra:
        cases.setdefault(k, []).append((f"append {k} row{'s' if k != 1 else ''}", *pad(ctx.p, ctx.mask, k), None))
    if ctx.model.takes_mask:
        cases.setdefault(k_max, []).append(
            (f"garbage in {k_max} masked rows", *fill_masked(ctx.p, ctx.mask, seed, k_max), None)
        )
    else:
        note = "no garbage check: a model without a mask cannot tell garbage rows from particles"
    for k, group in cases.items():
        rows.extend(rows_many(ctx, dts, NAME, group, extra=k))
    p3, m3 = padding_first(ctx.p, ctx.mask, k_max)
    rows.extend(
        rows_many(ctx, dts, NAME, [(f"{k_max} padding rows first", p3, m3, torch.arange(n).expand(b, n) + k_max)])
    )
    if train_width is not None and train_width > n:
        j = slice(0, b if width_jets is None else min(width_jets, b))
        p4, m4 = pad_to(ctx.p[j], ctx.mask[j], train_width)
        try:  # the asked-for dtypes first: a model with a fixed maximum particle count (a positional table) fails
            wide = {dt: ctx.at_full_width(dt, p4, m4) for dt in dts}  # here, at the caller's setting — said, not raised
        except MODEL_ERRORS as e:
            if isinstance(e, (ModelCallError, torch.OutOfMemoryError)):
                raise
            note = "; ".join(filter(None, [note, _too_wide(train_width, e)]))
        else:
            add(
                f"padded to {train_width}", lambda dt: wide[dt] if dt in wide else ctx.at_full_width(dt, p4, m4), jets=j
            )
    return finish(NAME, rows, [], skipped, t0, note=note)


def _too_wide(width: int, e: Exception) -> str:
    return (
        f"padded to {width}: not measured — the model fails at width {width} ({type(e).__name__}: {first_line(e)}); "
        "a model with a maximum particle count takes train_width=<that count> (train_width=None leaves this row out)"
    )


_FIXED_NOTE = (
    "a fixed-width model (trim=False): the checks that change the width (appended rows, another padded width) do "
    "not apply; garbage and leading padding go into the jets' own padding rows"
)


_NO_ROOM = "; these jets have no padding row to check"


def _fixed_width_rows(ctx, dts, k_max: int, seed: int) -> list:
    """The padding checks a fixed-width model can take at its N rows: garbage in the masked rows it has, and up to
    `k_max` padding rows moved before the real ones (as many as every jet has free)."""
    b, n = ctx.mask.shape
    cases = []
    if ctx.model.takes_mask and not bool(ctx.mask.all()):
        cases.append(("garbage in the masked rows", *fill_masked(ctx.p, ctx.mask, seed), None))
    k = min(k_max, int((~ctx.mask).sum(1).min()))
    p3, m3 = padding_first(ctx.p, ctx.mask, k)
    if k > 0 and not bool(m3[:, n:].any()):  # every jet's last k rows are padding: nothing real is cut
        where = torch.arange(n).expand(b, n) + k
        cases.append((f"{k} padding rows first", p3[:, :n], m3[:, :n], where.clamp_max(n - 1)))
    return rows_many(ctx, dts, NAME, cases) if cases else []


def assert_padding_invariant(model, p, mask, *, allow_numerical: bool = False, **kw) -> PropertyResult:
    """Assert PASS (NUMERICAL too with allow_numerical) of check_padding; one-line AssertionError otherwise."""
    __tracebackhide__ = True
    ok = {PropertyVerdict.PASS} | ({PropertyVerdict.NUMERICAL} if allow_numerical else set())
    return fail_unless(check_padding(model, p, mask, **kw), ok, "padding invariance")
