"""The pytest plugin as a user's own repository sees it after `pip install clariant`: fixtures and the report."""

import pytest

EXAMPLE_TEST = '''
import torch
from hypothesis import given, settings

import clariant_core as cc
from clariant.validate import PASS, assert_lorentz_invariant


class JetMass(torch.nn.Module):
    """A user's own invariant model: the jet mass² through a small MLP."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))

    def forward(self, p, mask):
        total = (p * mask[..., None].to(p.dtype)).sum(1)
        return self.mlp(cc.minkowski_norm2(total / 100)[:, None] / 10)  # GeV/100: no float16 overflow


def test_with_fixtures(jets, lorentz_transform, lorentz_report):
    p, mask = jets(batch=8, particles=12)
    lam = lorentz_transform("beam", n=4)
    assert lam.shape == (4, 4, 4)
    model = JetMass().double()
    assert assert_lorentz_invariant(model, p, mask, n_rapidities=2, n_angles=1).verdict == PASS
    lorentz_report.add(model, p, mask, name="jetmass", n_rapidities=3, n_angles=2, groups=("beam",),
                       dtypes=(torch.float32, torch.float64))


@settings(max_examples=5, deadline=None)
@given(data=__import__("clariant.validate.strategies", fromlist=["x"]).lorentz_transformations(max_rapidity=3.0))
def test_with_strategies(data):
    assert data.shape == (4, 4)
'''


@pytest.fixture
def example(pytester):
    pytester.makepyfile(test_example=EXAMPLE_TEST)
    return pytester


def test_plugin_writes_the_report_where_asked(example, tmp_path):
    out = tmp_path / "lorentz"
    result = example.runpytest_subprocess(f"--lorentz-report={out}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert (out / "index.html").exists() and (out / "error_vs_rapidity.png").exists()
    result.stdout.fnmatch_lines(["*Lorentz report*", f"jetmass: PASS*{out}*"])


def test_plugin_default_folder_and_off_switch(example):
    result = example.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert (example.path / "reports" / "index.html").exists()
    (example.path / "reports" / "index.html").unlink()
    result = example.runpytest_subprocess("--lorentz-report=no", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert not (example.path / "reports" / "index.html").exists()


def test_plugin_options_are_registered(pytester):
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--lorentz-report=DIR*", "*--lorentz-fail-on=VERDICT*"])


GATE_TEST = '''
import torch

import clariant_core as cc

SMALL = dict(n_rapidities=2, n_angles=1, groups=(), dtypes=(torch.float32, torch.float64))


class SumE(torch.nn.Module):
    """Σ E_i: invariant under rotations, not under boosts."""

    def forward(self, p, mask):
        return (p[..., 0] * mask.to(p.dtype)).sum(1, keepdim=True) / 100


class JetMass(torch.nn.Module):
    def forward(self, p, mask):
        total = (p * mask[..., None].to(p.dtype)).sum(1)
        return cc.minkowski_norm2(total / 100)[:, None]


class HalfOutput(JetMass):
    """Invariant, but the output is rounded to float16: no float32/float64 row can be resolved."""

    def forward(self, p, mask):
        return super().forward(p, mask).half()


def test_sum_e(jets, lorentz_report):
    lorentz_report.add(SumE(), *jets(batch=8, particles=8), name="sum_e", **SMALL)


def test_jetmass(jets, lorentz_report):
    lorentz_report.add(JetMass(), *jets(batch=8, particles=8), name="jetmass", **SMALL)


def test_half(jets, lorentz_report):
    lorentz_report.add(HalfOutput(), *jets(batch=8, particles=8), name="half_output", **SMALL)
'''


@pytest.fixture
def gate(pytester):
    pytester.makepyfile(test_gate=GATE_TEST)

    def run(which, *args):
        return pytester.runpytest_subprocess("-k", which, "--lorentz-report=no", "-p", "no:cacheprovider", *args)

    return run


def test_a_broken_model_fails_the_session_and_is_named(pytester, tmp_path):
    pytester.makepyfile(test_gate=GATE_TEST)
    out = tmp_path / "lorentz"
    result = pytester.runpytest_subprocess("-k", "sum_e", f"--lorentz-report={out}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (out / "index.html").exists()  # the report is written for a failing model too
    result.stdout.fnmatch_lines(
        [
            "*Lorentz report*",
            f"sum_e: BROKEN → {out}*breaks boosts along x*worst: BROKEN: *",
            "Lorentz gate: session FAILS (--lorentz-fail-on=BROKEN fails on BROKEN, NONFINITE): sum_e",
        ]
    )


def test_a_passing_model_passes_the_gate(gate):
    result = gate("jetmass")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["jetmass: PASS", "Lorentz gate: passed*"])


def test_the_gate_holds_with_the_report_off_and_fail_on_none_turns_it_off(gate, tmp_path):
    assert gate("sum_e").ret == pytest.ExitCode.TESTS_FAILED  # gate() turns the report off
    result = gate("sum_e", "--lorentz-fail-on=none", f"--lorentz-report={tmp_path}")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["sum_e: BROKEN*", "Lorentz gate: passed (--lorentz-fail-on=none fails on nothing)"])


def test_one_verdict_means_it_or_worse_a_list_means_exactly_those(gate):
    result = gate("sum_e", "--lorentz-fail-on=numerical")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*fails on NUMERICAL, BROKEN, NONFINITE): sum_e"])
    assert gate("jetmass", "--lorentz-fail-on=NUMERICAL").ret == pytest.ExitCode.OK
    result = gate("sum_e", "--lorentz-fail-on=NUMERICAL,UNRESOLVED")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*fails on UNRESOLVED, NUMERICAL)"])


