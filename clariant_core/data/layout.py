"""The public top-tagging file layout (docs/data.md) — one source of truth for column names and limits."""

MAX_CONSTITUENTS = 200
MOMENTUM_COLUMNS = [f"{c}_{i}" for i in range(MAX_CONSTITUENTS) for c in ("E", "PX", "PY", "PZ")]
TRUTH_COLUMNS = ["truthE", "truthPX", "truthPY", "truthPZ"]
TTV_COLUMN = "ttv"  # 0 train, 1 test, 2 validation
LABEL_COLUMN = "is_signal_new"
ALL_COLUMNS = MOMENTUM_COLUMNS + TRUTH_COLUMNS + [TTV_COLUMN, LABEL_COLUMN]  # 806
TABLE_KEY = "table"
TTV = {"train": 0, "test": 1, "val": 2}
# h5py layout of earlier Lorentz-network code
H5_NOBJ, H5_PMU, H5_LABEL, H5_TRUTH = "Nobj", "Pmu", "is_signal", "truth_Pmu"
# A jet's energy Σ E_i in GeV must lie in this range: below it no detector reconstructs a jet, above it lies more
# energy than any collider's √s (LHC 14 TeV, FCC-hh 100 TeV). Outside it the momenta are in another unit (MeV, eV…).
JET_ENERGY_RANGE_GEV = (1e-2, 1e5)
