"""Independent batches of jets evaluated concurrently on the CPU's cores (docs/validation.md, "Speed").

The suite calls a model on many small batches (one per jet multiplicity, per precision, per transformation set).
Such calls are chains of small tensor operations that one process cannot spread well over its cores: on the 2-core
reference machine, torch's two intra-op threads make the shipped LGN only ~1.3× faster than one. Running two batches
at once, each on one core, made its float64/float32 evaluations 1.3–1.5× faster again. So on the CPU the batches go
to a pool of threads, each with an equal share of torch's intra-op threads; results come back in the order of the
batches, so nothing but the wall time depends on the pool.

The model must then tolerate concurrent calls — true of any module whose forward only reads its state (the usual
case). A model that writes state during its forward (a counter, a cache on `self`, hooks collecting activations)
must be run with one worker: `CLARIANT_EVAL_WORKERS=1`. On a GPU the device runs the batches; one worker.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import torch

from clariant_core.resources import available_cpus

T = TypeVar("T")

ENV = "CLARIANT_EVAL_WORKERS"
MAX_WORKERS = 4
#: particles per model call on the CPU: a single-threaded call of the LGN was fastest per jet at ~3,000 particles
#: (float64 and float32, N = 45: 64 jets 1.5 ms/jet, 160 jets 1.8, 320 jets 2.1 in float64); larger calls spill
#: their temporaries out of the caches
CPU_PARTICLES_PER_CALL = 3072

_inside = threading.local()


def workers_for(device: torch.device | str | None) -> int:
    """How many batches run at once: `CLARIANT_EVAL_WORKERS` if set, else 1 on a GPU and min(cores, 4) on the CPU."""
    env = os.environ.get(ENV, "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"{ENV} must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"{ENV} must be a positive integer, got {env!r}")
        return n
    if device is not None and torch.device(device).type != "cpu":
        return 1
    return max(1, min(available_cpus(), MAX_WORKERS))


@contextmanager
def _intra_op_share(workers: int):
    """torch's intra-op threads split evenly over the workers while they run (restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before // workers))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run(jobs: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Call every job, `workers` at a time, and return their results in the jobs' order. The first job runs alone
    (a model's lazy set-up — dtype copies, caches — happens once, before any concurrency). An exception in a job
    is raised here (the earliest job's, in order). Called from inside a job, runs serially."""
    jobs = list(jobs)
    if workers <= 1 or len(jobs) <= 1 or getattr(_inside, "active", False):
        return [job() for job in jobs]
    first = jobs[0]()

    def call(job):
        _inside.active = True
        try:
            return job()
        finally:
            _inside.active = False

    with _intra_op_share(workers), ThreadPoolExecutor(workers, thread_name_prefix="clariant-eval") as pool:
        futures = [pool.submit(call, job) for job in jobs[1:]]
        return [first] + [f.result() for f in futures]


__all__ = ["CPU_PARTICLES_PER_CALL", "ENV", "MAX_WORKERS", "run", "workers_for"]
