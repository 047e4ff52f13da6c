"""Double-double Λx (clariant.validate.exact): rounded once from the exact action of the float64 SL(2,C) element."""

from decimal import Decimal, getcontext

import pytest
import torch

import clariant_core as cc
from clariant.validate.exact import lorentz_apply


def _exact(m: torch.Tensor, x: torch.Tensor) -> list[list[Decimal]]:
    """M X M† / |det M| in 60-digit decimal from the exact binary values of M and x (one M, rows of x)."""
    getcontext().prec = 60
    d = Decimal
    a = [[(d(float(m[i, j].real)), d(float(m[i, j].imag))) for j in range(2)] for i in range(2)]

    def mul(u, v):
        return (u[0] * v[0] - u[1] * v[1], u[0] * v[1] + u[1] * v[0])

    def add(u, v):
        return (u[0] + v[0], u[1] + v[1])

    det = add(mul(a[0][0], a[1][1]), mul((-a[0][1][0], -a[0][1][1]), a[1][0]))
    scale = (det[0] ** 2 + det[1] ** 2).sqrt()
    rows = []
    for x0, x1, x2, x3 in x.tolist():
        x0, x1, x2, x3 = d(x0), d(x1), d(x2), d(x3)
        big = [[(x0 + x3, d(0)), (x1, -x2)], [(x1, x2), (x0 - x3, d(0))]]
        z = [[add(mul(a[i][0], big[0][k]), mul(a[i][1], big[1][k])) for k in range(2)] for i in range(2)]

        def y(i, k, z=z):
            return add(mul(z[i][0], (a[k][0][0], -a[k][0][1])), mul(z[i][1], (a[k][1][0], -a[k][1][1])))

        y00, y11, y10 = y(0, 0), y(1, 1), y(1, 0)
        rows.append([(y00[0] + y11[0]) / 2 / scale, y10[0] / scale, y10[1] / scale, (y00[0] - y11[0]) / 2 / scale])
    return rows


@pytest.mark.parametrize("rapidity", [0.5, 3.0, 6.0, 8.0])
def test_lorentz_apply_is_rounded_once(rapidity):
    """Every component within one rounding (u relative, plus u² slack) of the exact value — including components
    that cancel by e^{2y} (particles moving against the boost), where the float64 Λ @ x is far off."""
    g = torch.Generator().manual_seed(int(rapidity * 10))
    m = cc.random_sl2c((3,), max_rapidity=rapidity, seed=g)
    m = torch.cat([m, cc.sl2c(boost=torch.tensor([0.0, 0.0, rapidity], dtype=torch.float64))[None]])
    direction = torch.randn(40, 3, generator=g, dtype=torch.float64)
    direction[:10] = torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64) + 1e-3 * direction[:10]  # against z
    energy = torch.rand(40, 1, generator=g, dtype=torch.float64) * 500 + 1
    x = torch.cat([energy, energy * direction / direction.norm(dim=-1, keepdim=True)], -1)  # massless
    x[30:, 0] *= 1.5  # and some massive ones
    got = lorentz_apply(m, x)
    assert got.shape == (4, 40, 4) and got.dtype == torch.float64
    u = cc.unit_roundoff(torch.float64)
    naive_worst = 0.0
    for t in range(4):
        exact_dec = _exact(m[t], x)
        ref = torch.tensor([[float(v) for v in row] for row in exact_dec], dtype=torch.float64)
        for i in range(40):
            for k in range(4):
                err = abs(Decimal(float(got[t, i, k])) - exact_dec[i][k])
                assert err <= Decimal(u) * abs(exact_dec[i][k]) * (1 + Decimal(1e-6)) + Decimal(1e-300), (t, i, k)
        naive = torch.einsum("ij,nj->ni", cc.to_so13(m[t]), x)
        naive_worst = max(naive_worst, float(((naive - ref).abs() / ref.abs().clamp_min(1e-300)).max()))
    if rapidity >= 6:
        assert naive_worst > 1e3 * u  # the shortcut this module replaces really is worse here


def test_lorentz_apply_checks_dtypes():
    with pytest.raises(ValueError, match="complex128 M and float64 x"):
        lorentz_apply(cc.random_sl2c((1,)).to(torch.complex64), torch.zeros(2, 4, dtype=torch.float64))


def test_lorentz_apply_chunks_and_shapes():
    m = cc.random_sl2c((3,), max_rapidity=4.0, seed=2)
    x = torch.randn(5, 7, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    whole = lorentz_apply(m, x)
    assert whole.shape == (3, 5, 7, 4)
    assert torch.equal(lorentz_apply(m, x, chunk=7), whole)  # chunking changes no bit
    with pytest.raises(ValueError, match=r"m \[T, 2, 2\] and x \[\.\.\., 4\]"):
        lorentz_apply(m, x[..., :3])
