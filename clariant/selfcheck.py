"""Self-check of the group library: how exactly irreps, the double cover and CG maps hold at growing rapidity.

Measures, per dtype and rapidity y (a boost along a fixed oblique axis composed with a fixed rotation):
- the CG intertwining error max ‖C(ρ₁⊗ρ₂) − ρC‖_F / (‖ρ₁‖_F ‖ρ₂‖_F) over all pairs with k, n ≤ max_label;
- the homomorphism error max ‖ρ(M₁M₂) − ρ(M₁)ρ(M₂)‖_F / (‖ρ(M₁)‖_F ‖ρ(M₂)‖_F) over the irreps;
- the metric error ‖ΛᵀηΛ − η‖_F / ‖Λ‖²_F of the double cover.
All in units of the dtype's unit roundoff u as well as absolute.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from clariant_core.atomic import atomic_file, write_text
from clariant_core.group.clebsch_gordan import clebsch_gordan, decompose_product
from clariant_core.group.irreps import Irrep
from clariant_core.group.lorentz import metric, sl2c, to_so13
from clariant_core.numerics import unit_roundoff

DEFAULT_RAPIDITIES = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0)


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


def write_report(rows: list[SelfCheckRow], out: Path) -> Path:
    """Write `out/index.html` and `out/group_precision.png`; returns the HTML path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    series = [("cg_error", "CG intertwining"), ("homomorphism_error", "ρ homomorphism"), ("metric_error", "ΛᵀηΛ = η")]
    for ax, (key, title) in zip(axes, series):
        for dt in dict.fromkeys(r.dtype for r in rows):
            sel = [r for r in rows if r.dtype == dt]
            ys = [r.rapidity for r in sel]
            ax.semilogy(ys, [max(getattr(r, key), 1e-19) for r in sel], "o-", label=f"{dt}")
            ax.axhline(sel[0].unit_roundoff, ls=":", color=ax.lines[-1].get_color(), label=f"u({dt})")
        ax.set_title(title)
        ax.set_xlabel("boost rapidity y (dimensionless)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("relative error (Frobenius, dimensionless)")
    axes[0].legend(fontsize=8)
    fig.suptitle("CLARIANT group library: relative error vs rapidity (irreps k, n ≤ 2)")
    fig.tight_layout()
    png = out / "group_precision.png"
    with atomic_file(png) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)

    head = "".join(f"<th>{html.escape(k)}</th>" for k in asdict(rows[0]))
    body = "".join(
        "<tr>"
        + "".join(f"<td>{v:.3g}</td>" if isinstance(v, float) else f"<td>{v}</td>" for v in asdict(r).values())
        + "</tr>"
        for r in rows
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>CLARIANT self-check</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}</style></head><body>
<h1>CLARIANT group-library self-check</h1>
<p>Relative errors of the SL(2,C) irreps, their Clebsch–Gordan maps and the double cover SL(2,C) → SO⁺(1,3), for a
boost of rapidity y along (1,2,2)/3 composed with a fixed rotation. A correct library stays within a small multiple of
the unit roundoff u, growing at most polynomially in e<sup>|y|</sup>.</p>
<img src="group_precision.png" alt="relative error vs rapidity" width="100%">
<table><tr>{head}</tr>{body}</table></body></html>"""
    index = out / "index.html"
    write_text(index, page)
    return index


def summary(rows: list[SelfCheckRow]) -> str:
    lines = [f"{'dtype':>10} {'y':>5} {'CG err':>10} {'hom err':>10} {'metric':>10}   (units of u)"]
    for r in rows:
        u = r.unit_roundoff
        lines.append(
            f"{r.dtype:>10} {r.rapidity:5.1f} {r.cg_error:10.3g} {r.homomorphism_error:10.3g} {r.metric_error:10.3g}"
            f"   ({r.cg_error / u:.1f}, {r.homomorphism_error / u:.1f}, {r.metric_error / u:.1f})"
        )
    return "\n".join(lines)
