"""The validation sweep (4 dtypes × 10 rapidities × 3 axes + 8 oblique and 4 z rotations on 256 jets of the embedded
sample, default (shipped) LGN, floor included), and `clariant validate` as a user runs it (in-process: the sweep with
the random group elements, the properties, attribution, Schur checks and the report)."""

import torch

from clariant.cli import main
from clariant.validate import judge, sweep
from clariant.validate.workers import workers_for
from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import load_checkpoint


def test_full_validation_sweep(benchmark):
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float64)
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 256)
    width = int(b.mask.sum(1).max())
    p, mask = b.p[:, :width], b.mask[:, :width]
    result = benchmark.pedantic(
        sweep, args=(model, p, mask), kwargs=dict(n_rapidities=10, n_angles=8), rounds=1, iterations=1
    )
    benchmark.extra_info.update(jets=256, transforms=len(result.points), dtypes=4, workers=workers_for("cpu"))
    assert judge(result).verdict == "PASS"


def test_clariant_validate(benchmark, tmp_path):
    codes = []
    benchmark.pedantic(
        lambda: codes.append(main(["validate", "--out", str(tmp_path / "report")])), rounds=1, iterations=1
    )
    benchmark.extra_info.update(jets=256, workers=workers_for("cpu"))
    assert codes == [0] and (tmp_path / "report" / "index.html").exists()
