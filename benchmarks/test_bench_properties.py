"""The property checks of issue 12 (permutation, padding, infrared, collinear, parity; float64 and float32) on 256
jets of the embedded sample, default (shipped) LGN — to compare with the Lorentz sweep (test_bench_validate.py)."""

import torch

from clariant.validate.properties import PropertyVerdict, run_all
from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import load_checkpoint


def test_property_checks(benchmark):
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float64)
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 256)
    width = int(b.mask.sum(1).max())
    p, mask = b.p[:, :width], b.mask[:, :width]
    results = benchmark.pedantic(run_all, args=(model, p, mask), rounds=1, iterations=1)
    benchmark.extra_info.update(jets=256, scan_jets=64, dtypes=2, seconds={k: r.seconds for k, r in results.items()})
    assert results["permutation"].verdict == PropertyVerdict.PASS and results["padding"].verdict == PropertyVerdict.PASS
