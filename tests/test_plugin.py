"""The pytest plugin as a user's own repository sees it after `pip install clariant`: fixtures and the report."""

import pytest

EXAMPLE_TEST = '''
import torch
from hypothesis import given, settings

import clariant_core as cc
from validate import PASS, assert_lorentz_invariant


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
@given(data=__import__("validate").strategies.lorentz_transformations(max_rapidity=3.0))
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
    result.stdout.fnmatch_lines(["*--lorentz-report=DIR*"])
