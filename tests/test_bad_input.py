"""Bad input gets a clear ValueError naming the problem (brief, non-negotiable 4)."""

import math

import pytest
import torch

import clariant_core as cc


@pytest.mark.parametrize("k,n", [(-1, 0), (0, -2), (1.5, 0), ("1", 0), (True, 0), (0, None)])
def test_bad_irrep_labels(k, n):
    with pytest.raises(ValueError, match="non-negative integer"):
        cc.Irrep(k, n)


@pytest.mark.parametrize("text", ["(1,)", "1,1", "(a,b)", "(-1,1)", "(1.5,0)", ""])
def test_unparsable_irrep(text):
    with pytest.raises(ValueError, match="irrep"):
        cc.Irrep.parse(text)


@pytest.mark.parametrize("text", ["3x(0,0)+", "x(1,1)", "3*(1,1)", "2x(1,1)+(9)"])
def test_unparsable_irreps(text):
    with pytest.raises(ValueError, match="cannot parse"):
        cc.Irreps(text)


def test_irrep_not_in_product():
    with pytest.raises(ValueError, match=r"\(2,0\) does not occur in \(1,1\) ⊗ \(0,0\)"):
        cc.clebsch_gordan("(1,1)", "(0,0)", "(2,0)")
    with pytest.raises(ValueError, match=r"\(1,1\) does not occur"):
        cc.clebsch_gordan((1, 1), (1, 1), (1, 1))  # parity of k1 + k2 + k
    with pytest.raises(ValueError, match="does not occur"):
        cc.su2_clebsch_gordan(1, 1, 4)
    with pytest.raises(ValueError, match="max_label"):
        cc.decompose_product("(1,1)", "(1,1)", max_label=-1)


def test_non_sl2c_matrix():
    with pytest.raises(ValueError, match=r"not in SL\(2,C\): det = 2"):
        cc.Irrep(1, 1).matrix(torch.eye(2, dtype=torch.complex128) * math.sqrt(2))
    batch = cc.random_sl2c(5, seed=0)
    batch[3] = batch[3] * 1.1
    with pytest.raises(ValueError, match=r"at batch index \(3,\)"):
        cc.to_so13(batch)
    with pytest.raises(ValueError, match=r"shape \[\.\.\., 2, 2\]"):
        cc.Irrep(0, 0).matrix(torch.eye(3, dtype=torch.complex128))
    with pytest.raises(ValueError, match="NaN"):
        cc.inverse_sl2c(torch.full((2, 2), float("nan"), dtype=torch.complex128))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_parameters(bad):
    kind = "NaN" if math.isnan(bad) else "inf"
    with pytest.raises(ValueError, match=f"boost contains {kind} at index"):
        cc.sl2c(boost=[0.0, 0.0, bad])
    with pytest.raises(ValueError, match=f"rotation contains {kind}"):
        cc.sl2c(rotation=torch.tensor([[0.0, 0.0, 1.0], [bad, 0.0, 0.0]]))
    with pytest.raises(ValueError, match=f"rapidity contains {kind}"):
        cc.boost((0, 0, 1), bad)
    with pytest.raises(ValueError, match=f"angle contains {kind}"):
        cc.rotation((0, 0, 1), bad)
    with pytest.raises(ValueError, match="max_rapidity"):
        cc.random_sl2c(3, max_rapidity=bad)


def test_wrong_shapes_and_types():
    with pytest.raises(ValueError, match=r"boost must have shape \[\.\.\., 3\]"):
        cc.sl2c(boost=[1.0, 2.0])
    with pytest.raises(ValueError, match="axis must be non-zero"):
        cc.boost((0, 0, 0), 1.0)
    with pytest.raises(ValueError, match=r"p must have shape \[\.\.\., 4\]"):
        cc.minkowski_dot(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="different dtypes"):
        cc.minkowski_dot(torch.zeros(4), torch.zeros(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="must be real"):
        cc.boost((0, 0, 1), torch.tensor(1.0 + 0j))
    with pytest.raises(ValueError, match="unsupported dtype"):
        cc.boost((0, 0, 1), torch.tensor(1.0, dtype=torch.float16))
    with pytest.raises(ValueError, match="needs rotation"):
        cc.sl2c()
    with pytest.raises(ValueError, match=r"Λ must have shape"):
        cc.inverse_lorentz(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="different dtypes"):
        cc.sl2c(rotation=torch.zeros(3, dtype=torch.float32), boost=torch.zeros(3, dtype=torch.float64))
