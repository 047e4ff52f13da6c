"""The validation sweep (4 dtypes × 10 rapidities × 3 axes + 8 oblique and 4 z rotations on 256 jets of the embedded
sample, default (shipped) LGN, floor included), and `clariant validate` as a user runs it (in-process: the sweep with
the random group elements, the properties, attribution, Schur checks and the report)."""

import pytest
import torch

from clariant.cli import main
from clariant.validate import attribute, judge, report, sweep
from clariant.validate.workers import POOL_ENV, workers_for
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


def _default_jets(n=256):
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float64)
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, n)
    width = int(b.mask.sum(1).max())
    return model, b.p[:, :width], b.mask[:, :width]


@pytest.mark.parametrize("trim", [False, True], ids=["padded", "trimmed"])
def test_attribution(benchmark, trim):
    """Per-layer attribution of the default LGN on 256 sample jets, at the full width or trimmed (the report's)."""
    model, p, mask = _default_jets()
    result = benchmark.pedantic(attribute, args=(model, p, mask), kwargs=dict(trim_padding=trim), rounds=3)
    benchmark.extra_info.update(jets=256, width=int(p.shape[1]), trim_padding=trim)
    assert result.first_broken is None


@pytest.mark.parametrize("pool", ["threads", "auto"], ids=["one-after-another", "forked"])
def test_report_write(benchmark, tmp_path, pool, monkeypatch):
    """Writing the report of `clariant validate` (10 figures, the page, report.json) from a measured result: the
    default LGN on 64 sample jets (the figures' cost does not depend on the jets); the figures drawn one after the
    other in this process (`CLARIANT_EVAL_POOL=threads`) or by the workers' forked processes (the default)."""
    model, p, mask = _default_jets(64)
    result = report.run(model, p, mask)
    monkeypatch.setenv(POOL_ENV, pool)
    runs = iter(range(10**6))
    benchmark.pedantic(lambda: report.write(result, tmp_path / f"report{next(runs)}"), rounds=5)
    benchmark.extra_info.update(
        figures=len(list((tmp_path / "report0").glob("*.png"))), pool=pool, workers=workers_for("cpu")
    )
