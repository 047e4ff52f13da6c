"""Evaluating a black-box model on perturbed jets: dtype copies, bounded batches, the output scale and the
precision floor of a change (docs/properties.md, "Floors").

A change is `Δ_b = ‖f(x'_b) − f(x_b)‖₂ / s_b`, both outputs at the dtype under test, the difference in float64.
Scale `s_b = max(‖f(x_b)‖₂, median_b' ‖f(x_b')‖₂)`: a jet whose outputs happen to cross zero (a logit on the decision
boundary) is measured against the batch's typical output instead of blowing its relative change up.
Floor `φ_b = RMS_r ‖f(x_b ⊙ (1 + u r)) − f(x_b)‖₂ / s_b + u` (r uniform in [−1, 1] per input number, `draws`
seeded draws, the product formed in float64 and rounded once to the dtype, the model run at the dtype): what a
rounding-sized change of the input does to the output at that precision — its sensitivity to rounding and its own
rounding noise — plus the output's final rounding u.
"""

from __future__ import annotations

import hashlib
import math
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import torch

from clariant_core.numerics import DEFAULT_SWEEP, precision

from ._deps import (
    MODEL_ERRORS,
    Consistency,
    Evaluator,
    Pass,
    check_lorentz_inputs,
    consistency_probe,
    cpu_particles_per_call,
    first_line,
    has_hooks,
    jets_per_call,
    nudge,
    probe_jets,
    represented_unit,
    run_jobs,
    run_passes,
    sensitivity,
    unit_roundoff,
    workers_for,
)

F64 = torch.float64
_TINY = torch.finfo(F64).tiny
#: particle pairs per model call (jets · width²): temporaries of pairwise models stay ~100 MB
PAIR_BUDGET = 2_000_000


