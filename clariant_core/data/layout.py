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
# Particle information (docs/data.md, "Particle information"): optional per-constituent scalars, stored beside the
# public columns so that readers that do not know them ignore them. field → (table column prefix, h5py dataset).
# charge: electric charge in units of e (tracks ±1; calorimeter cells and padding 0); pid: a PDG particle id
# (0 = unknown or padding). Values are integers stored as numbers.
PARTICLE_FIELDS = {"charge": ("Q", "charge"), "pid": ("PID", "pid")}
PARTICLE_LIMITS = {"charge": 2, "pid": 10_000_000}  # |value| ≤ limit (PDG ids have at most 7 digits)


def particle_columns(field: str) -> list[str]:
    """The table columns of one particle-information field: `Q_0 … Q_199` for charge."""
    prefix = PARTICLE_FIELDS[field][0]
    return [f"{prefix}_{i}" for i in range(MAX_CONSTITUENTS)]
