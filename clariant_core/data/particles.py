"""Particle information as per-particle scalar inputs of a network (docs/data.md, "Particle information").

Each field a file carries (layout.PARTICLE_FIELDS) becomes a few Lorentz-invariant scalars per constituent:
- charge Q → (Q, |Q|): the sign, and charged (track) vs neutral (calorimeter cell);
- pid → one-hot (photon, electron, muon, charged hadron π±/K±/p, other hadron); 0 (unknown) gives all zeros.
"""

from __future__ import annotations

import torch

from clariant_core.data.layout import PARTICLE_FIELDS

_PID_CLASSES = ((22,), (11,), (13,), (211, 321, 2212))  # the fifth class: any other non-zero id

SCALARS_PER_FIELD = {"charge": 2, "pid": len(_PID_CLASSES) + 1}


def check_fields(fields) -> tuple[str, ...]:
    """The field names as a tuple, each known."""
    fields = tuple(fields)
    unknown = [f for f in fields if f not in PARTICLE_FIELDS]
    if unknown or len(set(fields)) != len(fields):
        raise ValueError(f"particle fields must be distinct names among {sorted(PARTICLE_FIELDS)}, got {fields}")
    return fields


def num_particle_scalars(fields) -> int:
    """How many scalars per particle the fields give."""
    return sum(SCALARS_PER_FIELD[f] for f in check_fields(fields))


def particle_scalars(particle: dict | None, fields, dtype: torch.dtype) -> torch.Tensor:
    """{field: `[B, N]`} → scalars `[B, N, num_particle_scalars(fields)]` of `dtype` (zeros on padding rows, since
    the readers keep every field zero there)."""
    fields = check_fields(fields)
    missing = [f for f in fields if not particle or f not in particle]
    if missing:
        raise ValueError(f"the jets carry no particle field(s) {missing} (docs/data.md, 'Particle information')")
    parts = []
    for f in fields:
        v = particle[f].to(dtype)
        if f == "charge":
            parts += [v, v.abs()]
        else:
            a = v.abs()
            hits = [sum((a == c) for c in cls).to(dtype) for cls in _PID_CLASSES]
            parts += hits + [((a != 0).to(dtype) - sum(hits))]
    return torch.stack(parts, -1)
