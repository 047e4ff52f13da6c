"""The two verdict vocabularies: the Lorentz `Verdict` and the property checks' `PropertyVerdict` — each equal to its
plain words, never silently equal to the other's; the gates that read the Lorentz one."""

import json

import pytest

from clariant.cli import exit_code
from validate import BROKEN, NONFINITE, NUMERICAL, PASS, UNRESOLVED, Verdict
from validate.properties import PropertyVerdict
from validate.properties.verdicts import as_safety, worst
from validate.pytest_plugin import parse_fail_on

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
