"""The verdicts' bounds, in one place (docs/validation.md, "Verdicts"): what rounding can explain, and beyond."""

DEFAULT_THRESHOLD = 1e2  # PASS: the median excess over the floor at most this (a correct model's own rounding ~10–10²)
TAIL = 1e2  # the p95 may exceed the median's threshold by this factor
SATURATED = 0.1  # a relative error this large is O(1): first-order rounding no longer describes it
CAPPED = 1.0  # a relative error this large is the output's own size: a precision cannot show a larger one

__all__ = ["CAPPED", "DEFAULT_THRESHOLD", "SATURATED", "TAIL"]
