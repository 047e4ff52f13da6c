"""Gallery of small models in the styles physicists write, each with the verdict a correct suite must give.

Written from the public API only (README usage, signatures). The models live here so that
`tests/gallery_table.py` can print the verdict table for the same cases. Conventions: (E, px, py, pz) in GeV,
metric (+,−,−,−), padding rows all zero with mask False.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from clariant import validate
from clariant.validate import assert_lorentz_invariant, judge, sweep
from clariant.validate.strategies import random_jets

# The target API exposes an ordered str-enum; compare with its string values so the file still imports (and the
# individual tests fail, instead of the whole module erroring) where `Verdict` does not exist yet.
Verdict = getattr(validate, "Verdict", None)
PASS, UNRESOLVED, NUMERICAL, BROKEN, NONFINITE = "PASS", "UNRESOLVED", "NUMERICAL", "BROKEN", "NONFINITE"
BAD = {NUMERICAL, BROKEN, NONFINITE}

F64, F32 = torch.float64, torch.float32
SMALL = dict(max_rapidity=4.0, n_rapidities=3, n_angles=2, n_random=4)  # keep every sweep small (2 cores)


# ----------------------------------------------------------------------------------------------------------------
# helpers: metric, jets
# ----------------------------------------------------------------------------------------------------------------


def eta(dtype):
    return torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=dtype)


def mdot(a, b):
    """Minkowski product over the last axis, in the inputs' dtype."""
    return (a * b * eta(a.dtype)).sum(-1)


def gram(p):
    """[B, N, N] Minkowski products p_i·p_j."""
    return torch.einsum("bni,bmi->bnm", p * eta(p.dtype), p)


def pair_mask(mask, dtype):
    return (mask[:, :, None] & mask[:, None, :]).to(dtype)


# Pythagorean quadruples a² = b² + c² + d²: integer four-momenta that are *exactly* massless in float64 and float32
# (p² evaluates to exactly 0, where √, sign, abs and relu have their kinks and autodiff derivatives are inf/NaN/0).
_QUADS = [(3, 1, 2, 2), (7, 2, 3, 6), (9, 1, 4, 8), (9, 4, 4, 7), (11, 2, 6, 9), (11, 6, 6, 7), (15, 2, 5, 14)]


def make_jets(batch, n, *, seed=0, mass=0.0, min_particles=1, exact_massless=False, jet_pt=600.0, spread=0.25):
    """Own jet maker (random_jets is massless-only): collimated jets, multiplicity uniform in [min_particles, n],
    constituent masses uniform in [0.1, mass] GeV when mass > 0, or exactly massless integer momenta
    (exact_massless). Returns float64 p [batch, n, 4] and bool mask, zero-padded."""
    g = np.random.default_rng(seed)
    p = np.zeros((batch, n, 4))
    mask = np.zeros((batch, n), dtype=bool)
    for b in range(batch):
        k = int(g.integers(min_particles, n + 1))
        mask[b, :k] = True
        if exact_massless:
            for i in range(k):
                e, *xyz = _QUADS[g.integers(len(_QUADS))]
                xyz = np.array(xyz)[g.permutation(3)] * g.choice([-1, 1], 3)
                scale = int(g.integers(5, 90))
                p[b, i] = scale * np.array([e, *xyz], dtype=float)
            continue
        axis_eta, axis_phi = g.uniform(-2, 2), g.uniform(-math.pi, math.pi)
        et = axis_eta + spread * g.standard_normal(k)
        ph = axis_phi + spread * g.standard_normal(k)
        pt = g.exponential(1.0, k)
        pt = np.sort(pt / pt.sum() * jet_pt)[::-1]
        px, py, pz = pt * np.cos(ph), pt * np.sin(ph), pt * np.sinh(et)
        m = g.uniform(0.1, mass, k) if mass > 0 else np.zeros(k)
        e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
        p[b, :k] = np.stack([e, px, py, pz], -1)
    return torch.tensor(p), torch.tensor(mask)


