"""The plugin's property fixtures, and hypothesis-drawn perturbations against models with known behaviour."""

import torch
from hypothesis import given, settings
from test_properties_models import angular_sum, count  # the proof models, defined once

from clariant.validate import assert_lorentz_invariant
from clariant.validate.properties import PropertyVerdict
from clariant.validate.properties import strategies as ps
from clariant.validate.strategies import jets, random_jets


def test_fixtures(perturb, property_strategies, property_checks):
    p, mask = random_jets(6, 8, seed=1, min_particles=2)
    p2, m2 = perturb.soft_emission(p, mask, 1e-3)
    assert m2.shape[1] == 9 and property_strategies.soft_emissions is ps.soft_emissions
    r = property_checks(count, p, mask, properties=("permutation", "infrared"), train_width=None)
    assert r["permutation"].verdict == PropertyVerdict.PASS and r["infrared"].verdict == PropertyVerdict.UNSAFE


@settings(max_examples=15, deadline=None)
@given(jets(max_batch=3, max_particles=10, min_particles=2), ps.soft_emissions(max_fraction=1e-4))
def test_soft_emissions_move_a_safe_model_by_order_eps_and_a_count_by_one(jet, soft):
    p, mask = jet
    p2, m2 = soft.apply(p, mask)
    d = (angular_sum(p2, m2) - angular_sum(p, mask)).abs()[:, 0]
    # (1 − cos θ) ≤ 2 for the new particle, and the jet axis moves by O(ε): |Δ| ≤ 4ε plus float64 rounding
    assert bool((d <= 4 * soft.fraction + 1e3 * 2.0**-53).all()), (d.max(), soft)
    assert torch.equal(count(p2, m2) - count(p, mask), torch.ones_like(count(p, mask)))


@settings(max_examples=15, deadline=None)
@given(jets(max_batch=3, max_particles=10, min_particles=2), ps.collinear_splittings(exact=True))
def test_exact_splits_keep_a_safe_model(jet, split):
    p, mask = jet
    p2, m2 = split.apply(p, mask)
    d = (angular_sum(p2, m2) - angular_sum(p, mask)).abs()
    assert bool((d <= 1e3 * 2.0**-53).all()), d.max()


def test_the_pseudoscalar_is_lorentz_invariant():
    """ε_μνρσ p₁p₂p₃p₄ is invariant under SO⁺(1,3) (det Λ = 1) — and parity odd (test_properties_models.py)."""

    def pseudoscalar(p, mask):
        return torch.linalg.det(p[:, :4, :] / 100)[:, None]

    p, mask = random_jets(8, 8, seed=2, min_particles=4)
    assert_lorentz_invariant(pseudoscalar, p, mask, max_rapidity=2, n_rapidities=2, n_angles=2, attribute_layers=False)
