"""Models in the styles outside users write, each with the verdict a physicist expects — the cases an outside attack
on the suite found wrong (a float32-inside model called BROKEN, order-one bugs passing in bfloat16, a rotation
symmetry by π passing a rotation claim, single-precision property checks that could not fail, …). Written
independently of the suite's code: plain torch, no helpers from `clariant.validate`."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from clariant.validate import BROKEN, NUMERICAL, PASS, UNRESOLVED, assert_lorentz_invariant, judge, sweep
from clariant.validate.properties import (
    PropertyVerdict,
    assert_parity_invariant,
    check_collinear,
    check_infrared,
    check_parity,
    run_all,
)
from clariant.validate.strategies import random_jets

P, MASK = random_jets(16, 12, seed=0)
SMALL = dict(n_rapidities=3, n_angles=2, axes=("x", "z"))
ETA = torch.tensor([1.0, -1.0, -1.0, -1.0])


def minkowski(a, b):
    return (a * b * ETA.to(a.dtype)).sum(-1)


def pair_model(p, mask):
    """PELICAN-style: Σ_ij tanh(p_i·p_j / 10⁴) over real pairs (invariant)."""
    m = mask.to(p.dtype)
    g = minkowski(p[:, :, None, :], p[:, None, :, :]) / 1e4
    return (torch.tanh(g) * m[:, :, None] * m[:, None, :]).sum((1, 2))[:, None]


def float32_inside(p, mask):
    """The same function computed after `p.float()` — a common first line of a tagger's forward."""
    return pair_model(p.float(), mask).to(p.dtype)


def float32_inside_broken(p, mask):
    """float32 inside and a 1 % frame-dependent term: broken whatever the precision."""
    x = p.float()
    m = mask.to(x.dtype)
    leak = 0.01 * (x[..., 3] * m).sum(1) / (x[..., 0] * m).sum(1)
    return (pair_model(x, mask)[:, 0] * (1 + leak))[:, None].to(p.dtype)


def lab_frame_leak(p, mask):
    """Invariant pairs times (1 + 0.3 p_z/E of the jet): a 15–35 % frame dependence."""
    m = mask.to(p.dtype)
    total = (p * m[..., None]).sum(1)
    return pair_model(p, mask) * (1 + 0.3 * total[:, 3:4] / total[:, 0:1])


def quadrupole(p, mask):
    """Σ p_x p_y / E: invariant under a turn by π about z, not under rotations about z."""
    m = mask.to(p.dtype)
    return ((p[..., 1] * p[..., 2] / p[..., 0].clamp_min(1e-9)) * m).sum(1, keepdim=True)


