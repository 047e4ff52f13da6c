"""The validation report: run the suite on a model and write `index.html` with PNGs beside it and `report.json`.

Sections: verdicts (per dtype and curve); error vs rapidity per dtype with the precision floor as a band; error vs
rotation angle; per-sample distributions; per-layer attribution; properties; Schur checks of every declared
equivariant map; model card; benchmark table (saved pytest-benchmark runs); machine info; all measurements.
Everything shown is read from `report.json`'s values, every verdict from one `Judgement` (rows, `by_curve`,
`by_dtype`, the headline). The page goes through validate/pages.py, the figures through
validate/plots.py; what
each glyph means: docs/validation.md ("The report").
"""

from __future__ import annotations

import html
import json
import os
import platform
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from clariant_core.allocator import retain_freed_memory
from clariant_core.atomic import publish_folder, write_text

from . import logaxes, pages, plots
from .attribution import attribute
from .benchmarks import compare, find_runs, load_run
from .groups import GROUP_NAMES
from .measures import DTYPES, sweep
from .report_folder import check_out_dir, kept, report_entries, write_manifest
from .schur import check_model
from .tables import fields as _fields
from .tables import fmt as _fmt
from .tables import table as _table
from .verdict import DEFAULT_THRESHOLD, judge

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
        "malloc": retain_freed_memory(),
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
    train_width: int | None = 200,
    device=None,
    **sweep_kw,
) -> dict:
    """Measure, judge, attribute and Schur-check; returns plain data (JSON-serialisable) plus per-sample arrays.
    `progress(done, total)` follows the sweep's jet evaluations; `step(name)` marks the later stages. `train_width`: the
    padded width the property checks' padding row uses (None: left out; docs/properties.md). `device`: where
    the model is evaluated by every stage — the sweep, the property checks and the attribution (default: where it
    lives; a module living elsewhere runs as a copy there, never moved)."""
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
        device=device,
        **sweep_kw,
    )
    j = judge(s, threshold)
    step("judged")
    rows = [
        dict(r, **counts, family=v.family, verdict=str(v.verdict), reason=v.reason)
        for r, counts, v in zip(s.rows(), _counts(s), j.rows, strict=True)
    ]
    result = {
        "verdict": str(j.verdict),
        "summary": j.summary(),
        "by_dtype": {k: str(v) for k, v in j.by_dtype().items()},
        "reasons": j.reasons_by_dtype(),
        "by_group": {k: str(v) for k, v in j.by_group().items()},
        "curves": [{"dtype": d, "family": f, "verdict": str(v)} for (d, f), v in j.by_curve().items()],
        "notes": j.notes,
        "threshold": threshold,
        "skipped": s.skipped,
        "floor_methods": {k: m.floor_method for k, m in s.measurements.items() if m.floor_method and not m.companion},
        "companions": [k for k, m in s.measurements.items() if m.companion],
        "rows": rows,
        "sweep_seconds": s.seconds,
        "jets": int(p.shape[0]),
        "max_particles": int(p.shape[1]),
        "max_rapidity": max_rapidity,
    }
    result["_samples"] = {
        name: m.errors.numpy() for name, m in s.measurements.items() if m.errors is not None and not m.companion
    }
    result["_points"] = s.points
    result["_judgement"] = j
    if properties:
        from .properties import PROPERTIES, run_all
        from .properties import report as properties_report

        pj, mj = p[:SUBSET_JETS], mask[:SUBSET_JETS]
        result["_properties"] = run_all(
            model,
            pj,
            mj,
            progress=lambda name: step(f"checked {name}" if name in PROPERTIES else name),
            device=device,
            train_width=train_width,
            trim_padding=sweep_kw.get("trim_padding"),
            takes_mask=sweep_kw.get("takes_mask", True),
            out_rep=_parity_rep(sweep_kw.get("out_rep", "scalar")),
        )
        result["properties"] = properties_report.to_json(result["_properties"])
    stages = later_stages(model, properties)
    if "attribution" in stages:
        trim = sweep_kw.get("trim_padding", True)  # as the sweep ran the model
        a = attribute(model, p[:SUBSET_JETS], mask[:SUBSET_JETS], device=device, trim_padding=trim)
        result["attribution"] = {
            "layers": [vars(x) for x in a.layers],
            "threshold": a.threshold,
            "transform": a.transform,
            "first_broken": a.first_broken,
        }
        step("attributed")
    if "Schur checks" in stages:
        result["schur"] = [dict(vars(r), ok=r.ok) for r in check_model(model)]
        step("Schur-checked")
    result["seconds"] = time.time() - t0
    return result


