"""Untrusted data files run no code: pickles planted in HDF5 attributes and object columns are never unpickled.

Each planted pickle, if unpickled, creates a marker folder. The readers and every CLI command that reads data must
either read the jets correctly or refuse the file with a DataFormatError (exit 2) — and the marker must not exist.
"""

import os
import pickle
import shutil
import warnings

import h5py
import numpy as np
import pytest
import torch

from clariant import cli
from clariant_core.data import SAMPLE_DIR, DataFormatError, JetFile, write_h5py_layout
from clariant_core.data.layout import ALL_COLUMNS
from clariant_core.data.readers import pickled_strings


class _Plant:
    """Unpickling this creates the folder `marker` (a detectable side effect standing in for arbitrary code)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _payload(marker, protocol=0) -> bytes:
    return pickle.dumps(_Plant(marker), protocol=protocol)


def test_the_payload_is_live(tmp_path):
    """The planted pickles are real attacks: unpickling one (as PyTables does) runs it."""
    marker = tmp_path / "proof"
    pickle.loads(_payload(marker))
    assert marker.is_dir()


def _copy_sample(tmp_path, name="test.h5"):
    dst = tmp_path / name
    shutil.copyfile(SAMPLE_DIR / "test.h5", dst)
    return dst


def _plant_group_attr(path, marker, attr):
    with h5py.File(path, "r+") as f:
        f["table"].attrs[attr] = np.bytes_(_payload(marker))


def _plant_kind_attr(path, marker):
    with h5py.File(path, "r+") as f:
        f["table/table"].attrs["values_block_0_kind"] = np.bytes_(_payload(marker, protocol=2))


def _object_column(path, marker):
    import pandas as pd

    ref = JetFile(SAMPLE_DIR / "test.h5").read(0, 20)
    data = np.concatenate([ref.p.numpy().reshape(20, -1), ref.truth.numpy(), np.zeros((20, 1)), ref.label[:, None]], 1)
    df = pd.DataFrame(data, columns=ALL_COLUMNS)
    df["note"] = [_Plant(marker)] * 20  # pandas pickles objects into the file (fixed format)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df.to_hdf(path, key="table", format="fixed", mode="w")


def _object_pmu(path, marker):
    with h5py.File(path, "w") as f:
        f.create_dataset("Pmu", data=np.array([np.void(_payload(marker))] * 3))
        f["Nobj"] = np.array([1, 1, 1])
        f["is_signal"] = np.array([0, 1, 0])


def _vlen_pmu(path, marker):
    with h5py.File(path, "w") as f:
        dt = h5py.vlen_dtype(np.uint8)
        ds = f.create_dataset("Pmu", (3,), dtype=dt)
        for i in range(3):
            ds[i] = np.frombuffer(_payload(marker), dtype=np.uint8)
        f["Nobj"] = np.array([1, 1, 1])
        f["is_signal"] = np.array([0, 1, 0])


PLANTS = {
    # PyTables unpickles this attribute on opening the table: the reported attack (validate printed PASS)
    "non_index_axes attribute": lambda path, m: _plant_group_attr(
        _copy_sample(path.parent, path.name), m, "non_index_axes"
    ),
    "info attribute": lambda path, m: _plant_group_attr(_copy_sample(path.parent, path.name), m, "info"),
    "column-name attribute": lambda path, m: _plant_kind_attr(_copy_sample(path.parent, path.name), m),
    "object column": _object_column,
    "opaque Pmu": _object_pmu,
    "variable-length Pmu": _vlen_pmu,
}


@pytest.fixture(params=sorted(PLANTS))
def planted(request, tmp_path):
    marker = tmp_path / "marker-created-by-unpickling"
    path = tmp_path / "planted" / "test.h5"
    path.parent.mkdir()
    PLANTS[request.param](path, marker)
    assert not marker.exists()
    return request.param, path, marker


def _correct_or_refused(path):
    """The file reads as the sample does, or is refused with a DataFormatError; returns which."""
    try:
        b = JetFile(path).read()
    except DataFormatError:
        return "refused"
    ref = JetFile(SAMPLE_DIR / "test.h5").read(0, len(b.label))
    assert torch.equal(b.p, ref.p) and torch.equal(b.label, ref.label)
    return "read"


def test_readers_never_unpickle(planted):
    name, path, marker = planted
    outcome = _correct_or_refused(path)
    assert not marker.exists()
    if name in ("column-name attribute", "object column", "opaque Pmu", "variable-length Pmu"):
        assert outcome == "refused"  # the data itself depends on the pickle: nothing to read safely
    else:
        assert outcome == "read"  # metadata we never need is simply not looked at


def _cli(argv, capsys):
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, err


def test_cli_commands_never_unpickle(planted, tmp_path, capsys):
    name, path, marker = planted
    expected = 0 if _correct_or_refused(path) == "read" else 2
    code, err = _cli(["data", "inspect", str(path)], capsys)
    assert (code, marker.exists()) == (expected, False), err
    if expected == 2:
        assert err.startswith("clariant: error: ") and str(path) in err and "Traceback" not in err
    code, err = _cli(
        ["validate", "--data", str(path), "--jets", "4", "--dtype", "float64", "--rapidities", "1", "--axes", "z"]
        + ["--out", str(tmp_path / "report")],
        capsys,
    )
    assert not marker.exists()
    assert code == expected or (expected == 0 and code in (0, 1)), err
    if expected == 2:
        assert not (tmp_path / "report").exists()  # refused before any work


def test_train_never_unpickles_a_planted_split(tmp_path, capsys):
    marker = tmp_path / "marker"
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(SAMPLE_DIR / "train.h5", data / "train.h5")
    shutil.copyfile(SAMPLE_DIR / "test.h5", data / "test.h5")
    shutil.copyfile(SAMPLE_DIR / "val.h5", data / "val.h5")
    _plant_kind_attr(data / "val.h5", marker)
    args = ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--model", "pfn", "--epochs", "1", "--quiet"]
    code, err = _cli(args, capsys)
    assert (code, marker.exists()) == (2, False)
    assert "val.h5" in err and "would run code" in err
    assert not (tmp_path / "run" / "best.pt").exists()  # refused before training


def test_pickled_strings_parses_names_and_refuses_code():
    assert pickled_strings(pickle.dumps(["E_0", "PX_0"], protocol=0), "x") == ["E_0", "PX_0"]
    assert pickled_strings(pickle.dumps([(1, ["a", "b"])], protocol=4), "x") == ["a", "b"]
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(DataFormatError, match="would run code"):
            pickled_strings(pickle.dumps(_Plant("/nonexistent/never"), protocol=protocol), "attr")
    with pytest.raises(DataFormatError, match="not a well-formed pickle"):
        pickled_strings(b"(lp0\nVE_0\n", "attr")


def test_h5py_layout_with_links_elsewhere_is_refused(tmp_path):
    p = np.zeros((2, 3, 4), np.float32)
    p[:, 0] = [100.0, 0.0, 0.0, 100.0]
    other = write_h5py_layout(tmp_path / "other.h5", p, np.array([0, 1]))
    with h5py.File(tmp_path / "link.h5", "w") as f:
        f["Pmu"] = h5py.ExternalLink(str(other), "Pmu")
        f["Nobj"] = np.array([1, 1])
        f["is_signal"] = np.array([0, 1])
    with pytest.raises(DataFormatError, match="ExternalLink"):
        JetFile(tmp_path / "link.h5")


def test_a_checkpoint_carrying_code_is_refused_without_running_it_or_advising_to(tmp_path, capsys):
    import torch

    from clariant import cli

    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    torch.save({"format": "clariant-checkpoint-1", "payload": _Plant(marker)}, path)
    assert cli.main(["validate", "--checkpoint", str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert not marker.exists()
    assert "refers to Python objects (os.makedirs)" in err and "weights_only" not in err and err.count("\n") == 1
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:100])
    assert cli.main(["validate", "--checkpoint", str(tmp_path / "cut.pt"), "--out", str(tmp_path / "r")]) == 2
    assert "truncated, corrupt or not a torch checkpoint" in capsys.readouterr().err
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.pt").write_bytes(b"")
    assert cli.main(["validate", "--checkpoint", str(run), "--out", str(tmp_path / "r")]) == 2
    assert f"is a folder, not a checkpoint file: give {run / 'best.pt'}" in capsys.readouterr().err
