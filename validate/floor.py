"""The precision floor: the error an exactly invariant (equivariant) function with the model's input sensitivity
shows from rounding alone (docs/validation.md, "The precision floor").

Rounding model: the transformed input Λx is rounded once to the dtype under test, δ_μ = u r_μ (Λx)_μ, and so is
the untransformed x, δ₀_μ = u r'_μ x_μ, with r, r' independent and uniform in [−1, 1]. For an exactly symmetric f,
f(round(Λx)) − ρ f(round(x)) = ρ [f(x + Λ⁻¹δ) − f(x + δ₀)]. The floor is its root mean square relative to ‖ρ f(x)‖,
plus the output dtype's own rounding, plus the suite's own rounding of ρ f(x) (validate/action.py).

Two ways to evaluate that expectation, per jet:
- first order (smooth jets): ‖ρ J (Λ⁻¹δ − δ₀)‖ with J the float64 Jacobian. For outputs of ≤ 16 real components the
  exact RMS over r from reverse mode (deterministic); for larger outputs one seeded draw pushed forward.
- finite perturbations (non-smooth jets, and models without usable gradients): the model itself evaluated in float64
  at x + Λ⁻¹δ and x + δ₀ for `FINITE_DRAWS` seeded draws at the dtype's own u. This is valid for √ of a massless p²,
  |x| and sign at 0, `where` branches with NaN in the untaken side, errors that scale like √u.

A jet is smooth when its Jacobian is finite and, for `PROBE_DRAWS` rounding-sized perturbations at float32's u (the
finest scale at which a float64 evaluation's own noise is negligible), the model's actual change agrees with the
first-order prediction J δ₀ vector-wise to half its size, up to the model's own float64 noise (measured by one more
perturbation at float64's u), and that noise is at most half of J δ₀. Anything else — NaN, a zero gradient at a kink
while the output moves, a change far smaller than J δ₀ (√u scaling), an output that is itself rounding noise (exactly
0 in exact arithmetic) — sends the jet to finite perturbations.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

with warnings.catch_warnings():
    # torch builds its forward-mode (jvp) decompositions with torch.jit.script on first use and warns that
    # torch.jit.script is deprecated: torch's own call, not ours. Load them here, once, without the message.
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*is deprecated", category=DeprecationWarning)
    import torch._decomp.decompositions_for_jvp  # noqa: F401

import clariant_core as cc

from . import action
from .context import Context
from .evaluation import Pass
from .jumps import MORE_DRAWS, Jumps
from .statistics import spread

REVERSE_MODE_MAX_OUTPUTS = 16
#: a forward and backward call costs about this many forward calls (the shipped LGN, float64, 34 jets of 45
#: particles, one thread: 3.1×); it only orders the work and estimates what is left (validate/workers.py)
BACKWARD_COST = 3.0
FLOOR_STEP_NUMBERS = 1 << 22  # the reverse-mode floor's temporaries hold at most ~this many numbers per step
PROBE_DRAWS = 2
FINITE_DRAWS = 4
_PROBE_U = cc.unit_roundoff(torch.float32)
_NOISE_U = cc.unit_roundoff(torch.float64)
_TINY = torch.finfo(torch.float64).tiny


def _real_flat(out: torch.Tensor) -> torch.Tensor:
    """[B, ...] (complex allowed) → real [B, D]."""
    return torch.view_as_real(out.resolve_conj()).flatten(1) if out.is_complex() else out.reshape(out.shape[0], -1)


@dataclass
class FloorModel:
    """Per (transformation, jet) floors for u = 1 where first order holds, finite-perturbation floors elsewhere."""

    linear: torch.Tensor | None  # [T, B] first-order RMS for u = 1; None if the model has no usable gradient
    smooth: torch.Tensor  # [B] bool: jets where first order is trusted
    method: str
    why: str  # why jets left first order ("" if none did)
    # [B] bool (`_insensitive`): jets whose float64 output should move visibly under the finer perturbation (2⁻⁴⁰
    # relative), and those of them whose output moved by less than 1/`NUMB_RATIO` of that
    sensitive: torch.Tensor | None = None
    numb: torch.Tensor | None = None
    _finite: dict[float, torch.Tensor] = field(default_factory=dict)  # u → [T, B_non-smooth]
    jumps: Jumps = field(default_factory=Jumps)  # what second looks found (validate/jumps.py)

    def describe(self, u: float) -> str:
        """How the floor at unit roundoff u was computed (with what second looks found there and at finer ones)."""
        n, k = self.smooth.numel(), int((~self.smooth).sum())
        again, finer = self.jumps.jets.get(u, 0), sum(v for w, v in self.jumps.explained.items() if w < u)
        within = self.jumps.explained.get(u, 0)
        more = f"; {again} jets far beyond it looked at again ({MORE_DRAWS} more roundings each" if again else ""
        more += f", rounding jumps on {within})" if again else ""
        if finer:
            more += f"; with the rounding jumps a finer precision's second look found on {finer} jets"
        if k == 0:
            return self.method + more
        if self.linear is None:
            return f"finite perturbations ({FINITE_DRAWS} seeded roundings per jet): {self.why}{more}"
        return f"{self.method}; finite perturbations for {k} of {n} jets ({self.why}){more}"

    def input_floor(self, ctx: Context, u: float) -> torch.Tensor:
        """Relative input-rounding floor `[T, B]` at unit roundoff u (with what second looks found at u and finer)."""
        t, b = ctx.shape
        out = torch.zeros(t, b, dtype=torch.float64) if self.linear is None else self.linear * u
        rough = torch.nonzero(~self.smooth)[:, 0]
        if len(rough):
            if u not in self._finite:
                self._finite[u] = finite_floor(ctx, rough, u)
            out = out.clone()
            out[:, rough] = self._finite[u]
        for jump in self.jumps.at(u):
            out = torch.maximum(out, jump)
        return out

    def second_look(self, ctx: Context, u: float, errors: torch.Tensor, rest) -> bool:
        """Look again at jets whose error `[T, B]` lies far beyond their floor at u (validate/jumps.py; rest: what the
        floor adds to the input floor). Whether any jet was looked at (once per u)."""
        return self.jumps.look(ctx, u, errors, self.input_floor(ctx, u), rest)


def _reverse(ctx: Context, probes: torch.Tensor, one: torch.Tensor) -> tuple[Pass, Callable]:
    """The pass for E‖ρ J v‖² per (transformation, jet) `[T, B]` exactly over the rounding model for u = 1:
    Σ_μ (‖ρ J Λ⁻¹ e_μ‖² (Λx)_μ² + ‖ρ J e_μ‖² x_μ²) / 3, and J δ for the probe perturbations `[B, K, D]`.
    The Jacobian rows do not depend on the transformation, so this costs O(outputs) jet evaluations, not T·B: each
    call evaluates its jets once per output component (D = `components` copies) and one backward pass of
    Σ_k f_k(copy k) gives every row at once — jets are independent, as the grouping of jets into calls already
    assumes. On the floor's small calls (a few jets of one multiplicity) a pass costs mostly its fixed overhead,
    so one backward over D copies replaces D backward passes at little more than the cost of one. Returns the pass
    and what turns its result into the two."""
    t, _ = ctx.shape
    complex_out = one.is_complex()  # one: the float64 output of one jet
    components = _components(one)
    k_probes = probes.shape[0]

    def sq_norms(cols, first):  # cols: real [T', b, w, 4, D] → Σ_{w,4} ‖ρ_t col‖² [T', b]
        if complex_out:
            cols = torch.view_as_complex(cols.unflatten(-1, (-1, 2)).contiguous())
        return ctx.act(cols.flatten(2, 3), slice(first, first + cols.shape[0])).abs().square().sum((-1, -2))

    def fn(xc, mc, ysc, pc):  # ysc: Λx [b, w, T, 4]; pc: probes [b, w, K, 4]
        b = xc.shape[0]
        z = xc.detach().repeat(components, 1, 1).requires_grad_(True)  # copy k: row k of J
        with torch.enable_grad():
            out = _real_flat(ctx.ev(torch.float64, z, mc.repeat(components, 1), ctx.out_rep))
            if out.shape[1] != components:
                raise ValueError(f"the model returned {out.shape[1]} numbers per jet here, {components} before")
            picked = out.view(components, b, components).diagonal(dim1=0, dim2=2)  # [b, D]: f_k of copy k
            g = torch.autograd.grad(picked.sum(), z, allow_unused=True)[0]
        g = torch.zeros_like(z) if g is None else g.detach()
        jac = g.view(components, *xc.shape).permute(1, 2, 3, 0)  # [b, w, 4, D]
        direct = jac * xc[..., None]
        per = max(1, FLOOR_STEP_NUMBERS // max(jac.numel(), 1))
        acc = []
        for s in range(0, t, per):
            li, ys = ctx.lam_inv[s : s + per], ysc[:, :, s : s + per].permute(2, 0, 1, 3)
            pulled = torch.einsum("bnkd,tkl->tbnld", jac, li) * ys[..., None]
            acc.append(sq_norms(pulled, s) + sq_norms(direct.expand(li.shape[0], *jac.shape), s))
        jv = torch.einsum("bnkd,bnjk->bjd", jac, pc)  # [b, K, D]
        return torch.cat([(torch.cat(acc) / 3).T, jv.flatten(1)], 1)

    xs, pr = ctx.xs.permute(1, 2, 0, 3), probes.permute(1, 2, 0, 3)

    # progress: a forward and a backward pass per particle
    def tick(particles):
        ctx.tick(2 * particles)

    ps = ctx.plan(fn, ctx.x64, ctx.mask, xs, pr, copies=components, weight=BACKWARD_COST, tick=tick)
    return ps, lambda both: (both[:, :t].T, both[:, t:].unflatten(1, (k_probes, -1)))


def _forward(ctx: Context, probes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One seeded rounding draw pushed forward per (transformation, jet) `[T, B]` (squared, for u = 1), and J δ
    for the probes `[B, K, D]`, by forward-mode autodiff."""
    t, b = ctx.shape
    g = torch.Generator().manual_seed(ctx.seed)
    r1 = torch.rand(ctx.xs.shape, generator=g, dtype=torch.float64) * 2 - 1
    r0 = torch.rand(ctx.x64.shape, generator=g, dtype=torch.float64) * 2 - 1
    v = torch.einsum("tij,tbnj->tbni", ctx.lam_inv, ctx.xs * r1) - (ctx.x64 * r0)[None]
    v = torch.cat([v.reshape(t * b, *ctx.x64.shape[1:]), probes.reshape(-1, *ctx.x64.shape[1:])])

    def jvp(xc, mc, vc):
        with torch.no_grad():
            return torch.func.jvp(lambda z: ctx.ev(torch.float64, z, mc, ctx.out_rep), (xc,), (vc,))[1]

    k = probes.shape[0]
    reps_ = t + k
    jv = ctx.apply(jvp, ctx.x64.repeat(reps_, 1, 1), ctx.mask.repeat(reps_, 1), v, serial=True, tick=ctx.tick)
    main = jv[: t * b].reshape(t, b, *jv.shape[1:])
    sq = action.norm(ctx.act(main)).square()
    return sq, _real_flat(jv[t * b :]).reshape(k, b, -1).transpose(0, 1)


