"""Concurrent evaluation (validate/workers.py): the pool changes the wall time only — every number the suite reports
is the same with one worker as with several, in order, and errors still surface with their message."""

import os
import signal
import threading
import time
import warnings

import pytest
import torch
from torch import nn

from clariant.validate import forkpool, judge, sweep, workers
from clariant.validate.properties import run_all
from clariant.validate.strategies import random_jets


class PairSum(nn.Module):
    """Σ_ij tanh((p_i − p_j)² / s) over real pairs, plus a frame-dependent leak (a pairwise model in the usual style,
    written here independently of the suite)."""

    def __init__(self, leak: float = 0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(50.0))
        self.leak = leak

    def forward(self, p, mask):
        d = p[:, :, None, :] - p[:, None, :, :]
        m2 = d[..., 0] ** 2 - (d[..., 1:] ** 2).sum(-1)
        pair = (mask[:, :, None] & mask[:, None, :]).to(p.dtype)
        out = (torch.tanh(m2 / self.scale) * pair).sum((1, 2))
        return torch.stack([out, out + self.leak * (p[..., 1] * mask).sum(1)], -1)


def _jets():
    return random_jets(24, 12, seed=3, min_particles=1)


def _sweep(model, monkeypatch, n, pool="threads"):
    monkeypatch.setenv(workers.ENV, str(n))
    monkeypatch.setenv(workers.POOL_ENV, pool)
    p, mask = _jets()
    return sweep(model, p, mask, n_rapidities=3, n_angles=2, groups=("beam",), n_random=2)


FORKS = pytest.mark.skipif(not forkpool.available(), reason="forked workers need Linux without CUDA initialised")
POOLS = ["threads", pytest.param("processes", marks=FORKS)]


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("leak", [0.0, 1e-4])
def test_sweep_is_the_same_with_one_worker_or_several(leak, pool, monkeypatch):
    model = PairSum(leak).double()
    one, two = _sweep(model, monkeypatch, 1), _sweep(model, monkeypatch, 2, pool)
    for name, m in one.measurements.items():
        other = two.measurements[name]
        assert (m.errors is None) == (other.errors is None)
        if m.errors is not None:
            assert torch.equal(m.errors, other.errors), name
            assert torch.equal(m.floor, other.floor), name
    assert judge(one).verdict == judge(two).verdict
    assert str(judge(one).verdict) == ("PASS" if leak == 0 else "BROKEN")


@pytest.mark.parametrize("pool", POOLS)
def test_properties_are_the_same_with_one_worker_or_several(pool, monkeypatch):
    p, mask = _jets()
    model = PairSum().double()
    results = []
    monkeypatch.setenv(workers.POOL_ENV, pool)
    for n in (1, 2):
        monkeypatch.setenv(workers.ENV, str(n))
        results.append(run_all(model, p, mask, properties=("permutation", "padding", "parity")))
    for name, r in results[0].items():
        other = results[1][name]
        assert r.verdict == other.verdict, name
        assert [vars(row) for row in r.rows] == [vars(row) for row in other.rows], name


def test_run_keeps_order_and_raises_the_earliest_error():
    seen = []

    def job(i):
        def call():
            seen.append(threading.current_thread().name)
            if i in (3, 5):
                raise ValueError(f"job {i} failed")
            return i * i

        return call

    assert workers.run([job(i) for i in (0, 1, 2, 4)], 2) == [0, 1, 4, 16]
    assert any(name.startswith("clariant-eval") for name in seen)  # the pool really ran some of them
    with pytest.raises(ValueError, match="job 3 failed"):
        workers.run([job(i) for i in range(7)], 2)


def test_worker_count_from_the_environment(monkeypatch):
    monkeypatch.setenv(workers.ENV, "3")
    assert workers.workers_for("cpu") == 3
    # on a GPU one batch at a time whatever the variable says: the TF32 mode's switches are the process's, and two
    # batches in other modes at once would share them
    assert workers.workers_for("cuda") == 1
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(workers.ENV, bad)
        with pytest.raises(ValueError, match=workers.ENV):
            workers.workers_for("cpu")
    monkeypatch.delenv(workers.ENV)
    assert 1 <= workers.workers_for("cpu") <= workers.MAX_WORKERS
    assert workers.workers_for("cuda") == 1  # a GPU runs the batches itself


