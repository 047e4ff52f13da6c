"""Deliberately broken LGN variants, each with one classic symmetry bug (for the suite's bug-catching tests)."""

import torch
from torch import nn

import clariant_core as cc
from clariant_core.network.layers import EquivariantLinear

E20, E02, VEC = cc.Irrep(2, 0), cc.Irrep(0, 2), cc.Irrep(1, 1)


def base(frame="lab", seed=0, **kw) -> cc.LGN:
    torch.manual_seed(seed)
    return cc.LGN(cc.LGNConfig(frame=frame, **kw)).double().eval()


class EuclideanLGN(cc.LGN):
    """f(p_ij²) of the Euclidean (p_i − p_j)·(p_i − p_j) instead of the Minkowski square."""

    @staticmethod
    def _pair_invariants(p):
        d = p[:, :, None, :] - p[:, None, :, :]
        return (d * d).sum(-1)


def euclidean(frame="lab"):
    m = base(frame)
    bad = EuclideanLGN(m.config).double().eval()
    bad.load_state_dict(m.state_dict())
    return bad


class MixedLinear(EquivariantLinear):
    """W with an extra block taking the (2,0) channels into the (0,2) output: two different irreps mixed."""

    def __init__(self, original: EquivariantLinear):
        super().__init__(original.irreps_in, original.irreps_out)
        self.to(next(original.parameters()).dtype)
        self.load_state_dict(original.state_dict())
        self.mix = nn.Parameter(
            torch.randn(
                self.irreps_out.count(E02), self.irreps_in.count(E20), 2, dtype=next(original.parameters()).dtype
            )
        )

    def forward(self, x):
        out = super().forward(x)
        out[E02] = out[E02] + torch.view_as_complex(self.mix) @ x[E20]
        return out

    def forward_inside(self, x, layout):  # the path a CG level runs (network/rows.py, network/planes.py)
        out = super().forward_inside(x, layout)
        out[E02] = out[E02] + layout.linear(self.mix, x[E20])
        return out

    def matrix(self):
        dense = super().matrix()
        rows = dict(zip(self.irreps_out.irreps, self.irreps_out.slices()))[E02]
        cols = dict(zip(self.irreps_in.irreps, self.irreps_in.slices()))[E20]
        dense[rows, cols] = torch.kron(torch.view_as_complex(self.mix), torch.eye(3, dtype=dense.dtype))
        return dense

    @property
    def num_free_parameters(self):
        return super().num_free_parameters + self.mix.numel()


def mixed_irreps(frame="lab"):
    m = base(frame)
    m.levels[1].linear = MixedLinear(m.levels[1].linear)
    return m


def _hook(layer, fn):
    def hook(mod, args, out):
        out = dict(out)
        fn(out)
        return out

    layer.register_forward_hook(hook)


def nonscalar_nonlinearity(frame="lab"):
    """tanh applied componentwise to the (1,1) channels of level 0."""
    m = base(frame)
    _hook(
        m.levels[0],
        lambda out: out.__setitem__(VEC, torch.complex(torch.tanh(out[VEC].real), torch.tanh(out[VEC].imag))),
    )
    return m


def wrong_conjugation(frame="lab"):
    """The (2,0) channels of level 0 complex-conjugated (they then transform as (0,2))."""
    m = base(frame)
    _hook(m.levels[0], lambda out: out.__setitem__(E20, out[E20].conj()))
    return m


class SpatialNormInput(nn.Module):
    """An LGN whose input layer also sees |p⃗| (not invariant under boosts) as a per-particle scalar."""

    def __init__(self, frame="lab"):
        super().__init__()
        self.lgn = base(frame, num_scalars=1)

    def forward(self, p, mask):
        return self.lgn(p, mask, p[..., 1:].norm(dim=-1, keepdim=True) / 100)

    def activation_irreps(self):
        return {f"lgn.{k}": v for k, v in self.lgn.activation_irreps().items()}

    def activation_frame(self, p, mask):
        return self.lgn.activation_frame(p, mask)


MUTANTS = {
    "euclidean_pair_invariant": (euclidean, "levels.0"),
    "w_mixes_irreps": (mixed_irreps, "levels.1"),
    "nonlinearity_on_vector": (nonscalar_nonlinearity, "levels.0"),
    "wrong_conjugation": (wrong_conjugation, "levels.0"),
    "spatial_norm_input": (lambda frame="lab": SpatialNormInput(frame), "lgn.input_layer"),
}
