"""Matplotlib figures of a validation run: error vs rapidity and angle with the precision floor, per-sample
distributions, per-layer attribution. Each function writes one PNG and returns its path.

Nothing is clipped to a made-up number: exact zeros and non-finite errors go on the marked strips of
`clariant.validate.logaxes`, counted. Each curve's verdict is the one given in `curves` — the Judgement's per-curve
verdict
(`Judgement.by_curve()`), never re-derived here. Glyphs: docs/validation.md ("The report")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from . import logaxes
from .logaxes import shown

COLORS = {"float64": "tab:blue", "float32": "tab:orange", "bfloat16": "tab:green", "float16": "tab:red"}


def color(dtype: str) -> str:
    return COLORS.get(dtype, "tab:gray")


#: per dtype a line style, marker and marker size, so that curves lying on top of each other stay visible: the
#: finer precision solid with large open markers underneath, coarser ones dashed or dotted with smaller filled ones
_STYLES = {
    "float64": ("-", "o", 6),
    "float32": ("--", "s", 3.5),
    "bfloat16": (":", "^", 3.5),
    "float16": ("-.", "D", 3),
}


def style(dtype: str, rank: int = 0) -> dict:
    """Matplotlib keywords of a dtype's curve (`rank`: its place in the drawing order, later on top)."""
    ls, marker, ms = _STYLES.get(dtype, ("-", "o", 3))
    kw = {"color": color(dtype), "ls": ls, "marker": marker, "ms": ms, "zorder": 3 + rank}
    if marker == "o" and ms > 5:
        kw["mfc"] = "none"  # open, so a coarser curve drawn on it shows through
    return kw


def ordered_dtypes(names) -> list[str]:
    """dtype names, widest first as in COLORS, then any other name in the order given."""
    names = list(dict.fromkeys(names))
    return [d for d in COLORS if d in names] + [d for d in names if d not in COLORS]


# what the top strip counts per row: (row key, marker, text template) — the marker is that of the first present
_TOP = (
    ("nonfinite_jets", "X", "✕"),
    ("beyond_jets", "^", "▲"),
    ("floor_nonfinite_jets", "s", "□"),
)
_TOP_KEY = {
    "X": "jets whose output is NaN or inf",
    "^": "jets whose ε is beyond float64's range",
    "s": "jets whose floor is not computable",
}


def _count_text(present: list[tuple[str, int]]) -> str:
    """The count beside a strip mark: "k", or "k✕ m▲" when several kinds meet at one point."""
    return str(present[0][1]) if len(present) == 1 else " ".join(f"{k}{glyph}" for glyph, k in present)


def _key_entries(zero: bool, top: set, jets: int) -> list[tuple[dict, str]]:
    entries = [
        ({"color": "k", "marker": "o", "ms": 3, "ls": "-"}, "median ε over the jets"),
        ({"color": "k", "marker": "v", "ms": 5, "ls": "none"}, "p95 of ε over the jets"),
        (
            {"color": "gray", "lw": 8, "alpha": 0.3},
            "precision floor, median–p95: the error an exactly\ninvariant model shows from rounding alone",
        ),
    ]
    if zero:
        entries.append(
            (
                {"color": "k", "marker": "o", "mfc": "none", "ls": "none"},
                f"lower strip: number of jets (of {jets}) with ε exactly 0",
            )
        )
    for _, marker, _ in _TOP:
        if marker in top:
            text = f"upper strip: number of {_TOP_KEY[marker]} (of {jets})"
            entries.append(({"color": "k", "marker": marker, "ls": "none"}, text))
    return entries


