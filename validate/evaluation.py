"""Evaluating a user's model as it comes: input checks, the model at a dtype, grouping jets by multiplicity.

A model is any callable `f(p [B, N, 4], mask [B, N]) -> [B, ...]` (or `f(p)` with `takes_mask=False`); an
`nn.Module` is copied and converted once per dtype (and device, docs/devices.md). Everything a user can get wrong
fails here, early, with a message that says what to do: malformed jets, (px, py, pz, E) order, a model without a
mask argument, a fixed-N model, outputs with the wrong batch size, a model that does not compute in the requested
dtype.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator

import torch

import clariant_core as cc
from clariant_core.devices import model_device, resolve_device
from clariant_core.numerics import LIGHTCONE_SLACK, beyond_lightcone, precision

from . import representations as reps
from .workers import jets_per_call, model_state
from .workers import run as run_jobs


class ModelCallError(ValueError):
    """The model could not be called as the suite calls it; the message says what to change."""


#: what a model's own failure raises — caught where the suite says what it means, never the suite's own errors
MODEL_ERRORS = (
    RuntimeError,
    ValueError,
    TypeError,
    NotImplementedError,
    AssertionError,
    IndexError,
    KeyError,
    ArithmeticError,
)
#: characters of an error's first line quoted in a one-line message
QUOTED = 160


def first_line(e: BaseException, limit: int = QUOTED) -> str:
    """The first line of an error's message, cut to `limit` characters (messages quote it on one line)."""
    return str(e).splitlines()[0][:limit] if str(e) else ""


def runs(call) -> bool:
    """Whether `call()` returns without an error (a retry that only tells what a failure means)."""
    try:
        call()
    except MODEL_ERRORS:
        return False
    return True


def fixed_width_error(w: int, n: int, e: Exception, option: str) -> ModelCallError:
    """A model that failed on jets trimmed to w particles and runs on the same jets at their full width n: it needs a
    fixed particle count, which `option` gives it."""
    inner = e.error if isinstance(e, ModelFailed) else e
    return ModelCallError(
        f"the model fails on jets trimmed to {w} particles ({type(inner).__name__}: {first_line(inner)}) and runs on "
        f"the same jets at their full width {n}: it needs a fixed particle count — pass {option}"
    )


class ModelFailed(ValueError):
    """The model itself raised at a precision (a low one it does not support, or a bug); names the precision."""

    def __init__(self, dtype, error: Exception, model):
        self.dtype, self.error = dtype, error
        hint = ""
        if "dtype" in str(error) and not isinstance(model, torch.nn.Module):
            hint = (
                " — the suite cannot convert the weights a plain function closes over: make the model an nn.Module "
                "(its parameters then follow .to(dtype))"
            )
        elif ("dtype" in str(error) or "scalar type" in str(error)) and plain_tensor_attributes(model):
            hint = (
                " — .to(dtype) does not convert tensors kept as plain attributes ("
                + ", ".join(plain_tensor_attributes(model)[:3])
                + "): register them with register_buffer or nn.Parameter"
            )
        elif "same device" in str(error) and plain_tensor_attributes(model, with_device=True):
            hint = (
                " — .to(device) does not move tensors kept as plain attributes ("
                + ", ".join(plain_tensor_attributes(model, with_device=True)[:3])
                + "): register them with register_buffer or nn.Parameter"
            )
        elif "same device" in str(error) or "device type for generator" in str(error):
            hint = (
                " — a tensor the model makes while it runs is on the CPU, not on its inputs' device: create it there "
                "(torch.arange(n, device=p.device), torch.from_numpy(a).to(p.device), a generator on that device)"
            )

        first = str(error).splitlines()[0] if str(error) else ""
        super().__init__(f"the model failed in {precision(dtype).name}: {type(error).__name__}: {first}{hint}")


