"""Data readers, writers, the embedded sample and the generator."""

import json

import h5py
import numpy as np
import pytest
import torch

from clariant_core.data import SAMPLE_DIR, DataFormatError, JetFile, load, write_h5py_layout, write_public_layout
from clariant_core.data.inspect import jet_masses, summarize
from clariant_core.data.layout import ALL_COLUMNS
from validate.strategies import random_jets


def _jets(n=12, seed=0):
    p, mask = random_jets(n, 30, seed=seed, dtype=torch.float64)
    label = np.arange(n) % 2
    truth = np.where(label[:, None] == 1, np.array([[800.0, 500.0, 0.0, 300.0]]), 0.0)
    return p.numpy().astype(np.float32), mask.numpy(), label, truth


def test_public_layout_roundtrip(tmp_path):
    p, mask, label, truth = _jets()
    path = write_public_layout(tmp_path / "train.h5", p, label, truth)
    import pandas as pd

    df = pd.read_hdf(path, "table")
    assert list(df.columns) == ALL_COLUMNS and len(ALL_COLUMNS) == 806
    f = JetFile(path)
    assert f.layout == "table" and len(f) == 12
    b = f.read(dtype=torch.float32)
    assert b.p.dtype == torch.float32 and b.p.shape == (12, 200, 4)
    assert torch.equal(b.p[:, :30], torch.from_numpy(p)) and torch.equal(b.mask[:, :30], torch.from_numpy(mask))
    assert torch.equal(b.label, torch.from_numpy(label)) and b.truth is not None
    batches = list(f.iter_batches(5, chunk_size=7))  # chunk boundaries not aligned with batches
    assert [len(x.label) for x in batches] == [5, 5, 2]
    assert torch.equal(torch.cat([x.p for x in batches]), f.read().p)
    small = load(path)
    assert small.p.shape[1] == int(mask.sum(1).max())


def test_h5py_layout_roundtrip(tmp_path):
    p, mask, label, truth = _jets(seed=1)
    path = write_h5py_layout(tmp_path / "x.h5", p, label, truth)
    f = JetFile(path)
    assert f.layout == "h5py" and f.has_truth
    b = f.read(max_particles=30)
    assert torch.equal(b.p.float(), torch.from_numpy(p)) and torch.equal(b.mask, torch.from_numpy(mask))


def test_writers_never_overwrite(tmp_path):
    p, _, label, _ = _jets()
    path = write_public_layout(tmp_path / "a.h5", p, label)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="exists"):
        write_public_layout(path, p[:2], label[:2])
    assert path.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.h5"]  # no temporary file left behind


def test_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(DataFormatError, match="does not exist"):
        JetFile(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("E_0,PX_0\n1,2\n")
    with pytest.raises(DataFormatError, match="not an HDF5 file"):
        JetFile(tmp_path / "text.h5")
    p, _, label, _ = _jets()
    good = write_public_layout(tmp_path / "good.h5", p, label)
    data = good.read_bytes()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataFormatError):
        JetFile(tmp_path / "trunc.h5").read()
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["images"] = np.zeros((3, 8, 8))
    with pytest.raises(DataFormatError, match="unknown layout"):
        JetFile(tmp_path / "other.h5")
    with h5py.File(tmp_path / "partial.h5", "w") as f:
        f["Pmu"] = np.zeros((3, 10, 4))
    with pytest.raises(DataFormatError, match=r"lacks dataset\(s\) \['Nobj', 'is_signal'\]"):
        JetFile(tmp_path / "partial.h5")


def test_wrong_columns_and_too_many_constituents(tmp_path):
    import pandas as pd

    pd.DataFrame({"E_0": [1.0], "is_signal_new": [1.0]}).to_hdf(tmp_path / "few.h5", key="table", format="table")
    with pytest.raises(DataFormatError, match="lacks 799 required column"):
        JetFile(tmp_path / "few.h5")
    cols = {c: [0.0] for c in ALL_COLUMNS}
    cols.update({"E_200": [0.0], "PX_200": [0.0], "PY_200": [0.0], "PZ_200": [0.0]})
    pd.DataFrame(cols).to_hdf(tmp_path / "wide.h5", key="table", format="table")
    with pytest.raises(DataFormatError, match="more than 200 constituents"):
        JetFile(tmp_path / "wide.h5")
    with h5py.File(tmp_path / "wide2.h5", "w") as f:
        f["Pmu"] = np.zeros((2, 201, 4))
        f["Nobj"] = np.array([1, 1])
        f["is_signal"] = np.array([0, 1])
    with pytest.raises(DataFormatError, match="201 constituents per jet, more than the layout's 200"):
        JetFile(tmp_path / "wide2.h5")


