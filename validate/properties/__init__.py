"""Beyond Lorentz: permutation, padding, infrared and collinear safety, and parity of any model
`f(p [B, N, 4], mask [B, N]) → [B, ...]`, each measured against a precision floor and judged (docs/properties.md).

    from clariant.validate.properties import run_all, assert_padding_invariant, assert_ir_safe
    results = run_all(model, p, mask)          # {property: PropertyResult}
    html = clariant.validate.properties.report.section(results, out_dir)   # the report's section (writes its PNGs)

Measure (check_*) is separate from judge (judge.py) and assert (assert_*: one-line AssertionError).
"""

from . import perturb, strategies
from .irc import assert_collinear_safe, assert_ir_safe, check_collinear, check_infrared
from .padding import assert_padding_invariant, check_padding
from .parity import assert_parity_invariant, check_parity
from .permutation import assert_permutation_invariant, check_permutation
from .result import PropertyResult, Row, Scan
from .suite import PROPERTIES, run_all, summary
from .verdicts import PropertyVerdict

__all__ = [
    "PROPERTIES",
    "PropertyResult",
    "Row",
    "Scan",
    "PropertyVerdict",
    "assert_collinear_safe",
    "assert_ir_safe",
    "assert_padding_invariant",
    "assert_parity_invariant",
    "assert_permutation_invariant",
    "check_collinear",
    "check_infrared",
    "check_padding",
    "check_parity",
    "check_permutation",
    "perturb",
    "run_all",
    "strategies",
    "summary",
]