class DropoutPairs(nn.Module):
    """An invariant model with dropout, left in training mode by its user."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, p, mask):
        return self.drop(pair_model(p, mask))


def test_a_model_computing_in_float32_inside_is_not_called_broken():
    j = judge(sweep(float32_inside, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL))
    assert j.verdict == PASS and j.by_dtype() == {"float64": UNRESOLVED, "float32": PASS}
    assert any("computes in float32 inside" in n for n in j.notes)
    # a broken one: float32 is then the finest precision measured, judged against bfloat16/float16
    bad = judge(sweep(float32_inside_broken, P, MASK, **SMALL))
    assert bad.verdict == BROKEN and bad.by_dtype()["float32"] == BROKEN and bad.by_dtype()["float64"] == UNRESOLVED
    # with float32 alone left to judge, an excess it cannot tell from rounding is never PASS
    alone = judge(sweep(float32_inside_broken, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL))
    assert alone.verdict in (NUMERICAL, BROKEN)


def test_a_true_float64_model_is_not_flagged_as_float32_inside():
    j = judge(sweep(pair_model, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL))
    assert j.by_dtype() == {"float64": PASS, "float32": PASS} and not any("inside" in n for n in j.notes)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_an_order_one_bug_does_not_pass_in_a_low_precision(dtype):
    p, mask = P / 10, MASK  # energies that float16 holds squared
    j = judge(sweep(lab_frame_leak, p, mask, dtypes=(dtype,), **SMALL))
    assert j.verdict == BROKEN, j.summary()
    with pytest.raises(AssertionError, match="BROKEN"):
        assert_lorentz_invariant(lab_frame_leak, p, mask, dtypes=(dtype,), **SMALL)
    # a correct model keeps its PASS in that precision
    assert judge(sweep(pair_model, p, mask, dtypes=(dtype,), **SMALL)).verdict in (PASS, UNRESOLVED)


def test_a_discrete_rotation_symmetry_fails_a_rotation_claim_at_the_smallest_grid():
    with pytest.raises(AssertionError, match="BROKEN.*rotations about z"):
        assert_lorentz_invariant(quadrupole, P, MASK, group="rot_z", n_rapidities=2, n_angles=2)
    angles = [pt.parameter for pt in sweep(quadrupole, P, MASK, n_rapidities=1, n_angles=6).points]
    assert all(abs(math.remainder(a, math.pi / 6)) > 1e-3 for a in angles[3:])  # no multiple of π/6


def test_a_model_in_training_mode_is_measured_in_eval_mode_and_left_as_it_was():
    model = DropoutPairs()
    assert model.training
    result = sweep(model, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL)
    assert model.training, "the suite switched the user's module to eval mode"
    assert judge(result).verdict == PASS and any("training mode" in n for n in result.notes)


class PlainPairs(nn.Module):
    """No dropout or batch norm: training mode (every module's default) changes nothing."""

    def forward(self, p, mask):
        return pair_model(p, mask)


class NoisyWhenTraining(nn.Module):
    """Its own forward reads self.training (noise injection during training)."""

    def forward(self, p, mask):
        out = pair_model(p, mask)
        return out * (1 + 0.1 * torch.rand_like(out)) if self.training else out


def test_the_training_mode_note_appears_only_where_the_mode_changes_something():
    quiet = sweep(PlainPairs(), P, MASK, dtypes=(torch.float64,), **SMALL)
    assert not any("training mode" in n for n in quiet.notes), quiet.notes
    noisy = sweep(NoisyWhenTraining(), P, MASK, dtypes=(torch.float64,), **SMALL)
    assert judge(noisy).verdict == PASS and any("training mode" in n for n in noisy.notes)


def test_assert_lorentz_invariant_points_a_covariant_output_to_the_equivariant_assert():
    with pytest.raises(ValueError, match="assert_lorentz_equivariant"):
        assert_lorentz_invariant(pair_model, P, MASK, out_rep="vector", **SMALL)


# --- properties ----------------------------------------------------------------------------------------------------
def pz_fraction(p, mask):
    """Σ p_z / Σ E: parity odd."""
    m = mask.to(p.dtype)
    return ((p[..., 3] * m).sum(1) / (p[..., 0] * m).sum(1))[:, None]


def mass_window(p, mask):
    """relu(m_jet − cut): exactly 0 for most jets, IR and collinear safe."""
    total = (p * mask[..., None].to(p.dtype)).sum(1)
    m = torch.sqrt(minkowski(total, total).clamp_min(0))
    return torch.relu(m - m.median() * 1.2)[:, None]


def sqrt_energies(p, mask):
    """Σ √E_i: a soft particle changes it like √ε (IR safe, the slowest safe power)."""
    return (p[..., 0].clamp_min(0).sqrt() * mask.to(p.dtype)).sum(1, keepdim=True)


def test_a_single_precision_property_check_can_fail():
    for dtypes in ((torch.float64,), (torch.float32,), ("float64",)):
        assert check_parity(pz_fraction, P, MASK, dtypes=dtypes).verdict == PropertyVerdict.ODD
        with pytest.raises(AssertionError, match="ODD"):
            assert_parity_invariant(pz_fraction, P, MASK, dtypes=dtypes)


def test_outputs_exactly_zero_for_most_jets_are_not_nonfinite():
    out = mass_window(P.double(), MASK)
    assert (out == 0).float().mean() > 0.5
    for check in (check_infrared, check_collinear):
        r = check(mass_window, P, MASK)
        assert r.verdict == PropertyVerdict.SAFE, r.worst_line()


def test_a_square_root_change_is_infrared_safe_in_both_precisions():
    r = check_infrared(sqrt_energies, P, MASK)
    assert r.verdict == PropertyVerdict.SAFE and set(r.by_dtype.values()) == {PropertyVerdict.SAFE}


class FixedWidth(nn.Module):
    """A fixed-N tagger: a Linear on the flattened [B, N·4] momenta."""

    def __init__(self, n):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(4 * n, 1)

    def forward(self, p, mask):
        x = p * mask[..., None].to(p.dtype) / 100
        return self.lin(x.flatten(1))


def test_a_fixed_width_model_gets_every_property_that_keeps_its_width():
    p, mask = random_jets(12, 10, seed=2, min_particles=3)
    full = torch.zeros(1, 10, 4, dtype=p.dtype)
    full[..., 0], full[..., 3] = 10.0, 10.0 * torch.linspace(0.1, 0.9, 10)  # a jet with no free padding row
    p, mask = torch.cat([p, full]), torch.cat([mask, torch.ones(1, 10, dtype=torch.bool)])
    results = run_all(FixedWidth(10), p, mask, trim_padding=False)
    assert results["permutation"].verdict == PropertyVerdict.BROKEN
    assert results["infrared"].verdict == PropertyVerdict.SAFE  # linear in the soft momentum
    assert results["collinear"].verdict == PropertyVerdict.UNSAFE  # a split moves momentum to another row's weights
    full_jets = int(mask.all(1).sum())
    assert (
        full_jets >= 1
        and f"{full_jets} jet" in results["infrared"].note
        and "free padding row" in results["infrared"].note
    )
    assert "fixed-width" in results["padding"].note


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: run_all(pair_model, P[:0], MASK[:0]), "no jets to measure"),
        (lambda: run_all(pair_model, P.numpy(), MASK), "torch tensor"),
        (lambda: run_all(pair_model, P[..., [1, 2, 3, 0]], MASK), "is the energy stored last"),
        (lambda: run_all(lambda p: p.sum((1, 2)), P, MASK), "takes_mask=False"),
        (lambda: run_all(lambda p, m: p[..., 0], P, MASK, properties=("permutation",)), "per_particle=True"),
        (lambda: run_all(lambda p, m: p.sum(), P, MASK, properties=("parity",)), "one row per jet"),
        (lambda: run_all(pair_model, P, MASK, dtypes=("float99",)), "dtypes are torch dtypes or one of"),
    ],
)
def test_property_checks_say_what_to_do(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def mass_with_a_special_case(p, mask):
    """√(P² + 1) — but a one-particle jet returns its energy (a code-path bug in one jet of the batch)."""
    m = mask.to(p.dtype)
    total = (p * m[..., None]).sum(1)
    mass = torch.sqrt(minkowski(total, total).clamp_min(0) + 1.0)
    return torch.where(mask.sum(1) == 1, total[:, 0], mass)[:, None]


def test_one_bad_jet_the_p95_rule_lets_through_is_named_in_a_note():
    p, mask = random_jets(16, 20, seed=0)
    lone = torch.nonzero(mask.sum(1) == 1)[:, 0].tolist()
    assert len(lone) == 1  # one jet of 16: below the p95 rule's reach
    j = judge(sweep(mass_with_a_special_case, p, mask, dtypes=(torch.float64, torch.float32), **SMALL))
    assert j.verdict == PASS
    assert any("1 of 16 jets exceed" in n and f"jet {lone[0]}" in n for n in j.notes), j.notes
    clean = judge(sweep(lambda p, m: mass_with_a_special_case(p, m & (m.sum(1, keepdim=True) > 1)), p, mask, **SMALL))
    assert not any("exceed" in n for n in clean.notes)


class DropoutVectors(nn.Module):
    """Dropout on the constituents' four-vectors (declared covariant for attribution: in training mode it zeroes
    components at random, which no Lorentz transformation commutes with), then the jet mass², then dropout again."""

    def __init__(self):
        super().__init__()
        self.vectors = nn.Dropout(0.5)
        self.drop = nn.Dropout(0.5)

    def activation_irreps(self):
        return {"vectors": "vector"}

    def forward(self, p, mask):
        v = self.vectors(p * mask[..., None].to(p.dtype))
        total = v.sum(1)
        return self.drop(minkowski(total, total)[:, None])


def test_attribution_runs_a_training_mode_model_in_eval_mode_and_gives_it_back():
    from clariant.validate import attribute

    model = DropoutVectors().double()
    model.drop.eval()  # a mixed state of the user's own: kept exactly
    a = attribute(model, P, MASK)
    assert a.first_broken is None, a.layers  # measured as deployed: dropout off
    assert model.training and model.vectors.training and not model.drop.training


def jet_mass2(p, mask):
    """m² of the jet, GeV² / 10⁴ (exactly invariant)."""
    total = (p * mask.to(p.dtype)[..., None]).sum(1) / 100
    return minkowski(total, total)


def gamma_leak(eps):
    """m² (1 + ε E_jet/m_jet): commutes with rotations, breaks every boost by ε γ — for small ε a break below
    float32's floor but far above float64's."""

    def model(p, mask):
        m2 = jet_mass2(p, mask)
        energy = (p[..., 0] * mask.to(p.dtype)).sum(1) / 100
        return (m2 * (1 + eps * energy / m2.clamp_min(1e-300).sqrt()))[:, None]

    return model


def branch_on_dtype(leaky):
    """m² with a 10⁻³ p_x/E term only in the code path of the dtype `leaky` (a float32 fast path, say)."""

    def model(p, mask):
        total = (p * mask.to(p.dtype)[..., None]).sum(1)
        m2 = minkowski(total, total) / 1e4
        if p.dtype == leaky:
            m2 = m2 * (1 + 1e-3 * total[:, 1] / total[:, 0])
        return m2[:, None]

    return model


def test_a_break_below_float32s_floor_is_broken_not_rounding():
    model = gamma_leak(1e-10)
    p, mask = random_jets(16, 12, seed=3, min_particles=3)
    j = judge(sweep(model, p, mask, dtypes=(torch.float64, torch.float32), **SMALL))
    assert j.verdict == BROKEN and j.by_dtype()["float64"] == BROKEN, j.summary()
    assert j.by_group()["so3"] == PASS and j.by_group()["boost_z"] == BROKEN
    with pytest.raises(AssertionError, match="BROKEN"):
        assert_lorentz_invariant(model, p, mask, allow_numerical=True, **SMALL)


def test_a_break_in_one_dtypes_code_path_is_named_in_that_dtype_only():
    p, mask = random_jets(16, 12, seed=3, min_particles=3)
    kw = dict(dtypes=(torch.float64, torch.float32), **SMALL)
    f32 = judge(sweep(branch_on_dtype(torch.float32), p, mask, **kw))
    assert f32.by_dtype() == {"float64": PASS, "float32": BROKEN}, f32.reasons_by_dtype()
    f64 = judge(sweep(branch_on_dtype(torch.float64), p, mask, **kw))
    assert f64.by_dtype() == {"float64": BROKEN, "float32": PASS}, f64.reasons_by_dtype()


def pt_eta_model(p, mask):
    """Σ pT_i (1 + tanh Δy_i²) with Δy the rapidity relative to the jet's: invariant under the beam subgroup only."""
    m = mask.to(p.dtype)
    e, pz = p[..., 0].clamp_min(1e-12), p[..., 3]
    y = 0.5 * torch.log((e + pz) / (e - pz).clamp_min(1e-12))
    total = (p * m[..., None]).sum(1)
    y_jet = 0.5 * torch.log((total[:, 0] + total[:, 3]) / (total[:, 0] - total[:, 3]))
    pt = torch.sqrt(p[..., 1] ** 2 + p[..., 2] ** 2)
    return ((pt * (1 + torch.tanh((y - y_jet[:, None]) ** 2)) * m).sum(1) / 100)[:, None]


def test_a_restricted_sweep_speaks_only_for_the_subgroups_it_measured():
    full = judge(sweep(pt_eta_model, P, MASK, dtypes=(torch.float64,), groups=("beam",), **SMALL)).by_group()
    assert full["full"] == BROKEN and full["so3"] == BROKEN and full["beam"] == PASS
    beam = judge(sweep(pt_eta_model, P, MASK, dtypes=(torch.float64,), group="beam", groups=("beam",), **SMALL))
    assert beam.verdict == PASS and set(beam.by_group()) == {"beam", "rot_z", "boost_z"}
    rot = assert_lorentz_invariant(pt_eta_model, P, MASK, group="rot_z", n_rapidities=2, n_angles=2)
    assert set(rot.by_group()) == {"rot_z"}


def test_a_pass_the_tail_rule_allowed_warns_where_the_assert_runs():
    p, mask = random_jets(32, 16, seed=9, min_particles=3)
    m2 = jet_mass2(p, mask)
    cut = float(m2.sort(descending=True).values[:2].mean())  # only the heaviest jet is above it

    def one_jet_leak(p, mask):
        total = (p * mask.to(p.dtype)[..., None]).sum(1) / 100
        mm = minkowski(total, total)
        return (mm * (1 + 1e-3 * (mm > cut).to(p.dtype) * total[:, 1] / total[:, 0]))[:, None]

    heaviest = int(m2.argmax())
    with pytest.warns(UserWarning, match=rf"passed, but 1 of 32 jets .* jet {heaviest}\b"):
        assert_lorentz_invariant(one_jet_leak, p, mask, n_rapidities=3, n_angles=2)


def test_jets_a_precision_cannot_resolve_are_not_reported_as_outliers():
    p, mask = random_jets(32, 12, seed=2)  # single-particle jets among them: m² = 0 exactly
    assert (mask.sum(1) == 1).any()
    j = judge(sweep(lambda p, mask: jet_mass2(p, mask)[:, None], p, mask, dtypes=(torch.float64,), **SMALL))
    assert j.verdict == PASS and not j.outliers, j.notes
    assert all(math.isfinite(r.error_p95) and r.error_p95 < 1e-3 for r in j.rows)  # figures over the judged jets


def test_jets_of_zero_four_vectors_are_refused_not_passed():
    p = torch.zeros(3, 5, 4, dtype=torch.float64)
    mask = torch.ones(3, 5, dtype=torch.bool)

    def energy_sum(p, mask):  # not invariant: it must never PASS
        return (p[..., 0] * mask).sum(1, keepdim=True)

    match = r"jet 0 has only zero four-momenta .*\(3 of 3 jets\).* padding marked as real"
    with pytest.raises(ValueError, match=match):
        sweep(energy_sum, p, mask, **SMALL)


def test_an_order_dependence_below_float32s_floor_is_a_broken_permutation_not_rounding():
    def first_particle_leak(p, mask):  # Σ tanh(p_i·p_j) (1 + 10⁻¹¹ E_first/E_jet): depends on which particle is first
        m = mask.to(p.dtype)
        s = (torch.tanh(minkowski(p[:, :, None, :], p[:, None, :, :]) / 1e4) * m[:, :, None] * m[:, None, :]).sum(
            (1, 2)
        )
        return (s * (1 + 1e-11 * p[:, 0, 0] / (p[..., 0] * m).sum(1)))[:, None]

    p, mask = random_jets(32, 12, seed=1, min_particles=3)
    from clariant.validate.properties import check_permutation

    r = check_permutation(first_particle_leak, p, mask)
    assert r.verdict == PropertyVerdict.BROKEN and r.by_dtype["float64"] == PropertyVerdict.BROKEN, r.by_dtype


def energy_clamp(p, mask):
    """Jet m² after an "overflow guard" E ≤ 20 TeV: exact below it, so only large boosts reach the bug."""
    e = p[..., :1].clamp(max=2e4)
    total = (torch.cat([e, p[..., 1:]], -1) * mask.to(p.dtype)[..., None]).sum(1)
    return (minkowski(total, total) / 1e4)[:, None]


def test_a_bug_only_large_boosts_reach_is_broken_not_saturated_rounding():
    p, mask = random_jets(32, 20, seed=0, min_particles=2)
    j = judge(sweep(energy_clamp, p, mask, dtypes=(torch.float64, torch.float32), n_rapidities=6, axes=("z",)))
    assert j.verdict == BROKEN and j.by_group()["so3"] == PASS, j.summary()
    worst = max(j.rows, key=lambda r: r.error_p95)
    assert worst.verdict == BROKEN and "within its floor" in worst.reason
    with pytest.raises(AssertionError, match="BROKEN"):
        assert_lorentz_invariant(energy_clamp, p, mask, allow_numerical=True, n_rapidities=6, axes=("z",))


def test_a_model_that_changes_its_input_in_place_changes_nothing_of_the_suites():
    def mass_in_tev(p, mask):  # the unit conversion done in place, as some preprocessing does
        p.div_(1000.0)
        return jet_mass2(p, mask)[:, None]

    p, mask = random_jets(16, 12, seed=4, min_particles=2)
    before = p.clone()
    results = run_all(mass_in_tev, p, mask)
    assert torch.equal(p, before)
    assert {k: str(r.verdict) for k, r in results.items()} == {
        "permutation": "PASS",
        "padding": "PASS",
        "infrared": "SAFE",
        "collinear": "SAFE",
        "parity": "EVEN",
    }
    assert judge(sweep(mass_in_tev, p, mask, **SMALL)).verdict == PASS and torch.equal(p, before)


def test_a_dict_of_named_outputs_is_told_to_return_a_tensor():
    with pytest.raises(ValueError, match=r"returned a dict with keys 'logit', not a tensor: return a \[B, \.\.\.\]"):
        sweep(lambda p, mask: {"logit": jet_mass2(p, mask)[:, None]}, P, MASK, **SMALL)


def scaled_then_float32(p, mask):
    """Preprocessing in float64 (GeV → TeV), then the network in float32: returns float32 for float64 inputs."""
    return pair_model((p / 1e3).float() * 1e3, mask)


def test_float32_after_float64_preprocessing_is_judged_at_float32():
    j = judge(sweep(scaled_then_float32, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL))
    assert j.verdict == PASS and j.by_dtype() == {"float64": UNRESOLVED, "float32": PASS}, j.reasons_by_dtype()
    for model in (scaled_then_float32, float32_inside):  # float32 outputs; float64 outputs equal bit for bit
        results = run_all(model, P, MASK)
        verdicts = {k: str(r.verdict) for k, r in results.items()}
        assert verdicts == {
            "permutation": "PASS",
            "padding": "PASS",
            "infrared": "SAFE",  # a soft particle k adds pairs tanh(p_i·p_k/10⁴) ∝ ε
            "collinear": "UNSAFE",  # splitting a particle adds the pair term tanh(p_a·p_b/10⁴) of its halves
            "parity": "EVEN",
        }, verdicts


@pytest.mark.parametrize("size,verdict", [(0.5, PropertyVerdict.BROKEN), (1e-3, PropertyVerdict.NUMERICAL)])
def test_an_order_dependence_in_a_float32_inside_model_is_judged_with_one_precision(size, verdict):
    """Computed in float32 whatever the input: no second precision can tell rounding from a bug, so the
    one-precision rule judges — a change beyond 10⁴× the float32 floor is BROKEN, one within it NUMERICAL (never
    PASS)."""

    def first_particle_leak(p, mask):
        x = p.float()
        m = mask.to(x.dtype)
        return (pair_model(x, mask)[:, 0] * (1 + size * x[:, 0, 0] / (x[..., 0] * m).sum(1)))[:, None].double()

    from clariant.validate.properties import check_permutation

    r = check_permutation(first_particle_leak, *random_jets(16, 12, seed=1, min_particles=3))
    assert r.verdict == verdict and r.by_dtype["float64"] == verdict, r.worst_line()


def levi_civita(p, mask):
    """ε_μνρσ P^μ Q^ν R^ρ S^σ / (P²)² of four covariant jet vectors (moments Σ p_i x_i^k, x_i = p_i·P/P²): exactly
    invariant, parity-odd, and exactly 0 on jets of fewer than four particles, where the computed value is rounding
    noise."""
    m = mask.to(p.dtype)[..., None]
    total = (p * m).sum(1, keepdim=True)
    x = (minkowski(p, total) / minkowski(total, total))[..., None]
    vectors = torch.stack([(p * m * x**k).sum(1) for k in range(4)], -2)
    return (torch.linalg.det(vectors) / minkowski(total[:, 0], total[:, 0]) ** 2)[:, None]


def test_an_output_that_is_rounding_noise_on_some_jets_is_not_a_broken_symmetry():
    p, mask = random_jets(32, 20, seed=0, min_particles=2)
    assert (mask.sum(1) <= 3).sum() >= 3  # jets where the output is 0 in exact arithmetic
    s = sweep(levi_civita, p, mask, dtypes=(torch.float64, torch.float32), **SMALL)
    assert judge(s).verdict == PASS, judge(s).summary()
    assert "rounding noise" in s.measurements["float64"].floor_method


class CastsItsInput(nn.Module):
    """A float32 network whose forward starts with x = x.float(): with float64 weights it could not run at all."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.mlp = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, p, mask):
        total = (p.float() * mask[..., None]).sum(1)
        return self.mlp(minkowski(total, total)[:, None] / 1e4)


def test_a_network_that_casts_its_input_runs_with_its_own_weights():
    model = CastsItsInput()
    s = sweep(model, P, MASK, dtypes=(torch.float64, torch.float32), **SMALL)
    j = judge(s)
    assert j.verdict == PASS and j.by_dtype() == {"float64": UNRESOLVED, "float32": PASS}, j.reasons_by_dtype()
    assert any("casts its inputs itself" in n and "float32 weights" in n for n in s.notes), s.notes
    assert next(model.parameters()).dtype == torch.float32  # the caller's module as it was
    verdicts = {k: str(r.verdict) for k, r in run_all(model, P, MASK).items()}
    assert verdicts == {
        "permutation": "PASS",
        "padding": "PASS",
        "infrared": "SAFE",
        "collinear": "SAFE",
        "parity": "EVEN",
    }, verdicts


def test_a_nonfinite_verdict_names_the_jets():
    def over_mass(p, mask):  # divides by the jet mass²: NaN for one-particle (massless) jets
        total = (p * mask.to(p.dtype)[..., None]).sum(1)
        m2 = minkowski(total, total)[:, None]
        return total[:, :1] ** 2 / torch.where(m2 > 0, m2, torch.full_like(m2, float("nan")))

    p, mask = random_jets(16, 8, seed=2)
    single = torch.nonzero(mask.sum(1) == 1)[:, 0].tolist()
    assert single
    j = judge(sweep(over_mass, p, mask, dtypes=(torch.float64,), **SMALL))
    worst = next(r for r in j.rows if r.verdict == "NONFINITE")
    assert f"jet{'s' if len(single) > 1 else ''} {single[0]}" in worst.reason, worst.reason


def test_a_model_computing_in_float16_inside_is_unresolved_not_broken():
    def half_inside(p, mask):  # float16 arithmetic for speed, float32 out: exactly invariant, float16 rounding
        q = (p / 3e4).half() * mask.half()[..., None]
        total = q.sum(1)
        return minkowski(total, total)[:, None].float()

    p, mask = random_jets(32, 20, seed=0, min_particles=2)
    s = sweep(half_inside, p, mask, dtypes=(torch.float64, torch.float32), **SMALL)
    j = judge(s)
    assert j.verdict == UNRESOLVED and set(j.by_dtype().values()) == {UNRESOLVED}, j.reasons_by_dtype()
    assert any("computes in float16 inside" in n for n in s.notes), s.notes
    assert all("float16 precision" in r.reason or "set aside" in r.reason for r in j.rows if r.dtype == "float32")


def test_messages_for_a_fixed_width_network_and_plain_tensor_weights():
    class FlatMLP(nn.Module):  # flattens [B, 20, 4]: built for 20 rows
        def __init__(self):
            super().__init__()
            self.f = nn.Linear(80, 1)

        def forward(self, p, mask):
            return self.f((p * mask[..., None]).flatten(1))

    class PlainWeight(nn.Module):  # a float32 weight kept as a plain attribute: .to(float64) leaves it
        def __init__(self):
            super().__init__()
            self.w = torch.ones(4, 1)

        def forward(self, p, mask):
            return (p * mask[..., None]).sum(1) @ self.w

    p, mask = random_jets(8, 20, seed=5, min_particles=2)
    with pytest.raises(ValueError, match=r"trimmed to .* pass trim_padding=False"):
        sweep(FlatMLP(), p, mask, **SMALL)
    with pytest.raises(ValueError, match=r"plain attributes \(w \(float32\)\): register them"):
        sweep(PlainWeight(), p, mask, **SMALL)


def test_a_parity_odd_result_shows_the_line_that_decided_it():
    r = check_parity(levi_civita, *random_jets(16, 12, seed=1, min_particles=5))
    assert r.verdict == PropertyVerdict.ODD and "f(Px) − f(x)" in r.worst_line(), r.worst_line()


def test_outputs_that_happen_to_be_float16_numbers_are_judged_as_computed():
    def multiplicity_score(p, mask):  # 1000 + 7·n: exact integers in 257…2048, float16 numbers by coincidence
        return (1000 + 7 * mask.sum(1, keepdim=True)).to(p.dtype) + 0 * p.sum((1, 2))[:, None]

    j = assert_lorentz_invariant(multiplicity_score, P, MASK, **SMALL)
    assert j.verdict == PASS and set(j.by_dtype().values()) == {PASS}, j.by_dtype()


def lab_tensor_contraction(p, mask):
    """tanh(Σ_ij (p_i·p_j)² / (P²)²) via the lab-frame tensor T = Σ_i p_i p_iᵀ contracted with η: exactly invariant,
    its own rounding growing with the boost (float32 overflows on a jet or two at large rapidity)."""
    q = p * mask.to(p.dtype)[..., None]
    t = torch.einsum("bim,bin->bmn", q, q)
    eta = ETA.to(p.dtype)
    contracted = (t * t * eta[None, :, None] * eta[None, None, :]).sum((1, 2))
    total = q.sum(1)
    return torch.tanh(contracted / minkowski(total, total) ** 2)[:, None]


def test_a_few_jets_overflowing_in_float32_do_not_turn_growing_rounding_into_a_bug():
    p, mask = random_jets(32, 12, seed=0, min_particles=2)
    j = judge(sweep(lab_tensor_contraction, p, mask, dtypes=(torch.float64, torch.float32), axes=("z",), n_angles=2))
    assert j.verdict == NUMERICAL, j.summary()
    reasons = [r.reason for r in j.rows]
    assert any("left out of the comparison: non-finite in float32" in r for r in reasons), reasons


def energy_sum_in_bfloat16(p, mask):
    """Σ E_i — not invariant under boosts at all — returned in bfloat16 whatever the input precision."""
    return (p[..., 0] * mask.to(p.dtype)).sum(1, keepdim=True).to(torch.bfloat16)


def pairs_in_bfloat16(p, mask):
    """The invariant pair model, its output returned in bfloat16 whatever the input precision."""
    return pair_model(p, mask).to(torch.bfloat16)


def test_an_order_one_break_behind_a_bfloat16_output_never_passes():
    """Every precision's outputs are bfloat16: the bfloat16 rows' rounding allowance (~100× a floor of a few 10⁻²)
    swallowed the energy sum's O(1) boost error, and the headline came from them — PASS. Nothing finer can tell that
    allowance from a bug, so those rows and the boosts are unresolved; rotations, which leave Σ E exact, still pass."""
    for p, mask in ((P, MASK), random_jets(4, 5, seed=0)):
        j = judge(sweep(energy_sum_in_bfloat16, p, mask, **SMALL))
        assert j.verdict in (UNRESOLVED, NUMERICAL), j.summary()  # never PASS; nothing finer tells rounding apart
        fam = j.by_family()
        assert fam["boosts along z"] == UNRESOLVED and fam["rotations about z"] == PASS, fam
        boosts = [r for r in j.rows if r.kind == "boost"]
        assert all(r.verdict != PASS for r in boosts), [r.line() for r in boosts if r.verdict == PASS]
        with pytest.raises(AssertionError, match="UNRESOLVED|NUMERICAL"):
            assert_lorentz_invariant(energy_sum_in_bfloat16, p, mask, **SMALL)
    # the same output dtype on a correct model is never called broken
    assert judge(sweep(pairs_in_bfloat16, P, MASK, **SMALL)).verdict in (PASS, UNRESOLVED)


def test_a_family_nothing_resolved_keeps_a_pass_elsewhere_from_the_headline():
    """The headline is the worst of the families' verdicts: an unresolved family turns PASS into UNRESOLVED, while a
    resolved BROKEN elsewhere still decides."""
    from clariant.validate.verdict import RowVerdict, families_headline

    def row(family, verdict):
        return RowVerdict("float64", "boost", "x", 1.0, verdict, 0.0, 0.0, 0.0, None, None, "", family=family)

    mixed = [row("a", UNRESOLVED), row("a", PASS), row("b", PASS)]
    assert families_headline(mixed) == PASS  # family a resolved at one row
    assert families_headline([row("a", UNRESOLVED), row("b", PASS)]) == UNRESOLVED
    assert families_headline([row("a", UNRESOLVED), row("b", BROKEN)]) == BROKEN
    assert families_headline([]) is None


def momentum_fractions_with_energy_leak(p, mask):
    """Σ_i z_i², z_i = p_i·P / P² (invariant; P² clamped away from 0 as taggers do), plus 10⁻⁶ Σ E_i / 100 GeV: the
    energy term is a real break of 10⁻⁴–10⁻² under large boosts."""
    q, m = p / 100.0, mask.to(p.dtype)
    total = (q * m[..., None]).sum(1, keepdim=True)
    z = minkowski(q, total) / minkowski(total, total).clamp_min(1e-12) * m
    return (z * z).sum(1) + 1e-6 * (q[..., 0] * m).sum(1)


def test_a_break_judged_at_one_large_rapidity_is_not_read_as_rounding_from_a_float32_tail():
    """At y = 6 a few jets' float32 P² cancels to ≤ 0 (relative errors of 10²³): the p95s then differ by far more
    than rounding's 5·10⁸, while float64's error is the leak (10⁻³–10⁻²) on every jet. float64's row is BROKEN;
    float32's may pass — the leak lies below its floor there (u₃₂e¹² ~ 10⁻²), which float64's row is for."""
    p, mask = random_jets(48, 16, seed=1, min_particles=3)
    kw = dict(rapidities=[6.0], axes=("x",), n_angles=2)
    j = judge(sweep(momentum_fractions_with_energy_leak, p, mask, dtypes=(torch.float64, torch.float32), **kw))
    boosts = [r for r in j.rows if r.kind == "boost"]
    assert j.verdict == BROKEN and all(r.verdict == BROKEN for r in boosts if r.dtype == "float64"), j.summary()
    assert all(r.verdict in (PASS, BROKEN) for r in boosts), [(r.dtype, r.verdict, r.reason) for r in boosts]
    with pytest.raises(AssertionError, match="BROKEN"):
        assert_lorentz_invariant(momentum_fractions_with_energy_leak, p, mask, allow_numerical=True, **kw)


def _mlp(i, h, o):
    return nn.Sequential(nn.Linear(i, h), nn.SiLU(), nn.Linear(h, h), nn.SiLU(), nn.Linear(h, o))


class Float32Features(nn.Module):
    """Invariant features (m², Σ z_i², z_i = p_i·P / P²) computed after `p.float()` — as a data loader hands them —
    feeding a head in the module's own dtype; `leak`: a frame-dependent term in the features."""

    def __init__(self, leak: float = 0.0):
        super().__init__()
        torch.manual_seed(0)
        self.head, self.leak = _mlp(2, 16, 1), leak

    def forward(self, p, mask):
        q = p.float() / 100
        m = mask.to(q.dtype)
        total = (q * m[..., None]).sum(1)
        m2 = minkowski(total, total)
        z = minkowski(q, total[:, None]) / m2.clamp_min(1e-6)[:, None] * m
        feats = torch.stack([m2, (z * z).sum(1) * (1 + self.leak * total[:, 1] / total[:, 0])], -1)
        return self.head(feats.to(p.dtype))[:, 0]


def test_float32_features_before_a_float64_head_are_float32_inside_not_a_bug():
    """Its float64 outputs differ from its float32 ones (the head), so they are not equal bit for bit; but they do not
    follow input changes far below float32's rounding: float64 cannot be measured, float32 is judged against the
    narrower dtypes."""
    p, mask = random_jets(48, 16, seed=1, min_particles=3)
    j = judge(sweep(Float32Features().double(), p, mask, n_rapidities=4, n_angles=4))
    assert j.verdict == PASS and j.by_dtype()["float64"] == UNRESOLVED, j.reasons_by_dtype()
    assert j.by_dtype()["float32"] == PASS and "computes in float32 inside" in j.reasons_by_dtype()["float64"]
    leaky = judge(sweep(Float32Features(leak=0.3).double(), p, mask, n_rapidities=4, n_angles=4))
    assert leaky.verdict == BROKEN and leaky.by_dtype()["float32"] == BROKEN, leaky.reasons_by_dtype()
    # float32 alone left to judge: an excess it cannot tell from rounding is never PASS
    alone = judge(sweep(Float32Features(leak=0.3).double(), p, mask, dtypes=(torch.float64, torch.float32)))
    assert alone.verdict in (NUMERICAL, BROKEN)


@pytest.mark.parametrize("jets", [1, 3])
def test_float32_features_are_found_on_a_handful_of_jets(jets):
    p, mask = random_jets(jets, 10, seed=1)
    j = judge(sweep(Float32Features().double(), p, mask, n_rapidities=4, n_angles=4))
    assert j.by_dtype()["float64"] == UNRESOLVED and j.by_dtype()["float32"] == PASS, j.reasons_by_dtype()
    assert "float64 → float32" in j.reasons_by_dtype()["float64"]


class Float32Eigenvalues(nn.Module):
    """The four extreme eigenvalues of the Minkowski Gram matrix p_i·p_j (built in the input's dtype) from a float32
    eigensolver, as often done on a GPU, then a head: float32 LAPACK gives other last digits for a matrix alone than
    in a batch."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.head = nn.Sequential(nn.Linear(4, 16), nn.SiLU(), nn.Linear(16, 1))

    def forward(self, p, mask):
        q = p / 100 * mask[..., None].to(p.dtype)
        lam = torch.linalg.eigvalsh(minkowski(q[:, :, None], q[:, None]).float()).to(p.dtype)
        return self.head(torch.asinh(torch.cat([lam[:, :3], lam[:, -1:]], 1)))[:, 0]


def test_a_float32_eigensolver_is_float32_inside_not_a_dependence_on_the_other_jets():
    p, mask = random_jets(48, 16, seed=1, min_particles=4)
    j = judge(sweep(Float32Eigenvalues().double(), p, mask, n_rapidities=4, n_angles=4))
    assert j.inconsistent == "" and j.verdict == PASS, j.summary()
    assert any("computes in float32 inside" in n for n in j.notes), j.notes


class DeepSetsZ(nn.Module):
    """ρ(Σ_i φ(z_i)), z_i = p_i·P / P²: per jet, invariant, with torch's default initialisation."""

    def __init__(self):
        super().__init__()
        self.phi, self.rho = _mlp(1, 16, 8), _mlp(8, 16, 1)

    def forward(self, p, mask):
        q, m = p / 100, mask[..., None].to(p.dtype)
        total = (q * m).sum(1, keepdim=True)
        z = minkowski(q, total) / minkowski(total, total)
        return self.rho((self.phi(z[..., None]) * m).sum(1))[:, 0]


def test_an_untrained_per_jet_network_is_never_called_dependent_on_the_other_jets():
    """With some initialisations a probed jet's output nearly cancels in the last layer, whose sum then rounds
    differently alone than in a batch (~10² × the jet's input-rounding floor): rounding, not a finding."""
    p, mask = random_jets(48, 16, seed=1, min_particles=3)
    for seed in range(10):
        torch.manual_seed(seed)
        j = judge(sweep(DeepSetsZ().double(), p, mask, n_rapidities=4, n_angles=4))
        assert j.inconsistent == "" and j.verdict in (PASS, NUMERICAL), (seed, j.summary())


class NearestNeighbours(nn.Module):
    """For each particle its k nearest neighbours by p_i·p_j (torch.topk), edge features log(1 + p_i·p_j), z_i, z_j
    (z = p·P / P²) through an MLP, summed: exactly invariant, but which neighbour is k-th is a discontinuous choice.
    `leak`: a frame-dependent term, 10⁻³ Σ p_x / Σ E."""

    def __init__(self, k: int = 4, leak: float = 0.0):
        super().__init__()
        torch.manual_seed(0)
        self.k, self.leak = k, leak
        self.edge = nn.Sequential(nn.Linear(3, 16), nn.SiLU(), nn.Linear(16, 8))
        self.head = nn.Sequential(nn.Linear(8, 16), nn.SiLU(), nn.Linear(16, 1))

    def forward(self, p, mask):
        q, n = p / 100, p.shape[1]
        m = mask[..., None].to(q.dtype)
        total = (q * m).sum(1, keepdim=True)
        d = minkowski(q[:, :, None], q[:, None])
        valid = mask[:, None, :] & mask[:, :, None] & ~torch.eye(n, dtype=torch.bool)
        idx = torch.topk(torch.where(valid, d, torch.finfo(d.dtype).max), self.k, dim=-1, largest=False).indices
        z = minkowski(q, total) / minkowski(total, total)
        feats = torch.stack(
            [
                torch.log1p(d.gather(2, idx).clamp_min(0)),
                z[:, :, None].expand(-1, -1, self.k),
                z[:, None, :].expand(-1, n, -1).gather(2, idx),
            ],
            -1,
        )
        h = (self.edge(feats) * valid.gather(2, idx)[..., None]).sum(2) * m
        out = self.head(h.sum(1))[:, 0]
        return out * (1 + self.leak * total[:, 0, 1] / total[:, 0, 0])


def _tied_jets(b: int = 32, gap: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Jets whose leading particle has two candidates for its 4th neighbour at equal p₀·p_j in exact arithmetic (the
    same polar angle about it, different azimuths, so different z_j), each jet turned to a random direction:
    rounding decides which is taken. `gap`: the second candidate's polar angle larger by that relative amount — a
    near-tie, which only the larger roundings of a boosted jet reach."""
    parts = [(200.0, 0.0, 0.0), (50.0, 0.02, 0.3), (40.0, 0.03, 2.0), (30.0, 0.025, 4.0)]  # three nearer
    parts += [(60.0, 0.3, 0.0), (60.0, 0.3 * (1 + gap), 2.0), (80.0, 0.5, 0.5), (20.0, 0.45, 1.0)]  # the tie, …
    base = torch.tensor(
        [[e, e * math.sin(t) * math.cos(f), e * math.sin(t) * math.sin(f), e * math.cos(t)] for e, t, f in parts],
        dtype=torch.float64,
    )
    g, jets = torch.Generator().manual_seed(0), []
    for _ in range(b):
        q, r = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
        q = q * torch.sign(torch.diagonal(r))
        q = q if torch.det(q) > 0 else q * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
        jets.append(torch.cat([base[:, :1], base[:, 1:] @ q.T], 1))
    p = torch.stack(jets)
    return p, torch.ones(p.shape[:2], dtype=torch.bool)


def test_a_neighbour_choice_that_rounding_decides_is_not_a_broken_symmetry():
    """The tie flips under a float64 rounding of the inputs for ~20 % of the draws: the floor's four draws miss that
    on ~40 % of the jets, whose error (the jump, ~3·10⁻⁴) then stood 10¹² above a first-order floor — BROKEN. A jet
    that far beyond its floor is looked at again (32 more roundings) first. A leak well beyond what the jump hides
    (here every jet has the tie: 10 %) is still BROKEN."""
    p, mask = _tied_jets()
    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32))
    s = sweep(NearestNeighbours().double(), p, mask, **kw)
    assert judge(s).verdict == PASS, judge(s).summary()
    assert "looked at again" in s.measurements["float64"].floor_method
    assert judge(sweep(NearestNeighbours(leak=0.1).double(), p, mask, **kw)).verdict == BROKEN


def test_a_near_tie_that_only_boosted_roundings_reach_is_not_a_broken_symmetry():
    """The tie moved by 10⁻¹³ relative: no rounding of the jet at rest flips it, the rounding of a jet boosted to
    rapidity ≳ 3 does. The second look draws that rounding too (pulled back through Λ⁻¹), at the transformations where
    the jet stands beyond its floor; at rest alone it left the boosts BROKEN."""
    p, mask = _tied_jets(gap=1e-13)
    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32))
    s = sweep(NearestNeighbours().double(), p, mask, **kw)
    assert judge(s).verdict == PASS, judge(s).summary()
    assert judge(sweep(NearestNeighbours(leak=0.1).double(), p, mask, **kw)).verdict == BROKEN


def test_floors_do_not_depend_on_the_order_the_dtypes_are_asked_in():
    """A jump float64's second look finds raises float32's floor too: measured finest first, whatever the order."""
    p, mask = _tied_jets(16)
    kw = dict(n_rapidities=3, n_angles=2)
    a = sweep(NearestNeighbours().double(), p, mask, dtypes=(torch.float64, torch.float32), **kw)
    b = sweep(NearestNeighbours().double(), p, mask, dtypes=(torch.float32, torch.float64), **kw)
    assert list(b.measurements) == ["float32", "float64"]
    for name in ("float64", "float32"):
        assert torch.equal(a.measurements[name].floor, b.measurements[name].floor), name


def counting(f, seen: list):
    """f, appending the number of jets of each call to `seen` (outside the model: the suite evaluates copies)."""

    def model(p, mask):
        seen.append(p.shape[0])
        return f(p, mask)

    return model


def test_a_smooth_break_is_looked_at_again_on_a_few_jets_only(monkeypatch):
    """Every jet of a 30 % energy-dependent mass stands far beyond its floor, and no rounding jump explains it: the
    second look stops after its first jets (8, at rest and at one transformation: 64 evaluations each, per
    precision) instead of looking at all 48."""
    p, mask = random_jets(48, 10, seed=1)

    def mass(p, mask):
        total = (p * mask[..., None].to(p.dtype)).sum(1)
        return minkowski(total, total)

    def broken(p, mask):
        total = (p * mask[..., None].to(p.dtype)).sum(1)
        return minkowski(total, total) + 0.3 * total[:, 0] ** 2

    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32))
    monkeypatch.setenv("CLARIANT_EVAL_WORKERS", "1")  # the counts stay in this process
    clean, bad = [], []
    assert judge(sweep(counting(mass, clean), p, mask, **kw)).verdict == PASS
    s = sweep(counting(broken, bad), p, mask, **kw)
    assert judge(s).verdict == BROKEN
    assert "; 8 jets far beyond it looked at again" in s.measurements["float64"].floor_method
    # 8 jets × 64 evaluations per precision, and one jet traced (float64 beyond its floor: validate/narrowing.py)
    assert 0 < sum(bad) - sum(clean) <= 2 * 8 * 64 + 1, (sum(bad), sum(clean))


class FarTailTagger(nn.Module):
    """sigmoid of a logit near −100 — float32 returns exactly 0 for every jet, float64 ~10⁻⁴⁴ — with a term in the
    lab-frame jet energy (`eps` · 100 · E_jet / TeV in the logit: 2–20 % changes of the output under boosts). `lift`:
    the logit raised by 20 on jets of that many particles (their float32 outputs do not underflow)."""

    def __init__(self, eps: float = 1e-3, lift: int | None = None):
        super().__init__()
        self.eps, self.lift = eps, lift

    def forward(self, p, mask):
        m = mask.to(p.dtype)
        total = (p * m[..., None]).sum(1)
        z = minkowski(p, total[:, None]) / minkowski(total, total)[:, None] * m
        logit = -100.0 + 5 * torch.tanh((z * z).sum(1)) - self.eps * 100.0 * total[:, 0] / 1000.0
        if self.lift is not None:
            logit = logit + 20.0 * (mask.sum(1) == self.lift)
        return torch.sigmoid(logit)


def test_outputs_that_underflow_to_zero_on_most_jets_are_unresolved_not_a_pass():
    """A float32-only judgement compared 0 with 0 on every jet and passed a 2–20 % break when one jet did not
    underflow (or one output was NaN): a jet whose output is exactly 0 where float64's is not is set aside, per row."""
    p, mask = random_jets(24, 10, seed=2, min_particles=2)
    widths = mask.sum(1)
    kw = dict(n_rapidities=3, n_angles=2, dtypes=(torch.float32,))
    for model in (FarTailTagger(), FarTailTagger(lift=int(widths[0]))):
        j = judge(sweep(model, p, mask, **kw))
        assert j.verdict == UNRESOLVED and all(r.verdict == UNRESOLVED for r in j.rows), j.summary()
        assert any("underflow" in r.reason for r in j.rows), [r.reason for r in j.rows]
        assert any("float64 comparison run" in n for n in j.notes), j.notes


def boosted_jet_mass(p, mask):
    """√(E² − p⃗²) of the jet, in float64 throughout: its own rounding is u·E²/m² (~10⁻⁹ for a 10 TeV jet of 6 GeV)."""
    total = (p * mask[..., None].to(p.dtype)).sum(1)
    return torch.sqrt(total[:, 0] ** 2 - total[:, 1] ** 2 - total[:, 2] ** 2 - total[:, 3] ** 2)


def test_a_float64_floor_of_finite_perturbations_sees_rounding_at_one_ulp():
    """The jets leave first order (float32's m² cancels); their float64 floor from perturbations of u₆₄|x| — which
    mostly round back to x — was u₆₄ itself on some jets, whose own arithmetic rounding (u·E²/m² ~ 10⁻⁹) then read as
    a jet 10⁴× beyond anything rounding explains, warned by a passing assert."""
    p, mask = random_jets(128, 12, seed=1, jet_pt=1e4, spread=0.001, min_particles=3)
    j = judge(sweep(boosted_jet_mass, p, mask, dtypes=(torch.float64, torch.float32)))
    assert j.verdict == PASS and not j.outliers, (j.summary(), j.notes)


def binned_energy_fractions(step: float, eps: float = 0.0):
    """Σ_i √(round(p_i·P / step)·step + 1) + 10⁻³ m: a feature binned by torch.round — exactly invariant, but the
    rounding of a boosted jet moves some p_i·P across a bin edge (a jump of one bin). `eps`: a frame-dependent term."""

    def model(p, mask):
        total = (p * mask[..., None].to(p.dtype)).sum(1)
        binned = torch.round(minkowski(p, total[:, None]) / step) * step * mask
        out = torch.sqrt(binned.clamp_min(0) + 1.0).sum(1) + 1e-3 * minkowski(total, total).sqrt()
        return out * (1 + eps * total[:, 3] / total[:, 0])

    return model


def test_a_binned_feature_whose_bin_rounding_decides_is_not_a_broken_symmetry():
    """The jumps stand 10²–10⁴ × the first-order floor on most jets of a boosted row: above the PASS bound, below the
    10⁴ that made the second look. A row whose median fails the bound is looked at again from that bound."""
    p, mask = random_jets(32, 10, seed=0, min_particles=3)
    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32))
    for step in (1.0, 10.0):
        j = judge(sweep(binned_energy_fractions(step), p, mask, **kw))
        assert j.verdict == PASS, (step, j.summary())
    assert judge(sweep(binned_energy_fractions(1.0, eps=1e-3), p, mask, **kw)).verdict == BROKEN