@pytest.mark.parametrize(
    "value,component,match",
    [
        (float("nan"), 2, r"NaN in jet 3, constituent 1, component py"),
        (float("inf"), 0, "inf in jet 3"),
        (-5.0, 0, r"negative energy -5 GeV in jet 3, constituent 1"),
    ],
)
def test_bad_values_name_the_jet(tmp_path, value, component, match):
    p, _, label, _ = _jets()
    p[3, 1, component] = value
    f = JetFile(write_h5py_layout(tmp_path / "bad.h5", p, label))
    with pytest.raises(DataFormatError, match=match):
        f.read()
    with pytest.raises(DataFormatError, match="jet 3"):
        list(f.iter_batches(2, chunk_size=2))  # found in the chunk that holds it, with the file index


def test_empty_jet_and_bad_label(tmp_path):
    p, _, label, _ = _jets()
    p[5] = 0
    with pytest.raises(DataFormatError, match="jet 5 has no constituents"):
        JetFile(write_public_layout(tmp_path / "e.h5", p, label)).read()
    p, _, label, _ = _jets()
    label = label.copy()
    label[2] = 7
    with pytest.raises(DataFormatError, match="label 7"):
        JetFile(write_h5py_layout(tmp_path / "l.h5", p, label)).read()


def test_embedded_sample_is_physical():
    record = json.loads((SAMPLE_DIR / "generation.json").read_text())
    assert record["seed"] == 2026 and record["command"].startswith("clariant data generate")
    sizes = {name: len(JetFile(SAMPLE_DIR / f"{name}.h5")) for name in ("train", "val", "test")}
    assert sum(sizes.values()) == record["report"]["jets"] == 4000
    s = summarize(SAMPLE_DIR / "train.h5")
    assert 0.4 < s["signal_fraction"] < 0.6
    assert 160 <= s["top"]["mass_median"] <= 185  # top mass peak
    assert s["qcd"]["mass_median"] < 100 and s["qcd"]["mass_peak_bin"][1] <= 100  # QCD falls
    assert 35 <= s["mean_constituents"] <= 65


def test_jet_mass():
    p = torch.tensor([[[10.0, 0, 0, 10.0], [10.0, 0, 0, -10.0], [0, 0, 0, 0]]])
    assert torch.allclose(jet_masses(p, p[..., 0] > 0), torch.tensor([20.0]))


def test_generator_is_reproducible_and_worker_independent(tmp_path):
    pytest.importorskip("pythia8mc")
    from clariant_core.data.generate import generate_dataset

    r1 = generate_dataset(tmp_path / "a", 16, seed=5, workers=1, chunk_size=4, progress=False)
    generate_dataset(tmp_path / "b", 16, seed=5, workers=2, chunk_size=4, progress=False)
    generate_dataset(tmp_path / "c", 16, seed=6, workers=1, chunk_size=4, progress=False)
    a, b, c = (JetFile(tmp_path / x / "train.h5").read() for x in "abc")
    assert torch.equal(a.p, b.p) and torch.equal(a.label, b.label)
    assert not torch.equal(a.p, c.p)
    assert r1.events_tried["top"] >= 8 and r1.events_tried["qcd"] >= 8
    # massless constituents, pT-ordered, jets in the window
    pt = torch.hypot(a.p[..., 1], a.p[..., 2])
    assert (pt[:, :-1] >= pt[:, 1:]).all()
    m2 = a.p[..., 0] ** 2 - (a.p[..., 1:] ** 2).sum(-1)
    assert (m2[a.mask].abs() <= 1e-3 * a.p[..., 0][a.mask] ** 2).all()
    jet = a.p.sum(1)
    assert ((torch.hypot(jet[:, 1], jet[:, 2]) > 500) & (torch.hypot(jet[:, 1], jet[:, 2]) < 700)).all()
    with pytest.raises(FileExistsError):
        generate_dataset(tmp_path / "a", 16, seed=5, progress=False)
