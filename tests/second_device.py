"""A second device on a machine that has only the CPU, for checking where tensors live.

The code's device paths (a model evaluated where it lives, inputs moved there, outputs brought back; training on a
device) cannot be exercised on the CPU alone: every tensor is on the CPU, so a tensor that should have been moved and
was not goes unnoticed — until someone runs it on a GPU. This module gives torch a device named `emu` (torch's
PrivateUse1 slot, renamed) whose tensors are CPU tensors in a wrapper that reports `emu:0`. Under `placement()`
every operation on them runs on the CPU kernels, and an operation that mixes an `emu` tensor with a CPU tensor
raises `PlacementError`, as CUDA raises for cuda and cpu tensors — with CUDA's exceptions: a 0-dim CPU tensor in an
element-wise operation or as a fill value (a scalar), and CPU index tensors (`_cpu_tensors`).

What it shows: placement — every tensor an operation meets is on the model's device — and that the results are those
of the same operations on the CPU. What it does not: anything about a GPU's arithmetic, speed or memory, or the code
that asks CUDA itself (`torch.cuda.*`); those are measured on a GPU (docs/devices.md).
"""

from __future__ import annotations

import contextlib

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._device import _device_constructors
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map

NAME = "emu"
_registered = False


class PlacementError(RuntimeError):
    """An operation met tensors on two devices."""


class _Module:
    """`torch.emu`: what torch asks of a device's module (autograd's checkpointing asks for the random state and the
    autocast dtypes)."""

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def is_initialized() -> bool:
        return True

    @staticmethod
    def _is_in_bad_fork() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def current_device() -> int:
        return 0

    @staticmethod
    def manual_seed_all(seed: int) -> None:
        pass

    @staticmethod
    def get_rng_state(device=None) -> torch.Tensor:
        return torch.get_rng_state()

    @staticmethod
    def set_rng_state(state, device=None) -> None:
        pass

    @staticmethod
    def get_amp_supported_dtype() -> list[torch.dtype]:
        return [torch.bfloat16, torch.float16]

    @staticmethod
    def device(index):
        return contextlib.nullcontext()


_library = None  # keeps the registration below alive


def _outside(*args, **kwargs):
    raise RuntimeError(f"tensors on {NAME}:0 exist only inside tests.second_device.placement(): move them there")


def device() -> torch.device:
    """The second device. Registered with torch once per process, and before autograd's first backward pass (whose
    engine sizes its per-device queues then): test modules call it when they are imported. Outside `placement()`
    nothing can be made on it: torch's allocation for it raises, saying so."""
    global _registered, _library
    if not _registered:
        from torch.utils.backend_registration import _setup_privateuseone_for_python_backend

        _setup_privateuseone_for_python_backend(NAME, backend_module=_Module())
        _library = torch.library.Library("aten", "IMPL")
        for op in ("empty_strided", "empty.memory_format"):
            _library.impl(op, _outside, "PrivateUse1")
        _registered = True
    return torch.device(NAME, 0)


class OnDevice(torch.Tensor):
    """A CPU tensor (`elem`) that reports the second device."""

    @staticmethod
    def __new__(cls, elem: torch.Tensor):
        if elem.is_conj() or elem.is_neg():  # the wrapper cannot carry torch's lazy conjugate/negative bits
            elem = elem.resolve_conj().resolve_neg()
        r = torch.Tensor._make_wrapper_subclass(
            cls,
            elem.shape,
            strides=elem.stride(),
            storage_offset=elem.storage_offset(),
            dtype=elem.dtype,
            device=device(),
            requires_grad=elem.requires_grad,
        )
        r.elem = elem
        return r

    def __repr__(self):
        return f"OnDevice({self.elem!r})"

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs)  # outside placement(): operations on these tensors still run


def _on(t) -> bool:
    return isinstance(t, OnDevice)


def _unwrap(tree):
    return tree_map(lambda a: a.elem if _on(a) else a, tree)


def _wrap(tree):
    return tree_map(lambda t: OnDevice(t) if isinstance(t, torch.Tensor) and not _on(t) else t, tree)


def _target(kwargs: dict) -> torch.device | None:
    d = kwargs.get("device")
    return None if d is None else torch.device(d)


class _Operations(TorchDispatchMode):
    """Runs every operation on the CPU kernels; raises on an operation that mixes the two devices."""

    def __init__(self):
        super().__init__()
        self.operations = 0  # counted, so a test can tell that its code ran here
        self.mismatches: list[str] = []  # every PlacementError raised, also those the code under test caught

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.operations += 1
        try:
            return _run(func, args, kwargs)
        except PlacementError as e:
            self.mismatches.append(str(e))
            raise


