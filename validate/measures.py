"""Measures: relative invariance/equivariance errors per (transformation, jet), with the precision floor beside
them, for one dtype (`measure`) or a sweep over dtypes and the transformation grid (`sweep`). Everything here
returns data; judging is `verdict.py`. Definitions: docs/validation.md.

Relative error of jet x under Λ (SL(2,C) element M): ε = ‖f(Λx) − ρ_out(M) f(x)‖₂ / max(‖ρ_out(M) f(x)‖₂, tiny), Λx
from the SL(2,C) element in double-double, rounded once to the dtype under test (validate/action.py); the
difference is taken in float64. Floor (validate/floor.py): input rounding — first order where the model is smooth,
finite perturbations where it is not — plus the output dtype's own rounding, plus the suite's rounding of ρ f(x).
Excess = ε / floor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

import clariant_core as cc
from clariant_core.numerics import DEFAULT_SWEEP, PRECISIONS, Precision, precision

from . import action, consistency, narrowing
from . import floor as floors
from .bounds import DEFAULT_THRESHOLD
from .context import Context
from .evaluation import (
    Evaluator,
    ModelFailed,
    check_jets,
    evaluated_widths,
    first_line,
    plain_tensor_attributes,
    train_mode_matters,
)
from .groups import GridPoint, grid, in_group, sample
from .statistics import p95, row_medians, summary

DTYPES = DEFAULT_SWEEP  # float64, float32, bfloat16, float16; the other modes of PRECISIONS are asked for by name
_TINY = torch.finfo(torch.float64).tiny
unit_roundoff = cc.unit_roundoff


def dtype_name(dtype) -> str:
    """ "float32", "tf32", "autocast-bf16", … for a torch dtype or a precision mode."""
    return dtype.name if isinstance(dtype, Precision) else str(dtype).replace("torch.", "")


@dataclass
class Measurement:
    """Errors of one model at one precision (a storage dtype or a mode such as TF32 or autocast) over
    T transformations × B jets."""

    precision: Precision
    points: list[GridPoint]
    errors: torch.Tensor | None  # [T, B] float64 (inf where the output is not finite)
    floor: torch.Tensor | None = None  # [T, B] float64 at this measurement's precision
    skipped: str | None = None
    floor_method: str | None = None
    output_dtype: torch.dtype | None = None  # what the model actually returned
    output_values: torch.dtype | None = None  # detected: every output a number of this coarser dtype (float16)
    inputs_overflow: torch.Tensor | None = None  # [T] bool: Λx is not representable in this dtype
    companion: bool = False  # measured only as the comparison precision for the verdict
    notes: list[str] = field(default_factory=list)
    computed_in: torch.dtype | None = None  # detected: the model computed in this coarser dtype (x.float() inside)
    computed_in_evidence: str = ""  # how it was detected, as the verdict's reason says it
    inconsistent: consistency.Consistency | None = None  # detected: not a deterministic function of one jet
    vanished: bool = False  # detected: every output exactly 0 while float64's are not (underflow in this precision)
    underflow: torch.Tensor | None = None  # [T, B] bool: this precision's output (of x or Λx) is exactly 0 there,
    # float64's of the jet is not — it cannot resolve the function there (set aside by the verdicts like a saturated
    # floor)

    def __post_init__(self):
        self.precision = precision(self.precision)

    @property
    def name(self) -> str:
        return self.precision.name

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the model and its inputs were converted to (float32 for TF32 and autocast)."""
        return self.precision.dtype

    @property
    def output_precision(self) -> torch.dtype | None:
        """The precision of what the model returned: its dtype, or the coarser one all its values are numbers of."""
        return self.output_values or self.output_dtype

    @property
    def output_described(self) -> str:
        if self.output_values is None:
            return dtype_name(self.output_dtype)
        return f"{dtype_name(self.output_dtype)} values of {dtype_name(self.output_values)} precision"

    @property
    def unit(self) -> float:
        """The precision this measurement resolves: the coarser of the mode's unit roundoff and the output's."""
        u = self.precision.u
        return max(u, cc.unit_roundoff(self.output_precision)) if self.output_precision is not None else u

    @property
    def coarse_output(self) -> bool:
        """True when the model's outputs are coarser than requested (their rounding limits the floor)."""
        return self.output_precision is not None and cc.unit_roundoff(self.output_precision) > self.precision.u

    @property
    def excess(self) -> torch.Tensor | None:
        if self.errors is None or self.floor is None:
            return None
        ex = self.errors / self.floor.clamp_min(_TINY)
        return torch.where(self.errors == 0, torch.zeros_like(ex), ex)

    def rows(self) -> list[dict]:
        """One dict per transformation: kind, axis, parameter, median/p95/max of ε, of the floor and of the excess."""
        if self.errors is None:
            return []
        out = []
        ex = self.excess
        for i, pt in enumerate(self.points):
            row = {"dtype": self.name, "kind": pt.kind, "axis": pt.axis, "parameter": pt.parameter}
            row.update(summary(self.errors[i], "error"))
            row["nonfinite"] = int((~torch.isfinite(self.errors[i])).sum())
            if self.floor is not None:
                row.update(summary(self.floor[i], "floor"))
                row.update(summary(ex[i], "excess"))
            out.append(row)
        return out


