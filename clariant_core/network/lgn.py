"""The Lorentz Group Network (docs/network.md): `logits = LGN(config)(p, mask)`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import torch
import torch.utils.checkpoint
from torch import nn

from clariant_core.group.frames import jet_frame_sl2c, to_jet_rest_frame
from clariant_core.group.irreps import SCALAR_IRREP, Irreps
from clariant_core.network import heads
from clariant_core.network.layers import CGLevel, EquivariantLinear, InputLayer, PairBasis, vector_features
from clariant_core.network.memory import Budget, chunk_pairs
from clariant_core.network.scale import check_underflow, overflow_error
from clariant_core.numerics import SUPPORTED_REAL, check_finite, complex_of, is_transformed

FRAMES = ("jet", "lab")


@dataclass(frozen=True)
class LGNConfig:
    """LGN hyper-parameters. Defaults: 3 CG levels, channels (2, 4, 4, 2), irreps k, n ≤ 2 — about 5k parameters.

    channels: τ of the input layer and after each CG level (len = levels + 1).
    frame: "jet" evaluates in the jet rest frame (numerically stable under large boosts, see frames.py);
      "lab" evaluates the momenta as given (every intermediate activation is then covariant).
    beams: append two lab-frame beam particles (1, 0, 0, ±1)·beam_energy·momentum_scale, as the original
      top-tagging LGN. Fixed beam four-vectors fix the lab's time axis and the z axis, so such a model is invariant
      only under rotations about z (boosts along z rescale the beams' energies).
    task: "classify" (logits), "mass" (an invariant mass, GeV) or "momentum" (a covariant four-vector, GeV): see
      heads.py and docs/network.md.
    """

    channels: tuple[int, ...] = (2, 4, 4, 2)
    max_label: int = 2
    num_basis: int = 4
    mlp_hidden: int = 32
    output_hidden: int = 64
    num_scalars: int = 0
    num_classes: int = 2
    momentum_scale: float = 100.0
    frame: str = "jet"
    beams: bool = False
    beam_energy: float = 1.0
    pair_scales: tuple[float, float] = field(default=(1e-3, 1.0))
    task: str = "classify"

    def __post_init__(self):
        if len(self.channels) < 2 or any((not isinstance(c, int)) or c < 1 for c in self.channels):
            raise ValueError(f"channels must be ≥ 2 positive integers (input + one per level), got {self.channels}")
        checks = {
            "max_label": self.max_label >= 1,
            "num_basis": self.num_basis >= 1,
            "mlp_hidden": self.mlp_hidden >= 1,
            "output_hidden": self.output_hidden >= 1,
            "num_scalars": self.num_scalars >= 0,
            "num_classes": self.num_classes >= 1,
            "momentum_scale": self.momentum_scale > 0 and self.momentum_scale < float("inf"),
            "beam_energy": self.beam_energy > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"LGNConfig.{name} has an unphysical value {getattr(self, name)!r}")
        heads.Task.parse(self.task)
        if self.frame not in FRAMES:
            raise ValueError(f"LGNConfig.frame must be one of {FRAMES}, got {self.frame!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class LGN(nn.Module):
    """Lorentz-equivariant network for jets.

    forward(p `[B, N, 4]` real (E, px, py, pz) in GeV, mask `[B, N]` bool, scalars `[B, N, S]` optional) → logits
    `[B, num_classes]`, invariant under SO⁺(1,3) (rotations about z only with `beams=True`), particle order and
    padding; with `task="mass"` a mass `[B, 1]` GeV (invariant), with `task="momentum"` a four-vector `[B, 4]` GeV
    (covariant: f(Λp) = Λ f(p)); see heads.py.
    Works in float32 and float64: the model's parameter dtype must match the input's (`model.to(torch.float64)`).
    `compile=True` (or `model.compiled = True` later) runs the CG levels through `torch.compile`; the eager path
    computes the same function.
    """

    #: With gradients on, the CG levels run over chunks of jets with at most this many particle pairs (jets · N²)
    #: each and are recomputed in backward (activation checkpointing), so the memory of a training step grows with
    #: the chunk, not with the batch: a float64 step at B = 64, N = 200 peaks at ~0.7 GB instead of ~1.05 GB. A batch
    #: that fits in one chunk runs without recomputation. Forward hooks on `levels.i` then see one chunk per call (and
    #: fire again in backward). None: never chunk; "auto": as the memory policy decides for the device and dtype
    #: (network/memory.py, docs/network.md — 2**19 pairs in float64 on the CPU); a memory.Budget: that many bytes.
    #: A runtime setting, not part of the architecture.
    grad_chunk_pairs: int | str | Budget | None = "auto"

    def __init__(self, config: LGNConfig | None = None, *, compile: bool = False):
        super().__init__()
        self.config = config = config or LGNConfig()
        extra = 1 if config.beams else 0
        self.input_layer = InputLayer(config.num_scalars + extra, config.channels[0])
        self.pair_basis = PairBasis(config.num_basis, *config.pair_scales)
        levels = []
        irreps = self.input_layer.irreps_out
        self.task = task = heads.Task.parse(config.task)
        for i, tau in enumerate(config.channels[1:]):
            # the last level's (0,0) part is read out (and its (1,1) part by a four-vector head): nothing else
            last = i == len(config.channels) - 2 and task is not heads.Task.MOMENTUM
            level = CGLevel(irreps, tau, config.max_label, config.num_basis, config.mlp_hidden, scalars_only=last)
            levels.append(level)
            irreps = level.irreps_out
        self.levels = nn.ModuleList(levels)
        self.compiled = compile
        n_inv = 2 * sum(config.channels)
        self.output = nn.Sequential(
            nn.LayerNorm(n_inv),
            nn.Linear(n_inv, config.output_hidden),
            nn.SiLU(),
            nn.Linear(config.output_hidden, heads.num_features(task, config.num_classes, config.channels[-1])),
        )
        self.vector_head = heads.VectorHead(config.channels[-1]) if task is heads.Task.MOMENTUM else None

    @property
    def compiled(self) -> bool:
        """Run each CG level's real core through `torch.compile` (inductor; the first call of each shape compiles,
        which takes minutes on a small CPU). A runtime setting, not part of the architecture; False: plain eager."""
        return all(level.compiled for level in self.levels)

    @compiled.setter
    def compiled(self, enabled: bool) -> None:
        for level in self.levels:
            level.compiled = bool(enabled)

    # --- declared structure, for the validation suite ----------------------------------------------------
    def activation_irreps(self) -> dict[str, Irreps]:
        """Irreps of every covariant activation, by submodule name (outputs of `input_layer`, `levels.i`)."""
        out = {"input_layer": self.input_layer.irreps_out}
        out.update({f"levels.{i}": lvl.irreps_out for i, lvl in enumerate(self.levels)})
        return out

    def equivariant_linear_maps(self) -> Iterator[tuple[str, torch.Tensor, Irreps, Irreps]]:
        """Yield `(name, W, irreps_in, irreps_out)` for every map declared equivariant; W is the dense complex
        `[dim_out, dim_in]` matrix on the flat layouts (see EquivariantLinear.matrix)."""
        for name, mod in self.named_modules():
            if isinstance(mod, EquivariantLinear):
                yield name, mod.matrix(), mod.irreps_in, mod.irreps_out

    def activation_frame(self, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """SL(2,C) `[B, 2, 2]` of the frame the covariant activations live in: L(x) with activations computed from
        to_so13(L) p (the jet rest frame; the identity for frame="lab"). Under x → Λx they transform with
        ρ(L(Λx) M L(x)⁻¹) — a rotation for the jet frame."""
        b = p.shape[0]
        if self.config.frame == "lab":
            return torch.eye(2, dtype=complex_of(p.dtype), device=p.device).expand(b, 2, 2).clone()
        return jet_frame_sl2c(p * mask[..., None].to(p.dtype), mask)

    @property
    def dtype(self) -> torch.dtype:
        return self.output[1].weight.dtype

    # --- forward -----------------------------------------------------------------------------------
    def _check_inputs(self, p, mask, scalars):
        if not isinstance(p, torch.Tensor) or p.ndim != 3 or p.shape[-1] != 4:
            shape = tuple(p.shape) if isinstance(p, torch.Tensor) else type(p).__name__
            raise ValueError(f"p must be a [B, N, 4] tensor of four-momenta, got {shape}")
        if p.dtype not in SUPPORTED_REAL:
            raise ValueError(f"p must be float32 or float64, got {p.dtype}")
        if p.dtype != self.dtype:
            raise ValueError(f"p is {p.dtype} but the model is {self.dtype}: convert one with .to(dtype)")
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.shape != p.shape[:2]:
            shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(f"mask must be a bool tensor of shape {tuple(p.shape[:2])}, got {shape}")
        check_finite(p, "p")
        empty = ~mask.any(1)
        if empty.any():
            raise ValueError(f"jet {int(torch.nonzero(empty)[0])} has no particles (mask all False)")
        if scalars is None:
            if self.config.num_scalars:
                raise ValueError(f"the model expects {self.config.num_scalars} per-particle scalars")
        else:
            if scalars.shape != p.shape[:2] + (self.config.num_scalars,) or scalars.dtype != p.dtype:
                raise ValueError(
                    f"scalars must be {p.dtype} of shape {tuple(p.shape[:2]) + (self.config.num_scalars,)}, "
                    f"got {scalars.dtype} {tuple(scalars.shape)}"
                )
            check_finite(scalars, "scalars")

    def _prepare(self, p, mask, scalars):
        cfg = self.config
        p = p * mask[..., None].to(p.dtype)  # padding rows are zero whatever the caller left there
        jet_mask = mask
        if scalars is None:
            scalars = p.new_zeros(p.shape[:2] + (0,))
        if cfg.beams:  # lab-frame beams (1, 0, 0, ±1)·E_beam, flagged by an extra scalar; not part of the jet
            b = p.shape[0]
            beam = torch.tensor([[1.0, 0, 0, 1.0], [1.0, 0, 0, -1.0]], dtype=p.dtype, device=p.device)
            p = torch.cat([beam.expand(b, 2, 4) * (cfg.beam_energy * cfg.momentum_scale), p], 1)
            flag = torch.cat([p.new_ones(b, 2, 1), p.new_zeros(b, mask.shape[1], 1)], 1)
            scalars = torch.cat([flag, torch.cat([p.new_zeros(b, 2, scalars.shape[-1]), scalars], 1)], -1)
            jet_mask = torch.cat([mask.new_zeros(b, 2), mask], 1)
            mask = torch.cat([mask.new_ones(b, 2), mask], 1)
        if cfg.frame == "jet":
            p = to_jet_rest_frame(p, mask, jet_mask)
        return p / cfg.momentum_scale, mask, scalars

    def forward(self, p: torch.Tensor, mask: torch.Tensor, scalars: torch.Tensor | None = None) -> torch.Tensor:
        self._check_inputs(p, mask, scalars)
        if p.shape[0] == 0:  # an empty batch: no jets, no logits
            width = heads.num_outputs(self.task, self.config.num_classes)
            return p.new_zeros((0, width)) + 0 * sum(w.sum() for w in self.output.parameters())
        check_underflow(p, mask, self.config.momentum_scale)
        out = self._forward(p, mask, scalars)
        if not is_transformed(out) and not torch.isfinite(out).all():
            raise overflow_error(p, mask, self.config.momentum_scale)
        return out

    def _forward(self, p, mask, scalars):
        p_lab, mask_lab = p, mask
        p, mask, scalars = self._prepare(p, mask, scalars)
        q = vector_features(p)
        pij2 = self._pair_invariants(p)
        x = self.input_layer(scalars, q)
        full = self._all_real(mask)
        if not full:
            m = mask[:, :, None, None].to(p.dtype)
            x = {c: v * m for c, v in x.items()}
        invariants = [self._readout(x, mask, full)]
        chunks = self._grad_chunks(p)
        if chunks is None:
            basis, pij2 = self._masked_basis(pij2, None if full else mask), None  # shared by every level
            for level in self.levels:
                x = level(x, q, basis, None if full else mask)
                invariants.append(self._readout(x, mask, full))
        else:
            for level in self.levels:
                x = self._level_in_chunks(level, chunks, x, q, pij2, mask)
                invariants.append(self._readout(x, mask))
        features = self.output(torch.cat(invariants, -1))
        if self.task is heads.Task.MASS:
            return heads.jet_relative_mass(heads.jet_momentum(p_lab, mask_lab), features)
        if self.task is heads.Task.MOMENTUM:
            q_frame = self.vector_head(features[:, 1:], x, mask) * self.config.momentum_scale
            jet = heads.jet_momentum(p_lab, mask_lab)  # covariant base: the prediction corrects Σ p_i
            return heads.to_lab(q_frame, self.activation_frame(p_lab, mask_lab)) + (1 + features[:, :1]) * jet
        return features

    def _all_real(self, mask: torch.Tensor) -> bool:
        """Every row is a real particle — jets trimmed to their multiplicity, as the validation suite evaluates them —
        in an eager run: the multiplications by the mask are then by 1, exact, and skipped (with the pair invariants
        as planes, a float64 call at B = 68, N = 45 went from 49.5 to 43.8 ms, minima, docs/benchmarks.md). Compiled
        levels and torch.func transforms always get the mask."""
        return (
            not any(level.compiled for level in self.levels)
            and not torch.compiler.is_compiling()
            and not is_transformed(mask)
            and bool(mask.all())
        )

    def _masked_basis(self, pij2: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """φ_b(p_ij²)·mask_j `[num_basis, B, N_i, N_j]` (basis index first: each level's f = W φ is then one GEMM
        over long rows); mask None: every particle real."""
        basis = self.pair_basis(pij2)
        return basis if mask is None else basis * mask[None, :, None, :].to(pij2.dtype)

    def _grad_chunks(self, p: torch.Tensor) -> list[slice] | None:
        """Batch slices for checkpointed levels (see grad_chunk_pairs), or None to run the batch in one piece."""
        if self.grad_chunk_pairs is None or not torch.is_grad_enabled() or is_transformed(p):
            return None
        b, n = p.shape[:2]
        limit = chunk_pairs(self.grad_chunk_pairs, p, self.config)
        if limit is None:
            return None
        per_chunk = max(1, limit // (n * n))
        if per_chunk >= b:
            return None
        return [slice(i, min(i + per_chunk, b)) for i in range(0, b, per_chunk)]

    def _level_in_chunks(self, level, chunks, x, q, pij2, mask) -> dict:
        """One level over batch chunks, each recomputed in backward; the pair basis is rebuilt per chunk."""

        def run(xc, qc, pc, mc):
            return level(xc, qc, self._masked_basis(pc, mc), mc)

        outs = [
            torch.utils.checkpoint.checkpoint(
                run, {c: v[s] for c, v in x.items()}, q[s], pij2[s], mask[s], use_reentrant=False
            )
            for s in chunks
        ]
        return {c: torch.cat([o[c] for o in outs]) for c in outs[0]}

    @staticmethod
    def _pair_invariants(p: torch.Tensor) -> torch.Tensor:
        """(p_i − p_j)² `[B, N, N]` from the Gram matrix of Minkowski products p_i·p_j = E_i E_j − p⃗_i·p⃗_j, one
        `[B, N, N]` plane per component, summed in minkowski_dot's order (bit for bit its result; a broadcast
        product and sum over `[B, N, N, 3]` took 2.6 ms of a float64 call at B = 68, N = 45, the planes 0.5 ms).
        Not a matrix product (pη)pᵀ, though faster still: with MKL's GEMM the lab-frame LGN's float64 error under a
        boost of rapidity 6 was no longer smaller than float32's (4× apart, where rounding gives ~5·10⁸×) and the
        validation suite rightly judged that model BROKEN (tests/test_validate_suite.py)."""
        e, x, y, z = (c[:, :, None] * c[:, None, :] for c in p.unbind(-1))
        gram = e - ((x + y) + z)
        diag = gram.diagonal(dim1=1, dim2=2)
        return diag[:, :, None] + diag[:, None, :] - 2 * gram

    @staticmethod
    def _readout(x: dict, mask: torch.Tensor, full: bool = False) -> torch.Tensor:
        """Σ_i over real particles of the (0,0) channels → real `[B, 2τ]` (`full`: every particle real)."""
        s = x[SCALAR_IRREP][..., 0]
        s = (s if full else s * mask[..., None].to(s.real.dtype)).sum(1)
        return torch.view_as_real(s).flatten(-2)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
