"""Per-layer attribution of models as users write them: four-vector and scalar layers, tuple outputs, flattened
[B·N, 4] activations, per-jet layers, user hooks, and clear errors for layers that cannot be attributed."""

import pytest
import torch
from torch import nn

import clariant_core as cc
from clariant.validate import attribute
from clariant.validate.strategies import random_jets

P, MASK = random_jets(8, 10, seed=5, min_particles=3)
ETA = torch.tensor([1.0, -1.0, -1.0, -1.0])


def mdot(a, b):
    return (a * b * ETA.to(a.dtype)).sum(-1)


class PairVectors(nn.Module):
    """Per-particle four-vectors v_i = p_i + Σ_j mask_j tanh(p_i·p_j / 10⁴) p_j; padding rows get a fixed bias
    (not covariant, but padding is not compared)."""

    def forward(self, p, mask):
        w = torch.tanh(torch.einsum("bni,bmi->bnm", p * ETA.to(p.dtype), p) / 1e4) * mask[:, None, :].to(p.dtype)
        v = p + w @ p
        return torch.where(mask[..., None], v, torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=p.dtype))


class Invariants(nn.Module):
    """Per-particle scalars from four-vectors: v_i·v_i and v_i·V (V the jet sum); `use_px` adds v_x (a bug)."""

    def __init__(self, use_px=False):
        super().__init__()
        self.use_px = use_px

    def forward(self, v, mask):
        total = (v * mask[..., None].to(v.dtype)).sum(1, keepdim=True)
        s = torch.stack([mdot(v, v), mdot(v, total)], -1) / 1e4
        if self.use_px:
            s = s + v[..., 1:2] / 100
        return s


class VectorThenScalar(nn.Module):
    """Two declared layers: four-vectors per particle, then invariants per particle; output Σ_i MLP(invariants)."""

    def __init__(self, use_px=False):
        super().__init__()
        torch.manual_seed(0)
        self.vectors = PairVectors()
        self.invariants = Invariants(use_px)
        self.head = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))

    def forward(self, p, mask):
        s = self.invariants(self.vectors(p, mask), mask)
        return (self.head(s) * mask[..., None].to(p.dtype)).sum(1)

    def activation_irreps(self):
        return {"vectors": "vector", "invariants": "scalar"}


class Block(nn.Module):
    """Returns a tuple (per-particle four-vectors, per-jet total four-momentum)."""

    def forward(self, p, mask):
        v = p * torch.tanh(mdot(p, p) / 1e4 + 1)[..., None]
        return v, (p * mask[..., None].to(p.dtype)).sum(1)


class Readout(nn.Module):
    """Returns a tuple (per-jet invariants [B, 3], a diagnostic string)."""

    def forward(self, v, total, mask):
        w = mask.to(v.dtype)
        s = torch.stack([mdot(total, total), (mdot(v, total[:, None]) * w).sum(1), (mdot(v, v) * w).sum(1)], -1)
        return s / 1e5, "diagnostics"


class TupleModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.readout = Readout()

    def forward(self, p, mask):
        v, total = self.block(p, mask)
        s, _ = self.readout(v, total, mask)
        return s.sum(-1, keepdim=True)

    def activation_irreps(self):
        return {"block": ("vector", 0), "readout": ("scalar", lambda out, batch_size: out[0])}


class PerParticleMap(nn.Module):
    """Acts on flattened particles [B·N, 4]: p ↦ p · tanh(p²/10⁴ + 1)."""

    def forward(self, x):
        return x * torch.tanh(mdot(x, x) / 1e4 + 1)[:, None]


class FlatModel(nn.Module):
    def __init__(self, declare_selector=True):
        super().__init__()
        self.map = PerParticleMap()
        self.declare_selector = declare_selector

    def forward(self, p, mask):
        v = self.map(p.reshape(-1, 4)).reshape(p.shape) * mask[..., None].to(p.dtype)
        total = v.sum(1)
        return mdot(total, total)[:, None] / 1e5

    def activation_irreps(self):
        if not self.declare_selector:
            return {"map": "vector"}
        return {"map": ("vector", lambda out, batch_size: out.reshape(batch_size, -1, 4))}


def test_vector_then_scalar_layers_pass():
    a = attribute(VectorThenScalar().double(), P, MASK)
    assert [(x.name, x.irreps) for x in a.layers] == [("vectors", "vector"), ("invariants", "scalar")]
    assert a.first_broken is None
    assert all(x.p95 < 1e-12 for x in a.layers), a.layers


def test_the_second_layer_that_uses_px_is_named():
    a = attribute(VectorThenScalar(use_px=True).double(), P, MASK)
    assert a.first_broken == "invariants"
    vectors, invariants = a.layers
    assert vectors.p95 < 1e-12 and invariants.p95 > 1e-3


def test_tuple_outputs_by_index_and_by_selector():
    a = attribute(TupleModel(), P, MASK)
    assert a.first_broken is None and all(x.p95 < 1e-12 for x in a.layers), a.layers


