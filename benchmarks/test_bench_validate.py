"""The validation sweep: 4 dtypes × 10 rapidities × 3 axes + 8 oblique and 4 z rotations on 256 jets of the embedded
sample, default (shipped) LGN, floor included."""

import torch

from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import load_checkpoint
from validate import judge, sweep


def test_full_validation_sweep(benchmark):
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float64)
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 256)
    width = int(b.mask.sum(1).max())
    p, mask = b.p[:, :width], b.mask[:, :width]
    result = benchmark.pedantic(
        sweep, args=(model, p, mask), kwargs=dict(n_rapidities=10, n_angles=8), rounds=1, iterations=1
    )
    benchmark.extra_info.update(jets=256, transforms=len(result.points), dtypes=4)
    assert judge(result).verdict == "PASS"
