"""Readers for top-tagging jets: the public pandas-HDF5 layout and the h5py `Nobj/Pmu/is_signal` layout.

`JetFile(path)` opens a file, detects its layout and validates it; `iter_batches` yields `(p, mask, label)` batches
(with the truth four-momentum and the particle information where the file has them) read chunk by chunk, so nothing
loads the whole file unless asked (`load`).

Nothing read from a file is ever unpickled (see docs/security.md). Both layouts are read with h5py, which returns
numbers and bytes only. pandas/PyTables store some metadata as pickles — the column names of a table, for example —
and their readers unpickle it, which runs whatever code the pickle names; here such metadata is parsed with
`pickletools.genops`, which only tokenises, and any pickle that would build anything but strings, numbers, lists,
tuples and dicts is refused. Datasets of objects, text or complex numbers are refused before their data is read.
"""

from __future__ import annotations

import math
import pickletools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from clariant_core.data.layout import (
    H5_LABEL,
    H5_NOBJ,
    H5_PMU,
    H5_TRUTH,
    JET_ENERGY_RANGE_GEV,
    LABEL_COLUMN,
    MAX_CONSTITUENTS,
    MOMENTUM_COLUMNS,
    PARTICLE_FIELDS,
    PARTICLE_LIMITS,
    TABLE_KEY,
    TRUTH_COLUMNS,
    particle_columns,
)
from clariant_core.numerics import LIGHTCONE_SLACK, beyond_lightcone

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_COMPONENTS = ("E", "px", "py", "pz")


class DataFormatError(ValueError):
    """A data file is missing, corrupt, of the wrong layout, or holds unphysical values."""


@dataclass
class Batch:
    p: torch.Tensor  # [B, N, 4] (E, px, py, pz) GeV
    mask: torch.Tensor  # [B, N] bool
    label: torch.Tensor  # [B] int64, 1 = top
    truth: torch.Tensor | None = None  # [B, 4] matched top four-momentum (zeros for QCD), when the file has it
    particle: dict[str, torch.Tensor] | None = None  # {field: [B, N] of p's dtype} particle information (docs/data.md)

    def to(self, device) -> Batch:
        """The same batch on `device` (tensors moved without copying when already there)."""
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        particle = None if self.particle is None else {k: move(v) for k, v in self.particle.items()}
        return Batch(move(self.p), move(self.mask), move(self.label), move(self.truth), particle)

    def select(self, index, width: int | None = None) -> Batch:
        """Jets `index` (a slice or index tensor), constituents trimmed to the first `width` (default: all)."""
        cut = slice(None) if width is None else slice(0, width)
        particle = self.particle and {k: v[index][:, cut].contiguous() for k, v in self.particle.items()}
        return Batch(
            self.p[index][:, cut].contiguous(),
            self.mask[index][:, cut].contiguous(),
            self.label[index],
            None if self.truth is None else self.truth[index],
            particle,
        )


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


# --- pickle-free metadata --------------------------------------------------------------------------------------------
# Opcodes that only push strings, numbers, None/bools or assemble lists, tuples and dicts, and memo bookkeeping. Any
# other opcode (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, EXT*, PERSID…) would import or call something.
_DATA_OPCODES = frozenset(
    "PROTO FRAME STOP MARK POP POP_MARK DUP PUT BINPUT LONG_BINPUT MEMOIZE "
    "UNICODE SHORT_BINUNICODE BINUNICODE BINUNICODE8 STRING BINSTRING SHORT_BINSTRING SHORT_BINBYTES BINBYTES "
    "INT BININT BININT1 BININT2 LONG LONG1 LONG4 FLOAT BINFLOAT NONE NEWTRUE NEWFALSE "
    "LIST EMPTY_LIST APPEND APPENDS TUPLE EMPTY_TUPLE TUPLE1 TUPLE2 TUPLE3 DICT EMPTY_DICT SETITEM SETITEMS".split()
)
_STRING_OPCODES = frozenset("UNICODE SHORT_BINUNICODE BINUNICODE BINUNICODE8 STRING BINSTRING SHORT_BINSTRING".split())


