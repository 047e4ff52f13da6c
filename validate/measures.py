"""Measures (DESIGN.md §3): relative invariance/equivariance errors per sample, the precision floor, sweeps.

Measuring is separate from judging (`verdict.py`): everything here returns data.

Relative error of sample x under Λ (SL(2,C) element M): ε = ‖f(Λx) − ρ_out(M) f(x)‖₂ / max(‖ρ_out(M) f(x)‖₂, tiny).
Λx is computed from the SL(2,C) element in double-double (float64 operations only, validate/exact.py) and rounded
once to the dtype under test — a float64 Λ @ x would itself be off by up to u·e^{2|y|}; the difference is taken in
float64.
Precision floor: ε_floor = ‖ρ_out(M) J_f(x) (Λ⁻¹δ − δ₀)‖ / ‖ρ_out(M) f(x)‖, δ and δ₀ the roundings of Λx and x, modelled
as δ_μ = u·r_μ·(Λx)_μ with r independent and uniform in [−1, 1], J_f in float64. For outputs of ≤ 16 real components
the floor is the exact root mean square over r (J_f by reverse mode: a deterministic floor per jet — one random draw
can land near a zero of J_f v and understate a jet's floor 100-fold); for larger outputs one seeded draw pushed
forward (forward-mode autodiff, central differences as a fallback for models torch.func cannot differentiate
forward). Plus u itself — the rounding of the output to the dtype, which no computation avoids (it matters for
outputs that barely depend on their inputs). Excess = ε / ε_floor.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

import clariant_core as cc

from . import representations as reps
from .exact import lorentz_apply
from .groups import GridPoint, check_lorentz, grid, sample

DTYPES = (torch.float64, torch.float32, torch.bfloat16, torch.float16)
_TINY = torch.finfo(torch.float64).tiny


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def unit_roundoff(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).eps / 2


@dataclass
class Measurement:
    """Errors of one model at one dtype over T transformations × B samples."""

    dtype: str
    points: list[GridPoint]
    errors: torch.Tensor | None  # [T, B] float64
    floor: torch.Tensor | None = None  # [T, B] float64 (at this dtype's u)
    skipped: str | None = None
    floor_method: str | None = None

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
            e = self.errors[i]
            row = {
                "dtype": self.dtype,
                "kind": pt.kind,
                "axis": pt.axis,
                "parameter": pt.parameter,
                **_stats(e, "error"),
            }
            if self.floor is not None:
                row.update(_stats(self.floor[i], "floor"))
                row.update(_stats(ex[i], "excess"))
            out.append(row)
        return out


def p95(x: torch.Tensor) -> float:
    """95th percentile, taken as an actual sample (so an infinite error stays infinite instead of NaN)."""
    return float(torch.quantile(x.to(torch.float64), 0.95, interpolation="higher"))


def _stats(x: torch.Tensor, prefix: str) -> dict:
    x = x.to(torch.float64)
    return {
        f"{prefix}_median": float(x.median()),
        f"{prefix}_p95": p95(x),
        f"{prefix}_max": float(x.max()),
    }


class _Evaluator:
    """Calls a model at a dtype: nn.Modules are copied and converted once per dtype; plain callables are called
    with inputs of that dtype."""

    def __init__(self, model, takes_mask: bool = True):
        self.model, self.takes_mask = model, takes_mask
        self._copies: dict[torch.dtype, object] = {}

    def at(self, dtype: torch.dtype):
        if not isinstance(self.model, torch.nn.Module):
            return self.model
        if dtype not in self._copies:
            params = list(self.model.parameters())
            if params and params[0].dtype == dtype:
                self._copies[dtype] = self.model
            else:
                self._copies[dtype] = copy.deepcopy(self.model).to(dtype)
            self._copies[dtype].eval()
        return self._copies[dtype]

    def __call__(self, dtype, p, mask):
        f = self.at(dtype)
        return f(p, mask) if self.takes_mask else f(p)


def _groups(mask: torch.Tensor, budget: int, trim: bool):
    """Index groups for evaluation: jets of equal multiplicity together, trimmed to that multiplicity (exact for any
    model that accepts a variable particle count), at most `budget` particle pairs per call. Without trimming, or
    when real particles are not left-aligned, chunks of the full width."""
    n = mask.sum(1)
    width = mask.shape[1]
    aligned = bool((mask == (torch.arange(width)[None, :] < n[:, None])).all())
    if not (trim and aligned):
        size = max(1, budget // max(width, 1) ** 2)
        for i in range(0, mask.shape[0], size):
            yield torch.arange(i, min(i + size, mask.shape[0])), width
        return
    for v in torch.unique(n).tolist():
        idx = torch.nonzero(n == v)[:, 0]
        size = max(1, budget // max(v, 1) ** 2)
        for i in range(0, len(idx), size):
            yield idx[i : i + size], max(v, 1)


def _apply(fn, x: torch.Tensor, mask: torch.Tensor, budget: int, trim: bool, *extra) -> torch.Tensor:
    """fn(x_chunk, mask_chunk, *extra_chunks) over the groups of `_groups`, results in the original order."""
    out = None
    for idx, w in _groups(mask, budget, trim):
        r = fn(x[idx, :w], mask[idx, :w], *(e[idx, :w] for e in extra))
        r = r.to(torch.complex128 if r.is_complex() else torch.float64)
        if out is None:
            out = torch.empty((x.shape[0], *r.shape[1:]), dtype=r.dtype)
        out[idx] = r
    return out


def _evaluate(ev: _Evaluator, dtype, x, mask, budget: int, out_rep, trim: bool = True) -> torch.Tensor:
    def fn(xc, mc):
        with torch.no_grad():
            return reps.flatten(ev(dtype, xc.to(dtype), mc), out_rep)

    return _apply(fn, x, mask, budget, trim)


def _norm(x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(x.reshape(x.shape[0], x.shape[1], -1), dim=-1)


def measure(
    model,
    p: torch.Tensor,
    mask: torch.Tensor,
    transforms: torch.Tensor,
    *,
    dtype: torch.dtype = torch.float64,
    out_rep="scalar",
    points: list[GridPoint] | None = None,
    with_floor: bool = True,
    takes_mask: bool = True,
    budget: int = 2_000_000,
    trim_padding: bool = True,
    seed: int = 0,
    _evaluator: _Evaluator | None = None,
    _floor_unit: tuple | None = None,
    _transformed_inputs: torch.Tensor | None = None,
) -> Measurement:
    """Relative error per (transformation, sample) of `model(p, mask)` at `dtype`.

    transforms: SL(2,C) `[T, 2, 2]` (or Λ `[T, 4, 4]` real for scalar/vector outputs). p: `[B, N, 4]` taken as exact
    (float64), mask `[B, N]`. A dtype the model cannot run in gives `skipped` with the reason. Jets are evaluated
    grouped by multiplicity and trimmed to it (`trim_padding=False` for models that need a fixed particle count),
    at most `budget` particle pairs per call.
    """
    out_rep = reps.parse(out_rep)
    m, lam = _as_transforms(transforms, out_rep)
    t, b = lam.shape[0], p.shape[0]
    points = points or [GridPoint("custom", None, float("nan"))] * t
    ev = _evaluator or _Evaluator(model, takes_mask)
    x64 = p.to(torch.float64)
    xs = _transformed(m, lam, x64) if _transformed_inputs is None else _transformed_inputs
    xs = xs.reshape(t * b, *p.shape[1:])
    masks = mask.repeat(t, 1)
    name = dtype_name(dtype)
    try:
        ref = _evaluate(ev, dtype, x64, mask, budget, out_rep, trim_padding)  # [B, ...]
        out = _evaluate(ev, dtype, xs, masks, budget, out_rep, trim_padding).reshape(t, b, *ref.shape[1:])
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as e:
        if dtype in (torch.float32, torch.float64):
            raise
        return Measurement(name, points, None, skipped=f"{type(e).__name__}: {str(e).splitlines()[0][:160]}")
    expected, harness = _expected(out_rep, m, lam, ref)
    errors = _norm(out - expected) / _norm(expected).clamp_min(_TINY)
    # non-finite outputs (overflow in a narrow dtype, or NaN) count as an infinite error, never as a NaN statistic
    errors = torch.where(torch.isnan(errors), torch.full_like(errors, float("inf")), errors)
    floor, method = None, None
    if with_floor:
        unit, method = (
            _floor_unit
            if _floor_unit is not None
            else floor_unit(
                ev, x64, mask, m, lam, out_rep, budget=budget, trim=trim_padding, seed=seed, xs=_transformed_inputs
            )
        )
        # input rounding, the output's own final rounding, and the float64 rounding of ρ(M) f(x) where it is not exact
        floor = (unit + 1.0) * unit_roundoff(dtype) + harness
    return Measurement(name, points, errors, floor, floor_method=method)


def _transformed(m, lam, x64) -> torch.Tensor:
    """Λx `[T, B, N, 4]`: from SL(2,C) elements in double-double, rounded once (validate/exact.py); a given real Λ
    is applied in float64 (it is itself Lorentz only to ~u‖Λ‖², which the errors then include)."""
    if m is not None:
        return lorentz_apply(m, x64)
    return torch.einsum("tij,bnj->tbni", lam, x64)


def _expected(out_rep, m, lam, ref) -> tuple[torch.Tensor, torch.Tensor | float]:
    """ρ(M) f(x) `[T, B, ...]` and a bound on its own float64 rounding relative to its norm (0 where exact).

    Scalars: f(x). Vectors given as SL(2,C): Λf(x) in double-double, rounded once. Otherwise a float64 product, whose
    rounding u₆₄‖|ρ||f|‖ / ‖ρf‖ grows with the conditioning of ρ(M) (e^{(k+n)|y|/2} per irrep) and is added to the
    floor: the suite cannot blame a model for its own arithmetic."""
    t = lam.shape[0]
    if out_rep == "scalar":
        return ref.expand(t, *ref.shape), 0.0
    if out_rep == "vector" and m is not None:
        return lorentz_apply(m, ref), 0.0
    expected = _act(out_rep, m, lam, ref.expand(t, *ref.shape))
    if out_rep == "vector":
        mags = (lam.abs().reshape(t, *(1,) * (ref.ndim - 1), 4, 4) @ ref.abs()[..., None])[..., 0]
    else:
        r = reps.rho(out_rep, m).abs()  # [T, dim, dim]
        mags = (r.reshape(t, *(1,) * (ref.ndim - 1), *r.shape[-2:]) @ ref.abs().to(r.dtype)[..., None])[..., 0]
    bound = unit_roundoff(torch.float64) * _norm(mags) / _norm(expected).clamp_min(_TINY)
    return expected, bound


def _as_transforms(transforms: torch.Tensor, out_rep):
    if transforms.ndim == 2:
        transforms = transforms[None]
    if transforms.shape[-2:] == (2, 2):
        m = cc.check_sl2c(transforms.to(torch.complex128), "transforms")
        lam = cc.to_so13(m)
    elif transforms.shape[-2:] == (4, 4):
        if isinstance(out_rep, cc.Irreps):
            raise ValueError("Irreps outputs need SL(2,C) transformations [T, 2, 2], not Λ")
        m, lam = None, transforms.to(torch.float64)
    else:
        raise ValueError(f"transforms must be [T, 2, 2] SL(2,C) or [T, 4, 4] Λ, got {tuple(transforms.shape)}")
    check_lorentz(lam, "transform")
    return m, lam


def _act(out_rep, m, lam, x):
    if out_rep == "scalar":
        return x
    if out_rep == "vector":
        shape = (lam.shape[0],) + (1,) * (x.ndim - 2) + (4, 4)
        return (lam.reshape(shape) @ x[..., None])[..., 0]
    return reps.act(out_rep, m, x)


_REVERSE_MODE_MAX_OUTPUTS = 16
_FLOOR_STEP_NUMBERS = 1 << 22  # the reverse-mode floor's temporaries hold at most ~this many numbers per step


def _floor_reverse(model_fn, x64, mask, xs, lam_inv, act, complex_out, budget, trim) -> torch.Tensor:
    """E‖ρ J v‖² per (transformation, sample) `[T, B]`, exactly, over the rounding model v = Λ⁻¹δ − δ₀ with
    δ_μ = u r_μ (Λx)_μ, δ₀_μ = u r'_μ x_μ, all r independent and uniform in [−1, 1] (E r² = 1/3), for u = 1:
    Σ_μ (‖ρ J Λ⁻¹ e_μ‖² (Λx)_μ² + ‖ρ J e_μ‖² x_μ²) / 3. The Jacobian rows come from reverse mode, one pass per output
    component; they do not depend on the transformation, so this costs O(outputs) passes over B jets, not T·B."""
    t = lam_inv.shape[0]

    def sq_norms(cols, first):  # cols: real [T', b, w, 4, D] for transformations first… → Σ_{w,4} ‖ρ_t col‖² [T', b]
        if complex_out:
            cols = torch.view_as_complex(cols.unflatten(-1, (-1, 2)).contiguous())
        return act(cols.flatten(2, 3), slice(first, first + cols.shape[0])).abs().square().sum((-1, -2))

    def fn(xc, mc, ysc):  # ysc: Λx `[b, w, T, 4]`
        z = xc.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            out = model_fn(z, mc)
            out = (
                torch.view_as_real(out.resolve_conj()).flatten(1) if out.is_complex() else out.reshape(out.shape[0], -1)
            )
            rows = [
                torch.autograd.grad(out[:, k].sum(), z, retain_graph=k + 1 < out.shape[1])[0]
                for k in range(out.shape[1])
            ]
        jac = torch.stack(rows, -1)  # [b, w, 4, D]
        direct = jac * xc[..., None]
        per = max(1, _FLOOR_STEP_NUMBERS // max(jac.numel(), 1))  # transformations per step
        out = []
        for s in range(0, t, per):
            li, ys = lam_inv[s : s + per], ysc[:, :, s : s + per].permute(2, 0, 1, 3)
            pulled = torch.einsum("bnkd,tkl->tbnld", jac, li) * ys[..., None]
            out.append(sq_norms(pulled, s) + sq_norms(direct.expand(li.shape[0], *jac.shape), s))
        return (torch.cat(out) / 3).T  # [b, T]

    return _apply(fn, x64, mask, budget, trim, xs.permute(1, 2, 0, 3)).T


def _floor_forward(model_fn, xr, masks, v, budget, trim):
    """J v per (transformation, sample) by forward mode (central differences if torch.func cannot)."""
    method = ["forward-mode autodiff"]

    def jvp(xc, mc, vc):
        try:
            with torch.no_grad():
                return torch.func.jvp(lambda z: model_fn(z, mc), (xc,), (vc,))[1]
        except Exception:  # noqa: BLE001 — any model torch.func cannot handle falls back to differences
            method[0] = "central differences (forward mode unavailable)"
            h = 1e-6
            with torch.no_grad():
                return (model_fn(xc + h * vc, mc) - model_fn(xc - h * vc, mc)) / (2 * h)

    return _apply(jvp, xr, masks, budget, trim, v), method[0]


def floor_unit(
    ev, x64, mask, m, lam, out_rep, *, budget=2_000_000, trim=True, seed=0, xs=None
) -> tuple[torch.Tensor, str]:
    """Precision floor per (transformation, sample) for u = 1 (scale by the dtype's u), and the method used.

    Models with few output components (≤ 16 real numbers: invariants, vectors, small Irreps): the exact root mean
    square of ‖ρ J v‖ over the rounding model (reverse mode), the same for every seed. Larger outputs: one seeded
    random rounding v, pushed forward (forward mode)."""
    t, b = lam.shape[0], x64.shape[0]
    xs = _transformed(m, lam, x64) if xs is None else xs
    lam_inv = cc.inverse_lorentz(lam)
    f = ev.at(torch.float64)

    def model_fn(z, mi):
        return reps.flatten(f(z, mi) if ev.takes_mask else f(z), out_rep)

    def act(z, sel=slice(None)):
        return _act(out_rep, None if m is None else m[sel], lam[sel], z)

    with torch.no_grad():
        probe = model_fn(x64[:1], mask[:1])
    components = probe[0].numel() * (2 if probe.is_complex() else 1)
    if components <= _REVERSE_MODE_MAX_OUTPUTS:
        msq = _floor_reverse(model_fn, x64, mask, xs, lam_inv, act, probe.is_complex(), budget, trim)
        num = msq.sqrt()
        method = "reverse-mode autodiff, exact RMS over input roundings"
    else:
        g = torch.Generator().manual_seed(seed)
        r1 = torch.rand(xs.shape, generator=g, dtype=torch.float64) * 2 - 1
        r0 = torch.rand(x64.shape, generator=g, dtype=torch.float64) * 2 - 1
        v = torch.einsum("tij,tbnj->tbni", lam_inv, xs * r1) - (x64 * r0)[None]
        v = (v * mask[None, :, :, None].to(torch.float64)).reshape(t * b, *x64.shape[1:])
        jv, method = _floor_forward(model_fn, x64.repeat(t, 1, 1), mask.repeat(t, 1), v, budget, trim)
        num = _norm(act(jv.reshape(t, b, *jv.shape[1:])))
        method += ", one seeded random rounding"
    ref = _evaluate(ev, torch.float64, x64, mask, budget, out_rep, trim)  # [B, ...]
    den = _norm(act(ref.expand(t, *ref.shape))).clamp_min(_TINY)
    return num / den, method


@dataclass
class Sweep:
    """Measurements of one model over dtypes on a common set of transformations."""

    points: list[GridPoint]
    transforms: torch.Tensor  # SL(2,C) [T, 2, 2]
    measurements: dict[str, Measurement] = field(default_factory=dict)
    out_rep: object = "scalar"
    seconds: float = 0.0

    def rows(self) -> list[dict]:
        return [r for meas in self.measurements.values() for r in meas.rows()]

    @property
    def skipped(self) -> dict[str, str]:
        return {k: v.skipped for k, v in self.measurements.items() if v.skipped}


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
    out_rep="scalar",
    takes_mask: bool = True,
    with_floor: bool = True,
    budget: int = 2_000_000,
    trim_padding: bool = True,
    seed: int = 0,
    progress=None,
    transforms: torch.Tensor | None = None,
    rapidities=None,
) -> Sweep:
    """Errors over the deterministic grid (boosts along each axis at n_rapidities rapidities up to max_rapidity,
    or at the given `rapidities`; rotations at n_angles angles) plus n_random seeded elements of each listed group
    ("full", "so3", "beam"), for each dtype. All transformations of a dtype go through the model together, grouped
    by multiplicity; the transformed inputs (double-double, rounded once) and the floor (float64 autodiff) are
    computed once and shared by all dtypes. `transforms` (SL(2,C) `[T, 2, 2]`) replaces the grid by given
    elements."""
    import time

    t0 = time.time()
    if transforms is not None:
        m = cc.check_sl2c(transforms.reshape(-1, 2, 2).to(torch.complex128), "transforms")
        points = [GridPoint("custom", None, float(y)) for y in rapidity_of(m)]
    else:
        points, m = grid(max_rapidity, n_rapidities, axes, n_angles, rapidities)
    for k, gname in enumerate(groups):
        gm = sample(gname, n_random, max_rapidity=max_rapidity, seed=seed + k)
        ys = torch.acosh(cc.to_so13(gm)[:, 0, 0].clamp_min(1.0))
        points += [GridPoint(gname, None, float(y)) for y in ys]
        m = torch.cat([m, gm])
    out_rep = reps.parse(out_rep)
    ev = _Evaluator(model, takes_mask)
    result = Sweep(points, m, out_rep=out_rep)
    unit = None
    lam = cc.to_so13(m)
    xs = _transformed(m, lam, p.to(torch.float64))  # shared by the floor and every dtype
    if with_floor:
        unit = floor_unit(
            ev, p.to(torch.float64), mask, m, lam, out_rep, budget=budget, trim=trim_padding, seed=seed, xs=xs
        )
    for dtype in dtypes:
        result.measurements[dtype_name(dtype)] = measure(
            model,
            p,
            mask,
            m,
            dtype=dtype,
            out_rep=out_rep,
            points=points,
            with_floor=with_floor,
            budget=budget,
            trim_padding=trim_padding,
            seed=seed,
            _evaluator=ev,
            _floor_unit=unit,
            _transformed_inputs=xs,
            takes_mask=takes_mask,
        )
        if progress is not None:
            progress(dtype_name(dtype))
    result.seconds = time.time() - t0
    return result


def rapidity_of(m: torch.Tensor) -> torch.Tensor:
    """|y| of the boost part of each element: cosh y = Λ⁰₀."""
    return torch.acosh(cc.to_so13(m.to(torch.complex128))[..., 0, 0].clamp_min(1.0))


__all__ = [
    "DTYPES",
    "Measurement",
    "Sweep",
    "dtype_name",
    "floor_unit",
    "measure",
    "rapidity_of",
    "sweep",
    "unit_roundoff",
]
