"""LGN forward and forward+backward at B = 64, N = 50 and 200, float32 and float64 (default architecture, 2 threads),
plus the peak resident memory of one such step measured in a fresh process."""

import json
import subprocess
import sys

import pytest
import torch

import clariant_core as cc
from validate.strategies import random_jets

B = 64
CASES = [(n, dt) for n in (50, 200) for dt in (torch.float32, torch.float64)]


def _setup(n, dtype):
    torch.manual_seed(0)
    model = cc.LGN().to(dtype)
    p, mask = random_jets(B, n, seed=1, dtype=dtype, min_particles=n)  # every particle real: the worst case
    return model, p, mask


@pytest.mark.parametrize("n,dtype", CASES, ids=lambda v: str(v).replace("torch.", ""))
def test_lgn_forward(benchmark, n, dtype):
    model, p, mask = _setup(n, dtype)

    def step():
        with torch.no_grad():
            return model(p, mask)

    benchmark.extra_info.update(jets=B, particles=n, dtype=str(dtype))
    benchmark.pedantic(step, rounds=5, warmup_rounds=1)
    benchmark.extra_info["jets_per_second"] = B / benchmark.stats.stats.min


@pytest.mark.parametrize("n,dtype", CASES, ids=lambda v: str(v).replace("torch.", ""))
def test_lgn_forward_backward(benchmark, n, dtype):
    model, p, mask = _setup(n, dtype)
    label = torch.arange(B) % 2

    def step():
        model.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(p, mask), label)
        loss.backward()

    benchmark.extra_info.update(jets=B, particles=n, dtype=str(dtype))
    benchmark.pedantic(step, rounds=3, warmup_rounds=1)
    benchmark.extra_info["jets_per_second"] = B / benchmark.stats.stats.min


_RSS_SCRIPT = """
import json, sys, torch
torch.set_num_threads(2)
import clariant_core as cc
from validate.strategies import random_jets


def hwm_mb():  # peak resident set of this process (VmHWM: per address space, so not inherited across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


n, dtype, backward = int(sys.argv[1]), getattr(torch, sys.argv[2]), sys.argv[3] == "1"
model = cc.LGN().to(dtype)
p, mask = random_jets(64, n, seed=1, dtype=dtype, min_particles=n)
base = hwm_mb()
if backward:
    torch.nn.functional.cross_entropy(model(p, mask), torch.arange(64) % 2).backward()
else:
    with torch.no_grad():
        model(p, mask)
print(json.dumps({"baseline_mb": base, "peak_mb": hwm_mb()}))
"""


@pytest.mark.parametrize("n,dtype", CASES, ids=lambda v: str(v).replace("torch.", ""))
def test_lgn_peak_memory(benchmark, n, dtype):
    """Peak RSS (process total, MB) of one forward+backward step, in a fresh process."""
    name = str(dtype).replace("torch.", "")

    def measure():
        out = subprocess.run(
            [sys.executable, "-c", _RSS_SCRIPT, str(n), name, "1"], capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    benchmark.extra_info.update(jets=B, particles=n, dtype=name)
    print(f"\nN={n} {name}: peak RSS {result['peak_mb']:.0f} MB (baseline {result['baseline_mb']:.0f} MB)")
