"""CG product of two [B=64, N=50, τ=4] feature sets with every irrep (k, n ≤ 2), truncated to k, n ≤ 2."""

import pytest
import torch

import clariant_core as cc

IRREPS = cc.Irreps([(4, cc.Irrep(k, n)) for k in range(3) for n in range(3)])
PRODUCT = cc.CGProduct(IRREPS, IRREPS, max_label=2)


def _features(dtype, seed, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    return {
        ir: torch.randn(64, 50, tau, ir.dim, generator=g, dtype=dtype).requires_grad_(requires_grad)
        for tau, ir in IRREPS
    }


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
def test_cg_product_forward(benchmark, dtype):
    x, y = _features(dtype, 0), _features(dtype, 1)
    benchmark.extra_info["shape"] = "B=64 N=50 tau=4, irreps k,n<=2"
    out = benchmark.pedantic(PRODUCT, args=(x, y), rounds=5, warmup_rounds=1)
    assert out[cc.Irrep(2, 2)].shape == (64, 50, PRODUCT.irreps_out.count("(2,2)"), 9)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
def test_cg_product_forward_backward(benchmark, dtype):
    x, y = _features(dtype, 0, True), _features(dtype, 1, True)

    def step():
        out = PRODUCT(x, y)
        loss = sum(v.real.sum() for v in out.values())
        loss.backward()
        return loss

    benchmark.extra_info["shape"] = "B=64 N=50 tau=4, irreps k,n<=2"
    benchmark.pedantic(step, rounds=5, warmup_rounds=1)
    assert all(torch.isfinite(v.grad).all() for v in x.values())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_cg_product_real_forward_backward(benchmark, dtype):
    """Real features (e.g. the (k,k) real form) take the same path without complex arithmetic."""
    x, y = _features(dtype, 0, True), _features(dtype, 1, True)

    def step():
        out = PRODUCT(x, y)
        loss = sum(v.sum() for v in out.values())
        loss.backward()
        return loss

    benchmark.pedantic(step, rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("ir", [cc.Irrep(1, 1), cc.Irrep(2, 2), cc.Irrep(4, 4)], ids=str)
def test_irrep_matrix(benchmark, ir):
    m = cc.random_sl2c(10_000, max_rapidity=3.0, seed=0)
    benchmark(ir.matrix, m)
