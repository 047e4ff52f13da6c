"""CLARIANT core: the Lorentz group, its irreps, Clebsch–Gordan decomposition and the LGN network."""

from clariant_core import allocator  # noqa: F401 — first: glibc keeps freed CPU temporaries (allocator.py)
from clariant_core.group.clebsch_gordan import (
    CGProduct,
    clebsch_gordan,
    decompose_product,
    exchange_sign,
    su2_clebsch_gordan,
)
from clariant_core.group.irreps import Irrep, Irreps, spin_matrices, vector_intertwiner, wigner_d
from clariant_core.group.lorentz import (
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
from clariant_core.group.rep import SCALAR, VECTOR, Rep
from clariant_core.network.lgn import LGN, LGNConfig, count_parameters
from clariant_core.numerics import complex_of, real_of, unit_roundoff

__version__ = "0.1.0"

__all__ = [
    "CGProduct",
    "Irrep",
    "Irreps",
    "LGN",
    "LGNConfig",
    "Rep",
    "SCALAR",
    "VECTOR",
    "boost",
    "check_sl2c",
    "clebsch_gordan",
    "complex_of",
    "count_parameters",
    "decompose_product",
    "exchange_sign",
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