#: operations whose index tensors may stay on the CPU while the indexed tensor is on a GPU (CUDA moves them)
_CPU_INDICES = ("index", "index_put", "index_put_", "_index_put_impl_")
#: operations that take a CPU 0-dim tensor as a value on a GPU besides the element-wise ones (torch.Tag.pointwise)
_CPU_VALUES = ("masked_fill", "masked_fill_", "fill", "fill_", *_CPU_INDICES)


def _cpu_tensors(func, args, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """The CPU tensors among an operation's arguments that CUDA would refuse beside device tensors: any of dimension
    ≥ 1, and 0-dim ones too except in element-wise operations (CUDA's TensorIterator takes those as scalars) and as
    the value of a fill; indices of an indexing operation may be CPU tensors."""
    name = func.overloadpacket.__name__
    skip = {id(t) for t in (args[1] if name in _CPU_INDICES and len(args) > 1 else ()) if isinstance(t, torch.Tensor)}
    scalars_ok = torch.Tag.pointwise in func.tags or name in _CPU_VALUES
    return [t for t in tensors if not _on(t) and id(t) not in skip and (t.dim() > 0 or not scalars_ok)]


def _run(func, args, kwargs):
    """`func` on the CPU kernels, its results on the second device where an input or the target is there."""
    kwargs = dict(kwargs or {})
    tensors = []
    tree_map(lambda a: tensors.append(a) if isinstance(a, torch.Tensor) else None, (args, kwargs))
    here = [t for t in tensors if _on(t)]
    cpu = _cpu_tensors(func, args, tensors) if here else []
    name = func.overloadpacket.__name__
    moves = name in ("_to_copy", "copy_")  # the two operations that cross devices
    if here and cpu and not moves:
        shapes = ", ".join(f"{tuple(t.shape)} on {NAME}" for t in here[:3])
        others = ", ".join(f"{tuple(t.shape)} on cpu" for t in cpu[:3])
        raise PlacementError(  # CUDA's words, then which operation and tensors
            f"Expected all tensors to be on the same device, but found at least two devices, {NAME}:0 and cpu! "
            f"({func}: {shapes}; {others})"
        )
    target = _target(kwargs)
    if target is not None and target.type == NAME:
        kwargs["device"] = torch.device("cpu")
    if kwargs.get("pin_memory"):
        kwargs["pin_memory"] = False
    out = func(*_unwrap(args), **_unwrap(kwargs))
    if name == "copy_":
        return args[0]
    if target is not None and target.type == "cpu":
        return out
    if (target is not None and target.type == NAME) or here:
        return _wrap(out)
    return out


class _Constructors(TorchFunctionMode):
    """`torch.tensor(…, device=emu)`, `x.new_tensor(…)` and the other constructors build on the CPU inside torch's
    C++ and copy there, out of the dispatch mode's sight: build them on the CPU here and move them through it. A CPU
    random generator for a device tensor is refused, as CUDA refuses it; `tolist` and `numpy` behave as on CUDA."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func is torch.Tensor.new_tensor and _on(args[0]):
            kwargs.setdefault("dtype", args[0].dtype)
            target = kwargs.pop("device", args[0].device)
            return torch.tensor(*args[1:], **kwargs).to(target)
        if func is torch.Tensor.tolist and _on(args[0]):
            return args[0].elem.tolist()  # CUDA copies to the host
        if func is torch.Tensor.numpy and _on(args[0]):
            raise TypeError(f"can't convert {NAME}:0 device type tensor to numpy. Use Tensor.cpu() first.")
        target = _target(kwargs)
        if func in _device_constructors() and target is not None and target.type == NAME:
            g = kwargs.get("generator")
            if g is not None and g.device.type != NAME:
                raise RuntimeError(f"Expected a '{NAME}' device type for generator but found '{g.device.type}'")
            kwargs["device"] = "cpu"
            return func(*args, **kwargs).to(target)
        return func(*args, **kwargs)


@contextlib.contextmanager
def placement():
    """Within: tensors can live on `device()`; mixing them with CPU tensors raises PlacementError."""
    device()
    # Module.to(…) assigns `param.data`, which would leave the wrapper's `elem` behind; swapping keeps them together
    swap = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)
    try:
        with _Operations() as ops, _Constructors():
            yield ops
    finally:
        torch.__future__.set_swap_module_params_on_conversion(swap)
