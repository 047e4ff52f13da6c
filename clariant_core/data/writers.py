"""Writers for both layouts, atomic (temporary file, then rename) and never overwriting unless asked."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from clariant_core.atomic import atomic_file
from clariant_core.data.layout import (
    ALL_COLUMNS,
    H5_LABEL,
    H5_NOBJ,
    H5_PMU,
    H5_TRUTH,
    MAX_CONSTITUENTS,
    PARTICLE_FIELDS,
    TABLE_KEY,
    particle_columns,
)


def _padded(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p)
    if p.ndim != 3 or p.shape[-1] != 4 or p.shape[1] > MAX_CONSTITUENTS:
        raise ValueError(f"p must be [jets, ≤{MAX_CONSTITUENTS}, 4], got {p.shape}")
    out = np.zeros((p.shape[0], MAX_CONSTITUENTS, 4), dtype=p.dtype)
    out[:, : p.shape[1]] = p
    return out


def _particle_arrays(particle: dict | None, n: int, width: int, dtype) -> dict[str, np.ndarray]:
    """Particle information `{field: [jets, ≤200]}` → `{field: [jets, 200]}` zero-padded, fields checked."""
    out = {}
    for name, values in (particle or {}).items():
        if name not in PARTICLE_FIELDS:
            raise ValueError(f"unknown particle-information field {name!r}; known: {sorted(PARTICLE_FIELDS)}")
        values = np.asarray(values)
        if values.shape != (n, width):
            raise ValueError(f"particle field {name!r} must be [{n}, {width}] like p, got {values.shape}")
        padded = np.zeros((n, MAX_CONSTITUENTS), dtype=dtype)
        padded[:, :width] = values
        out[name] = padded
    return out


def write_public_layout(
    path, p, label, truth=None, ttv: int = 0, *, particle=None, overwrite=False, dtype=np.float32
) -> Path:
    """The public top-tagging layout: pandas HDF5, key 'table' (PyTables table format, zlib-compressed), 806 columns,
    plus 200 columns per particle-information field (`Q_0 … Q_199` for charge; docs/data.md).

    p: `[jets, ≤200, 4]` pT-ordered, zero-padded; label: `[jets]` 0/1; truth: `[jets, 4]` or None (zeros);
    particle: `{field: [jets, ≤200]}` (same width as p) or None.
    """
    import pandas as pd

    path = Path(path)
    extra = _particle_arrays(particle, len(p), np.shape(p)[1], dtype)
    p = _padded(p).astype(dtype)
    n = p.shape[0]
    truth = np.zeros((n, 4), dtype) if truth is None else np.asarray(truth, dtype)
    label = np.asarray(label, dtype)
    if n == 0:
        raise ValueError(f"{path}: no jets to write (pandas writes nothing for an empty table)")
    if label.shape != (n,) or truth.shape != (n, 4):
        raise ValueError(f"label must be [{n}] and truth [{n}, 4], got {label.shape} and {truth.shape}")
    data = np.concatenate(
        [p.reshape(n, 4 * MAX_CONSTITUENTS), truth, np.full((n, 1), ttv, dtype), label[:, None], *extra.values()], 1
    )
    df = pd.DataFrame(data, columns=ALL_COLUMNS + [c for name in extra for c in particle_columns(name)])
    with atomic_file(path, overwrite=overwrite) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", category=pd.errors.PerformanceWarning)
        df.to_hdf(tmp, key=TABLE_KEY, format="table", complevel=9, complib="zlib", mode="w")
    return path


def write_h5py_layout(path, p, label, truth=None, *, particle=None, overwrite=False, dtype=np.float32) -> Path:
    """The layout of earlier Lorentz-network code: datasets Nobj [N], Pmu [N, 200, 4], is_signal [N], truth_Pmu,
    plus one dataset `[N, 200]` per particle-information field (`charge`, `pid`; docs/data.md)."""
    import h5py

    path = Path(path)
    extra = _particle_arrays(particle, len(p), np.shape(p)[1], dtype)
    p = _padded(p).astype(dtype)
    with atomic_file(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset(H5_NOBJ, data=(p[..., 0] > 0).sum(1).astype(np.int32))
        f.create_dataset(H5_PMU, data=p, compression="gzip")
        f.create_dataset(H5_LABEL, data=np.asarray(label, np.int32))
        if truth is not None:
            f.create_dataset(H5_TRUTH, data=np.asarray(truth, dtype))
        for name, values in extra.items():
            f.create_dataset(PARTICLE_FIELDS[name][1], data=values, compression="gzip")
    return path
