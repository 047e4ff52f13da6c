"""Readers for top-tagging jets: the public pandas-HDF5 layout and the h5py `Nobj/Pmu/is_signal` layout.

`JetFile(path)` opens a file, detects its layout and validates it; `iter_batches` yields `(p, mask, label)` batches
read chunk by chunk, so nothing loads the whole file unless asked (`load`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .layout import (
    H5_LABEL,
    H5_NOBJ,
    H5_PMU,
    H5_TRUTH,
    LABEL_COLUMN,
    MAX_CONSTITUENTS,
    MOMENTUM_COLUMNS,
    TABLE_KEY,
    TRUTH_COLUMNS,
)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class DataFormatError(ValueError):
    """A data file is missing, corrupt, of the wrong layout, or holds unphysical values."""


@dataclass
class Batch:
    p: torch.Tensor  # [B, N, 4] (E, px, py, pz) GeV
    mask: torch.Tensor  # [B, N] bool
    label: torch.Tensor  # [B] int64, 1 = top
    truth: torch.Tensor | None = None  # [B, 4] matched top four-momentum (zeros for QCD), when the file has it


def _check_hdf5(path: Path) -> None:
    if not path.exists():
        raise DataFormatError(f"data file {path} does not exist")
    if not path.is_file():
        raise DataFormatError(f"{path} is not a file")
    with path.open("rb") as f:
        head = f.read(8)
    # HDF5 files may carry a user block; the signature then sits at 512, 1024, …
    if head != HDF5_SIGNATURE:
        with path.open("rb") as f:
            size = path.stat().st_size
            offsets = [512 * 2**k for k in range(0, 20) if 512 * 2**k + 8 <= size]
            for off in offsets:
                f.seek(off)
                if f.read(8) == HDF5_SIGNATURE:
                    return
        raise DataFormatError(f"{path} is not an HDF5 file (no HDF5 signature): corrupt or of another format")


class JetFile:
    """One top-tagging file. `layout` is "table" (public pandas layout) or "h5py" (Nobj/Pmu/is_signal).

    Construction validates the layout (columns or datasets, constituent count ≤ 200); values are validated per chunk
    as they are read (NaN/inf, negative energy), with errors naming the jet index in the file.
    """

    def __init__(self, path):
        self.path = Path(path)
        _check_hdf5(self.path)
        import h5py

        try:
            with h5py.File(self.path, "r") as f:
                keys = set(f.keys())
                if TABLE_KEY in keys:
                    self.layout = "table"
                elif H5_PMU in keys:
                    self.layout = "h5py"
                    self._check_h5py(f)
                else:
                    raise DataFormatError(
                        f"{self.path}: unknown layout — expected a pandas key '{TABLE_KEY}' (public top-tagging "
                        f"layout) or datasets '{H5_PMU}', '{H5_NOBJ}', '{H5_LABEL}'; found {sorted(keys)}"
                    )
        except OSError as e:
            raise DataFormatError(f"{self.path}: cannot be read as HDF5 ({e})") from None
        if self.layout == "table":
            self._check_table()

    # --- layout checks -------------------------------------------------------------------------------------------
    def _check_h5py(self, f) -> None:
        missing = [k for k in (H5_PMU, H5_NOBJ, H5_LABEL) if k not in f]
        if missing:
            raise DataFormatError(f"{self.path}: h5py layout lacks dataset(s) {missing}")
        pmu = f[H5_PMU]
        if pmu.ndim != 3 or pmu.shape[-1] != 4:
            raise DataFormatError(f"{self.path}: '{H5_PMU}' must have shape [jets, constituents, 4], got {pmu.shape}")
        if pmu.shape[1] > MAX_CONSTITUENTS:
            raise DataFormatError(
                f"{self.path}: {pmu.shape[1]} constituents per jet, more than the layout's {MAX_CONSTITUENTS}"
            )
        for k in (H5_NOBJ, H5_LABEL):
            if f[k].shape != (pmu.shape[0],):
                raise DataFormatError(f"{self.path}: '{k}' has shape {f[k].shape}, expected ({pmu.shape[0]},)")
        self.num_jets = int(pmu.shape[0])
        self.num_constituents = int(pmu.shape[1])
        self.has_truth = H5_TRUTH in f

    def _check_table(self) -> None:
        import pandas as pd

        try:
            with pd.HDFStore(self.path, mode="r") as store:
                storer = store.get_storer(TABLE_KEY)
                if storer.is_table:
                    columns = list(storer.attrs.non_index_axes[0][1])
                    nrows = storer.nrows
                else:  # fixed format: columns are in the block items
                    head = store.select(TABLE_KEY, start=0, stop=1)
                    columns = list(head.columns)
                    nrows = storer.shape[0] if storer.shape else len(store.select(TABLE_KEY))
        except (OSError, KeyError, TypeError, ValueError, AttributeError) as e:
            raise DataFormatError(f"{self.path}: key '{TABLE_KEY}' is not a readable pandas table ({e})") from None
        extra = sorted(
            c for c in columns if c.split("_")[0] in ("E", "PX", "PY", "PZ") and c not in set(MOMENTUM_COLUMNS)
        )
        if extra:
            raise DataFormatError(
                f"{self.path}: columns {extra[:4]}… describe more than {MAX_CONSTITUENTS} constituents per jet"
            )
        missing = [c for c in MOMENTUM_COLUMNS + [LABEL_COLUMN] if c not in columns]
        if missing:
            raise DataFormatError(
                f"{self.path}: table lacks {len(missing)} required column(s), e.g. {missing[:5]} — "
                f"expected the public layout (E_0, PX_0, …, PZ_199, {LABEL_COLUMN})"
            )
        self.is_table_format = storer.is_table
        self.num_jets = int(nrows)
        self.num_constituents = MAX_CONSTITUENTS
        self.has_truth = all(c in columns for c in TRUTH_COLUMNS)

    def __len__(self) -> int:
        return self.num_jets

    def __repr__(self) -> str:
        return f"JetFile({str(self.path)!r}, layout={self.layout!r}, jets={self.num_jets})"

    # --- reading ----------------------------------------------------------------------------------------------------
    def _read_numpy(self, start: int, stop: int):
        if self.layout == "h5py":
            import h5py

            with h5py.File(self.path, "r") as f:
                pmu = np.asarray(f[H5_PMU][start:stop])
                nobj = np.asarray(f[H5_NOBJ][start:stop])
                label = np.asarray(f[H5_LABEL][start:stop])
                truth = np.asarray(f[H5_TRUTH][start:stop]) if self.has_truth else None
            if np.any(nobj < 0) or np.any(nobj > pmu.shape[1]):
                i = int(np.flatnonzero((nobj < 0) | (nobj > pmu.shape[1]))[0])
                raise DataFormatError(f"{self.path}: jet {start + i} has Nobj = {nobj[i]} outside [0, {pmu.shape[1]}]")
            mask = np.arange(pmu.shape[1])[None, :] < nobj[:, None]
        else:
            import pandas as pd

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=pd.errors.PerformanceWarning)
                df = pd.read_hdf(self.path, TABLE_KEY, start=start, stop=stop)
            pmu = df[MOMENTUM_COLUMNS].to_numpy().reshape(-1, MAX_CONSTITUENTS, 4)
            label = df[LABEL_COLUMN].to_numpy()
            truth = df[TRUTH_COLUMNS].to_numpy() if self.has_truth else None
            mask = pmu[..., 0] > 0  # the public layout pads with all-zero rows
        return pmu, mask, label, truth

    def _validate(self, pmu, mask, label, start) -> None:
        bad = ~np.isfinite(pmu)
        if bad.any():
            j, i, c = (int(v) for v in np.argwhere(bad)[0])
            kind = "NaN" if math.isnan(pmu[j, i, c]) else "inf"
            raise DataFormatError(
                f"{self.path}: {kind} in jet {start + j}, constituent {i}, component {'E,px,py,pz'.split(',')[c]}"
            )
        neg = pmu[..., 0] < 0
        if neg.any():
            j, i = (int(v) for v in np.argwhere(neg)[0])
            raise DataFormatError(
                f"{self.path}: negative energy {pmu[j, i, 0]:.6g} GeV in jet {start + j}, constituent {i}"
            )
        empty = ~mask.any(1)
        if empty.any():
            raise DataFormatError(f"{self.path}: jet {start + int(np.flatnonzero(empty)[0])} has no constituents")
        if not np.isin(label, (0, 1)).all():
            j = int(np.flatnonzero(~np.isin(label, (0, 1)))[0])
            raise DataFormatError(f"{self.path}: label {label[j].item()!r} of jet {start + j} is not 0 or 1")

    def read(self, start: int = 0, stop: int | None = None, dtype: torch.dtype = torch.float64, max_particles=None):
        """Jets [start, stop) as a Batch. max_particles trims the (pT-ordered) constituent axis."""
        stop = self.num_jets if stop is None else min(stop, self.num_jets)
        if not 0 <= start <= stop:
            raise ValueError(f"bad jet range [{start}, {stop}) for a file of {self.num_jets} jets")
        pmu, mask, label, truth = self._read_numpy(start, stop)
        self._validate(pmu, mask, label, start)
        if max_particles is not None:
            pmu, mask = pmu[:, :max_particles], mask[:, :max_particles]
        pmu = np.where(mask[..., None], pmu, 0.0)
        return Batch(
            p=torch.from_numpy(np.ascontiguousarray(pmu)).to(dtype),
            mask=torch.from_numpy(np.ascontiguousarray(mask)),
            label=torch.from_numpy(label.astype(np.int64)),
            truth=None if truth is None else torch.from_numpy(np.asarray(truth, dtype=np.float64)).to(dtype),
        )

    def iter_batches(
        self,
        batch_size: int,
        *,
        dtype: torch.dtype = torch.float64,
        max_particles=None,
        chunk_size: int = 10_000,
        start: int = 0,
        stop: int | None = None,
    ) -> Iterator[Batch]:
        """Batches of `batch_size` jets in file order, reading `chunk_size` jets from disk at a time."""
        if batch_size < 1 or chunk_size < 1:
            raise ValueError(f"batch_size and chunk_size must be ≥ 1, got {batch_size}, {chunk_size}")
        stop = self.num_jets if stop is None else min(stop, self.num_jets)
        chunk = max(chunk_size - chunk_size % batch_size, batch_size)
        for c0 in range(start, stop, chunk):
            b = self.read(c0, min(c0 + chunk, stop), dtype=dtype, max_particles=max_particles)
            for i in range(0, len(b.label), batch_size):
                sl = slice(i, i + batch_size)
                yield Batch(b.p[sl], b.mask[sl], b.label[sl], None if b.truth is None else b.truth[sl])


def load(path, *, dtype: torch.dtype = torch.float64, max_jets: int | None = None, max_particles=None) -> Batch:
    """Read a whole file (or its first max_jets jets) into memory, trimmed to the longest jet's multiplicity."""
    f = JetFile(path)
    b = f.read(0, max_jets, dtype=dtype, max_particles=max_particles)
    n = int(b.mask.sum(1).max())
    return Batch(b.p[:, :n].contiguous(), b.mask[:, :n].contiguous(), b.label, b.truth)
