"""The LGN's memory policy: how many particle pairs one recomputed chunk of a training step may hold
(docs/network.md, "Memory policy"). Chunking only when memory requires it.

The pair-sized tensors of a forward+backward step dominate its memory. Per particle pair the LGN holds about

    numbers_per_pair = 6·num_basis + 2 + 2·Σ_levels τ_in

real numbers of the model's dtype: the invariant p_ij² and the pair basis φ_b(p_ij²) with the temporaries autograd
keeps of it (≈ 6 per basis function, with the mask product), and per CG level the weights f_c(p_ij²) of its τ_in
input channels and their gradient. For the default architecture (num_basis 4, channels 2, 4, 4, 2) that is 46
numbers: 368 bytes per pair in float64, 184 in float32. Measured (peak RSS of one unchunked step, N = 200, slope in
the batch, 2-core AMD EPYC): 42 numbers per pair in float64 (B = 8 → 64), 50 in float32 (B = 8 → 32).

Decision (`chunk_pairs`): with a budget of M bytes, a step of P = B·N² pairs runs unchunked when P fits in the
largest power of two ≤ M / bytes_per_pair; otherwise its CG levels run over chunks of that many pairs, recomputed in
backward. The budget: a stated one (`Budget(bytes)`), else on CUDA half the device's free memory
(`torch.cuda.mem_get_info`, read once per device and process: the query synchronises the device, and memory the
caching allocator holds stays usable by later steps), else on the CPU `CPU_BUDGET` = 256 MiB — which gives 2¹⁹
pairs in float64 (the chunk the LGN always used on the CPU: a float64 step at B = 64, N = 200 peaks at ~0.67 GB
instead of ~1.1 GB) and 2²⁰ in float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

CPU_BUDGET = 256 << 20  # bytes; keeps the CPU's float64 step at B = 64, N = 200 below 1 GB (module docstring)
CUDA_FREE_FRACTION = 0.5  # of the free device memory: the rest for parameters, optimiser, the stored level outputs


@dataclass(frozen=True)
class Budget:
    """A stated memory budget in bytes for the pair-sized tensors of one training step."""

    bytes: int

    def __post_init__(self):
        if not (isinstance(self.bytes, int) and self.bytes > 0):
            raise ValueError(f"a memory budget must be a positive number of bytes, got {self.bytes!r}")


def numbers_per_pair(num_basis: int, taus_in) -> int:
    """Real numbers held per particle pair in one forward+backward step (module docstring's formula)."""
    return 6 * num_basis + 2 + 2 * sum(taus_in)


def bytes_per_pair(config, dtype: torch.dtype) -> int:
    """Bytes per particle pair for an LGNConfig at real dtype `dtype` (float32/float64)."""
    return numbers_per_pair(config.num_basis, config.channels[:-1]) * torch.finfo(dtype).bits // 8


_CUDA_FREE: dict[int, int] = {}  # free bytes per CUDA device index, read at the first step that needs it


def budget_bytes(device: torch.device, budget: Budget | None = None) -> int:
    """The budget that applies on `device`: the stated one, else half the free CUDA memory (read once per device:
    `forget_cuda_free` reads it again), else CPU_BUDGET."""
    if budget is not None:
        return budget.bytes
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index not in _CUDA_FREE:
            _CUDA_FREE[index] = torch.cuda.mem_get_info(index)[0]
        return int(CUDA_FREE_FRACTION * _CUDA_FREE[index])
    return CPU_BUDGET


def forget_cuda_free() -> None:
    """Read the devices' free memory again at the next step (after freeing another model, say)."""
    _CUDA_FREE.clear()


def chunk_pairs(setting, p: torch.Tensor, config) -> int | None:
    """Pairs per recomputed chunk for a step on jets p `[B, N, 4]`, or None to run it in one piece.

    setting: None (never chunk), an int (that many pairs, as given), "auto" (the budget of p's device) or a Budget."""
    if setting is None or (isinstance(setting, int) and not isinstance(setting, bool)):
        return setting
    if setting != "auto" and not isinstance(setting, Budget):
        raise ValueError(f"grad_chunk_pairs must be None, a number of pairs, 'auto' or a Budget, got {setting!r}")
    b, n = p.shape[:2]
    fit = budget_bytes(p.device, setting if isinstance(setting, Budget) else None) // bytes_per_pair(config, p.dtype)
    chunk = 1 << max(0, int(math.log2(max(fit, 1))))  # a power of two: the same chunks for similar budgets
    return None if b * n * n <= chunk else chunk


__all__ = [
    "CPU_BUDGET",
    "Budget",
    "budget_bytes",
    "bytes_per_pair",
    "chunk_pairs",
    "forget_cuda_free",
    "numbers_per_pair",
]
