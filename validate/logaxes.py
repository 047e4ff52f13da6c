"""Log-scale figures that never invent a value (matplotlib, Agg).

A log axis cannot show an exact 0 or a non-finite number (NaN, ±inf). Instead of clipping them to a made-up number,
the figures of the reports draw them on marked strips beside the log axes: an "exactly 0" strip below (or left of)
the data and a "non-finite" strip above (or right of) it, one lane per series, each mark annotated with its count.
Legends sit in a dedicated legend row under the panels or outside the figure's axes, never over data; the text of
every legend is stored in the PNG (text chunk `Legend`, one line per entry, "panel title | label" for a panel's own
legend) so tests read back exactly what a reader sees. The glyphs are described in docs/validation.md ("The report").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import LogLocator  # noqa: E402

ZERO = "exactly 0"
NONFINITE = "non-finite"
DPI = 100
_STRIP_FACE = "#f4f4f4"
_LANE_IN = 0.22  # inches per lane of a strip
_MAIN_IN = 3.6  # inches of a main log axes


BEYOND_NAME = "non-finite or\nbeyond float64"
_FMAX = np.finfo(np.float64).max


def shown(x) -> np.ndarray:
    """x as float64 with every value a log axis cannot show replaced by NaN (a gap, never a point): ≤ 0, NaN, ±inf,
    and float64's largest number, which the error measures return for a ratio beyond float64's range (an output
    exactly 0 in one frame and not in the other; validate/action.py)."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isfinite(x) & (x > 0) & (x < _FMAX), x, np.nan)


def beyond(x) -> np.ndarray:
    """Boolean mask of values at float64's largest number (a ratio beyond float64's range, see `shown`)."""
    return np.asarray(x, dtype=float) == _FMAX


def zeros(x) -> np.ndarray:
    """Boolean mask of values exactly 0."""
    return np.asarray(x, dtype=float) == 0


def nonfinite(x) -> np.ndarray:
    """Boolean mask of NaN and ±inf values."""
    return ~np.isfinite(np.asarray(x, dtype=float))


def set_log_limits(ax, values, axis: str = "y") -> None:
    """Fix a log axis' limits to span the positive finite `values` with a margin (≥ 0.3 decades), capped at float64's
    range (matplotlib's own margins overflow for values near 1e308, which the error measures can return)."""
    v = shown(np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in values]) if len(values) else [])
    v = v[np.isfinite(v)]
    if not len(v):  # nothing on the log axis (everything on the strips): any decade will do
        (ax.set_ylim if axis == "y" else ax.set_xlim)(0.1, 10)
        return
    big, tiny = np.finfo(float).max, np.finfo(float).tiny
    margin = max(0.3, 0.04 * (np.log10(v.max()) - np.log10(v.min())))  # decades
    lo = max(10 ** (np.log10(v.min()) - margin), tiny)
    top = np.log10(v.max()) + margin
    hi = big if top >= np.log10(big) - 1e-9 else 10**top
    (ax.set_ylim if axis == "y" else ax.set_xlim)(lo, hi)
    if hi > 1e300:  # matplotlib's own log locator would place a tick at 10^309 = inf
        target = ax.yaxis if axis == "y" else ax.xaxis
        target.set_major_locator(_FiniteLogLocator())
        target.set_minor_locator(_FiniteLogLocator(subs="auto"))


class _FiniteLogLocator(LogLocator):
    """A log locator that leaves out ticks beyond float64's range."""

    def tick_values(self, vmin, vmax):
        with np.errstate(over="ignore"):
            ticks = super().tick_values(vmin, vmax)
        return ticks[np.isfinite(ticks)]


