"""Human words for the keys of the reports' data: table columns, metric names, model-card and machine fields.
The reports' JSON keeps the keys; every page shows these words (docs/validation.md, "The report")."""

from __future__ import annotations

import re

COLUMNS = {
    "dtype": "dtype",
    "family": "transformation",
    "rapidity": "rapidity y",
    "angle": "angle θ [rad]",
    "error_median": "error ε, median",
    "error_p95": "error ε, p95",
    "error_max": "error ε, max",
    "floor_median": "floor, median",
    "floor_p95": "floor, p95",
    "excess_median": "excess ε/floor, median",
    "excess_p95": "excess ε/floor, p95",
    "zero_jets": "jets with ε exactly 0",
    "nonfinite_jets": "jets with non-finite output",
    "beyond_jets": "jets with ε beyond float64",
    "verdict": "verdict",
    "reason": "reason",
    "method": "method",
    "group": "group",
    # per-layer attribution and Schur checks
    "name": "name",
    "irreps": "irreps",
    "median": "error, median",
    "p95": "error, p95",
    "max": "error, max",
    "irreps_in": "input irreps",
    "irreps_out": "output irreps",
    "structure_residual": "structure residual",
    "commutation_residual": "commutation residual",
    "intertwiner_dim": "intertwiner dimension",
    "free_parameters": "free real parameters",
    "ok": "consistent",
    # property checks
    "property": "property",
    "check": "check",
    "per dtype": "verdict per dtype",
    "seconds": "seconds",
    "note": "note",
    "change_median": "change Δ, median",
    "change_p95": "change Δ, p95",
    "scaling": "p95 ratio lower/higher precision",
    "range": "range scanned",
    "power": "fitted power",
    "tail_power": "power at the smallest values",
    "plateau": "change at the smallest value",
    "floor": "floor, median",
    # group-library self-check
    "cg_error": "CG intertwining error",
    "homomorphism_error": "homomorphism error",
    "metric_error": "metric error ΛᵀηΛ − η",
    "unit_roundoff": "unit roundoff u",
    # benchmarks
    "benchmark": "benchmark",
}

FIELDS = {
    # model card
    "checkpoint": "checkpoint file",
    "kind": "model kind",
    "parameters": "parameters (real numbers)",
    "config": "configuration",
    "trained on": "trained on",
    "validated on": "validated on",
    "test metrics": "on the test split",
    # classification metrics (clariant_core/training/metrics.py)
    "accuracy": "accuracy (fraction of jets classified correctly)",
    "auc": "area under the ROC curve (AUC)",
    "test_jets": "jets in the test split",
    # regression metrics (clariant_core/training/regression.py; r = x_pred/x_true − 1, docs/training.md)
    "mass_bias": "jet-mass bias (median r)",
    "mass_resolution": "jet-mass resolution σ68",
    "mass_tail_fraction": "jet-mass tail fraction (|r − median| > 3 σ68)",
    "energy_bias": "energy bias (median r)",
    "energy_resolution": "energy resolution σ68",
    "pt_bias": "pT bias (median r)",
    "pt_resolution": "pT resolution σ68",
    "delta_r_median": "ΔR to the true direction, median",
    "delta_r_68": "ΔR to the true direction, 68 % quantile",
    "jets": "jets",
    "task": "task",
    "evaluated on": "evaluated on",
    "naive Σ constituents": "naive Σ constituents on the test split",
    # machine
    "cpu": "CPU",
    "cores": "CPU cores",
    "torch_threads": "torch threads",
    "malloc": "CPU memory allocator",
    "torch": "torch version",
    "python": "Python version",
    "platform": "platform",
    "gpu": "GPU",
}

_REJECTION = re.compile(r"rejection_at_([0-9.]+)$")


def column(key: str) -> str:
    """The column header of a data key (the key itself, underscores as spaces, if it has no entry)."""
    return COLUMNS.get(key, key.replace("_", " "))


def field(key: str) -> str:
    """The words for a model-card, metric or machine field: "rejection_at_0.3" → "background rejection 1/ε_B at
    30 % signal efficiency"; keys without an entry (configuration names a user types) are shown as they are."""
    m = _REJECTION.match(key)
    if m:
        return f"background rejection 1/ε_B at {float(m.group(1)) * 100:g} % signal efficiency"
    return FIELDS.get(key, key)


__all__ = ["COLUMNS", "FIELDS", "column", "field"]