def test_an_unresolved_headline_is_reported_and_fails_only_when_asked(gate):
    result = gate("half")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["half_output: UNRESOLVED — nothing could be judged at these precisions — *float16*"])
    assert gate("half", "--lorentz-fail-on=UNRESOLVED").ret == pytest.ExitCode.TESTS_FAILED


def test_the_ini_value_and_a_bad_value(pytester):
    pytester.makepyfile(test_gate=GATE_TEST)
    pytester.makeini("[pytest]\nlorentz_fail_on = none\n")
    assert pytester.runpytest_subprocess("-k", "sum_e", "--lorentz-report=no").ret == pytest.ExitCode.OK
    result = pytester.runpytest_subprocess("-k", "sum_e", "--lorentz-fail-on=BROKE")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lorentz-fail-on='BROKE': 'BROKE' is not a verdict that can fail a session*"])
    assert "test_gate.py" not in result.stdout.str()  # nothing ran


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("BROKEN", {"BROKEN", "NONFINITE"}),
        (" numerical ", {"NUMERICAL", "BROKEN", "NONFINITE"}),
        ("UNRESOLVED", {"UNRESOLVED", "NUMERICAL", "BROKEN", "NONFINITE"}),
        ("NONFINITE,UNRESOLVED", {"NONFINITE", "UNRESOLVED"}),
        ("none", set()),
    ],
)
def test_parse_fail_on(spec, expected):
    from clariant.validate.pytest_plugin import parse_fail_on

    assert {str(v) for v in parse_fail_on(spec)} == expected


@pytest.mark.parametrize("spec", ["PASS", "BROKEN,none", "", "BROKEN,,NONFINITE"])
def test_parse_fail_on_rejects(spec):
    from clariant.validate.pytest_plugin import parse_fail_on

    with pytest.raises(pytest.UsageError, match="is not a verdict that can fail a session"):
        parse_fail_on(spec)


def test_a_report_folder_holding_the_users_files_is_refused_in_the_registering_test(example):
    reports = example.path / "reports"
    reports.mkdir()
    (reports / "coverage.html").write_text("<p>my coverage</p>")
    (reports / "results.json").write_text("{}")
    result = example.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)  # the test that registered the model, not the session's end
    result.stdout.fnmatch_lines(["*FileExistsError: output location *reports holds coverage.html, results.json*"])
    assert (reports / "coverage.html").read_text() == "<p>my coverage</p>" and (reports / "results.json").exists()
    assert not (reports / "index.html").exists()


def test_a_second_session_replaces_its_own_report_and_keeps_other_files(example):
    assert example.runpytest_subprocess("-p", "no:cacheprovider").ret == pytest.ExitCode.OK
    reports = example.path / "reports"
    (reports / "notes.txt").write_text("mine")
    result = example.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert (reports / "notes.txt").read_text() == "mine" and (reports / "index.html").exists()