def cat_jets(*pairs):
    return torch.cat([p for p, _ in pairs]), torch.cat([m for _, m in pairs])


def run(model, p, mask, dtypes=(F64, F32), groups=("full",), **kw):
    return judge(sweep(model, p, mask, dtypes=dtypes, groups=groups, **{**SMALL, **kw}))


def verdicts(j):
    return j.verdict, j.by_dtype()


def assert_pass(j, dtypes=("float64", "float32")):
    """An exactly invariant model: headline PASS, each listed dtype PASS, no row NUMERICAL/BROKEN/NONFINITE."""
    d = j.by_dtype()
    assert j.verdict == PASS, (j.verdict, d)
    for name in dtypes:
        assert d[name] == PASS, (name, d)
    bad_rows = [r for r in getattr(j, "rows", []) if r.verdict in BAD]
    assert not bad_rows, bad_rows[:3]


# ----------------------------------------------------------------------------------------------------------------
# the models
# ----------------------------------------------------------------------------------------------------------------


class SqrtMass(nn.Module):
    """1. Σ_i tanh(√|p_i²|) over real particles: exactly 0 for massless jets (invariant); √ at p²≈0 has an inf/NaN
    autodiff derivative (and NaN at padding through mask·inf), so the floor must not come out NaN → PASS."""

    def forward(self, p, mask):
        m2 = mdot(p, p)
        return (torch.tanh(torch.sqrt(torch.abs(m2))) * mask.to(p.dtype)).sum(1)


class WherePairs(nn.Module):
    """2. Σ_{i,j real, incl. i=j} where(d2 != 0, d2/√|d2|, d2) with d2 = (p_i − p_j)²: a signed √ of an invariant;
    the untaken branch is 0/0 = NaN at i = j (NaN gradient through torch.where), values are finite → PASS."""

    def forward(self, p, mask):
        d = p[:, :, None, :] - p[:, None, :, :]
        d2 = mdot(d, d) / 1e4
        safe = torch.where(d2 != 0, d2 / torch.sqrt(torch.abs(d2)), d2)
        return (safe * pair_mask(mask, p.dtype)).sum((1, 2))


class KinkSignAbs(nn.Module):
    """3a. 1 + Σ_i sign(p_i²)|p_i²|/s² + tanh(p_i·P/s²) on one-particle exactly-massless jets: exactly 1 (invariant);
    sign'/abs' are 0 at the kink p² = 0, the tanh term keeps a true Jacobian → PASS."""

    def forward(self, p, mask):
        m2 = mdot(p, p)
        P = (p * mask[..., None].to(p.dtype)).sum(1, keepdim=True)
        t = torch.sign(m2) * torch.abs(m2) / 1e4 + torch.tanh(mdot(p, P) / 1e4)
        return 1 + (t * mask.to(p.dtype)).sum(1)


class KinkOnly(nn.Module):
    """3b. 1 + Σ_i sign(p_i²)|p_i²|/s² on one-particle exactly-massless jets: = 1 + p²/s², exactly 1; autodiff says
    the Jacobian is 0 at p² = 0 (true derivative 2ηp/s²), so a pure autodiff floor is too low; the error is only
    input rounding → PASS (a correct floor must not trust a zero derivative at a kink)."""

    def forward(self, p, mask):
        m2 = mdot(p, p)
        return 1 + (torch.sign(m2) * torch.abs(m2) / 1e4 * mask.to(p.dtype)).sum(1)


class SqrtScaling(nn.Module):
    """4. 1 + Σ_ij tanh(p_i·p_j/s²) + Σ_i √|p_i²|/s for massless jets: exactly invariant, but the √ term's rounding
    error scales like √u (float32/float64 error ratio ≈ 2·10⁴, between u-scaling and none) → PASS in every row, not
    BROKEN, not flipping between NUMERICAL and BROKEN."""

    def forward(self, p, mask):
        m = mask.to(p.dtype)
        pair = (torch.tanh(gram(p) / 1e4) * pair_mask(mask, p.dtype)).sum((1, 2))
        return 1 + pair + (torch.sqrt(torch.abs(mdot(p, p))) / 100 * m).sum(1)


