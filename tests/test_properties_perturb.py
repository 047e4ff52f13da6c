"""The perturbations and their hypothesis strategies: each does exactly what it claims (momentum kept, directions,
energies, masks, row order), checked with bounds from float64's unit roundoff."""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from clariant.validate.properties import perturb
from clariant.validate.properties import strategies as ps
from clariant.validate.strategies import jets, random_jets

U = torch.finfo(torch.float64).eps / 2
ETA = torch.tensor([1.0, -1, -1, -1], dtype=torch.float64)


def total(p, mask):
    return (p * mask[..., None]).sum(1)


def mass2(p):
    return (p * p * ETA).sum(-1)


@settings(max_examples=20, deadline=None)
@given(jets(max_batch=3, max_particles=12), ps.permutations())
def test_permutations_reorder_real_rows_only(jet, perm):
    p, mask = jet
    p2, m2, idx = perm.apply(p, mask)
    assert torch.equal(m2, torch.sort(mask.to(torch.int8), dim=1, descending=True, stable=True)[0].bool())
    assert torch.equal(p2, p.gather(1, idx[..., None].expand(-1, -1, 4)))
    assert torch.equal(torch.sort(idx, 1)[0], torch.arange(p.shape[1]).expand_as(idx))  # a permutation
    assert torch.allclose(total(p2, m2), total(p, mask), rtol=8 * U * p.shape[1], atol=0)


def test_adversarial_orders():
    p, mask = random_jets(4, 10, seed=2, min_particles=3)
    p2, m2, _ = perturb.permute(p, mask, "ascending energy")
    e = torch.where(m2, p2[..., 0], math.inf)
    assert bool((e[:, 1:] >= e[:, :-1]).all())
    p3, _, idx = perturb.permute(p, mask, "reversed")
    n = mask.sum(1)
    assert all(idx[b, 0] == n[b] - 1 for b in range(4))


@settings(max_examples=20, deadline=None)
@given(jets(max_batch=3, max_particles=12), ps.paddings())
def test_paddings_keep_the_real_rows(jet, pad):
    p, mask = jet
    p2, m2 = pad.apply(p, mask)
    assert p2.shape[1] == p.shape[1] + pad.extra and int(m2.sum()) == int(mask.sum())
    assert torch.equal(p2[m2], p[mask])  # real rows unchanged and in order
    if not pad.garbage:
        assert bool((p2[~m2] == 0).all())
    elif (~m2).any():
        assert bool((p2[~m2] != 0).any())


@settings(max_examples=25, deadline=None)
@given(jets(max_batch=3, max_particles=10), ps.soft_emissions())
def test_soft_emission(jet, soft):
    p, mask = jet
    p2, m2 = soft.apply(p, mask)
    assert torch.equal(m2.sum(1), mask.sum(1) + 1) and p2.shape[1] == p.shape[1] + 1
    added = total(p2, m2) - total(p, mask)
    ej = total(p, mask)[:, 0]
    torch.testing.assert_close(added[:, 0], soft.fraction * ej, rtol=64 * U * p.shape[1] / soft.fraction, atol=0)
    new = p2[torch.arange(p.shape[0]), mask.sum(1)]
    assert bool((mass2(new).abs() <= 8 * U * new[:, 0] ** 2).all())  # massless
    if soft.collinear:
        k = torch.where(mask, p[..., 0], -math.inf).argmax(1)
        hard = p[torch.arange(p.shape[0]), k, 1:]
        cross = torch.linalg.cross(new[:, 1:], hard)
        assert bool((torch.linalg.vector_norm(cross, dim=-1) <= 16 * U * new[:, 0] * hard.norm(dim=-1)).all())


@settings(max_examples=25, deadline=None)
@given(jets(max_batch=3, max_particles=10), ps.collinear_splittings())
def test_collinear_split(jet, split):
    p, mask = jet
    p2, m2 = split.apply(p, mask)
    rows = torch.arange(p.shape[0])
    k = torch.where(mask, p[..., 0], -math.inf).argmax(1)
    pk, d1, d2 = p[rows, k], p2[rows, k], p2[rows, mask.sum(1)]
    scale = pk[:, :1]
    torch.testing.assert_close(d1[:, 0] + d2[:, 0], pk[:, 0], rtol=4 * U, atol=0)  # energy kept
    torch.testing.assert_close(d1[:, 0], split.z * pk[:, 0], rtol=4 * U, atol=0)
    diff = (d1 + d2 - pk)[:, 1:]
    if split.theta == 0:
        assert bool((diff.abs() <= 8 * U * scale).all())  # exactly collinear: momentum kept
    else:
        n = pk[:, 1:] / pk[:, 1:].norm(dim=-1, keepdim=True)
        transverse = diff - (diff * n).sum(-1, keepdim=True) * n
        assert bool((transverse.norm(dim=-1) <= 16 * U * scale[:, 0]).all())  # transverse momentum cancels
        # the longitudinal loss is second order: |Δp_L| ≤ E θ²/2
        assert bool(((diff * n).sum(-1).abs() <= scale[:, 0] * split.theta**2 + 16 * U * scale[:, 0]).all())
        c = (d1[:, 1:] * d2[:, 1:]).sum(-1) / (d1[:, 1:].norm(dim=-1) * d2[:, 1:].norm(dim=-1))
        opening = torch.acos(c.clamp(-1, 1))
        if split.theta > 1e-5:  # acos resolves angles down to ~√u
            torch.testing.assert_close(opening, torch.full_like(opening, split.theta), rtol=0.05, atol=1e-7)


def test_parity_and_decades():
    p, _ = random_jets(2, 5, seed=0)
    q = perturb.parity(p)
    assert torch.equal(q[..., 0], p[..., 0]) and torch.equal(q[..., 1:], -p[..., 1:])
    grid = perturb.decades(1e-8, 0.1, per_decade=2)
    assert grid[0] == 0.1 and len(grid) == 15 and min(grid) >= 1e-8 * (1 - 1e-12)


@given(st.integers(1, 5))
def test_invalid_arguments_are_rejected(k):
    p, mask = random_jets(2, 4, seed=k)
    for bad in (
        lambda: perturb.collinear_split(p, mask, 0.0),
        lambda: perturb.collinear_split(p, mask, 0.5, theta=-1.0),
        lambda: perturb.soft_emission(p, mask, -0.1),
        lambda: perturb.pad(p, mask, -k),
        lambda: perturb.permute(p, mask, "sideways"),
    ):
        try:
            bad()
        except ValueError:
            continue
        raise AssertionError("accepted an invalid argument")
