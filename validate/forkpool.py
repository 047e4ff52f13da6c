"""Jobs run in forked worker processes: the CPU pool of validate/workers.py where the platform forks safely.

Why processes: a model call is a chain of small tensor operations, and torch releases Python's global lock for each
one. Two threads calling models at once then hand the lock back and forth at every operation (~220 voluntary
context switches per float64 call of the shipped LGN, 68 jets of 45 particles): on the 2-core reference machine two
threads did that work in 15–20 % more wall time and more CPU time than two processes, and the default sweep took
11.4–12.4 s with threads against 8.8–9.8 s with processes (docs/benchmarks.md, "Worker processes instead of threads").

How: the children are forked when a pool starts — after the first two jobs ran in the caller, so the model's lazy
set-up (dtype copies, caches) is inherited, not repeated — and take job indices over a pipe, largest first as given.
Each result comes back over a pipe as `torch.save` bytes, read with `torch.load(weights_only=True)`: tensors and
plain containers only, no code. A job that fails in a child is run again in the caller, which raises the genuine
exception with its traceback; if it succeeds there (something process isolation broke), its result is used and the
remaining jobs run in the caller. Warnings a job raises are recorded in its child and raised again here, after its
result. Ctrl-C stops the children; every child is stopped and reaped before the pool returns or raises.

Safe forking: one pool at a time in a process (a pool started while another runs, from another thread, uses threads:
each pool's children would hold the other's pipes open); children run torch single-threaded (GNU OpenMP's thread
pool does not survive a fork — a child that enters a parallel region with more than one thread hangs), so the caller
forks only where each worker's share is one thread; output buffers are flushed before each fork (nothing written
twice or lost) and Ctrl-C is held back during it; a fork or pipe that fails (a process or file limit) stops the
children started and leaves the pass to threads, with a warning.

Jobs must communicate only through their return values (`isolated` jobs): what a job writes into shared objects —
a counter, a global, the state of a random generator — stays in its child.
"""

from __future__ import annotations

import io
import os
import selectors
import signal
import struct
import sys
import threading
import warnings
from collections.abc import Callable, Sequence

import torch

_HEADER = struct.Struct("<Bq")  # kind, payload length
_OK, _FAILED = 0, 1
_STOP = -1
_one_at_a_time = threading.Lock()  # one pool per process (module docstring)


class ForkFailed(OSError):
    """No pool: a pipe or a fork failed (nothing was run; the children started are stopped)."""


def available() -> bool:
    """Forked workers are safe here: Linux (macOS's system libraries are not fork-safe, Windows has no fork), CUDA
    not initialised in this process (a forked child cannot use it), and no accelerator present (`_accelerator`)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    return not torch.cuda.is_initialized() and not _accelerator()


def _accelerator() -> bool:
    """A GPU or other accelerator device is present. Then torch's autograd engine starts a thread per device at the
    process's first backward pass — whatever device that pass runs on: the suite's floor runs one on the CPU — and
    from then on a forked child's backward pass raises ("Unable to handle autograd's threading in combination with
    fork-based multiprocessing"). Measured with a second device registered on this CPU-only machine
    (tests/device_placement_cases.py): every such job failed in its worker and the pass ran serially, with a
    warning."""
    accelerator = getattr(torch, "accelerator", None)  # torch ≥ 2.6: CUDA, XPU, MPS, a registered backend
    if accelerator is not None:
        return accelerator.is_available()
    return torch.cuda.device_count() > 0


def _write(fd: int, kind: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(kind, len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read(fd: int) -> tuple[int, bytes] | None:
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    kind, n = _HEADER.unpack(head)
    payload = _read_exact(fd, n)
    return None if payload is None else (kind, payload)


def _compact(obj):
    """Tensors as their own compact copies (a view would carry its whole storage), in plain containers."""
    if isinstance(obj, torch.Tensor):
        whole = obj.untyped_storage().nbytes() > obj.numel() * obj.element_size()
        return obj.clone(memory_format=torch.contiguous_format) if whole or not obj.is_contiguous() else obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(_compact(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _compact(v) for k, v in obj.items()}
    return obj


def _category_name(cat: type) -> str:
    return f"{cat.__module__}:{cat.__qualname__}"


def _category(name: str) -> type[Warning]:
    """A warning class back from "module:qualname" (a module already imported here; else UserWarning)."""
    module, _, qual = name.partition(":")
    obj = sys.modules.get(module)  # builtins always is
    for part in qual.split("."):
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) and issubclass(obj, Warning) else UserWarning


_registries: dict[str, dict] = {}  # per file, as `warnings` keeps one per module: "default" shows a place once


def _raise_again(caught: list) -> None:
    for text, cat, filename, lineno in caught:
        registry = _registries.setdefault(filename, {})
        warnings.warn_explicit(text, _category(cat), filename, lineno, registry=registry)


def _flush() -> None:
    """Python's buffered stdout and stderr written out (a closed or replaced stream: nothing to write)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110 — closed, or an object without a working flush
            pass