def _parity_rep(out_rep):
    """The out_rep the property checks take: scalar or vector; other representations are checked as numbers."""
    import clariant_core as cc

    rep = cc.Rep.parse(out_rep)
    return rep if rep.is_invariant or rep == cc.VECTOR else "scalar"


def later_stages(model, properties: bool = True) -> list[str]:
    """What `run` does after the sweep, in order, each ending with one `step` call: the property checks (first
    their evaluations, in one pass per dtype, then each check), per-layer attribution (models that declare
    `activation_irreps`), Schur checks (models that declare `equivariant_linear_maps`)."""
    from .properties import PROPERTIES
    from .properties.suite import EVALUATED

    return [
        *((EVALUATED, *PROPERTIES) if properties else ()),
        *(["attribution"] if hasattr(model, "activation_irreps") else []),
        *(["Schur checks"] if hasattr(model, "equivariant_linear_maps") else []),
    ]


def _counts(s) -> list[dict]:
    """Per row of `s.rows()`: the jets, and how many have an error exactly 0, a non-finite error (NaN or inf
    output), an error at float64's largest number (the measures' stand-in for a ratio beyond float64's range), a
    non-finite floor — what the figures count on their strips."""
    out = []
    for m in s.measurements.values():
        if m.companion or m.errors is None:
            continue
        counts = {
            "zero_jets": m.errors == 0,
            "nonfinite_jets": ~torch.isfinite(m.errors),
            "beyond_jets": m.errors == torch.finfo(torch.float64).max,
            "floor_nonfinite_jets": ~torch.isfinite(m.floor) if m.floor is not None else torch.zeros_like(m.errors),
        }
        sums = {k: v.sum(1).tolist() for k, v in counts.items()}
        out += [{"jets": int(m.errors.shape[1]), **{k: v[i] for k, v in sums.items()}} for i in range(len(m.points))]
    return out


def write(result: dict, out_dir, *, model_card: dict | None = None, benchmark_dir=".benchmarks") -> Path:
    """Write the report into out_dir as one unit: built in a temporary sibling folder, then swapped into place, so
    out_dir holds either the previous report or this one, never a mix. What the previous report wrote is replaced;
    every other file in out_dir (a README, notes) is kept; a folder holding anything a report could overwrite is
    refused (`check_out_dir`). Returns out_dir / index.html."""
    final = check_out_dir(out_dir)
    previous = report_entries(final) if final.is_dir() else set()
    with publish_folder(final, keep=lambda f: kept(f, previous)) as out:
        _write_into(result, out, model_card, benchmark_dir)
        write_manifest(out, sorted(e.name for e in out.iterdir()))
    return final / "index.html"


