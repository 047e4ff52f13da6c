"""Proof of the property checks: small independent models, each with a known set of properties, judged right.

The models are written here, independently of clariant.validate.properties: a particle count (IR and collinear unsafe),
Σ pT² (IR safe, collinear unsafe), an energy-weighted angular sum Σ E_i g(θ_i) about the jet axis (IRC safe), a
row-index weighted sum (order dependent), a mean over all rows padding included, a sum over rows that ignores the
mask, and the pseudoscalar ε_μνρσ p₁p₂p₃p₄ (Lorentz invariant, parity odd).
"""

import pytest
import torch
from torch import nn

from clariant.validate.properties import (
    PropertyVerdict,
    assert_collinear_safe,
    assert_ir_safe,
    assert_padding_invariant,
    assert_parity_invariant,
    assert_permutation_invariant,
    check_infrared,
    check_padding,
    check_parity,
    check_permutation,
    run_all,
)
from clariant.validate.strategies import random_jets

P, M = random_jets(24, 16, seed=3, min_particles=4)
GEV2 = 1e4  # (100 GeV)²: keeps outputs O(1)


def count(p, mask):
    return mask.to(p.dtype).sum(1, keepdim=True)


def sum_pt2(p, mask):
    return ((p[..., 1] ** 2 + p[..., 2] ** 2) * mask).sum(1, keepdim=True) / GEV2


def angular_sum(p, mask):
    """Σ_i E_i (1 − cos θ_i) / Σ E, θ_i the angle of particle i to the jet axis P⃗/|P⃗|."""
    e = p[..., 0] * mask
    v = p[..., 1:] * mask[..., None]
    axis = v.sum(1, keepdim=True)
    axis = axis / torch.linalg.vector_norm(axis, dim=-1, keepdim=True)
    size = torch.linalg.vector_norm(v, dim=-1)
    cos = (v * axis).sum(-1) / torch.where(mask, size, torch.ones_like(size))
    return ((e * (1 - cos)).sum(1) / e.sum(1))[:, None]


def row_weighted(p, mask):
    w = 1 + torch.arange(p.shape[1], dtype=p.dtype) / 10
    return (p[..., 0] * mask * w).sum(1, keepdim=True) / 100


def mean_with_padding(p, mask):
    return (p[..., 0] * mask).mean(1, keepdim=True) / 100


def ignores_mask(p, mask):
    return p[..., 0].sum(1, keepdim=True) / 100


def pseudoscalar(p, mask):
    """ε_μνρσ p₁^μ p₂^ν p₃^ρ p₄^σ = det[p₁ p₂ p₃ p₄] (in (100 GeV)⁴)."""
    return torch.linalg.det(p[:, :4, :] / 100)[:, None]


