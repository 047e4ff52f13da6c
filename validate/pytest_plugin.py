"""pytest plugin (entry point `pytest11: clariant`): fixtures for users' own Lorentz tests and a CI gate.

Options: `--lorentz-report=DIR` (default `reports`, or the ini value `lorentz_report`) moves the report;
`--lorentz-report=no` turns it off. `--lorentz-fail-on=SPEC` (ini `lorentz_fail_on`, default `BROKEN`) fails the
session when a registered model's headline verdict matches: one verdict means it or worse (`BROKEN` = BROKEN or
NONFINITE), a comma list means exactly those, `none` never fails. Tests register models with the `lorentz_report`
fixture; at the end of the session the plugin validates each registered model (also with the report off, so the
gate still holds), writes DIR/index.html (one model) or DIR/<name>/index.html plus an index (several) and says in
the terminal summary which model fails the gate and why. `--lorentz-device=DEVICE` (ini `lorentz_device`: auto, cpu,
cuda, cuda:i; default: where each model lives) evaluates the registered models there; the `lorentz_device` fixture
hands it to a test's own `assert_*`/`sweep` calls. Guide: docs/plugin.md. Fixtures: `lorentz_report`,
`lorentz_transform`, `jets`, `lorentz_strategies`, `lorentz_sweep`, `lorentz_judge`, `lorentz_device`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_DEFAULT = "BROKEN"  # --lorentz-fail-on: BROKEN or worse


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
    group.addoption(
        "--lorentz-fail-on",
        dest="lorentz_fail_on",
        default=None,
        metavar="VERDICT[,VERDICT]",
        help="fail the session when a registered model's headline verdict matches: one verdict means it or worse "
        "(BROKEN: BROKEN or NONFINITE), a comma list exactly those, 'none' never (default: the ini value "
        "lorentz_fail_on, else BROKEN)",
    )
    group.addoption(
        "--lorentz-device",
        dest="lorentz_device",
        default=None,
        metavar="DEVICE",
        help="evaluate the registered models on this device: auto, cpu, cuda or cuda:<i> (default: the ini value "
        "lorentz_device, else where each model lives)",
    )
    parser.addini("lorentz_report", "default folder for the Lorentz report ('no' to disable)", default="reports")
    parser.addini("lorentz_device", "device for the registered models (auto, cpu, cuda, cuda:i)", default="")
    parser.addini(
        "lorentz_fail_on",
        "verdicts that fail the session (VERDICT = it or worse; A,B = exactly; none)",
        default=_DEFAULT,
    )


def parse_fail_on(spec: str, source: str = "--lorentz-fail-on") -> frozenset:
    """The verdicts a `--lorentz-fail-on` value fails on: "BROKEN" → BROKEN or worse; "UNRESOLVED,BROKEN" → exactly
    those; "none" → none. Raises pytest.UsageError naming the bad value and where it came from (`source`: the option
    or the ini key)."""
    from .verdict import PASS, Verdict

    words = [w.strip().upper() for w in str(spec).split(",")]
    if words == ["NONE"]:
        return frozenset()
    names = [v.value for v in Verdict if v is not PASS]
    bad = [w for w in words if w not in names]
    if bad:
        shown = ", ".join(repr(w) for w in bad) if any(bad) else "an empty value"
        raise pytest.UsageError(
            f"{source}={spec!r}: {shown} is not a verdict that can fail a session; "
            f"use one of {', '.join(names)} (one verdict: it or worse), a comma list of them (exactly those), "
            "or none"
        )
    if len(words) == 1:
        return frozenset(v for v in Verdict if v >= Verdict(words[0]))
    return frozenset(Verdict(w) for w in words)


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
    target: Path | None = None  # the report folder (None: --lorentz-report=no)

    def add(self, model, p, mask, *, name: str = "model", model_card: dict | None = None, **run_kw) -> None:
        """Register `model(p, mask)` for the session report; run_kw go to clariant.validate.report.run (dtypes,
        max_rapidity, n_rapidities, groups, …). Checked now, in the registering test: the name, the keywords, and
        (first registration) that the report folder can take a report without losing anything."""
        __tracebackhide__ = True  # a mistake shows as the test's own line and one message
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name) or name.lower() == "index.html":
            raise ValueError(
                f"report name {name!r} must be letters, digits, '_', '.', '-', not start with '.' or '-', and not be "
                "index.html (it names the model's report folder)"
            )
        if any(e.name.casefold() == name.casefold() for e in self.entries):  # one folder on case-blind file systems
            raise ValueError(f"a model named {name!r} is already registered")
        unknown = sorted(set(run_kw) - _run_keywords())
        if unknown:
            raise TypeError(
                f"lorentz_report.add got unknown keyword(s) {', '.join(unknown)}; it takes those of "
                f"clariant.validate.report.run and clariant.validate.sweep: {', '.join(sorted(_run_keywords()))}"
            )
        from .evaluation import ModelCallError, check_jets, takes_two

        if not callable(model):
            raise TypeError(f"model must be callable f(p, mask), got {type(model).__name__}")
        if run_kw.get("takes_mask", True) and takes_two(model) is False:
            raise ModelCallError(
                "the model takes one positional argument but the suite calls model(p, mask): pass takes_mask=False"
            )
        check_jets(p, mask)  # the jets' shapes, dtypes and E ≥ |p⃗|: a mistake shows here, not after the session
        if self.target is not None:  # before the session's validation work, in the test that asked for it
            from .report_folder import check_out_dir

            if not self.entries:
                try:
                    check_out_dir(self.target, collection=True)
                except OSError as e:
                    raise type(e)(str(e)) from None
            # with several models each gets a report folder of its name (with one, the report is the folder itself)
            for other in [name, *(e.name for e in self.entries)] if self.entries else []:
                mine = Path(self.target) / other
                if mine.is_symlink() or (mine.exists() and not mine.is_dir()):
                    raise FileExistsError(
                        f"{mine} is a file: with several registered models, the model {other!r} gets a report "
                        "folder of that name — move the file or choose another name"
                    )
        self.entries.append(_Entry(name, model, p, mask, dict(model_card or {}), run_kw))


def _run_keywords() -> set[str]:
    """The keywords `lorentz_report.add` passes on: clariant.validate.report.run's and, through it,
    clariant.validate.sweep's."""
    import inspect

    from .measures import sweep
    from .report import run

    named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    out = set()
    for fn in (run, sweep):
        out |= {k for k, q in inspect.signature(fn).parameters.items() if q.kind in named}
    return out - {"model", "p", "mask", "progress", "step"}


