"""One measurement's inputs, shared by the measures and the floor: the model as evaluated (on its device), the jets,
the transformations, Λx (computed once on the CPU in double-double, shared by every precision and moved to the
device chunk by chunk), evaluation settings and progress. Model evaluations are planned as passes (`plan`,
`transformed_pass`) and run, one or several together, on the workers (`run`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

import clariant_core as cc
from clariant_core.numerics import precision

from . import action
from .evaluation import Evaluator, Pass, run_passes
from .workers import cpu_particles_per_call, has_hooks, workers_for


@dataclass
class Context:
    ev: Evaluator
    x64: torch.Tensor  # [B, N, 4] float64, taken as exact
    mask: torch.Tensor  # [B, N] bool
    m: torch.Tensor | None  # SL(2,C) [T, 2, 2] complex128, None for a given real Λ
    lam: torch.Tensor  # Λ [T, 4, 4] float64
    out_rep: cc.Rep  # how the outputs transform (read once by cc.Rep.parse)
    budget: int = 2_000_000
    trim: bool = True
    seed: int = 0
    progress: Callable[[int], None] | None = None
    expect: Callable[[float], None] | None = None  # work added to the progress total (particles), where unplanned
    xs: torch.Tensor | None = None  # Λx [T, B, N, 4] float64
    _refs: dict = field(default_factory=dict)
    _ahead: dict = field(default_factory=dict)  # f(Λx) by precision name, evaluated ahead (`transformed_pass`)
    _joined: tuple | None = None  # (x and Λx, their masks) joined once for the passes that evaluate both

    def __post_init__(self):
        # batches evaluated concurrently on the CPU, each call cache-sized (validate/workers.py); one at a time on a GPU
        self.workers = 1 if has_hooks(self.ev.model) else workers_for(self.ev.device)
        self._lock = threading.Lock()
        if self.xs is None:
            self.xs = action.transformed(self.m, self.lam, self.x64)
        self.lam_inv = cc.inverse_lorentz(self.lam)

    @property
    def shape(self) -> tuple[int, int]:
        return self.lam.shape[0], self.x64.shape[0]

    def tick(self, particles: int) -> None:
        if self.progress is not None:
            with self._lock:  # called from the evaluation workers
                self.progress(particles)

    def evaluate(self, dtype, x: torch.Tensor, mask: torch.Tensor, *, serial: bool = False) -> torch.Tensor:
        """f(x) at precision `dtype` (a torch dtype or a precision mode) for any batch of jets x `[B', N, 4]` float64
        on the CPU, grouped by multiplicity, evaluated on the evaluator's device; float64 out, on the CPU. `serial`:
        the calls one after another from this thread, outside the progress count (the consistency probe)."""
        return self.run([self._forward_pass(dtype, x, mask, counted=not serial)], serial=serial)[0]

    def _forward_pass(self, dtype, x: torch.Tensor, mask: torch.Tensor, counted: bool = True) -> Pass:
        def fn(xc, mc):
            with torch.no_grad():
                return self.ev(dtype, xc, mc, self.out_rep)

        return self.plan(fn, x, mask, tick=self.tick if counted else None, dtype=dtype)

    def plan(
        self, fn, x: torch.Tensor, mask: torch.Tensor, *extra, tick=None, dtype=torch.float64, copies=1, weight=1.0
    ) -> Pass:
        """fn over the jets as an `evaluation.Pass`, with this context's budget, trimming and call size for `dtype`,
        the precision fn computes in (`copies`: fn evaluates its jets that many times in one call, which gets that
        share of the budget and call size; `weight`: its cost per particle against one forward evaluation)."""
        share = max(1, copies)
        cpu = self.ev.device.type == "cpu"
        particles = max(1, cpu_particles_per_call(precision(dtype).dtype) // share) if cpu else None
        return Pass.grouped(
            fn,
            x,
            mask,
            max(1, self.budget // share),
            self.trim,
            *extra,
            tick=tick,
            particles=particles,
            weight=weight * share,
        )

    def run(self, passes: list[Pass], *, serial: bool = False, apart: bool = False) -> list:
        """The passes' results, their jobs run together on this context's workers (`evaluation.run_passes`;
        `serial`: one job at a time from this thread, for work that cannot run concurrently — forward-mode
        autodiff keeps one global level stack; `apart`: None for a pass with a failing call, not an exception)."""
        return run_passes(passes, 1 if serial else self.workers, self.ev.state, apart=apart)

    def apply(
        self, fn, x: torch.Tensor, mask: torch.Tensor, *extra, tick=None, serial=False, dtype=torch.float64, copies=1
    ) -> torch.Tensor:
        """fn over the jets (`plan`), run now (`run`)."""
        return self.run([self.plan(fn, x, mask, *extra, tick=tick, dtype=dtype, copies=copies)], serial=serial)[0]

    def reference(self, dtype) -> torch.Tensor:
        """f(x) `[B, ...]` at precision `dtype` on the untransformed jets (cached)."""
        key = precision(dtype).name
        if key not in self._refs:
            self._refs[key] = self.evaluate(dtype, self.x64, self.mask)
        return self._refs[key]

    def one_output(self, dtype) -> torch.Tensor:
        """f at `dtype` of the first jet `[1, ...]`: from f(x) if evaluated, else evaluated now (serial, outside the
        progress count) — what the outputs look like before the passes that need it are planned."""
        ref = self._refs.get(precision(dtype).name)
        return ref[:1] if ref is not None else self.evaluate(dtype, self.x64[:1], self.mask[:1], serial=True)

    def with_reference_pass(
        self, dtype, x: torch.Tensor, mask: torch.Tensor, *, shared: bool = False
    ) -> tuple[Pass, Callable]:
        """The pass evaluating f(x') at `dtype` for jets x' — and f(x) of the jets themselves in the same pass unless
        `reference` has it already — and what takes its result: f(x) cached, f(x') returned. `shared`: x' is Λx
        itself, and the joined inputs are made once for every precision (several such passes may wait together)."""
        key = precision(dtype).name
        fresh = key not in self._refs
        if fresh:
            if shared and self._joined is not None:
                x, mask = self._joined
            else:
                x, mask = torch.cat([self.x64, x]), torch.cat([self.mask, mask])
                if shared:
                    self._joined = (x, mask)

        def keep(out):
            if fresh:
                b = self.x64.shape[0]
                self._refs[key], out = out[:b], out[b:]
            return out

        return self._forward_pass(dtype, x, mask), keep

    def with_reference(self, dtype, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """f(x') at `dtype` for more jets x' `[B', N, 4]`; f(x) of the jets themselves is evaluated in the same pass
        (and cached) unless `reference` has it already: fewer, larger model calls."""
        ps, keep = self.with_reference_pass(dtype, x, mask)
        return keep(self.run([ps])[0])

    def transformed_pass(self, dtype, x=None, mask=None) -> tuple[Pass, Callable]:
        """The pass evaluating f(Λx) at `dtype` (with f(x) unless cached, and f(x') for more jets x' `[B', N, 4]` if
        given), and what takes its result: f(Λx) kept for `transformed_outputs`, f(x) for `reference`, f(x')
        returned — so that a dtype measured later can be evaluated now, together with other passes."""
        t, b = self.shape
        xs, ms = self.xs.reshape(t * b, *self.x64.shape[1:]), self.mask.repeat(t, 1)
        if x is not None:
            xs, ms = torch.cat([xs, x]), torch.cat([ms, mask])
        ps, ref_keep = self.with_reference_pass(dtype, xs, ms, shared=x is None)

        def keep(out):
            out = ref_keep(out)
            self._ahead[precision(dtype).name] = out[: t * b].reshape(t, b, *out.shape[1:])
            return out[t * b :] if x is not None else None

        return ps, keep

    def evaluated(self, dtype) -> bool:
        """Whether f(Λx) at `dtype` was evaluated ahead and waits for `transformed_outputs`."""
        return precision(dtype).name in self._ahead

    def transformed_outputs(self, dtype) -> torch.Tensor:
        """f(Λx) `[T, B, ...]` at `dtype` (f(x) alongside), or the outputs a `transformed_pass` evaluated ahead
        (handed over once)."""
        key = precision(dtype).name
        if key not in self._ahead:
            ps, keep = self.transformed_pass(dtype)
            keep(self.run([ps])[0])
        return self._ahead.pop(key)

    def act(self, z: torch.Tensor, sel=slice(None)) -> torch.Tensor:
        """ρ_out of transformations `sel` applied to z `[T', B, ..., dim]`."""
        return action.act(self.out_rep, None if self.m is None else self.m[sel], self.lam[sel], z)


__all__ = ["Context"]