def _write_into(result: dict, out: Path, model_card, benchmark_dir) -> None:
    rows = result["rows"]
    curves = {(c["dtype"], c["family"]): c["verdict"] for c in result["curves"]}  # the Judgement's, by_curve()
    # every figure is drawn first, all of them at once (`logaxes.save_all`): name → a drawing that returns its path
    drawings = {
        "error_vs_rapidity": partial(plots.error_vs_rapidity, rows, curves, out / "error_vs_rapidity.png"),
        "error_vs_angle": partial(plots.error_vs_angle, rows, curves, out / "error_vs_angle.png"),
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
            drawings["error_distributions"] = partial(
                plots.error_distributions, panels, out / "error_distributions.png"
            )
    if "attribution" in result:
        a = result["attribution"]
        drawings["attribution"] = partial(
            plots.attribution, a["layers"], a["threshold"], a["transform"], out / "attribution.png"
        )
    beyond = []
    if "_properties" in result:
        from .properties import report as properties_report

        beyond = [d for _, d in properties_report.drawings(result["_properties"], out)]
    drawn = logaxes.save_all([*drawings.values(), *beyond])
    images = dict(zip(drawings, drawn[: len(drawings)]))
    properties_html = ""
    if "_properties" in result:
        properties_html = properties_report.section(result["_properties"], out, drawn[len(drawings) :])
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
    pages.write(out, "CLARIANT Lorentz report", _sections(data, properties_html))


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


# the columns of "All measurements": rapidity and angle apart (empty where not applicable), the excess the verdict
# reads (median and p95), and the jets the figures count on their strips
MEASUREMENT_COLUMNS = [
    "dtype",
    "family",
    "rapidity",
    "angle",
    "error_median",
    "error_p95",
    "error_max",
    "floor_median",
    "floor_p95",
    "excess_median",
    "excess_p95",
    "zero_jets",
    "nonfinite_jets",
    "beyond_jets",
    "verdict",
    "reason",
]
DTYPE_VERDICT = "verdict of the dtype (worst of its curves)"


def measurement_rows(rows: list[dict]) -> list[dict]:
    """The report rows as "All measurements" shows them: the parameter as a rapidity (boosts, random elements:
    the element's rapidity) or as an angle (rotations), the other column empty."""
    out = []
    for r in rows:
        rot = r["kind"] == "rotation"
        out.append(dict(r, rapidity="" if rot else r["parameter"], angle=r["parameter"] if rot else ""))
    return out


def verdict_rows(d: dict) -> tuple[list[dict], list]:
    """The verdict table: one row per dtype with the verdict of each of its curves (families), the dtype's verdict
    and its reason; skipped dtypes with their reason. Returns (rows, columns)."""
    families = list(dict.fromkeys(c["family"] for c in d["curves"]))
    rows = []
    for dtype, v in d["by_dtype"].items():
        row = {"dtype": dtype, "verdict": v, DTYPE_VERDICT: v, "reason": d["reasons"].get(dtype)}
        row.update({c["family"]: c["verdict"] for c in d["curves"] if c["dtype"] == dtype})
        rows.append(row)
    rows += [{"dtype": k, DTYPE_VERDICT: "SKIPPED", "reason": v} for k, v in d["skipped"].items()]
    return rows, ["dtype", *((f, f) for f in families), (DTYPE_VERDICT, DTYPE_VERDICT), "reason"]


_CURVE_GLYPHS = (
    "<dl><dt>line with dots</dt><dd>the median of ε over the jets at each point; a gap where the median is "
    "exactly 0 or not finite (see the strips). Each dtype has its own colour, line style and marker (float64 solid "
    "with open circles, float32 dashed with squares, bfloat16 dotted, float16 dash-dotted), so curves lying on top "
    "of each other stay visible</dd>"
    "<dt>▼</dt><dd>the p95 of ε over the jets: the largest ε after setting aside the worst 5 % of the jets (at "
    "least one); the verdict reads it as the tail</dd>"
    "<dt>shaded band</dt><dd>the precision floor, from its median to its p95 over the jets: the error that an "
    "exactly invariant function with the same input sensitivity shows from rounding alone. A curve inside or "
    "under its band is rounding; the verdict compares ε with it (excess = ε / floor)</dd>"
    "<dt>strip “exactly 0” (below the axes), ○ k</dt><dd>k jets have ε exactly 0 there, which a log axis cannot "
    "show (the key right of the panels gives the number of jets; shown only when it happens)</dd>"
    "<dt>strip “non-finite or beyond float64” (above the axes)</dt><dd>✕ k: k jets have a NaN or inf output; "
    "▲ k: ε of k jets exceeds float64's range (an output exactly 0 in one frame and not in the other); □ k: the "
    "floor could not be computed for k jets; “5✕ 1▲” where several meet (shown only when it happens)</dd>"
    "<dt>legend under each panel</dt><dd>the verdict of each curve (dtype × family), the same as in the verdict "
    "table above</dd></dl>"
)


def _sections(d: dict, properties_html: str = "") -> list[str]:
    verdict_table, verdict_cols = verdict_rows(d)
    group_rows = [{"group": GROUP_NAMES[k], "verdict": v} for k, v in d["by_group"].items()]
    sections = [
        f"<h1>Lorentz-symmetry report: <span class='{d['verdict']}'>{d['verdict']}</span></h1>",
        f"<p class='summary'>{html.escape(d['summary'])}.</p>",
        "".join(f"<p class='note'>Note: {html.escape(n)}</p>" for n in d["notes"]),
        f"<p>{d['jets']} jets (≤ {d['max_particles']} particles), boosts up to rapidity {d['max_rapidity']:g} along "
        f"x, y, z; rotations about an oblique axis and about z; random elements of the listed groups. Verdict per "
        f"row: PASS when the median excess over the precision floor is ≤ {d['threshold']:g} (p95 ≤ 100× that); "
        f"UNRESOLVED where the dtype cannot resolve the function (overflow, saturated floor, output rounding); "
        f"otherwise NUMERICAL if the excess shrinks with the unit roundoff, BROKEN if not; NONFINITE for NaN/inf "
        f"outputs that a wider dtype does not explain. A curve (one dtype, one family of transformations) takes "
        f"the worst verdict of its rows, a dtype the worst of its curves and the headline the worst of the families "
        f"(UNRESOLVED only where a family resolved nothing, or nothing else was resolved; docs/validation.md). "
        f"Sweep: {d['sweep_seconds']:.1f} s; "
        f"whole run {d['seconds']:.1f} s.</p>",
        "<h2>Verdicts</h2>" + _table(verdict_table, verdict_cols, "small verdicts"),
        "<h2>Subgroups</h2>" + _table(group_rows, ["group", "verdict"], "small"),
        "<h2>Precision floor</h2>"
        + _table([{"dtype": k, "method": v} for k, v in d["floor_methods"].items()], ["dtype", "method"], "small"),
        "<h2>Error vs rapidity</h2>"
        + pages.figure(
            "error_vs_rapidity.png", "error vs rapidity", _CURVE_GLYPHS.replace("each point", "each rapidity")
        ),
        "<h2>Error vs rotation angle</h2>"
        + pages.figure("error_vs_angle.png", "error vs angle", _CURVE_GLYPHS.replace("each point", "each angle")),
    ]
    if "error_distributions" in d["images"]:
        sections.append(
            "<h2>Per-sample distributions</h2>"
            + pages.figure(
                "error_distributions.png",
                "distributions",
                "Histograms of log10 ε, one entry per jet and transformation, one line per dtype. Strips: left, "
                "“exactly 0” — entries with ε = 0 (open circle, count/entries); right, “non-finite” — entries whose "
                "output is NaN or inf (✕, count/entries); shown only when such entries exist.",
            )
        )
    if "attribution" in d:
        a = d["attribution"]
        sections.append(
            f"<h2>Per-layer attribution</h2><p>First layer that breaks the symmetry: "
            f"<b>{_fmt(a['first_broken'] or 'none')}</b> ({html.escape(a['transform'])}, threshold "
            f"{a['threshold']:.3g}).</p>"
            + pages.figure(
                "attribution.png",
                "attribution",
                "Bars: median and p95 over the jets of each layer's relative equivariance error; dashed line: the "
                "breaking threshold. A statistic exactly 0 is an open circle on the “exactly 0” strip, a non-finite "
                "one a ✕ on the “non-finite” strip, instead of a bar.",
            )
            + _table(a["layers"], [("name", "layer"), "irreps", "median", "p95", "max"])
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
                    ("name", "map"),
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
    sections.append("<h2>Model card</h2>" + _fields(d["model_card"]))
    bench = d["benchmarks"]
    if bench["rows"]:
        cols_b = (
            ["benchmark"]
            + [(f"run{i}", f"run {i}: median seconds") for i in range(len(bench["runs"]))]
            + [(f"ratio{i}", f"run {i} / run 0") for i in range(1, len(bench["runs"]))]
        )
        legend = "".join(
            f"<li>run {i}: {html.escape(r['machine'])} ({html.escape(r['datetime'])})</li>"
            for i, r in enumerate(bench["runs"])
        )
        sections.append(
            f"<h2>Benchmarks</h2><p>Median seconds per call; ratios to run 0.</p><ul>{legend}</ul>"
            + _table(bench["rows"], cols_b)
        )
    else:
        sections.append(
            "<h2>Benchmarks</h2><p>No saved runs: <code>pytest benchmarks --benchmark-only "
            "--benchmark-autosave</code> records them.</p>"
        )
    sections.append("<h2>Machine</h2>" + _fields(d["machine"]))
    sections.append(
        "<h2>All measurements</h2><p>One row per dtype and transformation; statistics over the jets. Rapidity for "
        "boosts and random group elements (the element's rapidity), angle for rotations.</p>"
        + _table(measurement_rows(d["rows"]), MEASUREMENT_COLUMNS)
    )
    return sections