def soft_jet_log_mass_checked(eps: float = 0.0):
    """`soft_jet_log_mass` with an input check on a float32 copy, as loaders write it: the float32 copy never reaches
    the output."""
    inner = soft_jet_log_mass(eps)

    def model(p, mask):
        if torch.isnan(p.float()).any():
            raise ValueError("NaN in the inputs")
        return inner(p, mask)

    return model


def test_a_float32_copy_that_never_reaches_the_output_is_not_float32_inside():
    p, mask = random_jets(32, 8, seed=0, jet_pt=4.0, min_particles=2)
    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32))
    clean = judge(sweep(soft_jet_log_mass_checked(), p, mask, **kw))
    assert clean.by_dtype()["float64"] == PASS, clean.reasons_by_dtype()
    leaky = judge(sweep(soft_jet_log_mass_checked(1e-3), p, mask, **kw))
    assert leaky.verdict == BROKEN and leaky.by_dtype()["float64"] == BROKEN, leaky.reasons_by_dtype()


def _m2_head(q, mask):
    total = (q * mask.to(q.dtype)[..., None]).sum(1)
    m2 = minkowski(total, total)
    return m2 / (1 + m2 / 1e5)


def small_float32_term(p, mask):
    """A float64 model plus 10⁻³ × the same function computed in float32: exactly invariant."""
    return _m2_head(p, mask) + 1e-3 * _m2_head(p.float(), mask).to(p.dtype)