@dataclass
class Panel:
    """One log-scale panel: `main` carries the data on a log axis (`log` = "y" or "x"); `zero` and `nonfinite` are
    its strips (None when not needed), `legend` an axes-free slot for the panel's own legend (None if not asked)."""

    main: plt.Axes
    log: str = "y"
    zero: plt.Axes | None = None
    nonfinite: plt.Axes | None = None
    legend: plt.Axes | None = None
    lanes: list[str] = field(default_factory=list)
    marks: list[tuple[str, str, float, str]] = field(default_factory=list)  # (strip, lane, position, text)

    def mark(
        self, strip: str, pos: float, lane: str | None = None, *, color, marker="o", text: str | None = None
    ) -> None:
        """Draw one mark on the `strip` ("zero" or "nonfinite"): at data position `pos` in lane `lane` (log-y
        panels), or in lane `lane` — at row `pos` when the strips have no lanes — (log-x panels); `text` (a count)
        beside it. Marks on the zero strip are open, on the non-finite strip filled."""
        ax = self.zero if strip == "zero" else self.nonfinite
        if ax is None:
            raise ValueError(f"this panel has no {strip} strip")
        k = self.lanes.index(lane) if self.lanes else pos
        xy = (pos, k) if self.log == "y" else (0.15, k)
        filled = strip == "nonfinite"
        ax.plot(*xy, marker, color=color, mfc=color if filled else "none", ms=6, mew=1.3, clip_on=False)
        if text:
            offset, ha = ((5, -3) if self.log == "y" else (8, -3)), "left"
            if self.log == "y":  # near the right edge the count goes left of its mark, inside the panel
                lo, hi = ax.get_xlim()
                if hi > lo and (pos - lo) / (hi - lo) > 0.9:
                    offset, ha = (-5, -3), "right"
            ax.annotate(text, xy, xytext=offset, textcoords="offset points", fontsize=6.5, color=color, ha=ha)
        self.marks.append((strip, lane or "", float(pos), text or ""))

    def title(self) -> str:
        return self.top().get_title()

    def below(self) -> plt.Axes:
        """The lowest axes of the panel (where the data axis' label goes)."""
        return self.zero if (self.log == "y" and self.zero is not None) else self.main

    def top(self) -> plt.Axes:
        """The highest axes of the panel (where its title goes)."""
        return self.nonfinite if (self.log == "y" and self.nonfinite is not None) else self.main


def _style_strip(ax, name: str, lanes: list[str], first: bool, log: str) -> None:
    ax.set_facecolor(_STRIP_FACE)
    ax.grid(False)
    if log == "y":
        ax.set_ylim(-0.6, len(lanes) - 0.4)
        ax.set_yticks(range(len(lanes)), lanes, fontsize=7)
        ax.tick_params(axis="y", labelleft=first)  # strips of one row share their lanes
        ax.tick_params(axis="x", labelbottom=name == ZERO)  # the lower strip carries the x labels
        if first:
            ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8, labelpad=6)
    else:
        ax.set_xlim(0, 1)
        ax.set_xticks([])
        if lanes:
            ax.set_ylim(-0.6, len(lanes) - 0.4)
            ax.set_yticks(range(len(lanes)), lanes, fontsize=7)
        ax.tick_params(axis="y", labelleft=bool(lanes) and first, labelright=False)
        ax.set_xlabel(name, fontsize=8)


def panels(
    n: int,
    *,
    lanes: list[str],
    zero: bool,
    nonfinite: bool,
    legend_rows: int = 0,
    width: float = 5.0,
    sharey: bool = True,
    main_height: float = _MAIN_IN,
    nonfinite_name: str = NONFINITE,
) -> tuple[plt.Figure, list[Panel]]:
    """n log-y panels side by side; under each main axes an "exactly 0" strip (if `zero`), over it a "non-finite"
    strip (if `nonfinite`), one lane per name in `lanes`, sharing the main axes' x; below all of them a legend row
    of `legend_rows` lines (0: none). The log axis does not autoscale: call `set_log_limits`. Returns the figure
    and one Panel per column."""
    strip = _LANE_IN * max(len(lanes), 1) + 0.2
    heights = ([strip] if nonfinite else []) + [main_height] + ([strip] if zero else [])
    if legend_rows:
        heights.append(0.55 + 0.17 * legend_rows)  # the x label and the legend's lines
    total = sum(heights) + 0.9
    fig = plt.figure(figsize=(width * n, total))
    gs = fig.add_gridspec(
        len(heights), n, height_ratios=heights, hspace=0.08, wspace=0.08 if sharey else 0.25, top=1 - 0.75 / total
    )
    out: list[Panel] = []
    for c in range(n):
        r = 0
        first = out[0] if out else None
        top = None
        if nonfinite:
            top = r
            r += 1
        main = fig.add_subplot(gs[r, c], sharey=first.main if (first and sharey) else None)
        main.set_yscale("log")
        main.autoscale(False, axis="y")  # matplotlib's margins overflow near 1e308: set_log_limits sets them
        main.grid(True, which="both", alpha=0.3)
        p = Panel(main, "y", lanes=list(lanes))
        if top is not None:
            p.nonfinite = fig.add_subplot(gs[top, c], sharex=main, sharey=first.nonfinite if first else None)
            _style_strip(p.nonfinite, nonfinite_name, p.lanes, c == 0, "y")
        r += 1
        if zero:
            p.zero = fig.add_subplot(gs[r, c], sharex=main, sharey=first.zero if first else None)
            _style_strip(p.zero, ZERO, p.lanes, c == 0, "y")
            main.tick_params(axis="x", labelbottom=False)
            r += 1
        if legend_rows:
            p.legend = fig.add_subplot(gs[r, c])
            p.legend.axis("off")
        if c and sharey:
            main.tick_params(axis="y", labelleft=False)
        out.append(p)
    return fig, out


