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
remaining jobs run in the caller. Ctrl-C stops the children; no child outlives the pool.

Jobs must communicate only through their return values (`isolated` jobs): what a job writes into shared objects
stays in its child.
"""

from __future__ import annotations

import io
import os
import select
import signal
import struct
import sys
import warnings
from collections.abc import Callable, Sequence

import torch

_HEADER = struct.Struct("<Bq")  # kind, payload length
_OK, _FAILED = 0, 1


def available() -> bool:
    """Forked workers are safe here: Linux (macOS's system libraries are not fork-safe, Windows has no fork), and
    CUDA not initialised in this process (a forked child cannot use it)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    return not (torch.cuda.is_available() and torch.cuda.is_initialized())


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


def _child(jobs: Sequence[Callable], tasks: int, results: int, threads: int, inside) -> None:
    """A worker's life: jobs by index until told to stop (-1) or the pool goes; never returns."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle: it stops the pool
        torch.set_num_threads(threads)
        inside.active = True  # a pool inside a job runs its jobs one by one
        while True:
            msg = _read(tasks)
            if msg is None:
                break
            (i,) = struct.unpack("<q", msg[1])
            if i < 0:
                break
            try:
                buf = io.BytesIO()
                torch.save(jobs[i](), buf)
                _write(results, _OK, struct.pack("<q", i) + buf.getvalue())
            except BaseException as e:  # noqa: BLE001 — reported; the caller runs the job again and raises
                text = f"{type(e).__name__}: {e}".encode(errors="replace")[:4000]
                _write(results, _FAILED, struct.pack("<q", i) + text)
    except BaseException:  # noqa: BLE001 — a broken pipe: the caller is gone or stopped the pool
        code = 1
    finally:
        os._exit(code)


def _fork(jobs, threads: int, inside, others: list[int]) -> tuple[int, int, int]:
    """One worker; `others`: this process's ends of the earlier workers' pipes, which the child closes (a child
    holding another's task pipe open would keep that worker from ever seeing the end of its tasks)."""
    task_r, task_w = os.pipe()
    res_r, res_w = os.pipe()
    with warnings.catch_warnings():
        # Python ≥ 3.12 warns about fork in a process with threads (torch's idle intra-op threads): the child
        # uses none of them and takes no lock they could hold (it runs torch single-threaded)
        warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks", category=DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        for fd in (task_w, res_r, *others):
            os.close(fd)
        _child(jobs, task_r, res_w, threads, inside)
    os.close(task_r)
    os.close(res_w)
    return pid, task_w, res_r


def run(jobs: Sequence[Callable], workers: int, threads: int, inside, done: Callable[[int], None] | None = None):
    """Every job's result, in the jobs' order, computed by `workers` forked processes of `threads` intra-op
    threads each; `done(i)` is called here as job i's result arrives. An exception is the earliest failing job's,
    raised by running it here."""
    n = len(jobs)
    results: list = [None] * n
    got = [False] * n
    failed: dict[int, str] = {}
    kids: list[tuple[int, int, int]] = []  # (pid, task fd, result fd)
    for _ in range(min(workers, n)):
        kids.append(_fork(jobs, threads, inside, [fd for _, *fds in kids for fd in fds]))
    busy: dict[int, tuple[int, int, int]] = {}  # result fd → (pid, task fd, job index)
    order = iter(range(n))
    stopping = False

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

    try:
        for kid in kids:
            give(kid)
        while busy:
            ready, _, _ = select.select(list(busy), [], [])
            for fd in ready:
                pid, task_w, i = busy.pop(fd)
                msg = _read(fd)
                if msg is None:
                    failed[i] = "the worker process exited during the job"
                    stopping = True
                    continue
                kind, payload = msg
                if kind == _OK:
                    try:
                        results[i] = torch.load(io.BytesIO(payload[8:]), weights_only=True)
                    except Exception as e:  # noqa: BLE001 — not tensors and plain containers: the job runs here
                        failed[i] = f"its result cannot be passed back ({type(e).__name__})"
                        stopping = True
                    else:
                        got[i] = True
                        if done is not None:
                            done(i)
                else:
                    failed[i] = payload[8:].decode(errors="replace")
                    stopping = True  # no new jobs: the earliest failure is raised below
                give((pid, task_w, fd))
    finally:  # every pipe closed first (a worker then reads the end of its tasks), then every worker reaped
        unfinished = bool(busy) or not all(got)
        for pid, task_w, res_r in kids:
            os.close(task_w)
            os.close(res_r)
            if unfinished:  # stopped early (a failure, Ctrl-C): the workers still running are stopped
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for pid, _, _ in kids:
            os.waitpid(pid, 0)
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


__all__ = ["available", "run"]
