"""Whether a model's float64 evaluation computes anything from its inputs in a narrower dtype: one call traced op by op
(docs/validation.md, "Models as they come").

A model that rounds part of its work to float32 (`p.float()` before a float64 head, `eigvalsh` of a float32 copy)
cannot be measured in float64, and the floor's statistical test (floor.py, `_insensitive`) sees it as outputs that do
not follow changes of the inputs far below float32's rounding. Float64 arithmetic that absorbs such changes itself —
log(1 + x) of a tiny x — looks the same to that test. The trace tells them apart: every tensor operation of one
float64 call runs through a `TorchDispatchMode` that follows which tensors were computed from the four-momenta, and
which of them hold values that went through a float32, float16 or bfloat16 (or complex64) tensor made from a float64
(complex128) one: the output *narrowed* where it is one of those (a `.float()` used only for a NaN check or a log
line does not reach it). The trace is *complete* when the model's output was computed from the inputs;
a model that leaves torch (through numpy, or Python numbers) is not, and the statistical test stands alone there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

import clariant_core as cc

from .evaluation import Evaluator

_WIDE = (torch.float64, torch.complex128)


@dataclass(frozen=True)
class Trace:
    narrowed: str | None  # where the output's values went through a narrower dtype (the first such operation)
    complete: bool  # the outputs were computed from the inputs by traced tensor operations


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _narrower(t: torch.Tensor) -> bool:
    return (t.is_floating_point() or t.is_complex()) and t.dtype not in _WIDE


class _Follow(TorchDispatchMode):
    """Marks every tensor an operation computes from a marked one; marks, with where it happened, every floating
    tensor computed in a narrower dtype from the inputs' float64 values, and every floating tensor computed from
    such a one (an integer or boolean result — a comparison, an argsort — drops that mark: float32 decides it as
    float64 would, but at its boundaries)."""

    def __init__(self, start: torch.Tensor):
        super().__init__()
        self.marked = WeakIdKeyDictionary()
        self.marked[start] = True
        self.narrowed = WeakIdKeyDictionary()  # tensor → the operation that first narrowed what it holds

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        ins = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor) and a in self.marked]
        if ins:
            outs = [a for a in tree_flatten(out)[0] if isinstance(a, torch.Tensor)]
            for a in outs:
                self.marked[a] = True
            where = next((self.narrowed[a] for a in ins if a in self.narrowed), None)
            if where is None and any(a.dtype in _WIDE for a in ins):
                low = next((a for a in outs if _narrower(a)), None)
                if low is not None:
                    wide = next(a for a in ins if a.dtype in _WIDE)
                    where = f"{func}: {_name(wide.dtype)} → {_name(low.dtype)}"
            if where is not None:
                for a in outs:
                    if a.is_floating_point() or a.is_complex():
                        self.narrowed[a] = where
        return out


def trace(ev: Evaluator, x: torch.Tensor, mask: torch.Tensor, out_rep: cc.Rep) -> Trace:
    """One float64 call of the model on jets x `[B', N, 4]` float64, traced. A call that fails traced (a compiled
    model may) gives an incomplete trace: nothing is concluded from it."""
    start = x.clone()
    try:
        with torch.no_grad(), _Follow(start) as follow:
            out = ev(torch.float64, start, mask, out_rep)
    except Exception:  # noqa: BLE001 — the model as it runs untraced is measured elsewhere; here only evidence counts
        return Trace(None, False)
    return Trace(follow.narrowed.get(out), out in follow.marked)


__all__ = ["Trace", "trace"]
