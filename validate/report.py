"""The validation report: run the suite on a model and write `index.html` with PNGs beside it and `report.json`.

Sections: verdicts; error vs rapidity per dtype with the precision floor as a band; error vs rotation angle;
per-sample distributions; per-layer attribution; Schur checks of every declared equivariant map; model card;
benchmark table (saved pytest-benchmark runs) and machine info. Everything shown is read from `report.json`'s values.
"""

from __future__ import annotations

import html
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from clariant_core.atomic import check_writable_folder, publish_folder, write_text

from . import plots
from .attribution import attribute
from .benchmarks import compare, find_runs, load_run
from .groups import GROUP_NAMES
from .measures import DTYPES, sweep
from .schur import check_model
from .tables import fmt as _fmt
from .tables import table as _table
from .verdict import DEFAULT_THRESHOLD, headline, judge

# the property checks and the per-layer attribution look at the first this many jets: their cost and memory stay
# bounded however many jets the Lorentz sweep measures (it streams them in chunks)
SUBSET_JETS = 256


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
    }


def run(
    model,
    p,
    mask,
    *,
    dtypes=DTYPES,
    max_rapidity=6.0,
    n_rapidities=10,
    axes=("x", "y", "z"),
    n_angles=8,
    groups=("full", "so3", "beam"),
    n_random=8,
    threshold=DEFAULT_THRESHOLD,
    progress=None,
    rapidities=None,
    step=None,
    properties: bool = True,
    **sweep_kw,
) -> dict:
    """Measure, judge, attribute and Schur-check; returns plain data (JSON-serialisable) plus per-sample arrays.
    `progress(done, total)` follows the sweep's jet evaluations; `step(name)` marks the later stages."""
    step = step or (lambda name: None)
    if rapidities is not None:
        max_rapidity = max(rapidities)
    t0 = time.time()
    s = sweep(
        model,
        p,
        mask,
        dtypes=dtypes,
        max_rapidity=max_rapidity,
        n_rapidities=n_rapidities,
        axes=axes,
        n_angles=n_angles,
        groups=groups,
        n_random=n_random,
        rapidities=rapidities,
        progress=progress,
        **sweep_kw,
    )
    j = judge(s, threshold)
    step("judged")
    curves: dict = {}
    for r in j.rows:
        curves.setdefault((r.dtype, r.kind, r.axis), []).append(r.verdict)
    result = {
        "verdict": str(j.verdict),
        "summary": j.summary(),
        "by_dtype": {k: str(v) for k, v in j.by_dtype().items()},
        "reasons": j.reasons_by_dtype(),
        "by_group": {k: str(v) for k, v in j.by_group().items()},
        "curves": [{"dtype": d, "kind": k, "axis": a, "verdict": str(headline(v))} for (d, k, a), v in curves.items()],
        "notes": j.notes,
        "threshold": threshold,
        "skipped": s.skipped,
        "floor_methods": {k: m.floor_method for k, m in s.measurements.items() if m.floor_method and not m.companion},
        "companions": [k for k, m in s.measurements.items() if m.companion],
        "rows": [dict(r, verdict=str(v.verdict), reason=v.reason) for r, v in zip(s.rows(), j.rows, strict=True)],
        "sweep_seconds": s.seconds,
        "jets": int(p.shape[0]),
        "max_particles": int(p.shape[1]),
        "max_rapidity": max_rapidity,
    }
    result["_samples"] = {
        name: m.errors.numpy() for name, m in s.measurements.items() if m.errors is not None and not m.companion
    }
    result["_points"] = s.points
    if properties:
        from .properties import report as properties_report
        from .properties import run_all

        pj, mj = p[:SUBSET_JETS], mask[:SUBSET_JETS]
        result["_properties"] = run_all(model, pj, mj, progress=lambda name: step(f"checked {name}"))
        result["properties"] = properties_report.to_json(result["_properties"])
    if hasattr(model, "activation_irreps"):
        a = attribute(model, p[:SUBSET_JETS], mask[:SUBSET_JETS])
        result["attribution"] = {
            "layers": [vars(x) for x in a.layers],
            "threshold": a.threshold,
            "transform": a.transform,
            "first_broken": a.first_broken,
        }
        step("attributed")
    if hasattr(model, "equivariant_linear_maps"):
        result["schur"] = [dict(vars(r), ok=r.ok) for r in check_model(model)]
        step("Schur-checked")
    result["seconds"] = time.time() - t0
    return result


_REPORT_SUFFIXES = (".json", ".html", ".png")