def side_panels(
    n: int,
    *,
    zero: bool,
    nonfinite: bool,
    lanes: list[str] | None = None,
    width: float = 5.0,
    height: float = 3.6,
    log: bool = True,
    nonfinite_name: str = NONFINITE,
) -> tuple[plt.Figure, list[Panel]]:
    """n panels side by side whose data axis is x (log scale if `log`): an "exactly 0" strip left of each main
    axes and a "non-finite" strip right of it (when asked). With `lanes` the two strips share one lane per name
    (labelled on the left strip; marks at lane positions) and the main axes keeps its own y; without, the strips
    share the main axes' rows, whose labels the leftmost axes shows (marks at the rows' y). A log x axis does not
    autoscale: call `set_log_limits`."""
    strip, ylabels, gap = 1.2, 0.6, 1.0  # inches: a strip, room for the main axes' y labels, between panels
    own_y = bool(lanes) and zero
    layout: list[tuple[str, float]] = []
    for k in range(n):
        layout += ([("gap", gap)] if k else []) + ([("zero", strip)] if zero else [])
        layout += ([("gap", ylabels)] if own_y else []) + [("main", width)]
        layout += [("nonfinite", strip)] if nonfinite else []
    widths = [w for _, w in layout]
    fig = plt.figure(figsize=(sum(widths) + 1.2, height))
    gs = fig.add_gridspec(1, len(widths), width_ratios=widths, wspace=0.04, top=1 - 0.8 / height)
    mains = [c for c, (what, _) in enumerate(layout) if what == "main"]
    out: list[Panel] = []
    for c in mains:
        main = fig.add_subplot(gs[0, c])
        if log:
            main.set_xscale("log")
            main.autoscale(False, axis="x")  # as in `panels`
        main.grid(True, which="both", alpha=0.3)
        p = Panel(main, "x", lanes=list(lanes or []))
        if zero:
            p.zero = fig.add_subplot(gs[0, c - (2 if own_y else 1)], sharey=None if lanes else main)
            _style_strip(p.zero, ZERO, p.lanes, True, "x")
            if not lanes:  # the strip shows the rows' labels
                main.tick_params(axis="y", labelleft=False)
                p.zero.tick_params(axis="y", labelleft=True)
        if nonfinite:
            share = (p.zero if zero else None) if lanes else main
            p.nonfinite = fig.add_subplot(gs[0, c + 1], sharey=share)
            _style_strip(p.nonfinite, nonfinite_name, p.lanes, not (lanes and zero), "x")
            p.nonfinite.tick_params(axis="y", labelleft=bool(lanes) and not zero)
        out.append(p)
    return fig, out


def put_legend(ax, handles, labels, *, ncol: int = 1, title: str | None = None) -> None:
    """A legend filling an axes-free slot (a Panel's `legend`), at its top."""
    ax.legend(
        handles,
        labels,
        loc="upper center",
        ncol=ncol,
        fontsize=8,
        frameon=False,
        title=title,
        title_fontsize=8,
        bbox_to_anchor=(0.5, 0.62),
    )


