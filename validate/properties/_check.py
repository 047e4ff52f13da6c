"""Shared plumbing of the check modules: building the context, collecting rows, the one-line assertion."""

from __future__ import annotations

import time
from dataclasses import replace

import torch

from ._deps import MODEL_ERRORS, dtype_name, first_line
from .evaluate import DEFAULT_DTYPES, Context, usable
from .judge import judge_rows
from .result import PropertyResult, Row
from .verdicts import PropertyVerdict, worst


class Dtypes(tuple):
    """The dtypes a check reports (iterating gives them), plus `companion`: when only one of float32/float64 is
    among them, the other one, measured to judge the must-vanish rows (rounding shrinks with u, a bug does not) but
    never reported — as the Lorentz sweep's companion precision. None when both are there or it cannot run."""

    companion: torch.dtype | None = None
    skipped: dict | None = None  # the check's "not measured" reasons, where a companion left out is added

    @classmethod
    def of(cls, dts) -> Dtypes:
        """`dts` itself, or a plain list of dtypes as Dtypes without a companion."""
        return dts if isinstance(dts, Dtypes) else cls(dts)

    @property
    def judged(self) -> tuple[torch.dtype, ...]:
        return (*self, self.companion) if self.companion is not None else tuple(self)


def start(model, p, mask, dtypes, kw) -> tuple[Context, Dtypes, dict[str, str], float]:
    ctx = Context.make(model, p, mask, **kw)
    dts, skipped = usable(ctx, DEFAULT_DTYPES if dtypes is None else dtypes)
    out = Dtypes(dts)
    if not {torch.float32, torch.float64} <= set(dts):
        other = torch.float32 if torch.float64 in dts else torch.float64
        try:
            ctx.reference(other)
            out.companion = other
        except MODEL_ERRORS as e:  # no second precision: the single-precision rule judges (properties/judge.py)
            skipped.setdefault(dtype_name(other), _left_out(other, e))
    ctx.settle_units()
    ctx.probe(out.judged)
    out.skipped = skipped  # a companion left out later is said here too (`judged_outputs`)
    return ctx, out, skipped, time.time()


def rows_for(ctx: Context, dts, prop: str, check: str, outputs, rows=None, sign: float = 1.0, jets=None) -> list[Row]:
    """Judge one must-vanish check: `outputs(dtype)` gives the perturbed outputs at that dtype (of the reference
    jets `jets`, all if None), for every dtype of `dts.judged`; the rows of the reported ones are returned."""
    sel = slice(None) if jets is None else jets
    outs = judged_outputs(dts, outputs)
    changes = {dtype_name(dt): ctx.change(dt, sign * out, rows, jets) for dt, out in outs.items()}
    floors = {dtype_name(dt): ctx.reference(dt).floor[sel] for dt in outs}
    reported = {dtype_name(dt) for dt in dts}
    units = {dtype_name(dt): ctx.unit(dt) for dt in outs}
    rows = [r for r in judge_rows(prop, check, changes, floors, units) if r.dtype in reported]
    return unresolved_if_inconsistent(ctx, rows)


def unresolved_if_inconsistent(ctx: Context, items: list) -> list:
    """Rows or scans as judged — or, for a model that is not a deterministic function of one jet (its floors already
    raised to what it varies by: Context.reference), UNRESOLVED where they would hold (PASS, NUMERICAL, SAFE) with that
    finding as the reason, and rows UNRESOLVED already keep theirs with the finding added; BROKEN, UNSAFE and
    NONFINITE stand: a change far beyond the spread."""
    found = ctx.found
    if found is None:
        return items
    out = []
    for r in items:
        if r.verdict in (PropertyVerdict.PASS, PropertyVerdict.NUMERICAL, PropertyVerdict.SAFE):
            r = replace(r, verdict=PropertyVerdict.UNRESOLVED, reason=found.reason)
        elif r.verdict == PropertyVerdict.UNRESOLVED and found.short not in r.reason:
            r = replace(r, reason=f"{r.reason}; and {found.short}")
        out.append(r)
    return out


def judged_outputs(dts, outputs) -> dict:
    """{dtype: outputs(dtype)} for the dtypes a check reports and its companion; a companion the model fails at on
    these jets (the suite's own addition, not asked for) is left out: the rows are then judged on one precision."""
    dts = Dtypes.of(dts)
    out = {dt: outputs(dt) for dt in dts}
    if dts.companion is not None:
        try:
            out[dts.companion] = outputs(dts.companion)
        except MODEL_ERRORS as e:
            if dts.skipped is not None:
                dts.skipped.setdefault(dtype_name(dts.companion), _left_out(dts.companion, e))
    return out


def _left_out(dt, e: Exception) -> str:
    return (
        f"the comparison precision, left out: the model failed in {dtype_name(dt)} ({type(e).__name__}: "
        f"{first_line(e)}); the other precision is judged on its own"
    )


def rows_many(ctx: Context, dts, prop: str, cases, extra: int = 0, sign: float = 1.0) -> list[Row]:
    """Judge several must-vanish checks evaluated in one batched pass per dtype: cases [(check, p', mask', rows)]
    (rows: see Context.change; None for the identity). Rows ordered by case, then dtype."""
    outs = judged_outputs(dts, lambda dt: ctx.eval_many(dt, [(c[1], c[2]) for c in cases], extra))
    rows = []
    for k, (check, _, _, where) in enumerate(cases):
        rows += rows_for(ctx, dts, prop, check, lambda dt, k=k: outs[dt][k], where, sign)
    return rows


def by_dtype(items) -> dict[str, PropertyVerdict]:
    out: dict[str, list] = {}
    for r in items:
        out.setdefault(r.dtype, []).append(r.verdict)
    return {k: worst(v) for k, v in out.items()}


def finish(name, rows, scans, skipped, t0, verdict=None, note="", per_dtype=None) -> PropertyResult:
    items = [*rows, *scans]
    per_dtype = per_dtype if per_dtype is not None else by_dtype(items)
    # a check that measured nothing (no jet could take its perturbation) is UNRESOLVED, never PASS
    v = verdict if verdict is not None else worst(r.verdict for r in items) if items else PropertyVerdict.UNRESOLVED
    return PropertyResult(name, v, list(rows), list(scans), per_dtype, skipped, time.time() - t0, note)


def fail_unless(result: PropertyResult, ok: set, what: str) -> PropertyResult:
    """Raise AssertionError (one line) unless the property's verdict is in `ok`."""
    __tracebackhide__ = True
    if result.verdict not in ok:
        raise AssertionError(f"{what} {result.verdict}: {result.worst_line() or result.note}")
    return result