def _error_vs_parameter(rows: list[dict], curves: dict, kind: str, path: Path, xlabel: str, title: str) -> Path:
    """One panel per family of `kind` ("boost" or "rotation"): per dtype the median error (line), its p95 (▼) and
    the floor's median–p95 (band); jets with ε exactly 0, non-finite or beyond float64 counted on the strips; a
    legend row under each panel with each curve's verdict, `curves[(dtype, family)]`."""
    sel = [r for r in rows if r["kind"] == kind]
    families = list(dict.fromkeys(r["family"] for r in sel))
    dtypes = ordered_dtypes(r["dtype"] for r in sel)
    need_zero = any(r["zero_jets"] for r in sel)
    top = {marker for key, marker, _ in _TOP if any(r[key] for r in sel)}
    fig, panels = logaxes.panels(
        max(len(families), 1),
        lanes=dtypes,
        zero=need_zero,
        nonfinite=bool(top),
        legend_rows=math.ceil(len(dtypes) / 2) + 1,
        nonfinite_name=logaxes.BEYOND_NAME,
    )
    drawn = []
    for p, family in zip(panels, families):
        handles, labels = [], []
        for d in dtypes:
            curve = sorted((r for r in sel if r["family"] == family and r["dtype"] == d), key=lambda r: r["parameter"])
            if not curve:
                continue
            c = color(d)
            x = np.array([r["parameter"] for r in curve])
            lo, hi = shown([r["floor_median"] for r in curve]), shown([r["floor_p95"] for r in curve])
            p.main.fill_between(x, lo, hi, where=np.isfinite(lo) & np.isfinite(hi), color=c, alpha=0.18, lw=0)
            med, tail = shown([r["error_median"] for r in curve]), shown([r["error_p95"] for r in curve])
            (line,) = p.main.plot(x, med, **style(d, dtypes.index(d)))
            p.main.plot(x, tail, "v", color=c, ms=5, zorder=3 + dtypes.index(d))
            drawn += [lo, hi, med, tail]
            for r in curve:
                if r["zero_jets"]:
                    p.mark("zero", r["parameter"], d, color=c, text=str(r["zero_jets"]))
                present = [(marker, glyph, r[key]) for key, marker, glyph in _TOP if r[key]]
                if present:
                    text = _count_text([(g, k) for _, g, k in present])
                    p.mark("nonfinite", r["parameter"], d, color=c, marker=present[0][0], text=text)
            handles.append(line)
            labels.append(f"{d}: {curves[(d, family)]}")
        p.top().set_title(family)
        p.below().set_xlabel(xlabel)
        logaxes.put_legend(p.legend, handles, labels, ncol=2, title="verdict of each curve")
    logaxes.set_log_limits(panels[0].main, drawn)  # shared by every panel
    panels[0].main.set_ylabel("relative error ε (dimensionless)")
    logaxes.key(fig, _key_entries(need_zero, top, max((r["jets"] for r in sel), default=0)), "glyphs")
    fig.suptitle(title)
    return logaxes.save(fig, path, panels)


def error_vs_rapidity(rows: list[dict], curves: dict, path: Path) -> Path:
    """Error vs rapidity, one panel per boost axis (`_error_vs_parameter`). rows: report rows (`report.run`);
    curves: {(dtype, family): verdict word}."""
    return _error_vs_parameter(
        rows, curves, "boost", path, "rapidity y (dimensionless)", "Invariance error vs boost rapidity"
    )


def error_vs_angle(rows: list[dict], curves: dict, path: Path) -> Path:
    """Error vs rotation angle, one panel per rotation axis (`_error_vs_parameter`); rotations by multiples of π/2
    about a coordinate axis often permute components exactly, so ε = 0 there is common and shown as such."""
    return _error_vs_parameter(
        rows, curves, "rotation", path, "rotation angle θ [rad]", "Invariance error vs rotation angle"
    )