def test_intra_op_threads_are_restored(monkeypatch):
    before = torch.get_num_threads()
    workers.run([lambda: torch.get_num_threads()] * 4, 2)
    assert torch.get_num_threads() == before


class Counting(PairSum):
    """Counts its calls on `self` and keeps the last input: state written during forward, so not safe to call from
    two threads at once."""

    def __init__(self):
        super().__init__()
        self.calls, self.seen = 0, []

    def forward(self, p, mask):
        self.calls += 1
        self.seen.append(p.shape[0])
        return super().forward(p, mask)


def test_a_model_that_writes_its_state_runs_one_call_at_a_time(monkeypatch):
    monkeypatch.setenv(workers.ENV, "2")
    p, mask = _jets()
    model = Counting().double().eval()
    with pytest.warns(RuntimeWarning, match="changes its own attributes"):
        pooled = sweep(model, p, mask, n_rapidities=2, n_angles=1)
    assert model.calls > 0  # the float64 eval-mode model is the user's module itself (no copy): it counted its calls
    monkeypatch.setenv(workers.ENV, "1")
    serial = sweep(Counting().double().eval(), p, mask, n_rapidities=2, n_angles=1)
    for name, m in serial.measurements.items():
        if m.errors is not None:
            assert torch.equal(m.errors, pooled.measurements[name].errors), name
    assert judge(pooled).verdict == "PASS"


def test_a_model_with_forward_hooks_is_never_called_concurrently(monkeypatch):
    monkeypatch.setenv(workers.ENV, "2")
    p, mask = _jets()
    model = PairSum().double()
    threads = set()
    model.register_forward_hook(lambda mod, args, out: threads.add(threading.current_thread().name))
    sweep(model, p, mask, n_rapidities=2, n_angles=1)
    assert threads == {threading.main_thread().name}


def test_a_stateless_model_is_not_flagged():
    model = PairSum().double()
    before = workers.model_state(model)
    p, mask = _jets()
    model(p, mask)
    assert workers.model_state(model) == before
    assert workers.model_state(Counting().double()) != workers.model_state(Counting().double())  # ids differ


def test_cpu_calls_hold_the_same_bytes_at_each_dtype():
    """On the CPU a model call holds about `cpu_particles_per_call` particles: CPU_PARTICLES_PER_CALL in float64,
    twice as many in float32 (the same bytes), in the sweep and in the property checks."""
    seen = {torch.float64: [], torch.float32: []}

    def model(p, mask):  # a plain function: Σ_i m_i², noting each call's dtype and particle count
        seen[p.dtype].append(p.shape[0] * p.shape[1])
        return ((p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)) * mask).sum(1, keepdim=True)

    p, mask = random_jets(256, 20, seed=1, min_particles=20)  # one multiplicity: full calls
    sweep(model, p, mask, dtypes=(torch.float32, torch.float64), n_rapidities=10, n_angles=8)
    per = workers.CPU_PARTICLES_PER_CALL
    assert max(seen[torch.float64]) <= per < max(seen[torch.float32]) <= 2 * per
    for calls in seen.values():
        calls.clear()
    run_all(model, p, mask, properties=("permutation",))
    assert max(seen[torch.float64]) <= per < max(seen[torch.float32]) <= 2 * per


def _children() -> set[int]:
    """This process's live child processes (Linux)."""
    out = set()
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as f:
            out |= {int(x) for x in f.read().split()}
    return out


@FORKS
def test_processes_keep_order_report_progress_here_and_raise_the_earliest_error(monkeypatch):
    monkeypatch.setenv(workers.POOL_ENV, "processes")
    here, before = os.getpid(), _children()

    def job(i):
        def call():
            if i in (3, 5):
                raise ValueError(f"job {i} failed")
            return torch.tensor([i * i, os.getpid()], dtype=torch.float64)

        return call

    done = []
    out = workers.run([job(i) for i in (0, 1, 2, 4, 6, 7)], 2, isolated=True, done=done.append)
    assert [int(r[0]) for r in out] == [0, 1, 4, 16, 36, 49]
    assert {int(r[1]) for r in out[2:]} - {here}  # the jobs after the first two ran in other processes
    assert sorted(done) == list(range(6))  # every job's progress, reported in this process
    with pytest.raises(ValueError, match="job 3 failed"):  # the job's own exception, raised here
        workers.run([job(i) for i in range(7)], 2, isolated=True)
    assert _children() <= before  # every worker reaped


