"""Devices by name: `auto` (the first CUDA GPU when there is one, else the CPU), `cpu`, `cuda`, `cuda:i`.

One home for turning a user's `--device` into a `torch.device`, with a clear error — naming what this machine has —
when the device asked for is not there.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

DEVICE_CHOICES = "auto, cpu, cuda or cuda:<index>"
_NAME = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device_name(name: str) -> None:
    """ValueError unless `name` is one of auto, cpu, cuda, cuda:<i> (whether it exists is `resolve_device`'s check)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"device must be {DEVICE_CHOICES}, got {name!r} (this machine has {present()})")


def cuda_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def present() -> str:
    """What this machine offers, in words: "the CPU only" or "the CPU and 2 CUDA GPU(s) (cuda:0…cuda:1)"."""
    n = cuda_count()
    return "the CPU only, no CUDA GPU" if n == 0 else f"the CPU and {n} CUDA GPU(s) (cuda:0…cuda:{n - 1})"


def available() -> list[torch.device]:
    """Every device this machine can compute on: the CPU, then each CUDA GPU."""
    return [torch.device("cpu")] + [torch.device("cuda", i) for i in range(cuda_count())]


def model_device(model) -> torch.device | None:
    """The one device an nn.Module's floating parameters and buffers live on (None for a plain function or a
    module without tensors). ValueError for a module spread over several devices or living on `meta` (no data)."""
    if not isinstance(model, torch.nn.Module):
        return None
    devices = {t.device for t in (*model.parameters(), *model.buffers())}
    if not devices:
        return None
    if len(devices) > 1:
        names = ", ".join(sorted(str(d) for d in devices))
        raise ValueError(f"the model's parameters live on several devices ({names}): move it to one with .to(device)")
    (dev,) = devices
    if dev.type == "meta":
        raise ValueError("the model's parameters are on the 'meta' device (shapes, no values): load its weights first")
    return dev


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
            raise ValueError(f"device {name!r} is not available: this machine has {present()}; use cpu or auto")
        return torch.device("cuda", index)
    return dev


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, else what `platform` knows)."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_driver() -> str | None:
    """The NVIDIA driver version (from nvidia-smi), None where there is none."""
    import shutil
    import subprocess

    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def describe(device: torch.device | str = "cpu") -> dict:
    """What the device is, for benchmark records and reports: the CPU's model, torch's version, and for CUDA the
    GPU's name, memory, compute capability, CUDA version and driver."""
    device = resolve_device(device)
    info = {"device": str(device), "cpu": cpu_model(), "torch": torch.__version__}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            gpu=props.name,
            memory_gb=round(props.total_memory / 2**30, 1),
            capability=f"{props.major}.{props.minor}",
            cuda=torch.version.cuda,
            driver=gpu_driver(),
        )
    return info
