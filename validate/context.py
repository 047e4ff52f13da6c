"""One measurement's inputs, shared by the measures and the floor: the model as evaluated (on its device), the jets,
the transformations, Λx (computed once on the CPU in double-double, shared by every precision and moved to the
device chunk by chunk), evaluation settings and progress."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

import clariant_core as cc
from clariant_core.numerics import precision

from . import action
from .evaluation import Evaluator, apply
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
    xs: torch.Tensor | None = None  # Λx [T, B, N, 4] float64
    _refs: dict = field(default_factory=dict)
    _ahead: dict = field(default_factory=dict)  # f(Λx) by precision name, evaluated ahead (`with_transformed`)

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

        def fn(xc, mc):
            with torch.no_grad():
                return self.ev(dtype, xc, mc, self.out_rep)

        return self.apply(fn, x, mask, tick=None if serial else self.tick, serial=serial, dtype=dtype)

    def apply(
        self, fn, x: torch.Tensor, mask: torch.Tensor, *extra, tick=None, serial=False, dtype=torch.float64, copies=1
    ) -> torch.Tensor:
        """`evaluation.apply` with this context's budget, trimming, workers and call size for `dtype`, the precision
        fn computes in (`serial`: one batch at a time, for work that cannot run concurrently — forward-mode autodiff
        keeps one global level stack; `copies`: fn evaluates its jets that many times in one call, which gets that
        share of the budget and call size)."""
        workers = 1 if serial else self.workers
        cpu = self.ev.device.type == "cpu"
        share = max(1, copies)
        return apply(
            fn,
            x,
            mask,
            max(1, self.budget // share),
            self.trim,
            *extra,
            tick=tick,
            workers=workers,
            particles=max(1, cpu_particles_per_call(precision(dtype).dtype) // share) if cpu else None,
            state=self.ev.state,
        )

    def reference(self, dtype) -> torch.Tensor:
        """f(x) `[B, ...]` at precision `dtype` on the untransformed jets (cached)."""
        key = precision(dtype).name
        if key not in self._refs:
            self._refs[key] = self.evaluate(dtype, self.x64, self.mask)
        return self._refs[key]

    def with_reference(self, dtype, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """f(x') at `dtype` for more jets x' `[B', N, 4]`; f(x) of the jets themselves is evaluated in the same pass
        (and cached) unless `reference` has it already: fewer, larger model calls."""
        key = precision(dtype).name
        fresh = key not in self._refs
        if fresh:
            x, mask = torch.cat([self.x64, x]), torch.cat([self.mask, mask])
        out = self.evaluate(dtype, x, mask)
        if fresh:
            b = self.x64.shape[0]
            self._refs[key], out = out[:b], out[b:]
        return out

    def transformed_outputs(self, dtype) -> torch.Tensor:
        """f(Λx) `[T, B, ...]` at `dtype` (f(x) alongside: `with_reference`), or the outputs `with_transformed`
        evaluated ahead (handed over once)."""
        ahead = self._ahead.pop(precision(dtype).name, None)
        return ahead if ahead is not None else self._transformed(dtype)[0]

    def with_transformed(self, dtype, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """f(x') at `dtype` for more jets x' `[B', N, 4]`, evaluated in the pass that computes f(Λx) and f(x) at that
        dtype, which are kept for `transformed_outputs` and `reference`: one pass instead of two, for a dtype that is
        measured anyway (the floor's probes ride along with float64's transformations)."""
        out, more = self._transformed(dtype, x, mask)
        self._ahead[precision(dtype).name] = out
        return more

    def _transformed(self, dtype, x=None, mask=None) -> tuple[torch.Tensor, torch.Tensor | None]:
        t, b = self.shape
        xs, ms = self.xs.reshape(t * b, *self.x64.shape[1:]), self.mask.repeat(t, 1)
        if x is not None:
            xs, ms = torch.cat([xs, x]), torch.cat([ms, mask])
        out = self.with_reference(dtype, xs, ms)
        return out[: t * b].reshape(t, b, *out.shape[1:]), (out[t * b :] if x is not None else None)

    def act(self, z: torch.Tensor, sel=slice(None)) -> torch.Tensor:
        """ρ_out of transformations `sel` applied to z `[T', B, ..., dim]`."""
        return action.act(self.out_rep, None if self.m is None else self.m[sel], self.lam[sel], z)


__all__ = ["Context"]