def float32_features_through_numpy(p, mask):
    """Features computed in float32 by numpy (no gradient), a float64 head: exactly invariant."""
    q = torch.from_numpy(p.detach().cpu().numpy().astype(np.float32))
    return _m2_head(q, mask).to(p.dtype)


def test_float32_features_through_numpy_are_float32_inside_not_a_float64_symmetry_break():
    """Without a gradient the probes' response predicts how the outputs should follow 2⁻⁴⁰; numpy float32 features
    do not: UNRESOLVED, never BROKEN."""
    p, mask = random_jets(32, 8, seed=0, min_particles=2)
    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32))
    j = judge(sweep(float32_features_through_numpy, p, mask, **kw))
    assert j.verdict == PASS and j.by_dtype()["float64"] == UNRESOLVED, j.reasons_by_dtype()
    assert "float32 inside" in j.reasons_by_dtype()["float64"]


@pytest.mark.parametrize("eps", [0.0, 1e-5])
def test_a_float32_term_beside_float64_keeps_its_rows_judged_and_says_why(eps):
    """A 10⁻³ term computed in float32: its rounding stands in float64's errors in a share nothing measures. The rows
    stay judged — a 10⁻⁵ leak in the float64 part, below float32's floor, is BROKEN only in float64's row — and a note
    names the float32 part, where a float64 row is BROKEN for that rounding alone."""
    p, mask = random_jets(32, 8, seed=0, min_particles=2)

    def model(p, mask):
        total = (p * mask.to(p.dtype)[..., None]).sum(1)
        return small_float32_term(p, mask) * (1 + eps * total[:, 3] / total[:, 0])

    j = judge(sweep(model, p, mask, n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32)))
    assert j.by_dtype()["float64"] == BROKEN, j.reasons_by_dtype()
    assert any("computes in a narrower dtype (aten._to_copy" in n for n in j.notes), j.notes


