"""What the machine can hold: checks made before allocating, so an oversized request fails at once with its size.

Memory is the kernel's estimate of what can be allocated without swapping (`MemAvailable`); CPU cores are those
this process may run on.
"""

from __future__ import annotations

import os

__all__ = ["ResourceError", "available_cpus", "available_memory", "check_memory", "format_bytes"]


class ResourceError(ValueError):
    """A request (model size, jets, workers, irrep dimension) exceeds what this machine can hold."""


def available_memory() -> int:
    """Bytes that can be allocated now without swapping (Linux MemAvailable; else physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: do not refuse


def available_cpus() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PB"


def check_memory(nbytes: float, what: str, *, fraction: float = 0.8, hint: str = "") -> None:
    """Raise ResourceError if `nbytes` exceed `fraction` of the available memory."""
    avail = available_memory()
    if nbytes > fraction * avail:
        raise ResourceError(
            f"{what} needs about {format_bytes(nbytes)}, more than this machine can hold "
            f"({format_bytes(avail)} available){'; ' + hint if hint else ''}"
        )
