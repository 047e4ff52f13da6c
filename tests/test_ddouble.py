"""Double-double arithmetic (clariant_core.group.ddouble) against exact decimal arithmetic, in float64 and float32."""

from decimal import Decimal, getcontext

import pytest
import torch

import clariant_core as cc
from clariant_core.group.ddouble import DD, two_prod, two_sum

getcontext().prec = 80
DTYPES = (torch.float32, torch.float64)


def _dec(t: torch.Tensor, i: int) -> Decimal:
    return Decimal(float(t[i]))


def _value(x: DD, i: int) -> Decimal:
    return _dec(x.hi, i) + _dec(x.lo, i)


def _operands(dtype):
    g = torch.Generator().manual_seed(0)
    a = (torch.randn(200, generator=g, dtype=torch.float64) * 1e3).to(dtype)
    b = (torch.rand(200, generator=g, dtype=torch.float64) * 1e-2 + 1e-3).to(dtype)
    return a, b


@pytest.mark.parametrize("dtype", DTYPES)
def test_error_free_transformations_are_exact(dtype):
    a, b = _operands(dtype)
    for fn, op in ((two_sum, lambda u, v: u + v), (two_prod, lambda u, v: u * v)):
        s, e = fn(a, b)
        assert s.dtype == e.dtype == dtype
        for i in range(0, 200, 13):
            assert _dec(s, i) + _dec(e, i) == op(_dec(a, i), _dec(b, i))


@pytest.mark.parametrize("dtype", DTYPES)
def test_double_double_operations_carry_twice_the_precision(dtype):
    """+, −, ×, ÷, √ of double-double numbers: relative error within 8·u² of the exact result."""
    u = Decimal(cc.unit_roundoff(dtype))
    a, b = _operands(dtype)
    x = DD(a) / DD(b)  # non-representable quotients: a genuine low part
    y = DD.product(b, b + 1)
    cases = {
        "add": (x + y, lambda i: _value(x, i) + _value(y, i)),
        "sub": (x - y, lambda i: _value(x, i) - _value(y, i)),
        "mul": (x * y, lambda i: _value(x, i) * _value(y, i)),
        "div": (x / y, lambda i: _value(x, i) / _value(y, i)),
        "sqrt": (y.sqrt(), lambda i: _value(y, i).sqrt()),
    }
    for name, (got, exact) in cases.items():
        for i in range(0, 200, 7):
            ref = exact(i)
            assert abs(_value(got, i) - ref) <= 8 * u * u * abs(ref), (name, i)
    assert torch.equal((x + y).value(), (x + y).hi + (x + y).lo)