def pickled_strings(raw: bytes, where: str) -> list[str]:
    """The strings of a pickled list of names (as PyTables stores pandas metadata), in order, without unpickling.

    The pickle is tokenised by `pickletools.genops` (which builds nothing); any opcode that would import, call or
    reference an object raises DataFormatError naming `where`.
    """
    out = []
    try:
        for op, arg, pos in pickletools.genops(raw):
            if op.name not in _DATA_OPCODES:
                what = f" {arg!r}" if arg is not None else ""
                raise DataFormatError(
                    f"{where} is a pickle that would run code (opcode {op.name}{what} at byte {pos}); "
                    "refusing to read it — the file is not a plain data file"
                )
            if op.name in _STRING_OPCODES:
                out.append(arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg))
    except DataFormatError:
        raise
    except Exception as e:  # noqa: BLE001 — genops raises ValueError and friends on malformed input
        raise DataFormatError(f"{where} is not a well-formed pickle of names ({e})") from None
    return out


def _names(value, where: str) -> list[str]:
    """Column names stored as an HDF5 attribute or dataset: an array of strings, or a pickle of a list of them."""
    if isinstance(value, (bytes, np.bytes_)):
        return pickled_strings(bytes(value), where)
    arr = np.asarray(value)
    if arr.dtype.kind in "SU":
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.ravel()]
    raise DataFormatError(f"{where} holds {arr.dtype} values, not column names")


def _numeric(dtype: np.dtype, where: str) -> None:
    """Refuse anything but real numbers before the data is read."""
    base = dtype.base if dtype.subdtype is not None else dtype
    if base.kind == "c":
        raise DataFormatError(f"{where} holds complex numbers ({base}); momenta and labels must be real")
    if base.kind not in "fiub":
        raise DataFormatError(
            f"{where} holds {base} values (text, records or pickled objects), not numbers; refused unread"
        )


def _no_objects(dtype: np.dtype, where: str) -> None:
    """Refuse object columns anywhere in a frame: pandas stores them as pickles (and would unpickle them)."""
    base = dtype.base if dtype.subdtype is not None else dtype
    if base.kind == "O" or base.hasobject:
        raise DataFormatError(f"{where} holds Python objects (stored as pickles); refused unread")


def _dataset(f, key: str, where: str):
    """f[key] as a plain h5py Dataset stored in this file (no group, external link or virtual dataset)."""
    import h5py

    link = f.get(key, getlink=True)
    if link is None:
        raise DataFormatError(f"{where}: '{key}' is missing")
    if not isinstance(link, h5py.HardLink):
        raise DataFormatError(f"{where}: '{key}' is a {type(link).__name__} to elsewhere; only data in this file")
    obj = f[key]
    if not isinstance(obj, h5py.Dataset):
        raise DataFormatError(f"{where}: '{key}' is a {type(obj).__name__.lower()}, expected a dataset of numbers")
    if obj.is_virtual:
        raise DataFormatError(f"{where}: '{key}' is a virtual dataset mapping other files; only data in this file")
    return obj


def _lift_to_lightcone(pmu: np.ndarray) -> np.ndarray:
    """E raised to |p⃗| where the stored rounding left a particle spacelike. Only for files stored coarser than float32
    (float16), which the reader accepts up to their own rounding: everything downstream (the validation suite's
    input check) holds four-momenta to float32's rounding, and the stored values say no more than "on the light
    cone" there."""
    three = np.sqrt((pmu[..., 1:] ** 2).sum(-1))
    out = pmu.copy()
    out[..., 0] = np.maximum(pmu[..., 0], three)
    return out