def speed_dependent_mass(eps: float):
    """m² (1 + ε |P⃗|/E): rotation invariant, a boost changes it by ~ε — far below float32's floor for ε = 10⁻⁶."""

    def model(p, mask):
        total = (p * mask[..., None].to(p.dtype)).sum(1)
        return minkowski(total, total) * (1 + eps * total[:, 1:].norm(dim=-1) / total[:, 0])

    return model


def test_a_boost_only_leak_below_float32s_floor_is_broken_not_amplified_rounding():
    """float64's median excess 10³–10⁵ on the boost rows, float32's ~1.5 with errors far below 1: amplified rounding
    of that size would have put float32's errors at the cap, so the excesses' disagreement is a break (it was
    NUMERICAL: the cap's exception applied on the floor alone)."""
    p, mask = random_jets(32, 8, seed=1)
    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32))
    j = judge(sweep(speed_dependent_mass(1e-6), p, mask, **kw))
    assert j.verdict == BROKEN, j.summary()
    beyond = [r for r in j.rows if r.dtype == "float64" and r.kind == "boost" and r.excess_median > 1e3]
    assert len(beyond) >= 6 and all(r.verdict == BROKEN for r in beyond), [(r.axis, r.verdict) for r in beyond]
    assert judge(sweep(speed_dependent_mass(0.0), p, mask, **kw)).verdict == PASS