class Model:
    """A model `f(p [B, N, 4], mask [B, N]) → [B, ...]` (or `f(p)` with takes_mask=False) called at a dtype.

    nn.Modules are deep-copied and converted once per dtype (in eval mode); plain callables get inputs of that
    dtype. Outputs come back as float64 `[B, D]` (`[B, N, D]` for per-particle outputs), complex as (re, im).
    """

    def __init__(
        self,
        model,
        *,
        takes_mask: bool = True,
        per_particle: bool = False,
        budget: int = PAIR_BUDGET,
        device: torch.device | str | None = None,
    ):
        if isinstance(model, Model):
            raise TypeError("already a Model")
        # the Lorentz suite's evaluator holds the model at each dtype: where it lives, or a copy on the given device
        # (never moved, converted or switched to eval mode), and it refuses a one-argument model without
        # takes_mask=False; the checks call the model themselves (no precision modes, per-particle outputs)
        self.ev = Evaluator(model, takes_mask, device)
        self.model, self.takes_mask, self.per_particle, self.budget = model, takes_mask, per_particle, budget
        self.device = self.ev.device  # inputs go there; outputs come back to the CPU
        self.workers = 1 if has_hooks(model) else workers_for(self.device)
        self.cpu = self.device.type == "cpu"  # CPU calls are cache-sized (`cpu_particles_per_call`)
        self.output_dtypes: dict[torch.dtype, torch.dtype] = {}  # requested dtype → the dtype the model returned
        self._planned: list | None = None  # the calls a planning walk notes (`planning`)
        self._planning_width: int | None = None
        self._ready: dict[tuple, list[torch.Tensor]] = {}  # outputs evaluated ahead (`prefetch`), by call
        self._out_width: int | None = None  # numbers per jet (per particle) of the last outputs

    def at(self, dtype: torch.dtype):
        return self.ev.at(dtype)

    def _flat(self, out: torch.Tensor, b: int, n: int) -> torch.Tensor:
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the model returned {type(out).__name__}, not a tensor")
        if out.is_complex():
            out = torch.view_as_real(out.resolve_conj())
        out = out.to(device="cpu", dtype=F64)
        if self.per_particle:
            if out.ndim < 2 or tuple(out.shape[:2]) != (b, n):
                raise ValueError(f"per-particle outputs must be [B, N, ...] = [{b}, {n}, ...], got {tuple(out.shape)}")
            return out.reshape(b, n, -1)
        if out.ndim == 0 or out.shape[0] != b:
            raise ValueError(
                f"the model returned shape {tuple(out.shape)} for a call with {b} jets: outputs must have one row per "
                "jet, the batch axis first ([B, ...])"
            )
        return out.reshape(b, -1)

    def state(self) -> tuple:
        """A fingerprint of the model's own state and its dtype copies (concurrent calls:
        validate/workers.py)."""
        return self.ev.state()

    def _once(self, f, dtype: torch.dtype, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # copies: a model that changes its inputs in place (p.div_(1000)) must not change the jets of later calls,
        # nor the caller's
        x, mask = p.to(self.device, dtype, copy=True), mask.to(self.device, copy=True)
        with torch.no_grad():
            try:
                out = f(x, mask) if self.takes_mask else f(x)
            except RuntimeError as e:  # a module that casts its inputs itself: its own weights (Evaluator.native_for)
                f = self.ev.native_for(precision(dtype), e)
                out = f(x, mask) if self.takes_mask else f(x)
        if isinstance(out, torch.Tensor):
            self.output_dtypes.setdefault(dtype, out.real.dtype if out.is_complex() else out.dtype)
        return self._flat(out, x.shape[0], x.shape[1])

    def _chunks(self, rows: int, width: int, dtype: torch.dtype) -> list[slice]:
        """Bounded batches of `rows` jets of `width` particles at `dtype` (validate/workers.py, `jets_per_call`)."""
        size = jets_per_call(width, self.budget, cpu_particles_per_call(precision(dtype).dtype) if self.cpu else None)
        return [slice(i, min(i + size, rows)) for i in range(0, rows, size)]

    def __call__(self, dtype: torch.dtype, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """f at `dtype` on float64 inputs `p [B, N, 4]` (rounded once to dtype), in bounded batches."""
        f = self.at(dtype)
        chunks = self._chunks(p.shape[0], p.shape[1], dtype)
        jobs = [lambda s=s: self._once(f, dtype, p[s], mask[s]) for s in chunks]
        sizes = [s.stop - s.start for s in chunks]
        return torch.cat(run_jobs(jobs, self.workers, self.state, isolated=True, weights=sizes))

    def grouped(self, dtype: torch.dtype, p: torch.Tensor, mask: torch.Tensor, extra: int = 0) -> torch.Tensor:
        """f with trailing padding cut: jets grouped by their span (last real row + 1), each group evaluated at
        width span + `extra` (capped at N) — the appended rows a check adds stay, the rest of the padding goes.
        Nothing is reordered, so per-particle outputs keep their rows (rows beyond the width are zero). The
        batches run `workers` at a time, the largest first. Outputs planned ahead (`plan`, `prefetch`) are
        returned as they are."""
        widths = spans(mask).clamp_min(1).add(extra).clamp_max(mask.shape[1])
        if self._planned is not None:  # a planning walk: note the call, answer zeros (one number per jet or particle
            # until an output has shown its size: the checks reduce over it)
            self._planned.append((dtype, p, mask, widths))
            b, n, d = *mask.shape, self._out_width or self._planning_width or 1
            return torch.zeros((b, n, d) if self.per_particle else (b, d), dtype=F64)
        ready = self._ready.get(_fingerprint(dtype, p, mask, widths)) if self._ready else None
        if ready:
            return ready.pop(0)
        return self._at_widths(dtype, p, mask, widths)

    def _at_widths(self, dtype: torch.dtype, p: torch.Tensor, mask: torch.Tensor, widths: torch.Tensor):
        """f on each jet b trimmed to its first `widths[b]` rows, jets of one width evaluated together."""
        return run_passes([_WidthsPass(self, dtype, p, mask, widths)], self.workers, self.state)[0]

    def apart(self, dtype: torch.dtype, p: torch.Tensor, mask: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
        """f on each jet by itself (one call per jet, one after another from this thread), trimmed to `widths`;
        `[B, D]` (per-particle: `[B, N, D]`, rows beyond a jet's width zero)."""
        f, n = self.at(dtype), mask.shape[1]
        outs = []
        for i, w in enumerate(widths.tolist()):
            r = self._once(f, dtype, p[i : i + 1, :w], mask[i : i + 1, :w])
            outs.append(torch.nn.functional.pad(r, (0, 0, 0, n - w)) if self.per_particle else r)
        return torch.cat(outs)

    def sensitivity(self, p: torch.Tensor, mask: torch.Tensor, widths: torch.Tensor) -> torch.Tensor | None:
        """`consistency.sensitivity` of the float64 model on each jet by itself `[B]` (None without a usable gradient
        or with more than 16 output numbers per jet)."""
        f, rows = self.at(F64), []
        for i, w in enumerate(widths.tolist()):
            x, m = p[i : i + 1, :w].to(self.device), mask[i : i + 1, :w].to(self.device)
            one = sensitivity(lambda z, m=m: f(z, m) if self.takes_mask else f(z), x, max_outputs=16)
            if one is None:
                return None
            rows.append(one)
        return torch.cat(rows).cpu()

    @contextmanager
    def planning(self, width: int | None = None):
        """Within it, `grouped` evaluates nothing: it notes each call and answers zeros (a walk of the checks that
        only collects what they will ask for), `width` numbers per jet (or particle) until an output has shown its
        size. Yields the list of noted calls."""
        self._planned, self._planning_width = [], width
        try:
            yield self._planned
        finally:
            self._planned = None

    def prefetch(self, planned) -> None:
        """Evaluate the noted calls [(dtype, p, mask, widths)] in one pass per dtype — jets of one width from every
        call in the same model calls, far fewer and larger than call by call — and keep each call's outputs for
        `grouped` to return when the call comes. The dtypes' passes run together on the workers (`run_passes`); a
        pass that fails (a dtype the model cannot run at, a model that raises) is dropped: its calls then run, and
        raise, where the checks make them."""
        self._ready.clear()
        passes = []
        for dtype in dict.fromkeys(c[0] for c in planned):
            calls = [c for c in planned if c[0] == dtype]
            n = max(c[1].shape[1] for c in calls)
            ps = torch.cat([torch.cat([p, p.new_zeros(p.shape[0], n - p.shape[1], 4)], 1) for _, p, _, _ in calls])
            ms = torch.cat([torch.cat([m, m.new_zeros(m.shape[0], n - m.shape[1])], 1) for _, _, m, _ in calls])
            try:  # the model converted to the dtype here: a model that refuses it is left to the checks' calls
                passes.append((dtype, calls, _WidthsPass(self, dtype, ps, ms, torch.cat([w for *_, w in calls]))))
            except MODEL_ERRORS:
                continue
        # every dtype's calls in one run of the workers; a dtype whose call fails is dropped: its calls then run, and
        # raise, where the checks make them
        outs = run_passes([ps for *_, ps in passes], self.workers, self.state, apart=True)
        for (dtype, calls, _), out in zip(passes, outs):
            if out is None:
                continue
            for (_, p, m, w), o in zip(calls, out.split([p.shape[0] for _, p, _, _ in calls])):
                key = _fingerprint(dtype, p, m, w)
                self._ready.setdefault(key, []).append(o[:, : p.shape[1]] if self.per_particle else o)

    def unused(self) -> int:
        """Prefetched outputs no call has asked for (cleared)."""
        left = sum(len(v) for v in self._ready.values())
        self._ready.clear()
        return left


class _WidthsPass(Pass):
    """A model's calls on jets trimmed to given widths (`Model.grouped`): jets of one width together, in bounded
    batches; outputs `[B, D]` (per-particle: `[B, N, D]`, rows beyond a jet's width zero)."""

    RETRIED = MODEL_ERRORS
    OPTION = "trim=False (trim_padding=False)"

    def __init__(self, model: Model, dtype: torch.dtype, p: torch.Tensor, mask: torch.Tensor, widths: torch.Tensor):
        f = model.at(dtype)
        chunks = []
        for w in torch.unique(widths).tolist():
            idx = torch.nonzero(widths == w)[:, 0]
            chunks += [(idx[s], int(w)) for s in model._chunks(len(idx), int(w), dtype)]
        super().__init__(lambda x, m: model._once(f, dtype, x, m), p, mask, chunks)
        self.model = model

    def assemble(self, results: list[torch.Tensor]) -> torch.Tensor:
        b, n = self.mask.shape
        out = None
        for (idx, w), r in zip(self.chunks, results):
            if out is None:
                shape = (b, n, r.shape[-1]) if self.model.per_particle else (b, r.shape[-1])
                out = torch.zeros(shape, dtype=F64)
            if self.model.per_particle:
                out[idx, :w] = r
            elif r.shape[-1] != out.shape[-1]:
                raise ValueError(
                    f"the model's output size changes with the number of particles ({out.shape[-1]} numbers per jet "
                    f"at one width, {r.shape[-1]} at width {w}): per-particle outputs [B, N, ...]? pass "
                    "per_particle=True"
                )
            else:
                out[idx] = r
        self.model._out_width = out.shape[-1]
        return out


def spans(mask: torch.Tensor) -> torch.Tensor:
    """Each jet's span `[B]`: its last real row + 1 (0 for a jet with none)."""
    pos = torch.arange(1, mask.shape[1] + 1).expand(mask.shape)
    return torch.where(mask, pos, torch.zeros_like(pos)).amax(1)


def _fingerprint(dtype: torch.dtype, p: torch.Tensor, mask: torch.Tensor, widths: torch.Tensor) -> tuple:
    """A key for one call of `grouped`: the dtype, the shapes and a digest of every number it evaluates."""
    h = hashlib.blake2b(digest_size=16)
    for t in (p, mask, widths):
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return dtype, tuple(p.shape), h.hexdigest()


def left_aligned_index(mask: torch.Tensor) -> torch.Tensor:
    """Row index `[B, N]` that puts real rows first (stable: their order is kept), padding after."""
    return torch.argsort((~mask).to(torch.int8), dim=1, stable=True)


def left_aligned(p: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The same jets with real rows first (their order kept), padding after."""
    idx = left_aligned_index(mask)
    return p.gather(1, idx[..., None].expand(-1, -1, 4)), mask.gather(1, idx)


def jet_norm(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """‖x_b‖₂ `[B]` over everything but the batch axis; per-particle `[B, N, D]` over the rows of `mask` only."""
    if x.ndim == 3 and mask is not None:
        x = x * mask[..., None].to(x.dtype)
    return torch.linalg.vector_norm(x.reshape(x.shape[0], -1), dim=-1)


@dataclass
class Reference:
    """The unperturbed jets at one dtype: outputs, scale and floor per jet."""

    dtype: torch.dtype
    out: torch.Tensor  # [B, D] or [B, N, D] float64 (the model's outputs at dtype)
    scale: torch.Tensor  # [B]
    floor: torch.Tensor  # [B]
    finite: torch.Tensor  # [B] bool: reference outputs finite


@dataclass
class Context:
    """A model, the jets under test (float64, taken as exact) and cached per-dtype references, shared by checks."""

    model: Model
    p: torch.Tensor
    mask: torch.Tensor
    draws: int = 2
    seed: int = 0
    trim: bool = True
    _refs: dict = field(default_factory=dict)
    _units: dict = field(default_factory=dict)  # dtype → the unit roundoff its rows are judged at, where coarser
    found: Consistency | None = None  # the model is not a deterministic function of one jet (`probe`)
    _probed: set = field(default_factory=set)  # dtypes probed

    @classmethod
    def make(
        cls,
        model,
        p,
        mask,
        *,
        takes_mask=True,
        per_particle=False,
        draws=2,
        seed=0,
        budget=PAIR_BUDGET,
        trim=True,
        device=None,
        trim_padding=None,
    ):
        """The context of one model on one set of jets; `trim_padding` is the Lorentz suite's name for `trim` (either
        may be given: False for a fixed-width model)."""
        if trim_padding is not None:
            trim = trim_padding
        if isinstance(model, Context):
            return model
        check_jets(p, mask)
        if not (isinstance(draws, int) and draws >= 1):
            raise ValueError(f"draws must be an integer ≥ 1, got {draws!r}")
        m = (
            model
            if isinstance(model, Model)
            else Model(model, takes_mask=takes_mask, per_particle=per_particle, budget=budget, device=device)
        )
        return cls(m, p.to(F64), mask, draws, seed, trim)

    def eval(self, dtype: torch.dtype, p: torch.Tensor, mask: torch.Tensor, extra: int = 0) -> torch.Tensor:
        """The model at dtype on perturbed jets: trailing padding cut (keeping `extra` appended rows) when the
        context trims (the default: cost grows with the width², and padding is the padding check's business),
        else at the full width."""
        return self.model.grouped(dtype, p, mask, extra) if self.trim else self.model(dtype, p, mask)

    def eval_many(self, dtype: torch.dtype, variants, extra: int = 0) -> list[torch.Tensor]:
        """`eval` of several perturbed versions [(p, mask), …] of the jets in one batched pass (each multiplicity
        group then holds every version's jets, which is what makes the checks cheap); variants of different widths
        are zero-padded at the end to a common one, beyond the rows any group keeps. Without trimming, one pass
        per variant (a fixed-width model must see each at its own width)."""
        if not self.trim:
            return [self.model(dtype, *self.fixed_width(p, m)) for p, m in variants]
        w = max(p.shape[1] for p, _ in variants)
        ps = [torch.cat([p, p.new_zeros(p.shape[0], w - p.shape[1], 4)], 1) for p, _ in variants]
        ms = [torch.cat([m, m.new_zeros(m.shape[0], w - m.shape[1])], 1) for _, m in variants]
        out = self.model.grouped(dtype, torch.cat(ps), torch.cat(ms), extra)
        parts = out.split([p.shape[0] for p, _ in variants])
        if self.model.per_particle:
            parts = [o[:, : p.shape[1]] for o, (p, _) in zip(parts, variants)]
        return list(parts)

    def at_full_width(self, dtype: torch.dtype, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The model on jets at their full width `p.shape[1]`, padding rows included (the padding check's "as
        given" and "padded to W")."""
        return self.model.grouped(dtype, p, mask, p.shape[1]) if self.trim else self.model(dtype, p, mask)

    def fixed_width(self, p: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A perturbed version cut back to the jets' width N for a fixed-width model (trim=False): rows a check
        added beyond N must be padding in every jet (the added particle went into a free padding row)."""
        n = self.p.shape[1]
        if p.shape[1] <= n:
            return p, mask
        full = mask[:, n:].any(1)
        if full.any():
            raise ValueError(
                f"a fixed-width model (trim=False) sees {n} rows, and this check adds a particle: jet "
                f"{int(torch.nonzero(full)[0])} (and {int(full.sum()) - 1} more) has no free padding row — give the "
                "jets at least one padding row, or leave this check out"
            )
        return p[:, :n], mask[:, :n]

    def reference(self, dtype: torch.dtype) -> Reference:
        """The unperturbed jets at `dtype`; for a model that is not a deterministic function of one jet (`probe`),
        with what it varies by as the least floor."""
        if dtype not in self._refs:
            self._refs[dtype] = self._reference(dtype)
        ref = self._refs[dtype]
        return ref if self.found is None else replace(ref, floor=ref.floor.clamp_min(self.found.spread))

    def probe(self, dtypes) -> None:
        """The consistency probe (validate/consistency.py) at each of `dtypes` not probed yet, once their references
        and units are settled: `PROBE_JETS` jets, each in a call of its own, twice, against their batched references.
        The yardstick is each jet's first-order response to rounding its inputs at the dtype's u (reverse mode,
        `consistency.sensitivity`), never below u (or the unit of float16/bfloat16 when the outputs are such numbers) —
        not the floor here, which comes from perturbed copies in the same calls and absorbs noise, and position- or
        batch-dependent noise too. Without a usable gradient, identical calls must repeat to u and jets apart are
        held to the floor. A finding holds at every dtype (`_check.unresolved_if_inconsistent`). Nothing runs during
        a planning walk."""
        if self.found is not None or self.model._planned is not None or not set(dtypes) - self._probed:
            return  # every check asks; the jets' gradients below are worth computing once
        idx = probe_jets(self.p.shape[0])
        p, mask = self.p[idx], self.mask[idx]
        widths = spans(mask).clamp_min(1) if self.trim else torch.full((len(idx),), mask.shape[1])
        sens = self.model.sensitivity(p, mask, widths)
        for dt in dtypes:
            if dt in self._probed:
                continue
            self._probed.add(dt)
            ref, u = self._refs[dt], self.unit(dt)
            scale, batched = ref.scale[idx], ref.out[idx]
            u_out = represented_unit(batched, u)
            # the first-order response (or, without a gradient, u for identical calls), and for jets apart at least
            # their response to a one-ulp nudge in the probe's own calls (√ of a rounding-sized p², a kink)
            repeat = torch.full_like(scale, u) if sens is None else (sens * u / scale).clamp_min(u)
            found = consistency_probe(
                lambda dt=dt: self.model.apart(dt, p, mask, widths),
                batched,
                repeat.clamp_min(u_out),
                scale,
                repeat_tolerance=repeat.clamp_min(u_out),
                nudged=lambda dt=dt, u=u: self.model.apart(dt, nudge(p, u), mask, widths),
            )
            if found.reason is not None:
                self.found = found
                return

    def unit(self, dtype: torch.dtype) -> float:
        """The unit roundoff the dtype's rows are judged at: the dtype's own, or a coarser one the model computes in —
        the dtype it returns (a float32 output for float64 inputs), or float32 when its float64 outputs equal its
        float32 ones bit for bit (an x.float() in forward; `settle_units`)."""
        return self._units.get(dtype, unit_roundoff(dtype))

    def settle_units(self) -> None:
        """Judge float64 at float32's unit roundoff when the model computes in float32 inside: its float64
        outputs equal its float32 ones bit for bit on these jets (outputs with more bits than bfloat16 holds — class
        labels and counts are exact in every dtype). The Lorentz suite's rule (measures._detect_float32_inside)."""
        f64, f32 = torch.float64, torch.float32
        if f64 not in self._refs or f32 not in self._refs or self.unit(f64) >= unit_roundoff(f32):
            return
        a, b = self._refs[f64].out, self._refs[f32].out
        detailed = bool((a != a.to(torch.bfloat16).to(F64)).any())
        if detailed and bool(torch.isfinite(a).all()) and torch.equal(a, b):
            self._units[f64] = unit_roundoff(f32)
            self._refs[f64] = self._reference(f64, unit_roundoff(f32))

    def _reference(self, dtype: torch.dtype, u: float | None = None) -> Reference:
        nominal = unit_roundoff(dtype)
        u = nominal if u is None else u
        g = torch.Generator().manual_seed(self.seed + 7919)
        moved = [
            (self.p + u * (torch.rand(self.p.shape, generator=g, dtype=F64) * 2 - 1) * self.p, self.mask)
            for _ in range(self.draws)
        ]
        # f(x) and its rounding-sized perturbations in one batched pass (fewer, larger model calls)
        out, *outs = self.eval_many(dtype, [(self.p, self.mask), *moved])
        norms = jet_norm(out, self.mask)
        finite = torch.isfinite(out.reshape(out.shape[0], -1)).all(1)
        # the typical size of an output: over jets with a non-zero one (a relu cut may be exactly 0 for most jets);
        # 1 in the output's units when every output is exactly 0 (docs/properties.md)
        sized = finite & (norms > 0)
        typical = norms[sized].median() if sized.any() else torch.tensor(1.0, dtype=F64)
        scale = torch.maximum(torch.nan_to_num(norms, nan=0.0), typical).clamp_min(_TINY)
        acc = torch.zeros(self.p.shape[0], dtype=F64)
        for m in outs:
            acc += (jet_norm(m - out, self.mask) / scale) ** 2
        floor = (acc / self.draws).sqrt() + u
        returned = self.model.output_dtypes.get(dtype)
        u_out = unit_roundoff(returned) if returned is not None and returned.is_floating_point else nominal
        if u_out > u:  # the model returns a coarser dtype: it computes in it from some point on, at the earliest
            # from its inputs — the floor is that of its inputs rounded there (as the Lorentz suite's floor)
            self._units[dtype] = u_out
            return self._reference(dtype, u_out)
        return Reference(dtype, out, scale, floor, finite)

    def change(self, dtype: torch.dtype, out: torch.Tensor, rows=None, jets=None) -> torch.Tensor:
        """Δ_b `[B]` of perturbed outputs `out` against the reference; per-particle outputs compared on the real
        rows of the reference (`rows` = the perturbed row holding each reference row, `[B, N]`, identity if None).
        `jets`: the reference jets `out` belongs to (a slice or index; all if None). Non-finite outputs give an
        infinite change."""
        ref = self.reference(dtype)
        sel = slice(None) if jets is None else jets
        ro, scale, mask = ref.out[sel], ref.scale[sel], self.mask[sel]
        if self.model.per_particle:
            n = ro.shape[1]
            if rows is not None:
                out = out.gather(1, rows[..., None].expand(-1, -1, out.shape[-1]))
            d = jet_norm(out[:, :n] - ro, mask)
        else:
            d = jet_norm(out - ro)
        d = d / scale
        return torch.where(torch.isfinite(d), d, torch.full_like(d, math.inf))


def check_jets(p: torch.Tensor, mask: torch.Tensor) -> None:
    """Raise ValueError unless the jets pass the Lorentz suite's input checks
    (`clariant.validate.evaluation.check_jets`:
    shapes, B > 0, no empty jet, finite real particles, E ≥ |p⃗|) and the masked rows are finite too — the padding
    checks feed the jets as given."""
    check_lorentz_inputs(p, mask)
    bad = ~torch.isfinite(p).all(-1)
    if bad.any():
        b, i = (int(v) for v in torch.nonzero(bad)[0])
        raise ValueError(f"momenta are not finite at jet {b}, particle {i} (a masked row: padding must be finite too)")


#: the precisions every check measures by default: two, so precision scaling can tell rounding from a bug
DEFAULT_DTYPES = (torch.float64, torch.float32)


def as_dtype(dt) -> torch.dtype:
    """A storage dtype given as a torch dtype or by name ("float64", "float32", "bfloat16", "float16")."""
    if isinstance(dt, torch.dtype):
        return dt
    if isinstance(dt, str) and dt in STORAGE_DTYPES:
        return STORAGE_DTYPES[dt]
    raise ValueError(f"dtypes are torch dtypes or one of {', '.join(STORAGE_DTYPES)}, got {dt!r}")


STORAGE_DTYPES = {prec.name: prec.dtype for prec in DEFAULT_SWEEP}  # the storage dtypes, by name


def usable(ctx: Context, dtypes) -> tuple[list[torch.dtype], dict[str, str]]:
    """The dtypes the model runs at (references computed) and the reason for each one it cannot run at. float32
    and float64 must run; a failure there is raised."""
    from ._deps import dtype_name

    ok, skipped = [], {}
    for dt in dtypes:
        dt = as_dtype(dt)
        try:
            ctx.reference(dt)
            ok.append(dt)
        except MODEL_ERRORS as e:
            if dt in (torch.float32, torch.float64):
                raise
            skipped[dtype_name(dt)] = f"{type(e).__name__}: {first_line(e)}"
    if not ok:
        raise ValueError("the model runs at none of the requested dtypes: " + "; ".join(skipped.values()))
    return ok, skipped