class JetFile:
    """One top-tagging file. `layout` is "table" (public pandas layout) or "h5py" (Nobj/Pmu/is_signal).

    Construction validates the layout (columns or datasets, their dtypes, constituent count ≤ 200); values are
    validated per chunk as they are read (NaN/inf, negative energy, spacelike constituents, Nobj against the rows,
    jet energies in GeV, labels), with errors naming the file, the jet index in the file and the field.
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
                    self._check_table(f)
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

    # --- layout checks -------------------------------------------------------------------------------------------
    def _check_h5py(self, f) -> None:
        missing = [k for k in (H5_PMU, H5_NOBJ, H5_LABEL) if k not in f]
        if missing:
            raise DataFormatError(f"{self.path}: h5py layout lacks dataset(s) {missing}")
        pmu = _dataset(f, H5_PMU, str(self.path))
        _numeric(pmu.dtype, f"{self.path}: '{H5_PMU}'")
        if pmu.ndim != 3 or pmu.shape[-1] != 4:
            raise DataFormatError(f"{self.path}: '{H5_PMU}' must have shape [jets, constituents, 4], got {pmu.shape}")
        if pmu.shape[1] > MAX_CONSTITUENTS:
            raise DataFormatError(
                f"{self.path}: {pmu.shape[1]} constituents per jet, more than the layout's {MAX_CONSTITUENTS}"
            )
        for k in (H5_NOBJ, H5_LABEL):
            d = _dataset(f, k, str(self.path))
            _numeric(d.dtype, f"{self.path}: '{k}'")
            if d.shape != (pmu.shape[0],):
                raise DataFormatError(f"{self.path}: '{k}' has shape {d.shape}, expected ({pmu.shape[0]},)")
        self.has_truth = H5_TRUTH in f
        if self.has_truth:
            t = _dataset(f, H5_TRUTH, str(self.path))
            _numeric(t.dtype, f"{self.path}: '{H5_TRUTH}'")
            if t.shape != (pmu.shape[0], 4):
                raise DataFormatError(f"{self.path}: '{H5_TRUTH}' has shape {t.shape}, expected ({pmu.shape[0]}, 4)")
        self.particle_fields = tuple(name for name, (_, key) in PARTICLE_FIELDS.items() if key in f)
        for name in self.particle_fields:
            key = PARTICLE_FIELDS[name][1]
            d = _dataset(f, key, str(self.path))
            _numeric(d.dtype, f"{self.path}: particle field '{key}'")
            if d.shape != pmu.shape[:2]:
                raise DataFormatError(
                    f"{self.path}: particle field '{key}' has shape {d.shape}, expected {tuple(pmu.shape[:2])} like "
                    f"'{H5_PMU}'"
                )
        self.num_jets = int(pmu.shape[0])
        self.num_constituents = int(pmu.shape[1])
        self._stored = pmu.dtype

    def _check_table(self, f) -> None:
        """Map every column name to (dataset, field, column index) from HDF5 data and parsed metadata only.

        Table format (`format="table"`): one compound dataset `/table/table` with fields `index`, `values_block_K`
        (names in the dataset's attribute `values_block_K_kind`) and data columns (a field per column). Fixed format:
        datasets `blockK_items` (names) and `blockK_values` `[jets, columns]`.
        """
        import h5py

        where = f"{self.path}: key '{TABLE_KEY}'"
        group = f[TABLE_KEY]
        if not isinstance(group, h5py.Group):
            raise DataFormatError(f"{where} is not a pandas table (a dataset where a group was expected)")
        columns: dict[str, tuple[str, str | None, int | None]] = {}
        nrows = None
        if "table" in group:  # table format
            ds = _dataset(group, "table", where)
            if ds.dtype.names is None or ds.ndim != 1:
                raise DataFormatError(f"{where}: '/table/table' is not a table of records (dtype {ds.dtype})")
            nrows = ds.shape[0]
            for field in ds.dtype.names:
                if field == "index":
                    continue
                fdt = ds.dtype[field]
                if field.startswith("values_block_"):
                    names = _names(ds.attrs.get(f"{field}_kind", b""), f"{where}: attribute {field}_kind")
                    width = fdt.shape[0] if fdt.shape else 1
                    if len(names) != width:
                        raise DataFormatError(f"{where}: {field} has {width} columns but {len(names)} names")
                    for i, name in enumerate(names):
                        columns[name] = (f"{TABLE_KEY}/table", field, i)
                    dtype_of = fdt
                else:  # a data column
                    columns[field] = (f"{TABLE_KEY}/table", field, None)
                    dtype_of = fdt
                _no_objects(dtype_of, f"{where}: field {field}")
                if any(name in _REQUIRED for name in (names if field.startswith("values_block_") else [field])):
                    _numeric(dtype_of, f"{where}: field {field}")
        else:  # fixed format
            blocks = sorted(k for k in group if k.startswith("block") and k.endswith("_items"))
            if not blocks:
                raise DataFormatError(f"{where} is neither a pandas table nor a fixed-format frame")
            for items_key in blocks:
                values_key = items_key.replace("_items", "_values")
                names = _names(_dataset(group, items_key, where)[()], f"{where}: {items_key}")
                vals = _dataset(group, values_key, where)
                _no_objects(vals.dtype, f"{where}: {values_key} (columns {names[:3]}…)")
                if any(n in _REQUIRED for n in names):
                    _numeric(vals.dtype, f"{where}: {values_key} (columns {names[:3]}…)")
                if vals.ndim != 2 or vals.shape[1] != len(names):
                    raise DataFormatError(f"{where}: {values_key} has shape {vals.shape} for {len(names)} columns")
                if nrows is not None and vals.shape[0] != nrows:
                    raise DataFormatError(f"{where}: {values_key} has {vals.shape[0]} rows, expected {nrows}")
                nrows = vals.shape[0]
                for i, name in enumerate(names):
                    columns[name] = (f"{TABLE_KEY}/{values_key}", None, i)
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
        self.is_table_format = "table" in group
        self.has_truth = all(c in columns for c in TRUTH_COLUMNS)
        if self.has_truth:
            for c in TRUTH_COLUMNS:
                src, field, _ = columns[c]
                dt = f[src].dtype[field] if field else f[src].dtype
                _numeric(dt, f"{where}: column {c}")
        self.particle_fields = self._particle_fields_of_table(f, columns, where)
        self._columns = columns
        self.num_jets = int(nrows)
        self.num_constituents = MAX_CONSTITUENTS
        src, field, _ = columns["E_0"]
        dt = f[src].dtype[field] if field else f[src].dtype
        self._stored = dt.base if dt.subdtype is not None else dt

    def _particle_fields_of_table(self, f, columns: dict, where: str) -> tuple[str, ...]:
        """Particle-information fields whose 200 columns are all present (numbers); a field with only some of its
        columns is refused, naming the field."""
        fields = []
        for name in PARTICLE_FIELDS:
            wanted = particle_columns(name)
            present = [c for c in wanted if c in columns]
            if not present:
                continue
            if len(present) != len(wanted):
                missing = [c for c in wanted if c not in columns]
                raise DataFormatError(
                    f"{where}: particle field '{name}' has {len(present)} of its {len(wanted)} columns "
                    f"(missing e.g. {missing[:3]}); a field needs all of {wanted[0]} … {wanted[-1]}"
                )
            for src, field in {columns[c][:2] for c in wanted}:
                dt = f[src].dtype[field] if field else f[src].dtype
                _numeric(dt, f"{where}: particle field '{name}' ({field or src})")
            fields.append(name)
        return tuple(fields)

    def __len__(self) -> int:
        return self.num_jets

    def __repr__(self) -> str:
        return f"JetFile({str(self.path)!r}, layout={self.layout!r}, jets={self.num_jets})"

    # --- reading ----------------------------------------------------------------------------------------------------
    def _gather(self, f, names: list[str], start: int, stop: int) -> np.ndarray:
        """Columns `names` of jets [start, stop) as a float64 `[jets, len(names)]` array (one read per source)."""
        out = np.empty((stop - start, len(names)), dtype=np.float64)
        by_source: dict[tuple[str, str | None], list[tuple[int, int | None]]] = {}
        for j, name in enumerate(names):
            src, field, i = self._columns[name]
            by_source.setdefault((src, field), []).append((j, i))
        for (src, field), cols in by_source.items():
            ds = f[src]
            block = ds.fields(field)[start:stop] if field else ds[start:stop]
            block = np.asarray(block)
            if block.ndim == 1:
                block = block[:, None]
            out[:, [j for j, _ in cols]] = block[:, [0 if i is None else i for _, i in cols]]
        return out

    def _read_numpy(self, start: int, stop: int):
        import h5py

        with h5py.File(self.path, "r") as f:
            if self.layout == "h5py":
                pmu = np.asarray(f[H5_PMU][start:stop], dtype=np.float64)
                nobj = np.asarray(f[H5_NOBJ][start:stop])
                label = np.asarray(f[H5_LABEL][start:stop])
                truth = np.asarray(f[H5_TRUTH][start:stop], dtype=np.float64) if self.has_truth else None
                mask = self._mask_from_nobj(pmu, nobj, start)
                particle = {
                    k: np.asarray(f[PARTICLE_FIELDS[k][1]][start:stop], dtype=np.float64) for k in self.particle_fields
                }
            else:
                pmu = self._gather(f, MOMENTUM_COLUMNS, start, stop).reshape(-1, MAX_CONSTITUENTS, 4)
                label = self._gather(f, [LABEL_COLUMN], start, stop)[:, 0]
                truth = self._gather(f, TRUTH_COLUMNS, start, stop) if self.has_truth else None
                mask = pmu[..., 0] > 0  # the public layout pads with all-zero rows
                particle = {k: self._gather(f, particle_columns(k), start, stop) for k in self.particle_fields}
        return pmu, mask, label, truth, particle

    def _mask_from_nobj(self, pmu: np.ndarray, nobj: np.ndarray, start: int) -> np.ndarray:
        """mask[j, i] = i < Nobj[j], after checking Nobj is an integer in range (rows are checked in _validate)."""
        n = pmu.shape[1]
        nobj_f = nobj.astype(np.float64)
        bad = ~np.isfinite(nobj_f) | (nobj_f != np.round(nobj_f)) | (nobj_f < 0) | (nobj_f > n)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                f"{self.path}: jet {start + j} has {H5_NOBJ} = {nobj[j].item()!r}, not an integer in [0, {n}]"
            )
        return np.arange(n)[None, :] < nobj_f[:, None]

    def _check_nobj_rows(self, pmu: np.ndarray, mask: np.ndarray, start: int) -> None:
        wrong = (pmu != 0).any(-1) != mask
        if wrong.any():
            j, i = (int(v) for v in np.argwhere(wrong)[0])
            what = "is all zero" if mask[j, i] else "is not zero"
            raise DataFormatError(
                f"{self.path}: jet {start + j} has {H5_NOBJ} = {int(mask[j].sum())} but constituent {i}'s row {what}"
                f" — {H5_NOBJ} must count the leading non-zero rows of {H5_PMU}"
            )

    def _validate_particle(self, particle: dict, mask: np.ndarray, start: int) -> None:
        """Particle information: finite integers within the field's limit, zero on padding rows."""
        for name, v in particle.items():
            key = PARTICLE_FIELDS[name][0 if self.layout == "table" else 1]
            limit = PARTICLE_LIMITS[name]
            bad = ~np.isfinite(v) | (v != np.round(v)) | (np.abs(v) > limit) | (~mask & (v != 0))
            if bad.any():
                j, i = (int(x) for x in np.argwhere(bad)[0])
                why = "is not zero on a padding row" if not mask[j, i] else f"is not an integer in [−{limit}, {limit}]"
                raise DataFormatError(
                    f"{self.path}: particle field '{name}' ({key}) of jet {start + j}, constituent {i} = "
                    f"{v[j, i]:g} {why}"
                )

    def _validate(self, pmu, mask, label, start) -> None:
        bad = ~np.isfinite(pmu)
        if bad.any():
            j, i, c = (int(v) for v in np.argwhere(bad)[0])
            kind = "NaN" if math.isnan(pmu[j, i, c]) else "inf"
            raise DataFormatError(
                f"{self.path}: {kind} in jet {start + j}, constituent {i}, component {_COMPONENTS[c]}"
            )
        e = pmu[..., 0]
        neg = e < 0
        if neg.any():
            j, i = (int(v) for v in np.argwhere(neg)[0])
            hint = ""
            if e[j, i] ** 2 < (1 - LIGHTCONE_SLACK) * (pmu[j, i, 1:] ** 2).sum():  # |E| < |p⃗|: another column
                hint = " — is the energy stored last, (px, py, pz, E)? The layout needs (E, px, py, pz)"
            raise DataFormatError(
                f"{self.path}: negative energy {e[j, i]:.6g} GeV in jet {start + j}, constituent {i}{hint}"
            )
        if self.layout == "h5py":
            self._check_nobj_rows(pmu, mask, start)
        empty = ~mask.any(1)
        if empty.any():
            raise DataFormatError(f"{self.path}: jet {start + int(np.flatnonzero(empty)[0])} has no constituents")
        jet_e = (e * mask).sum(1)
        lo, hi = JET_ENERGY_RANGE_GEV
        off = (jet_e < lo) | (jet_e > hi)
        if off.any():
            j = int(np.flatnonzero(off)[0])
            raise DataFormatError(
                f"{self.path}: jet {start + j} has energy {jet_e[j]:.3g}, outside [{lo:g}, {hi:g}] GeV — "
                f"the momenta must be in GeV; {_unit_hint(jet_e[j])}"
            )
        # |p⃗| may exceed E by the rounding of float32-stored values (numerics.LIGHTCONE_SLACK), whatever the dtype the
        # file stores them in (float32 data are often saved as float64), or by 8u of a coarser stored dtype
        slack = self._lightcone_slack()
        three = np.sqrt((pmu[..., 1:] ** 2).sum(-1))
        spacelike = mask & (three - e > slack * e)
        if spacelike.any():
            j, i = (int(v) for v in np.argwhere(spacelike)[0])
            raise DataFormatError(
                f"{self.path}: jet {start + j}, constituent {i} is spacelike "
                f"({beyond_lightcone(float(e[j, i]), float(three[j, i]), slack)}); a particle has |p⃗| ≤ E"
            )
        if not np.isin(label, (0, 1)).all():
            j = int(np.flatnonzero(~np.isin(label, (0, 1)))[0])
            raise DataFormatError(
                f"{self.path}: label {label[j].item()!r} of jet {start + j} "
                f"(field {LABEL_COLUMN if self.layout == 'table' else H5_LABEL}) is not 0 or 1"
            )

    def _lightcone_slack(self) -> float:
        """How far |p⃗| may exceed E, relative to E, in this file: numerics.LIGHTCONE_SLACK, or 8u of a coarser stored
        dtype (float16)."""
        u = float(np.finfo(self._stored).eps / 2) if np.dtype(self._stored).kind == "f" else 0.0
        return max(LIGHTCONE_SLACK, 8 * u)

    def read(self, start: int = 0, stop: int | None = None, dtype: torch.dtype = torch.float64, max_particles=None):
        """Jets [start, stop) as a Batch. max_particles trims the (pT-ordered) constituent axis."""
        stop = self.num_jets if stop is None else min(stop, self.num_jets)
        if not 0 <= start <= stop:
            raise ValueError(f"bad jet range [{start}, {stop}) for a file of {self.num_jets} jets")
        try:
            pmu, mask, label, truth, particle = self._read_numpy(start, stop)
        except OSError as e:
            raise DataFormatError(f"{self.path}: jets [{start}, {stop}) cannot be read ({e})") from None
        self._validate(pmu, mask, label, start)
        self._validate_particle(particle, mask, start)
        if max_particles is not None:
            pmu, mask = pmu[:, :max_particles], mask[:, :max_particles]
            particle = {k: v[:, :max_particles] for k, v in particle.items()}
        pmu = np.where(mask[..., None], pmu, 0.0)
        if self._lightcone_slack() > LIGHTCONE_SLACK:  # float16/bfloat16 storage: see _lift_to_lightcone
            pmu = _lift_to_lightcone(pmu.astype(np.float64))
        return Batch(
            p=torch.from_numpy(np.ascontiguousarray(pmu)).to(dtype),
            mask=torch.from_numpy(np.ascontiguousarray(mask)),
            label=torch.from_numpy(label.astype(np.int64)),
            truth=None if truth is None else torch.from_numpy(np.asarray(truth, dtype=np.float64)).to(dtype),
            particle={k: torch.from_numpy(np.ascontiguousarray(v)).to(dtype) for k, v in particle.items()} or None,
        )

    def label_counts(self, stop: int | None = None, chunk_size: int = 10_000) -> tuple[int, int]:
        """(QCD, top) jet counts of jets [0, stop), every value validated on the way — a full pass in bounded
        memory (one chunk at a time), so a bad jet anywhere is found before any expensive work."""
        stop = self.num_jets if stop is None else min(stop, self.num_jets)
        n1 = 0
        for c0 in range(0, stop, chunk_size):
            c1 = min(c0 + chunk_size, stop)
            try:
                pmu, mask, label, _, particle = self._read_numpy(c0, c1)
            except OSError as e:
                raise DataFormatError(f"{self.path}: jets [{c0}, {c1}) cannot be read ({e})") from None
            self._validate(pmu, mask, label, c0)
            self._validate_particle(particle, mask, c0)
            n1 += int((label == 1).sum())
        return stop - n1, n1

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
                yield b.select(slice(i, i + batch_size))


_REQUIRED = frozenset(MOMENTUM_COLUMNS + TRUTH_COLUMNS + [LABEL_COLUMN])


def _unit_hint(jet_energy: float) -> str:
    """A guess at the unit: the largest of eV, keV, MeV in which the jet has at least 10 GeV."""
    if jet_energy > JET_ENERGY_RANGE_GEV[1]:
        for name, factor in (("eV", 1e9), ("keV", 1e6), ("MeV", 1e3)):
            if jet_energy / factor > 10:  # a jet of at least 10 GeV in that unit
                return f"they look like {name} (divide by {factor:.0e})"
    return "they look too small to be GeV (were they scaled?)"


def load(path, *, dtype: torch.dtype = torch.float64, max_jets: int | None = None, max_particles=None) -> Batch:
    """Read a whole file (or its first max_jets jets) into memory, trimmed to the longest jet's multiplicity."""
    f = JetFile(path)
    b = f.read(0, max_jets, dtype=dtype, max_particles=max_particles)
    n = int(b.mask.sum(1).max()) if len(b.label) else 0
    return b.select(slice(None), n)
