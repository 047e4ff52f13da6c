"""The one place where this package imports helpers of the Lorentz suite (if they move, fix this file only)."""

from __future__ import annotations

from ..consistency import Consistency, nudge, probe_jets, represented_unit, sensitivity
from ..consistency import probe as consistency_probe
from ..evaluation import MODEL_ERRORS, Evaluator, ModelCallError, Pass, first_line, fixed_width_error, run_passes, runs
from ..evaluation import check_jets as check_lorentz_inputs
from ..measures import dtype_name, p95, unit_roundoff
from ..strategies import random_jets
from ..verdict import DEFAULT_THRESHOLD, SATURATED, TAIL, excess_scales
from ..workers import cpu_particles_per_call, has_hooks, jets_per_call, workers_for
from ..workers import run as run_jobs

__all__ = [
    "MODEL_ERRORS",
    "Consistency",
    "Evaluator",
    "ModelCallError",
    "check_lorentz_inputs",
    "consistency_probe",
    "cpu_particles_per_call",
    "DEFAULT_THRESHOLD",
    "SATURATED",
    "TAIL",
    "dtype_name",
    "excess_scales",
    "first_line",
    "fixed_width_error",
    "has_hooks",
    "jets_per_call",
    "nudge",
    "p95",
    "Pass",
    "probe_jets",
    "random_jets",
    "represented_unit",
    "run_jobs",
    "run_passes",
    "sensitivity",
    "runs",
    "unit_roundoff",
    "workers_for",
]
