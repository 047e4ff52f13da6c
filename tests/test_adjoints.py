"""The hand-written backward passes of the complex rows (network/adjoints.py): each against torch's own derivatives
(gradcheck, gradgradcheck), the whole LGN's gradients with and without them, when they are used, and the
transforms (torch.func) that must not see them."""

import pytest
import torch
from helpers import REAL_DTYPES

import clariant_core as cc
from clariant.validate.strategies import random_jets
from clariant_core.network import adjoints, rows


@pytest.fixture
def always(monkeypatch):
    """The hand-written backward passes on every recorded call, however short the rows."""
    monkeypatch.setattr(adjoints, "MIN_ROW_NUMBERS", 0)
    monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 0)


@pytest.fixture
def never(monkeypatch):
    monkeypatch.setattr(adjoints, "MIN_ROW_NUMBERS", 1 << 62)
    monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 1 << 62)


def _rows(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.complex128, generator=g).requires_grad_(True)


def test_gather_derivatives(always):
    x, i = _rows(3, 2, 5), torch.tensor([0, 2, 2, 1, 0])
    assert torch.autograd.gradcheck(lambda x: adjoints.gather(x, i), (x,))
    assert torch.autograd.gradgradcheck(lambda x: adjoints.gather(x, i) * adjoints.gather(x, i), (x,))
    real = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: adjoints.gather(x, i), (real,))


def test_channel_mixing_derivatives(always):
    w, x = _rows(3, 5, seed=1), _rows(4, 5, 6, seed=2)
    assert torch.autograd.gradcheck(adjoints.mix, (w, x))
    assert torch.autograd.gradgradcheck(adjoints.mix, (w, x))


def test_aggregation_derivatives_with_unused_parts(always):
    tau, b, n = 2, 3, 4
    f = torch.randn(tau * b, n, n, dtype=torch.float64, requires_grad=True)
    parts = [_rows(d, tau, b, n, seed=d) for d in (1, 3, 2)]

    def agg(f, *parts):
        return tuple(adjoints.aggregate(f, list(parts)))

    assert torch.autograd.gradcheck(agg, (f, *parts))
    assert torch.autograd.gradgradcheck(agg, (f, *parts))
    # only one part's aggregate used downstream: the others' gradients are None, not an error
    assert torch.autograd.gradcheck(lambda f, *parts: agg(f, *parts)[1], (f, *parts))


#: output rows of a small product: a term with coefficient 1 first, one with another coefficient first, a row
#: no term reaches, an input row used twice; (a, b, c) = (x row, y row, coefficient)
_BY_ROW = (((0, 1, 1.0), (2, 0, -0.5)), ((1, 1, 0.25),), (), ((2, 2, 2.0), (0, 1, 1.0)))


@pytest.mark.parametrize(("tau_x", "tau_y"), [(2, 2), (1, 2), (2, 1)])
def test_products_by_row_derivatives(tau_x, tau_y):
    """The CG product summed row by row against torch's derivatives of the same sums, with either factor's channel
    broadcast (its gradient is then summed over the channels), and through a double backward."""
    x, y = _rows(3, tau_x, 2, 3, seed=4), _rows(3, tau_y, 2, 3, seed=5)

    def plain(x, y):  # the same sums written with autograd's own operations
        zero = torch.zeros(torch.broadcast_shapes(x.shape[1:], y.shape[1:]), dtype=x.dtype)
        return torch.stack([sum((k * x[a] * y[b] for a, b, k in row), zero) for row in _BY_ROW])

    z = adjoints.products_by_row(x, y, _BY_ROW)
    assert z.grad_fn is not None and type(z.grad_fn).__name__ == "_ProductsByRowBackward"
    assert torch.allclose(z, plain(x, y), rtol=0, atol=1e-15)
    assert torch.autograd.gradcheck(lambda x, y: adjoints.products_by_row(x, y, _BY_ROW), (x, y))
    assert torch.autograd.gradgradcheck(lambda x, y: adjoints.products_by_row(x, y, _BY_ROW), (x, y))
    # one factor without gradient: only the other's is formed
    gy = torch.autograd.grad(adjoints.products_by_row(x.detach(), y, _BY_ROW).abs().sum(), y)[0]
    assert torch.allclose(gy, torch.autograd.grad(plain(x.detach(), y).abs().sum(), y)[0], rtol=1e-12, atol=0)
    with torch.no_grad():
        assert adjoints.products_by_row(x, y, _BY_ROW).grad_fn is None
    # in pieces (one per output irrep): the same rows, each piece its own tensor, and the same derivatives
    pieces = adjoints.products_by_row(x, y, _BY_ROW, [1, 3])
    assert [t.shape[0] for t in pieces] == [1, 3] and torch.equal(torch.cat(pieces), z)
    assert torch.autograd.gradcheck(lambda x, y: tuple(adjoints.products_by_row(x, y, _BY_ROW, [3, 1])), (x, y))
    assert torch.autograd.gradgradcheck(lambda x, y: tuple(adjoints.products_by_row(x, y, _BY_ROW, [2, 2])), (x, y))
    with pytest.raises(ValueError, match="do not cut a product of 4 rows"):
        adjoints.products_by_row(x, y, _BY_ROW, [1, 2])
    with pytest.raises(ValueError, match="one rank and dtype"):  # no silent downcast, no rank the backward misses
        adjoints.products_by_row(x, y.to(torch.complex64), _BY_ROW)
    with pytest.raises(ValueError, match="one rank and dtype"):
        adjoints.products_by_row(x, y[:, 0], _BY_ROW)