@FORKS
@pytest.mark.parametrize("how", ["raises", "exits", "unpicklable"])
def test_a_job_that_fails_only_in_a_worker_process_runs_here(how, monkeypatch):
    """Something process isolation breaks (here: the job sees another pid): the result is still right, with a
    warning, and the remaining jobs run in this process."""
    monkeypatch.setenv(workers.POOL_ENV, "processes")
    here, before = os.getpid(), _children()

    class Opaque:  # not a tensor: cannot come back from a worker
        value = 7

    def job(i):
        def call():
            if os.getpid() != here and i == 4:
                if how == "raises":
                    raise RuntimeError("only in a worker")
                if how == "exits":
                    os._exit(3)
                return Opaque()
            return torch.tensor(float(i))

        return call

    with pytest.warns(RuntimeWarning, match="failed in a worker process"):
        out = workers.run([job(i) for i in range(8)], 2, isolated=True)
    assert [float(r) for r in out] == [float(i) for i in range(8)]
    assert _children() <= before


@FORKS
def test_ctrl_c_stops_the_worker_processes(monkeypatch):
    monkeypatch.setenv(workers.POOL_ENV, "processes")
    before = _children()

    def interrupt(i):
        if i >= 2:
            raise KeyboardInterrupt

    jobs = [lambda: torch.ones(3)] * 12
    with pytest.raises(KeyboardInterrupt):
        workers.run(jobs, 2, isolated=True, done=interrupt)
    assert _children() <= before


def test_pool_kind_from_the_environment(monkeypatch):
    monkeypatch.setenv(workers.POOL_ENV, "threads")
    assert workers.pool_kind() == "threads"
    monkeypatch.setenv(workers.POOL_ENV, "forks")
    with pytest.raises(ValueError, match=workers.POOL_ENV):
        workers.pool_kind()
    with pytest.raises(ValueError, match=workers.POOL_ENV):  # before any work: where the pool is sized
        workers.workers_for("cpu")
    monkeypatch.delenv(workers.POOL_ENV)
    assert workers.pool_kind() == ("auto" if forkpool.available() else "threads")


@FORKS
def test_auto_forks_only_where_the_pass_pays_for_it(monkeypatch):
    """Unset, the pool forks for a pass whose estimated time saved exceeds the forks' cost at this process's size:
    never for a few short jobs, and for long ones."""
    monkeypatch.delenv(workers.POOL_ENV, raising=False)
    here = os.getpid()

    def job(seconds):
        def call():
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:  # busy, as a model call is
                pass
            return torch.tensor(float(os.getpid()))

        return call

    short = workers.run([job(0.001)] * 6, 2, isolated=True)
    assert {int(r) for r in short} == {here}
    cost = workers.FORK_SECONDS + workers.FORK_SECONDS_PER_GB * workers._resident_gb()
    each = 0.6 * cost / workers.PROCESS_GAIN  # the rest: 2 such jobs per worker, 1.2 × the break-even
    long = workers.run([job(each)] * 6, 2, isolated=True)
    assert {int(r) for r in long[2:]} - {here}


def _pids(n: int, seconds: float = 0.0):
    """n jobs returning their process id (busy for `seconds` first)."""

    def call():
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
        return torch.tensor(float(os.getpid()))

    return [call] * n


