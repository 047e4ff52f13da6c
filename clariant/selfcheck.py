"""Self-check of the group library: how exactly irreps, the double cover and CG maps hold at growing rapidity.

Measures, per dtype and rapidity y (a boost along a fixed oblique axis composed with a fixed rotation):
- the CG intertwining error max ‖C(ρ₁⊗ρ₂) − ρC‖_F / (‖ρ₁‖_F ‖ρ₂‖_F) over all pairs with k, n ≤ max_label;
- the homomorphism error max ‖ρ(M₁M₂) − ρ(M₁)ρ(M₂)‖_F / (‖ρ(M₁)‖_F ‖ρ(M₂)‖_F) over the irreps;
- the metric error ‖ΛᵀηΛ − η‖_F / ‖Λ‖²_F of the double cover.
All in units of the dtype's unit roundoff u as well as absolute.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from clariant_core.group.clebsch_gordan import clebsch_gordan, decompose_product
from clariant_core.group.irreps import Irrep
from clariant_core.group.lorentz import metric, sl2c, to_so13
from clariant_core.numerics import unit_roundoff

DEFAULT_RAPIDITIES = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0)
_SERIES = (("cg_error", "CG intertwining"), ("homomorphism_error", "ρ homomorphism"), ("metric_error", "ΛᵀηΛ = η"))
_REAL = {"complex64": "float32", "complex128": "float64"}  # the figures' colours are those of the real dtypes


@dataclass(frozen=True)
class SelfCheckRow:
    dtype: str
    rapidity: float
    cg_error: float
    homomorphism_error: float
    metric_error: float
    unit_roundoff: float


def _element(y: float, dtype: torch.dtype) -> torch.Tensor:
    axis = torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64) / 3
    m = sl2c(boost=axis * y) @ sl2c(rotation=torch.tensor([0.4, -1.3, 0.8], dtype=torch.float64))
    return m.to(dtype)


def _fro(x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.matrix_norm(x.to(torch.complex128))


def measure(
    rapidities=DEFAULT_RAPIDITIES, dtypes=(torch.complex64, torch.complex128), max_label: int = 2
) -> list[SelfCheckRow]:
    irreps = [Irrep(k, n) for k in range(max_label + 1) for n in range(max_label + 1)]
    rows = []
    for dtype, y in itertools.product(dtypes, rapidities):
        m = _element(y, dtype)
        m2 = _element(0.5 * y + 0.1, dtype)
        rho = {ir: ir.matrix(m) for ir in irreps}
        cg_err = 0.0
        for a, b in itertools.product(irreps, irreps):
            kron = torch.kron(rho[a], rho[b])
            scale = _fro(rho[a]) * _fro(rho[b])
            for c in decompose_product(a, b):
                rc = rho[c] if c in rho else c.matrix(m)
                cmat = clebsch_gordan(a, b, c).reshape(a.dim * b.dim, c.dim).T.to(dtype)
                cg_err = max(cg_err, float(_fro(cmat @ kron - rc @ cmat) / scale))
        hom_err = max(
            float(_fro(ir.matrix(m @ m2) - rho[ir] @ ir.matrix(m2)) / (_fro(rho[ir]) * _fro(ir.matrix(m2))))
            for ir in irreps
        )
        lam = to_so13(m)
        eta = metric(lam.dtype)
        met_err = float(_fro(lam.T @ eta @ lam - eta) / _fro(lam) ** 2)
        rows.append(SelfCheckRow(str(dtype).replace("torch.", ""), y, cg_err, hom_err, met_err, unit_roundoff(dtype)))
    return rows


def write_report(rows: list[SelfCheckRow], out: Path, max_label: int = 2) -> Path:
    """Write `out/index.html` and `out/group_precision.png` (rows measured with irreps k, n ≤ `max_label`) as one
    unit, as the validation report is written (validate/report_folder.py: what a previous report wrote is replaced,
    other files kept, a folder holding anything it would overwrite refused), through the reports' page writer and
    figure helpers (validate/pages.py, validate/logaxes.py); returns the HTML path. Errors exactly 0 are counted on a
    marked strip, never clipped to a made-up value."""
    from clariant.validate.report_folder import check_out_dir, kept, report_entries, write_manifest
    from clariant_core.atomic import publish_folder

    final = check_out_dir(out)
    previous = report_entries(final) if final.is_dir() else set()
    with publish_folder(final, keep=lambda f: kept(f, previous)) as tmp:
        _write_into(rows, tmp, max_label)
        write_manifest(tmp, sorted(e.name for e in tmp.iterdir()))
    return final / "index.html"


def _write_into(rows: list[SelfCheckRow], out: Path, max_label: int) -> Path:
    import numpy as np
    from matplotlib.lines import Line2D

    from clariant.validate import logaxes, pages
    from clariant.validate.plots import color
    from clariant.validate.tables import table

    dtypes = list(dict.fromkeys(r.dtype for r in rows))
    values = [getattr(r, key) for r in rows for key, _ in _SERIES]
    fig, panels = logaxes.panels(
        len(_SERIES),
        lanes=dtypes,
        zero=bool(logaxes.zeros(values).any()),
        nonfinite=bool(logaxes.nonfinite(values).any()),
        width=4.4,
    )
    drawn = []
    for p, (key, title) in zip(panels, _SERIES):
        for dt in dtypes:
            sel = [r for r in rows if r.dtype == dt]
            c = color(_REAL.get(dt, dt))
            ys = np.array([r.rapidity for r in sel])
            v = np.array([getattr(r, key) for r in sel], dtype=float)
            p.main.plot(ys, logaxes.shown(v), "o-", color=c)
            p.main.axhline(sel[0].unit_roundoff, ls=":", color=c)
            drawn += [v, [sel[0].unit_roundoff]]
            for i in np.flatnonzero(logaxes.zeros(v)):
                p.mark("zero", ys[i], dt, color=c)
            for i in np.flatnonzero(logaxes.nonfinite(v)):
                p.mark("nonfinite", ys[i], dt, color=c, marker="X")
        p.top().set_title(title)
        p.below().set_xlabel("boost rapidity y (dimensionless)")
    logaxes.set_log_limits(panels[0].main, drawn)
    panels[0].main.set_ylabel("relative error (Frobenius, dimensionless)")
    handles = [Line2D([], [], color=color(_REAL.get(dt, dt)), marker="o") for dt in dtypes]
    handles += [Line2D([], [], color=color(_REAL.get(dt, dt)), ls=":") for dt in dtypes]
    labels = [f"{dt}: relative error" for dt in dtypes] + [f"{dt}: unit roundoff u" for dt in dtypes]
    if any(p.zero for p in panels):
        handles.append(Line2D([], [], color="k", marker="o", mfc="none", ls="none"))
        labels.append("lower strip: error exactly 0")
    logaxes.legend_right(fig, handles, labels)
    fig.suptitle("CLARIANT group library: relative error vs rapidity")
    logaxes.save(fig, out / "group_precision.png", panels)

    columns = ["dtype", ("rapidity", "rapidity y"), "cg_error", "homomorphism_error", "metric_error", "unit_roundoff"]
    return pages.write(
        out,
        "CLARIANT self-check",
        [
            "<h1>CLARIANT group-library self-check</h1>",
            "<p>Relative errors of the SL(2,C) irreps (k, n ≤ "
            f"{max_label}), their Clebsch–Gordan maps and the double cover SL(2,C) → SO⁺(1,3), for a boost of "
            "rapidity y along (1,2,2)/3 composed with a fixed rotation. A correct library stays within a small "
            "multiple of the unit roundoff u, growing at most polynomially in e<sup>|y|</sup> "
            "(docs/group-library.md).</p>",
            pages.figure(
                "group_precision.png",
                "relative error vs rapidity",
                "Per panel one quantity; per dtype the relative error (line with dots) and the dtype's unit roundoff u "
                "(dotted). An error exactly 0 is an open circle on the “exactly 0” strip below the axes, a non-finite "
                "one a ✕ on the “non-finite” strip above, instead of a made-up value on the log axis (shown only when "
                "it happens).",
            ),
            table([asdict(r) for r in rows], columns),
        ],
    )


def summary(rows: list[SelfCheckRow]) -> str:
    lines = [f"{'dtype':>10} {'y':>5} {'CG err':>10} {'hom err':>10} {'metric':>10}   (units of u)"]
    for r in rows:
        u = r.unit_roundoff
        lines.append(
            f"{r.dtype:>10} {r.rapidity:5.1f} {r.cg_error:10.3g} {r.homomorphism_error:10.3g} {r.metric_error:10.3g}"
            f"   ({r.cg_error / u:.1f}, {r.homomorphism_error / u:.1f}, {r.metric_error / u:.1f})"
        )
    return "\n".join(lines)
