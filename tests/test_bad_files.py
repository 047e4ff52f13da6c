"""Bad data, units and locations fail early and clearly: the file, jet and field named, exit 2, no traceback."""

import json

import h5py
import numpy as np
import pytest
import torch

from clariant import cli
from clariant.validate.strategies import random_jets
from clariant_core.data import SAMPLE_DIR, DataFormatError, JetFile, write_h5py_layout
from clariant_core.group.lorentz import boost, max_rapidity, random_sl2c, sl2c, to_so13


def _jets(n=6, seed=0):
    p, _ = random_jets(n, 10, seed=seed, dtype=torch.float64)
    return p.numpy(), np.arange(n) % 2


def _h5py(path, **datasets):
    p, label = _jets()
    base = {"Pmu": p, "Nobj": (p[..., 0] > 0).sum(1), "is_signal": label}
    base.update(datasets)
    with h5py.File(path, "w") as f:
        for k, v in base.items():
            if isinstance(v, dict):
                g = f.create_group(k)
                for kk, vv in v.items():
                    g[kk] = vv
            else:
                f[k] = v
    return path


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(Pmu=_jets()[0] * (1 + 1j)), "'Pmu' holds complex numbers"),
        (dict(Pmu=_jets()[0].astype("S8")), r"'Pmu' holds \|S8 values"),
        (dict(Pmu={"E": np.zeros(3)}), "'Pmu' is a group, expected a dataset"),
        (dict(is_signal=np.array(["a"] * 6, dtype="S1")), "'is_signal' holds"),
    ],
)
def test_h5py_layout_dtypes_are_checked_on_opening(tmp_path, change, match):
    with pytest.raises(DataFormatError, match=match):
        JetFile(_h5py(tmp_path / "x.h5", **change))


def test_nobj_must_be_an_integer_that_counts_the_rows(tmp_path):
    p, label = _jets()
    n = (p[..., 0] > 0).sum(1)
    with pytest.raises(DataFormatError, match=r"jet 2 has Nobj = 2.5, not an integer"):
        JetFile(_h5py(tmp_path / "a.h5", Nobj=np.where(np.arange(6) == 2, 2.5, n))).read()
    short = n.copy()
    short[3] -= 1
    with pytest.raises(DataFormatError, match=rf"jet 3 has Nobj = {short[3]} but constituent {short[3]}'s row is not"):
        JetFile(_h5py(tmp_path / "b.h5", Nobj=short)).read()
    long = n.copy()
    long[4] = min(long[4] + 1, 10)
    if long[4] > n[4]:
        with pytest.raises(DataFormatError, match=r"jet 4 .* is all zero"):
            JetFile(_h5py(tmp_path / "c.h5", Nobj=long)).read()
    assert JetFile(_h5py(tmp_path / "d.h5", Nobj=n.astype(np.float32))).read().mask.sum() == n.sum()


def test_spacelike_constituents_are_refused(tmp_path):
    p, label = _jets()
    p[1, 0, 3] = 1.5 * p[1, 0, 0]  # |p| > E
    with pytest.raises(DataFormatError, match=r"jet 1, constituent 0 is spacelike"):
        JetFile(write_h5py_layout(tmp_path / "s.h5", p, label)).read()
    # massless constituents rounded to float32 (|p| − E within rounding) are fine: the embedded sample — and the same
    # float32 values saved as float64, as numpy pipelines often do
    JetFile(SAMPLE_DIR / "train.h5").label_counts()
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 32)
    n = b.mask.sum(1).numpy()
    p64 = np.zeros((32, 200, 4))
    for j in range(32):
        p64[j, : n[j]] = b.p[j, : n[j]].numpy().astype(np.float32)
    upcast = write_h5py_layout(tmp_path / "upcast.h5", p64, b.label.numpy(), dtype=np.float64)
    assert int(JetFile(upcast).read().mask.sum()) == int(n.sum())


def test_float16_storage_reaches_the_validation_suite(tmp_path):
    """Massless constituents stored as float16 lie up to ~2u₁₆ outside the light cone: the reader accepts them to
    that rounding and hands them on lifted to E = |p⃗|, so the suite's input check (held to float32's rounding)
    takes them; a real spacelike particle is still refused."""
    from clariant.validate.evaluation import check_jets

    b = JetFile(SAMPLE_DIR / "test.h5").read(0, 16)
    n = b.mask.sum(1).numpy()
    p16 = np.zeros((16, 200, 4), dtype=np.float16)
    for j in range(16):
        p16[j, : n[j]] = b.p[j, : n[j]].numpy().astype(np.float16)
    raw = p16.astype(np.float64)
    three = np.sqrt((raw[..., 1:] ** 2).sum(-1))
    assert (three > raw[..., 0] * (1 + 1e-6)).any()  # the rounding really puts some outside the light cone
    path = write_h5py_layout(tmp_path / "half.h5", p16, b.label.numpy(), dtype=np.float16)
    got = JetFile(path).read()
    check_jets(got.p, got.mask)
    e, p3 = got.p[..., 0], torch.linalg.vector_norm(got.p[..., 1:], dim=-1)
    assert torch.equal(got.p[..., 1:], torch.from_numpy(raw[..., 1:]))  # only E moves, and only upwards
    assert (e >= p3).all() and (e >= torch.from_numpy(raw[..., 0])).all()
    p16[3, 0, 3] = 1.5 * p16[3, 0, 0]
    with pytest.raises(DataFormatError, match=r"jet 3, constituent 0 is spacelike"):
        JetFile(write_h5py_layout(tmp_path / "bad16.h5", p16, b.label.numpy(), dtype=np.float16)).read()


