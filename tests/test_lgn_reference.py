"""The LGN computes the same function as before its layers moved to real planes: logits pinned against
tests/data/lgn_reference.pt, written by tests/data/make_lgn_reference.py with the code of commit 37694d9 (complex
dict-of-irreps layers). The shipped checkpoint must load unchanged and give the same logits."""

from pathlib import Path

import pytest
import torch
from helpers import tol

import clariant_core as cc
from clariant_core.data import SAMPLE_DIR, JetFile
from clariant_core.training import load_checkpoint

REFERENCE = torch.load(Path(__file__).parent / "data" / "lgn_reference.pt", map_location="cpu", weights_only=True)
# Both codes sum the same products in a different order: each logit differs by reordered sums of a few hundred terms
# per level, amplified by the network's condition number (≤ 10 on these jets): 4096 u bounds it with room.
REORDER_OPS = 4096


def _rel(a, b):
    return ((a - b).norm(dim=-1) / b.norm(dim=-1)).max()


def _sample(n=16):
    b = JetFile(SAMPLE_DIR / "test.h5").read(0, n)
    width = int(b.mask.sum(1).max())
    return b.p[:, :width].double(), b.mask[:, :width]


def test_shipped_checkpoint_float64_logits_unchanged():
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float64)
    p, mask = _sample()
    with torch.no_grad():
        out = model(p, mask)
    assert _rel(out, REFERENCE["sample"]["float64"]) <= tol(torch.float64, REORDER_OPS)


def test_shipped_checkpoint_float32_as_accurate_as_before():
    """float32 logits: as close to the float64 reference as the old float32 ones were (or within 64 u32)."""
    model, _ = load_checkpoint(SAMPLE_DIR / "lgn_default.pt", dtype=torch.float32)
    p, mask = _sample()
    with torch.no_grad():
        out = model(p.float(), mask).double()
    ref64 = REFERENCE["sample"]["float64"]
    before = _rel(REFERENCE["sample"]["float32"], ref64)
    assert _rel(out, ref64) <= 4 * max(float(before), tol(torch.float32, 64))


@pytest.mark.parametrize("name", ["lab_beams", "small"])
def test_other_architectures_unchanged(name):
    ref = REFERENCE[name]
    model = cc.LGN(cc.LGNConfig(**ref["config"])).double().eval()
    model.load_state_dict(ref["state_dict"])
    with torch.no_grad():
        out = model(ref["p"], ref["mask"], ref["scalars"])
    assert _rel(out, ref["float64"]) <= tol(torch.float64, REORDER_OPS)