@dataclass(frozen=True)
class _Done:
    """One registered model after validation: its headline verdict and the sentence that explains it."""

    name: str
    path: Path | None  # the report's index.html, None when the report is off or could not be written
    verdict: object = None  # Verdict, None when validation itself failed
    why: str = ""  # per-family summary, worst row, first breaking layer — or why validation failed (one line)
    report_error: str = ""  # why the report could not be written (the session fails)


_KEY = pytest.StashKey[LorentzReport]()
_RESULT = pytest.StashKey[list]()
_FAIL_ON = pytest.StashKey[str]()


def _target(config) -> Path | None:
    value = config.getoption("lorentz_report") or config.getini("lorentz_report")
    if str(value).lower() == "no":
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def _fail_on_spec(config) -> tuple[str, str]:
    """The `--lorentz-fail-on` value (given empty is a value: a usage error) and where it came from."""
    given = config.getoption("lorentz_fail_on")
    if given is not None:
        return str(given), "--lorentz-fail-on"
    return str(config.getini("lorentz_fail_on")), "lorentz_fail_on (ini)"


def pytest_configure(config):
    config.stash[_KEY] = LorentzReport(target=_target(config))
    config.stash[_RESULT] = []
    spec, source = _fail_on_spec(config)
    if spec.strip().upper() != _DEFAULT:  # the default is known good
        parse_fail_on(spec, source)  # a bad value is a usage error now, not after the tests ran
    config.stash[_FAIL_ON] = spec
    device = _device(config)
    if device is not None:  # an unknown or absent device is a usage error now, naming what the machine has
        from clariant_core.devices import resolve_device

        try:
            resolve_device(device)
        except ValueError as e:
            raise pytest.UsageError(f"--lorentz-device={device!r}: {e}") from None


def _device(config) -> str | None:
    return config.getoption("lorentz_device") or config.getini("lorentz_device") or None


@pytest.fixture(scope="session")
def lorentz_device(request) -> str | None:
    """The `--lorentz-device` value (None: evaluate each model where it lives), for `device=` of assert_*/sweep."""
    return _device(request.config)


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


def _explanation(result: dict) -> str:
    """The one line that says why a headline is what it is, from what clariant.validate.report.run returns: the
    per-family
    summary, the worst row (rows rebuilt as RowVerdicts so the wording is verdict.py's), the first breaking layer."""
    from .groups import GridPoint
    from .verdict import BROKEN, UNRESOLVED, Judgement, RowVerdict, Verdict

    nan = float("nan")
    rows = [
        RowVerdict(
            r["dtype"],
            r["kind"],
            r["axis"],
            r["parameter"],
            Verdict(r["verdict"]),
            r.get("error_p95", nan),
            r.get("floor_p95", nan),
            r.get("excess_p95", nan),
            None,
            None,
            r.get("reason", ""),
            r.get("excess_median", nan),
            GridPoint(r["kind"], r["axis"], r["parameter"]).family,
        )
        for r in result["rows"]
    ]
    j = Judgement(Verdict(result["verdict"]), rows, result.get("skipped", {}), result.get("threshold", nan))
    if j.verdict == UNRESOLVED:
        reasons = "; ".join(f"{d}: {why}" for d, why in j.reasons_by_dtype().items())
        return f"nothing could be judged at these precisions — {reasons}"
    why = result.get("summary") or j.summary()
    worst = j.worst()
    if worst is not None:
        why += f"; worst: {worst.line()}"
    layer = (result.get("attribution") or {}).get("first_broken")
    if layer and j.verdict >= BROKEN:
        why += f"; first layer that breaks it: {layer}"
    return why


