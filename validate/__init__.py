"""CLARIANT validate: hypothesis strategies and (in later work) invariance measures, Schur checks and reports."""

from . import strategies

__all__ = ["strategies"]