def _components(out: torch.Tensor) -> int:
    """Real numbers per jet of outputs `[B, ...]`."""
    return out[0].numel() * (2 if out.is_complex() else 1)


def build(ctx: Context, ahead: bool = False, also=()) -> FloorModel:
    """Decide per jet between first order and finite perturbations (module docstring) and compute first order.
    `ahead`: float64 is measured after this, so its transformed outputs are evaluated here, in the probes' pass
    (`Context.transformed_pass`). `also`: further precisions measured after this, whose transformed outputs are
    evaluated here too, in the same run of the workers as the floor's passes (fewer idle workers between passes); a
    pass with a failing call is run again on its own — the floor's here, a precision's where it is measured, which
    reports the failure as it would without the others."""
    t, b = ctx.shape
    x, mask = ctx.x64, ctx.mask
    g = torch.Generator().manual_seed(ctx.seed + 7919)
    probes = (torch.rand((PROBE_DRAWS, *x.shape), generator=g, dtype=torch.float64) * 2 - 1) * _PROBE_U * x
    noise_in = (torch.rand(x.shape, generator=g, dtype=torch.float64) * 2 - 1) * _NOISE_U * x
    # `_insensitive`, on `MID_JETS` jets spread over the batch (zero elsewhere)
    mid_jets = jets_for_finer(b)
    mid_in = torch.zeros((len(MID_U), *x.shape), dtype=torch.float64)
    for k, size in enumerate(MID_U):
        r = torch.rand(x[mid_jets].shape, generator=g, dtype=torch.float64) * 2 - 1
        mid_in[k, mid_jets] = r * size * x[mid_jets]
    # the model's actual response to the probes, and its own float64 noise (one perturbation at float64's u), with
    # f(x) itself — and, `ahead`, f(Λx) — in the same pass (fewer, larger model calls)
    shifted = torch.cat([*(x + d for d in (*probes, noise_in)), *((x + d)[mid_jets] for d in mid_in)])
    shifted_mask = torch.cat([mask.repeat(len(probes) + 1, 1), mask[mid_jets].repeat(len(MID_U), 1)])
    linear_probes = torch.cat([probes, mid_in])  # J δ for the probes and for the finer perturbations
    if ahead:
        main = ctx.transformed_pass(torch.float64, shifted, shifted_mask)
    else:
        main = ctx.with_reference_pass(torch.float64, shifted, shifted_mask)
    try:
        one = ctx.one_output(torch.float64)
    except Exception:  # noqa: BLE001 — a model that cannot take one jet alone (batch statistics): planned later
        one = None
    reverse = None
    if one is not None and _components(one) <= REVERSE_MODE_MAX_OUTPUTS:
        reverse = _reverse(ctx, linear_probes, one)
    more = [ctx.transformed_pass(d) for d in also]
    together = [main, *([reverse] if reverse is not None else []), *more]
    # a pass whose call fails comes back None and runs again on its own — the floor's below, where its failure is
    # raised (or, the Jacobian's, read as no usable gradient), the other precisions' where they are measured
    results = ctx.run([ps for ps, _ in together], apart=True)
    main_out = results[0] if results[0] is not None else ctx.run([main[0]])[0]
    outs = main[1](main_out)
    msq_jv = reverse[1](results[1]) if reverse is not None and results[1] is not None else None
    for (_, keep), r in zip(more, results[len(together) - len(more) :]):
        if r is not None:
            keep(r)
    outs = _real_flat(outs)
    ref = ctx.reference(torch.float64)
    flat = _real_flat(ref)
    # the finer perturbation's outputs; the probes', then the noise perturbation's
    mid, outs = outs[(len(probes) + 1) * b :], outs[: (len(probes) + 1) * b].unflatten(0, (-1, b))
    linear, jv, method = None, None, ""
    try:
        if _components(ref) <= REVERSE_MODE_MAX_OUTPUTS:
            if msq_jv is None:
                ps, keep = _reverse(ctx, linear_probes, ref[:1])
                msq_jv = keep(ctx.run([ps])[0])
            msq, jv = msq_jv
            method = "first order: reverse-mode autodiff, exact RMS over input roundings"
        else:
            msq, jv = _forward(ctx, linear_probes)
            method = "first order: forward-mode autodiff, one seeded random rounding"
        linear = action.relative(msq.sqrt(), action.norm(ctx.act(ref.expand(t, *ref.shape))))
    except Exception as e:  # noqa: BLE001 — no usable gradient (no_grad, numpy, integer ops…): finite perturbations
        reason = f"no usable gradient ({type(e).__name__}: {str(e).splitlines()[0][:100]})"
        # the float32-inside test with the probes' response alone as the prediction (no J δ to bound it)
        sensitive, numb = _numb(None, outs[:-1, mid_jets], mid, flat, mid_jets, b)
        return FloorModel(None, torch.zeros(b, dtype=torch.bool), "finite perturbations", reason, sensitive, numb)
    jv_mid, jv = jv[:, -len(MID_U) :], jv[:, : -len(MID_U)]
    moved = (outs[:-1] - flat).transpose(0, 1)  # [B, K, D]
    noise = torch.linalg.vector_norm(outs[-1] - flat, dim=-1)
    lin_norm = torch.linalg.vector_norm(jv, dim=-1)  # [B, K]
    miss = torch.linalg.vector_norm(moved - jv, dim=-1)
    finite_j = torch.isfinite(linear).all(0) & torch.isfinite(jv).all(-1).all(-1)
    agrees = (miss <= 0.5 * lin_norm + 4 * noise[:, None]).all(1)
    # float64's own noise must be small against the first-order response at float32's u (for a smooth jet it is
    # ~u₆₄/u₃₂ of it): where it is not, the output is rounding noise (a value exactly 0 in exact arithmetic, such as
    # ε_μνρσ of fewer than four independent vectors), which a Jacobian of ~0 would call a floor of ~0
    quiet = (noise[:, None] <= 0.5 * lin_norm).all(1)
    nonfinite_out = ~torch.isfinite(moved).all(-1).all(-1)
    smooth = finite_j & agrees & quiet & ~nonfinite_out
    reasons = []
    if (~finite_j).any():
        reasons.append(f"{int((~finite_j).sum())} with a non-finite Jacobian")
    bad = finite_j & ~agrees
    if bad.any():
        zero = bad & (lin_norm.max(1).values == 0)
        if zero.any():
            reasons.append(f"{int(zero.sum())} with a zero gradient where the output moves")
        if (bad & ~zero).any():
            reasons.append(f"{int((bad & ~zero).sum())} whose response to rounding is not first order")
    noisy = finite_j & agrees & ~quiet
    if noisy.any():
        reasons.append(f"{int(noisy.sum())} whose output is float64 rounding noise")
    linear = torch.where(smooth[None], linear, torch.zeros_like(linear))
    sensitive, numb = _numb(jv_mid[mid_jets], outs[:-1, mid_jets], mid, flat, mid_jets, b)
    return FloorModel(linear, smooth, method, ", ".join(reasons), sensitive, numb)