def test_a_tuple_without_selector_is_a_clear_error():
    model = TupleModel()
    model.activation_irreps = lambda: {"block": "vector"}
    with pytest.raises(
        ValueError, match=r"'block' returns a tuple of 2 items: declare it .* \(representation, index\)"
    ):
        attribute(model, P, MASK)


def test_flattened_activations_reshaped_by_the_selector():
    a = attribute(FlatModel(), P, MASK)
    assert a.first_broken is None and a.layers[0].p95 < 1e-12


def test_flattened_activations_without_selector_say_how_to_declare_them():
    with pytest.raises(ValueError, match=r"'map' emits \(80, 4\).*flattened \[B·N, …\].*selector"):
        attribute(FlatModel(declare_selector=False), P, MASK)


def test_per_jet_vector_layer_is_compared_whole():
    class Total(nn.Module):
        def forward(self, p, mask):
            return (p * mask[..., None].to(p.dtype)).sum(1)

    class Model(nn.Module):
        def __init__(self, broken):
            super().__init__()
            self.total, self.broken = Total(), broken

        def forward(self, p, mask):
            t = self.total(p, mask)
            return mdot(t, t)[:, None]

        def activation_irreps(self):
            # per jet [B, 4]; declaring it "vector" is right, "scalar" is a wrong declaration the check must catch
            return {"total": "scalar" if self.broken else "vector"}

    assert attribute(Model(False), P, MASK).first_broken is None
    assert attribute(Model(True), P, MASK).first_broken == "total"


def test_a_float64_model_is_hooked_itself():
    model = VectorThenScalar().double()
    seen = []
    model.vectors.register_forward_hook(lambda mod, args, out: seen.append(mod))
    attribute(model, P, MASK)
    assert len(seen) == 2 and all(mod is model.vectors for mod in seen)


def test_a_float32_model_runs_as_a_float64_copy_with_its_hooks():
    model = VectorThenScalar()  # float32 parameters: attribution runs a float64 copy
    assert attribute(model, P, MASK).first_broken is None
    # a user's hook that breaks the symmetry (a spatial component overwritten) travels with the copy and is caught
    model.vectors.register_forward_hook(
        lambda mod, args, out: out * torch.tensor([1.0, 1.0, 0.5, 1.0], dtype=out.dtype)
    )
    a = attribute(model, P, MASK)
    assert a.first_broken == "vectors" and a.dtype == "float64"
    assert next(model.parameters()).dtype == torch.float32  # the user's module is left as it was
    assert attribute(model, P.float(), MASK, dtype=torch.float32).first_broken == "vectors"


def test_the_lgn_in_float32_is_attributed():
    torch.manual_seed(0)
    lgn = cc.LGN(cc.LGNConfig(frame="lab")).eval()
    assert attribute(lgn, P, MASK).first_broken is None


def test_a_declared_layer_that_did_not_run_is_named():
    model = VectorThenScalar().double()
    model.unused = nn.Linear(2, 2).double()
    model.activation_irreps = lambda: {"vectors": "vector", "unused": "scalar"}
    with pytest.raises(ValueError, match=r"layer 'unused' did not run in forward") as e:
        attribute(model, P, MASK)
    assert "0 times" not in str(e.value)
    model.float()
    with pytest.raises(ValueError, match=r"'unused' did not run in forward.*float64 copy of the model"):
        attribute(model, P, MASK)


def test_a_name_that_is_not_a_submodule_lists_the_submodules():
    model = VectorThenScalar().double()
    model.activation_irreps = lambda: {"vector": "vector"}
    with pytest.raises(ValueError, match=r"names 'vector', which is not a submodule .*vectors, invariants"):
        attribute(model, P, MASK)


def test_a_layer_called_twice_is_a_clear_error():
    class Twice(VectorThenScalar):
        def forward(self, p, mask):
            return super().forward(self.vectors(p, mask) / 2, mask)

    with pytest.raises(ValueError, match=r"'vectors' ran 2 times in one forward"):
        attribute(Twice().double(), P, MASK)


def test_a_wrong_dimension_is_a_clear_error():
    model = VectorThenScalar().double()
    model.activation_irreps = lambda: {"vectors": "2x(0,0)"}
    with pytest.raises(
        ValueError, match=r"'vectors' emits \(8, 10, 4\), but its declared representation .* dimension 2"
    ):
        attribute(model, P, MASK)


class JetSummary(nn.Module):
    """One per-jet activation of 8 four-vectors, [B, 8, 4]: v_k = P + (k/8)·(0, P_x, 0, 0) from the jet momentum P
    (`broken`; else v_k = (k/8)·P) — per jet whatever the width, also in calls narrower than 8 particles, where
    reading it per particle would drop the row facing a padding hole from the comparison."""

    def __init__(self, broken=False):
        super().__init__()
        self.summary = nn.Identity()
        self.broken = broken

    def forward(self, p, mask):
        jet = (p * mask[..., None].to(p.dtype)).sum(1)[:, None, :]
        k = torch.arange(1, 9, dtype=p.dtype)[None, :, None] / 8
        bump = jet * torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=p.dtype)
        v = self.summary(jet + k * bump if self.broken else k * jet)
        return mdot(v, v).sum(1, keepdim=True)

    def activation_irreps(self):
        return {"summary": "vector"}