def jet_momentum(e_last: bool):
    """The jet's four-momentum, as (E, px, py, pz) or with E last, as many regression targets are stored."""

    def model(p, mask):
        total = (p * mask[..., None].to(p.dtype)).sum(1)
        return total[:, [1, 2, 3, 0]] if e_last else total

    return model


def test_a_four_vector_output_with_energy_last_is_told_to_reorder():
    p, mask = random_jets(16, 8, seed=3)
    kw = dict(n_rapidities=3, n_angles=2, dtypes=(torch.float64, torch.float32))
    for out_rep in ("vector", "scalar"):
        j = judge(sweep(jet_momentum(e_last=True), p, mask, out_rep=out_rep, **kw))
        assert j.verdict == BROKEN and any("(px, py, pz, E) order" in n for n in j.notes), (out_rep, j.notes)
    right = judge(sweep(jet_momentum(e_last=False), p, mask, out_rep="vector", **kw))
    assert right.verdict == PASS and not any("order" in n for n in right.notes), right.notes


def soft_jet_log_mass(eps: float = 0.0):
    """log(1 + m²/s), s = (13 TeV)², written log(1 + x) rather than log1p, in float64 throughout; × (1 + ε β_z of the
    jet) for a leak. On 40 GeV jets x ~ 10⁻⁵, and 1 + x absorbs input changes below ~2⁻³⁶: float64 arithmetic
    that does not follow a 2⁻⁴⁰ change, though it computes in no coarser dtype."""

    def model(p, mask):
        total = (p * mask.to(p.dtype)[..., None]).sum(1)
        m2 = minkowski(total, total)
        return torch.log(1 + m2 / 13000.0**2) * (1 + eps * total[:, 3] / total[:, 0])

    return model


