"""All property checks of one model on one set of jets, sharing the model copies, references and floors."""

from __future__ import annotations

import time

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
) -> dict[str, PropertyResult]:
    """Measure and judge every property in `properties` → {name: PropertyResult}, in that order.

    p `[B, N, 4]` float (taken as exact), mask `[B, N]` bool; dtypes default (float64, float32). Permutation,
    padding and parity use every jet; the infrared and collinear scans (≈ 20 evaluations per dtype each) the
    first `scan_jets` (None: all) — medians over 64 jets are stable to a few per cent, and the scans then cost
    about as much as the other checks together. train_width: the padded width the user trains with (200 for the
    public top-tagging files). Per-particle outputs get permutation, padding and parity only. `device`: where the
    model is evaluated (default: where it lives; a module living elsewhere runs as a copy there, never moved); inputs
    are sent there, outputs come back to the CPU."""
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
    out: dict[str, PropertyResult] = {}
    for name in properties:
        t0 = time.time()
        if name == "permutation":
            r = check_permutation(ctx, p, mask, dtypes=dtypes, seed=seed)
        elif name == "padding":
            r = check_padding(ctx, p, mask, dtypes=dtypes, train_width=train_width, width_jets=scan_jets, seed=seed)
        elif name == "parity":
            r = check_parity(ctx, p, mask, dtypes=dtypes)
        elif per_particle:
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
