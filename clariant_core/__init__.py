"""CLARIANT core: the Lorentz group, its irreps, Clebsch–Gordan decomposition (and, later, the LGN network)."""

from ._dtypes import complex_of, real_of, unit_roundoff
from .clebsch_gordan import CGProduct, clebsch_gordan, decompose_product, su2_clebsch_gordan
from .irreps import Irrep, Irreps, spin_matrices, vector_intertwiner, wigner_d
from .lorentz import (
    boost,
    check_sl2c,
    inverse_lorentz,
    inverse_sl2c,
    is_sl2c,
    metric,
    minkowski_dot,
    minkowski_norm2,
    pauli,
    random_lorentz,
    random_sl2c,
    rotation,
    sl2c,
    to_so13,
)

__version__ = "0.1.0"

__all__ = [
    "CGProduct",
    "Irrep",
    "Irreps",
    "boost",
    "check_sl2c",
    "clebsch_gordan",
    "complex_of",
    "decompose_product",
    "inverse_lorentz",
    "inverse_sl2c",
    "is_sl2c",
    "metric",
    "minkowski_dot",
    "minkowski_norm2",
    "pauli",
    "random_lorentz",
    "random_sl2c",
    "real_of",
    "rotation",
    "sl2c",
    "spin_matrices",
    "su2_clebsch_gordan",
    "to_so13",
    "unit_roundoff",
    "vector_intertwiner",
    "wigner_d",
]