def _numb(jv_mid, probed, mid, flat, mid_jets, b) -> tuple[torch.Tensor, torch.Tensor]:
    """`[B]` bool: the jets `_insensitive` counts, and those of them numb at 2⁻⁴⁰ that do not follow 2⁻³⁴ in
    proportion (a float64 computation that absorbed 2⁻⁴⁰ follows 2⁻³⁴). jv_mid: J δ of the two perturbations
    `[B', 2, D]` on `mid_jets`, or None for a model without a gradient (the probes' response alone predicts)."""
    sensitive, numb = torch.zeros(b, dtype=torch.bool), torch.zeros(b, dtype=torch.bool)
    (fine, coarse), ref = mid.unflatten(0, (len(MID_U), -1)), flat[mid_jets]
    predicted = [torch.full_like(ref, float("inf"))] * 2 if jv_mid is None else [jv_mid[:, 0], jv_mid[:, 1]]
    sensitive[mid_jets], numb40, _ = _insensitive(predicted[0], probed, fine, ref, MID_U[0])
    _, _, follows = _insensitive(predicted[1], probed, coarse, ref, MID_U[1])
    numb[mid_jets] = numb40 & ~follows
    return sensitive, numb


#: the sizes of the perturbations that tell a float64 computation from one that rounds its inputs to float32 inside
#: (`_insensitive`): 2⁻⁴⁰ relative moves every float64 intermediate by thousands of its roundings (a perturbation at
#: float64's u moves an input by at most one ulp, which a float64 sum absorbs) and a float32 input's rounding with
#: probability ~2⁻¹⁶; 2⁻³⁴ still changes a float32 rounding with probability only ~2⁻¹⁰ per number, while a float64
#: computation that absorbs 2⁻⁴⁰ (log(1 + x) of x ~ 10⁻⁵: digits below 2⁻³⁶ lost) follows it
MID_U = (2.0**-40, 2.0**-34)
MID_JETS = 64  # jets it is tried on (a majority of them decides)
#: how much more than its predicted response to that perturbation a jet's output must fail to move (at least
#: `NUMB_ULPS` roundings of it predicted) to count as not seeing it. The prediction is the realised J δ (or less), and
#: a float64 computation moves by that J δ itself, up to second-order terms ~2⁻⁴⁰ smaller and its own noise, which
#: `NUMB_ULPS` keeps below 1/64 of the prediction: a ratio of 32 leaves it a wide margin. One that rounds its inputs
#: to float32 does not move, or only by the rounding of the float64 arithmetic after it (another batch composition:
#: a few roundings) — where the prediction is barely above `NUMB_ULPS` roundings that can exceed 1/32 of it, and the
#: jet is not counted numb: the margin is on the side of not flagging
NUMB_RATIO = 32
NUMB_ULPS = 64
#: a response within this factor of J δ either way follows the perturbation in proportion, as a float64 computation
#: does; one that rounds to float32 inside answers 2⁻³⁴ with nothing or with a float32 rounding's jump (2¹⁰ × more)
FOLLOWS = 4