def test_trimmed_forwards_give_the_same_errors_as_one_padded_forward():
    """trim_padding=True runs jets of similar length together with their trailing padding cut, in several forwards
    (the CPU's call size): the same per-layer errors as one forward at the full width — for a model that reads its
    padding rows as 0 and one that does not use the padding at all — and a broken layer is still named."""
    from clariant.validate.attribution import _calls

    p, mask = random_jets(160, 40, seed=11, min_particles=2)
    p = torch.cat([p, p.new_zeros(160, 20, 4)], 1)  # 20 more padding rows at the end, as a fixed-width file has
    mask = torch.cat([mask, mask.new_zeros(160, 20)], 1)
    mask[3, 1] = False  # a hole before the last real particle: the jet keeps its width up to that particle
    short = mask.sum(1) < 8
    mask[short, 0] = False  # holes in the jets of calls narrower than JetSummary's 8 rows
    calls = _calls(mask, True, torch.float64, torch.device("cpu"))
    # the longest jets first, at the full width (a layer is read per jet or per particle there as without trimming)
    assert len(calls) > 2 and calls[0][1] == 60 and max(w for _, w in calls[1:]) <= 40
    assert min(w for _, w in calls) < 8
    assert sorted(torch.cat([rows for rows, _ in calls]).tolist()) == list(range(160))
    torch.manual_seed(0)
    models = (VectorThenScalar(), VectorThenScalar(use_px=True), cc.LGN(), JetSummary(), JetSummary(broken=True))
    models = [model.double() for model in models]
    for model in models:
        whole, parts = attribute(model, p, mask), attribute(model, p, mask, trim_padding=True)
        assert whole.first_broken == parts.first_broken
        for a, b in zip(whole.layers, parts.layers, strict=True):
            assert a.name == b.name
            if a.p95 > whole.threshold:  # a symmetry bug: the same numbers
                assert (a.median, a.p95, a.max) == pytest.approx((b.median, b.p95, b.max), rel=1e-9)
            else:  # rounding: the sums run in other orders in other calls — the same size, not the same digits
                assert b.p95 <= whole.threshold and 0.25 <= b.median / a.median <= 4 and 0.25 <= b.p95 / a.p95 <= 4
    assert attribute(VectorThenScalar(use_px=True).double(), p, mask, trim_padding=True).first_broken == "invariants"


@pytest.mark.parametrize("trim", [False, True])
def test_bad_jets_are_refused_before_any_forward(trim):
    """No jets, three-momenta, a NaN, an empty jet: a clear error naming the jet as the caller numbers them (the
    trimmed forwards reorder the jets), before the model runs — not a hook or lorentz_apply message."""
    model = VectorThenScalar().double()
    p, mask = random_jets(6, 12, seed=2, min_particles=2)
    nan = p.clone()
    nan[4, 0, 1] = float("nan")  # the longest-first order puts jet 4 elsewhere
    empty = mask.clone()
    empty[3] = False
    cases = [
        ((p[:0], mask[:0]), "no jets to measure"),
        ((p[..., 1:], mask), r"four-momenta \[B, N, 4\].*three-momenta"),
        ((nan, mask), "NaN or inf at jet 4, particle 0"),
        ((p, empty), "jet 3 has no real particle"),
    ]
    for (q, m), match in cases:
        with pytest.raises(ValueError, match=match):
            attribute(model, q, m, trim_padding=trim)


class ZeroesPaddingIfAny(nn.Module):
    """A declared layer that runs only when the call has padding (as a model skipping its mask on full jets does):
    the momenta with padding rows zeroed; output the squared mass of their sum."""

    def __init__(self):
        super().__init__()
        self.zeroed = Zeroed()

    def forward(self, p, mask):
        v = p if bool(mask.all()) else self.zeroed(p, mask)
        total = v.sum(1)
        return mdot(total, total)[:, None]

    def activation_irreps(self):
        return {"zeroed": "vector"}


class Zeroed(nn.Module):
    def forward(self, p, mask):
        return p * mask[..., None].to(p.dtype)


def test_a_layer_skipped_on_jets_without_padding_is_attributed_untrimmed():
    """Trimmed forwards hand the model jets without padding; a declared layer it then skips would "not run": the
    attribution falls back to every jet at the width given, with the same errors as untrimmed."""
    p, mask = random_jets(120, 20, seed=3, min_particles=20)
    p, mask = torch.cat([p, p.new_zeros(120, 10, 4)], 1), torch.cat([mask, mask.new_zeros(120, 10)], 1)
    model = ZeroesPaddingIfAny().double()
    whole, parts = attribute(model, p, mask), attribute(model, p, mask, trim_padding=True)
    assert [(a.name, a.median, a.p95, a.max) for a in whole.layers] == [
        (b.name, b.median, b.p95, b.max) for b in parts.layers
    ]
    with pytest.raises(ValueError, match="did not run in forward"):  # without padding at all it really never runs
        attribute(model, p[:, :20], mask[:, :20], trim_padding=True)
