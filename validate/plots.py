"""Matplotlib figures of a validation run: error vs rapidity and angle with the precision floor, per-sample
distributions, per-layer attribution. Each function writes one PNG and returns its path."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"float64": "tab:blue", "float32": "tab:orange", "bfloat16": "tab:green", "float16": "tab:red"}


def _finish(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _clip(x):
    """Positive and finite for log axes: zeros → 1e-18, inf/NaN (non-finite outputs) → 1e3, drawn off the top."""
    x = np.asarray(x, dtype=float)
    return np.clip(np.nan_to_num(x, nan=1e3, posinf=1e3), 1e-18, 1e3)


def error_vs_rapidity(rows: list[dict], verdicts: dict, path: Path) -> Path:
    """One panel per boost axis: median error (line) and p95 (markers) per dtype, the precision floor's
    median–p95 as a band; legend carries each curve's verdict."""
    axes_names = sorted({r["axis"] for r in rows if r["kind"] == "boost"})
    fig, axes = plt.subplots(
        1, max(len(axes_names), 1), figsize=(5.2 * max(len(axes_names), 1), 4.4), sharey=True, squeeze=False
    )
    for ax, axis in zip(axes[0], axes_names):
        for dtype in COLORS:
            sel = sorted(
                (r for r in rows if r["kind"] == "boost" and r["axis"] == axis and r["dtype"] == dtype),
                key=lambda r: r["parameter"],
            )
            if not sel:
                continue
            y = [r["parameter"] for r in sel]
            c = COLORS[dtype]
            ax.fill_between(
                y,
                _clip([r["floor_median"] for r in sel]),
                _clip([r["floor_p95"] for r in sel]),
                color=c,
                alpha=0.18,
                lw=0,
            )
            ax.semilogy(
                y,
                _clip([r["error_median"] for r in sel]),
                "-",
                color=c,
                label=f"{dtype}: {verdicts.get((dtype, 'boost', axis), '?')}",
            )
            ax.semilogy(y, _clip([r["error_p95"] for r in sel]), "v", color=c, ms=4)
        ax.set_title(f"boosts along {axis}")
        ax.set_xlabel("rapidity y (dimensionless)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("relative invariance error ε (dimensionless)")
    axes[0][0].legend(title="line: median, ▼: p95, band: floor", fontsize=8, title_fontsize=8, loc="upper left")
    fig.suptitle("Invariance error vs rapidity — shaded: precision floor (median–p95) of each dtype")
    return _finish(fig, path)


def error_vs_angle(rows: list[dict], verdicts: dict, path: Path) -> Path:
    """One panel per rotation axis: median error (line, circles) and p95 (▼) per dtype, the floor's median–p95 as
    a band. Errors that are exactly 0 (e.g. rotations by π/2 about z permute components exactly) are drawn as open
    markers on the panel's bottom edge and counted in the legend, never as an invented value."""
    axes_names = sorted({r["axis"] for r in rows if r["kind"] == "rotation"})
    n = max(len(axes_names), 1)
    fig, axes = plt.subplots(1, n, figsize=(5.6 * n, 4.6), sharey=True, squeeze=False)
    for ax, axis in zip(axes[0], axes_names):
        for dtype in COLORS:
            sel = sorted(
                (r for r in rows if r["kind"] == "rotation" and r["axis"] == axis and r["dtype"] == dtype),
                key=lambda r: r["parameter"],
            )
            if not sel:
                continue
            th = np.array([r["parameter"] for r in sel])
            c = COLORS[dtype]
            med = np.array([r["error_median"] for r in sel], dtype=float)
            zero = med == 0
            ax.fill_between(
                th,
                _clip([r["floor_median"] for r in sel]),
                _clip([r["floor_p95"] for r in sel]),
                color=c,
                alpha=0.18,
                lw=0,
            )
            label = f"{dtype}: {verdicts.get((dtype, 'rotation', axis), '?')}"
            if zero.any():
                label += f" ({int(zero.sum())} angles with median error exactly 0: open markers at the bottom)"
            shown = np.where(zero, np.nan, med)
            ax.semilogy(th, shown, "o-", color=c, label=label)
            p95 = np.array([r["error_p95"] for r in sel], dtype=float)
            ax.semilogy(th[p95 > 0], p95[p95 > 0], "v", color=c, ms=4)
            if zero.any():
                ax.plot(
                    th[zero],
                    np.full(int(zero.sum()), 0.0),
                    "o",
                    mfc="none",
                    color=c,
                    ms=7,
                    clip_on=False,
                    transform=ax.get_xaxis_transform(),
                )
        ax.set_xlabel(f"rotation angle θ about {axis} [rad]")
        ax.set_title(f"rotations about {axis}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    axes[0][0].set_ylabel("relative invariance error ε (dimensionless)")
    fig.suptitle("Invariance error vs rotation angle — line: median, ▼: p95, shaded: precision floor (median–p95)")
    return _finish(fig, path)


def error_distributions(samples: dict[str, dict[str, np.ndarray]], path: Path) -> Path:
    """Histograms of log10 per-sample error; samples: {panel title: {dtype: errors}}."""
    fig, axes = plt.subplots(1, len(samples), figsize=(5.2 * len(samples), 4.2), squeeze=False)
    for ax, (title, per_dtype) in zip(axes[0], samples.items()):
        for dtype, errs in per_dtype.items():
            errs = np.asarray(errs, dtype=float)
            finite = errs[np.isfinite(errs)]
            bad = len(errs) - len(finite)
            if len(finite):
                ax.hist(
                    np.log10(_clip(finite)),
                    bins=30,
                    histtype="step",
                    color=COLORS.get(dtype),
                    label=dtype + (f" ({bad} non-finite)" if bad else ""),
                )
        ax.set_title(title)
        ax.set_xlabel("log10 relative error ε (per jet)")
        ax.set_ylabel("jets")
        ax.legend(fontsize=8)
    fig.suptitle("Per-sample error distributions")
    return _finish(fig, path)


def attribution(layers: list[dict], threshold: float, transform: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(layers) + 2), 4.2))
    names = [layer["name"] for layer in layers]
    x = np.arange(len(names))
    ax.bar(x - 0.2, _clip([layer["median"] for layer in layers]), 0.4, label="median", color="tab:blue")
    ax.bar(x + 0.2, _clip([layer["p95"] for layer in layers]), 0.4, label="p95", color="tab:purple")
    ax.axhline(threshold, color="k", ls="--", lw=1, label=f"breaking threshold {threshold:.1e}")
    ax.set_yscale("log")
    ax.set_xticks(x, names, rotation=20)
    ax.set_ylabel("layer equivariance error (dimensionless)")
    ax.set_title(f"Per-layer attribution (float64, {transform})")
    ax.legend(fontsize=8)
    return _finish(fig, path)
