"""The HTML section of the validation report for the property checks, and their JSON form.

`section(results, out_dir)` writes the figures into out_dir (properties_<name>.png) and returns an HTML fragment:
a summary table, then one sub-section per property with its verdict table and figure.

The validation report (validate/report.py) runs `run_all` on its subset of jets and embeds `section(...)`;
`page(results, out_dir)` writes a stand-alone properties.html. Both go through validate/pages.py, as every page.
Figures and glyphs: docs/properties.md.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import partial
from pathlib import Path

from .. import logaxes, pages
from ..tables import table as _table
from . import plots
from .judge import MIN_POWER, TAIL, THRESHOLD
from .result import PropertyResult

_ABOUT = {
    "permutation": "reordering the real particles (random, reversed, ascending energy, by rapidity, by azimuth)",
    "padding": "the jets as given, with zero rows appended (mask False), garbage in masked rows, padding before the "
    "real rows, and at the training width",
    "infrared": "one soft massless particle of energy fraction ε added, in a random direction and collinear with "
    "the hardest particle",
    "collinear": "the hardest particle split into exactly collinear daughters (z, 1 − z) and into daughters with "
    "opening angle θ",
    "parity": "(E, p⃗) → (E, −p⃗): EVEN if f(Px) = f(x), ODD if f(Px) = −f(x), to the precision floor",
}

ROW_COLUMNS = [
    "check",
    "dtype",
    "change_median",
    "change_p95",
    "floor_p95",
    ("excess_p95", "excess Δ/floor, p95"),
    "scaling",
    "verdict",
    "reason",
]
SCAN_COLUMNS = ["check", "dtype", "range", "power", "tail_power", "plateau", "floor", "verdict", "reason"]


def drawings(results: dict[str, PropertyResult], out_dir) -> list[tuple[str, Callable[[], Path]]]:
    """Every property's figures as (property, drawing): each drawing writes one PNG into out_dir and returns its
    path (`logaxes.save_all` runs them)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made: list[tuple[str, Callable[[], Path]]] = []
    for name, r in results.items():
        plain = [row for row in r.rows if not row.check.startswith("exact split")]
        splits = [row for row in r.rows if row.check.startswith("exact split")]
        if plain and name == "parity":
            cls = ", ".join(f"{k} {v}" for k, v in r.by_dtype.items())
            vanish = {"PASS": "vanishes", "NUMERICAL": "vanishes (rounding)", "BROKEN": "does not vanish"}
            title = f"parity residuals vs precision floor: {cls}"
            made.append((name, partial(plots.rows, plain, out / f"properties_{name}.png", title, vanish)))
        elif plain:
            title = f"{name}: change vs precision floor"
            made.append((name, partial(plots.rows, plain, out / f"properties_{name}.png", title)))
        if splits:
            title = f"{name}: exact splits"
            made.append((name, partial(plots.split_rows, splits, out / f"properties_{name}_splits.png", title)))
        if r.scans:
            title = f"{name}: change vs limit"
            made.append((name, partial(plots.scans, r.scans, out / f"properties_{name}_scan.png", title)))
    return made


def figures(results: dict[str, PropertyResult], out_dir, drawn: list[Path] | None = None) -> dict[str, list[Path]]:
    """Every property's figures written into out_dir; {property: [PNG paths]} (`drawn`: the paths `drawings` gave,
    already run)."""
    made = drawings(results, out_dir)
    paths = logaxes.save_all(d for _, d in made) if drawn is None else drawn
    out: dict[str, list[Path]] = {name: [] for name in results}
    for (name, _), path in zip(made, paths, strict=True):
        out[name].append(path)
    return out