def jets_for_finer(b: int) -> torch.Tensor:
    """The jets of a batch of b that the finer perturbations (`MID_U`) are tried on: `MID_JETS` spread over it."""
    return spread(b, MID_JETS)


def _insensitive(
    predicted: torch.Tensor, probed: torch.Tensor, mid: torch.Tensor, flat: torch.Tensor, size: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per jet `[B]`: whether its float64 output should move under a perturbation of relative `size` (`MID_U`) by more
    than `NUMB_ULPS` roundings of the output, and, of those, whether it moved by less than 1/`NUMB_RATIO` of that, and
    whether it moved in proportion (within `FOLLOWS`× of the prediction either way). How
    far it should move, the lesser of two predictions: the first-order change J δ (`predicted` `[B, D]`), and the
    probes' larger actual response at float32's u (`probed` `[K, B, D]`; a float32 sum can absorb one of them)
    scaled down to `size` — the first alone would expect too much of √ at a rounding-sized p² (an infinite slope the
    output does not follow), the second of a jump a probe crossed. A model that rounds its inputs to float32 inside
    (`x.float()` before a float64 head) responds to the probes (they change about half its float32 inputs by an
    ulp), has the Jacobian of the exact function (autograd passes through the cast), and does not see the finer
    perturbations; a float64 computation moves by about J δ. mid: the perturbation's output `[B, D]`; flat: f(x)."""
    scale = torch.linalg.vector_norm(flat, dim=-1)
    scaled = torch.linalg.vector_norm(probed - flat, dim=-1).amax(0) * (size / _PROBE_U)
    expected = torch.minimum(torch.linalg.vector_norm(predicted, dim=-1), scaled)
    sensitive = torch.isfinite(expected) & (expected > NUMB_ULPS * _NOISE_U * scale)
    actual = torch.linalg.vector_norm(mid - flat, dim=-1)
    follows = sensitive & (actual <= FOLLOWS * expected) & (actual * FOLLOWS >= expected)
    return sensitive, sensitive & (actual * NUMB_RATIO < expected), follows


def drawn_at(u: float) -> float:
    """The scale the finite perturbations are drawn at for unit roundoff u: u itself, but at least one float64 ulp
    (2u₆₄). The model is evaluated in float64, where a change of at most u₆₄|x| — half an ulp or less — mostly rounds
    back to x itself (~3 draws in 4): drawn at u₆₄, an output's response to its inputs' rounding would read as 0
    (a boosted jet's m² = E² − p², whose float64 rounding is u·E²/m², had a floor of u₆₄ from four draws that never
    moved). At one ulp the draws move about half of the numbers by one ulp: a floor at most ~2× the rounding model's."""
    return max(u, 2 * _NOISE_U)


def finite_floor(ctx: Context, jets: torch.Tensor, u: float) -> torch.Tensor:
    """RMS over `FINITE_DRAWS` seeded roundings of ‖ρ(f(x + Λ⁻¹δ) − f(x + δ₀))‖ / ‖ρ f(x)‖ for the given jets,
    f evaluated in float64, δ and δ₀ drawn at unit roundoff u `[T, len(jets)]`."""
    t, _ = ctx.shape
    x, mask, xs = ctx.x64[jets], ctx.mask[jets], ctx.xs[:, jets]
    n = len(jets)
    g = torch.Generator().manual_seed(ctx.seed + 104729)
    acc = torch.zeros(t, n, dtype=torch.float64)
    u = drawn_at(u)
    for _ in range(FINITE_DRAWS):
        r1 = torch.rand(xs.shape, generator=g, dtype=torch.float64) * 2 - 1
        r0 = torch.rand(x.shape, generator=g, dtype=torch.float64) * 2 - 1
        x1 = x[None] + torch.einsum("tij,tbnj->tbni", ctx.lam_inv, u * r1 * xs)
        f1 = ctx.evaluate(torch.float64, x1.reshape(t * n, *x.shape[1:]), mask.repeat(t, 1))
        f0 = ctx.evaluate(torch.float64, x + u * r0 * x, mask)
        diff = f1.reshape(t, n, *f1.shape[1:]) - f0[None]
        acc += action.norm(ctx.act(diff)).square()
    ref = ctx.reference(torch.float64)[jets]
    # an output that is non-finite under rounding-sized perturbations has no finite floor: inf says so
    return action.relative((acc / FINITE_DRAWS).sqrt(), action.norm(ctx.act(ref.expand(t, *ref.shape))))


__all__ = [
    "FINITE_DRAWS",
    "MID_U",
    "PROBE_DRAWS",
    "REVERSE_MODE_MAX_OUTPUTS",
    "FloorModel",
    "build",
    "drawn_at",
    "finite_floor",
    "jets_for_finer",
]