def _child(jobs: Sequence[Callable], tasks: int, results: int, inside) -> None:
    """A worker's life: jobs by index until told to stop or the pool goes; never returns (os._exit)."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle: it stops the pool
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        torch.set_num_threads(1)
        inside.active = True  # a pool inside a job runs its jobs one by one
        while True:
            msg = _read(tasks)
            if msg is None:
                break
            (i,) = struct.unpack("<q", msg[1])
            if i == _STOP:
                break
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")  # every one recorded: the caller's filters decide
                    out = _compact(jobs[i]())
                said = [(str(w.message), _category_name(w.category), w.filename, w.lineno) for w in caught]
                buf = io.BytesIO()
                torch.save({"result": out, "warnings": said}, buf)
                _write(results, _OK, struct.pack("<q", i) + buf.getvalue())
            except BaseException as e:  # noqa: BLE001 — reported; the caller runs the job again and raises
                text = f"{type(e).__name__}: {e}".encode(errors="replace")[:4000]
                _write(results, _FAILED, struct.pack("<q", i) + text)
    except BaseException:  # noqa: BLE001 — a broken pipe: the caller is gone or stopped the pool
        code = 1
    finally:
        _flush()
        os._exit(code)


def _fork(jobs, inside, others: list[int]) -> tuple[int, int, int]:
    """One worker; `others`: this process's ends of the earlier workers' pipes, which the child closes (a child
    holding another's task pipe open would keep that worker from ever seeing the end of its tasks)."""
    task_r, task_w = os.pipe()
    try:
        res_r, res_w = os.pipe()
    except OSError:
        os.close(task_r)
        os.close(task_w)
        raise
    _flush()  # nothing buffered is written twice (by the child) or lost
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # Ctrl-C after the fork, never inside it
    try:
        with warnings.catch_warnings():
            # Python ≥ 3.12 warns about fork in a process with threads (torch's idle intra-op threads): the child
            # uses none of them and takes no lock they could hold (it runs torch single-threaded)
            warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks", category=DeprecationWarning)
            pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        for fd in (task_r, task_w, res_r, res_w):
            os.close(fd)
        raise
    if pid == 0:
        try:
            for fd in (task_w, res_r, *others):
                os.close(fd)
        finally:
            _child(jobs, task_r, res_w, inside)  # never returns
    signal.pthread_sigmask(signal.SIG_SETMASK, old)
    os.close(task_r)
    os.close(res_w)
    return pid, task_w, res_r


def _stop(kids, kill: bool) -> None:
    """Every worker told to stop (or killed), its pipes closed, and reaped."""
    for pid, task_w, res_r in kids:
        if kill:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            try:
                _write(task_w, _OK, struct.pack("<q", _STOP))
            except OSError:
                pass
        for fd in (task_w, res_r):
            try:
                os.close(fd)
            except OSError:
                pass
    for pid, _, _ in kids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # reaped already (SIGCHLD ignored by the caller)
            pass


def run(jobs: Sequence[Callable], workers: int, inside, done: Callable[[int], None] | None = None):
    """Every job's result, in the jobs' order, computed by `workers` forked single-threaded processes; `done(i)` is
    called here as job i's result arrives. An exception is the earliest failing job's, raised by running it here.
    Raises ForkFailed (before running anything) when another pool is running or a worker cannot be started."""
    if not _one_at_a_time.acquire(blocking=False):
        raise ForkFailed("another pool of worker processes is running in this process")
    try:
        return _run(jobs, workers, inside, done)
    finally:
        _one_at_a_time.release()


def _run(jobs, workers, inside, done):
    n = len(jobs)
    results: list = [None] * n
    got = [False] * n
    failed: dict[int, str] = {}
    kids: list[tuple[int, int, int]] = []  # (pid, task fd, result fd)
    try:
        for _ in range(min(workers, n)):
            kids.append(_fork(jobs, inside, [fd for _, *fds in kids for fd in fds]))
    except OSError as e:
        _stop(kids, kill=True)
        raise ForkFailed(f"a worker process could not be started ({e})") from e
    busy: dict[int, tuple[int, int, int]] = {}  # result fd → (pid, task fd, job index)
    order = iter(range(n))
    stopping = False
    caught_all: list = []
    ready = selectors.DefaultSelector()

    def give(kid) -> None:
        nonlocal stopping
        i = None if stopping else next(order, None)
        if i is None:
            return
        try:
            _write(kid[1], _OK, struct.pack("<q", i))
        except OSError:  # the worker is gone: no more jobs go out; those left run here
            stopping = True
            return
        busy[kid[2]] = (*kid[:2], i)
        ready.register(kid[2], selectors.EVENT_READ)

    try:
        for kid in kids:
            give(kid)
        while busy:
            for key, _ in ready.select():
                fd = key.fd
                ready.unregister(fd)
                pid, task_w, i = busy.pop(fd)
                msg = _read(fd)
                if msg is None:
                    failed[i] = "the worker process exited during the job"
                    stopping = True
                    continue
                kind, payload = msg
                if kind == _OK:
                    try:
                        back = torch.load(io.BytesIO(payload[8:]), weights_only=True)
                    except Exception as e:  # noqa: BLE001 — not tensors and plain containers: the job runs here
                        failed[i] = f"its result cannot be passed back ({type(e).__name__})"
                        stopping = True
                    else:
                        results[i], got[i] = back["result"], True
                        caught_all.append((i, back["warnings"]))
                        if done is not None:
                            done(i)
                else:
                    failed[i] = payload[8:].decode(errors="replace")
                    stopping = True  # no new jobs: the earliest failure is raised below
                give((pid, task_w, fd))
    finally:
        ready.close()
        _stop(kids, kill=bool(busy) or not all(got))  # stopped early (a failure, Ctrl-C): killed
    for _, said in sorted(caught_all, key=lambda c: c[0]):
        _raise_again(said)
    # jobs not run (stopped after a failure) and failed ones, in order, here: the first that raises ends the run
    for i in range(n):
        if not got[i]:
            results[i] = jobs[i]()
            if i in failed:
                warnings.warn(
                    f"a job failed in a worker process ({failed[i]}) but ran in this one: the remaining jobs ran "
                    f"here, one at a time (set CLARIANT_EVAL_POOL=threads to avoid worker processes)",
                    RuntimeWarning,
                    stacklevel=3,
                )
            if done is not None:
                done(i)
    return results


__all__ = ["ForkFailed", "available", "run"]