def check_jets(p, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate jets `p [B, N, 4]` (real floating, finite, E ≥ |p⃗| for real particles) and `mask [B, N]` bool with
    at least one real particle per jet; return (p as float64, mask). Raises ValueError naming the jet and field."""
    if not isinstance(p, torch.Tensor):
        raise ValueError(f"p must be a torch tensor [B, N, 4], got {type(p).__name__}")
    if p.is_complex() or not p.is_floating_point():
        raise ValueError(f"p must be real floating four-momenta, got dtype {p.dtype}")
    if p.ndim != 3 or p.shape[-1] != 4:
        hint = " — three-momenta? the suite needs (E, px, py, pz)" if p.shape[-1:] == (3,) else ""
        raise ValueError(f"p must be four-momenta [B, N, 4] (E, px, py, pz), got shape {tuple(p.shape)}{hint}")
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != tuple(p.shape[:2]):
        got = f"{getattr(mask, 'dtype', type(mask).__name__)} {tuple(getattr(mask, 'shape', ()))}"
        raise ValueError(f"mask must be a bool tensor of shape {tuple(p.shape[:2])} (True = real particle), got {got}")
    b, n = p.shape[:2]
    if b == 0 or n == 0:
        raise ValueError(f"no jets to measure: p has shape {tuple(p.shape)}")
    empty = ~mask.any(1)
    if empty.any():
        raise ValueError(
            f"jet {int(torch.nonzero(empty)[0])} has no real particle (mask all False): "
            f"{int(empty.sum())} of {b} jets are empty; remove them"
        )
    x = p.to(torch.float64)
    real = x[mask]
    if not torch.isfinite(real).all():
        j, i = (int(v) for v in torch.nonzero(~torch.isfinite(x).all(-1) & mask)[0])
        raise ValueError(f"p contains NaN or inf at jet {j}, particle {i}")
    dead = ~((x != 0).any(-1) & mask).any(1)  # every real particle a zero four-vector: nothing to transform
    if dead.any():
        raise ValueError(
            f"jet {int(torch.nonzero(dead)[0])} has only zero four-momenta among its real particles "
            f"({int(dead.sum())} of {b} jets): every transformation leaves them as they are, so nothing can be "
            "measured — padding marked as real in the mask?"
        )
    e, three = x[..., 0], torch.linalg.vector_norm(x[..., 1:], dim=-1)
    bad = mask & (three - e > LIGHTCONE_SLACK * torch.maximum(e.abs(), three))
    if bad.any():
        j, i = (int(v) for v in torch.nonzero(bad)[0])
        raise ValueError(
            f"jet {j}, particle {i}: {beyond_lightcone(float(e[j, i]), float(three[j, i]), LIGHTCONE_SLACK)} "
            f"({int(bad.sum())} such particles): four-momenta must be (E, px, py, pz) with E ≥ |p⃗| — "
            f"is the energy stored last, (px, py, pz, E)?"
        )
    return x.masked_fill(~mask[..., None], 0.0), mask


def takes_two(model) -> bool | None:
    """Whether `model` accepts two positional arguments (p, mask); None when its signature cannot be read."""
    fn = model.forward if isinstance(model, torch.nn.Module) else model
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(q.kind is q.VAR_POSITIONAL for q in params):
        return True
    return sum(q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD) for q in params) >= 2


def plain_tensor_attributes(model, with_device: bool = False) -> list[str]:
    """Floating tensors stored as plain attributes of a module (not parameters or buffers): `.to(dtype)` does not
    convert them and `.to(device)` does not move them, so the model may not compute in the dtype, or on the device,
    the suite asks for. Each as "name (dtype)"; with_device: every such tensor, an index tensor too, as
    "name (dtype, device)"."""
    if not isinstance(model, torch.nn.Module):
        return []
    found = []
    for name, mod in model.named_modules():
        for attr, value in vars(mod).items():
            tensor = isinstance(value, torch.Tensor) and (value.is_floating_point() or with_device)
            if tensor and not attr.startswith("_"):
                what = str(value.dtype).replace("torch.", "") + (f", {value.device}" if with_device else "")
                found.append(f"{name + '.' if name else ''}{attr} ({what})")
    return found


_TRAIN_SENSITIVE = (
    torch.nn.modules.dropout._DropoutNd,
    torch.nn.modules.batchnorm._BatchNorm,
    torch.nn.modules.instancenorm._InstanceNorm,
    torch.nn.RNNBase,
    torch.nn.MultiheadAttention,
    torch.nn.TransformerEncoderLayer,
    torch.nn.TransformerDecoderLayer,
    torch.nn.RReLU,
)


def _reads_training(code) -> bool:
    """Whether a function's bytecode (or a function nested in it) reads an attribute named `training`."""
    return (
        "training" in code.co_names
        or "training" in code.co_consts  # getattr(self, "training")
        or any(_reads_training(c) for c in code.co_consts if isinstance(c, type(code)))
    )


def _functions(mod) -> list:
    """The Python functions a module's forward may run: every function of its own classes (helpers included, a
    decorated forward unwrapped) and a forward set on the instance."""
    out = [mod.__dict__["forward"]] if callable(mod.__dict__.get("forward")) else []
    for cls in type(mod).__mro__:
        if cls is torch.nn.Module or (getattr(cls, "__module__", None) or "").startswith("torch."):
            break
        out += [v for v in vars(cls).values() if callable(v)]
    unwrapped = []
    for fn in out:
        while fn is not None:
            unwrapped.append(fn)
            fn = getattr(fn, "__wrapped__", None)
    return unwrapped


def train_mode_matters(model) -> bool:
    """True when `model` is an nn.Module in training mode that holds something behaving differently in eval mode:
    dropout, batch/instance norm, recurrent or attention layers, or a module whose own forward reads `self.training`.
    (A module is in training mode by default: for one without such parts the mode changes nothing.)"""
    if not isinstance(model, torch.nn.Module) or not model.training:
        return False
    for mod in model.modules():
        if isinstance(mod, _TRAIN_SENSITIVE):
            return True
        if any(_reads_training(fn.__code__) for fn in _functions(mod) if hasattr(fn, "__code__")):
            return True
    return False


class Evaluator:
    """Calls a model at a precision (a torch dtype or a mode of `clariant_core.numerics.PRECISIONS`) on a device and
    checks what comes back. Records the output dtype per precision.

    The device: where an nn.Module lives (`device=None`), or the given one; a module living elsewhere than the given
    device is evaluated as a copy there (the caller's module is never moved). A plain function runs on the given
    device (default: the CPU) with its inputs moved there. Outputs stay on the device (`apply` brings them back)."""

    def __init__(self, model, takes_mask: bool = True, device: torch.device | str | None = None):
        if not callable(model):
            raise ValueError(f"model must be callable f(p, mask), got {type(model).__name__}")
        if takes_mask and takes_two(model) is False:
            raise ModelCallError(
                "the model takes one positional argument but the suite calls model(p, mask): pass takes_mask=False"
            )
        self.model, self.takes_mask = model, takes_mask
        self.home = model_device(model)  # where the module lives (None: a plain function)
        self.device = resolve_device(device) if device is not None else (self.home or torch.device("cpu"))
        self._copies: dict[torch.dtype, object] = {}
        self.output_dtypes: dict[str, torch.dtype] = {}
        self.native: set[str] = set()  # precisions evaluated with the module's own parameter dtype (see __call__)
        self.native_dtype: torch.dtype | None = None  # that dtype

    @property
    def copied(self) -> bool:
        """True when the module is evaluated as a copy on another device than the one it lives on."""
        return self.home is not None and self.home != self.device

    def at(self, dtype):
        """The model converted to the precision's storage dtype on the evaluation device, in eval mode (the module
        itself when it already is all three; otherwise a copy, made once)."""
        dtype = precision(dtype).dtype
        if not isinstance(self.model, torch.nn.Module):
            return self.model
        if dtype not in self._copies:
            floats = [t for t in [*self.model.parameters(), *self.model.buffers()] if t.is_floating_point()]
            if all(t.dtype == dtype for t in floats) and not self.copied and not self.model.training:
                net = self.model
            else:  # never converted, moved or switched to eval mode: the caller's module stays as it was
                net = copy.deepcopy(self.model).to(device=self.device, dtype=dtype).eval()
            self._copies[dtype] = net
        return self._copies[dtype]

    def native_for(self, prec, error: RuntimeError):
        """The module in its own parameters' dtype, for a precision whose converted copy failed on a dtype mismatch:
        a model that casts its inputs itself (`x = x.float()` first in forward) cannot run with float64 weights, and
        runs as its author runs it. Re-raises `error` where that does not apply."""
        text = str(error)
        mismatch = "dtype" in text or "scalar type" in text or "mat1 and mat2 must have the same" in text
        # a tensor kept as a plain attribute explains a dtype mismatch too, and ModelFailed names it: no fallback
        if not (mismatch and isinstance(self.model, torch.nn.Module)) or plain_tensor_attributes(self.model):
            raise error
        if prec.name in self.native:  # a call that fetched the converted copy before another switched (threads)
            return self._copies[prec.dtype]
        own = {t.dtype for t in [*self.model.parameters(), *self.model.buffers()] if t.is_floating_point()}
        if len(own) != 1 or own == {prec.dtype}:
            raise error
        net = self.model
        if self.copied or self.model.training:
            net = copy.deepcopy(self.model).to(device=self.device).eval()
        self._copies[prec.dtype] = net
        self.native.add(prec.name)
        self.native_dtype = own.pop()
        return net

    def state(self) -> tuple:
        """A fingerprint of the model's own state and of its dtype copies (validate/workers.py, `model_state`)."""
        return tuple(model_state(m) for m in (self.model, *self._copies.values()))

    def unavailable(self, dtype) -> str | None:
        """Why the precision cannot run on this evaluator's device (None: it can)."""
        return precision(dtype).unavailable(self.device)

    def __call__(self, dtype, p: torch.Tensor, mask: torch.Tensor, out_rep: cc.Rep) -> torch.Tensor:
        """model(p at the precision's dtype on the device, mask) as one tensor `[B, ...]` (dict outputs flattened in
        the Irreps' order), run inside the precision mode (TF32, autocast); on the evaluation device."""
        prec = precision(dtype)
        f = self.at(prec)
        # copies: a model that changes its inputs in place (p.div_(1000)) must not change the suite's jets
        x, mask = p.to(device=self.device, dtype=prec.dtype, copy=True), mask.to(self.device, copy=True)
        try:
            with prec.enter(self.device):
                try:
                    out = f(x, mask) if self.takes_mask else f(x)
                except RuntimeError as e:
                    f = self.native_for(prec, e)  # a module that casts its inputs itself: its own parameter dtype
                    out = f(x, mask) if self.takes_mask else f(x)
        except TypeError as e:
            if "positional argument" in str(e) and self.takes_mask:
                raise ModelCallError(f"model(p, mask) failed ({e}): if it takes only p, pass takes_mask=False") from e
            raise ModelFailed(prec, e, self.model) from e
        except ModelCallError:
            raise
        except MODEL_ERRORS as e:  # TypeError is handled above
            raise ModelFailed(prec, e, self.model) from e
        if isinstance(out, dict) and not all(isinstance(k, cc.Irrep) for k in out):  # {"logit": t}: named outputs
            keys = ", ".join(repr(k) for k in list(out)[:4])
            raise ModelCallError(
                f"the model returned a dict with keys {keys}, not a tensor: return a [B, ...] tensor (wrap the "
                "model, e.g. lambda p, mask: model(p, mask)[key]), or a dict {Irrep: [B, ..., τ, d]} with an Irreps "
                "out_rep"
            )
        out = reps.flatten(out, out_rep)
        if not isinstance(out, torch.Tensor):
            raise ModelCallError(
                f"the model returned {type(out).__name__}, not a tensor: return a [B, ...] tensor "
                "(or a dict {Irrep: [B, ..., τ, d]} with an Irreps out_rep)"
            )
        if out.ndim == 0 or out.shape[0] != p.shape[0]:
            raise ModelCallError(
                f"the model returned shape {tuple(out.shape)} for {p.shape[0]} jets: the first axis of the output "
                "must be the jet (batch) axis"
            )
        if not (out.is_floating_point() or out.is_complex()):
            raise ModelCallError(f"the model returned {out.dtype} outputs: the suite needs floating outputs")
        wrong = reps.width_error(out_rep, tuple(out.shape))
        if wrong:
            raise ModelCallError(wrong)
        self.output_dtypes.setdefault(prec.name, out.real.dtype if out.is_complex() else out.dtype)
        return out


def _aligned(mask: torch.Tensor, n: torch.Tensor) -> bool:
    """Real particles first in every jet (then trimming a jet to its multiplicity keeps exactly its particles)."""
    return bool((mask == (torch.arange(mask.shape[1], device=mask.device)[None, :] < n[:, None])).all())


def evaluated_widths(mask: torch.Tensor, trim: bool) -> torch.Tensor:
    """The particle count each jet is evaluated at `[B]`: its multiplicity (≥ 1) when trimmed, else the width."""
    n = mask.sum(1)
    if trim and _aligned(mask, n):
        return n.clamp_min(1)
    return torch.full_like(n, mask.shape[1])


def groups(
    mask: torch.Tensor, budget: int, trim: bool, particles: int | None = None
) -> Iterator[tuple[torch.Tensor, int]]:
    """Index groups for evaluation: jets of equal multiplicity together, trimmed to that multiplicity (exact for any
    model that accepts a variable particle count), at most `budget` particle pairs (and, if given, `particles`
    particles) per call. Without trimming, or when real particles are not left-aligned, chunks of the full width."""
    n = mask.sum(1)
    width = mask.shape[1]
    if not (trim and _aligned(mask, n)):
        step = jets_per_call(width, budget, particles)
        for i in range(0, mask.shape[0], step):
            yield torch.arange(i, min(i + step, mask.shape[0])), width
        return
    for v in torch.unique(n).tolist():
        idx = torch.nonzero(n == v)[:, 0]
        step = jets_per_call(v, budget, particles)
        for i in range(0, len(idx), step):
            yield idx[i : i + step], max(v, 1)


class Pass:
    """One batch of jets planned for evaluation: fn over chunks of jets (jet indices, the width they are evaluated
    at; `grouped`: by multiplicity), one job per chunk, and the results put back in the jets' order (`assemble`).
    Several passes can run as one set of jobs (`run_passes`): the workers stay busy across them, and each pass's
    first call, which sets up what the model builds lazily, runs in the caller first."""

    #: what a failing call may mean a model needs a fixed particle count (then checked at the full width), and the
    #: option that says so
    RETRIED: tuple = (RuntimeError, ModelFailed)
    OPTION = "trim_padding=False"

    def __init__(self, fn, x, mask, chunks, *extra, tick=None, weight: float = 1.0, trim: bool = True):
        self.fn, self.x, self.mask, self.extra, self.trim, self.tick = fn, x, mask, extra, trim, tick
        self.chunks = sorted(chunks, key=lambda g: -len(g[0]) * g[1] ** 2)  # (jet indices, width), largest first
        # particles (a model's time grows with them: at fixed width, linearly), times the pass's cost per particle
        # relative to a forward call (`weight`: a forward and backward pass over several copies costs more)
        self.cost = [weight * len(idx) * w for idx, w in self.chunks]

    @classmethod
    def grouped(cls, fn, x, mask, budget, trim, *extra, tick=None, particles=None, weight: float = 1.0) -> Pass:
        """fn over the jets' multiplicity groups (`groups`)."""
        return cls(fn, x, mask, groups(mask, budget, trim, particles), *extra, tick=tick, weight=weight, trim=trim)

    @property
    def jobs(self) -> list[Callable]:
        return [self._job(idx, w) for idx, w in self.chunks]

    def _job(self, idx, w):
        fn, x, mask, extra, trim = self.fn, self.x, self.mask, self.extra, self.trim

        def call():
            try:
                r = fn(x[idx, :w], mask[idx, :w], *(e[idx, :w] for e in extra))
            except self.RETRIED as e:
                n = x.shape[1]
                one = idx[:1]  # one jet: at the full width, the memory of a call sized for w, whatever n is
                if trim and w < n and self._width_matters(one, w):
                    raise fixed_width_error(w, n, e, self.OPTION) from e
                raise
            return r.to(device="cpu", dtype=torch.complex128 if r.is_complex() else torch.float64)

        return call

    def _width_matters(self, one: torch.Tensor, w: int) -> bool:
        """After a call on jets trimmed to w failed: whether it failed for the width — `one` jet fails trimmed to w
        too, and runs at the full width. Where that jet runs trimmed, the failure is about something else (the
        other jets' numbers — an overflow guard in a low precision — or the batch) and is raised as it is."""
        fn, x, mask, extra = self.fn, self.x, self.mask, self.extra
        if runs(lambda: fn(x[one, :w], mask[one, :w], *(e[one, :w] for e in extra))):
            return False
        return runs(lambda: fn(x[one], mask[one], *(e[one] for e in extra)))

    def done(self, i: int) -> int:
        """Job i has finished: its particles counted as progress (`tick`), and returned."""
        idx, w = self.chunks[i]
        if self.tick is not None:
            self.tick(len(idx) * w)
        return len(idx) * w

    def assemble(self, results: list[torch.Tensor]) -> torch.Tensor:
        out = None
        for (idx, _), r in zip(self.chunks, results):
            if out is None:
                out = torch.empty((self.x.shape[0], *r.shape[1:]), dtype=r.dtype, device=r.device)
            elif r.shape[1:] != out.shape[1:]:
                raise ModelCallError(
                    f"the model's output shape depends on the particle count ({tuple(out.shape[1:])} vs "
                    f"{tuple(r.shape[1:])}): pass trim_padding=False, or return per-jet outputs"
                )
            out[idx] = r
        return out


def run_passes(passes: list[Pass], workers: int = 1, state=None, *, apart: bool = False) -> list:
    """Every pass's result, its jobs run together on `workers` (validate/workers.py, `run`): first, alone, the
    largest call of each pass (what the model builds lazily for that pass — a dtype copy, caches — is built in the
    caller, where later calls inherit it), then, alone too, each pass's second call with the model's state compared
    around them (a model that writes its attributes in one kind of call only is seen), then the rest largest first,
    whichever pass they belong to. `apart`: a pass whose call fails gives None instead of raising, its progress
    taken back, and the other passes their results — the caller runs that pass again on its own, where the failure
    is raised and reported as it would be without the others."""
    owners = [(k, i) for k, ps in enumerate(passes) for i in range(len(ps.chunks))]
    jobs = [job for ps in passes for job in ps.jobs]
    if apart:
        failed = [False] * len(passes)  # seen by the calls of this process (not by forked workers' later calls)
        jobs = [_guarded(job, failed, k) for job, (k, _) in zip(jobs, owners)]
    cost = [c for ps in passes for c in ps.cost]
    lead = [j for j, (_, i) in enumerate(owners) if i == 0]  # each pass's largest (chunks are sorted so)
    second = [j for j, (_, i) in enumerate(owners) if i == 1]
    rest = sorted((j for j, (_, i) in enumerate(owners) if i > 1), key=lambda j: -cost[j])
    order = lead + second + rest
    owners, jobs, cost = [owners[j] for j in order], [jobs[j] for j in order], [cost[j] for j in order]
    ticked = [0] * len(passes)

    def done(j):
        k, i = owners[j]
        ticked[k] += passes[k].done(i)

    results = run_jobs(jobs, workers, state, isolated=True, done=done, weights=cost, setup=len(lead), check=len(second))
    per: list[list] = [[None] * len(ps.chunks) for ps in passes]
    for (k, i), r in zip(owners, results):
        per[k][i] = r
    out = []
    for ps, rs, n in zip(passes, per, ticked):
        if any(r is None for r in rs):  # a call failed (`apart`): nothing of this pass is kept, nor counted
            if ps.tick is not None and n:
                ps.tick(-n)
            out.append(None)
        else:
            out.append(ps.assemble(rs))
    return out


def _guarded(job, failed: list[bool], k: int):
    """Job of pass k, returning None where it raises an Exception (`run_passes`, `apart`; Ctrl-C still stops the run)
    — or without running, once a call of its pass has failed: that pass runs again on its own."""

    def call():
        if failed[k]:
            return None
        try:
            return job()
        except Exception:  # noqa: BLE001 — raised again where the pass runs on its own
            failed[k] = True
            return None

    return call


def apply(
    fn: Callable,
    x: torch.Tensor,
    mask: torch.Tensor,
    budget: int,
    trim: bool,
    *extra,
    tick=None,
    workers: int = 1,
    particles: int | None = None,
    state=None,
) -> torch.Tensor:
    """fn(x_chunk, mask_chunk, *extra_chunks) over `groups`, results in the original order as float64/complex128 on
    the CPU (wherever fn computed them). `workers` > 1: that many groups at a time (validate/workers.py; the
    largest first; `state`: the model's fingerprint, checked around the second call). `tick(particles)` is called
    after each chunk with the particles it evaluated (progress), from a worker thread or this one: it must be
    thread-safe. fn must only read shared objects and return its result (it may run in a forked process)."""
    return run_passes(
        [Pass.grouped(fn, x, mask, budget, trim, *extra, tick=tick, particles=particles)], workers, state
    )[0]


__all__ = [
    "Evaluator",
    "ModelCallError",
    "ModelFailed",
    "Pass",
    "apply",
    "check_jets",
    "groups",
    "plain_tensor_attributes",
    "run_passes",
    "takes_two",
    "train_mode_matters",
]