def test_registration_mistakes_fail_in_the_test_and_a_failing_model_in_one_line(pytester):
    pytester.makepyfile(
        test_mistakes="""
import torch

def test_typo(jets, lorentz_report):
    lorentz_report.add(lambda p, mask: p.sum((1, 2))[:, None], *jets(batch=4, particles=4), n_rapidity=2)

def test_no_mask(jets, lorentz_report):
    lorentz_report.add(lambda p: p[..., 0].sum(1, keepdim=True), *jets(batch=4, particles=4), name="no_mask")

def test_order(jets, lorentz_report):
    p, mask = jets(batch=4, particles=4)
    lorentz_report.add(lambda p, mask: p[..., 0].sum(1, keepdim=True), p[..., [1, 2, 3, 0]], mask, name="pxpypze")

def test_raises(jets, lorentz_report):
    def model(p, mask):
        raise RuntimeError("my model is not finished")
    lorentz_report.add(model, *jets(batch=4, particles=4), name="unfinished", n_rapidities=2, n_angles=1)
"""
    )
    result = pytester.runpytest_subprocess("--lorentz-report=no", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*TypeError: lorentz_report.add got unknown keyword(s) n_rapidity*"])
    result.stdout.fnmatch_lines(["*ModelCallError: the model takes one positional argument*pass takes_mask=False*"])
    result.stdout.fnmatch_lines(["*ValueError: jet *, particle *: |p⃗| = * > E = *is the energy stored last*"])
    result.stdout.fnmatch_lines(
        ["unfinished: validation failed (session fails): ModelFailed: the model failed in float*my model is not*"]
    )
    assert "Traceback" not in result.stdout.str().split("Lorentz report")[-1]
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_an_empty_fail_on_value_is_a_usage_error_and_the_ini_key_is_named(pytester):
    pytester.makepyfile(test_gate=GATE_TEST)
    result = pytester.runpytest_subprocess("-k", "sum_e", "--lorentz-fail-on=")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lorentz-fail-on='': an empty value is not a verdict*"])
    pytester.makeini("[pytest]\nlorentz_fail_on = BROKN\n")
    result = pytester.runpytest_subprocess("-k", "sum_e")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*lorentz_fail_on (ini)='BROKN'*"])


def test_a_single_report_never_drops_what_the_user_put_in_a_previous_collection(pytester):
    pytester.makepyfile(test_gate=GATE_TEST)
    reports = pytester.path / "reports"
    two = pytester.runpytest_subprocess("-k", "jetmass or half", "-p", "no:cacheprovider")
    assert (reports / "jetmass" / "index.html").exists() and (reports / "index.html").exists(), two.stdout.str()
    (reports / "jetmass" / "notes.txt").write_text("mine")
    again = pytester.runpytest_subprocess("-k", "jetmass or half", "-p", "no:cacheprovider")
    assert again.ret == pytest.ExitCode.OK and (reports / "jetmass" / "notes.txt").read_text() == "mine"
    one = pytester.runpytest_subprocess("-k", "jetmass", "-p", "no:cacheprovider")
    one.stdout.fnmatch_lines(["jetmass: PASS; report not written (session fails): *holds jetmass/notes.txt*"])
    assert one.ret == pytest.ExitCode.TESTS_FAILED and (reports / "jetmass" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("name", [".", "..", "index.html", ".hidden", "-x"])
def test_model_names_that_are_not_plain_folder_names_are_refused(pytester, name):
    pytester.makepyfile(
        test_names=f"""
def test_name(jets, lorentz_report):
    lorentz_report.add(lambda p, mask: p[..., 0].sum(1, keepdim=True), *jets(batch=4, particles=4), name={name!r})
"""
    )
    result = pytester.runpytest_subprocess("--lorentz-report=no", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ValueError: report name*must be letters*"])


def test_one_model_may_be_named_like_a_file_beside_its_report_but_two_may_not_share_a_name(pytester):
    (pytester.path / "reports").mkdir()
    (pytester.path / "reports" / "README.md").write_text("mine")
    pytester.makepyfile(
        test_names="""
def model(p, mask):
    return p[..., 0].sum(1, keepdim=True)

def test_one(jets, lorentz_report):
    lorentz_report.add(model, *jets(batch=4, particles=4), name="README.md", n_rapidities=1, n_angles=1, groups=())

def test_case(jets, lorentz_report):
    lorentz_report.add(model, *jets(batch=4, particles=4), name="readme.md", n_rapidities=1, n_angles=1, groups=())
"""
    )
    one = pytester.runpytest_subprocess("-k", "one", "--lorentz-fail-on=none", "-p", "no:cacheprovider")
    one.assert_outcomes(passed=1)
    assert (pytester.path / "reports" / "README.md").read_text() == "mine"
    both = pytester.runpytest_subprocess("--lorentz-fail-on=none", "-p", "no:cacheprovider")
    both.assert_outcomes(passed=1, failed=1)
    both.stdout.fnmatch_lines(["*already registered*"])


def test_a_collection_page_says_why_a_model_could_not_be_validated(pytester):
    pytester.makepyfile(
        test_two="""
import torch

SMALL = dict(n_rapidities=1, n_angles=1, groups=(), dtypes=(torch.float64,))

def test_two(jets, lorentz_report):
    def unfinished(p, mask):
        raise RuntimeError("my model is not finished")
    p, mask = jets(batch=4, particles=4)
    lorentz_report.add(lambda p, mask: p[..., 0].sum(1, keepdim=True), p, mask, name="energy", **SMALL)
    lorentz_report.add(unfinished, p, mask, name="unfinished", **SMALL)
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    page = (pytester.path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "energy/index.html" in page and "unfinished: validation failed — " in page
    assert "my model is not finished" in page
