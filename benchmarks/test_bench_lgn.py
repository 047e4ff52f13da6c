"""LGN forward and forward+backward, float32 and float64, eager and compiled (`LGN(compile=True)`), at B = 64 with
N = 50 and N = 200 (the issue's B = 1024, N = 200 does not fit a 2-core CPU's time budget: run it with
CLARIANT_BENCH_BIG=1), plus the peak resident memory of one step measured in a fresh process. Compiled cases compile
in their warm-up round (minutes on a small CPU); the timed rounds exclude it."""

import json
import os
import subprocess
import sys

import pytest
import torch

import clariant_core as cc
from clariant.validate.strategies import random_jets

SIZES = [(64, 50), (64, 200)] + ([(1024, 200)] if os.environ.get("CLARIANT_BENCH_BIG") else [])
DTYPES = (torch.float32, torch.float64)
CASES = [(b, n, dt, mode) for b, n in SIZES for dt in DTYPES for mode in ("eager", "compiled")]


def _id(case):
    b, n, dt, mode = case
    return f"B{b}-N{n}-{str(dt).replace('torch.', '')}-{mode}"


def _setup(b, n, dtype, mode):
    torch.manual_seed(0)
    model = cc.LGN(compile=mode == "compiled").to(dtype)
    p, mask = random_jets(b, n, seed=1, dtype=dtype, min_particles=n)  # every particle real: the worst case
    return model, p, mask


def _record(benchmark, b, n, dtype, mode):
    benchmark.extra_info.update(jets=b, particles=n, dtype=str(dtype), mode=mode)
    benchmark.extra_info["jets_per_second"] = b / benchmark.stats.stats.min


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_lgn_forward(benchmark, case):
    model, p, mask = _setup(*case)

    def step():
        with torch.no_grad():
            return model(p, mask)

    benchmark.pedantic(step, rounds=5, warmup_rounds=1)
    _record(benchmark, *case)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_lgn_forward_backward(benchmark, case):
    model, p, mask = _setup(*case)
    label = torch.arange(p.shape[0]) % 2

    def step():
        model.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(p, mask), label)
        loss.backward()

    benchmark.pedantic(step, rounds=3, warmup_rounds=1)
    _record(benchmark, *case)


_RSS_SCRIPT = """
import json, sys, torch
torch.set_num_threads(2)
import clariant_core as cc
from clariant.validate.strategies import random_jets


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


@pytest.mark.parametrize(
    "n,dtype", [(n, dt) for n in (50, 200) for dt in DTYPES], ids=lambda v: str(v).replace("torch.", "")
)
def test_lgn_peak_memory(benchmark, n, dtype):
    """Peak RSS (process total, MB) of one forward+backward step at B = 64, in a fresh process."""
    name = str(dtype).replace("torch.", "")

    def measure():
        out = subprocess.run(
            [sys.executable, "-c", _RSS_SCRIPT, str(n), name, "1"], capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    benchmark.extra_info.update(jets=64, particles=n, dtype=name)
    print(f"\nN={n} {name}: peak RSS {result['peak_mb']:.0f} MB (baseline {result['baseline_mb']:.0f} MB)")
