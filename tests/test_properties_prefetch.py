"""run_all evaluates every check's jets ahead, in one pass per dtype (docs/properties.md): the checks must then find
every output they ask for ready, see exactly the numbers they would have seen one by one, and raise where they
would have raised. The models are written here, independently of the suite."""

import pytest
import torch

from clariant.validate.properties import (
    check_collinear,
    check_infrared,
    check_padding,
    check_parity,
    check_permutation,
    run_all,
)
from clariant.validate.properties import evaluate as ev
from clariant.validate.strategies import random_jets

P, M = random_jets(20, 14, seed=5, min_particles=3)
SINGLE = {
    "permutation": check_permutation,
    "padding": check_padding,
    "parity": check_parity,
    "infrared": check_infrared,
    "collinear": check_collinear,
}


def per_jet(p, mask):
    """Per-jet arithmetic only (no batched matmul), so its outputs do not depend on which jets share a call:
    Σ E, Σ pT²/100 and the energy-weighted mean row position."""
    e = p[..., 0] * mask
    pt2 = (p[..., 1] ** 2 + p[..., 2] ** 2) * mask
    rows = torch.arange(p.shape[1], dtype=p.dtype)
    return torch.stack([e.sum(1), pt2.sum(1) / 100, (e * rows).sum(1) / e.sum(1)], -1)


def rows_of(result):
    return [(r.check, r.dtype, str(r.verdict), r.change_p95, r.floor_p95) for r in result.rows] + [
        (s.check, s.dtype, str(s.verdict), s.values, s.change_median, s.change_p95) for s in result.scans
    ]


@pytest.fixture
def passes(monkeypatch):
    """The model passes made (each a set of calls at one dtype, run alone or with the other dtypes'), by dtype."""
    seen = []
    inner = ev._WidthsPass.__init__

    def counted(self, model, dtype, p, mask, widths):
        seen.append(dtype)
        inner(self, model, dtype, p, mask, widths)

    monkeypatch.setattr(ev._WidthsPass, "__init__", counted)
    return seen


def test_every_check_finds_its_outputs_ready(passes, monkeypatch):
    left = []
    unused = ev.Model.unused
    monkeypatch.setattr(ev.Model, "unused", lambda self: left.append(unused(self)) or left[-1])
    results = run_all(per_jet, P, M, train_width=30, scan_jets=8)
    assert set(results) == set(SINGLE)
    # one pass per dtype for everything, the references included
    assert passes == [torch.float64, torch.float32]
    assert left == [0]


def test_the_checks_see_the_numbers_they_see_one_by_one():
    together = run_all(per_jet, P, M, train_width=30, scan_jets=None)
    for name, check in SINGLE.items():
        kw = {"train_width": 30, "width_jets": None} if name == "padding" else {}
        alone = check(per_jet, P, M, **kw)
        assert rows_of(together[name]) == rows_of(alone), name
        assert together[name].verdict == alone.verdict


def test_a_failing_pass_is_dropped_and_the_checks_run_as_alone(passes):
    def narrow(p, mask):  # fails on the padded width only, as a model with a fixed maximum length does
        if p.shape[1] > 25:
            raise RuntimeError("sequence longer than the positional table (25)")
        return per_jet(p, mask)

    together = run_all(narrow, P, M, train_width=30, properties=("padding",))["padding"]
    alone = check_padding(narrow, P, M, train_width=30)
    assert "padded to 30: not measured" in together.note and together.note == alone.note
    assert rows_of(together) == rows_of(alone)


def test_a_model_failing_at_a_dtype_raises_what_the_check_raises_alone():
    def no_float32(p, mask):
        if p.dtype == torch.float32:
            raise RuntimeError("this model runs in float64 only")
        return per_jet(p, mask)

    with pytest.raises(RuntimeError, match="float64 only") as together:
        run_all(no_float32, P, M, train_width=30)
    with pytest.raises(RuntimeError, match="float64 only") as alone:
        check_permutation(no_float32, P, M)
    assert str(together.value) == str(alone.value)


def test_fixed_width_models_are_evaluated_check_by_check(passes):
    n = P.shape[1]

    def fixed(p, mask):
        assert p.shape[1] == n, "a fixed-width model"
        return per_jet(p, mask)

    results = run_all(fixed, P, M, trim_padding=False, properties=("permutation", "parity"))
    assert [str(r.verdict) for r in results.values()] == ["BROKEN", "EVEN"]  # the row-position term: order dependent
    assert len(passes) == 0  # trim=False never groups by width


def test_four_vector_outputs_are_planned_too(passes):
    def momentum(p, mask):
        return (p * mask[..., None].to(p.dtype)).sum(1) / 100

    r = run_all(momentum, P, M, train_width=30, scan_jets=8, out_rep="vector")
    assert r["parity"].verdict == "EVEN"
    assert passes == [torch.float64, torch.float32]


def test_the_consistency_probe_runs_once_per_set_of_jets(monkeypatch):
    """Every check starts with the consistency probe; its gradients (a forward and backward per probed jet) are
    computed once per context — the checks on every jet, and the scans on their first jets — not once per check."""
    probed = []
    inner = ev.Model.sensitivity

    def counted(self, p, mask, widths):
        probed.append(p.shape[0])
        return inner(self, p, mask, widths)

    monkeypatch.setattr(ev.Model, "sensitivity", counted)
    run_all(per_jet, P, M, train_width=30, scan_jets=8)
    assert len(probed) == 2
    run_all(per_jet, P, M, train_width=30, scan_jets=None)  # one context for all the checks
    assert len(probed) == 3
