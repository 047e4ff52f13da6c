"""Data readers, writers, the embedded sample and the generator."""

import json

import h5py
import numpy as np
import pytest
import torch

from clariant.validate.strategies import random_jets
from clariant_core.data import SAMPLE_DIR, DataFormatError, JetFile, load, write_h5py_layout, write_public_layout
from clariant_core.data.inspect import jet_masses, summarize
from clariant_core.data.layout import ALL_COLUMNS


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


# --- particle information (docs/data.md) -----------------------------------------------------------------------


def _charges(p, mask, seed=0):
    rng = np.random.default_rng(seed)
    return np.where(mask, rng.integers(-1, 2, size=mask.shape), 0).astype(np.float32)


@pytest.mark.parametrize("writer", [write_public_layout, write_h5py_layout])
def test_particle_information_round_trip(tmp_path, writer):
    p, mask, label, truth = _jets()
    q = _charges(p, mask)
    pid = np.where(mask, 211, 0) * np.where(q != 0, np.sign(q), 1)
    f = JetFile(writer(tmp_path / "x.h5", p, label, truth, particle={"charge": q, "pid": pid}))
    assert f.particle_fields == ("charge", "pid")
    b = f.read()
    assert torch.equal(b.particle["charge"][:, :30], torch.from_numpy(q).double())
    assert torch.equal(b.particle["pid"][:, :30], torch.from_numpy(pid).double())
    assert (b.particle["charge"][:, 30:] == 0).all()
    # batches carry it, sliced like the momenta; load trims it like the momenta
    first = next(f.iter_batches(5))
    assert first.particle["charge"].shape == first.p.shape[:2]
    whole = load(f.path)
    assert whole.particle["charge"].shape == whole.mask.shape
    # without particle information: the field is absent
    g = JetFile(writer(tmp_path / "y.h5", p, label, truth))
    assert g.particle_fields == () and g.read().particle is None


def test_particle_columns_leave_the_public_layout_intact(tmp_path):
    """A reader that knows only the public columns sees the same data with or without the extension."""
    import pandas as pd

    p, mask, label, truth = _jets()
    a = write_public_layout(tmp_path / "a.h5", p, label, truth)
    b = write_public_layout(tmp_path / "b.h5", p, label, truth, particle={"charge": _charges(p, mask)})
    da, db = pd.read_hdf(a, "table"), pd.read_hdf(b, "table")
    assert list(db.columns[: len(ALL_COLUMNS)]) == ALL_COLUMNS
    assert da.equals(db[ALL_COLUMNS])
    assert torch.equal(JetFile(a).read().p, JetFile(b).read().p)


def test_bad_particle_information_is_refused_naming_the_field(tmp_path):
    p, mask, label, truth = _jets()
    q = _charges(p, mask)
    q[3, 2] = 0.5
    with pytest.raises(DataFormatError, match=r"particle field 'charge' \(Q\) of jet 3, constituent 2"):
        JetFile(write_public_layout(tmp_path / "a.h5", p, label, truth, particle={"charge": q})).read()
    q = _charges(p, mask)
    j, i = np.argwhere(~mask)[0]
    q[j, i] = 1
    with pytest.raises(DataFormatError, match=f"jet {j}, constituent {i} = 1 is not zero on a padding row"):
        JetFile(write_h5py_layout(tmp_path / "b.h5", p, label, truth, particle={"charge": q})).read()
    # a field with only some of its columns
    import pandas as pd

    path = write_public_layout(tmp_path / "c.h5", p, label, truth, particle={"charge": _charges(p, mask)})
    df = pd.read_hdf(path, "table").drop(columns=["Q_7"])
    df.to_hdf(tmp_path / "d.h5", key="table", format="table")
    with pytest.raises(DataFormatError, match="particle field 'charge' has 199 of its 200 columns"):
        JetFile(tmp_path / "d.h5")
    # an h5py dataset of the wrong shape, or of text
    path = write_h5py_layout(tmp_path / "e.h5", p, label, truth)
    with h5py.File(path, "a") as f:
        f.create_dataset("charge", data=np.zeros((3, 200)))
    with pytest.raises(DataFormatError, match="particle field 'charge' has shape"):
        JetFile(path)
    path = write_h5py_layout(tmp_path / "f.h5", p, label, truth)
    with h5py.File(path, "a") as f:
        f.create_dataset("pid", data=np.full((len(label), 200), b"pi"))
    with pytest.raises(DataFormatError, match="particle field 'pid'"):
        JetFile(path)


def test_particle_scalars():
    from clariant_core.data.particles import num_particle_scalars, particle_scalars

    q = torch.tensor([[1.0, -1.0, 0.0]])
    pid = torch.tensor([[211.0, -11.0, 22.0]])
    s = particle_scalars({"charge": q, "pid": pid}, ("charge", "pid"), torch.float32)
    assert s.shape == (1, 3, num_particle_scalars(("charge", "pid"))) and s.dtype == torch.float32
    assert s[0, :, :2].tolist() == [[1, 1], [-1, 1], [0, 0]]
    assert s[0, :, 2:].tolist() == [[0, 0, 0, 1, 0], [0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]
    with pytest.raises(ValueError, match="no particle field"):
        particle_scalars({"charge": q}, ("pid",), torch.float32)
    with pytest.raises(ValueError, match="particle fields must be"):
        num_particle_scalars(("spin",))


def test_generator_writes_top_jets_with_charges(tmp_path):
    pytest.importorskip("pythia8mc")
    from clariant_core.data.generate import generate_dataset

    generate_dataset(
        tmp_path, 10, seed=5, chunk_size=5, progress=False, process="top", val_fraction=0.2, test_fraction=0.2
    )
    b = JetFile(tmp_path / "train.h5").read()
    assert (b.label == 1).all() and b.particle is not None
    q = b.particle["charge"]
    assert set(q[b.mask].unique().tolist()) <= {-1.0, 0.0, 1.0} and (q[b.mask] != 0).any() and (q[~b.mask] == 0).all()
    m = (b.truth[:, 0] ** 2 - (b.truth[:, 1:] ** 2).sum(-1)).sqrt()
    assert ((m > 150) & (m < 200)).all()  # the matched top
