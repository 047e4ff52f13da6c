"""Figures of the property checks (matplotlib, Agg): change vs ε or θ on log-log axes with each dtype's floor, and
a dot plot of must-vanish changes against their floors. Each function writes one PNG and returns its path;
legends sit outside the axes, never over data."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .result import Row, Scan, _power  # noqa: E402

COLORS = {"float64": "tab:blue", "float32": "tab:orange", "bfloat16": "tab:green", "float16": "tab:red"}
_ZERO = 1e-18  # exact zeros are drawn here on log axes (and said so)


def _c(dtype: str) -> str:
    return COLORS.get(dtype, "tab:gray")


def _pos(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.clip(np.nan_to_num(x, nan=1e3, posinf=1e3), _ZERO, 1e3)


def _finish(fig, path: Path) -> Path:
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def scans(items: list[Scan], path: Path, title: str) -> Path:
    """One panel per scan check: median change (line) and p95 (▼) per dtype vs the parameter, the dtype's median
    precision floor (dashed), the fitted power in the panel title with the verdict."""
    checks = list(dict.fromkeys(s.check for s in items))
    fig, axes = plt.subplots(1, len(checks), figsize=(5.4 * len(checks), 4.3), squeeze=False, sharey=True)
    for ax, check in zip(axes[0], checks):
        words = []
        for s in (s for s in items if s.check == check):
            c = _c(s.dtype)
            ax.loglog(s.values, _pos(s.change_median), "o-", color=c, ms=4, label=f"{s.dtype}: median change")
            ax.loglog(s.values, _pos(s.change_p95), "v", color=c, ms=4, alpha=0.6, label=f"{s.dtype}: p95")
            ax.axhline(s.floor, color=c, ls="--", lw=1, label=f"{s.dtype}: precision floor (median)")
            pw = _power(s.power)
            words.append(f"{s.dtype} {s.verdict} (power {pw})")
        ax.set_xlabel(
            f"{items[0].parameter if check.startswith('soft') else 'opening angle θ'}"
            f"{' (energy fraction of the jet)' if check.startswith('soft') else ' [rad]'}"
        )
        ax.set_title(f"{check}\n" + ", ".join(words), fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.invert_xaxis()  # the limit (→ 0) on the right
    axes[0][0].set_ylabel("relative output change Δ (dimensionless)")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.0, 0.9),
        fontsize=8,
        title="floor: output change under a\nrounding-sized input change",
        title_fontsize=8,
    )
    fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig, path)


def rows(items: list[Row], path: Path, title: str, words: dict | None = None) -> Path:
    """Must-vanish checks: the p95 change (●) and the p95 precision floor (|) per check and dtype, log x; exact
    zeros drawn at 10⁻¹⁸. `words` renames verdicts in the labels (parity: a residual that vanishes or not)."""
    words = words or {}
    checks = list(dict.fromkeys(r.check for r in items))
    dtypes = list(dict.fromkeys(r.dtype for r in items))
    fig, ax = plt.subplots(figsize=(8.0, max(3.2, 0.42 * len(checks) * len(dtypes) + 1.4)))
    y, ticks = 0, []
    for check in checks:
        for d in dtypes:
            r = next((r for r in items if r.check == check and r.dtype == d), None)
            if r is None:
                continue
            ax.semilogx(_pos([r.change_p95]), [y], "o", color=_c(d), ms=6)
            ax.semilogx(_pos([r.floor_p95]), [y], "|", color=_c(d), ms=14, mew=2)
            ticks.append((y, f"{check} · {d}: {words.get(r.verdict, r.verdict)}"))
            y -= 1
        y -= 0.5
    ax.set_yticks([t for t, _ in ticks], [s for _, s in ticks], fontsize=8)
    ax.set_xlabel("relative output change Δ, p95 over jets (dimensionless; exact zeros at 1e-18)")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.plot([], [], "ok", label="change (p95)")
    ax.plot([], [], "|k", ms=12, mew=2, label="precision floor (p95)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return _finish(fig, path)


def split_rows(items: list[Row], path: Path, title: str) -> Path:
    """Exact collinear splits: p95 and median change vs the fraction z per dtype, with the p95 floor (dashed)."""
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    for d in dict.fromkeys(r.dtype for r in items):
        sel = [r for r in items if r.dtype == d]
        z = [float(r.check.split("z=")[1]) for r in sel]
        ax.loglog(z, _pos([r.change_median for r in sel]), "o-", color=_c(d), ms=4, label=f"{d}: median change")
        ax.loglog(z, _pos([r.change_p95 for r in sel]), "v", color=_c(d), ms=4, alpha=0.6, label=f"{d}: p95")
        ax.loglog(z, _pos([r.floor_p95 for r in sel]), "--", color=_c(d), lw=1, label=f"{d}: precision floor (p95)")
    ax.set_xlabel("energy fraction z of the softer daughter (exactly collinear split)")
    ax.set_ylabel("relative output change Δ (dimensionless)")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return _finish(fig, path)