class PairTanh(nn.Module):
    """5 / 9. Σ_ij tanh(p_i·p_j/s²) with s = 100·unit GeV: an ordinary smooth invariant. unit=1e3 is the same model
    for MeV inputs (×10³), unit=1e4 for ×10⁴: identical outputs up to rounding, no absolute tolerance → PASS."""

    def __init__(self, unit=1.0):
        super().__init__()
        self.s2 = 1e4 * unit**2

    def forward(self, p, mask):
        return (torch.tanh(gram(p) / self.s2) * pair_mask(mask, p.dtype)).sum((1, 2))


class FrameLeak(nn.Module):
    """6. PairTanh/N² (O(1)) + 1e-4·Σ px/600 GeV: a 1e-4 relative frame-dependent term (symmetry bug). With
    out_dtype=bfloat16 the output is rounded to 2⁻⁸ relative, which hides the leak at small transformations and not
    at rapidity 6 → never PASS (UNRESOLVED or BROKEN); with float64 outputs → BROKEN."""

    def __init__(self, out_dtype=None):
        super().__init__()
        self.out_dtype = out_dtype

    def forward(self, p, mask):
        m = mask.to(p.dtype)
        n = m.sum(1)
        inv = 1 + (torch.tanh(gram(p) / 1e4) * pair_mask(mask, p.dtype)).sum((1, 2)) / n**2
        out = inv + 1e-4 * (p[..., 1] * m).sum(1) / 600.0
        return out if self.out_dtype is None else out.to(self.out_dtype)


class Beams(nn.Module):
    """7a. LorentzNet-style beams: append (1,0,0,±1)·E_beam as two extra particles and sum tanh of all Minkowski
    products. p·b± = E_beam(E ∓ pz) is invariant under rotations about z only → rot_z PASS; boost_z, beam, so3, full
    BROKEN."""

    def __init__(self, e_beam=10.0):
        super().__init__()
        self.e_beam = e_beam

    def forward(self, p, mask):
        b = torch.tensor([[1.0, 0, 0, 1], [1.0, 0, 0, -1]], dtype=p.dtype) * self.e_beam
        q = torch.cat([p, b.expand(p.shape[0], 2, 4)], 1)
        qm = torch.cat([mask, torch.ones(p.shape[0], 2, dtype=torch.bool)], 1)
        return (torch.tanh(gram(q) / 1e4) * pair_mask(qm, p.dtype)).sum((1, 2))


class BeamProducts(nn.Module):
    """7b. Σ_ij tanh((p_i·b+)(p_j·b−)/(E_beam² s²)) + Σ_ij tanh(p_i·p_j/s²): (E_i−pz_i)(E_j+pz_j) is invariant under
    rotations about z and boosts along z → rot_z, boost_z, beam PASS; so3, full BROKEN."""

    def __init__(self, e_beam=10.0):
        super().__init__()
        self.e_beam = e_beam

    def forward(self, p, mask):
        bp = torch.tensor([1.0, 0, 0, 1], dtype=p.dtype) * self.e_beam
        bm = torch.tensor([1.0, 0, 0, -1], dtype=p.dtype) * self.e_beam
        a, c = mdot(p, bp) / self.e_beam, mdot(p, bm) / self.e_beam
        pm = pair_mask(mask, p.dtype)
        beam = torch.tanh(a[:, :, None] * c[:, None, :] / 1e4)
        return ((beam + torch.tanh(gram(p) / 1e4)) * pm).sum((1, 2))


class SumE(nn.Module):
    """8. Σ_i E_i: the energy is not invariant under boosts (a symmetry bug) → BROKEN even with one dtype."""

    def forward(self, p, mask):
        return (p[..., 0] * mask.to(p.dtype)).sum(1) / 100