def section(results: dict[str, PropertyResult], out_dir, drawn: list[Path] | None = None) -> str:
    """The report's "Beyond Lorentz" section (HTML) for `run_all` results; writes its PNGs into out_dir (`drawn`:
    the paths of `drawings` already run) and refers to them by file name (so index.html must live in out_dir)."""
    images = figures(results, out_dir, drawn)
    summary = [
        {
            "property": n,
            "verdict": str(r.verdict),
            "per dtype": ", ".join(f"{k} {v}" for k, v in r.by_dtype.items()),
            "seconds": r.seconds,
            "note": r.note or None,
        }
        for n, r in results.items()
    ]
    parts = [
        "<h2>Beyond Lorentz: permutation, padding, infrared and collinear safety, parity</h2>",
        f"<p>Each change Δ = ‖f(x′) − f(x)‖/s is measured against its precision floor (the output's change under "
        f"a rounding-sized input change, plus u). Must-vanish checks: PASS when the median excess Δ/floor is ≤ "
        f"{THRESHOLD:g} and the p95 ≤ {THRESHOLD * TAIL:g}; otherwise NUMERICAL if the change shrinks with the unit "
        f"roundoff from float32 to float64, BROKEN if not. Limits ε, θ → 0: SAFE if the change reaches the floor "
        f"or falls like a power ≥ {MIN_POWER:g}, UNSAFE if it plateaus above it. Definitions: docs/properties.md."
        f"</p>",
        _table(summary, ["property", "verdict", "per dtype", "seconds", "note"]),
    ]
    for name, r in results.items():
        parts.append(f"<h3>{html.escape(name)}: <span class='{r.verdict}'>{r.verdict}</span></h3>")
        parts.append(f"<p>{html.escape(_ABOUT.get(name, ''))}.</p>")
        if r.skipped:
            parts.append(
                "<p>Skipped: " + "; ".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in r.skipped.items()) + "</p>"
            )
        if r.rows:
            parts.append(_table([dict(x.to_dict(), verdict=str(x.verdict)) for x in r.rows], ROW_COLUMNS))
        if r.scans:
            parts.append(
                _table(
                    [
                        dict(
                            s.to_dict(),
                            verdict=str(s.verdict),
                            range=f"{s.parameter} {max(s.values):.2g}…{min(s.values):.2g}",
                        )
                        for s in r.scans
                    ],
                    SCAN_COLUMNS,
                )
            )
        for path in images.get(name, []):
            parts.append(pages.figure(path.name, name, _caption(path.name)))
    return "\n".join(parts)


_STRIPS = (
    " A statistic exactly 0 is marked on the “exactly 0” strip, a non-finite one on the “non-finite” strip, instead "
    "of being drawn at a made-up value."
)


def _caption(png: str) -> str:
    """The caption of one property figure: what each glyph is."""
    if png.endswith("_scan.png"):
        return (
            "Per dtype: median change Δ over the jets (a line in the dtype's colour and style) and its p95 (▼) "
            "against the parameter, which decreases to the right (the limit); dashed horizontal line: the dtype's "
            "precision floor (median), the output's change under a rounding-sized input change. Legend under each "
            "panel: the verdict of each curve and the power it rests on — the tail power (slope of the smallest "
            "resolved values), or that the change reaches the floor." + _STRIPS
        )
    if png.endswith("_splits.png"):
        return (
            "Exactly collinear splits: median change (line with dots) and p95 (▼) against the energy fraction z of "
            "the softer daughter, per dtype; dashed: the p95 precision floor." + _STRIPS
        )
    return (
        "One row per check and dtype, labelled with its verdict: ● the p95 over the jets of the change Δ, | the p95 "
        "of the precision floor; a ● at or left of its | is within rounding." + _STRIPS
    )


def to_json(results: dict[str, PropertyResult]) -> dict:
    """Plain JSON-serialisable data of `run_all` results (verdicts as their words)."""
    return {name: r.to_dict() for name, r in results.items()}


def page(results: dict[str, PropertyResult], out_dir, title: str = "CLARIANT properties") -> Path:
    """A stand-alone page out_dir/properties.html with the section (the validation report embeds the section)."""
    out = Path(out_dir)
    body = section(results, out)
    return pages.write(out, title, [f"<h1>{html.escape(title)}</h1>", body], name="properties.html")
