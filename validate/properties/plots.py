"""Figures of the property checks (matplotlib, Agg): change vs ε or θ on log-log axes with each dtype's floor, and
a dot plot of must-vanish changes against their floors. Each function writes one PNG and returns its path.
Legends sit outside the axes, never over data; a statistic exactly 0 or non-finite is marked on the strips of
`clariant.validate.logaxes`, never clipped to a made-up number. Glyphs: docs/properties.md ("Figures")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from .. import logaxes
from ..logaxes import shown
from ..plots import color, ordered_dtypes, style
from .result import Row, Scan, _power

# (statistic, marker, words) of the curves of scans and exact splits
_STATS = (("change_median", "o", "median change"), ("change_p95", "v", "p95 change"))


def _mark_off_scale(p: logaxes.Panel, x, values, lane: str, c: str, marker: str) -> None:
    """Marks on the strips for the values of one statistic that a log axis cannot show."""
    v = np.asarray(values, dtype=float)
    for i in np.flatnonzero(logaxes.zeros(v)):
        p.mark("zero", x[i], lane, color=c, marker=marker)
    for i in np.flatnonzero(logaxes.nonfinite(v) | logaxes.beyond(v)):
        p.mark("nonfinite", x[i], lane, color=c, marker=marker)


def _needs(series) -> tuple[bool, bool]:
    vals = [np.asarray(v, dtype=float) for v in series]
    return (
        any(logaxes.zeros(v).any() for v in vals),
        any((logaxes.nonfinite(v) | logaxes.beyond(v)).any() for v in vals),
    )


def _curve_key(floor_words: str, zero: bool, nonfinite: bool) -> list[tuple[dict, str]]:
    entries = [
        ({"color": "k", "marker": "o", "ms": 4, "ls": "-"}, "median change Δ over the jets"),
        ({"color": "k", "marker": "v", "ms": 4, "ls": "none"}, "p95 change Δ over the jets"),
        ({"color": "k", "ls": "--", "lw": 1}, floor_words),
    ]
    if zero:
        entries.append(({"color": "k", "marker": "o", "mfc": "none", "ls": "none"}, "lower strip: statistic exactly 0"))
    if nonfinite:
        entries.append(({"color": "k", "marker": "o", "ls": "none"}, "upper strip: statistic not finite"))
    return entries


def scans(items: list[Scan], path: Path, title: str) -> Path:
    """One panel per scan check: median change (line) and p95 (▼) per dtype vs the parameter, the dtype's median
    precision floor (dashed), the verdict and tail power of each curve in the legend row under the panel."""
    checks = list(dict.fromkeys(s.check for s in items))
    dtypes = ordered_dtypes(s.dtype for s in items)
    zero, nonfinite = _needs([getattr(s, k) for s in items for k, _, _ in _STATS])
    fig, panels = logaxes.panels(
        len(checks),
        lanes=dtypes,
        zero=zero,
        nonfinite=nonfinite,
        legend_rows=len(dtypes) + 1,
        width=5.4,
    )
    drawn = []
    for p, check in zip(panels, checks):
        p.main.set_xscale("log")
        handles, labels = [], []
        for s in (s for s in items if s.check == check):
            c = color(s.dtype)
            x = np.asarray(s.values, dtype=float)
            rank = dtypes.index(s.dtype)
            for key, marker, _ in _STATS:
                y = shown(getattr(s, key))
                if marker == "o":  # the median curve: the dtype's line style (curves on top of each other stay visible)
                    p.main.plot(x, y, **style(s.dtype, rank))
                else:
                    p.main.plot(x, y, marker, color=c, ms=4, zorder=3 + rank)
                _mark_off_scale(p, x, getattr(s, key), s.dtype, c, marker)
                drawn.append(y)
            floor = shown([s.floor])
            if np.isfinite(floor[0]):
                p.main.axhline(floor[0], color=c, ls="--", lw=1)
                drawn.append(floor)
            handles.append(Line2D([], [], **style(s.dtype)))
            how = f"tail power {_power(s.tail_power)}" if s.tail_power is not None else "reaches the floor"
            labels.append(f"{s.dtype}: {s.verdict} ({how})")
            if s.nonfinite:
                labels[-1] += f", {s.nonfinite} non-finite changes"
        p.main.invert_xaxis()  # the limit (→ 0) on the right
        p.top().set_title(check, fontsize=9)
        p.below().set_xlabel(
            f"{items[0].parameter} (energy fraction of the jet)"
            if check.startswith("soft")
            else "opening angle θ [rad]"
        )
        logaxes.put_legend(p.legend, handles, labels, title="verdict of each curve")
    logaxes.set_log_limits(panels[0].main, drawn)
    panels[0].main.set_ylabel("relative output change Δ (dimensionless)")
    floor_words = "precision floor (median): the output's change\nunder a rounding-sized input change"
    logaxes.key(fig, _curve_key(floor_words, zero, nonfinite), "glyphs")
    fig.suptitle(title)
    return logaxes.save(fig, path, panels)


def rows(items: list[Row], path: Path, title: str, words: dict | None = None) -> Path:
    """Must-vanish checks: the p95 change (●) and the p95 precision floor (|) per check and dtype on a log x axis;
    a p95 exactly 0 or not finite is marked on the strips left and right. `words` renames verdicts in the labels
    (parity: a residual that vanishes or not)."""
    words = words or {}
    checks = list(dict.fromkeys(r.check for r in items))
    dtypes = list(dict.fromkeys(r.dtype for r in items))
    placed = []  # (y, row)
    y = 0.0
    for check in checks:
        for d in dtypes:
            r = next((r for r in items if r.check == check and r.dtype == d), None)
            if r is not None:
                placed.append((y, r))
                y -= 1
        y -= 0.5
    zero, nonfinite = _needs([[r.change_p95, r.floor_p95] for _, r in placed])
    fig, panels = logaxes.side_panels(
        1, zero=zero, nonfinite=nonfinite, width=6.5, height=max(3.8, 0.42 * len(placed) + 1.6)
    )
    (p,) = panels
    for yy, r in placed:
        c = color(r.dtype)
        p.main.plot(shown([r.change_p95]), [yy], "o", color=c, ms=6)
        p.main.plot(shown([r.floor_p95]), [yy], "|", color=c, ms=14, mew=2)
        for value, marker in ((r.change_p95, "o"), (r.floor_p95, "|")):
            if logaxes.zeros(value):
                p.mark("zero", yy, color=c, marker=marker, text="0")
            elif logaxes.nonfinite(value) | logaxes.beyond(value):
                p.mark("nonfinite", yy, color=c, marker=marker, text=f"{value:g}")
    p.main.set_yticks(
        [yy for yy, _ in placed],
        [f"{r.check} · {r.dtype}: {words.get(r.verdict, r.verdict)}" for _, r in placed],
        fontsize=8,
    )
    p.main.set_ylim(min(yy for yy, _ in placed) - 0.7, 0.7)
    logaxes.set_log_limits(p.main, [[r.change_p95, r.floor_p95] for _, r in placed], axis="x")
    p.main.set_xlabel("relative output change Δ, p95 over the jets (dimensionless)")
    p.main.grid(True, axis="x", which="both", alpha=0.3)
    p.main.set_title(title, fontsize=10)
    entries = [
        ({"color": "k", "marker": "o", "ls": "none"}, "change Δ (p95 over the jets)"),
        ({"color": "k", "marker": "|", "ms": 12, "mew": 2, "ls": "none"}, "precision floor (p95 over the jets)"),
    ]
    if zero:
        entries.append(({"color": "k", "marker": "o", "mfc": "none", "ls": "none"}, "left strip: exactly 0"))
    if nonfinite:
        entries.append(({"color": "k", "marker": "o", "ls": "none"}, "right strip: not finite"))
    logaxes.key(fig, entries, "glyphs")
    return logaxes.save(fig, path, panels)


def split_rows(items: list[Row], path: Path, title: str) -> Path:
    """Exact collinear splits: p95 and median change vs the fraction z per dtype, with the p95 floor (dashed)."""
    dtypes = ordered_dtypes(r.dtype for r in items)
    zero, nonfinite = _needs([[getattr(r, k) for k in ("change_median", "change_p95", "floor_p95")] for r in items])
    fig, panels = logaxes.panels(
        1, lanes=dtypes, zero=zero, nonfinite=nonfinite, legend_rows=math.ceil(len(dtypes) / 2) + 1, width=6.2
    )
    (p,) = panels
    p.main.set_xscale("log")
    drawn, handles, labels = [], [], []
    for d in dtypes:
        sel = [r for r in items if r.dtype == d]
        z = np.array([float(r.check.split("z=")[1]) for r in sel])
        c = color(d)
        for key, marker, _ in _STATS:
            values = [getattr(r, key) for r in sel]
            p.main.plot(z, shown(values), marker + ("-" if marker == "o" else ""), color=c, ms=4)
            _mark_off_scale(p, z, values, d, c, marker)
            drawn.append(shown(values))
        floors = [r.floor_p95 for r in sel]
        p.main.plot(z, shown(floors), "--", color=c, lw=1)
        _mark_off_scale(p, z, floors, d, c, "_")
        drawn.append(shown(floors))
        verdicts = ", ".join(dict.fromkeys(str(r.verdict) for r in sel))
        handles.append(Line2D([], [], color=c, marker="o", ms=4))
        labels.append(f"{d}: {verdicts}")
    logaxes.set_log_limits(p.main, drawn)
    p.below().set_xlabel("energy fraction z of the softer daughter (exactly collinear split)")
    p.main.set_ylabel("relative output change Δ (dimensionless)")
    p.top().set_title(title, fontsize=10)
    logaxes.put_legend(p.legend, handles, labels, ncol=2, title="verdicts of each dtype's splits")
    floor_words = "precision floor (p95 over the jets)"
    logaxes.key(fig, _curve_key(floor_words, zero, nonfinite), "glyphs")
    return logaxes.save(fig, path, panels)
