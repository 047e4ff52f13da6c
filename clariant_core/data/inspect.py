"""Summary statistics of a top-tagging file: multiplicity, jet-mass distribution per class (and an optional plot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from clariant_core.atomic import atomic_file
from clariant_core.data.readers import DataFormatError, JetFile
from clariant_core.group.lorentz import minkowski_norm2


def jet_masses(p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """m = √max(P², 0) of P = Σ p_i over real constituents. p: `[B, N, 4]` → `[B]`."""
    total = (p * mask[..., None].to(p.dtype)).sum(1)
    return torch.sqrt(minkowski_norm2(total).clamp_min(0))


def summarize(path, max_jets: int | None = None, plot: Path | None = None) -> dict:
    """Streams the file chunk by chunk: memory is one chunk plus three numbers per jet, allocated up front (small
    per-batch results kept between chunk-sized temporaries fragment the heap, which then grows with the file)."""
    f = JetFile(path)
    total = len(f) if max_jets is None else min(max_jets, len(f))
    if total == 0:
        raise DataFormatError(f"{path}: the file holds no jets")
    m, y, n = np.empty(total), np.empty(total, np.int64), np.empty(total, np.int64)
    i = 0
    for b in f.iter_batches(5000, stop=total):
        k = len(b.label)
        m[i : i + k] = jet_masses(b.p, b.mask).numpy()
        y[i : i + k] = b.label.numpy()
        n[i : i + k] = b.mask.sum(1).numpy()
        i += k
    bins = np.arange(0, 401, 10)
    out = {
        "file": str(path),
        "layout": f.layout,
        "jets": int(len(y)),
        "signal_fraction": float(y.mean()),
        "mean_constituents": float(n.mean()),
        "max_constituents": int(n.max()),
    }
    for name, sel in (("top", y == 1), ("qcd", y == 0)):
        if sel.any():
            hist, _ = np.histogram(m[sel], bins)
            peak = int(np.argmax(hist))
            out[name] = {
                "jets": int(sel.sum()),
                "mass_median": float(np.median(m[sel])),
                "mass_peak_bin": [float(bins[peak]), float(bins[peak + 1])],
                "mean_constituents": float(n[sel].mean()),
            }
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(11, 4))
        for name, sel in (("top", y == 1), ("QCD", y == 0)):
            ax[0].hist(m[sel], bins, histtype="step", density=True, label=f"{name} ({sel.sum()} jets)")
            ax[1].hist(n[sel], np.arange(0, 201, 5), histtype="step", density=True, label=name)
        ax[0].axvline(173, ls=":", c="k", label="m_top = 173 GeV")
        ax[0].set(xlabel="jet mass m_J [GeV]", ylabel="density [1/GeV]", title="Jet mass")
        ax[1].set(xlabel="number of constituents", ylabel="density", title="Constituent multiplicity")
        for a in ax:
            a.legend()
        fig.suptitle(f"{Path(path).name}: {len(y)} jets")
        fig.tight_layout()
        plot = Path(plot)
        if plot.suffix.lower() != ".png":  # the file written is the file named: a PNG, with its suffix
            plot = plot.with_name(plot.name + ".png")
        with atomic_file(plot) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
        out["plot"] = str(plot)
    return out