def _only_files(folder: Path) -> bool:
    """A report folder may be replaced if it holds plain files only (a previous report, perhaps a README)."""
    return all(f.is_file() for f in folder.iterdir())


def _not_a_report_file(f: Path) -> bool:
    """Files kept across reports: anything a report does not write (JSON, HTML, PNG) and no leftover temporary."""
    return f.suffix not in _REPORT_SUFFIXES and not f.name.endswith(".tmp")


def check_out_dir(out_dir) -> Path:
    """Fail before any measurement if `out_dir` cannot take a report (a file, not writable, or holds folders)."""
    return check_writable_folder(out_dir, replaceable=_only_files)


def write(result: dict, out_dir, *, model_card: dict | None = None, benchmark_dir=".benchmarks") -> Path:
    """Write the report into out_dir as one unit: built in a temporary sibling folder, then swapped into place, so
    out_dir holds either the previous report or this one, never a mix (other plain files in it, such as a README,
    are kept). Returns out_dir / index.html."""
    final = check_out_dir(out_dir)
    with publish_folder(final, keep=_not_a_report_file) as out:
        _write_into(result, out, model_card, benchmark_dir)
    return final / "index.html"


def _write_into(result: dict, out: Path, model_card, benchmark_dir) -> None:
    rows = result["rows"]
    verdicts = {(c["dtype"], c["kind"], c["axis"]): c["verdict"] for c in result["curves"]}  # one logic: judge's
    images = {
        "error_vs_rapidity": plots.error_vs_rapidity(rows, verdicts, out / "error_vs_rapidity.png"),
        "error_vs_angle": plots.error_vs_angle(rows, verdicts, out / "error_vs_angle.png"),
    }
    samples = result.get("_samples", {})
    points = result.get("_points", [])
    if samples and points:
        ymax = max((pt.parameter for pt in points if pt.kind == "boost"), default=None)
        panels = {}
        for title, pred in (
            (
                f"boost along z, y = {ymax:.3g}" if ymax else "boost",
                lambda pt: pt.kind == "boost" and pt.axis == "z" and pt.parameter == ymax,
            ),
            ("all rotations", lambda pt: pt.kind == "rotation"),
        ):
            idx = [i for i, pt in enumerate(points) if pred(pt)]
            if idx:
                panels[title] = {d: e[idx].ravel() for d, e in samples.items()}
        if panels:
            images["error_distributions"] = plots.error_distributions(panels, out / "error_distributions.png")
    properties_html = ""
    if "_properties" in result:
        from .properties import report as properties_report

        properties_html = properties_report.section(result["_properties"], out)
    if "attribution" in result:
        a = result["attribution"]
        images["attribution"] = plots.attribution(a["layers"], a["threshold"], a["transform"], out / "attribution.png")
    runs = []
    for path in find_runs(benchmark_dir)[-4:]:
        try:
            runs.append(load_run(path))
        except ValueError:
            continue
    bench_rows = compare(runs)
    data = {k: v for k, v in result.items() if not k.startswith("_")}
    data.update(
        model_card=model_card or {},
        machine=machine_info(),
        benchmarks={"runs": [{k: r[k] for k in ("file", "machine", "datetime")} for r in runs], "rows": bench_rows},
        images={k: v.name for k, v in images.items()},
    )
    write_text(out / "report.json", json.dumps(data, indent=2, default=_json_default))
    write_text(out / "index.html", _html(data, properties_html))


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def _html(d: dict, properties_html: str = "") -> str:
    card = d["model_card"]
    verdict_rows = [{"dtype": k, "verdict": v, "reason": d["reasons"].get(k)} for k, v in d["by_dtype"].items()]
    group_rows = [{"group": GROUP_NAMES[k], "verdict": v} for k, v in d["by_group"].items()]
    verdict_rows += [{"dtype": k, "verdict": "SKIPPED", "reason": v} for k, v in d["skipped"].items()]
    cols = [
        "dtype",
        "kind",
        "axis",
        "parameter",
        "error_median",
        "error_p95",
        "error_max",
        "floor_p95",
        "excess_p95",
        "verdict",
        "reason",
    ]
    sections = [
        f"<h1>Lorentz-symmetry report: <span class='{d['verdict']}'>{d['verdict']}</span></h1>",
        f"<p class='summary'>{html.escape(d['summary'])}.</p>",
        "".join(f"<p class='note'>Note: {html.escape(n)}</p>" for n in d["notes"]),
        f"<p>{d['jets']} jets (≤ {d['max_particles']} particles), boosts up to rapidity {d['max_rapidity']:g} along "
        f"x, y, z; rotations about an oblique axis and about z; random elements of the listed groups. Verdict per "
        f"row: PASS when the median excess over the precision floor is ≤ {d['threshold']:g} (p95 ≤ 100× that); "
        f"UNRESOLVED where the dtype cannot resolve the function (overflow, saturated floor, output rounding); "
        f"otherwise NUMERICAL if the excess shrinks with the unit roundoff, BROKEN if not; NONFINITE for NaN/inf "
        f"outputs that a wider dtype does not explain (docs/validation.md). Sweep: {d['sweep_seconds']:.1f} s; "
        f"whole run {d['seconds']:.1f} s.</p>",
        _table(verdict_rows, ["dtype", "verdict", "reason"], "small"),
        "<h2>Subgroups</h2>" + _table(group_rows, ["group", "verdict"], "small"),
        "<h2>Precision floor</h2>"
        + _table([{"dtype": k, "method": v} for k, v in d["floor_methods"].items()], ["dtype", "method"], "small"),
        "<h2>Error vs rapidity</h2><img src='error_vs_rapidity.png' alt='error vs rapidity'>",
        "<h2>Error vs rotation angle</h2><img src='error_vs_angle.png' alt='error vs angle'>",
    ]
    if "error_distributions" in d["images"]:
        sections.append("<h2>Per-sample distributions</h2><img src='error_distributions.png' alt='distributions'>")
    if "attribution" in d:
        a = d["attribution"]
        sections.append(
            f"<h2>Per-layer attribution</h2><p>First layer that breaks the symmetry: "
            f"<b>{_fmt(a['first_broken'] or 'none')}</b> ({html.escape(a['transform'])}, threshold "
            f"{a['threshold']:.3g}).</p><img src='attribution.png' alt='attribution'>"
            + _table(a["layers"], ["name", "irreps", "median", "p95", "max"])
        )
    if properties_html:
        sections.append(properties_html)
    if "schur" in d:
        sections.append(
            "<h2>Schur checks</h2><p>Structure: relative weight outside the block-diagonal, "
            "c⊗1-within-irrep pattern; commutation: max ‖Wρ_in − ρ_out W‖/(‖W‖‖ρ_in‖) over random M; "
            "intertwiner dimension solved from the Lie-algebra null space vs the layer's real parameter "
            "count.</p>"
            + _table(
                d["schur"],
                [
                    "name",
                    "irreps_in",
                    "irreps_out",
                    "structure_residual",
                    "commutation_residual",
                    "intertwiner_dim",
                    "free_parameters",
                    "ok",
                ],
            )
        )
    sections.append(
        "<h2>Model card</h2>" + _table([{"field": k, "value": v} for k, v in card.items()], ["field", "value"], "small")
    )
    bench = d["benchmarks"]
    if bench["rows"]:
        cols_b = (
            ["benchmark"]
            + [f"run{i}" for i in range(len(bench["runs"]))]
            + [f"ratio{i}" for i in range(1, len(bench["runs"]))]
        )
        legend = "".join(
            f"<li>run{i}: {html.escape(r['machine'])} ({html.escape(r['datetime'])})</li>"
            for i, r in enumerate(bench["runs"])
        )
        sections.append(
            f"<h2>Benchmarks</h2><p>Median seconds per call; ratios to run0.</p><ul>{legend}</ul>"
            + _table(bench["rows"], cols_b)
        )
    else:
        sections.append(
            "<h2>Benchmarks</h2><p>No saved runs: <code>pytest benchmarks --benchmark-only "
            "--benchmark-autosave</code> records them.</p>"
        )
    sections.append(
        "<h2>Machine</h2>"
        + _table([{"field": k, "value": v} for k, v in d["machine"].items()], ["field", "value"], "small")
    )
    sections.append("<h2>All measurements</h2>" + _table(d["rows"], cols))
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:1.5em auto;color:#222}img{max-width:100%}"
        "table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:right}th{background:#f3f3f3}.PASS{color:#176f2c}.NUMERICAL{color:#a36300}"
        ".BROKEN{color:#b00020;font-weight:bold}tr.BROKEN td{background:#fde7ea}tr.NUMERICAL td{background:#fff4e0}"
        ".NONFINITE{color:#6a00a3;font-weight:bold}tr.NONFINITE td{background:#f3e6fb}.UNRESOLVED{color:#555}"
        "tr.UNRESOLVED td{background:#eee}td{text-align:left}.summary{font-size:16px}"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>CLARIANT Lorentz report</title>"
        f"<style>{style}</style></head><body>{''.join(sections)}</body></html>"
    )