def _measure_dtype(
    ctx: Context, fm: floors.FloorModel | None, dtype, points, companion=False, skipped: str | None = None
) -> Measurement:
    prec = precision(dtype)
    name = prec.name
    why = skipped or ctx.ev.unavailable(prec)
    if why is not None:
        return Measurement(prec, points, None, skipped=why)
    try:
        out = ctx.transformed_outputs(prec)  # evaluates f(x) alongside, for the reference
        ref = ctx.reference(prec)
    except ModelFailed as e:
        if companion:  # the suite's own addition, not the user's request: left out, the verdict from one precision
            why = f"the comparison precision, left out: {e}; the other precision is judged on its own"
            return Measurement(prec, points, None, skipped=why, companion=True)
        if name in ("float32", "float64"):
            raise
        return Measurement(prec, points, None, skipped=_failure(e))
    meas = Measurement(prec, points, None, output_dtype=ctx.ev.output_dtypes.get(name), companion=companion)
    big = torch.finfo(prec.compute_dtype).max
    meas.inputs_overflow = (ctx.xs.abs() > big).flatten(1).any(1)
    expected, harness = action.expected(ctx.out_rep, ctx.m, ctx.lam, ref)
    # non-finite outputs (overflow in a narrow dtype, or NaN) count as an infinite error, never as a NaN statistic
    meas.errors = action.relative(action.norm(out - expected), action.norm(expected))
    if meas.coarse_output:
        meas.notes.append(
            f"the model returned {dtype_name(meas.output_dtype)} outputs for {name} inputs: its output rounding "
            f"(u = {cc.unit_roundoff(meas.output_dtype):.2g}) limits what {name} can resolve"
        )
    elif meas.output_dtype is not None and meas.output_dtype != prec.dtype and name in ("float32", "float64"):
        meas.notes.append(f"the model returned {dtype_name(meas.output_dtype)} outputs for {name} inputs")
    if fm is not None and name != "float64":  # the floor's pass has float64's f(x)
        ref64 = ctx.reference(torch.float64)
        meas.vanished = not bool(out.any() or ref.any()) and bool(ref64.any())
        zero = _all_zero(out, 2) | _all_zero(ref, 1)[None]
        meas.underflow = zero & ~_all_zero(ref64, 1)[None]
    if fm is not None:
        u_out = cc.unit_roundoff(meas.output_precision) if meas.output_precision is not None else prec.u
        # the inputs' rounding at the mode's unit roundoff (a TF32 or autocast matmul rounds its operands to it) —
        # or at the returned dtype's, when coarser: a model returning float32 for float64 inputs computed in float32
        # from some point on, at the earliest from its (preprocessed) inputs — the output's own rounding (in the
        # dtype the model returned), and the harness's rounding of ρ f(x)
        rest = u_out + harness
        meas.floor = fm.input_floor(ctx, meas.unit) + rest
        # jets whose finite error is far beyond that floor somewhere: a second look first (float64 and float32,
        # where a jump rounding decides can hide from a few draws; a non-finite output has its own rule)
        if meas.unit <= cc.unit_roundoff(torch.float32) and fm.second_look(ctx, meas.unit, meas.errors, rest):
            meas.floor = fm.input_floor(ctx, meas.unit) + rest
        meas.floor_method = fm.describe(meas.unit)
    return meas


