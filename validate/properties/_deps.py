"""The one place where this package imports helpers of the Lorentz suite (if they move, fix this file only)."""

from __future__ import annotations

from ..consistency import Consistency, probe_jets
from ..consistency import compare as consistency_of
from ..evaluation import Evaluator, fixed_width_error, runs
from ..evaluation import check_jets as check_lorentz_inputs
from ..measures import dtype_name, p95, unit_roundoff
from ..strategies import random_jets
from ..verdict import DEFAULT_THRESHOLD, SATURATED, TAIL, excess_scales
from ..workers import CPU_PARTICLES_PER_CALL, has_hooks, jets_per_call, workers_for
from ..workers import run as run_jobs

__all__ = [
    "Consistency",
    "Evaluator",
    "check_lorentz_inputs",
    "consistency_of",
    "CPU_PARTICLES_PER_CALL",
    "DEFAULT_THRESHOLD",
    "SATURATED",
    "TAIL",
    "dtype_name",
    "excess_scales",
    "fixed_width_error",
    "has_hooks",
    "jets_per_call",
    "p95",
    "probe_jets",
    "random_jets",
    "run_jobs",
    "runs",
    "unit_roundoff",
    "workers_for",
]