def _step_gradients(dtype, batch, n, create_graph=False):
    torch.manual_seed(0)
    model = cc.LGN().to(dtype)
    p, mask = random_jets(batch, n, seed=1, dtype=dtype, min_particles=n // 2)
    loss = torch.nn.functional.cross_entropy(model(p, mask), torch.arange(batch) % 2)
    grads = torch.autograd.grad(loss, list(model.parameters()), create_graph=create_graph)
    if create_graph:  # a double backward: the gradient of the gradients' squared norm
        grads = torch.autograd.grad(sum(g.square().sum() for g in grads), list(model.parameters()))
    return grads


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("create_graph", [False, True], ids=["backward", "double_backward"])
def test_lgn_gradients_equal_autograds(dtype, create_graph, monkeypatch):
    """Every hand-written path (gathers and products by row among the CG products) against autograd through the
    gathered products and their GEMM."""
    # the same sums in another order; measured, of each gradient's largest entry (B, N = 6, 9; 5, 7; 8, 6; equal
    # in float32's and float64's u, so rounding — a term in the wrong row moves a gradient by O(1)): by gather and
    # GEMM ≤ 1.8 u, ≤ 27 u in the double backward; summed by row ≤ 42 u, ≤ 72 u
    bounds = {0: (128, 192), 1 << 62: (16, 64)}
    for by_row, bound in bounds.items():  # CG products summed row by row, or by gather (hand-written) and GEMM
        monkeypatch.setattr(adjoints, "MIN_ROW_NUMBERS", 0)
        monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", by_row)
        mine = _step_gradients(dtype, 6, 9, create_graph)
        monkeypatch.setattr(adjoints, "MIN_ROW_NUMBERS", 1 << 62)
        monkeypatch.setattr(rows, "BY_ROW_MIN_ROW_NUMBERS", 1 << 62)
        theirs = _step_gradients(dtype, 6, 9, create_graph)
        u = cc.unit_roundoff(dtype)
        for a, b in zip(mine, theirs):
            assert a.dtype == b.dtype == dtype
            assert (a - b).abs().max() <= bound[create_graph] * u * b.abs().max(), (by_row, (a - b).abs().max())


def _backward_nodes(loss) -> set[str]:
    seen, todo, names = set(), [loss.grad_fn], set()
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        todo.extend(nxt for nxt, _ in node.next_functions)
    return names


_CUSTOM = ("_GatherBackward", "_ProductsByRowBackward", "_MixBackward", "_AggregateBackward")


@pytest.mark.parametrize(
    ("batch", "n", "autocast", "used"),
    [
        (64, 50, False, {"_ProductsByRowBackward", "_MixBackward", "_AggregateBackward"}),
        (64, 50, True, {"_GatherBackward", "_MixBackward"}),
        (2, 10, False, set()),
    ],
    ids=["long", "long_autocast", "short"],
)
def test_used_on_long_rows_only(batch, n, autocast, used):
    """A training step at B = 64, N = 50 (12,800 numbers per row) sums its CG products row by row and mixes and
    aggregates by hand; under autocast (whose GEMMs round to bfloat16) the products are gathered (by hand) and
    multiplied by their GEMM, and the aggregation is autograd's; a short call uses none (the Python of a custom
    Function would cost more than it saves)."""
    torch.manual_seed(0)
    model = cc.LGN()
    p, mask = random_jets(batch, n, seed=1, dtype=torch.float32, min_particles=n)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        nodes = _backward_nodes(model(p, mask).sum())
    assert {name for name in nodes if name in _CUSTOM} == used, nodes
    with torch.no_grad():
        assert model(p, mask).grad_fn is None


def test_torch_func_transforms_run_the_plain_operations(always):
    """Inside torch.func (the floor's jvp; jacrev) tensors are functorch wrappers: the plain operations run, and
    agree with reverse mode through the hand-written backward."""
    torch.manual_seed(0)
    model = cc.LGN().to(torch.float64)
    p, mask = random_jets(3, 6, seed=2, min_particles=6)
    t = torch.randn_like(p)
    _, jvp = torch.func.jvp(lambda z: model(z, mask), (p,), (t,))
    jac = torch.func.jacrev(lambda z: model(z, mask))(p)  # [B, 2, B, N, 4]
    z = p.clone().requires_grad_(True)
    out = model(z, mask)
    rows = [torch.autograd.grad(out[:, k].sum(), z, retain_graph=True)[0] for k in range(out.shape[1])]
    via_reverse = torch.stack([(r * t).sum((1, 2)) for r in rows], 1)
    # forward and reverse mode round differently along a deep chain (measured: ≤ 24 u of the largest, 5 seeds)
    u = cc.unit_roundoff(torch.float64)
    scale = jvp.abs().max()
    assert (jvp - via_reverse).abs().max() <= 128 * u * scale
    assert (torch.einsum("bkcnj,cnj->bk", jac, t) - via_reverse).abs().max() <= 128 * u * scale