def error_distributions(samples: dict[str, dict[str, np.ndarray]], path: Path) -> Path:
    """Histograms of log10 of the per-sample errors, samples: {panel title: {dtype: errors (any shape)}}; errors
    exactly 0 counted on a strip left of each histogram, non-finite ones (✕) and ones beyond float64 (▲) right
    of it."""
    errs = {t: {d: np.asarray(e, dtype=float).ravel() for d, e in per.items()} for t, per in samples.items()}
    dtypes = ordered_dtypes(d for per in errs.values() for d in per)
    need_zero = any(logaxes.zeros(e).any() for per in errs.values() for e in per.values())
    need_top = any((logaxes.nonfinite(e) | logaxes.beyond(e)).any() for per in errs.values() for e in per.values())
    fig, panels = logaxes.side_panels(
        len(errs),
        zero=need_zero,
        nonfinite=need_top,
        lanes=dtypes,
        log=False,
        height=4.0,
        nonfinite_name=logaxes.BEYOND_NAME,
    )
    for p, (title, per_dtype) in zip(panels, errs.items()):
        for d, e in per_dtype.items():
            pos = shown(e)
            pos = pos[np.isfinite(pos)]
            if len(pos):
                p.main.hist(np.log10(pos), bins=30, histtype="step", color=color(d))
            if logaxes.zeros(e).any():
                p.mark("zero", 0, d, color=color(d), text=f"{int(logaxes.zeros(e).sum())} of {e.size}")
            top = [
                (marker, glyph, int(mask.sum()))
                for (_, marker, glyph), mask in zip(_TOP[:2], (logaxes.nonfinite(e), logaxes.beyond(e)))
                if mask.any()
            ]
            if top:
                text = f"{_count_text([(g, k) for _, g, k in top])} of {e.size}"
                p.mark("nonfinite", 0, d, color=color(d), marker=top[0][0], text=text)
        p.main.set_title(title)
        p.main.set_xlabel("log10 ε (one entry per jet and transformation)")
        p.main.set_ylabel("entries")
    handles = [Line2D([], [], color=color(d)) for d in dtypes]
    logaxes.legend_right(fig, handles, dtypes, title="dtype")
    fig.suptitle("Per-sample error distributions")
    return logaxes.save(fig, path, panels)


def attribution(layers: list[dict], threshold: float, transform: str, path: Path) -> Path:
    """Per-layer equivariance error: median and p95 bars on a log axis, the breaking threshold dashed; a statistic
    that is exactly 0 (open circle), non-finite (✕) or beyond float64 (▲) is marked on the strips instead of a
    bar."""
    stats = [("median", "tab:blue", -0.2), ("p95", "tab:purple", 0.2)]
    values = {s: np.array([layer[s] for layer in layers], dtype=float) for s, _, _ in stats}
    need_zero = any(logaxes.zeros(v).any() for v in values.values())
    need_nonfinite = any((logaxes.nonfinite(v) | logaxes.beyond(v)).any() for v in values.values())
    fig, panels = logaxes.panels(
        1,
        lanes=[s for s, _, _ in stats],
        zero=need_zero,
        nonfinite=need_nonfinite,
        width=max(6.0, 1.2 * len(layers) + 2),
        nonfinite_name=logaxes.BEYOND_NAME,
    )
    (p,) = panels
    x = np.arange(len(layers))
    for s, c, dx in stats:
        v = shown(values[s])
        ok = np.isfinite(v)
        p.main.bar(x[ok] + dx, v[ok], 0.4, label=f"{s} over the jets", color=c)
        for i in np.flatnonzero(logaxes.zeros(values[s])):
            p.mark("zero", x[i] + dx, s, color=c)
        for i in np.flatnonzero(logaxes.nonfinite(values[s])):
            p.mark("nonfinite", x[i] + dx, s, color=c, marker="X")
        for i in np.flatnonzero(logaxes.beyond(values[s])):
            p.mark("nonfinite", x[i] + dx, s, color=c, marker="^")
    p.main.axhline(threshold, color="k", ls="--", lw=1, label=f"breaking threshold {threshold:.1e}")
    logaxes.set_log_limits(p.main, [*values.values(), [threshold]])
    p.main.set_xlim(-0.6, len(layers) - 0.4)
    p.below().set_xticks(x, [layer["name"] for layer in layers], rotation=20)
    p.main.set_ylabel("layer equivariance error (dimensionless)")
    p.top().set_title(f"Per-layer attribution (float64, {transform})")
    handles, labels = p.main.get_legend_handles_labels()
    if need_zero:
        handles.append(Line2D([], [], color="k", marker="o", mfc="none", ls="none"))
        labels.append("lower strip: statistic exactly 0")
    if need_nonfinite:
        handles += [Line2D([], [], color="k", marker=m, ls="none") for m in ("X", "^")]
        labels += ["upper strip: statistic not finite", "upper strip: statistic beyond float64"]
    logaxes.legend_right(fig, handles, labels)
    return logaxes.save(fig, path, panels)
