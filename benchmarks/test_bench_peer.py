"""The LGN against a peer: L-GATr-slim (`pip install clariant[peer]`, lgatr 2.0.0; `LGATrSlim` with 4 blocks, 16
vector / 32 scalar hidden channels, 4 heads: 54.6k parameters), forward and forward+backward in float32, eager and in
each model's compiled mode (`compile=True`), same jets, on every device present (cpu, cuda:0). At B = 64, N = 50
everywhere; the hardware issue's sizes, B = 4096, N = 50 and B = 1024, N = 200, on a GPU, and on the CPU with
CLARIANT_BENCH_BIG=1 (eager: each takes minutes on a 2-core CPU; compiled: more). Skipped when lgatr is absent."""

import os

import pytest
import torch

import clariant_core as cc
from clariant.validate.strategies import random_jets

lgatr = pytest.importorskip("lgatr", reason="the peer benchmark needs lgatr: pip install 'clariant[peer]'")

B, N = 64, 50
SIZES = [(B, N), (4096, 50), (1024, 200)]
BIG_ON_CPU = bool(os.environ.get("CLARIANT_BENCH_BIG"))
MODES = ("eager", "compiled")


class SlimTagger(torch.nn.Module):
    """L-GATr-slim as a jet tagger: each constituent's four-momentum one vector channel, a constant scalar channel,
    the output scalars summed over constituents → 2 logits."""

    def __init__(self, compile: bool):
        super().__init__()
        self.net = lgatr.LGATrSlim(
            num_blocks=4,
            in_v_channels=1,
            out_v_channels=1,
            hidden_v_channels=16,
            in_s_channels=1,
            out_s_channels=2,
            hidden_s_channels=32,
            num_heads=4,
            compile=compile,
        )

    def forward(self, p, mask):
        _, s = self.net(p[..., None, :] / 100.0, mask[..., None].to(p.dtype))
        return (s * mask[..., None].to(s.dtype)).sum(1)


def _models(mode):
    torch.manual_seed(0)
    return {"lgn": cc.LGN(compile=mode == "compiled"), "lgatr_slim": SlimTagger(compile=mode == "compiled")}


@pytest.mark.parametrize(("b", "n"), SIZES, ids=[f"B{b}-N{n}" for b, n in SIZES])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["lgn", "lgatr_slim"])
@pytest.mark.parametrize("backward", [False, True], ids=["forward", "forward_backward"])
def test_peer_throughput(benchmark, name, mode, backward, b, n, device):
    if device == "cpu" and (b, n) != (B, N) and not BIG_ON_CPU:
        pytest.skip(f"B = {b}, N = {n} on the CPU takes minutes per case: set CLARIANT_BENCH_BIG=1")
    model = _models(mode)[name].to(device)
    p, mask = random_jets(b, n, seed=1, dtype=torch.float32, min_particles=n)
    p, mask, label = p.to(device), mask.to(device), (torch.arange(b) % 2).to(device)

    def step():
        if backward:
            model.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(p, mask), label).backward()
        else:
            with torch.no_grad():
                model(p, mask)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    benchmark.pedantic(step, rounds=5 if not backward else 3, warmup_rounds=1)
    params = sum(t.numel() for t in model.parameters())
    benchmark.extra_info.update(model=name, mode=mode, jets=b, particles=n, parameters=params, device=device)
    benchmark.extra_info["jets_per_second"] = b / benchmark.stats.stats.min
