"""The one place where this package imports helpers of the Lorentz suite (if they move, fix this file only)."""

from __future__ import annotations

from ..measures import dtype_name, p95, unit_roundoff
from ..strategies import random_jets

__all__ = ["dtype_name", "p95", "random_jets", "unit_roundoff"]