def legend_right(fig, handles, labels, title: str | None = None) -> None:
    """A figure-level legend right of every axes, its top level with the highest axes."""
    right = max(ax.get_position().x1 for ax in fig.axes)
    top = max(ax.get_position().y1 for ax in fig.axes)
    fig.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(right + 0.01, top),
        fontsize=8,
        title=title,
        title_fontsize=8,
        frameon=False,
    )


def key(fig, entries: list[tuple[dict, str]], title: str) -> None:
    """The figure's key of glyphs, right of every axes: entries are (Line2D keyword arguments, text)."""
    legend_right(fig, [Line2D([], [], **kw) for kw, _ in entries], [t for _, t in entries], title)


def legend_lines(fig) -> list[str]:
    """Every legend entry of the figure as text: "panel title | label" for a legend of a panel (the title of the
    panel's topmost axes in the same column), the label alone for figure-level legends."""
    lines = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None:
            continue
        title = _panel_title(fig, ax)
        lines += [f"{title} | {t.get_text()}" if title else t.get_text() for t in leg.get_texts()]
    return lines


def _panel_title(fig, ax) -> str:
    if ax.get_title():
        return ax.get_title()
    col = ax.get_subplotspec().colspan if ax.get_subplotspec() else None
    for other in fig.axes:
        spec = other.get_subplotspec()
        if spec is not None and col is not None and spec.colspan == col and other.get_title():
            return other.get_title()
    return ""


def save(fig, path: Path, panels: list[Panel] = ()) -> Path:
    """Write the figure as PNG (tight bounding box) and close it. The PNG's text chunks hold what a reader sees
    that a test cannot read off pixels: `Legend`, every legend entry (`legend_lines`), and `Marks`, every strip
    mark of `panels` as "panel title | strip | lane | position | text"."""
    marks = [f"{p.title()} | {s} | {lane} | {pos:.6g} | {text}" for p in panels for s, lane, pos, text in p.marks]
    meta = {"Legend": "\n".join(legend_lines(fig)), "Marks": "\n".join(marks)}
    try:
        pixels = _drawn_once(fig)
        if pixels is None:
            fig.savefig(path, format="png", dpi=DPI, bbox_inches="tight", metadata=meta)
        else:
            _write_png(pixels, path, meta)
    finally:
        plt.close(fig)
    return path


def save_all(drawings) -> list[Path]:
    """Run every drawing — a function that draws one figure, saves it (`save`) and returns its path — and return the
    paths in order: in forked worker processes, as many as the evaluations use (validate/workers.py, `run_forked`),
    where that is safe — each figure drawn and written by one process, only its path sent back — else one after the
    other here. A report's ten figures took ~2.6 s one after the other on the 2-core reference machine
    (docs/benchmarks.md)."""
    from .workers import run_forked, workers_for

    jobs = [lambda d=d: str(d()) for d in drawings]
    return [Path(x) for x in run_forked(jobs, workers_for(None))]


#: how far beyond the figure's edges `_drawn_once` renders (inches): legends and labels placed outside the axes
#: grid reach ~1.5 in past the figure in the report's figures
MARGIN_INCHES = 3.0