@pytest.mark.parametrize("jet_pt", [40.0, 4.0])
def test_float64_arithmetic_that_absorbs_a_tiny_change_is_not_float32_inside(jet_pt):
    """At 4 GeV x ~ 10⁻⁷ and 1 + x absorbs even 2⁻³⁴: only a trace of the call shows that nothing is float32."""
    p, mask = random_jets(32, 8, seed=0, jet_pt=jet_pt, min_particles=2)
    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32))
    clean = judge(sweep(soft_jet_log_mass(), p, mask, **kw))
    assert clean.verdict == PASS and not any("inside" in n for n in clean.notes), (clean.summary(), clean.notes)
    leaky = judge(sweep(soft_jet_log_mass(1e-3), p, mask, **kw))
    assert leaky.verdict == BROKEN and leaky.by_dtype()["float64"] == BROKEN, leaky.reasons_by_dtype()


def test_a_jet_whose_float32_output_is_sometimes_nan_does_not_unresolve_every_row():
    """A boosted π⁰ → γγ pair (m²/E² ~ 10⁻⁷) beside ordinary jets: float32 rounds its m² below 0 under some
    transformations and √ gives NaN. The second look must not turn that one jet's NaN into a floor that cannot be
    computed for every row."""

    def jet_mass(eps):
        def model(p, mask):
            total = (p * mask.to(p.dtype)[..., None]).sum(1)
            return torch.sqrt(minkowski(total, total)) * (1 + eps * total[:, 3] / total[:, 0])

        return model

    p, mask = random_jets(31, 8, seed=0, min_particles=2)
    e, m = 500.0, 0.135
    pion = torch.zeros(1, 8, 4, dtype=torch.float64)
    for k, sign in enumerate((1.0, -1.0)):
        pion[0, k] = torch.tensor([e / 2, e / 2 * math.cos(m / e), sign * e / 2 * math.sin(m / e), 0.0])
    pion_mask = torch.zeros(1, 8, dtype=torch.bool)
    pion_mask[0, :2] = True
    p, mask = torch.cat([p, pion]), torch.cat([mask, pion_mask])
    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float32,))
    assert judge(sweep(jet_mass(0.0), p, mask, **kw)).verdict == PASS
    assert judge(sweep(jet_mass(1e-2), p, mask, **kw)).verdict == BROKEN