@FORKS
def test_two_pools_at_once_from_two_threads_both_finish(monkeypatch):
    """One pool of processes at a time: the second, started while the first runs, uses threads (each pool's
    children would otherwise hold the other's pipes open, and both would wait for ever)."""
    monkeypatch.setenv(workers.POOL_ENV, "processes")
    before, out = _children(), {}

    def go(name):
        out[name] = workers.run(_pids(8, 0.05), 2, isolated=True)

    threads = [threading.Thread(target=go, args=(k,), daemon=True) for k in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a pool hung"
    assert sorted(out) == ["a", "b"] and all(len(v) == 8 for v in out.values())
    assert _children() <= before


@FORKS
def test_workers_with_several_intra_op_threads_use_threads(monkeypatch):
    """GNU OpenMP's pool does not survive a fork: where each worker's share would be more than one torch thread, the
    pool stays in this process (a forked worker with two threads hung in its first parallel operation)."""
    monkeypatch.setenv(workers.POOL_ENV, "processes")
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        torch.ones(1 << 20).sum()  # the OpenMP pool started, as a model call starts it
        out = workers.run(_pids(6), 2, isolated=True)
    finally:
        torch.set_num_threads(before)
    assert {int(r) for r in out} == {os.getpid()}


class ModelWarning(UserWarning):
    pass


@FORKS
def test_warnings_in_worker_processes_are_raised_here(monkeypatch):
    monkeypatch.setenv(workers.POOL_ENV, "processes")

    def job(i):
        def call():
            warnings.warn(f"jet group {i} is odd", ModelWarning, stacklevel=1)
            return torch.tensor(float(os.getpid()))

        return call

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = workers.run([job(i) for i in range(6)], 2, isolated=True)
    assert {int(r) for r in out[2:]} - {os.getpid()}  # some ran in workers
    said = sorted(str(w.message) for w in caught if w.category is ModelWarning)
    assert said == [f"jet group {i} is odd" for i in range(6)]


@FORKS
def test_a_fork_that_fails_leaves_the_pass_to_threads(monkeypatch):
    monkeypatch.setenv(workers.POOL_ENV, "processes")
    fds, before = len(os.listdir("/proc/self/fd")), _children()
    real, calls = os.fork, []

    def fork():  # the second worker cannot be started (a process limit)
        calls.append(1)
        if len(calls) > 1:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real()

    monkeypatch.setattr(os, "fork", fork)
    with pytest.warns(RuntimeWarning, match="could not be started"):
        out = workers.run(_pids(6), 2, isolated=True)
    assert {int(r) for r in out} == {os.getpid()}  # threads, in this process
    assert len(os.listdir("/proc/self/fd")) == fds and _children() <= before


@FORKS
def test_processes_with_sigchld_ignored_and_many_open_files(monkeypatch):
    """A caller that ignores SIGCHLD (children reaped by the kernel), or holds more than 1,023 open files (beyond
    select()), still gets its results."""
    import resource

    monkeypatch.setenv(workers.POOL_ENV, "processes")
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    pipes = [os.pipe() for _ in range(600)] if soft > 1300 else []
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        out = workers.run(_pids(6), 2, isolated=True)
    finally:
        signal.signal(signal.SIGCHLD, old)
        for a, b in pipes:
            os.close(a)
            os.close(b)
    assert len(out) == 6 and {int(r) for r in out[2:]} - {os.getpid()}


def test_results_come_back_compact():
    """A view of a large tensor travels as its own numbers, not its whole storage."""
    big = torch.arange(1 << 20, dtype=torch.float64)
    view = big.view(-1, 2)[:64]
    compact = forkpool._compact({"a": [view, big[:3]], "b": (view.T,)})
    for t in (*compact["a"], *compact["b"]):
        assert t.untyped_storage().nbytes() == t.numel() * t.element_size()
    assert torch.equal(compact["a"][0], view) and torch.equal(compact["b"][0], view.T)


def _pid_and_index(i: int):
    def call():
        if i < 0:
            raise KeyError(f"job {i} failed")
        return [i, os.getpid()]

    return call


@pytest.mark.parametrize("pool", POOLS)
def test_run_forked_keeps_order_and_never_uses_threads(pool, monkeypatch):
    """Jobs that must not share a process (drawing with pyplot): in other processes, or one after the other here —
    never on threads."""
    monkeypatch.setenv(workers.POOL_ENV, pool)
    here, before = os.getpid(), _children()
    seen = []

    def note(i):
        def call():
            seen.append(threading.get_ident())
            return _pid_and_index(i)()

        return call

    out = workers.run_forked([note(i) for i in range(6)], 2)
    assert [r[0] for r in out] == list(range(6))
    pids = {r[1] for r in out}
    if pool == "processes":
        assert here not in pids and len(seen) == 0  # every job drawn in a worker
    else:
        assert pids == {here} and set(seen) == {threading.get_ident()}  # here, in this thread
    assert [r[1] for r in workers.run_forked([_pid_and_index(i) for i in range(3)], 1)] == [here] * 3
    with pytest.raises(KeyError, match="job -2 failed"):  # the earliest failing job's own exception, raised here
        workers.run_forked([_pid_and_index(i) for i in (0, -2, 1, -3)], 2)
    assert _children() <= before
