"""pytest plugin (entry point `pytest11: clariant`): fixtures for users' own Lorentz tests and a session report.

Options: `--lorentz-report=DIR` (default `reports`, or the ini value `lorentz_report`) moves the report;
`--lorentz-report=no` turns it off. Tests register models with the `lorentz_report` fixture; at the end of the
session the plugin validates each registered model and writes DIR/index.html (one model) or DIR/<name>/index.html
plus an index (several). Fixtures: `lorentz_report`, `lorentz_transform`, `jets`, `lorentz_strategies`,
`lorentz_sweep`, `lorentz_judge`.
"""

from __future__ import annotations

import html
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("clariant", "CLARIANT Lorentz-symmetry report")
    group.addoption(
        "--lorentz-report",
        dest="lorentz_report",
        default=None,
        metavar="DIR",
        help="folder for the Lorentz report written at the end of the session ('no' to disable; "
        "default: the ini value lorentz_report, else 'reports')",
    )
    parser.addini("lorentz_report", "default folder for the Lorentz report ('no' to disable)", default="reports")


@dataclass
class _Entry:
    name: str
    model: object
    p: object
    mask: object
    model_card: dict
    run_kw: dict


@dataclass
class LorentzReport:
    """Collects models to validate at the end of the session."""

    entries: list[_Entry] = field(default_factory=list)

    def add(self, model, p, mask, *, name: str = "model", model_card: dict | None = None, **run_kw) -> None:
        """Register `model(p, mask)` for the session report; run_kw go to validate.report.run (dtypes,
        max_rapidity, n_rapidities, groups, …)."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"report name {name!r} must be letters, digits, '_', '.', '-'")
        if any(e.name == name for e in self.entries):
            raise ValueError(f"a model named {name!r} is already registered")
        self.entries.append(_Entry(name, model, p, mask, dict(model_card or {}), run_kw))


_KEY = pytest.StashKey[LorentzReport]()
_RESULT = pytest.StashKey[list]()


def _target(config) -> Path | None:
    value = config.getoption("lorentz_report") or config.getini("lorentz_report")
    if str(value).lower() == "no":
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def pytest_configure(config):
    config.stash[_KEY] = LorentzReport()
    config.stash[_RESULT] = []


@pytest.fixture(scope="session")
def lorentz_report(request) -> LorentzReport:
    """Register models for the end-of-session report: `lorentz_report.add(model, p, mask, name="mine")`."""
    return request.config.stash[_KEY]


@pytest.fixture
def lorentz_transform():
    """`lorentz_transform(group="full", n=8, max_rapidity=2.0, seed=0)` → checked Λ `[n, 4, 4]` float64."""
    import clariant_core as cc

    from .groups import check_lorentz, sample

    def make(group="full", n=8, max_rapidity=2.0, seed=0):
        return check_lorentz(cc.to_so13(sample(group, n, max_rapidity=max_rapidity, seed=seed)))

    return make


@pytest.fixture
def jets():
    """`jets(batch=16, particles=30, seed=0, dtype=torch.float64)` → (p `[B, N, 4]`, mask `[B, N]`)."""
    from .strategies import random_jets

    def make(batch=16, particles=30, seed=0, **kw):
        return random_jets(batch, particles, seed=seed, **kw)

    return make


@pytest.fixture
def lorentz_strategies():
    """The hypothesis strategies module (lorentz_transformations, boosts, rotations, four_momenta, jets, …)."""
    from . import strategies

    return strategies


@pytest.fixture
def lorentz_sweep():
    from .measures import sweep

    return sweep


@pytest.fixture
def lorentz_judge():
    from .verdict import judge

    return judge


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    target = _target(config)
    entries = config.stash[_KEY].entries
    if target is None or not entries or getattr(config.option, "collectonly", False):
        return
    from . import report

    done = config.stash[_RESULT]
    try:
        for e in entries:
            out = target if len(entries) == 1 else target / e.name
            result = report.run(e.model, e.p, e.mask, **e.run_kw)
            report.write(result, out, model_card={"name": e.name, **e.model_card})
            done.append((e.name, out / "index.html", result["verdict"]))
        if len(entries) > 1:
            links = "".join(
                f"<li><a href='{html.escape(n)}/index.html'>{html.escape(n)}</a>: {v}</li>" for n, _, v in done
            )
            target.mkdir(parents=True, exist_ok=True)
            (target / "index.html").write_text(
                f"<!doctype html><meta charset='utf-8'><title>Lorentz reports</title>"
                f"<h1>Lorentz reports</h1><ul>{links}</ul>",
                encoding="utf-8",
            )
    except Exception:  # noqa: BLE001 — a report that cannot be written fails the session, loudly
        done.append(("error", None, traceback.format_exc()))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    done = config.stash.get(_RESULT, [])
    if not done:
        return
    terminalreporter.section("Lorentz report")
    for name, path, verdict in done:
        if path is None:
            terminalreporter.write_line(f"report failed:\n{verdict}", red=True)
        else:
            terminalreporter.write_line(f"{name}: {verdict} → {path}")


# --- fixtures of validate.properties (permutation, padding, infrared/collinear safety, parity) -------------------
@pytest.fixture
def property_strategies():
    """Hypothesis strategies of the perturbations: soft_emissions, collinear_splittings, permutations, paddings."""
    from .properties import strategies

    return strategies


@pytest.fixture
def perturb():
    """The perturbation functions (permute, pad, fill_masked, padding_first, soft_emission, collinear_split, parity)."""
    from .properties import perturb as module

    return module


@pytest.fixture
def property_checks():
    """`property_checks(model, p, mask, **kw)` → {property: PropertyResult} (validate.properties.run_all)."""
    from .properties import run_all

    return run_all
