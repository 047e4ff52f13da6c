"""Infrared and collinear safety (docs/properties.md).

Infrared: add a massless particle of energy fraction ε of the jet, in a random direction and collinear with the
hardest particle, for ε in half-decades from 10⁻¹ down to the dtype's limit (u) or √u₆₄ ≈ 10⁻⁸, whichever is
larger; an IR-safe output changes like a positive power of ε, an unsafe one plateaus. Collinear: split the
hardest particle into exactly collinear daughters (fractions z, 1 − z) — the change must be at the precision
floor — and into daughters with opening angle θ → 0 (a scan like ε).
"""

from __future__ import annotations

import torch

from ._check import fail_unless, finish, rows_many, start, unresolved_if_inconsistent
from ._deps import dtype_name, unit_roundoff
from .evaluate import Context
from .judge import judge_scan
from .perturb import collinear_split, decades, soft_emission
from .result import PropertyResult
from .verdicts import PropertyVerdict, as_safety, worst

IR, COLLINEAR = "infrared", "collinear"
DIRECTIONS = ("any direction", "collinear")
SPLITS = (0.5, 0.25, 0.1, 1e-2, 1e-3)


def default_grid(dtype: torch.dtype, top: float = 0.1) -> list[float]:
    """Half-decades from `top` down to max(u, √u₆₄) (float64 and float32: 10⁻¹ … 3·10⁻⁸; bfloat16: … 10⁻²·⁵).

    Below u of the dtype a soft particle no longer changes the jet's energy sum at all (the dtype's limit); below
    √u₆₄ ≈ 10⁻⁸ the grid stops in float64 too — seven decades show a power law or a plateau, and each
    half-decade costs one more evaluation."""
    return decades(max(unit_roundoff(dtype), unit_roundoff(torch.float64) ** 0.5), top, per_decade=2)


def _jet_level(ctx):
    if ctx.model.per_particle:
        raise ValueError("infrared and collinear safety are defined for jet-level outputs, not per-particle ones")


def _with_room(ctx):
    """(context, note) for checks that add a particle: a fixed-width model (trim=False) takes only the jets with a
    free padding row (the particle goes there); None when no jet has one."""
    if ctx.trim:
        return ctx, ""
    room = ~ctx.mask.all(1)
    if not room.any():
        return None, f"a fixed-width model (trim=False) and no jet with a free padding row of {ctx.mask.shape[1]}"
    if room.all():
        return ctx, ""
    sub = Context.make(ctx.model, ctx.p[room], ctx.mask[room], draws=ctx.draws, seed=ctx.seed, trim=False)
    left = int((~room).sum())
    return (
        sub,
        f"a fixed-width model (trim=False): {left} jet{'s' if left != 1 else ''} without a free padding row left out",
    )


def _scan(ctx, dt, prop, check, parameter, values, perturbed):
    outs = ctx.eval_many(dt, [perturbed(v) for v in values])  # every value in one batched pass
    changes = torch.stack([ctx.change(dt, o) for o in outs])
    scan = judge_scan(prop, check, dtype_name(dt), parameter, values, changes, ctx.reference(dt).floor)
    return unresolved_if_inconsistent(ctx, [scan])[0]


def check_infrared(
    model, p, mask, *, dtypes=None, fractions=None, directions=DIRECTIONS, seed: int = 0, **context_kw
) -> PropertyResult:
    """Scan the change Δ(ε) of `model(p, mask)` when one soft particle of energy fraction ε is added ("any
    direction": seeded, uniform on the sphere, the same for every ε; "collinear": along the hardest particle).
    fractions: descending ε values (default: default_grid(dtype) per dtype). Returns a PropertyResult of scans."""
    ctx, dts, skipped, t0 = start(model, p, mask, dtypes, context_kw)
    _jet_level(ctx)
    ctx, note = _with_room(ctx)
    if ctx is None:
        return finish(IR, [], [], skipped, t0, note=note)
    scans = []
    for direction in directions:
        if direction not in DIRECTIONS:
            raise ValueError(f"soft directions must be among {DIRECTIONS}, got {direction!r}")
        for dt in dts:
            values = sorted(fractions or default_grid(dt), reverse=True)
            scans.append(
                _scan(
                    ctx,
                    dt,
                    IR,
                    f"soft, {direction}",
                    "ε",
                    values,
                    lambda e, c=direction == "collinear": soft_emission(ctx.p, ctx.mask, e, collinear=c, seed=seed),
                )
            )
    return finish(IR, [], scans, skipped, t0, note=note)


def check_collinear(
    model, p, mask, *, dtypes=None, splits=SPLITS, angles=None, z: float = 0.3, seed: int = 0, **context_kw
) -> PropertyResult:
    """Exactly collinear splits of the hardest particle (one row per z in `splits`, judged at the floor: SAFE /
    UNSAFE) and a scan of nearly collinear splits (fraction z, opening angle θ over `angles`, default the
    half-decades of default_grid). Returns a PropertyResult of rows and scans."""
    ctx, dts, skipped, t0 = start(model, p, mask, dtypes, context_kw)
    _jet_level(ctx)
    ctx, note = _with_room(ctx)
    if ctx is None:
        return finish(COLLINEAR, [], [], skipped, t0, note=note)
    cases = [(f"exact split z={zz:g}", *collinear_split(ctx.p, ctx.mask, zz), None) for zz in splits]
    rows = [type(r)(**{**r.to_dict(), "verdict": as_safety(r.verdict)}) for r in rows_many(ctx, dts, COLLINEAR, cases)]
    scans = [
        _scan(
            ctx,
            dt,
            COLLINEAR,
            f"split z={z:g}, opening angle θ",
            "θ",
            sorted(angles or default_grid(dt), reverse=True),
            lambda t: collinear_split(ctx.p, ctx.mask, z, t, seed=seed),
        )
        for dt in dts
    ]
    return finish(COLLINEAR, rows, scans, skipped, t0, verdict=_safety([*rows, *scans]), note=note)


def _safety(items) -> PropertyVerdict:
    v = worst(r.verdict for r in items)
    return PropertyVerdict.SAFE if v in (PropertyVerdict.PASS, PropertyVerdict.NUMERICAL) else v


def assert_ir_safe(model, p, mask, **kw) -> PropertyResult:
    """Assert that check_infrared finds the model SAFE; one-line AssertionError otherwise."""
    __tracebackhide__ = True
    return fail_unless(check_infrared(model, p, mask, **kw), {PropertyVerdict.SAFE}, "infrared safety")


def assert_collinear_safe(model, p, mask, **kw) -> PropertyResult:
    """Assert that check_collinear finds the model SAFE; one-line AssertionError otherwise."""
    __tracebackhide__ = True
    return fail_unless(check_collinear(model, p, mask, **kw), {PropertyVerdict.SAFE}, "collinear safety")