def _fail(session) -> None:
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: " + " ".join(str(e).split())


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    target = _target(config)
    entries = config.stash[_KEY].entries
    failing = parse_fail_on(*_fail_on_spec(config)) if entries else frozenset()
    if (target is None and not failing) or not entries or getattr(config.option, "collectonly", False):
        return
    from . import pages, report, report_folder
    from .verdict import Verdict

    done = config.stash[_RESULT]
    single = len(entries) == 1
    unwritable = ""
    if target is not None:
        try:  # the folder (one model) or the collection's folder (several): as add() checked it, once more now
            target = report_folder.check_out_dir(target, collection=not single)
        except (OSError, ValueError) as e:
            unwritable = _one_line(e)
    for e in entries:
        try:
            device = {"device": _device(config)} if _device(config) and "device" not in e.run_kw else {}
            result = report.run(e.model, e.p, e.mask, **device, **e.run_kw)
        except Exception as exc:  # noqa: BLE001 — a model that cannot be validated fails the session, in one line
            done.append(_Done(e.name, None, None, _one_line(exc)))
            _fail(session)
            continue
        verdict, path, report_error = Verdict(result["verdict"]), None, unwritable
        if target is not None and not unwritable:
            out = target if single else target / e.name
            try:
                path = report.write(result, out, model_card={"name": e.name, **e.model_card})
            except (OSError, ValueError) as exc:
                report_error = _one_line(exc)
        if report_error:
            _fail(session)
        done.append(_Done(e.name, path, verdict, _explanation(result), report_error))
        if verdict in failing:
            _fail(session)
    if target is not None and not single and not unwritable:
        links = "".join(
            f"<li><a href='{html.escape(d.name)}/index.html'>{html.escape(d.name)}</a>: {d.verdict}</li>"
            if d.verdict is not None
            else f"<li>{html.escape(d.name)}: validation failed — {html.escape(d.why)}</li>"
            for d in done
        )
        target.mkdir(parents=True, exist_ok=True)
        kept = {name for name in report_folder.report_entries(target) if (target / name).exists()}
        pages.write(target, "Lorentz reports", [f"<h1>Lorentz reports</h1><ul>{links}</ul>"])
        written = {d.name for d in done if d.path is not None}
        report_folder.write_manifest(target, sorted((kept | written | {"index.html"}) - {report_folder.MANIFEST}))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from .verdict import PASS

    done = config.stash.get(_RESULT, [])
    if not done:
        return
    spec = config.stash[_FAIL_ON]
    failing = parse_fail_on(spec)
    terminalreporter.section("Lorentz report")
    gate = []
    for d in done:
        where = f" → {d.path}" if d.path is not None else ""
        if d.verdict is None:
            terminalreporter.write_line(f"{d.name}: validation failed (session fails): {d.why}", red=True)
            gate.append(d.name)
            continue
        if d.report_error:
            terminalreporter.write_line(f"{d.name}: {d.verdict}; report not written (session fails): {d.report_error}")
            gate.append(d.name)
            continue
        line = f"{d.name}: {d.verdict}{where}"
        if d.verdict == PASS:
            terminalreporter.write_line(line, green=True)
            continue
        fails = d.verdict in failing
        gate += [d.name] if fails else []
        terminalreporter.write_line(f"{line} — {d.why}", red=fails, yellow=not fails)
    shown = ", ".join(sorted(failing)) or "nothing"
    if gate:  # a verdict the gate fails on, a model that could not be validated, or a report that could not be written
        terminalreporter.write_line(
            f"Lorentz gate: session FAILS (--lorentz-fail-on={spec} fails on {shown}): {', '.join(gate)}", red=True
        )
    else:
        terminalreporter.write_line(f"Lorentz gate: passed (--lorentz-fail-on={spec} fails on {shown})")


# --- fixtures of clariant.validate.properties (permutation, padding, infrared/collinear safety, parity)
# -------------------
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
    """`property_checks(model, p, mask, **kw)` → {property: PropertyResult} (clariant.validate.properties.run_all)."""
    from .properties import run_all

    return run_all