def measure(
    model,
    p: torch.Tensor,
    mask: torch.Tensor,
    transforms: torch.Tensor,
    *,
    dtype=torch.float64,
    out_rep=cc.SCALAR,
    points: list[GridPoint] | None = None,
    with_floor: bool = True,
    takes_mask: bool = True,
    budget: int = 2_000_000,
    trim_padding: bool = True,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> Measurement:
    """Relative error per (transformation, jet) of `model(p, mask)` at `dtype` (a torch dtype or a precision mode of
    `clariant_core.numerics.PRECISIONS`: "tf32", "autocast-bf16", …), with its precision floor.

    out_rep: "scalar", "vector", an irreps string, an Irreps or a `cc.Rep` (read once by `Rep.parse`).
    transforms: SL(2,C) `[T, 2, 2]` (or Λ `[T, 4, 4]` real for scalar/vector outputs). p: `[B, N, 4]` taken as exact
    (float64), mask `[B, N]`. A low-precision dtype the model cannot run in gives `skipped` with the reason. Jets are
    evaluated grouped by multiplicity and trimmed to it (`trim_padding=False` for models that need a fixed particle
    count), at most `budget` particle pairs per call. `device`: where the model is evaluated (default: where it
    lives; docs/devices.md); Λx is made on the CPU and moved, results come back to the CPU."""
    x64, mask = check_jets(p, mask)
    out_rep = cc.Rep.parse(out_rep)
    m, lam = action.as_transforms(transforms, out_rep)
    points = points or [GridPoint("custom", None, float("nan"))] * lam.shape[0]
    ctx = Context(Evaluator(model, takes_mask, device), x64, mask, m, lam, out_rep, budget, trim_padding, seed)
    fm = floors.build(ctx, ahead=precision(dtype).name == "float64") if with_floor else None
    meas = _measure_dtype(ctx, fm, dtype, points)
    found = _consistency(ctx, {meas.name: meas}, fm) if fm is not None else None
    if found is not None and found.reason is not None:
        _mark_inconsistent({meas.name: meas}, found)
    return meas


@dataclass
class Sweep:
    """Measurements of one model over dtypes on a common set of transformations."""

    points: list[GridPoint]
    transforms: torch.Tensor  # SL(2,C) [T, 2, 2]
    measurements: dict[str, Measurement] = field(default_factory=dict)
    out_rep: cc.Rep = cc.SCALAR
    seconds: float = 0.0
    group: str = "full"
    notes: list[str] = field(default_factory=list)
    jets: int = 0
    device: str = "cpu"  # where the model was evaluated

    def rows(self) -> list[dict]:
        return [r for meas in self.measurements.values() if not meas.companion for r in meas.rows()]

    @property
    def skipped(self) -> dict[str, str]:
        return {k: v.skipped for k, v in self.measurements.items() if v.skipped}


def _companion(dtypes) -> Precision | None:
    """The comparison precision a verdict needs when only one of float32/float64 was asked for."""
    names = {d.name for d in dtypes}
    if {"float64", "float32"} <= names:
        return None
    return PRECISIONS["float32" if "float64" in names else "float64"]


def transformation_set(
    *,
    max_rapidity=6.0,
    n_rapidities=10,
    axes=("x", "y", "z"),
    n_angles=8,
    groups=(),
    n_random=8,
    seed=0,
    rapidities=None,
    group="full",
    transforms=None,
) -> tuple[list[GridPoint], torch.Tensor]:
    """The points and SL(2,C) elements of a sweep: the deterministic grid (or given `transforms`) plus n_random
    seeded elements of each listed group, restricted to the elements of `group`."""
    if transforms is not None:
        m = cc.check_sl2c(torch.as_tensor(transforms).reshape(-1, 2, 2).to(torch.complex128), "transforms")
        points = [GridPoint("custom", None, float(y)) for y in rapidity_of(m)]
    else:
        points, m = grid(max_rapidity, n_rapidities, axes, n_angles, rapidities)
    for k, gname in enumerate(groups):
        gm = sample(gname, n_random, max_rapidity=max_rapidity, seed=seed + k)
        points += [GridPoint(gname, None, float(y)) for y in rapidity_of(gm)]
        m = torch.cat([m, gm])
    keep = in_group(m, group)
    if not keep.any():
        raise ValueError(f"no transformation of the sweep lies in the group {group!r}: widen the grid or groups")
    return [pt for pt, k in zip(points, keep.tolist()) if k], m[keep]


def sweep(
    model,
    p: torch.Tensor,
    mask: torch.Tensor,
    *,
    dtypes=DTYPES,
    max_rapidity: float = 6.0,
    n_rapidities: int = 10,
    axes=("x", "y", "z"),
    n_angles: int = 8,
    groups=(),
    n_random: int = 8,
    out_rep=cc.SCALAR,
    takes_mask: bool = True,
    with_floor: bool = True,
    budget: int = 2_000_000,
    trim_padding: bool = True,
    seed: int = 0,
    progress=None,
    transforms: torch.Tensor | None = None,
    rapidities=None,
    group: str = "full",
    device: torch.device | str | None = None,
) -> Sweep:
    """Errors over the deterministic grid (boosts along each axis at n_rapidities rapidities up to max_rapidity,
    or at the given `rapidities`; rotations at n_angles angles about an oblique axis and about z) plus n_random
    seeded elements of each listed group, for each dtype; `group` keeps only the elements of that subgroup ("full",
    "so3", "rot_z", "boost_z", "beam") for models that claim only it. When only one of float32/float64 is asked
    for, the other is measured as the comparison precision (a companion, not reported as a row). Λx and the floor
    are computed once and shared by all dtypes. `progress(done, total)` is called as jets are evaluated.

    `dtypes`: torch dtypes or precision modes by name ("tf32", "autocast-bf16", "autocast-fp16"; docs/validation.md,
    "Precision modes"), each judged with its own unit roundoff; a mode the device lacks is skipped with the reason.
    `device`: where the model is evaluated (default: where it lives; a module living elsewhere is evaluated as a
    copy on the given device, never moved). Λx is made once on the CPU and moved; results return to the CPU."""
    t0 = time.time()
    x64, mask = check_jets(p, mask)
    dtypes = tuple(dtypes) if isinstance(dtypes, (list, tuple)) else (dtypes,)
    if not dtypes:
        raise ValueError("dtypes must be a non-empty list of floating torch dtypes or precision modes")
    dtypes = tuple(dict.fromkeys(precision(d) for d in dtypes))
    points, m = transformation_set(
        max_rapidity=max_rapidity,
        n_rapidities=n_rapidities,
        axes=axes,
        n_angles=n_angles,
        groups=groups,
        n_random=n_random,
        seed=seed,
        rapidities=rapidities,
        group=group,
        transforms=transforms,
    )
    out_rep = cc.Rep.parse(out_rep)
    ev = Evaluator(model, takes_mask, device)
    lam = cc.to_so13(m)
    extra = _companion(dtypes) if with_floor else None
    run = (*dtypes, extra) if extra is not None else dtypes
    t, b = lam.shape[0], x64.shape[0]
    # the precisions the model cannot run at, found with one jet now, so that the progress total is right at once
    skips = {prec.name: why for prec in run if (why := _cannot_run(ev, prec, x64, mask, out_rep, trim_padding))}
    # progress in particles evaluated (a model's cost grows with the particles it sees): per jet and pass, the width
    # it is evaluated at; per dtype (T + 1) passes, the floor ≈ FLOOR_PASSES passes (+ finite perturbations, once
    # the floor knows which jets need them)
    width = evaluated_widths(mask, trim_padding).to(torch.float64)
    names = [p.name for p in run if p.name not in skips]
    runnable = len(names)
    done, total = [0.0], [0.0]

    def plan(start: int, to_evaluate: int, unmeasured: int, rough_width: float) -> float:
        """The work still to do from chunk `start` (its floor done; `to_evaluate` of its dtypes still need f(Λx),
        `unmeasured` their finite-perturbation floors)."""
        this = float(width[start : start + JET_CHUNK].sum())
        here = (t + 1) * (to_evaluate * this + unmeasured * floors.FINITE_DRAWS * rough_width)
        rest = width[start + JET_CHUNK :]
        later = float(rest.sum()) * runnable * (t + 1) + _floor_work(rest) * int(with_floor)
        return here + later

    def tick(work):
        done[0] += work
        total[0] = max(total[0], done[0])
        if progress is not None:
            progress(int(done[0]), int(total[0]))

    def more(work):  # work no plan foresaw (a floor's second look), announced before it is done
        total[0] += work

    total[0] = _floor_work(width[:JET_CHUNK]) * int(with_floor) + plan(0, runnable, runnable, 0.0)

    result = Sweep(points, m, out_rep=out_rep, group=group, jets=b, device=str(ev.device))
    if ev.copied:
        result.notes.append(f"the model lives on {ev.home}; a copy of it was evaluated on {ev.device}")
    if train_mode_matters(model):
        result.notes.append(
            "the model is in training mode (dropout, batch-norm statistics): an eval-mode copy was measured and the "
            "model left as it was — call model.eval() to validate it as it is deployed"
        )
    attrs = plain_tensor_attributes(model)
    if attrs:
        result.notes.append(
            "plain tensor attributes are not converted by .to(dtype) — register them as buffers: " + ", ".join(attrs)
        )
    # jets in bounded chunks: memory stays that of `JET_CHUNK` jets whatever B is (Λx alone is T·B·N·4 numbers)
    parts, found = [], None
    for start in range(0, b, JET_CHUNK):
        stop = min(b, start + JET_CHUNK)
        ctx = Context(ev, x64[start:stop], mask[start:stop], m, lam, out_rep, budget, trim_padding, seed, tick, more)
        # float64's f(Λx) is evaluated in the floor's first pass (`ahead`), with the probes, and the other
        # precisions' in the same run of the workers as the floor's passes (`also`)
        ahead = with_floor and "float64" in names
        also = [prec for prec in run if prec.name in names and prec.name != "float64"]
        fm = floors.build(ctx, ahead=ahead, also=also) if with_floor else None
        rough_width = 0.0 if fm is None else float(width[start:stop][~fm.smooth].sum())
        chunk = {}
        total[0] = done[0] + plan(start, _to_evaluate(ctx, names, chunk), runnable, rough_width)
        # finest first, whatever order the dtypes were given in: a jump a second look finds at a finer unit roundoff
        # raises the coarser ones' floors (validate/jumps.py), so each floor is the same in any order
        for dtype in sorted(run, key=lambda d: d.u):
            meas = _measure_dtype(
                ctx, fm, dtype, points, companion=dtype is extra and dtype not in dtypes, skipped=skips.get(dtype.name)
            )
            chunk[meas.name] = meas
            left = _to_evaluate(ctx, names, chunk), sum(n not in chunk for n in names)
            total[0] = done[0] + plan(start, *left, rough_width)  # what is left
            tick(0)
        chunk = {d.name: chunk[d.name] for d in run}  # the order they were asked for
        _detect_float32_inside(ctx, chunk, fm)
        if start == 0 and fm is not None:
            found = _consistency(ctx, chunk, fm)
        if found is not None and found.reason is not None:
            _mark_inconsistent(chunk, found)
        if out_rep in (cc.SCALAR, cc.VECTOR) and start == 0:
            hint = _vector_hint(ctx)
            if hint:
                result.notes.append(hint)
        parts.append(chunk)
    result.measurements = {name: _concat([c[name] for c in parts]) for name in parts[0]}
    for meas in result.measurements.values():
        if meas.vanished:
            meas.notes.append(
                f"every {meas.name} output is exactly 0 on these jets, float64's are not: the function underflows (or "
                f"rounds to 0) in {meas.name}, which cannot resolve it"
            )
    if ev.native:
        names = ", ".join(n for n in result.measurements if n in ev.native)
        own = ev.native_dtype
        result.notes.append(
            f"the model fails with {names} weights on a dtype mismatch (it casts its inputs itself — x.float() in "
            f"forward?): {names} inputs were given to it with its own {dtype_name(own)} weights, as it runs for you"
        )
    if any(meas.computed_in is not None for meas in result.measurements.values()):
        f32 = result.measurements.get("float32")
        if f32 is not None and f32.output_values == torch.float16:
            result.notes.append(
                "the model computes in float16 inside (its float64 outputs equal its float32 outputs bit for bit, and "
                "all are float16 numbers — an x.half() in forward?): float64 and float32 cannot be measured and their "
                "rows are UNRESOLVED; compute in the input's dtype to measure them"
            )
        else:
            how = next(m.computed_in_evidence for m in result.measurements.values() if m.computed_in is not None)
            result.notes.append(
                f"the model computes in float32 inside ({how} — an x.float() in forward?): float64 cannot be measured "
                "and its rows are UNRESOLVED; compute in the input's dtype to measure float64"
            )
    result.seconds = time.time() - t0
    return result


def _to_evaluate(ctx: Context, names: list[str], measured: dict) -> int:
    """How many of the precisions `names` still need their f(Λx) evaluated in this chunk."""
    return sum(n not in measured and not ctx.evaluated(n) for n in names)


def _cannot_run(ev: Evaluator, prec: Precision, x64, mask, out_rep, trim: bool) -> str | None:
    """Why the model cannot run at a precision other than float32/float64 (one jet tried), or None. float32 and
    float64 are not tried: a failure there is the model's error and is raised where it happens."""
    why = ev.unavailable(prec)
    if why is not None or prec.name in ("float32", "float64"):
        return why
    w = int(evaluated_widths(mask[:1], trim)[0])
    try:
        ev(prec, x64[:1, :w], mask[:1, :w], out_rep)
    except ModelFailed as e:
        return _failure(e)
    return None


def _failure(e: ModelFailed) -> str:
    """Why a precision was not measured, as a user reads it: the model's own error, named as such."""
    return f"the model does not run in {precision(e.dtype).name}: {type(e.error).__name__}: {first_line(e.error)}"


FLOOR_PASSES = floors.PROBE_DRAWS + 2 + 2  # f(x), the probes, the noise probe; forward + backward of the Jacobian
JET_CHUNK = 256  # jets measured together (peak memory ~1.5 GB for the LGN); larger batches go in chunks


def _floor_work(width: torch.Tensor) -> float:
    """Particles the floor evaluates for jets of these widths, chunk by chunk: `FLOOR_PASSES` over every jet, and the
    finer perturbations (`floors.MID_U`) over `floors.jets_for_finer` of each chunk."""
    work = 0.0
    for s in range(0, len(width), JET_CHUNK):
        w = width[s : s + JET_CHUNK]
        work += float(w.sum()) * FLOOR_PASSES + len(floors.MID_U) * float(w[floors.jets_for_finer(len(w))].sum())
    return work


def _all_zero(z: torch.Tensor, lead: int) -> torch.Tensor:
    """Whether every number of each output is exactly 0: `[...lead axes]` bool for outputs with `lead` leading axes
    (1 for f(x) `[B, ...]`, 2 for f(Λx) `[T, B, ...]`)."""
    real = torch.view_as_real(z.resolve_conj()) if z.is_complex() else z
    return real.reshape(*real.shape[:lead], -1).eq(0).all(-1)


def _concat(ms: list[Measurement]) -> Measurement:
    """One Measurement from the same dtype's measurements of consecutive jet chunks."""
    first = ms[0]
    if len(ms) == 1 or first.errors is None:
        return first

    def cat(attr):
        return torch.cat([getattr(x, attr) for x in ms], 1) if getattr(first, attr) is not None else None

    methods = list(dict.fromkeys(x.floor_method for x in ms if x.floor_method))
    return Measurement(
        first.precision,
        first.points,
        cat("errors"),
        cat("floor"),
        floor_method="; ".join(methods) or None,
        output_dtype=first.output_dtype,
        output_values=first.output_values if all(x.output_values == first.output_values for x in ms) else None,
        inputs_overflow=torch.stack([x.inputs_overflow for x in ms]).any(0),
        companion=first.companion,
        notes=list(dict.fromkeys(n for x in ms for n in x.notes)),
        computed_in=next((x.computed_in for x in ms if x.computed_in is not None), None),
        computed_in_evidence=next((x.computed_in_evidence for x in ms if x.computed_in is not None), ""),
        inconsistent=first.inconsistent,
        vanished=all(x.vanished for x in ms),
        underflow=cat("underflow"),
    )


def _consistency(ctx: Context, chunk: dict[str, Measurement], fm: floors.FloorModel) -> consistency.Consistency:
    """The consistency probe (consistency.py) at each measured precision: whether identical calls repeat, and whether
    jets apart from the batch give their batched outputs. The tolerance is each jet's first-order floor at that
    precision (not the finite-perturbation floor: that one absorbs what it looks for), the least over the
    transformations, never below u, nor below the jets' response to a one-ulp nudge in the probe's own calls (jets
    that left first order). A precision whose outputs are another's (a model computing in float32 inside) is probed
    there. For a model without a gradient the tolerance is its floor, and identical calls must repeat to u.
    The first finding, else CONSISTENT."""
    measured = {k: m for k, m in chunk.items() if m.errors is not None and m.floor is not None}
    idx = consistency.probe_jets(ctx.x64.shape[0])
    x, mask = ctx.x64[idx], ctx.mask[idx]
    for meas in measured.values():
        if meas.computed_in is not None:  # its outputs are another precision's, probed there
            continue
        first_order = meas.floor if fm.linear is None else fm.linear * meas.unit
        tolerance = torch.nan_to_num(first_order[:, idx], nan=0.0, posinf=0.0).amin(0).clamp_min(meas.unit)
        batched = ctx.reference(meas.precision)[idx]
        found = consistency.probe(
            lambda prec=meas.precision: ctx.evaluate(prec, x, mask, serial=True),
            batched,
            tolerance,
            consistency.norm(batched),
            # no gradient: the floor is the finite-perturbation one, which noise inflates — identical calls must
            # repeat to u instead
            repeat_tolerance=torch.full_like(tolerance, meas.unit) if fm.linear is None else None,
            # jets that left first order (√ of a rounding-sized p², a kink): their response to a nudge, in these calls
            nudged=lambda prec=meas.precision, u=meas.unit: ctx.evaluate(
                prec, consistency.nudge(x, u), mask, serial=True
            ),
        )
        if found.reason is not None:
            return found
    return consistency.CONSISTENT


def _mark_inconsistent(chunk: dict[str, Measurement], found: consistency.Consistency) -> None:
    """A model that is not a deterministic function of one jet, at every precision (a property of the model, not of
    one dtype): what it varies by is the least floor, and its rows can be BROKEN (an error far beyond that spread that
    does not shrink with u) or UNRESOLVED, never PASS or NUMERICAL (verdict.py)."""
    for meas in chunk.values():
        if meas.errors is None or meas.floor is None:
            continue
        meas.inconsistent = found
        meas.floor = meas.floor.clamp_min(found.spread)
        if found.reason not in meas.notes:
            meas.notes.append(found.reason)


def _detect_float32_inside(ctx: Context, chunk: dict[str, Measurement], fm: floors.FloorModel | None = None) -> None:
    """Flag the float64 measurement of a model that computes in float32 inside (`x = x.float()` in forward), whose
    float64 rows cannot be measured. Two kinds of evidence:
    - its float64 outputs on the jets equal its float32 outputs bit for bit (a true float64 model's differ at ~u₃₂
      for almost every jet);
    - where only part of it is float32 (features before a float64 head), its float64 outputs do not follow input
      changes far below float32's rounding on most jets (`fm.numb`, floor.py `_insensitive`), and one float64 call,
      traced, shows the output's values went through a narrower dtype (validate/narrowing.py) — or cannot be traced
      (then at least `FLOAT32_INSIDE_MIN_JETS` jets must show it).
    Where its float64 errors stand beyond its floor (median excess above the PASS bound on some row) the trace runs
    too: a float32 part that reaches the output beside a float64 one (a small term computed in float32) puts its
    float32 rounding into float64's errors in a share nothing measures — the rows stay judged, with a note.
    Guards against false flags: the outputs must use more bits than bfloat16 holds (class labels, counts and
    constants are exact in every dtype) and the float64 errors must not all be 0."""
    m64, m32 = chunk.get("float64"), chunk.get("float32")
    if m64 is None or m32 is None or m64.errors is None or m32.errors is None:
        return
    r64, r32 = ctx.reference("float64"), ctx.reference("float32")
    ok = torch.isfinite(r64).all() and torch.isfinite(r32).all()
    real = torch.view_as_real(r64) if r64.is_complex() else r64
    detailed = bool((real != real.to(torch.bfloat16).to(real.dtype)).any())
    moving = bool((m64.errors[torch.isfinite(m64.errors)] > 0).any())
    if not (ok and detailed and moving):
        return
    if torch.equal(r64, r32):
        m64.computed_in = torch.float32
        m64.computed_in_evidence = "its float64 outputs equal its float32 ones bit for bit"
        # float16 inside (x.half(), cast back at the end): float32 and float64 alike return only float16 numbers
        flat = real.flatten()
        as_half = flat.to(torch.float16).to(flat.dtype)
        if m32.output_dtype in (torch.float32, torch.float64) and torch.equal(flat, as_half):
            for m in (m32, m64):
                _coarser_output(ctx, fm, m, torch.float16)
        return
    if fm is None or fm.sensitive is None:  # no gradient: no prediction of how the outputs should move
        return
    k, n = int(fm.numb.sum()), int(fm.sensitive.sum())
    numb = n > 0 and 2 * k > n
    beyond = m64.floor is not None and bool((row_medians(m64.excess) > DEFAULT_THRESHOLD).any())
    if not (numb or beyond):
        return
    w = int(evaluated_widths(ctx.mask[:1], ctx.trim)[0])
    found = narrowing.trace(ctx.ev, ctx.x64[:1, :w], ctx.mask[:1, :w], ctx.out_rep)
    if numb and (found.narrowed is not None or (not found.complete and n >= FLOAT32_INSIDE_MIN_JETS)):
        m64.computed_in = torch.float32
        m64.computed_in_evidence = (
            "its float64 outputs do not follow a change of its inputs far below float32's rounding (2⁻⁴⁰ relative) "
            f"on {k} of the {n} jets where its {'gradient' if fm.linear is not None else 'response to larger changes'} "
            "says they would"
            + (f", and its float64 call computes in a narrower dtype ({found.narrowed})" if found.narrowed else "")
        )
    elif found.narrowed is not None:
        # a float32 part beside a float64 one: its rounding stands in float64's errors, in a share nothing here can
        # measure — the rows stay judged (a break the float64 part carries must not hide), and the note says why a
        # BROKEN float64 row may be that part's rounding
        m64.notes.append(
            f"part of the model's float64 call computes in a narrower dtype ({found.narrowed}) and reaches the "
            "output: float64's errors include that part's float32 rounding, which can read as a float64 symmetry "
            "break — compute it in the input's dtype to measure float64"
        )
    # else: float64 arithmetic that absorbs the change itself (log(1 + x) of a tiny x), or a float64 model whose
    # error is its own: measured as float64


#: jets that must show the float32-inside test's numbness where the float64 call could not be traced (floor.py,
#: `_insensitive`; `narrowing.trace`): on 23 outside and gallery float64 models at most one jet of 48 was numb, so
#: a majority of at least this many is not chance; a traced narrowing op is evidence enough with one jet
FLOAT32_INSIDE_MIN_JETS = 4


def _coarser_output(ctx: Context, fm, meas: Measurement, dtype: torch.dtype) -> None:
    """Judge `meas` as a measurement whose outputs hold only `dtype`'s precision: its floor moved to that unit
    roundoff (input rounding and output rounding), and a note."""
    before_u, before_out = meas.unit, cc.unit_roundoff(meas.output_precision) if meas.output_precision else meas.unit
    meas.output_values = dtype
    meas.notes = [n for n in meas.notes if not n.startswith("the model returned ")]  # superseded by the note below
    if fm is not None and meas.floor is not None:
        u = meas.unit
        meas.floor = meas.floor - fm.input_floor(ctx, before_u) - before_out + fm.input_floor(ctx, u) + u
    meas.notes.append(
        f"the model's {dtype_name(meas.output_dtype)} outputs for {meas.name} inputs are all {dtype_name(dtype)} "
        f"numbers, and its float64 and float32 outputs equal bit for bit ({dtype_name(dtype)} arithmetic inside, or "
        f"outputs rounded as coarsely): {dtype_name(dtype)}'s rounding (u = {cc.unit_roundoff(dtype):.2g}) limits "
        f"what {meas.name} can resolve"
    )


#: where an output of 4 components holds (E, px, py, pz): the suite's order, and the one with E last
_NATURAL, _E_LAST = [0, 1, 2, 3], [3, 0, 1, 2]


def _vector_hint(ctx: Context) -> str | None:
    """An output of 4 components judged as a scalar that transforms as a four-vector, or one judged as a vector that
    transforms as one with E last (px, py, pz, E): say so. Checked on one boost of the grid, in float64."""
    ref = ctx.reference(torch.float64)
    if ref.is_complex() or ref.ndim != 2 or ref.shape[-1] != 4:
        return None
    boosted = ctx.lam[:, 0, 0] > 1.5
    if not boosted.any():
        return None
    i = int(torch.nonzero(boosted)[0])
    f1 = ctx.evaluate(torch.float64, ctx.xs[i], ctx.mask)

    def moved(order):  # the median relative error of the output read in that order as a four-vector
        g0, g1 = ref[:, order], f1[:, order]
        return float(((g1 - g0 @ ctx.lam[i].T).norm(dim=-1) / g1.norm(dim=-1).clamp_min(_TINY)).median())

    as_scalar = float(((f1 - ref).norm(dim=-1) / ref.norm(dim=-1).clamp_min(_TINY)).median())
    small = cc.unit_roundoff(torch.float64) ** 0.5  # far above float64 rounding, far below a boost's O(1) change
    reorder = "out[..., [3, 0, 1, 2]]: the suite's four-vectors are (E, px, py, pz)"
    if ctx.out_rep == cc.SCALAR and moved(_NATURAL) <= small < as_scalar:
        return (
            "the output has 4 components and transforms as a four-vector: judge it with out_rep='vector' (as a "
            "test: assert_lorentz_equivariant(model, p, mask, out_rep='vector'))"
        )
    if ctx.out_rep == cc.SCALAR and moved(_E_LAST) <= small < as_scalar:
        return (
            f"the output transforms as a four-vector in (px, py, pz, E) order: reorder it ({reorder}) and judge it "
            "with out_rep='vector'"
        )
    if ctx.out_rep == cc.VECTOR and moved(_E_LAST) <= small < moved(_NATURAL):
        return f"the output transforms as a four-vector in (px, py, pz, E) order: reorder it ({reorder})"
    return None


def rapidity_of(m: torch.Tensor) -> torch.Tensor:
    """|y| of the boost part of each element: cosh y = Λ⁰₀."""
    return torch.acosh(cc.to_so13(m.to(torch.complex128))[..., 0, 0].clamp_min(1.0))


__all__ = [
    "DTYPES",
    "PRECISIONS",
    "Measurement",
    "Sweep",
    "dtype_name",
    "measure",
    "p95",
    "rapidity_of",
    "sweep",
    "transformation_set",
    "unit_roundoff",
]
