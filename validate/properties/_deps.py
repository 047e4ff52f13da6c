"""The one place where this package imports helpers of the Lorentz suite (if they move, fix this file only)."""

from __future__ import annotations

from ..evaluation import takes_two
from ..measures import dtype_name, p95, unit_roundoff
from ..strategies import random_jets
from ..workers import CPU_PARTICLES_PER_CALL, has_hooks, jets_per_call, model_state, workers_for
from ..workers import run as run_jobs

__all__ = [
    "CPU_PARTICLES_PER_CALL",
    "dtype_name",
    "has_hooks",
    "jets_per_call",
    "model_state",
    "p95",
    "random_jets",
    "run_jobs",
    "takes_two",
    "unit_roundoff",
    "workers_for",
]
