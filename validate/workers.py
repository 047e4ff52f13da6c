"""Independent batches of jets evaluated concurrently on the CPU's cores (docs/validation.md, "Cost and memory").

The suite calls a model on many small batches (one per jet multiplicity, per precision, per transformation set).
Such calls are chains of small tensor operations that one process cannot spread well over its cores: on the 2-core
reference machine, torch's two intra-op threads make the shipped LGN only ~1.3× faster than one. Running two batches
at once, each on one core, made its float64/float32 evaluations 1.3–1.5× faster again. So on the CPU the batches go
to a pool — forked worker processes on Linux (validate/forkpool.py: threads would hand Python's lock back and forth
at every tensor operation), threads elsewhere or with `CLARIANT_EVAL_POOL=threads` — each worker with an equal share
of torch's intra-op threads (forked workers only where that share is one thread); results come back in the order of
the batches, so nothing but the wall time depends on the pool.

Threads need a model that tolerates concurrent calls — true of any module whose forward only reads its state (the
usual case); in worker processes each call has the model to itself, but what a call writes stays in its worker. The
pool checks what it can: a module with forward hooks runs one call at a time in this process, and so does one whose
attributes change during a call (a counter, a list it appends to, a tensor it keeps on `self`: compared before and
after the second call, which runs alone like the first — the first may set up caches). What it cannot see — state
outside the module, a plain function writing globals — needs `CLARIANT_EVAL_WORKERS=1`. On a GPU the device runs the
batches; one worker.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import torch

from clariant_core.resources import available_cpus

from . import forkpool

T = TypeVar("T")

ENV = "CLARIANT_EVAL_WORKERS"
POOL_ENV = "CLARIANT_EVAL_POOL"
MAX_WORKERS = 4
#: particles per float64 model call on the CPU: a single-threaded call of the LGN was fastest per jet at ~3,000
#: particles (N = 45: 64 jets 1.5 ms/jet, 160 jets 1.8, 320 jets 2.1 in float64); larger calls spill their
#: temporaries out of the caches. A call holds numbers of the model's dtype, so narrower dtypes take more particles
#: for the same bytes (`cpu_particles_per_call`)
CPU_PARTICLES_PER_CALL = 3072


def cpu_particles_per_call(dtype: torch.dtype) -> int:
    """Particles per model call on the CPU at storage dtype `dtype`: `CPU_PARTICLES_PER_CALL` for float64, twice
    that for 32 bits and narrower — the same bytes. Measured on the shipped LGN (one thread, N = 45, 2-core AMD EPYC,
    torch 2.13, alternating): float32 0.38–0.40 ms/jet at 136 jets (6,120 particles) against 0.41–0.45 at 68; float64
    unchanged by the doubling (0.67–0.70 against 0.70–0.77 ms/jet), and its calls stay at 3,072."""
    return CPU_PARTICLES_PER_CALL * (1 if dtype.itemsize >= 8 else 2)


_inside = threading.local()


def jets_per_call(width: int, budget: int, particles: int | None = None) -> int:
    """How many jets of `width` particles one model call takes: at most `budget` particle pairs and, if given,
    `particles` particles (`CPU_PARTICLES_PER_CALL` on the CPU); at least one."""
    width = max(width, 1)
    return max(1, min(budget // width**2, (particles or budget) // width))


def workers_for(device: torch.device | str | None) -> int:
    """How many batches run at once: 1 on a GPU (the device runs a batch's work in parallel, and the TF32 mode's
    switches are the process's: two batches in other precision modes at once would share them), else
    `CLARIANT_EVAL_WORKERS` if set, else min(cores, 4). Checks both variables, so that a wrong value is reported
    before any work."""
    pool_kind()
    env = os.environ.get(ENV, "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"{ENV} must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"{ENV} must be a positive integer, got {env!r}")
    if device is not None and torch.device(device).type != "cpu":
        return 1
    return n if env else max(1, min(available_cpus(), MAX_WORKERS))


@contextmanager
def _intra_op_share(workers: int):
    """torch's intra-op threads split evenly over the workers while they run (restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before // workers))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def model_state(obj) -> tuple:
    """What a call could change in a module's own state: per submodule, each attribute's identity (and a
    container's length) and the identities of its parameters and buffers (a plain function: nothing)."""
    if not isinstance(obj, torch.nn.Module):
        return ()
    out = []
    for name, mod in obj.named_modules():
        attrs = tuple(
            (k, id(v), len(v) if isinstance(v, (list, dict, set, tuple)) else -1)
            for k, v in vars(mod).items()
            if k not in ("_parameters", "_buffers", "_modules")
        )
        tensors = tuple((k, id(v)) for k, v in (*mod._parameters.items(), *mod._buffers.items()))
        out.append((name, attrs, tensors))
    return tuple(out)


def has_hooks(obj) -> bool:
    """Forward hooks on the module or any submodule, or global ones: they usually collect state, so one call at a
    time."""
    from torch.nn.modules import module as nn_module

    if getattr(nn_module, "_global_forward_hooks", None) or getattr(nn_module, "_global_forward_pre_hooks", None):
        return True
    if not isinstance(obj, torch.nn.Module):
        return False
    return any(m._forward_hooks or m._forward_pre_hooks for m in obj.modules())


#: Forking costs the calling process about FORK_SECONDS + FORK_SECONDS_PER_GB × its resident memory: copying its page
#: tables, and afterwards one page fault for each page it writes again (a fork write-protects them all). Measured
#: with 6 trivial jobs, 2 workers (2-core AMD EPYC, torch 2.13): 43–52 ms with torch alone; per further GB resident,
#: +45–90 ms for the pool and +235–270 ms for rewriting that GB once afterwards (25–28 ms without a fork before).
FORK_SECONDS = 0.05
FORK_SECONDS_PER_GB = 0.35
#: The share of a pass's wall time that worker processes save against threads: 15–25 % on the default sweep's
#: passes (docs/benchmarks.md, "Worker processes instead of threads"); the lower end, so that a pass forks only
#: where it gains.
PROCESS_GAIN = 0.15


def _resident_gb() -> float:
    """This process's resident memory in GB (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _forking_pays(seconds_left: float) -> bool:
    """Worker processes for the rest of a pass whose threads would take about `seconds_left`: when the time they
    save exceeds what the forks cost at this process's size."""
    return PROCESS_GAIN * seconds_left > FORK_SECONDS + FORK_SECONDS_PER_GB * _resident_gb()


def pool_kind() -> str:
    """The pool: "threads", "processes" (forked workers, validate/forkpool.py) or "auto" (processes for a pass long
    enough to pay for its forks, `_forking_pays`; else threads) — `CLARIANT_EVAL_POOL` if set, else "auto"; "threads"
    where forking is not safe. `run` uses processes only where each worker's share of torch's threads is one."""
    env = os.environ.get(POOL_ENV, "").strip().lower()
    if env not in ("", "auto", "processes", "threads"):
        raise ValueError(f"{POOL_ENV} must be 'auto', 'processes' or 'threads', got {env!r}")
    if env == "threads" or not forkpool.available():
        return "threads"
    return env or "auto"


def _here(workers: int, jobs: int) -> bool:
    """Whether jobs run one after the other in this thread: one worker, one job, or called from inside a job of
    another pool (whose workers are busy)."""
    return workers <= 1 or jobs <= 1 or getattr(_inside, "active", False)


def run(
    jobs: Sequence[Callable[[], T]],
    workers: int,
    state: Callable[[], object] | None = None,
    *,
    isolated: bool = False,
    done: Callable[[int], None] | None = None,
    weights: Sequence[float] | None = None,
    setup: int = 1,
    check: int = 1,
) -> list[T]:
    """Call every job, `workers` at a time, and return their results in the jobs' order. The first `setup` + `check`
    jobs run alone: a model's lazy set-up (dtype copies, caches) happens in the first `setup` (one per kind of call,
    e.g. per pass), and `state()` — a fingerprint of what the jobs could change, e.g. `model_state` of the model — is
    compared around the next `check` (one per kind of call); if it changed, the rest run one at a time too, with a
    warning. An exception in a
    job is raised here (the earliest job's, in order). Called from inside a job, runs serially. `isolated`: the
    jobs only read shared objects and return tensors (or plain containers of them), so they may run in forked
    processes (`pool_kind`) — where that pays for the fork (`_forking_pays`, the rest's cost estimated from the
    last job run alone and the jobs' relative `weights`); `done(i)`: called as job i finishes (from a worker
    thread, or here as a process's result arrives) — progress."""
    jobs = list(jobs)

    def finished(i, r):
        if done is not None:
            done(i)
        return r

    if _here(workers, len(jobs)):
        return [finished(i, job()) for i, job in enumerate(jobs)]
    first_seconds = []

    def alone(i):  # one of the first jobs, in this thread, timed: the cost of the rest is estimated from the last
        start = time.perf_counter()
        r = finished(i, jobs[i]())
        first_seconds.append(time.perf_counter() - start)
        return r

    first = [alone(i) for i in range(min(max(setup, 1), len(jobs)))]
    if state is not None and len(first) < len(jobs):
        before = state()
        first += [alone(i) for i in range(len(first), min(len(first) + max(check, 1), len(jobs)))]
        if state() != before:
            warnings.warn(
                "the model changes its own attributes while it runs: evaluated one call at a time "
                f"(set {ENV}=1 to say so up front)",
                RuntimeWarning,
                stacklevel=2,
            )
            return first + [finished(i, job()) for i, job in enumerate(jobs[len(first) :], len(first))]
    k = len(first)
    rest = jobs[k:]
    if not rest:
        return first
    # forked workers run torch single-threaded (validate/forkpool.py): only where that is each worker's share
    single = torch.get_num_threads() // workers <= 1
    kind = pool_kind() if isolated and len(rest) > 1 and single else "threads"
    if kind != "threads":
        w = [1.0] * len(jobs) if weights is None else [float(x) for x in weights]
        if kind == "processes" or _forking_pays(first_seconds[-1] / max(w[k - 1], 1e-300) * sum(w[k:]) / workers):
            after = None if done is None else (lambda i: done(k + i))
            try:
                return first + forkpool.run(rest, workers, _inside, after)
            except forkpool.ForkFailed as e:  # nothing of the rest ran: it runs on threads
                if e.__cause__ is not None:
                    warnings.warn(f"{e}: the evaluations ran on threads", RuntimeWarning, stacklevel=2)

    def call(i, job):
        _inside.active = True
        try:
            return finished(k + i, job())
        finally:
            _inside.active = False

    with _intra_op_share(workers):
        pool = ThreadPoolExecutor(workers, thread_name_prefix="clariant-eval")
        try:
            futures = [pool.submit(call, i, job) for i, job in enumerate(rest)]
            return first + [f.result() for f in futures]
        except BaseException:  # an error or Ctrl-C: the jobs not started yet are dropped, not run to the end
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)


def run_forked(jobs: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Every job's result, in the jobs' order: in `workers` forked processes where that is safe
    (`forkpool.available`, `CLARIANT_EVAL_POOL` not "threads", not inside another pool's job), else one after the
    other in this thread — never on threads: for jobs that must not share a process (matplotlib's pyplot is not
    thread-safe, and its drawing holds Python's lock throughout) and that return plain values (validate/forkpool.py).
    A fork that fails leaves the jobs to this thread."""
    jobs = list(jobs)
    if not _here(workers, len(jobs)) and pool_kind() != "threads":
        try:
            return forkpool.run(jobs, workers, _inside)
        except forkpool.ForkFailed as e:  # nothing ran: all of it runs here
            if e.__cause__ is not None:
                warnings.warn(f"{e}: the jobs ran one after the other in this process", RuntimeWarning, stacklevel=2)
    return [job() for job in jobs]


__all__ = [
    "CPU_PARTICLES_PER_CALL",
    "cpu_particles_per_call",
    "ENV",
    "POOL_ENV",
    "pool_kind",
    "MAX_WORKERS",
    "has_hooks",
    "jets_per_call",
    "model_state",
    "run",
    "run_forked",
    "workers_for",
]
