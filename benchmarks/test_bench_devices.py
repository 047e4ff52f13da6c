"""Across hardware (docs/devices.md): the LGN's training step and a validation sweep on every device present (cpu,
cuda:0) in each precision mode, and the memory policy's peak memory (network/memory.py) against no chunking.

    pytest benchmarks/test_bench_devices.py --benchmark-only --benchmark-json=run.json
    clariant bench compare cpu.json gpu.json
"""

import json
import subprocess
import sys

import pytest
import torch

import clariant_core as cc
from clariant.validate import sweep
from clariant.validate.strategies import random_jets
from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import load_checkpoint

B, N = 64, 200


@pytest.mark.parametrize("chunking", ["auto", "none"])
def test_lgn_step(benchmark, device, precision, mode, chunking):
    """One forward+backward step of the default LGN at B = 64, N = 200 (every particle real), as the memory policy
    decides ("auto") and unchunked ("none")."""
    torch.manual_seed(0)
    model = cc.LGN().to(device=device, dtype=mode.dtype)
    model.grad_chunk_pairs = None if chunking == "none" else "auto"
    p, mask = random_jets(B, N, seed=1, dtype=mode.dtype, min_particles=N)
    p, mask, label = p.to(device), mask.to(device), (torch.arange(B) % 2).to(device)

    def step():
        model.zero_grad(set_to_none=True)
        with mode.enter(device):
            loss = torch.nn.functional.cross_entropy(model(p, mask), label)
            if mode.kind == "tf32":  # TF32 is a switch read by each matmul: the backward pass's too
                loss.backward()
        if mode.kind != "tf32":  # autocast: backward outside the region, as torch prescribes
            loss.backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    try:
        step()
    except RuntimeError as e:  # e.g. the LGN's complex activations under autocast: say so, do not time it
        pytest.skip(f"the LGN does not run in {mode.name} on {device}: {str(e).splitlines()[0][:120]}")
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    benchmark.pedantic(step, rounds=3, warmup_rounds=1)
    benchmark.extra_info.update(jets=B, particles=N, device=device, precision=mode.name, chunking=chunking)
    benchmark.extra_info["jets_per_second"] = B / benchmark.stats.stats.min
    if device.startswith("cuda"):
        benchmark.extra_info["peak_allocated_mb"] = torch.cuda.max_memory_allocated(device) / 2**20


_RSS_SCRIPT = """
import json, sys, torch
torch.set_num_threads(2)
import clariant_core as cc
from clariant.validate.strategies import random_jets


def hwm_mb():  # peak resident set of this process (VmHWM)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


b, n, dtype, chunking = int(sys.argv[1]), int(sys.argv[2]), getattr(torch, sys.argv[3]), sys.argv[4]
model = cc.LGN().to(dtype)
model.grad_chunk_pairs = None if chunking == "none" else "auto"
p, mask = random_jets(b, n, seed=1, dtype=dtype, min_particles=n)
base = hwm_mb()
torch.nn.functional.cross_entropy(model(p, mask), torch.arange(b) % 2).backward()
print(json.dumps({"baseline_mb": base, "peak_mb": hwm_mb()}))
"""


@pytest.mark.parametrize("chunking", ["auto", "none"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cpu_peak_memory_policy(benchmark, dtype, chunking):
    """Peak RSS (MB) of one CPU forward+backward step at B = 64, N = 200 in a fresh process: the memory policy's
    chunks against none (docs/network.md, "Memory policy")."""

    def measure():
        out = subprocess.run(
            [sys.executable, "-c", _RSS_SCRIPT, str(B), str(N), dtype, chunking],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(result, jets=B, particles=N, dtype=dtype, chunking=chunking)
    print(f"\n{dtype} {chunking}: peak RSS {result['peak_mb']:.0f} MB (baseline {result['baseline_mb']:.0f} MB)")


def test_validation_sweep(benchmark, device, precision, mode):
    """The shipped LGN's sweep on 64 sample jets (boosts along z at 4 rapidities, 2 rotations), in one precision
    mode plus the float64 companion, on the device."""
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float64)
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 64)
    width = int(b.mask.sum(1).max())
    p, mask = b.p[:, :width], b.mask[:, :width]
    kw = dict(dtypes=(mode,), axes=("z",), rapidities=(1.0, 2.0, 4.0, 6.0), n_angles=1, device=device)
    result = benchmark.pedantic(sweep, args=(model, p, mask), kwargs=kw, rounds=1, iterations=1)
    rows = [r for r in result.rows() if r["kind"] == "boost" and r["dtype"] == mode.name]
    benchmark.extra_info.update(jets=64, device=device, precision=mode.name, skipped=result.skipped)
    benchmark.extra_info["error_p95_by_rapidity"] = {r["parameter"]: r["error_p95"] for r in rows}