def sum_energy_bfloat16(p, mask):
    """6c. Σ_i E_i/100 returned in bfloat16 whatever the input dtype: an order-one boost error that bfloat16's
    rounding allowance (~100× a floor of a few 10⁻²) swallowed — once PASS; never PASS."""
    return ((p[..., 0] * mask.to(p.dtype)).sum(1) / 100).to(torch.bfloat16)


class RawMLP(nn.Module):
    """8. A per-particle MLP on raw (E, px, py, pz)/100, summed: frame dependent → BROKEN even with one dtype."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).double()

    def forward(self, p, mask):
        return (self.net.to(p.dtype)(p / 100).squeeze(-1) * mask.to(p.dtype)).sum(1)


class AllNaN(nn.Module):
    """8. Outputs NaN for every jet in every dtype: nothing a wider dtype explains → NONFINITE."""

    def forward(self, p, mask):
        return torch.full(p.shape[:1], float("nan"), dtype=p.dtype) + 0 * p.sum((1, 2))


class NaNWhenBoosted(nn.Module):
    """8. PairTanh, but NaN once the jet's total energy exceeds 10 TeV (e.g. a lookup table out of range): NaN
    under boosts in float64 too, so not a precision limit → NONFINITE."""

    def forward(self, p, mask):
        f = PairTanh()(p, mask)
        e = (p[..., 0] * mask.to(p.dtype)).sum(1)
        return torch.where(e > 1e4, torch.full_like(f, float("nan")), f)


class Constant(nn.Module):
    """8. A constant: exactly invariant, its output does not depend on p (no gradient at all) → PASS, no crash."""

    def forward(self, p, mask):
        return torch.ones(p.shape[0], dtype=p.dtype)


class NoGrad(nn.Module):
    """8. PairTanh evaluated under torch.no_grad() (inference-style code): exactly invariant; the suite cannot
    backpropagate through it and must still give PASS without crashing."""

    def forward(self, p, mask):
        with torch.no_grad():
            return PairTanh()(p, mask)


class NumpyPairs(nn.Module):
    """8. PairTanh computed in numpy (converted and back, same dtype): exactly invariant, not differentiable by
    torch → PASS, no crash about gradients."""

    def forward(self, p, mask):
        x = p.detach().cpu().numpy()
        m = mask.cpu().numpy()
        g = np.einsum("bni,bmi->bnm", x * np.array([1, -1, -1, -1], dtype=x.dtype), x)
        pm = (m[:, :, None] & m[:, None, :]).astype(x.dtype)
        return torch.from_numpy((np.tanh(g / x.dtype.type(1e4)) * pm).sum((1, 2)))


class WrongBatch(nn.Module):
    """8. Returns one output fewer than jets: a shape bug in the model → ValueError with a message, not a verdict."""

    def forward(self, p, mask):
        return PairTanh()(p, mask)[:-1]


def function_pairs(p, mask):
    """8. A plain function (not an nn.Module): Σ_ij tanh(p_i·p_j/s²) → PASS."""
    return PairTanh()(p, mask)


# ----------------------------------------------------------------------------------------------------------------
# the gallery: one entry per (model, jets, expected verdict); shared with tests/gallery_table.py
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    model: object
    jets: object  # () -> (p, mask)
    expected: str  # headline a correct suite gives ("!PASS" = anything but PASS)
    dtypes: tuple = (F64, F32)
    kw: dict = field(default_factory=dict)


def _massless(b=32, n=8, seed=0, **kw):
    return lambda: random_jets(b, n, seed=seed, **kw)


def _scaled(jets, factor):
    p, mask = jets
    return p * factor, mask


def _mixed_massive():
    """Massive jets of 1–6 particles, full 6-particle jets and one-particle jets, padded to N = 6."""
    one_p, one_m = make_jets(8, 1, seed=10, mass=1.0)
    one = torch.nn.functional.pad(one_p, (0, 0, 0, 5)), torch.nn.functional.pad(one_m, (0, 5))
    return cat_jets(make_jets(12, 6, seed=9, mass=5.0), make_jets(4, 6, seed=9, mass=5.0, min_particles=6), one)


GALLERY = [
    Case(
        "1 Σ tanh√abs(p²) (massless, √ kink)",
        SqrtMass(),
        lambda: cat_jets(random_jets(24, 8, seed=1), make_jets(8, 8, seed=1, exact_massless=True)),
        UNRESOLVED,
    ),
    Case("2 where(d2≠0, d2/√abs(d2), d2) pairs", WherePairs(), _massless(32, 8, seed=2, min_particles=2), PASS),
    Case(
        "3a sign·abs + tanh(p·P), 1-particle",
        KinkSignAbs(),
        lambda: make_jets(16, 1, seed=3, exact_massless=True),
        PASS,
    ),
    Case("3b sign·abs only, 1-particle", KinkOnly(), lambda: make_jets(16, 1, seed=3, exact_massless=True), PASS),
    Case("4 √u-scaling Σ√abs(p²) + O(1)", SqrtScaling(), _massless(32, 8, seed=4), PASS),
    Case("5a pair tanh, MeV ×1e3", PairTanh(unit=1e3), lambda: _scaled(random_jets(32, 8, seed=5), 1e3), PASS),
    Case("5b pair tanh, ×1e4", PairTanh(unit=1e4), lambda: _scaled(random_jets(32, 8, seed=5), 1e4), PASS),
    Case(
        "6a 1e-4 frame leak, bf16 output",
        FrameLeak(torch.bfloat16),
        _massless(32, 8, seed=6),
        "!PASS",
        kw=dict(max_rapidity=6.0),
    ),
    Case("6b 1e-4 frame leak, f64 output", FrameLeak(), _massless(32, 8, seed=6), BROKEN, kw=dict(max_rapidity=6.0)),
    Case("6c Σ E_i, bf16 output (order-one break)", sum_energy_bfloat16, _massless(16, 8, seed=8), "!PASS"),
    Case(
        "7a beams appended (rot_z only)",
        Beams(),
        _massless(16, 8, seed=7),
        BROKEN,
        kw=dict(groups=("rot_z", "boost_z", "beam", "full")),
    ),
    Case(
        "7b beam products (beam group)",
        BeamProducts(),
        _massless(16, 8, seed=7),
        BROKEN,
        kw=dict(groups=("rot_z", "boost_z", "beam", "full")),
    ),
    Case("8 Σ E_i, float64 only", SumE(), _massless(16, 8, seed=8), BROKEN, dtypes=(F64,)),
    Case("8 raw-momentum MLP, float64 only", RawMLP(), _massless(16, 8, seed=8), BROKEN, dtypes=(F64,)),
    Case("8 all-NaN outputs", AllNaN(), _massless(16, 8, seed=8), NONFINITE),
    Case("8 NaN when E > 10 TeV", NaNWhenBoosted(), _massless(16, 8, seed=8), NONFINITE),
    Case("8 constant", Constant(), _massless(16, 8, seed=8), PASS),
    Case("8 torch.no_grad() pair tanh", NoGrad(), _massless(16, 8, seed=8), PASS),
    Case("8 numpy-backed pair tanh", NumpyPairs(), _massless(16, 8, seed=8), PASS),
    Case("8 plain function pair tanh", function_pairs, _massless(16, 8, seed=8), PASS),
    Case("9 pair tanh, massive + 1-particle", PairTanh(), lambda: _mixed_massive(), PASS),
    Case(
        "10 pair tanh incl. float16 (overflow at y=6)",
        PairTanh(),
        _massless(16, 8, seed=11),
        PASS,
        dtypes=(F64, F32, torch.float16),
        kw=dict(max_rapidity=6.0),
    ),
]
CASES = {c.name: c for c in GALLERY}


def run_case(case):
    p, mask = case.jets()
    kw = dict(case.kw)
    groups = kw.pop("groups", ("full",))
    return run(case.model, p, mask, dtypes=case.dtypes, groups=groups, **kw)


# ----------------------------------------------------------------------------------------------------------------
# API shape
# ----------------------------------------------------------------------------------------------------------------


def test_verdict_enum_is_ordered_str_enum():
    assert Verdict is not None, "clariant.validate.Verdict missing"
    order = [Verdict.PASS, Verdict.UNRESOLVED, Verdict.NUMERICAL, Verdict.BROKEN, Verdict.NONFINITE]
    assert [str(v.value) for v in order] == [PASS, UNRESOLVED, NUMERICAL, BROKEN, NONFINITE]
    assert all(a < b for a, b in zip(order, order[1:]))  # PASS < UNRESOLVED < … (not alphabetical)
    assert max([Verdict.PASS, Verdict.BROKEN, Verdict.UNRESOLVED]) == Verdict.BROKEN
    assert Verdict.PASS == "PASS" and isinstance(Verdict.BROKEN, str)


# ----------------------------------------------------------------------------------------------------------------
# 1–5: exactly invariant models with nasty derivatives, √u rounding, unit changes → PASS
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "2 where(d2≠0, d2/√abs(d2), d2) pairs",
        "3a sign·abs + tanh(p·P), 1-particle",
        "3b sign·abs only, 1-particle",
        "4 √u-scaling Σ√abs(p²) + O(1)",
        "5a pair tanh, MeV ×1e3",
        "5b pair tanh, ×1e4",
    ],
)
def test_exactly_invariant_models_pass(name):
    assert_pass(run_case(CASES[name]))


def test_vanishing_sqrt_mass_is_unresolved_never_a_false_alarm():
    """1: Σ tanh √|p²| of massless constituents is exactly 0; what any dtype computes is √ of rounding noise, so its
    relative error is O(1) in every frame and so is the floor. No precision can resolve a relative error of a
    function that vanishes: UNRESOLVED (saturated), never BROKEN or NUMERICAL, and no NaN floor."""
    j = run_case(CASES["1 Σ tanh√abs(p²) (massless, √ kink)"])
    assert j.verdict == UNRESOLVED and set(j.by_dtype().values()) == {UNRESOLVED}, verdicts(j)
    assert all("saturated" in r.reason for r in j.rows), {r.reason for r in j.rows}
    assert all(math.isfinite(r.floor_p95) for r in j.rows)


def test_sqrt_scaling_is_not_broken_in_any_row():
    """4, row by row: the √u-scaling error must not be called BROKEN or NUMERICAL anywhere (no flip between rows)."""
    j = run_case(CASES["4 √u-scaling Σ√abs(p²) + O(1)"])
    rows = {(r.dtype, r.kind, r.axis, round(r.parameter, 6)): r.verdict for r in j.rows}
    assert set(rows.values()) <= {PASS, UNRESOLVED}, {k: v for k, v in rows.items() if v not in (PASS, UNRESOLVED)}


def test_mev_and_gev_agree():
    """5: the GeV model on GeV jets and the MeV model on MeV jets give the same verdicts per dtype."""
    p, mask = random_jets(32, 8, seed=5)
    gev = run(PairTanh(), p, mask)
    mev = run(PairTanh(unit=1e3), p * 1e3, mask)
    assert gev.by_dtype() == mev.by_dtype() == {"float64": PASS, "float32": PASS}


def test_exactly_invariant_one_particle_massless_pair_model():
    """Σ_ij tanh(p_i·p_j/s²) on one-particle exactly-massless jets: the value is exactly 0 in every frame (f(x) = 0,
    so a relative error is 0/0 or x/0); an exactly invariant model is never BROKEN/NUMERICAL/NONFINITE."""
    p, mask = make_jets(8, 1, seed=12, exact_massless=True)
    j = run(PairTanh(), p, mask)
    assert j.verdict not in BAD and all(v not in BAD for v in j.by_dtype().values()), verdicts(j)


def test_rounding_below_mass_shell_is_not_an_input_error():
    """Massless particles with E one or two ulps below |p⃗| (rounding) are valid input, not a (px,py,pz,E) mix-up."""
    p, mask = random_jets(16, 8, seed=13)
    p = p.clone()
    p[..., 0] = torch.linalg.norm(p[..., 1:], dim=-1) * (1 - 2 * torch.finfo(F64).eps)
    assert_pass(run(PairTanh(), p, mask))


# ----------------------------------------------------------------------------------------------------------------
# 6: a small frame leak hidden by bfloat16 output rounding
# ----------------------------------------------------------------------------------------------------------------


def test_frame_leak_with_bf16_output_is_not_pass():
    j = run_case(CASES["6a 1e-4 frame leak, bf16 output"])
    assert j.verdict != PASS, verdicts(j)
    assert j.verdict in (UNRESOLVED, BROKEN), verdicts(j)


def test_frame_leak_with_f64_output_is_broken():
    j = run_case(CASES["6b 1e-4 frame leak, f64 output"])
    assert j.verdict == BROKEN, verdicts(j)
    assert j.by_dtype()["float64"] == BROKEN, verdicts(j)


# ----------------------------------------------------------------------------------------------------------------
# 7: beams — invariant under a subgroup only
# ----------------------------------------------------------------------------------------------------------------


def test_beams_rot_z_only():
    j = run_case(CASES["7a beams appended (rot_z only)"])
    g = j.by_group()
    assert g["rot_z"] == PASS, g
    assert g["full"] == BROKEN and g["boost_z"] == BROKEN and g["beam"] == BROKEN, g
    assert j.verdict == BROKEN
    s = j.summary()
    assert "rotations about z" in s and "invariant" in s and "break" in s, s


def test_beam_products_beam_group():
    j = run_case(CASES["7b beam products (beam group)"])
    g = j.by_group()
    assert g["rot_z"] == PASS and g["boost_z"] == PASS and g["beam"] == PASS, g
    assert g["full"] == BROKEN, g
    s = j.summary()
    assert "rotations about z" in s and "boosts along z" in s and "break" in s, s


def test_assert_beams_subgroups():
    p, mask = random_jets(16, 8, seed=7)
    small = dict(max_rapidity=4.0, n_rapidities=3, n_angles=2)
    assert_lorentz_invariant(Beams(), p, mask, group="rot_z", **small)
    with pytest.raises(AssertionError) as e:
        assert_lorentz_invariant(Beams(), p, mask, group="full", **small)
    assert len(str(e.value).strip().splitlines()) == 1, str(e.value)
    with pytest.raises(AssertionError):
        assert_lorentz_invariant(Beams(), p, mask, group="boost_z", **small)
    assert_lorentz_invariant(BeamProducts(), p, mask, group="beam", **small)
    assert_lorentz_invariant(BeamProducts(), p, mask, group="boost_z", **small)


# ----------------------------------------------------------------------------------------------------------------
# 8: gates — bugs caught with one dtype, NaN, no gradients, bad input
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["8 Σ E_i, float64 only", "8 raw-momentum MLP, float64 only"])
def test_symmetry_bug_broken_with_one_dtype(name):
    j = run_case(CASES[name])
    assert j.verdict == BROKEN and j.by_dtype() == {"float64": BROKEN}, verdicts(j)


@pytest.mark.parametrize("name", ["8 all-NaN outputs", "8 NaN when E > 10 TeV"])
def test_nan_outputs_nonfinite(name):
    j = run_case(CASES[name])
    assert j.verdict == NONFINITE, verdicts(j)
    assert j.by_dtype()["float64"] == NONFINITE, verdicts(j)


@pytest.mark.parametrize(
    "name", ["8 constant", "8 torch.no_grad() pair tanh", "8 numpy-backed pair tanh", "8 plain function pair tanh"]
)
def test_no_gradient_models_pass(name):
    assert_pass(run_case(CASES[name]))


def test_float16_overflow_is_unresolved_not_a_failure():
    """10: boosted energies overflow float16 (65,504) at rapidity 6: UNRESOLVED for float16, headline still PASS."""
    j = run_case(CASES["10 pair tanh incl. float16 (overflow at y=6)"])
    d = j.by_dtype()
    assert d["float64"] == PASS and d["float32"] == PASS, d
    assert d["float16"] in (PASS, UNRESOLVED), d
    assert j.verdict == PASS, verdicts(j)


def test_assert_passes_no_gradient_models():
    p, mask = random_jets(16, 8, seed=8)
    for model in (Constant(), NoGrad(), NumpyPairs(), function_pairs):
        assert_lorentz_invariant(model, p, mask, max_rapidity=4.0, n_rapidities=3, n_angles=2)


def test_assert_raises_one_line_on_bug_and_nan():
    p, mask = random_jets(16, 8, seed=8)
    for model in (SumE(), AllNaN()):
        with pytest.raises(AssertionError) as e:
            assert_lorentz_invariant(model, p, mask, dtypes=(F64,), max_rapidity=4.0, n_rapidities=3, n_angles=2)
        assert len(str(e.value).strip().splitlines()) == 1, str(e.value)


def test_empty_mask_refused():
    p, mask = random_jets(8, 6, seed=0)
    with pytest.raises(ValueError, match=r"(?i)mask|particle|empty"):
        sweep(PairTanh(), p, torch.zeros_like(mask), dtypes=(F64,), **SMALL)
    with pytest.raises(ValueError):
        assert_lorentz_invariant(PairTanh(), p, torch.zeros_like(mask), max_rapidity=4.0, n_rapidities=3, n_angles=2)


@pytest.mark.parametrize("shape", [(0, 6, 4), (8, 0, 4)])
def test_empty_batch_or_no_particles_refused(shape):
    p = torch.zeros(shape, dtype=F64)
    mask = torch.ones(shape[:2], dtype=torch.bool)
    with pytest.raises(ValueError):
        sweep(PairTanh(), p, mask, dtypes=(F64,), **SMALL)


def test_three_vectors_refused():
    p, mask = random_jets(8, 6, seed=0)
    with pytest.raises(
        ValueError, match=r"(?i)4-vector|four-vector|four-momen|4-momen|\(E, ?px, ?py, ?pz\)|4 components"
    ):
        sweep(PairTanh(), p[..., 1:], mask, dtypes=(F64,), **SMALL)


def test_energy_last_order_refused_with_hint():
    p, mask = random_jets(8, 6, seed=0)
    with pytest.raises(ValueError, match=r"(?i)px.{0,3}py.{0,3}pz.{0,3}E"):
        sweep(PairTanh(), p[..., [1, 2, 3, 0]], mask, dtypes=(F64,), **SMALL)


def test_wrong_batch_size_output_refused():
    p, mask = random_jets(8, 6, seed=0)
    with pytest.raises(ValueError, match=r"(?i)batch|shape|size|jets|outputs"):
        sweep(WrongBatch(), p, mask, dtypes=(F64,), **SMALL)


# ----------------------------------------------------------------------------------------------------------------
# 9: no false alarms over random jets
# ----------------------------------------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(["massless", "massive", "exact_massless"]),
    n=st.integers(1, 6),
    batch=st.integers(1, 12),
)
def test_no_false_alarm_exactly_invariant(seed, kind, n, batch):
    if kind == "massless":
        p, mask = make_jets(batch, n, seed=seed)
    elif kind == "massive":
        p, mask = make_jets(batch, n, seed=seed, mass=5.0)
    else:
        p, mask = make_jets(batch, n, seed=seed, exact_massless=True)
    j = run(PairTanh(), p, mask, max_rapidity=5.0, n_rapidities=3, n_angles=2, n_random=2)
    d = j.by_dtype()
    assert d["float64"] not in BAD, (kind, n, batch, seed, d)
    assert j.verdict not in BAD, (kind, n, batch, seed, d)