def test_energy_stored_last_gets_the_column_order_hint(tmp_path):
    p, label = _jets()
    swapped = np.concatenate([p[..., 1:], p[..., :1]], -1)  # (px, py, pz, E)
    swapped[..., :3] = np.where(swapped[..., 3:] > 0, swapped[..., :3], 0.0)
    swapped[0, 0, 0] = -abs(swapped[0, 0, 0]) - 1  # a negative px lands where E belongs
    with pytest.raises(DataFormatError, match=r"negative energy .* is the energy stored last, \(px, py, pz, E\)\?"):
        JetFile(write_h5py_layout(tmp_path / "order.h5", swapped, label, dtype=np.float64)).read()


@pytest.mark.parametrize("factor,unit", [(1e3, "MeV"), (1e9, "eV"), (1e-170, "too small")])
def test_momenta_in_other_units_are_named(tmp_path, factor, unit, capsys):
    p, label = _jets()
    path = write_h5py_layout(tmp_path / "u.h5", p * factor, label, dtype=np.float64)
    with pytest.raises(DataFormatError, match=rf"jet 0 has energy .* the momenta must be in GeV; .*{unit}"):
        JetFile(path).read()
    assert cli.main(["data", "inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert "u.h5" in err and "GeV" in err and err.count("\n") == 1


def test_cli_bad_data_exit_2_before_work(tmp_path, capsys):
    (tmp_path / "text.h5").write_text("not hdf5")
    for argv in (
        ["data", "inspect", str(tmp_path / "text.h5")],
        ["validate", "--data", str(tmp_path / "text.h5"), "--out", str(tmp_path / "r")],
        ["validate", "--data", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "r")],
    ):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("clariant: error: ") and ".h5" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_validate_refuses_unusable_out_before_the_sweep(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert cli.main(["validate", "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
    mine = tmp_path / "mine"
    (mine / "report.json").mkdir(parents=True)  # a folder where report.json goes
    assert cli.main(["validate", "--out", str(mine)]) == 2
    assert "holds report.json/, which no previous report wrote" in capsys.readouterr().err  # not a previous report
    assert [x.name for x in mine.iterdir()] == ["report.json"]


def test_validate_jets_bounded_by_memory(tmp_path, capsys, monkeypatch):
    import clariant_core.resources as res

    monkeypatch.setattr(res, "available_memory", lambda: 1 << 30)  # a machine with 1 GB free (the sweep needs ~1.3)
    assert cli.main(["validate", "--jets", "600", "--out", str(tmp_path / "r")]) == 2
    assert "choose fewer --jets" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_generate_checks_before_generating(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert cli.main(["data", "generate", "--out", str(tmp_path / "file"), "--jets", "4"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert cli.main(["data", "generate", "--out", str(tmp_path / "g"), "--jets", "2"]) == 2
    assert "leave a split empty" in capsys.readouterr().err
    assert cli.main(["data", "generate", "--out", str(tmp_path / "g"), "--workers", "100000"]) == 2
    assert "CPU cores" in capsys.readouterr().err
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "generation.json").write_text(json.dumps({"seed": 1}))
    assert cli.main(["data", "generate", "--out", str(tmp_path / "g"), "--jets", "20"]) == 2
    err = capsys.readouterr().err
    assert "generation.json" in err and "--overwrite" in err
    assert json.loads((tmp_path / "g" / "generation.json").read_text()) == {"seed": 1}


# --- group functions at rapidities the dtype cannot represent ------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rapidities_beyond_the_dtype_raise(dtype):
    ymax = max_rapidity(dtype)
    assert ymax == pytest.approx(np.log(torch.finfo(dtype).max / 4))
    inside = torch.tensor(0.999 * ymax, dtype=dtype)
    assert torch.isfinite(boost((0, 0, 1), inside, dtype=dtype)).all()
    assert torch.isfinite(to_so13(sl2c(boost=torch.stack([0 * inside, 0 * inside, inside])))).all()
    beyond = torch.tensor(1.01 * ymax, dtype=dtype)
    with pytest.raises(ValueError, match="cannot be represented"):
        boost((0, 0, 1), beyond, dtype=dtype)
    with pytest.raises(ValueError, match="cannot be represented"):
        sl2c(boost=torch.stack([0 * beyond, 0 * beyond, beyond]))
    with pytest.raises(ValueError, match="cannot be represented"):
        random_sl2c(3, max_rapidity=1.01 * ymax, dtype=dtype)


def test_a_float64_boost_rounded_to_float32_is_refused_by_to_so13():
    m = sl2c(boost=[0.0, 0.0, 89.0]).to(torch.complex64)  # representable in float64, not in float32
    with pytest.raises(ValueError, match=r"rapidity ≈ 89, beyond the \|y\| ≤ 87.3"):
        to_so13(m)


def test_irrep_matrix_bounds():
    from clariant_core.group.irreps import Irrep
    from clariant_core.resources import ResourceError

    m = sl2c(boost=[0.0, 0.0, 1.0])
    with pytest.raises(ResourceError, match="more than this machine can hold"):
        Irrep(10**6, 0).matrix(m)
    with pytest.raises(ValueError, match="beyond what torch.complex64 can represent"):
        Irrep(4, 4).matrix(sl2c(boost=[0.0, 0.0, 60.0]).to(torch.complex64))
