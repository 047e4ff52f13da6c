"""All property checks of one model on one set of jets, sharing the model copies, references and floors."""

from __future__ import annotations

import time

import clariant_core as cc

from .evaluate import Context
from .irc import check_collinear, check_infrared
from .padding import check_padding
from .parity import check_parity
from .permutation import check_permutation
from .result import PropertyResult

PROPERTIES = ("permutation", "padding", "infrared", "collinear", "parity")


def run_all(
    model,
    p,
    mask,
    *,
    dtypes=None,
    properties=PROPERTIES,
    train_width: int | None = 200,
    scan_jets: int | None = 64,
    takes_mask: bool = True,
    per_particle: bool = False,
    seed: int = 0,
    draws: int = 2,
    trim: bool = True,
    progress=None,
    device=None,
    trim_padding: bool | None = None,
    out_rep="scalar",
) -> dict[str, PropertyResult]:
    """Measure and judge every property in `properties` → {name: PropertyResult}, in that order.

    p `[B, N, 4]` float (taken as exact), mask `[B, N]` bool; dtypes default (float64, float32). Permutation,
    padding and parity use every jet; the infrared and collinear scans (≈ 20 evaluations per dtype each) the
    first `scan_jets` (None: all) — medians over 64 jets are stable to a few per cent, and the scans then cost
    about as much as the other checks together. train_width: the padded width the user trains with (200 for the
    public top-tagging files). Per-particle outputs get permutation, padding and parity only. `device`: where the
    model is evaluated (default: where it lives; a module living elsewhere runs as a copy there, never moved); inputs
    are sent there, outputs come back to the CPU. `out_rep`: "vector" for four-vector outputs — parity then compares
    f(Px) with P f(x) (the Lorentz suite's name; other representations are not checked for parity)."""
    unknown = set(properties) - set(PROPERTIES)
    if unknown:
        raise ValueError(f"unknown properties {sorted(unknown)}; choose from {PROPERTIES}")
    kw = dict(takes_mask=takes_mask, per_particle=per_particle, draws=draws, seed=seed, trim=trim, device=device)
    kw["trim_padding"] = trim_padding  # the Lorentz suite's name for trim (Context.make resolves it)
    ctx = Context.make(model, p, mask, **kw)
    scan_ctx = ctx
    if scan_jets is not None and scan_jets < p.shape[0]:
        scan_ctx = Context.make(
            ctx.model, ctx.p[:scan_jets], ctx.mask[:scan_jets], draws=draws, seed=seed, trim=ctx.trim
        )
    step = progress or (lambda name: None)
    checks = dict(
        dtypes=dtypes,
        train_width=train_width,
        scan_jets=scan_jets,
        per_particle=per_particle,
        seed=seed,
        out_rep=out_rep,
    )
    try:
        if ctx.trim:  # one pass per dtype for every check's evaluations, the references included (Model.prefetch)
            ctx.model.prefetch(_plan(ctx, scan_ctx, properties, checks))
        step(EVALUATED)
        return _walk(ctx, scan_ctx, properties, checks, step)
    finally:
        ctx.model.unused()  # nothing left for a later call on the same model, whatever happened


#: the `progress` name of the pass that evaluates every check's jets ahead, before the checks themselves
EVALUATED = "property evaluations"


def _plan(ctx, scan_ctx, properties, checks) -> list:
    """The model calls the checks will make: a walk of them on fresh contexts (the same model and jets, the
    references already known kept) with a model that only notes its calls. Empty if the walk cannot be made."""

    def fresh(c):
        new = Context.make(c.model, c.p, c.mask, draws=c.draws, seed=c.seed, trim=c.trim)
        new._refs, new._units = dict(c._refs), dict(c._units)
        return new

    main = fresh(ctx)
    scan = main if scan_ctx is ctx else fresh(scan_ctx)
    vector = cc.Rep.parse(checks["out_rep"]) == cc.VECTOR  # zeros of a four-vector's size for parity's P f
    with ctx.model.planning(width=4 if vector else None) as planned:
        for name in properties:  # check by check: one that cannot be walked on zeros keeps what it noted so far
            try:
                _walk(main, scan, (name,), checks, lambda name: None)
            except Exception:  # noqa: BLE001 — the real walk makes every call itself and raises where it should
                pass
        return list(planned)


def _walk(ctx, scan_ctx, properties, checks, step) -> dict[str, PropertyResult]:
    dtypes, seed = checks["dtypes"], checks["seed"]
    out: dict[str, PropertyResult] = {}
    for name in properties:
        t0 = time.time()
        if name == "permutation":
            r = check_permutation(ctx, None, None, dtypes=dtypes, seed=seed)
        elif name == "padding":
            widths = dict(train_width=checks["train_width"], width_jets=checks["scan_jets"])
            r = check_padding(ctx, None, None, dtypes=dtypes, seed=seed, **widths)
        elif name == "parity":
            r = check_parity(ctx, None, None, dtypes=dtypes, out_rep=checks["out_rep"])
        elif checks["per_particle"]:
            continue
        elif name == "infrared":
            r = check_infrared(scan_ctx, None, None, dtypes=dtypes, seed=seed)
        else:
            r = check_collinear(scan_ctx, None, None, dtypes=dtypes, seed=seed)
        r.seconds = time.time() - t0  # includes the shared references the first check computes
        out[name] = r
        step(name)
    return out


def summary(results: dict[str, PropertyResult]) -> str:
    """One line per property: name, verdict, per-dtype verdicts."""
    return "\n".join(
        f"{name}: {r.verdict} ({', '.join(f'{k} {v}' for k, v in r.by_dtype.items())})" for name, r in results.items()
    )
