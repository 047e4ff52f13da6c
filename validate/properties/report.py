"""The HTML section of the validation report for the property checks, and their JSON form.

`section(results, out_dir)` writes the figures into out_dir (properties_<name>.png) and returns an HTML fragment:
a summary table, then one sub-section per property with its verdict table and figure.

Wiring into the main report (validate/report.py, not done here): in `run()`,
`result["_properties"] = run_all(model, p, mask, progress=step)` and `result["properties"] = to_json(...)`; in
`write()`, append `section(result["_properties"], out)` to the sections, and count BROKEN/NONFINITE of permutation and
padding towards the exit code if wanted (IR/collinear UNSAFE and parity ODD/NEITHER are properties, not failures).
Until then `page(results, out_dir)` writes a stand-alone properties.html.
"""

from __future__ import annotations

import html
from pathlib import Path

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
    "excess_p95",
    "scaling",
    "verdict",
    "reason",
]
SCAN_COLUMNS = ["check", "dtype", "range", "power", "tail_power", "plateau", "floor", "verdict", "reason"]


def figures(results: dict[str, PropertyResult], out_dir) -> dict[str, list[Path]]:
    """Write every property's figures into out_dir; {property: [PNG paths]}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, list[Path]] = {}
    for name, r in results.items():
        paths = []
        plain = [row for row in r.rows if not row.check.startswith("exact split")]
        splits = [row for row in r.rows if row.check.startswith("exact split")]
        if plain and name == "parity":
            cls = ", ".join(f"{k} {v}" for k, v in r.by_dtype.items())
            vanish = {"PASS": "vanishes", "NUMERICAL": "vanishes (rounding)", "BROKEN": "does not vanish"}
            paths.append(
                plots.rows(plain, out / f"properties_{name}.png", f"parity residuals vs precision floor: {cls}", vanish)
            )
        elif plain:
            paths.append(plots.rows(plain, out / f"properties_{name}.png", f"{name}: change vs precision floor"))
        if splits:
            paths.append(plots.split_rows(splits, out / f"properties_{name}_splits.png", f"{name}: exact splits"))
        if r.scans:
            paths.append(plots.scans(r.scans, out / f"properties_{name}_scan.png", f"{name}: change vs limit"))
        made[name] = paths
    return made


def section(results: dict[str, PropertyResult], out_dir) -> str:
    """The report's "Beyond Lorentz" section (HTML) for `run_all` results; writes its PNGs into out_dir and refers
    to them by file name (so index.html must live in out_dir)."""
    images = figures(results, out_dir)
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
            parts.append(f"<img src='{html.escape(path.name)}' alt='{html.escape(name)}'>")
    return "\n".join(parts)


def to_json(results: dict[str, PropertyResult]) -> dict:
    """Plain JSON-serialisable data of `run_all` results (verdicts as their words)."""
    return {name: r.to_dict() for name, r in results.items()}


def page(results: dict[str, PropertyResult], out_dir, title: str = "CLARIANT properties") -> Path:
    """A stand-alone page out_dir/properties.html with the section (until the main report embeds it)."""
    out = Path(out_dir)
    body = section(results, out)
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:1.5em auto;color:#222}img{max-width:100%}"
        "table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:right}th{background:#f3f3f3}.PASS,.SAFE,.EVEN{color:#176f2c}.NUMERICAL,.ODD,.NEITHER{color:#a36300}"
        ".BROKEN,.UNSAFE,.NONFINITE{color:#b00020;font-weight:bold}tr.BROKEN td,tr.UNSAFE td{background:#fde7ea}"
    )
    path = out / "properties.html"
    path.write_text(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>",
        encoding="utf-8",
    )
    return path
