"""The report section and the shipped LGN's properties (a few jets, so the test stays quick)."""

import json

import pytest
import torch

from clariant.validate import logaxes
from clariant.validate.properties import (
    PropertyVerdict,
    check_collinear,
    check_infrared,
    check_padding,
    check_parity,
    check_permutation,
    run_all,
    summary,
)
from clariant.validate.properties.evaluate import Context
from clariant.validate.properties.report import page, section, to_json
from clariant.validate.strategies import random_jets
from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import load_checkpoint


def count(p, mask):
    return mask.to(p.dtype).sum(1, keepdim=True)


def test_section_writes_figures_and_tables(tmp_path):
    p, mask = random_jets(8, 10, seed=0, min_particles=4)
    results = run_all(count, p, mask, train_width=20)
    html = section(results, tmp_path)
    for name in ("permutation", "padding", "infrared", "collinear", "parity"):
        assert f"<h3>{name}: " in html
    pngs = sorted(x.name for x in tmp_path.glob("*.png"))
    assert "properties_infrared_scan.png" in pngs and "properties_collinear_splits.png" in pngs
    for png in pngs:
        assert f"src='{png}'" in html and (tmp_path / png).stat().st_size > 10_000
    assert "UNSAFE" in html and "nan" not in html.lower().replace("nanmedian", "")
    json.dumps(to_json(results))  # plain data
    assert page(results, tmp_path).exists()
    assert summary(results).splitlines()[2].startswith("infrared: UNSAFE")
    # the legends under the scan panels carry each curve's verdict (read back from the PNG)
    legend = logaxes.read_text(tmp_path / "properties_infrared_scan.png", "Legend")
    for s in results["infrared"].scans:  # with the tail power the verdict reads
        how = f"tail power {s.tail_power:.2f}" if s.tail_power is not None else "reaches the floor"
        assert f"{s.check} | {s.dtype}: {s.verdict} ({how})" in legend, (s.check, legend)
    # counting particles is exactly permutation invariant: every p95 change is exactly 0, marked on the strip (one
    # mark per row, at the row's place), none drawn on the log axis at a stand-in value
    rows = results["permutation"].rows
    assert all(r.change_p95 == 0 for r in rows)
    marks = logaxes.read_text(tmp_path / "properties_permutation.png", "Marks")
    assert len([m for m in marks if " | zero | " in m]) == len(rows)
    assert "left strip: exactly 0" in logaxes.read_text(tmp_path / "properties_permutation.png", "Legend")
    assert html.count("<figcaption>") == len(pngs)


@pytest.fixture(scope="module")
def lgn_results():
    """The shipped LGN on 12 test jets, on coarse grids (run_all's full grids take a minute here)."""
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float64)
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 12, dtype=torch.float64)
    width = int(b.mask.sum(1).max())
    ctx = Context.make(model, b.p[:, :width], b.mask[:, :width], draws=1)
    coarse = [1e-1, 1e-3, 1e-5, 1e-6, 1e-7]
    return {
        "permutation": check_permutation(ctx, None, None, kinds=("reversed", "random")),
        "padding": check_padding(ctx, None, None, extra=(6,), train_width=width + 10),
        "infrared": check_infrared(ctx, None, None, fractions=coarse, directions=("any direction",)),
        "collinear": check_collinear(ctx, None, None, splits=(0.5,), angles=coarse),
        "parity": check_parity(ctx, None, None),
    }


def test_shipped_lgn_properties(lgn_results):
    """As measured on 256 jets (README, "Beyond Lorentz"): permutation and padding invariant to the floor, IR and
    collinear unsafe (a plateau), parity neither even nor odd in float64 (a small parity-odd part)."""
    r = lgn_results
    assert r["permutation"].verdict == PropertyVerdict.PASS
    assert r["padding"].verdict == PropertyVerdict.PASS
    assert r["infrared"].verdict == PropertyVerdict.UNSAFE
    assert r["collinear"].verdict == PropertyVerdict.UNSAFE
    assert r["parity"].by_dtype["float64"] == PropertyVerdict.NEITHER
    odd = next(x for x in r["parity"].rows if x.dtype == "float64" and x.check == "f(Px) − f(x)")
    assert 1e-9 < odd.change_median < 1e-3  # small but far above float64's floor