def _calorimeter_jets(b: int = 32, n: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Massless cells on a 0.1 × 0.1 grid in (η, φ), 20 of 25 cells around a random centre: equal distances
    everywhere, so which neighbours a kNN in (η, φ) takes is a tie that rounding decides."""
    g, jets = torch.Generator().manual_seed(0), []
    for _ in range(b):
        eta0, phi0 = float(torch.rand(1, generator=g)) * 2 - 1, float(torch.rand(1, generator=g)) * 6.28 - 3.14
        cells = torch.randperm(25, generator=g)[:n]
        eta, phi = eta0 + 0.1 * (cells // 5 - 2).double(), phi0 + 0.1 * (cells % 5 - 2).double()
        pt = -torch.log(torch.rand(n, generator=g, dtype=torch.float64)) * 50
        jets.append(
            torch.stack([pt * torch.cosh(eta), pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(eta)], -1)
        )
    p = torch.stack(jets)
    return p, torch.ones(p.shape[:2], dtype=torch.bool)


class EtaPhiNeighbours(nn.Module):
    """ParticleNet-style: k = 3 nearest neighbours in (Δη, Δφ), an edge MLP on the pT fractions (z_i, z_j), summed —
    invariant under the beam group (boosts along z, rotations about z); × (1 + ε Σ p_x / Σ p_T) for a leak."""

    def __init__(self, eps: float = 0.0):
        super().__init__()
        torch.manual_seed(0)
        self.eps = eps
        self.edge = nn.Sequential(nn.Linear(2, 16), nn.SiLU(), nn.Linear(16, 8))
        self.head = nn.Sequential(nn.Linear(8, 16), nn.SiLU(), nn.Linear(16, 1))

    def forward(self, p, mask):
        pt = torch.hypot(p[..., 1], p[..., 2])
        eta, phi = torch.asinh(p[..., 3] / pt), torch.atan2(p[..., 2], p[..., 1])
        dphi = torch.remainder(phi[:, :, None] - phi[:, None] + math.pi, 2 * math.pi) - math.pi
        n = p.shape[1]
        d = (eta[:, :, None] - eta[:, None]) ** 2 + dphi**2 + torch.eye(n, dtype=p.dtype) * 1e9
        idx = d.topk(3, dim=-1, largest=False).indices
        z = pt / pt.sum(1, keepdim=True)
        feats = torch.stack([z[:, :, None].expand(-1, -1, 3), z[:, None, :].expand(-1, n, -1).gather(2, idx)], -1)
        out = self.head(self.edge(feats).sum((1, 2)))[:, 0]
        return out * (1 + self.eps * p[..., 1].sum(1) / pt.sum(1))


def test_a_break_a_finer_precision_shows_well_above_its_floor_is_broken_though_jumps_widen_that_floor():
    """float64's floor there is the neighbour choice's jump (~10⁻³), so a 3 % rotation leak stands only 36–45× above
    it, inside float64's PASS bounds; float32 shows the same error — it does not shrink with u, which rounding at
    the floor would not explain: BROKEN, and the honest model PASS."""
    p, mask = _calorimeter_jets()
    kw = dict(n_rapidities=4, n_angles=4, dtypes=(torch.float64, torch.float32), group="beam")
    assert judge(sweep(EtaPhiNeighbours().double(), p, mask, **kw)).verdict == PASS
    j = judge(sweep(EtaPhiNeighbours(0.03).double(), p, mask, **kw))
    assert j.verdict == BROKEN and j.by_group()["rot_z"] == BROKEN, j.summary()
