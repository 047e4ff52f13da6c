"""Devices by name: `auto` (the first CUDA GPU when there is one, else the CPU), `cpu`, `cuda`, `cuda:i`.

One home for turning a user's `--device` into a `torch.device`, with a clear error — naming what this machine has —
when the device asked for is not there.
"""

from __future__ import annotations

import re

import torch

DEVICE_CHOICES = "auto, cpu, cuda or cuda:<index>"
_NAME = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device_name(name: str) -> None:
    """ValueError unless `name` is one of auto, cpu, cuda, cuda:<i> (whether it exists is `resolve_device`'s check)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"device must be {DEVICE_CHOICES}, got {name!r}")


def cuda_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """The `torch.device` for `name`; ValueError (saying what is present) when it is not on this machine."""
    if isinstance(name, torch.device):
        name = str(name)
    check_device_name(name)
    if name == "auto":
        return torch.device("cuda", 0) if cuda_count() else torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda":
        n = cuda_count()
        index = 0 if dev.index is None else dev.index
        if index >= n:
            have = "no CUDA GPU" if n == 0 else f"{n} CUDA GPU(s) (cuda:0…cuda:{n - 1})"
            raise ValueError(f"device {name!r} is not available: this machine has {have}; use --device cpu or auto")
        return torch.device("cuda", index)
    return dev


def describe(device: torch.device) -> dict:
    """What the device is, for benchmark records and reports: name, and for CUDA its driver-side facts."""
    device = resolve_device(device)
    if device.type != "cuda":
        import platform

        return {"device": "cpu", "name": platform.processor() or platform.machine(), "torch": torch.__version__}
    props = torch.cuda.get_device_properties(device)
    return {
        "device": str(device),
        "name": props.name,
        "memory_gb": round(props.total_memory / 2**30, 1),
        "capability": f"{props.major}.{props.minor}",
        "cuda": torch.version.cuda,
        "torch": torch.__version__,
    }
