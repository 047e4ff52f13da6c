"""The two verdict vocabularies: the Lorentz `Verdict` and the property checks' `PropertyVerdict` — each equal to its
plain words, never silently equal to the other's; the gates that read the Lorentz one."""

import json

import pytest
import torch

from clariant.cli import exit_code
from clariant.validate import BROKEN, NONFINITE, NUMERICAL, PASS, UNRESOLVED, Verdict
from clariant.validate.properties import PropertyVerdict
from clariant.validate.properties.verdicts import as_safety, worst
from clariant.validate.pytest_plugin import parse_fail_on

SHARED = [v.value for v in Verdict]


def test_each_vocabulary_is_its_plain_words():
    assert set(SHARED) < {v.value for v in PropertyVerdict}  # the property words extend the five Lorentz ones
    for word in SHARED:
        assert Verdict(word) == word and PropertyVerdict(word) == word
        assert f"{Verdict(word)}" == str(PropertyVerdict(word)) == word
        assert {Verdict(word): 1}[word] == 1  # hashes like its word: JSON keys and values look it up
    assert json.loads(json.dumps({"v": Verdict.BROKEN, "p": PropertyVerdict.UNSAFE})) == {"v": "BROKEN", "p": "UNSAFE"}


@pytest.mark.parametrize("word", SHARED)
def test_shared_words_of_the_two_vocabularies_never_compare_silently(word):
    lorentz, prop = Verdict(word), PropertyVerdict(word)
    for compare in (
        lambda: lorentz == prop,
        lambda: prop == lorentz,
        lambda: lorentz != prop,
        lambda: lorentz < prop,
        lambda: lorentz >= prop,
        lambda: prop in {lorentz},
        lambda: Verdict.of(prop),
        lambda: PropertyVerdict.of(lorentz),
        lambda: worst([prop, lorentz]),
        lambda: as_safety(lorentz),
        lambda: exit_code(prop),
    ):
        with pytest.raises(TypeError, match="Verdict"):
            compare()
    assert Verdict(prop.value) is lorentz and PropertyVerdict.of(word) is prop  # explicit conversion


def test_the_two_orders_differ_where_their_combinations_do():
    assert max([Verdict.BROKEN, Verdict.NONFINITE]) is NONFINITE  # Lorentz: non-finite outputs are the worst finding
    assert worst([PropertyVerdict.BROKEN, PropertyVerdict.NONFINITE]) is PropertyVerdict.BROKEN
    assert worst([PropertyVerdict.PASS, PropertyVerdict.UNRESOLVED]) is PropertyVerdict.UNRESOLVED
    assert max([PASS, UNRESOLVED]) is UNRESOLVED  # ordered; the headline sets UNRESOLVED aside (headline())


def test_cli_exit_code_gate():
    codes = {v: exit_code(v) for v in Verdict}
    assert codes == {PASS: 0, NUMERICAL: 0, UNRESOLVED: 1, BROKEN: 1, NONFINITE: 1}
    assert [exit_code(v.value) for v in Verdict] == list(codes.values())  # the JSON result's word
    with pytest.raises(ValueError):
        exit_code("SAFE")


def test_plugin_fail_on_speaks_the_lorentz_vocabulary():
    assert parse_fail_on("broken") == {BROKEN, NONFINITE}
    assert parse_fail_on("NUMERICAL") == {NUMERICAL, BROKEN, NONFINITE}
    assert parse_fail_on("UNRESOLVED,BROKEN") == {UNRESOLVED, BROKEN}
    assert all(type(v) is Verdict for v in parse_fail_on("UNRESOLVED"))
    with pytest.raises(pytest.UsageError, match="'UNSAFE' is not a verdict"):
        parse_fail_on("UNSAFE")


# --- the excess-agreement rule of NUMERICAL on measurements built to the rounding model --------------------------
def _measured(name, amplification, floor_scale=3.0, jets=100, seed=0):
    """A measurement whose errors are the precision's rounding floor times `amplification` [B] (rounding the model
    amplifies by the same factor at every precision), with a 20 % jitter."""
    from clariant.validate.groups import GridPoint
    from clariant.validate.measures import Measurement
    from clariant_core.numerics import PRECISIONS

    g = torch.Generator().manual_seed(seed)
    u = PRECISIONS[name].u
    floor = torch.full((1, jets), floor_scale * u, dtype=torch.float64)
    errors = floor * 0.5 * amplification * (1 + 0.2 * torch.rand(1, jets, generator=g, dtype=torch.float64))
    return Measurement(
        name, [GridPoint("boost", "x", 2.0)], errors.clamp_max(1.0), floor, output_dtype=PRECISIONS[name].dtype
    )


def _judged(*names_and_amplifications):
    from clariant.validate.groups import boost_sl2c
    from clariant.validate.measures import Sweep
    from clariant.validate.verdict import judge

    t = boost_sl2c("x", torch.tensor([2.0], dtype=torch.float64))
    points = _measured("float64", torch.ones(1)).points
    s = Sweep(points, t, {n: _measured(n, *a, seed=k) for k, (n, *a) in enumerate(names_and_amplifications)})
    return {r.dtype: r.verdict for r in judge(s).rows}


def test_amplified_rounding_in_a_tail_of_jets_is_numerical_at_both_precisions():
    amp = torch.ones(100, dtype=torch.float64)
    amp[:10] = 1e5  # 10 % of the jets: rounding amplified 10⁵× — the p95 fails, the medians sit at the floor
    assert _judged(("float64", amp), ("float32", amp)) == {"float64": "NUMERICAL", "float32": "NUMERICAL"}


def test_a_precision_whose_errors_are_capped_does_not_make_amplified_rounding_broken():
    amp = torch.full((100,), 1e6, dtype=torch.float64)  # bfloat16 errors cap at 1, ~250× its floor, not 10⁶×
    got = _judged(("float64", amp), ("float32", amp), ("bfloat16", amp, 1.0))
    assert got == {"float64": "NUMERICAL", "float32": "NUMERICAL", "bfloat16": "NUMERICAL"}


def test_an_excess_one_precision_does_not_show_is_broken():
    ones = torch.ones(100, dtype=torch.float64)
    got = _judged(("float64", ones * 1e4), ("float32", ones * 2))  # 10⁴× the floor in float64 only: no rounding
    assert got["float64"] == "BROKEN"