def _drawn_once(fig) -> np.ndarray | None:
    """The figure rendered once onto a canvas `MARGIN_INCHES` larger on every side and cut to what was drawn,
    padded by `savefig.pad_inches` — the picture `bbox_inches="tight"` gives, for less: "tight" lays the figure out
    twice, once to find its extent and again to render it. RGBA pixels `[rows, columns, 4]`, or None where only
    "tight" holds all of it: something that can be placed away from the axes grid reaches beyond the canvas
    (`_within`), the background is not opaque, or the figure was not drawn by an Agg canvas (a `Figure()` made
    without pyplot)."""
    import io

    from matplotlib.transforms import Bbox

    fig.set_dpi(DPI)
    width, height = fig.get_size_inches()
    m = MARGIN_INCHES
    buf = io.BytesIO()
    fig.savefig(buf, format="rgba", dpi=DPI, bbox_inches=Bbox([[-m, -m], [width + m, height + m]]))
    renderer = getattr(fig.canvas, "renderer", None)  # the renderer that drew it: its text layouts are cached
    if renderer is None:
        return None
    rows, cols = int(renderer.height), int(renderer.width)
    pixels = np.frombuffer(buf.getbuffer(), np.uint8)
    if pixels.size != rows * cols * 4 or not _within(fig, renderer, -m, -m, width + m, height + m):
        return None
    pixels = pixels.reshape(rows, cols, 4)
    # a corner of the margin holds nothing drawn (everything is inside): the background as savefig painted it —
    # when opaque; on a transparent one faint blended pixels reach far beyond the figure, and "tight" is the truth
    if pixels[0, 0, 3] != 255:
        return None
    drawn = np.any(pixels != pixels[0, 0], axis=2)
    ys, xs = np.flatnonzero(drawn.any(1)), np.flatnonzero(drawn.any(0))
    if not ys.size:
        return None
    pad = round(matplotlib.rcParams["savefig.pad_inches"] * DPI)
    y0, y1 = max(ys[0] - pad, 0), min(ys[-1] + 1 + pad, rows)
    x0, x1 = max(xs[0] - pad, 0), min(xs[-1] + 1 + pad, cols)
    return pixels[y0:y1, x0:x1]


def _within(fig, renderer, x0: float, y0: float, x1: float, y1: float) -> bool:
    """Whether everything that can be placed away from the axes grid lies inside the box (inches from the figure's
    lower left corner), as the render laid it out — what lies wholly beyond the rendered canvas leaves no pixel to
    show it was cut: the axes themselves and inset axes, their titles, axis labels, legends, texts and annotations,
    artists and the lines and collections drawn unclipped; the figure's (and subfigures') legends, texts, artists,
    patches, lines and images. Tick labels sit next to their axes. Cheap: text extents come from the render's
    cache, nothing is laid out again (`fig.get_tightbbox` would lay every axis out anew: +20 % of the report's
    writing time)."""
    inches = fig.dpi_scale_trans.inverted()
    for a in _placeable(fig):
        if a is None or not a.get_visible():
            continue
        box = a.get_window_extent(renderer).transformed(inches)
        if box.x0 <= x0 or box.y0 <= y0 or box.x1 >= x1 or box.y1 >= y1:
            return False
    return True


def _placeable(container):
    """The artists `_within` checks, of a figure or subfigure and, recursively, its subfigures and axes."""
    yield from (*container.legends, *container.texts, *container.artists, *container.patches, *container.lines)
    yield from getattr(container, "images", ())
    for sub in getattr(container, "subfigs", ()):
        yield from _placeable(sub)
    for ax in container.get_children():
        if isinstance(ax, matplotlib.axes.Axes):
            yield from _placeable_in(ax)


def _placeable_in(ax):
    yield ax
    yield from (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, ax.get_legend())
    yield from (*ax.texts, *ax.artists)
    yield from (a for a in (*ax.lines, *ax.collections) if not a.get_clip_on())
    for child in ax.child_axes:
        yield from _placeable_in(child)


def _write_png(pixels: np.ndarray, path: Path, meta: dict) -> None:
    """RGBA pixels as a PNG with `meta` as text chunks (what `read_text` reads)."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    software = f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"  # as savefig writes it
    for key, value in {"Software": software, **meta}.items():
        info.add_text(key, value)
    Image.fromarray(pixels).save(path, format="PNG", pnginfo=info, dpi=(DPI, DPI))


def read_text(path: Path, key: str) -> list[str]:
    """The lines of text chunk `key` ("Legend" or "Marks") of a PNG written by `save`."""
    from PIL import Image

    with Image.open(path) as im:
        text = im.text.get(key, "")
    return text.splitlines()


__all__ = [
    "BEYOND_NAME",
    "NONFINITE",
    "ZERO",
    "Panel",
    "beyond",
    "key",
    "legend_lines",
    "legend_right",
    "nonfinite",
    "panels",
    "put_legend",
    "read_text",
    "save",
    "shown",
    "set_log_limits",
    "side_panels",
    "zeros",
]
