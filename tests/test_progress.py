"""The sweep's progress (what `clariant validate`'s bar shows): counted in particles evaluated, its total known from
the first report — precisions the model cannot run at found with one jet up front — and never overtaken."""

import torch
from torch import nn

from clariant.validate import sweep
from clariant.validate.strategies import random_jets


class MassSum(nn.Module):
    """Σ_i tanh(m_i² / s) plus the jet's invariant mass; refuses anything but float32/float64, as many models do."""

    def __init__(self):
        super().__init__()
        self.s = nn.Parameter(torch.tensor(10.0))

    def forward(self, p, mask):
        if p.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"this model computes in float32 or float64, got {p.dtype}")
        w = mask.to(p.dtype)[..., None]
        jet = (p * w).sum(1)
        m2 = jet[:, 0] ** 2 - (jet[:, 1:] ** 2).sum(-1)
        single = (p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)) * mask
        return torch.stack([torch.tanh(single / self.s).sum(1), m2.clamp_min(0).sqrt()], -1)


def test_progress_total_is_known_up_front_and_counts_particles():
    p, mask = random_jets(20, 15, seed=4, min_particles=2)
    reports = []
    result = sweep(
        MassSum().double(), p, mask, n_rapidities=3, n_angles=2, progress=lambda d, t: reports.append((d, t))
    )
    assert set(result.skipped) == {"bfloat16", "float16"}
    done, totals = reports[-1][0], [t for _, t in reports]
    assert reports[-1] == (done, done)  # ends at 100 %
    # the first total already leaves out the two precisions the model cannot run (they would double it) and is
    # within the one pass of f(x) that the floor shares with float64
    t = len(result.points)
    particles = int(mask.sum())
    assert abs(totals[0] - done) <= particles
    assert done >= 2 * t * particles  # float64 and float32, every transformation, counted in particles
    assert all(d <= tot for d, tot in reports)
    assert [d for d, _ in reports] == sorted(d for d, _ in reports)