class DeepSets(nn.Module):
    """ρ(Σ_i φ(p_i/100)) over real particles: permutation and padding invariant, IR unsafe (φ(0) ≠ 0 through its
    bias: every particle, however soft, adds φ(≈0))."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.phi = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 8))
        self.rho = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 2))

    def forward(self, p, mask):
        return self.rho((self.phi(p / 100) * mask[..., None].to(p.dtype)).sum(1))


S, U, PASS, BROKEN = PropertyVerdict.SAFE, PropertyVerdict.UNSAFE, PropertyVerdict.PASS, PropertyVerdict.BROKEN
EXPECTED = {  # model: permutation, padding, infrared, collinear, parity
    "count": (count, PASS, PASS, U, U, PropertyVerdict.EVEN),
    "sum_pt2": (sum_pt2, PASS, PASS, S, U, PropertyVerdict.EVEN),
    "angular_sum": (angular_sum, PASS, PASS, S, S, PropertyVerdict.EVEN),
    "row_weighted": (row_weighted, BROKEN, BROKEN, S, U, PropertyVerdict.EVEN),
    "mean_with_padding": (mean_with_padding, PASS, BROKEN, U, U, PropertyVerdict.EVEN),
    "ignores_mask": (ignores_mask, PASS, BROKEN, S, S, PropertyVerdict.EVEN),
    "pseudoscalar": (pseudoscalar, BROKEN, BROKEN, S, U, PropertyVerdict.ODD),
}


@pytest.fixture(scope="module")
def results():
    return {name: run_all(f, P, M, train_width=40) for name, (f, *_) in EXPECTED.items()}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_model_judged_right(results, name):
    _, *expected = EXPECTED[name]
    got = [results[name][k].verdict for k in ("permutation", "padding", "infrared", "collinear", "parity")]
    assert got == expected, {k: str(v) for k, v in zip(("perm", "pad", "IR", "C", "P"), got)}


def test_which_checks_catch_the_padding_bugs(results):
    """Zero rows appended: the mean over padding changes, the mask-ignoring sum does not (zero rows add zero); only
    garbage in masked rows shows that it reads them. The row-weighted model only breaks when padding comes first."""

    def verdicts(name):
        return {r.check: r.verdict for r in results[name]["padding"].rows if r.dtype == "float64"}

    mean, ign, rw = verdicts("mean_with_padding"), verdicts("ignores_mask"), verdicts("row_weighted")
    assert mean["append 6 rows"] == BROKEN and mean["padded to 40"] == BROKEN
    assert ign["append 6 rows"] == PASS and ign["garbage in 6 masked rows"] == BROKEN
    assert rw["append 6 rows"] == PASS and rw["6 padding rows first"] == BROKEN


def test_ir_scans_report_power_and_plateau(results):
    unsafe = results["count"]["infrared"].scans[0]
    assert unsafe.tail_power is not None and abs(unsafe.tail_power) < 0.1
    n = M.sum(1).to(torch.float64)
    assert unsafe.plateau == pytest.approx(float((1 / n).median()), rel=0.2)  # one particle more out of n
    safe = next(s for s in results["angular_sum"]["infrared"].scans if s.dtype == "float64")
    assert safe.power == pytest.approx(1.0, abs=0.15)  # Δ ∝ ε: a soft particle adds ε E_J g(θ)
    pt2 = next(s for s in results["sum_pt2"]["infrared"].scans if s.dtype == "float64" and "any" in s.check)
    assert pt2.power == pytest.approx(2.0, abs=0.2)  # Δ ∝ ε²


def test_exact_splits_of_safe_model_at_the_floor(results):
    rows = [r for r in results["angular_sum"]["collinear"].rows]
    assert rows and all(r.verdict == S for r in rows)
    assert all(r.excess_median <= 1e2 for r in rows)


def test_nn_module_at_both_precisions():
    m = DeepSets()
    r = run_all(m, P, M, train_width=40, properties=("permutation", "padding", "infrared"))
    assert r["permutation"].verdict == PASS and r["padding"].verdict == PASS
    assert r["infrared"].verdict == U
    assert set(r["permutation"].by_dtype) == {"float64", "float32"}
    assert next(m.parameters()).dtype == torch.float32  # the user's model is not converted in place


def test_takes_mask_false():
    def energy_count(p):  # padding rows have E = 0
        return (p[..., 0] > 0).to(p.dtype).sum(1, keepdim=True)

    assert check_padding(energy_count, P, M, takes_mask=False).verdict == PASS
    assert check_infrared(energy_count, P, M, takes_mask=False, dtypes=(torch.float64,)).verdict == U


def test_per_particle_equivariance():
    def fractions(p, mask):  # E_i / Σ E: permutation equivariant
        e = p[..., 0] * mask
        return e / e.sum(1, keepdim=True)

    def indexed(p, mask):
        return fractions(p, mask) * torch.arange(p.shape[1], dtype=p.dtype)

    assert check_permutation(fractions, P, M, per_particle=True).verdict == PASS
    assert check_padding(fractions, P, M, per_particle=True).verdict == PASS
    assert check_permutation(indexed, P, M, per_particle=True).verdict == BROKEN
    with pytest.raises(ValueError, match="per-particle"):
        check_infrared(fractions, P, M, per_particle=True)


def test_parity_neither():
    def mixed(p, mask):
        return pseudoscalar(p, mask) + count(p, mask)

    assert check_parity(mixed, P, M).verdict == PropertyVerdict.NEITHER


def test_assertions_pass_and_fail_with_one_line():
    assert_permutation_invariant(count, P, M)
    assert_padding_invariant(count, P, M)
    assert_ir_safe(angular_sum, P, M, dtypes=(torch.float64,))
    assert_collinear_safe(angular_sum, P, M, dtypes=(torch.float64,))
    assert_parity_invariant(count, P, M)
    cases = [
        (assert_permutation_invariant, row_weighted, "permutation invariance BROKEN"),
        (assert_padding_invariant, mean_with_padding, "padding invariance BROKEN"),
        (assert_ir_safe, count, "infrared safety UNSAFE"),
        (assert_collinear_safe, sum_pt2, "collinear safety UNSAFE"),
        (assert_parity_invariant, pseudoscalar, "parity invariance: the model is ODD"),
    ]
    for fn, model, words in cases:
        with pytest.raises(AssertionError) as e:
            fn(model, P, M, dtypes=(torch.float64, torch.float32))
        msg = str(e.value)
        assert msg.startswith(words) and "\n" not in msg, msg


def test_nonfinite_outputs_have_their_own_verdict():
    def nan_when_reordered(p, mask):  # NaN unless the first row is the most energetic
        first = p[:, 0, 0] >= (p[..., 0] * mask).amax(1)
        return torch.where(first, p[:, 0, 0], torch.nan)[:, None]

    r = check_permutation(nan_when_reordered, P, M, kinds=("ascending energy",))
    assert r.verdict == PropertyVerdict.NONFINITE
    assert all(row.nonfinite > 0 for row in r.rows)


def jet_mass(p, mask):
    """√(P²) of the summed jet, by a Gram-matrix double sum Σ_ij p_i·p_j: cancellation-heavy, exactly symmetric."""
    q = p * mask[..., None].to(p.dtype)
    eta = torch.tensor([1.0, -1, -1, -1], dtype=p.dtype)
    gram = torch.einsum("bik,bjk->bij", q * eta, q)
    return gram.sum((1, 2)).clamp_min(0).sqrt()[:, None] / 100


def test_floor_is_not_too_tight_for_ill_conditioned_symmetric_models():
    """The jet mass from Σ_ij p_i·p_j cancels ~E²/m² and takes a √: its reorderings round differently, yet stay
    within the measured floor at both precisions."""
    assert check_permutation(jet_mass, P, M).verdict == PASS
    assert check_padding(jet_mass, P, M, train_width=40).verdict == PASS


def test_floor_is_not_too_loose_a_tiny_order_dependence_is_found():
    """A row-index term of relative size 10⁻¹⁰ hides below float32's floor but not below float64's, and does not
    shrink with the unit roundoff: BROKEN."""

    def almost(p, mask):
        return angular_sum(p, mask) + 1e-10 * row_weighted(p, mask)

    r = check_permutation(almost, P, M, kinds=("reversed",))
    assert r.by_dtype["float64"] == BROKEN, r.worst_line()
    assert r.verdict == BROKEN


def _levi_civita_vector(p, mask):
    """a_μ = ε_μνρσ p₁^ν p₂^ρ p₃^σ of the three leading rows, lowered index raised with η: an axial four-vector."""
    eps = torch.zeros(4, 4, 4, 4, dtype=p.dtype)
    for perm in __import__("itertools").permutations(range(4)):
        inv = sum(perm[i] > perm[j] for i in range(4) for j in range(i + 1, 4))
        eps[perm] = (-1.0) ** inv
    q = p * mask[..., None].to(p.dtype) / 100
    a = torch.einsum("mnrs,bn,br,bs->bm", eps, q[:, 0], q[:, 1], q[:, 2])
    return a * torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=p.dtype)


def test_parity_of_four_vector_outputs():
    def momentum(p, mask):  # Σ p_i: a polar (true) four-vector, f(Px) = P f(x)
        return (p * mask[..., None].to(p.dtype)).sum(1) / 100

    assert check_parity(momentum, P, M, out_rep="vector").verdict == PropertyVerdict.EVEN
    assert check_parity(_levi_civita_vector, P, M, out_rep="vector").verdict == PropertyVerdict.ODD
    assert check_parity(momentum, P, M).verdict == PropertyVerdict.NEITHER  # read as four numbers: neither
    with pytest.raises(ValueError, match="scalar and four-vector"):
        check_parity(momentum, P, M, out_rep="1x(1,0)")
